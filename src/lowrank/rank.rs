//! Singular values, numerical ranks and the Schatten quasi-norm penalty L·Σσ_i^{2/L}.

use faer::MatRef;

/// Singular values of `a`, descending. Cost O(mn·min(m,n)).
pub fn singular_values(a: MatRef<'_, f64>) -> Vec<f64> {
    a.singular_values().expect("faer SVD failed to converge")
}

/// Numerical rank: the number of singular values above `rel_cutoff`·σ_max (0 for A = 0).
pub fn numerical_rank(sv: &[f64], rel_cutoff: f64) -> usize {
    let smax = sv.iter().copied().fold(0.0, f64::max);
    if smax == 0.0 {
        return 0;
    }
    sv.iter().filter(|&&s| s > rel_cutoff * smax).count()
}

/// The number of singular values above an absolute threshold (e.g. a fraction of the target's
/// largest singular value, for ranks along a trajectory that starts at A ≈ 0).
pub fn rank_above(sv: &[f64], threshold: f64) -> usize {
    sv.iter().filter(|&&s| s > threshold).count()
}

/// L·Σ_i σ_i^{2/L} over the singular values above `rel_cutoff`·σ_max: the minimum of
/// Σ_ℓ‖W_ℓ‖²_F over factorisations W_L⋯W_1 = A (jgshg.schatten). Dropping the tiny singular
/// values matters: a rounding-level σ = 1e−16 contributes (1e−16)^{2/L}, 1e−3 for L = 5.
pub fn schatten_penalty(sv: &[f64], depth: usize, rel_cutoff: f64) -> f64 {
    let smax = sv.iter().copied().fold(0.0, f64::max);
    let e = 2.0 / depth as f64;
    depth as f64 * sv.iter().filter(|&&s| s > rel_cutoff * smax).map(|s| s.powf(e)).sum::<f64>()
}
