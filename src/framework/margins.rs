//! [`Margins`]: several requirements of one claim folded into one measurement.

use crate::framework::property::{Measurement, Status};

/// A conjunction of checks (claims with several requirements), folded into one measurement:
/// - [`Margins::margin`]: a bound-type margin (≥ 1 iff it holds, 1 tight); the tightness is the
///   smallest of them, `None` if there are none;
/// - [`Margins::within`]: an identity to a tolerance (error ≤ tol); the largest error/tol ratio
///   is the measurement's `error` (often rounding-level: not a tightness, not stable across CPUs,
///   so snapshots leave it out);
/// - [`Margins::require`]: a yes/no requirement.
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
}
