//! Aggregates drawn in the figures: means with 95 % bootstrap bands (as seaborn's `lineplot`
//! draws them: 1000 resamples, percentile interval, here seeded), proportions, and
//! the scalar folds (max, min, median, percentiles) the aggregates use. The least-squares lines
//! are [`crate::engine::fit`].

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The largest of the values (`f64::max` semantics: a NaN is skipped unless all are NaN);
/// `None` when there are none.
pub fn max_of(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    v.into_iter().fold(None, fold_max)
}

/// The step of [`max_of`], for `iter.fold(None, fold_max)`.
pub fn fold_max(m: Option<f64>, x: f64) -> Option<f64> {
    Some(m.map_or(x, |m| m.max(x)))
}

/// The step of the smallest value, for `iter.fold(None, fold_min)`.
pub fn fold_min(m: Option<f64>, x: f64) -> Option<f64> {
    Some(m.map_or(x, |m| m.min(x)))
}

/// Bootstrap resamples per band.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// A mean with its 95 % band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Band {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
}

/// Mean of the finite values and the 2.5–97.5 % percentiles of the means of
/// [`BOOTSTRAP_RESAMPLES`] resamples (with replacement, seeded). `None` without finite values.
pub fn mean_band(values: &[f64], seed: u64) -> Option<Band> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Band { mean, lo: mean, hi: mean, n });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| v[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Some(Band { mean, lo: percentile(&means, 2.5), hi: percentile(&means, 97.5), n })
}

/// Linear-interpolated percentile of sorted data (numpy's default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[i] + frac * (sorted[i + 1] - sorted[i])
}

/// Median of the finite values (NaN if none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}
