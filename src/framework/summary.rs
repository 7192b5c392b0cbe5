//! Statistical summaries of a property run (statrs): tightness quantiles, the mean with a 95 %
//! Student-t interval, proportions with Clopper–Pearson intervals, verdicts.

use crate::framework::property::{CheckKind, Measurement, Status};
use crate::framework::spec::InstanceSpec;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, StudentsT};
use statrs::statistics::{Data, OrderStatistics, Statistics};

/// Order statistics and mean of a sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    /// Quantiles (R-8, statrs' definition).
    pub q05: f64,
    pub q50: f64,
    pub q95: f64,
    pub max: f64,
    pub mean: f64,
    /// 95 % Student-t interval of the mean (the point itself when n = 1).
    pub mean_ci95: [f64; 2],
}

/// Summary statistics of a non-empty sample of finite numbers.
pub fn stats(xs: &[f64]) -> Option<Stats> {
    let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return None;
    }
    let n = xs.len();
    let mean = xs.iter().mean();
    let ci = if n > 1 {
        let sd = xs.iter().std_dev();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n > 1").inverse_cdf(0.975);
        let h = t * sd / (n as f64).sqrt();
        [mean - h, mean + h]
    } else {
        [mean, mean]
    };
    let mut data = Data::new(xs.clone());
    Some(Stats {
        n,
        min: xs.iter().fold(f64::INFINITY, |a, &b| a.min(b)),
        q05: data.quantile(0.05),
        q50: data.quantile(0.5),
        q95: data.quantile(0.95),
        max: xs.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
        mean,
        mean_ci95: ci,
    })
}

/// A proportion k/n with its exact (Clopper–Pearson) 95 % interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub successes: usize,
    pub trials: usize,
    pub estimate: f64,
    pub ci95: [f64; 2],
}

/// k successes out of n trials, with the Clopper–Pearson interval from Beta quantiles.
pub fn proportion(k: usize, n: usize) -> Option<Proportion> {
    if n == 0 {
        return None;
    }
    let (kf, nf) = (k as f64, n as f64);
    let lo = if k == 0 { 0.0 } else { Beta::new(kf, nf - kf + 1.0).expect("valid shape").inverse_cdf(0.025) };
    let hi = if k == n { 1.0 } else { Beta::new(kf + 1.0, nf - kf).expect("valid shape").inverse_cdf(0.975) };
    Some(Proportion { successes: k, trials: n, estimate: kf / nf, ci95: [lo, hi] })
}

/// The outcome of one instance as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceOutcome {
    pub index: usize,
    pub seed: u64,
    pub point: crate::framework::property::GridPoint,
    #[serde(flatten)]
    pub measurement: Measurement,
}

/// Counts and statistics of one set of instances (the claim, or one control).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub instances: usize,
    pub holds: usize,
    pub violated: usize,
    pub not_converged: usize,
    /// Instances whose claim code failed (numerical failure, unusable input).
    pub errors: usize,
    /// Tightness over measured instances (holds iff ≥ 1; 1 is tight).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tightness: Option<Stats>,
    /// Errors of identities/limits over measured instances, divided by their tolerances
    /// (holds iff ≤ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Stats>,
    /// Proportion holding among measured instances (probabilistic claims).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportion: Option<Proportion>,
    /// Whether the statement held under this run's rule.
    pub holds_overall: bool,
    /// The instance with the smallest tightness (a violation first), reproducible from its seed;
    /// the lowest index among instances tied to [`TIE_RTOL`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<InstanceOutcome>,
    /// The first error message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Relative tolerance within which two instances count as equally bad when the worst is picked:
/// tightnesses or errors that differ by rounding only (1e-16 relative, which may flip between
/// CPUs with different SIMD kernels) select the same, lowest-index, instance everywhere.
pub const TIE_RTOL: f64 = 1e-12;

/// Whether `a` and `b` are equal to [`TIE_RTOL`] relative; a value that is not finite (±∞, NaN)
/// ties only itself, bit for bit (so a NaN tightness, a violation, can still be the worst).
pub fn tied(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
        || (a.is_finite() && b.is_finite() && (a - b).abs() <= TIE_RTOL * a.abs().max(b.abs()))
}

/// Summarises instance results under the verdict rule of `kind`.
pub fn summarize(
    kind: CheckKind,
    min_proportion: Option<f64>,
    instances: &[InstanceSpec],
    results: &[Result<Measurement, String>],
) -> RunSummary {
    let count = |s: Status| results.iter().filter(|r| matches!(r, Ok(m) if m.status == s)).count();
    let (holds, violated, not_converged) =
        (count(Status::Holds), count(Status::Violated), count(Status::NotConverged));
    let errors = results.iter().filter(|r| r.is_err()).count();
    let measured_ok =
        || results.iter().filter_map(|r| r.as_ref().ok()).filter(|m| m.status != Status::NotConverged);
    let tight: Vec<f64> = measured_ok().filter_map(|m| m.tightness).collect();
    let errs: Vec<f64> = measured_ok().filter_map(|m| m.error).collect();
    let measured = holds + violated;
    let prop = proportion(holds, measured);
    let holds_overall = match kind {
        CheckKind::Probabilistic => {
            prop.as_ref().is_some_and(|p| p.estimate >= min_proportion.unwrap_or(1.0))
        }
        _ => measured > 0 && violated == 0,
    };
    // Worst: a violation first, then the smallest tightness, then the largest error; among
    // values tied to TIE_RTOL (relative), the lowest index.
    let key = |m: &Measurement| {
        let badness = m.tightness.map(|t| -t).or(m.error).unwrap_or(f64::NEG_INFINITY);
        (m.status != Status::Violated, -badness)
    };
    let candidates: Vec<(usize, &Measurement)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|m| (i, m)))
        .filter(|(_, m)| m.status != Status::NotConverged)
        .collect();
    let extreme =
        candidates.iter().map(|(_, m)| key(m)).min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let worst = extreme
        .and_then(|(group, k)| candidates.iter().find(|(_, m)| key(m).0 == group && tied(key(m).1, k)))
        .map(|&(i, m)| InstanceOutcome {
            index: instances[i].index,
            seed: instances[i].seed,
            point: instances[i].point.clone(),
            measurement: m.clone(),
        });
    RunSummary {
        instances: results.len(),
        holds,
        violated,
        not_converged,
        errors,
        tightness: stats(&tight),
        error: stats(&errs),
        proportion: if kind == CheckKind::Probabilistic { prop } else { None },
        holds_overall,
        worst,
        first_error: results.iter().find_map(|r| r.as_ref().err().cloned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_reference_values() {
        // Reference values (exact binomial intervals, e.g. R's binom.test):
        // 7/10 → [0.3475, 0.9333]; 10/10 → [0.6915, 1]; 0/10 → [0, 0.3085].
        let p = proportion(7, 10).unwrap();
        assert!((p.ci95[0] - 0.34754).abs() < 1e-4 && (p.ci95[1] - 0.93332).abs() < 1e-4, "{p:?}");
        let p = proportion(10, 10).unwrap();
        assert!((p.ci95[0] - 0.69150).abs() < 1e-4 && p.ci95[1] == 1.0);
        let p = proportion(0, 10).unwrap();
        assert!(p.ci95[0] == 0.0 && (p.ci95[1] - 0.30850).abs() < 1e-4);
    }

    #[test]
    fn mean_interval_reference_values() {
        // 1..=5: mean 3, sd √2.5, t_{0.975,4} = 2.776445 → half-width 1.963243.
        let s = stats(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!((s.mean - 3.0).abs() < 1e-15);
        assert!((s.mean_ci95[1] - 3.0 - 1.963243).abs() < 1e-5, "{s:?}");
        assert_eq!((s.min, s.max, s.q50), (1.0, 5.0, 3.0));
    }
}
