//! The YAML tightness report and the terminal table. The report holds only deterministic
//! content (same seed → same file, bit for bit); wall times go to a separate timing file.

use crate::framework::property::CheckKind;
use crate::framework::runner::{ControlRun, ControlVerdict, PropertyRun, Verdict};
use crate::framework::spec::{Mode, Source};
use crate::framework::summary::RunSummary;
use serde::{Deserialize, Serialize};

/// One property in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyReport {
    pub id: String,
    pub title: String,
    pub source: Source,
    pub statement: String,
    pub kind: CheckKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_proportion: Option<f64>,
    pub verdict: Verdict,
    /// Every negative control failed, as it must.
    pub controls_ok: bool,
    #[serde(flatten)]
    pub summary: RunSummary,
    pub controls: Vec<ControlRun>,
    /// The bounded attack `check` ran on this property, where it has a hypothesis space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<AttackSummary>,
}

/// What `check`'s bounded attack (an optimiser searching the claim's hypothesis space for its
/// worst case, `dlncheck attack`) found on one property. A violation it finds makes the property
/// `violated`; a control it cannot break is a defect of the attack and fails the property's check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackSummary {
    /// Lowest tightness (bounds) or highest error/tol found.
    pub best: Option<f64>,
    /// The value theory gives for the infimum, where it gives one, and (best − it)/|it|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_infimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_gap: Option<f64>,
    pub evaluations: usize,
    pub restarts: usize,
    pub violated: bool,
    /// Controls the attack broke, of those it attacked.
    pub controls_broken: usize,
    pub controls_attacked: usize,
}

impl AttackSummary {
    /// The claim survived and every attacked control was broken.
    pub fn ok(&self) -> bool {
        !self.violated && self.controls_broken == self.controls_attacked
    }
}

impl PropertyReport {
    pub fn from_run(run: &PropertyRun) -> Self {
        PropertyReport {
            id: run.spec.id.clone(),
            title: run.spec.title.clone(),
            source: run.spec.source.clone(),
            statement: run.spec.statement.clone(),
            kind: run.spec.kind,
            min_proportion: run.spec.min_proportion,
            verdict: run.verdict,
            controls_ok: run.controls.iter().all(|c| c.verdict == ControlVerdict::FailsAsExpected),
            summary: run.summary.clone(),
            controls: run.controls.clone(),
            attack: None,
        }
    }
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub mode: String,
    pub seed: u64,
    /// False while properties are still running (the file is rewritten after each property).
    pub complete: bool,
    /// Properties that hold with all controls failing, out of those run.
    pub passed: usize,
    pub failed: usize,
    pub properties: Vec<PropertyReport>,
}

impl Report {
    pub fn new(mode: Mode, seed: u64, runs: &[PropertyRun], complete: bool) -> Self {
        let properties: Vec<PropertyReport> = runs.iter().map(PropertyReport::from_run).collect();
        let passed = runs.iter().filter(|r| r.ok()).count();
        Report {
            tool: format!("dlncheck {}", env!("CARGO_PKG_VERSION")),
            mode: if mode == Mode::Quick { "quick".into() } else { "full".into() },
            seed,
            complete,
            passed,
            failed: runs.len() - passed,
            properties,
        }
    }

    /// Adds each property's attack (by id): a violation found makes the property `violated`,
    /// an unbroken control makes its controls not ok; `passed`/`failed` are recounted.
    pub fn with_attacks(mut self, attacks: &[(String, AttackSummary)]) -> Self {
        for p in &mut self.properties {
            if let Some((_, a)) = attacks.iter().find(|(id, _)| *id == p.id) {
                if a.violated {
                    p.verdict = Verdict::Violated;
                }
                p.controls_ok &= a.controls_broken == a.controls_attacked;
                p.attack = Some(a.clone());
            }
        }
        self.passed = self.properties.iter().filter(|p| p.verdict == Verdict::Holds && p.controls_ok).count();
        self.failed = self.properties.len() - self.passed;
        self
    }

    pub fn to_yaml(&self) -> String {
        crate::io::yaml::to_string(self)
    }
}

/// Wall times (kept out of the report so that the report is reproducible bit for bit).
#[derive(Clone, Debug, Serialize)]
pub struct PropertyTiming {
    pub property: String,
    pub instances: usize,
    pub seconds: f64,
}

/// The short terminal table: property, instances, worst tightness, verdict, controls, and a
/// line on how to read it.
pub fn table(runs: &[PropertyRun]) -> String {
    let mut out = format!(
        "{:<34} {:>9} {:>15} {:>12} {:>10} {:>8}\n",
        "property", "instances", "worst", "verdict", "controls", "seconds"
    );
    for r in runs {
        let worst = match (&r.summary.tightness, &r.summary.error) {
            (Some(t), _) => format!("{:.4}", t.min),
            (None, Some(e)) => format!("err/tol {:.1e}", e.max),
            _ => "-".into(),
        };
        let nc = r.summary.not_converged;
        let inst = if nc > 0 {
            format!("{}({}nc)", r.summary.instances, nc)
        } else {
            r.summary.instances.to_string()
        };
        let ok_controls = r.controls.iter().filter(|c| c.verdict == ControlVerdict::FailsAsExpected).count();
        out.push_str(&format!(
            "{:<34} {:>9} {:>15} {:>12} {:>10} {:>8.2}\n",
            r.spec.id,
            inst,
            worst,
            format!("{:?}", r.verdict).to_lowercase(),
            format!("{ok_controls}/{} fail", r.controls.len()),
            r.seconds
        ));
    }
    out.push_str(READING);
    out.push('\n');
    out
}

/// How to read the `worst` column (printed under the table and in the HTML report).
pub const READING: &str = "worst = smallest tightness (the claim holds iff ≥ 1; 1 is tight) or, for identities and \
limits, largest error/tolerance (holds iff ≤ 1)";
