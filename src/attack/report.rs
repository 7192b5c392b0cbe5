//! attack.yaml: per property, the best value found and its instance, the best value against
//! evaluations, the known infimum and the gap to it, and each negative control's attack.
//! Deterministic: same seed → same file, for any thread count.

use super::search::{self, Options, RestartResult, better};
use super::{Goal, Known, Space, Target};
use crate::framework::property::GridPoint;
use crate::framework::spec::{Mode, Spec};
use serde::Serialize;
use std::collections::BTreeMap;

/// The best point of an attack, enough to rebuild it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BestInstance {
    pub restart: usize,
    /// The restart's seed (its start is drawn from it).
    pub seed: u64,
    /// The grid point the restart started from (index into the mode's grid).
    pub grid_point: usize,
    /// The discrete choices of the restart.
    pub discrete: GridPoint,
    /// The continuous parameters at the best point.
    pub parameters: BTreeMap<String, f64>,
    /// Quantities recomputed at the best point (exact full-Hessian sharpness etc.).
    pub values: BTreeMap<String, f64>,
}

/// The best value after a number of evaluations (the restarts counted one after the other in
/// index order).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TracePoint {
    pub evaluations: usize,
    pub best: f64,
}

/// The attack on one statement (the claim or one control).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetAttack {
    /// `claim` or the control's variant.
    pub target: String,
    pub goal: Goal,
    /// The statement is violated somewhere the attack looked.
    pub violated: bool,
    /// Best tightness (lowest) or error ratio (highest) found.
    pub best: Option<f64>,
    pub evaluations: usize,
    /// Proposals outside the hypotheses (never evaluated).
    pub rejected: usize,
    pub restarts: usize,
    /// Evaluations (restarts in index order) up to the first violating point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations_to_violation: Option<usize>,
    /// Best value of each restart (shows whether restarts agree: converged or not).
    pub restart_best: Vec<Option<f64>>,
    pub trace: Vec<TracePoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_instance: Option<BestInstance>,
}

/// A control's attack and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControlAttack {
    /// The attack broke the control, as it must. False is a defect of the attack.
    pub broken: bool,
    pub budget: usize,
    #[serde(flatten)]
    pub attack: TargetAttack,
}

/// The known infimum against what the attack found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KnownComparison {
    #[serde(flatten)]
    pub known: Known,
    /// (best − known)/|known|: ≥ 0 when the theory holds (≤ 0 for error ratios); small when the
    /// search converged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_gap: Option<f64>,
}

/// One property's attack.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropertyAttack {
    pub id: String,
    pub hypothesis_space: String,
    pub goal: Goal,
    pub budget: usize,
    pub claim: TargetAttack,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_infimum: Option<KnownComparison>,
    /// For reconstructed constants: the stated one, next to the empirical worst ratio (`best`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stated_constant: Option<BTreeMap<String, String>>,
    pub controls: Vec<ControlAttack>,
}

impl PropertyAttack {
    /// The claim survived the attack and every control was broken.
    pub fn ok(&self) -> bool {
        !self.claim.violated && self.controls.iter().all(|c| c.broken)
    }
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttackReport {
    pub tool: String,
    pub mode: String,
    pub seed: u64,
    pub budget: usize,
    pub control_budget: usize,
    pub restarts: usize,
    pub properties: Vec<PropertyAttack>,
}

/// Checkpoints 1, 2, 5, 10, 20, 50, … up to `total`, and `total`.
fn checkpoints(total: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut base = 1usize;
    'outer: loop {
        for m in [1, 2, 5] {
            let c = base * m;
            if c >= total {
                break 'outer;
            }
            out.push(c);
        }
        base *= 10;
    }
    out.push(total);
    out
}

/// Combines the restarts of one target (in index order) into its report entry.
pub fn combine(space: &dyn Space, target: Target<'_>, results: &[RestartResult]) -> TargetAttack {
    let goal = space.goal();
    let mut offset = 0usize;
    let mut events: Vec<(usize, f64)> = Vec::new();
    let mut to_violation = None;
    let mut best: Option<(usize, f64)> = None;
    for (r, res) in results.iter().enumerate() {
        for &(n, v) in &res.improvements {
            if events.last().is_none_or(|&(_, b)| better(goal, v, b)) {
                events.push((offset + n, v));
            }
        }
        if to_violation.is_none()
            && let Some(n) = res.first_violation
        {
            to_violation = Some(offset + n);
        }
        if let Some((s, _)) = &res.best
            && best.is_none_or(|(_, b)| better(goal, s.value, b))
        {
            best = Some((r, s.value));
        }
        offset += res.evaluations;
    }
    let total = offset;
    let trace = if total == 0 {
        Vec::new()
    } else {
        checkpoints(total)
            .into_iter()
            .filter_map(|c| {
                events
                    .iter()
                    .take_while(|(n, _)| *n <= c)
                    .last()
                    .map(|&(_, b)| TracePoint { evaluations: c, best: b })
            })
            .collect()
    };
    let best_instance = best.and_then(|(r, _)| {
        let res = &results[r];
        let (start, (_, x)) = (res.start.as_ref()?, res.best.as_ref()?);
        Some(BestInstance {
            restart: res.item.index,
            seed: res.item.seed,
            grid_point: res.item.point_index,
            discrete: start.discrete.clone(),
            parameters: start.dims.iter().zip(x).map(|(d, v)| (d.name.clone(), *v)).collect(),
            values: space.describe(start, x, target),
        })
    });
    TargetAttack {
        target: target.name(),
        goal,
        violated: to_violation.is_some(),
        best: best.map(|b| b.1),
        evaluations: total,
        rejected: results.iter().map(|r| r.rejected).sum(),
        restarts: results.len(),
        evaluations_to_violation: to_violation,
        restart_best: results.iter().map(|r| r.best.as_ref().map(|(s, _)| s.value)).collect(),
        trace,
        best_instance,
    }
}

/// The best point of a target's attack, as (start, x), for `reproduce --attack`.
pub fn best_point(space: &dyn Space, results: &[RestartResult]) -> Option<(super::Start, Vec<f64>)> {
    let goal = space.goal();
    let mut best: Option<&RestartResult> = None;
    for r in results {
        if let Some((s, _)) = &r.best
            && best.is_none_or(|b| better(goal, s.value, b.best.as_ref().unwrap().0.value))
        {
            best = Some(r);
        }
    }
    let b = best?;
    Some((b.start.clone()?, b.best.as_ref()?.1.clone()))
}

/// The statements an attack on a property targets, in report order: the claim (stream 0, with
/// `opts`), then every control the space covers (stream 1 + its position in the spec, with
/// `control_budget`), each with its search options.
pub fn targets<'a>(
    space: &dyn Space,
    spec: &'a Spec,
    opts: &Options,
    control_budget: usize,
) -> Vec<(Target<'a>, u64, Options)> {
    let cap = |b: usize| space.budget_cap().map_or(b, |c| b.min(c.max(opts.restarts.max(1))));
    std::iter::once((Target::Claim, 0, Options { budget: cap(opts.budget), ..opts.clone() }))
        .chain(
            spec.controls
                .iter()
                .enumerate()
                .filter(|(_, c)| space.controls().contains(&c.variant.as_str()))
                .map(|(c, ctl)| {
                    let copts = match space.control_search(&ctl.variant) {
                        Some((c, r)) => {
                            let restarts = r.clamp(1, opts.restarts.max(1));
                            Options { budget: control_budget.min(c.max(restarts)), restarts, ..opts.clone() }
                        }
                        None => Options { budget: cap(control_budget), ..opts.clone() },
                    };
                    (Target::Control(ctl.variant.as_str()), 1 + c as u64, copts)
                }),
        )
        .collect()
}

/// Attacks a property: the claim with `opts`, every control the space covers with
/// `control_budget` (from the claim's whole hypothesis space, not the control's grid).
/// `tick` is called once per finished restart.
pub fn attack_property(
    space: &dyn Space,
    spec: &Spec,
    opts: &Options,
    control_budget: usize,
    tick: &(dyn Fn() + Sync),
) -> PropertyAttack {
    let results = targets(space, spec, opts, control_budget)
        .iter()
        .map(|(target, stream, topts)| search::run(space, spec, *target, *stream, topts, tick))
        .collect();
    assemble_property(space, spec, opts, control_budget, results)
}

/// A property's attack from the restart results of each of its [`targets`] (in that order, each
/// in restart order): the one assembly of the unsharded attack and of the merge of a sharded one.
pub fn assemble_property(
    space: &dyn Space,
    spec: &Spec,
    opts: &Options,
    control_budget: usize,
    results: Vec<Vec<RestartResult>>,
) -> PropertyAttack {
    let targets = targets(space, spec, opts, control_budget);
    assert_eq!(targets.len(), results.len(), "one list of restart results per target");
    let mut per_target = targets.iter().zip(&results);
    let (_, claim_results) = per_target.next().expect("the claim is the first target");
    let claim = combine(space, Target::Claim, claim_results);
    let claim_best = claim.best;
    let known_infimum = space.known().map(|known| {
        let relative_gap = claim.best.map(|b| (b - known.value) / known.value.abs().max(f64::MIN_POSITIVE));
        KnownComparison { known, relative_gap }
    });
    let controls = per_target
        .map(|((target, _, topts), res)| {
            let attack = combine(space, *target, res);
            ControlAttack { broken: attack.violated, budget: topts.budget, attack }
        })
        .collect();
    PropertyAttack {
        id: space.id().to_string(),
        hypothesis_space: space.description().to_string(),
        goal: space.goal(),
        budget: targets[0].2.budget,
        claim,
        known_infimum,
        stated_constant: space.stated_constant().map(|(name, value)| {
            let mut m = BTreeMap::from([
                ("name".to_string(), name.to_string()),
                ("value".to_string(), value.to_string()),
            ]);
            // The constant that would make the worst point found tight: C/(best tightness).
            if let (Some(c), Some(b), Goal::MinimiseTightness) =
                (space.stated_value(), claim_best, space.goal())
                && b > 0.0
            {
                m.insert("empirical".to_string(), format!("{}", c / b));
            }
            m
        }),
        controls,
    }
}

/// Restarts an attack on this property will run (claim and covered controls), for progress bars.
pub fn count_restarts(space: &dyn Space, spec: &Spec, opts: &Options) -> usize {
    let covered = spec.controls.iter().filter(|c| space.controls().contains(&c.variant.as_str())).count();
    opts.restarts.max(1) * (1 + covered)
}

impl AttackReport {
    pub fn new(opts: &Options, control_budget: usize, properties: Vec<PropertyAttack>) -> Self {
        AttackReport {
            tool: format!("dlncheck {}", env!("CARGO_PKG_VERSION")),
            mode: if opts.mode == Mode::Quick { "quick".into() } else { "full".into() },
            seed: opts.seed,
            budget: opts.budget,
            control_budget,
            restarts: opts.restarts,
            properties,
        }
    }
    pub fn to_yaml(&self) -> String {
        crate::io::yaml::to_string(self)
    }
}
