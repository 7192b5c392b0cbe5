//! Factorisations of an end-to-end map: truncated SVD, balanced factors, products, Σ‖W_ℓ‖² and
//! the imbalances D_ℓ.

use super::{numerical_rank, symmetrize};
use crate::engine::data::orthonormal_columns;
use crate::engine::linalg::matmul_owned;
use crate::engine::rng::Rng;
use faer::{Mat, MatRef};

/// A thin SVD U diag(s) Vᵀ keeping the singular values above `rel_cutoff`·σ_max and at most
/// `max_rank` of them. Returns (U d_out×r, s, V d_in×r).
pub fn truncated_svd(a: MatRef<'_, f64>, rel_cutoff: f64, max_rank: usize) -> (Mat<f64>, Vec<f64>, Mat<f64>) {
    let svd = a.thin_svd().expect("faer SVD failed to converge");
    let k = a.nrows().min(a.ncols());
    let s_all: Vec<f64> = (0..k).map(|i| svd.S()[i]).collect();
    let r = numerical_rank(&s_all, rel_cutoff).min(max_rank);
    let (u, v) = (svd.U(), svd.V());
    (
        Mat::from_fn(a.nrows(), r, |i, j| u[(i, j)]),
        s_all[..r].to_vec(),
        Mat::from_fn(a.ncols(), r, |i, j| v[(i, j)]),
    )
}

/// A balanced factorisation of U diag(s) Vᵀ through hidden width w ≥ r:
/// W_1 = Q_1 S^{1/L} Vᵀ, W_ℓ = Q_ℓ S^{1/L} Q_{ℓ−1}ᵀ, W_L = U S^{1/L} Q_{L−1}ᵀ with Q_ℓ (w × r)
/// Haar-random orthonormal columns drawn from `rng`. Then W_L⋯W_1 = U diag(s) Vᵀ,
/// all D_ℓ = 0 and Σ_ℓ‖W_ℓ‖² = L·Σs_i^{2/L}. Zero entries of s are allowed (critical points).
/// Cost O(L·w²·r).
pub fn balanced_factors(
    u: MatRef<'_, f64>,
    s: &[f64],
    v: MatRef<'_, f64>,
    depth: usize,
    width: usize,
    rng: &mut Rng,
) -> Vec<Mat<f64>> {
    let r = s.len();
    assert!(depth >= 1 && u.ncols() == r && v.ncols() == r);
    assert!(width >= r || depth == 1, "hidden width {width} < rank {r}");
    let root: Vec<f64> = s.iter().map(|x| x.max(0.0).powf(1.0 / depth as f64)).collect();
    // Left/right frames: V for the input, Q_1..Q_{L−1}, U for the output.
    let mut frames: Vec<Mat<f64>> = vec![v.to_owned()];
    for _ in 1..depth {
        frames.push(orthonormal_columns(width, r, rng));
    }
    frames.push(u.to_owned());
    (0..depth)
        .map(|k| {
            let (out, inp) = (&frames[k + 1], &frames[k]);
            Mat::from_fn(out.nrows(), inp.nrows(), |i, j| {
                (0..r).map(|m| out[(i, m)] * root[m] * inp[(j, m)]).sum()
            })
        })
        .collect()
}

/// W_L⋯W_1.
pub fn product(weights: &[Mat<f64>]) -> Mat<f64> {
    let mut a = weights[0].clone();
    for w in &weights[1..] {
        a = matmul_owned(w.as_ref(), a.as_ref());
    }
    a
}

/// Σ_ℓ‖W_ℓ‖²_F.
pub fn sum_sq_norms(weights: &[Mat<f64>]) -> f64 {
    weights.iter().map(|w| w.squared_norm_l2()).sum()
}

/// The imbalances D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ, ℓ = 1..L−1 (conserved by gradient flow
/// without L2, e^{−2λt}D_ℓ(0) with it). Cost O(L·w³).
pub fn imbalance(weights: &[Mat<f64>]) -> Vec<Mat<f64>> {
    weights
        .windows(2)
        .map(|p| {
            let top = matmul_owned(p[1].transpose(), p[1].as_ref());
            let bottom = matmul_owned(p[0].as_ref(), p[0].transpose());
            let mut d = top - bottom;
            symmetrize(&mut d);
            d
        })
        .collect()
}
