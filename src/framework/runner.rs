//! Runs a property: its claim instances and its controls, in parallel across instances
//! (rayon; results collected in order, so the report does not depend on the thread count).
//! A panic or a numerical failure in one instance is recorded as that instance's error;
//! nothing else is lost.

use crate::framework::property::{CheckKind, Claim, Measurement, Variant};
use crate::framework::spec::{InstanceSpec, Mode, Spec};
use crate::framework::summary::{self, RunSummary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Verdict of a negative control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlVerdict {
    /// The control failed, as it must: the check can fail.
    FailsAsExpected,
    /// The control passed: the check cannot tell right from wrong here (a defect of the check).
    DefectPassed,
    /// Nothing could be measured.
    Inconclusive,
}

/// A control's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlRun {
    pub variant: String,
    pub description: String,
    pub verdict: ControlVerdict,
    #[serde(flatten)]
    pub summary: RunSummary,
}

/// Verdict of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Holds,
    Violated,
    /// No instance could be measured (all not converged).
    Inconclusive,
    /// Claim code failed on some instance.
    Error,
}

/// Everything a property run produced.
#[derive(Clone, Debug)]
pub struct PropertyRun {
    pub spec: Spec,
    pub verdict: Verdict,
    pub summary: RunSummary,
    pub controls: Vec<ControlRun>,
    pub instances: Vec<InstanceSpec>,
    pub results: Vec<Result<Measurement, String>>,
    pub seconds: f64,
}

impl PropertyRun {
    /// Whether the property passed as a check: the claim holds and every control fails.
    pub fn ok(&self) -> bool {
        self.verdict == Verdict::Holds
            && self.controls.iter().all(|c| c.verdict == ControlVerdict::FailsAsExpected)
    }
}

/// Measures instances in parallel; `tick` is called once per finished instance.
pub fn measure_all(
    claim: &dyn Claim,
    instances: &[InstanceSpec],
    variant: Variant<'_>,
    tick: &(dyn Fn() + Sync),
) -> Vec<Result<Measurement, String>> {
    instances
        .par_iter()
        .map(|inst| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                claim.measure(&inst.point, inst.seed, variant)
            }));
            tick();
            match r {
                Ok(Ok(m)) => Ok(m),
                Ok(Err(e)) => Err(e.0),
                Err(payload) => Err(format!("claim code panicked: {}", panic_message(&payload))),
            }
        })
        .collect()
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Number of instances a property run will measure (claim and controls), counted without
/// expanding the grids. The run seed does not change it.
pub fn count_instances(spec: &Spec, mode: Mode, _seed: u64) -> usize {
    (0..spec.controls.len())
        .map(|c| spec.control_instance_count(c, mode))
        .fold(spec.instance_count(mode), usize::saturating_add)
}

/// The default largest number of instances (claim and controls, all properties) one command
/// expands: `--max-instances` overrides it. The full grids hold about 10⁴, properties/large
/// about 10⁵; every instance costs at least a few hundred bytes before it runs.
pub const DEFAULT_MAX_INSTANCES: usize = 5_000_000;

/// Refuses, before anything is allocated, specs whose grids × repetitions expand to more than
/// `max` instances in all (counted without expanding): (property id, its count, the total).
pub fn check_instance_budget(specs: &[&Spec], mode: Mode, max: usize) -> Result<(), (String, usize, usize)> {
    let counts: Vec<usize> = specs.iter().map(|s| count_instances(s, mode, 0)).collect();
    let total = counts.iter().copied().fold(0usize, usize::saturating_add);
    if total <= max {
        return Ok(());
    }
    let (i, &largest) = counts.iter().enumerate().max_by_key(|(_, c)| **c).expect("at least one spec");
    Err((specs[i].id.clone(), largest, total))
}

/// Runs the claim and its controls.
pub fn run(spec: &Spec, claim: &dyn Claim, mode: Mode, seed: u64, tick: &(dyn Fn() + Sync)) -> PropertyRun {
    let start = std::time::Instant::now();
    let instances = spec.instances(mode, seed);
    let results = measure_all(claim, &instances, Variant::Claim, tick);
    let controls = (0..spec.controls.len())
        .map(|c| {
            let inst = spec.control_instances(c, mode, seed);
            let res = measure_all(claim, &inst, Variant::Control(&spec.controls[c].variant), tick);
            (inst, res)
        })
        .collect();
    assemble(spec, instances, results, controls, start.elapsed().as_secs_f64())
}

/// The instances of one set (a control) and their results, in order.
pub type SetResults = (Vec<InstanceSpec>, Vec<Result<Measurement, String>>);

/// Summaries and verdicts of a property from its per-instance results (the claim's, then each
/// control's, in spec order): what [`run`] does after measuring, and what a merge of sharded
/// partial reports does with the measurements the shards recorded.
pub fn assemble(
    spec: &Spec,
    instances: Vec<InstanceSpec>,
    results: Vec<Result<Measurement, String>>,
    controls: Vec<SetResults>,
    seconds: f64,
) -> PropertyRun {
    let summary = summary::summarize(spec.kind, spec.min_proportion, &instances, &results);
    let verdict = if summary.errors > 0 {
        Verdict::Error
    } else if summary.holds + summary.violated == 0 {
        Verdict::Inconclusive
    } else if summary.holds_overall {
        Verdict::Holds
    } else {
        Verdict::Violated
    };
    let controls = spec
        .controls
        .iter()
        .zip(controls)
        .map(|(ctl, (inst, res))| {
            let s = summary::summarize(spec.kind, spec.min_proportion, &inst, &res);
            // Enough violations: at least one, and the stated proportion of the measured ones.
            let measured = (s.holds + s.violated) as f64;
            let enough =
                s.violated > 0 && ctl.expect_violated.is_none_or(|p| s.violated as f64 >= p * measured);
            let failed = match spec.kind {
                CheckKind::Probabilistic => s.proportion.is_some() && !s.holds_overall && enough,
                _ => enough,
            };
            let verdict = if failed {
                ControlVerdict::FailsAsExpected
            } else if s.holds + s.violated == 0 {
                ControlVerdict::Inconclusive
            } else {
                ControlVerdict::DefectPassed
            };
            ControlRun {
                variant: ctl.variant.clone(),
                description: ctl.description.clone(),
                verdict,
                summary: s,
            }
        })
        .collect();
    PropertyRun { spec: spec.clone(), verdict, summary, controls, instances, results, seconds }
}
