//! Critical points: the exact Hessian split along the gauge orbit, and Newton polishing.

use super::{numerical_rank, orthogonal_gauge_tangents, singular_values, symmetrize};
use crate::engine::linalg::{self, matmul_owned};
use crate::engine::problem::Problem;
use faer::Mat;

/// The exact Hessian split along the orthogonal gauge orbit at a critical point.
#[derive(Clone, Debug)]
pub struct GaugeHessian {
    /// All P eigenvalues of ∇²ℓ, ascending.
    pub eigenvalues: Vec<f64>,
    /// Dimension of the orbit's tangent space (numerical rank of the tangents).
    pub gauge_dim: usize,
    /// Eigenvalues of ∇²ℓ restricted to the orthogonal complement of the orbit, ascending.
    pub transverse: Vec<f64>,
    /// ‖∇²ℓ·T‖₂/‖∇²ℓ‖₂ over an orthonormal basis T of the orbit's tangents (0 at a critical point,
    /// where the orbit consists of critical points of equal loss).
    pub gauge_residual: f64,
}

/// Exact dense Hessian ([`crate::engine::hessian::dense_hessian`]) with its gauge directions separated:
/// the point is a local minimum (modulo the orbit) if `transverse` is positive, a strict saddle
/// if its smallest eigenvalue is negative. Cost O(P³).
pub fn hessian_modulo_gauge(problem: &Problem, theta: &[f64]) -> GaugeHessian {
    let h = crate::engine::hessian::dense_hessian(problem, theta);
    let p = h.nrows();
    let eigenvalues = linalg::sym_eigenvalues(h.as_ref());
    let hnorm = eigenvalues.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-300);
    let t = orthogonal_gauge_tangents(&problem.model.trained_weights(theta));
    let (basis, gauge_dim) = if t.ncols() == 0 {
        (Mat::<f64>::identity(p, p), 0)
    } else {
        let svd = t.svd().expect("faer SVD failed to converge");
        let k = t.ncols().min(p);
        let sv: Vec<f64> = (0..k).map(|i| svd.S()[i]).collect();
        let r = numerical_rank(&sv, 1e-10);
        (svd.U().to_owned(), r)
    };
    let tangent = Mat::from_fn(p, gauge_dim, |i, j| basis[(i, j)]);
    let complement = Mat::from_fn(p, p - gauge_dim, |i, j| basis[(i, gauge_dim + j)]);
    let ht = matmul_owned(h.as_ref(), tangent.as_ref());
    let gauge_residual = if gauge_dim == 0 { 0.0 } else { singular_values(ht.as_ref())[0] / hnorm };
    let mut hz = matmul_owned(complement.transpose(), matmul_owned(h.as_ref(), complement.as_ref()).as_ref());
    symmetrize(&mut hz);
    let transverse = if p > gauge_dim { linalg::sym_eigenvalues(hz.as_ref()) } else { Vec::new() };
    GaugeHessian { eigenvalues, gauge_dim, transverse, gauge_residual }
}

/// Newton's method on ∇ℓ = 0 from a nearly critical θ, with the dense Hessian pseudo-inverted
/// (eigenvalues below 1e−9·‖H‖ in magnitude, e.g. gauge zeros, are dropped): converges
/// quadratically to a nearby non-degenerate critical point (modulo the gauge orbit). Stops when
/// ‖∇ℓ‖ stops decreasing or after `iters` steps; returns the best point and its gradient norm.
/// Cost O(P³) per step.
pub fn newton_polish(problem: &Problem, theta: &[f64], iters: usize) -> (Vec<f64>, f64) {
    let mut best = theta.to_vec();
    let mut best_g = linalg::norm(&problem.loss_and_gradient(&best).1);
    for _ in 0..iters {
        let g = problem.loss_and_gradient(&best).1;
        let h = crate::engine::hessian::dense_hessian(problem, &best);
        let (vals, u) = linalg::sym_eigen(h.as_ref());
        let hmax = vals.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let p = g.len();
        let mut step = vec![0.0; p];
        for (k, &lam) in vals.iter().enumerate() {
            if lam.abs() <= 1e-9 * hmax {
                continue;
            }
            let c: f64 = (0..p).map(|i| u[(i, k)] * g[i]).sum::<f64>() / lam;
            for i in 0..p {
                step[i] -= c * u[(i, k)];
            }
        }
        let cand: Vec<f64> = best.iter().zip(&step).map(|(a, b)| a + b).collect();
        let cand_g = linalg::norm(&problem.loss_and_gradient(&cand).1);
        if cand_g.is_finite() && cand_g < best_g {
            best = cand;
            best_g = cand_g;
        } else {
            break;
        }
    }
    (best, best_g)
}
