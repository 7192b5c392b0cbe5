//! [`Margins`]: several requirements of one claim folded into one measurement.

use crate::framework::property::{Measurement, Status};

/// A conjunction of checks (claims with several requirements), folded into one measurement:
/// - [`Margins::margin`]: a bound-type margin (≥ 1 iff it holds, 1 tight); the tightness is the
///   smallest of them, `None` if there are none;
/// - [`Margins::within`]: an identity to a tolerance (error ≤ tol); the largest error/tol ratio
///   is the measurement's `error` (often rounding-level: not a tightness, not stable across CPUs,
///   so snapshots leave it out);
/// - [`Margins::le`]: one link `lower ≤ upper·(1 + rel)` of a chain of inequalities;
/// - [`Margins::require`]: a yes/no requirement.
///
/// The comparisons live here, tested on synthetic numbers (tests/verdicts.rs), so that a claim's
/// verdict is a list of named checks on its measured operands, and a violated instance's note
/// names the checks that failed.
#[derive(Clone, Debug, Default)]
pub struct Margins {
    tightness: Option<f64>,
    worst_error_ratio: Option<f64>,
    pub failed: Vec<String>,
}

impl Margins {
    fn fail(&mut self, name: &str) {
        if !self.failed.iter().any(|f| f == name) {
            self.failed.push(name.to_string());
        }
    }
    /// A bound-type check: holds iff `margin` ≥ 1 (NaN fails).
    pub fn margin(&mut self, name: &str, margin: f64) {
        let m = if margin.is_nan() { 0.0 } else { margin };
        if m < 1.0 {
            self.fail(name);
        }
        self.tightness = Some(self.tightness.map_or(m, |t| t.min(m)));
    }
    /// An identity: holds iff error ≤ tol (NaN fails).
    pub fn within(&mut self, name: &str, error: f64, tol: f64) {
        let ratio = if error.is_nan() { f64::INFINITY } else { error / tol };
        if ratio > 1.0 {
            self.fail(name);
        }
        self.worst_error_ratio = Some(self.worst_error_ratio.map_or(ratio, |w| w.max(ratio)));
    }
    /// One link of a chain of inequalities: holds iff `lower ≤ upper·(1 + rel)` ([`le`]).
    pub fn le(&mut self, name: &str, lower: f64, upper: f64, rel: f64) {
        if !le(lower, upper, rel) {
            self.fail(name);
        }
    }
    /// A yes/no check.
    pub fn require(&mut self, name: &str, ok: bool) {
        if !ok {
            self.fail(name);
        }
    }
    pub fn holds(&self) -> bool {
        self.failed.is_empty()
    }
    /// The smallest bound margin, if any.
    pub fn tightness(&self) -> Option<f64> {
        self.tightness
    }
    /// The measurement: holds iff every check held; the note lists the failed checks.
    pub fn measurement(&self) -> Measurement {
        let mut m = Measurement::with_status(if self.holds() { Status::Holds } else { Status::Violated });
        m.tightness = self.tightness;
        m.error = self.worst_error_ratio;
        if !self.failed.is_empty() {
            m = m.note(format!("failed: {}", self.failed.join(", ")));
        }
        m
    }
    /// Folds the checks into a measurement made elsewhere (e.g. by
    /// [`Measurement::from_tightness`], which keeps its tightness and error): it becomes violated
    /// if any check failed, with a note naming them; otherwise it is unchanged.
    pub fn fold(&self, m: Measurement) -> Measurement {
        if self.holds() {
            return m;
        }
        let note = match &m.note {
            Some(n) => format!("{n}; failed: {}", self.failed.join(", ")),
            None => format!("failed: {}", self.failed.join(", ")),
        };
        Measurement { status: Status::Violated, ..m }.note(note)
    }
}

/// `lower ≤ upper·(1 + rel)`: an inequality between two measured quantities with a relative
/// slack (for positive `upper`; false when either is NaN).
pub fn le(lower: f64, upper: f64, rel: f64) -> bool {
    lower <= upper * (1.0 + rel)
}
