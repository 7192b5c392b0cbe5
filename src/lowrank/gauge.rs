//! The gauge symmetry W_ℓ → G_ℓW_ℓG_{ℓ−1}⁻¹: random gauges, the gauge move, descent of Σ‖W_ℓ‖²
//! along the orbit and the orthogonal orbit's tangent directions.

use super::{imbalance, sum_sq_norms};
use crate::engine::data::orthonormal_columns;
use crate::engine::linalg::{self, matmul_owned};
use crate::engine::rng::{self, Rng};
use faer::{Mat, MatRef};

/// An invertible gauge matrix and its inverse.
#[derive(Clone, Debug)]
pub struct Gauge {
    pub g: Mat<f64>,
    pub inv: Mat<f64>,
}

/// A random invertible G = Q_a diag(e^{c·z}) Q_bᵀ (Q_a, Q_b Haar orthogonal, z standard normal,
/// c = `log_scale`), with its exact inverse Q_b diag(e^{−c·z}) Q_aᵀ: every element of GL(w)
/// with positive determinant arises this way. Cost O(w³).
pub fn random_gauge(width: usize, log_scale: f64, rng: &mut Rng) -> Gauge {
    let qa = orthonormal_columns(width, width, rng);
    let qb = orthonormal_columns(width, width, rng);
    let z = rng::normals(rng, width);
    let scaled = |q: &Mat<f64>, sign: f64| {
        Mat::from_fn(width, width, |i, j| q[(i, j)] * (sign * log_scale * z[j]).exp())
    };
    Gauge {
        g: matmul_owned(scaled(&qa, 1.0).as_ref(), qb.transpose()),
        inv: matmul_owned(scaled(&qb, -1.0).as_ref(), qa.transpose()),
    }
}

/// The gauge move W_ℓ → G_ℓW_ℓG_{ℓ−1}⁻¹ (G_0 = G_L = I), one gauge per hidden layer
/// (L − 1 of them). It leaves W_L⋯W_1 unchanged. Cost O(L·w³).
pub fn apply_gauge(weights: &[Mat<f64>], gauges: &[Gauge]) -> Vec<Mat<f64>> {
    assert_eq!(gauges.len() + 1, weights.len(), "one gauge per hidden layer");
    weights
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let mut out = w.clone();
            if k < gauges.len() {
                out = matmul_owned(gauges[k].g.as_ref(), out.as_ref());
            }
            if k > 0 {
                out = matmul_owned(out.as_ref(), gauges[k - 1].inv.as_ref());
            }
            out
        })
        .collect()
}

/// exp(tD) for symmetric D (eigen-decomposition). Cost O(w³).
pub fn sym_exp(d: MatRef<'_, f64>, t: f64) -> Mat<f64> {
    let (vals, u) = linalg::sym_eigen(d);
    let n = d.nrows();
    let scaled = Mat::from_fn(n, n, |i, j| u[(i, j)] * (t * vals[j]).exp());
    matmul_owned(scaled.as_ref(), u.transpose())
}

/// Result of [`gauge_descent`].
#[derive(Clone, Debug)]
pub struct GaugeDescent {
    pub weights: Vec<Mat<f64>>,
    /// Σ_ℓ‖W_ℓ‖² at the end.
    pub value: f64,
    pub iterations: usize,
}

/// Minimises Σ_ℓ‖W_ℓ‖²_F over the gauge orbit {G_ℓW_ℓG_{ℓ−1}⁻¹}: the derivative of the sum
/// along G_ℓ = exp(X_ℓ) at X = 0 is −2⟨X_ℓ, D_ℓ⟩, so each step multiplies by the group elements
/// G_ℓ = exp(ηD_ℓ) (exact, product preserved) with Armijo backtracking on η. Stops when
/// value ≤ (1 + rel_tol)·`target`, when Σ‖D_ℓ‖² stops decreasing the value, or after
/// `max_iter` steps. Cost O(L·w³) per step.
pub fn gauge_descent(weights: &[Mat<f64>], target: f64, rel_tol: f64, max_iter: usize) -> GaugeDescent {
    let mut ws = weights.to_vec();
    let mut value = sum_sq_norms(&ws);
    let mut eta = 0.25 / ws.iter().map(|w| w.squared_norm_l2()).fold(1e-300, f64::max);
    let mut iterations = 0;
    while iterations < max_iter && value > (1.0 + rel_tol) * target {
        iterations += 1;
        let d = imbalance(&ws);
        let dd: f64 = d.iter().map(|m| m.squared_norm_l2()).sum();
        if dd == 0.0 {
            break;
        }
        let mut accepted = false;
        for _ in 0..60 {
            let gauges: Vec<Gauge> = d
                .iter()
                .map(|m| Gauge { g: sym_exp(m.as_ref(), eta), inv: sym_exp(m.as_ref(), -eta) })
                .collect();
            let cand = apply_gauge(&ws, &gauges);
            let v = sum_sq_norms(&cand);
            if v <= value - 0.5 * eta * dd {
                ws = cand;
                value = v;
                eta *= 2.0;
                accepted = true;
                break;
            }
            eta *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    GaugeDescent { weights: ws, value, iterations }
}

/// The tangent directions (in θ layout) of the orthogonal gauge orbit, the symmetry of
/// ½C(A) + (λ/2)‖θ‖²: for each hidden layer ℓ and skew K = e_ae_bᵀ − e_be_aᵀ,
/// δW_ℓ = KW_ℓ, δW_{ℓ+1} = −W_{ℓ+1}K. Returns a P × (L−1)·w(w−1)/2 matrix (columns may be
/// dependent or zero where the orbit is degenerate).
pub fn orthogonal_gauge_tangents(weights: &[Mat<f64>]) -> Mat<f64> {
    let sizes: Vec<usize> = weights.iter().map(|w| w.nrows() * w.ncols()).collect();
    let p: usize = sizes.iter().sum();
    let offsets: Vec<usize> = sizes
        .iter()
        .scan(0, |acc, s| {
            let o = *acc;
            *acc += s;
            Some(o)
        })
        .collect();
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for k in 0..weights.len().saturating_sub(1) {
        let w = weights[k].nrows();
        for a in 0..w {
            for b in a + 1..w {
                let mut t = vec![0.0; p];
                let (lo, hi) = (&weights[k], &weights[k + 1]);
                // (K W_ℓ)[i, j]: row a gets W[b, :], row b gets −W[a, :].
                for j in 0..lo.ncols() {
                    t[offsets[k] + a * lo.ncols() + j] = lo[(b, j)];
                    t[offsets[k] + b * lo.ncols() + j] = -lo[(a, j)];
                }
                // (−W_{ℓ+1} K)[i, j]: column a gets W[:, b], column b gets −W[:, a].
                for i in 0..hi.nrows() {
                    t[offsets[k + 1] + i * hi.ncols() + a] = hi[(i, b)];
                    t[offsets[k + 1] + i * hi.ncols() + b] = -hi[(i, a)];
                }
                cols.push(t);
            }
        }
    }
    Mat::from_fn(p, cols.len(), |i, j| cols[j][i])
}
