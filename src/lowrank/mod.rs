//! Low-rank biases of deep linear networks (Jacot, Ged, Şimşek, Hongler, Gabriel 2021, v1): the
//! DLN-specific mathematics behind the `jgshg.*` claims and the data of their figures.
//!
//! Notation: A = W_L⋯W_1 (L = depth), hidden width w, D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ the
//! imbalance at hidden layer ℓ, λ the L2 coefficient of (λ/2)Σ_ℓ‖W_ℓ‖²_F. Layers are
//! `Vec<Mat<f64>>`, W_1 first (as [`crate::engine::model::Dln::trained_weights`] returns them).
//! Everything here is deterministic in its inputs (random draws come from a caller's generator).

use crate::engine::data::orthonormal_columns;
use crate::engine::linalg::{self, matmul_owned};
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Rng};
use crate::engine::train::{self, GfOptions, Outcome};
use faer::{Mat, MatRef};

/// A failure of a computation in this module (not a violated claim).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LowRankError {
    #[error("gradient flow diverged at t = {0}")]
    Diverged(f64),
    #[error("{0}")]
    Invalid(String),
}

// ---------------------------------------------------------------------------------------------
// The per-mode scalar problem
// ---------------------------------------------------------------------------------------------

/// The per-mode scalar problem g(s) = ½(s − σ)² + (λL/2)s^{2/L}, s ≥ 0: the loss of one singular
/// mode of a balanced network (W_ℓ restricted to the mode = s^{1/L}) on ½‖A − Y‖² + (λ/2)‖θ‖²,
/// σ the target's singular value. g′(s) = s − σ + λs^{2/L−1} = h(s) − σ with h(s) = s + λs^{2/L−1};
/// for L ≥ 3, h is minimal at s* = (λ(L−2)/L)^{L/(2L−2)}, so g has two positive critical points
/// s₋ < s* < s₊ (a local maximum and a local minimum) iff σ > h(s*). Cost O(1) per evaluation,
/// ~200 bisection steps per critical point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarProblem {
    pub sigma: f64,
    pub l2: f64,
    pub depth: usize,
}

/// The positive critical points of g (s₋ a local maximum, s₊ a local minimum).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarCritical {
    /// The smaller root of g′ (L ≥ 3 only; g″(s₋) < 0).
    pub minus: Option<f64>,
    /// The positive local minimiser.
    pub plus: Option<f64>,
}

impl ScalarProblem {
    pub fn new(sigma: f64, l2: f64, depth: usize) -> Self {
        assert!(depth >= 2, "the scalar problem needs L ≥ 2");
        ScalarProblem { sigma, l2, depth }
    }
    fn exponent(&self) -> f64 {
        2.0 / self.depth as f64
    }
    /// g(s).
    pub fn value(&self, s: f64) -> f64 {
        let l = self.depth as f64;
        0.5 * (s - self.sigma).powi(2) + 0.5 * self.l2 * l * s.max(0.0).powf(self.exponent())
    }
    /// g′(s) for s > 0.
    pub fn derivative(&self, s: f64) -> f64 {
        s - self.sigma + self.l2 * s.powf(self.exponent() - 1.0)
    }
    /// g″(s) for s > 0.
    pub fn second_derivative(&self, s: f64) -> f64 {
        let e = self.exponent();
        1.0 + self.l2 * (e - 1.0) * s.powf(e - 2.0)
    }
    /// The positive critical points, by bisection on g′ to full precision.
    pub fn critical_points(&self) -> ScalarCritical {
        let (l, lam, sigma) = (self.depth as f64, self.l2, self.sigma);
        if self.depth == 2 {
            // g′(s) = s − σ + λ.
            let s = sigma - lam;
            return ScalarCritical { minus: None, plus: (s > 0.0).then_some(s) };
        }
        if lam == 0.0 {
            return ScalarCritical { minus: None, plus: (sigma > 0.0).then_some(sigma) };
        }
        let s_star = (lam * (l - 2.0) / l).powf(l / (2.0 * l - 2.0));
        if self.derivative(s_star) >= 0.0 {
            return ScalarCritical { minus: None, plus: None };
        }
        // g′ < 0 at s*, g′(σ) = λσ^{2/L−1} > 0, and g′(s) ≥ λs^{2/L−1} − σ > 0 below
        // s_lo = (λ/σ)^{L/(L−2)}/2.
        let plus = bisect(|s| self.derivative(s), s_star, sigma);
        let lo = 0.5 * (lam / sigma).powf(l / (l - 2.0));
        let minus = bisect(|s| self.derivative(s), lo, s_star);
        ScalarCritical { minus: Some(minus), plus: Some(plus) }
    }
    /// The global minimiser over s ≥ 0 (0 or s₊; 0 on ties).
    pub fn global_minimizer(&self) -> f64 {
        match self.critical_points().plus {
            Some(s) if self.value(s) < self.value(0.0) => s,
            _ => 0.0,
        }
    }
}

/// A root of f in [lo, hi] where f changes sign, by bisection until the bracket stops shrinking.
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let f_lo = f(lo);
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let fm = f(mid);
        if fm == 0.0 {
            return mid;
        }
        if (fm > 0.0) == (f_lo > 0.0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The two thresholds on σ of the scalar problem (docs/notation.md), for L ≥ 3:
/// a positive local minimum exists iff σ > `exists` = ((2L−2)/(L−2))(λ(L−2)/L)^{L/(2L−2)}
/// (= h(s*)), and it beats s = 0 iff σ > `beats_zero` = ((L−1)/(L−2))(λ(L−2))^{L/(2L−2)}
/// (where g(s₊) = g(0), solved jointly with g′(s₊) = 0). For L = 2 both equal λ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub exists: f64,
    pub beats_zero: f64,
}

pub fn thresholds(depth: usize, l2: f64) -> Thresholds {
    assert!(depth >= 2);
    if depth == 2 {
        return Thresholds { exists: l2, beats_zero: l2 };
    }
    let l = depth as f64;
    let p = l / (2.0 * l - 2.0);
    Thresholds {
        exists: (2.0 * l - 2.0) / (l - 2.0) * (l2 * (l - 2.0) / l).powf(p),
        beats_zero: (l - 1.0) / (l - 2.0) * (l2 * (l - 2.0)).powf(p),
    }
}

/// The same thresholds found numerically from g alone (no closed form): `exists` = min_{s>0} h(s)
/// by golden section on log s, and `beats_zero` = the σ at which min_{s>0} g(s) − g(0) changes
/// sign (bisection on σ; the inner minimum by a log-grid scan whose local minima are refined by
/// golden section).
/// An independent check of [`thresholds`]; cost ~10⁵ evaluations of g.
pub fn thresholds_numerical(depth: usize, l2: f64) -> Thresholds {
    let h = |s: f64| ScalarProblem::new(0.0, l2, depth).derivative(s);
    let scale = l2.max(1e-300);
    let (_, exists) = crate::engine::bounds::golden_section(
        |u| h(u.exp()),
        (1e-6 * scale).ln() - 20.0,
        (1e3 * scale).ln() + 20.0,
    );
    let gap = |sigma: f64| {
        let g = ScalarProblem::new(sigma, l2, depth);
        let g0 = g.value(0.0);
        let n = 2000;
        let (lo, hi) = ((1e-12 * sigma).ln(), (2.0 * sigma).ln());
        let step = (hi - lo) / n as f64;
        let vals: Vec<f64> = (0..=n).map(|i| g.value((lo + step * i as f64).exp())).collect();
        // Refine every local minimum of the grid (near the threshold the two candidates, s → 0
        // and s₊, have nearly equal values), keep the smallest.
        let mut v = vals[0];
        for i in 1..n {
            if vals[i] <= vals[i - 1] && vals[i] <= vals[i + 1] {
                let u = lo + step * i as f64;
                let (_, m) = crate::engine::bounds::golden_section(|x| g.value(x.exp()), u - step, u + step);
                v = v.min(m);
            }
        }
        v - g0
    };
    // gap > 0 for σ slightly above `exists`... and < 0 for large σ.
    let mut lo = exists;
    let mut hi = 2.0 * exists + 1.0;
    while gap(hi) >= 0.0 {
        hi *= 2.0;
    }
    if gap(lo) < 0.0 {
        lo = 0.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if gap(mid) >= 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Thresholds { exists, beats_zero: 0.5 * (lo + hi) }
}

// ---------------------------------------------------------------------------------------------
// Ranks and the Schatten quasi-norm
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Factorisations and gauge moves
// ---------------------------------------------------------------------------------------------

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
            linalg::symmetrize(&mut d);
            d
        })
        .collect()
}

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
    linalg::symmetrize(&mut hz);
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

// ---------------------------------------------------------------------------------------------
// Targets and initialisations
// ---------------------------------------------------------------------------------------------

/// A target Y = U diag(σ) Vᵀ (d_out × d_in) with Haar-random orthonormal U, V; returns (Y, U, V).
pub fn target_with_spectrum(
    d_out: usize,
    d_in: usize,
    sigma: &[f64],
    rng: &mut Rng,
) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let r = sigma.len();
    let u = orthonormal_columns(d_out, r, rng);
    let v = orthonormal_columns(d_in, r, rng);
    let y = Mat::from_fn(d_out, d_in, |i, j| (0..r).map(|m| u[(i, m)] * sigma[m] * v[(j, m)]).sum());
    (y, u, v)
}

/// NTK-scaled ("fan-in") Gaussian initialisation: entries of W_ℓ ~ N(0, 1/cols_ℓ) (1/d_in for
/// W_1, 1/w for the others), so that the neural tangent kernel has mean κ·id with
/// κ = 1 + (L−1)w/d_in (see [`ntk_scale`]).
pub fn ntk_init(problem: &Problem, rng: &mut Rng) -> Vec<f64> {
    let model = &problem.model;
    let mut theta = vec![0.0; model.num_params()];
    for (k, layer) in model.layers().iter().enumerate() {
        if let Some(range) = model.param_range(k) {
            let std = 1.0 / (layer.cols as f64).sqrt();
            for t in &mut theta[range] {
                *t = std * rng::normal(rng);
            }
        }
    }
    theta
}

/// κ = E[Θ]/id for [`ntk_init`] on Dln::deep(d_in, w, ·, L): the term of layer ℓ is
/// E[a_ℓa_ℓᵀ] ⊗ E[B_ℓᵀB_ℓ] = I ⊗ (w/d_in)I for ℓ ≥ 2 and I ⊗ I for ℓ = 1.
/// The infinite-width dynamics are dA/dτ = −∇C(A) in the time τ = κt.
pub fn ntk_scale(d_in: usize, width: usize, depth: usize) -> f64 {
    1.0 + (depth as f64 - 1.0) * width as f64 / d_in as f64
}

/// The end-to-end trajectory of the infinite-width linear model dA/dτ = −P_Ω(A − Y) (the
/// kernel κ·id in time τ = κt): A(τ) = A(0) + (1 − e^{−τ})P_Ω(Y − A(0)); unobserved entries
/// (mask 0) never move. `mask` = None for denoising (all entries observed).
pub fn linear_model(
    a0: MatRef<'_, f64>,
    target: MatRef<'_, f64>,
    mask: Option<MatRef<'_, f64>>,
    tau: f64,
) -> Mat<f64> {
    let f = 1.0 - (-tau).exp();
    Mat::from_fn(a0.nrows(), a0.ncols(), |i, j| {
        let m = mask.map_or(1.0, |m| m[(i, j)]);
        a0[(i, j)] + f * m * (target[(i, j)] - a0[(i, j)])
    })
}

// ---------------------------------------------------------------------------------------------
// Gradient-flow snapshots, staircases, plateaus and escape times
// ---------------------------------------------------------------------------------------------

/// θ(t) at one time of a gradient flow.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub t: f64,
    pub theta: Vec<f64>,
    pub loss: f64,
}

/// θ(t) along the gradient flow of `problem` at the given ascending times (t > 0), by chained
/// runs of [`train::gradient_flow`] each ending exactly at the next time (tolerance `tol`).
/// The first snapshot is t = 0. `stop` is called on every snapshot; returning true ends the
/// run there. Cost: the flow itself plus a few extra field evaluations per snapshot.
pub fn flow_snapshots(
    problem: &Problem,
    theta0: &[f64],
    times: &[f64],
    tol: f64,
    mut stop: impl FnMut(&Snapshot) -> bool,
) -> Result<Vec<Snapshot>, LowRankError> {
    let first = Snapshot { t: 0.0, theta: theta0.to_vec(), loss: problem.loss(theta0) };
    let mut out = vec![first];
    if stop(&out[0]) {
        return Ok(out);
    }
    for &t in times {
        let last = out.last().unwrap();
        if t <= last.t {
            continue;
        }
        let res = train::gradient_flow(problem, &last.theta, &GfOptions::new(t - last.t, tol));
        match res.outcome {
            Outcome::Diverged => return Err(LowRankError::Diverged(last.t + res.time)),
            _ if (res.time - (t - last.t)).abs() > 1e-9 * t => {
                return Err(LowRankError::Invalid(format!(
                    "gradient flow exhausted its step budget before t = {t}"
                )));
            }
            _ => {}
        }
        let snap = Snapshot { t, theta: res.theta, loss: res.last.loss };
        let done = stop(&snap);
        out.push(snap);
        if done {
            break;
        }
    }
    Ok(out)
}

/// A geometric time grid t_first·growth^j up to t_max (inclusive of the first point above it).
pub fn geometric_times(t_first: f64, growth: f64, t_max: f64) -> Vec<f64> {
    assert!(t_first > 0.0 && growth > 1.0);
    let mut v = vec![t_first];
    while *v.last().unwrap() < t_max {
        let next = v.last().unwrap() * growth;
        v.push(next);
    }
    v
}

/// Settings of [`staircase`].
#[derive(Clone, Debug)]
pub struct StaircaseOptions {
    /// First snapshot time and geometric growth factor of the grid.
    pub t_first: f64,
    pub growth: f64,
    /// Give up after this time.
    pub t_max: f64,
    /// Gradient-flow tolerance.
    pub tol: f64,
    /// A singular value of A counts towards the rank when above this (absolute) threshold.
    pub rank_threshold: f64,
    /// Stop once the loss is at most this (and the rank has stopped changing).
    pub stop_loss: f64,
    /// Refine an interval where the rank jumps by more than one: split it in 8, recursively,
    /// at most this many times.
    pub max_refine: usize,
}

/// Loss, singular values of A and numerical rank along a gradient flow.
#[derive(Clone, Debug, Default)]
pub struct Staircase {
    pub times: Vec<f64>,
    pub loss: Vec<f64>,
    /// Singular values of A(t), descending.
    pub singular_values: Vec<Vec<f64>>,
    pub rank: Vec<usize>,
    /// The end-to-end maps A(t).
    pub maps: Vec<Mat<f64>>,
    /// Whether the loss reached `stop_loss` before `t_max`.
    pub reached: bool,
}

impl Staircase {
    fn push(&mut self, problem: &Problem, s: &Snapshot, threshold: f64) {
        let a = problem.model.end_to_end(&s.theta);
        let sv = singular_values(a.as_ref());
        self.times.push(s.t);
        self.loss.push(s.loss);
        self.rank.push(rank_above(&sv, threshold));
        self.singular_values.push(sv);
        self.maps.push(a);
    }

    /// The successive changes of the rank (e.g. [1, 1, 1] for 0 → 1 → 2 → 3).
    pub fn rank_changes(&self) -> Vec<i64> {
        self.rank.windows(2).filter(|w| w[0] != w[1]).map(|w| w[1] as i64 - w[0] as i64).collect()
    }

    /// The first time σ_k(A) exceeds `threshold` (k = 1..=count), interpolating log σ_k linearly
    /// in t between snapshots; None if it never does.
    pub fn escape_times(&self, count: usize, threshold: f64) -> Vec<Option<f64>> {
        (0..count)
            .map(|k| {
                self.first_crossing(|j| self.singular_values[j].get(k).copied().unwrap_or(0.0), threshold)
            })
            .collect()
    }

    /// The first time the target's mode i is learned: u_iᵀA(t)v_i exceeds `threshold` (columns
    /// of u, v are the target's singular vectors), interpolated as in [`Staircase::escape_times`].
    /// Unlike σ_k(A), this says *which* mode escaped.
    pub fn mode_escape_times(
        &self,
        u: MatRef<'_, f64>,
        v: MatRef<'_, f64>,
        threshold: f64,
    ) -> Vec<Option<f64>> {
        (0..u.ncols())
            .map(|i| {
                let proj = |j: usize| {
                    let a = &self.maps[j];
                    let mut s = 0.0;
                    for r in 0..a.nrows() {
                        for c in 0..a.ncols() {
                            s += u[(r, i)] * a[(r, c)] * v[(c, i)];
                        }
                    }
                    s
                };
                self.first_crossing(proj, threshold)
            })
            .collect()
    }

    fn first_crossing(&self, value: impl Fn(usize) -> f64, threshold: f64) -> Option<f64> {
        (0..self.times.len()).find(|&j| value(j) > threshold).map(|j| {
            if j == 0 {
                return 0.0;
            }
            let (s0, s1) = (value(j - 1).max(1e-300).ln(), value(j).ln());
            let (t0, t1) = (self.times[j - 1], self.times[j]);
            t0 + (t1 - t0) * (threshold.ln() - s0) / (s1 - s0)
        })
    }
}

/// Loss and rank of A along the gradient flow from θ_0, on a geometric time grid, until the loss
/// reaches `stop_loss` (then on to twice that time, to see the rank settle) or `t_max`.
/// Intervals where the rank jumps by more than one are re-integrated on a finer grid.
pub fn staircase(
    problem: &Problem,
    theta0: &[f64],
    opts: &StaircaseOptions,
) -> Result<Staircase, LowRankError> {
    let grid = geometric_times(opts.t_first, opts.growth, opts.t_max);
    let mut reached_at: Option<f64> = None;
    let snaps = flow_snapshots(problem, theta0, &grid, opts.tol, |s| {
        if reached_at.is_none() && s.loss <= opts.stop_loss {
            reached_at = Some(s.t);
        }
        reached_at.is_some_and(|t0| s.t >= 2.0 * t0.max(opts.t_first))
    })?;
    let mut st = Staircase { reached: reached_at.is_some(), ..Default::default() };
    st.push(problem, &snaps[0], opts.rank_threshold);
    for pair in snaps.windows(2) {
        refine(problem, &pair[0], &pair[1], opts, opts.max_refine, &mut st)?;
    }
    Ok(st)
}

/// Appends the snapshots in (left, right], refining where the rank jumps by more than one.
fn refine(
    problem: &Problem,
    left: &Snapshot,
    right: &Snapshot,
    opts: &StaircaseOptions,
    depth: usize,
    st: &mut Staircase,
) -> Result<(), LowRankError> {
    let rank_of = |s: &Snapshot| {
        let a = problem.model.end_to_end(&s.theta);
        rank_above(&singular_values(a.as_ref()), opts.rank_threshold)
    };
    let jump = (rank_of(right) as i64 - rank_of(left) as i64).abs();
    if jump <= 1 || depth == 0 {
        st.push(problem, right, opts.rank_threshold);
        return Ok(());
    }
    let n = 8;
    let times: Vec<f64> = (1..n).map(|i| left.t + (right.t - left.t) * i as f64 / n as f64).collect();
    let inner = flow_snapshots(problem, &left.theta, &shifted(&times, left.t), opts.tol, |_| false)?;
    // Re-time the inner snapshots (flow_snapshots starts its clock at 0).
    let mut chain: Vec<Snapshot> = vec![left.clone()];
    chain.extend(inner.into_iter().skip(1).map(|mut s| {
        s.t += left.t;
        s
    }));
    chain.push(right.clone());
    for pair in chain.windows(2) {
        refine(problem, &pair[0], &pair[1], opts, depth - 1, st)?;
    }
    Ok(())
}

fn shifted(times: &[f64], t0: f64) -> Vec<f64> {
    times.iter().map(|t| t - t0).collect()
}

/// A noiseless denoising instance for small-initialisation dynamics: the problem
/// ½‖A − Y‖²_F on Dln::deep(dim, width, dim, depth) with Y = U diag(σ) Vᵀ ([`target_with_spectrum`],
/// drawn from the seed's `Data` stream), and a fixed standard Gaussian direction Z (the seed's
/// `Init` stream): the initialisation at scale ε is θ_0 = εZ, so runs at different ε differ only
/// in scale.
pub struct DenoisingInstance {
    pub problem: Problem,
    pub direction: Vec<f64>,
    /// Singular vectors of Y (columns), in the order of σ.
    pub u: Mat<f64>,
    pub v: Mat<f64>,
}

pub fn denoising_instance(
    dim: usize,
    width: usize,
    depth: usize,
    sigma: &[f64],
    seed: u64,
) -> DenoisingInstance {
    let mut data = rng::stream_rng(seed, rng::Stream::Data);
    let (y, u, v) = target_with_spectrum(dim, dim, sigma, &mut data);
    let problem = Problem::new(
        crate::engine::model::Dln::deep(dim, width, dim, depth),
        crate::engine::objective::Objective::Matrix { target: y },
    )
    .expect("square shapes match");
    let direction = rng::normals(&mut rng::stream_rng(seed, rng::Stream::Init), problem.num_params());
    DenoisingInstance { problem, direction, u, v }
}

/// σ_k = σ_max·ratio^{−(k−1)}, k = 1..rank.
pub fn geometric_spectrum(sigma_max: f64, ratio: f64, rank: usize) -> Vec<f64> {
    (0..rank).map(|k| sigma_max * ratio.powi(-(k as i32))).collect()
}

/// A loss plateau: a stretch [start, end] of a trajectory where the loss stays within a relative
/// band of its level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    pub start: f64,
    pub end: f64,
    /// The geometric mean of the extreme losses on the stretch.
    pub level: f64,
}

/// Plateaus of a sampled loss curve: maximal runs of consecutive samples whose max/min loss ratio
/// is at most 1 + `rel_band`, lasting at least `min_duration` and with end ≥ `min_ratio`·start
/// (long in both linear and log time, so that the start of any smooth curve does not count),
/// scanned greedily from the left. Samples with loss ≤ `floor` are never part of a plateau (the
/// converged tail). Cost O(n) per plateau found.
pub fn detect_plateaus(
    times: &[f64],
    losses: &[f64],
    rel_band: f64,
    min_duration: f64,
    min_ratio: f64,
    floor: f64,
) -> Vec<Plateau> {
    let n = times.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if losses[i] <= floor {
            i += 1;
            continue;
        }
        let (mut lo, mut hi) = (losses[i], losses[i]);
        let mut j = i;
        while j + 1 < n {
            let v = losses[j + 1];
            let (nlo, nhi) = (lo.min(v), hi.max(v));
            if v <= floor || nhi > (1.0 + rel_band) * nlo {
                break;
            }
            lo = nlo;
            hi = nhi;
            j += 1;
        }
        let long = j > i && times[j] - times[i] >= min_duration && times[j] >= min_ratio * times[i];
        if long {
            out.push(Plateau { start: times[i], end: times[j], level: (lo * hi).sqrt() });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The plateau levels of noiseless denoising from small initialisation when the modes are
/// learned largest first: ½Σ_{i>k}σ_i², k = 0..r (σ descending).
pub fn plateau_levels(sigma: &[f64]) -> Vec<f64> {
    (0..=sigma.len()).map(|k| 0.5 * sigma[k..].iter().map(|s| s * s).sum::<f64>()).collect()
}

/// An ordinary least-squares line y = intercept + slope·x, with a two-sided Student-t
/// confidence interval for the slope (n − 2 degrees of freedom) and R².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    pub slope_lo: f64,
    pub slope_hi: f64,
    pub r2: f64,
    pub n: usize,
}

/// Least-squares fit with a `confidence` (e.g. 0.95) interval for the slope:
/// slope ± t_{(1+c)/2, n−2}·√(SSE/(n−2)/Sxx). Needs n ≥ 3 distinct x. Cost O(n).
pub fn linear_fit(x: &[f64], y: &[f64], confidence: f64) -> LinearFit {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = x.len();
    assert!(n >= 3 && y.len() == n, "a fit with an interval needs n ≥ 3 points");
    let nf = n as f64;
    let mx = x.iter().sum::<f64>() / nf;
    let my = y.iter().sum::<f64>() / nf;
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = x.iter().zip(y).map(|(a, b)| (b - intercept - slope * a).powi(2)).sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let t = StudentsT::new(0.0, 1.0, nf - 2.0).expect("valid Student-t").inverse_cdf(0.5 + 0.5 * confidence);
    LinearFit {
        slope,
        intercept,
        slope_lo: slope - t * se,
        slope_hi: slope + t * se,
        r2: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        n,
    }
}

// ---------------------------------------------------------------------------------------------
// Figure data (for `dlncheck figures`; pure functions returning plain structs)
// ---------------------------------------------------------------------------------------------

/// The instance behind the figures: Y (5 × 5) of rank 3 with σ = (4, 2, 1), width 6, seed's
/// direction Z ([`denoising_instance`]); rank = singular values above 0.1·σ_3.
pub const FIGURE_SIGMA: [f64; 3] = [4.0, 2.0, 1.0];
pub const FIGURE_DIM: usize = 5;
pub const FIGURE_WIDTH: usize = 6;

/// The [`staircase`] settings of the figures: snapshots from t = 10⁻² on a geometric grid of
/// factor 1.03 (to t_max = 10⁵), rank threshold 0.1·σ_min, stop once the loss is
/// ≤ 10⁻³·½σ_min² (σ descending).
pub fn figure_options(sigma: &[f64]) -> StaircaseOptions {
    let smin = sigma[sigma.len() - 1];
    StaircaseOptions {
        t_first: 1e-2,
        growth: 1.03,
        t_max: 1e5,
        tol: 1e-10,
        rank_threshold: 0.1 * smin,
        stop_loss: 1e-3 * 0.5 * smin * smin,
        max_refine: 4,
    }
}

/// Loss and numerical rank of A along one gradient flow.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrajectoryData {
    /// Initialisation scale (θ_0 = εZ).
    pub eps: f64,
    pub times: Vec<f64>,
    pub loss: Vec<f64>,
    pub rank: Vec<usize>,
}

/// Data of the saddle-to-saddle staircase figure (jgshg.saddle_to_saddle): loss and rank vs time
/// (log time axis) from a small and a large initialisation, with the plateau levels
/// ½Σ_{i>k}σ_i² as horizontal lines.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StaircaseFigure {
    pub depth: usize,
    pub sigma: Vec<f64>,
    pub plateau_levels: Vec<f64>,
    pub small: TrajectoryData,
    pub large: TrajectoryData,
}

/// Feeds the staircase figure: the [`FIGURE_SIGMA`] instance at depth L from θ_0 = ε_small·Z
/// (e.g. 10⁻⁶ for L = 2, 10⁻² for L = 3) and ε_large·Z (e.g. 0.5 ≳ 1/√6). Cost: two gradient
/// flows, well under a second.
pub fn staircase_figure(
    depth: usize,
    eps_small: f64,
    eps_large: f64,
    seed: u64,
) -> Result<StaircaseFigure, LowRankError> {
    let sigma = FIGURE_SIGMA.to_vec();
    let inst = denoising_instance(FIGURE_DIM, FIGURE_WIDTH, depth, &sigma, seed);
    let opts = figure_options(&sigma);
    let traj = |eps: f64| -> Result<TrajectoryData, LowRankError> {
        let theta0: Vec<f64> = inst.direction.iter().map(|x| eps * x).collect();
        let st = staircase(&inst.problem, &theta0, &opts)?;
        Ok(TrajectoryData { eps, times: st.times, loss: st.loss, rank: st.rank })
    };
    Ok(StaircaseFigure {
        depth,
        plateau_levels: plateau_levels(&sigma),
        small: traj(eps_small)?,
        large: traj(eps_large)?,
        sigma,
    })
}

/// The ε range of the escape-time fits (as in properties/jgshg.saddle_to_saddle.yaml):
/// 10⁻⁶..10⁻⁹ for L = 2, and ε^{L−2} from 5·10⁻⁴ down to 5·10⁻⁵ for L ≥ 3 (escape times up to
/// ~2·10⁴ time units). Larger ε is pre-asymptotic for L ≥ 3: two modes can escape together.
pub fn escape_eps_range(depth: usize) -> (f64, f64) {
    if depth == 2 {
        (1e-6, 1e-9)
    } else {
        let p = 1.0 / (depth as f64 - 2.0);
        (5e-4f64.powf(p), 5e-5f64.powf(p))
    }
}

/// Escape times of every target mode at one depth, for several ε.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EscapeSeries {
    pub depth: usize,
    pub sigma: Vec<f64>,
    /// The scales, descending.
    pub eps: Vec<f64>,
    /// escape_times[j][i]: mode i at eps[j] (u_iᵀAv_i crossing 0.1·σ_min); None if the run did
    /// not learn it within the time budget.
    pub escape_times: Vec<Vec<Option<f64>>>,
}

/// Feeds the escape-time figure: escape time vs ε per depth (log–log axes for L ≥ 3, where the
/// slope is −(L−2); t against log(1/ε) for L = 2, slope 1/σ_i), `n_eps` ≥ 2 scales over
/// [`escape_eps_range`] on the [`FIGURE_SIGMA`] instance. Cost: n_eps gradient flows per depth,
/// about 0.1–1 s each for L ≤ 4.
pub fn escape_time_figure(
    depths: &[usize],
    n_eps: usize,
    seed: u64,
) -> Result<Vec<EscapeSeries>, LowRankError> {
    assert!(n_eps >= 2);
    let sigma = FIGURE_SIGMA.to_vec();
    let opts = figure_options(&sigma);
    depths
        .iter()
        .map(|&depth| {
            let inst = denoising_instance(FIGURE_DIM, FIGURE_WIDTH, depth, &sigma, seed);
            let (hi, lo) = escape_eps_range(depth);
            let eps: Vec<f64> =
                (0..n_eps).map(|i| hi * (lo / hi).powf(i as f64 / (n_eps - 1) as f64)).collect();
            let escape_times = eps
                .iter()
                .map(|&e| {
                    let theta0: Vec<f64> = inst.direction.iter().map(|x| e * x).collect();
                    let st = staircase(&inst.problem, &theta0, &opts)?;
                    Ok(st.mode_escape_times(inst.u.as_ref(), inst.v.as_ref(), opts.rank_threshold))
                })
                .collect::<Result<Vec<_>, LowRankError>>()?;
            Ok(EscapeSeries { depth, sigma: sigma.clone(), eps, escape_times })
        })
        .collect()
}
