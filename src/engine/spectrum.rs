//! Extreme eigenvalues of the loss Hessian.
//!
//! - Exact: faer's self-adjoint eigenvalue solver on the dense Hessian
//!   ([`crate::engine::hessian::dense_hessian`], O(P³)), or, for univariate networks, on the exact
//!   m × m reduction ([`crate::engine::hessian::ReducedOperator`], m ≈ 2Ld, O(m³)); the default up to
//!   [`SpectrumOptions::exact_max_params`] parameters.
//! - Lanczos on Hessian-vector products with full re-orthogonalisation (classical Gram–Schmidt,
//!   applied twice), O(m·HVP + m²P) for m iterations. A Ritz value is accepted when its residual
//!   ‖Hx − θx‖ = |β_m s_m| is at most `tol`·max|θ|; for a symmetric matrix some eigenvalue then
//!   lies within that distance of θ.
//! - The authors' estimator (power iteration, largest *magnitude*), for comparison only.
//!
//! Sharpness is the largest *algebraic* eigenvalue; near saddles it differs from the largest
//! magnitude.

use crate::engine::hessian;
use crate::engine::linalg::{self, dot, norm};
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// How an eigenvalue was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Exact,
    Lanczos,
}

/// Method selection and tolerances.
#[derive(Clone, Debug)]
pub struct SpectrumOptions {
    /// `None`: exact up to `exact_max_params`, Lanczos beyond.
    pub method: Option<Method>,
    pub exact_max_params: usize,
    /// Relative residual tolerance of Lanczos Ritz values.
    pub tol: f64,
    pub max_iter: usize,
    /// Seed of the Lanczos start vector.
    pub seed: u64,
    /// Whether Lanczos must converge λ_min ([`Bottom::Required`]) or tries
    /// ([`Bottom::BestEffort`], then [`Extremes::min_is_upper_bound`] says if it did not).
    pub bottom: Bottom,
}

impl Default for SpectrumOptions {
    fn default() -> Self {
        SpectrumOptions {
            method: None,
            exact_max_params: 4000,
            tol: 1e-10,
            max_iter: 500,
            seed: 0,
            bottom: Bottom::Required,
        }
    }
}

impl SpectrumOptions {
    pub fn choose(&self, num_params: usize) -> Method {
        self.method.unwrap_or(if num_params <= self.exact_max_params {
            Method::Exact
        } else {
            Method::Lanczos
        })
    }
}

/// Lanczos did not reach the tolerance.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("Lanczos did not converge in {iterations} iterations (relative residual {residual:.3e} > {tol:.1e})")]
pub struct NotConverged {
    pub iterations: usize,
    pub residual: f64,
    pub tol: f64,
}

/// Why a Hessian spectrum could not be computed (a numerical failure, exit code 3).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpectrumError {
    #[error(transparent)]
    NotConverged(#[from] NotConverged),
    /// A dense eigen-decomposition failed (e.g. an entry overflowed f64).
    #[error("Hessian eigenvalues: {0}")]
    Eigen(#[from] linalg::EigenError),
}

/// Largest and smallest Hessian eigenvalues.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Extremes {
    /// Sharpness S = λ_max(∇²ℓ).
    pub max: f64,
    pub min: f64,
    pub method: Method,
    /// Lanczos iterations (0 for exact).
    pub iterations: usize,
    /// True when `min` is only the smallest Ritz value of a Lanczos run that did not converge
    /// it ([`Bottom::BestEffort`]): then λ_min ≤ `min` (Cauchy interlacing), not λ_min = `min`.
    #[serde(skip)]
    pub min_is_upper_bound: bool,
}

/// The top `k` eigenvalues (descending; all P of them when k ≥ P) and the extremes (`k = 1`
/// for the extremes only). On the reduced form (m < P) the P − m eigenvalues known to be λ
/// (the L2 coefficient) join the m computed ones.
pub fn hessian_top(
    problem: &Problem,
    theta: &[f64],
    k: usize,
    opts: &SpectrumOptions,
) -> Result<(Vec<f64>, Extremes), SpectrumError> {
    let p = problem.num_params();
    // Univariate networks: the exact spectrum costs an m × m eigen-decomposition (m ≈ 2Ld, the
    // reduced form), not P × P, so it is exact whenever m fits, however large P is (Lanczos on
    // the reduced operator may not converge λ_min in max_iter < m steps).
    // (When m does not fit, `choose` gives Lanczos, since then P > exact_max_params too.)
    let reduced = if opts.method.is_none() && p > opts.exact_max_params {
        hessian::ReducedOperator::new(problem, theta)
    } else {
        None
    };
    let method = match &reduced {
        Some(op) if op.dim() <= opts.exact_max_params => Method::Exact,
        _ => opts.choose(p),
    };
    match method {
        Method::Exact => {
            let vals = match reduced {
                Some(mut op) => op.try_eigenvalues()?,
                None => try_exact_eigenvalues(problem, theta)?,
            };
            let top: Vec<f64> = vals.iter().rev().take(k).copied().collect();
            let ext = Extremes {
                max: vals[p - 1],
                min: vals[0],
                method: Method::Exact,
                iterations: 0,
                min_is_upper_bound: false,
            };
            Ok((top, ext))
        }
        Method::Lanczos => {
            // Univariate networks: Lanczos on the exact m-dimensional reduction (the other
            // P − m eigenvalues are λ); otherwise on Hessian-vector products in R^P.
            let (res, zeros, shift) = match reduced.or_else(|| hessian::ReducedOperator::new(problem, theta))
            {
                Some(mut op) => {
                    let (m, zeros, shift) = (op.dim(), op.zeros(), op.shift());
                    (lanczos(m, |v, out| op.apply(v, out), k.min(m), opts.bottom, opts)?, zeros, shift)
                }
                None => {
                    let mut ws = problem.workspace();
                    let mut pt = problem.at(&mut ws, theta);
                    (lanczos(p, |v, out| pt.hvp(v, out), k.min(p), opts.bottom, opts)?, 0, 0.0)
                }
            };
            let (mut ritz, iterations) = (res.ritz, res.iterations);
            if zeros > 0 {
                ritz.extend(std::iter::repeat_n(0.0, zeros.min(k)));
                ritz.sort_by(f64::total_cmp);
            }
            ritz.iter_mut().for_each(|v| *v += shift);
            let top: Vec<f64> = ritz.iter().rev().take(k).copied().collect();
            let ext = Extremes {
                max: *ritz.last().unwrap(),
                min: ritz[0],
                method: Method::Lanczos,
                iterations,
                min_is_upper_bound: !res.bottom_converged,
            };
            Ok((top, ext))
        }
    }
}

/// All P eigenvalues of ∇²ℓ(θ), ascending: from the reduced m × m form for univariate networks
/// when m < P ([`hessian::ReducedOperator`]), from the dense Hessian otherwise.
pub fn try_exact_eigenvalues(problem: &Problem, theta: &[f64]) -> Result<Vec<f64>, linalg::EigenError> {
    match hessian::ReducedOperator::new(problem, theta) {
        Some(mut r) => r.try_eigenvalues(),
        None => linalg::try_sym_eigenvalues(hessian::dense_hessian(problem, theta).as_ref()),
    }
}

/// Sharpness and smallest eigenvalue of ∇²ℓ(θ).
pub fn hessian_extremes(
    problem: &Problem,
    theta: &[f64],
    opts: &SpectrumOptions,
) -> Result<Extremes, SpectrumError> {
    hessian_top(problem, theta, 1, opts).map(|(_, e)| e)
}

/// Sharpness S(θ) = λ_max(∇²ℓ(θ)).
pub fn sharpness(problem: &Problem, theta: &[f64], opts: &SpectrumOptions) -> Result<f64, SpectrumError> {
    hessian_extremes(problem, theta, opts).map(|e| e.max)
}

/// Result of a Lanczos run.
#[derive(Clone, Debug)]
pub struct LanczosResult {
    /// Ritz values, ascending.
    pub ritz: Vec<f64>,
    /// Residual norms ‖Hx − θx‖ of the Ritz pairs, same order.
    pub residuals: Vec<f64>,
    pub iterations: usize,
    /// Whether the smallest Ritz value met the tolerance (always true for [`Bottom::Required`];
    /// for [`Bottom::BestEffort`] it may not, and then `ritz[0]` is only an upper bound of λ_min).
    pub bottom_converged: bool,
}

/// What Lanczos must converge at the bottom of the spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bottom {
    /// Only the top `k` Ritz values.
    Skip,
    /// The smallest Ritz value too (else [`NotConverged`]).
    Required,
    /// The smallest too if it converges within [`BEST_EFFORT_FACTOR`] times the iterations the
    /// top needed (at least [`BEST_EFFORT_MIN`]); else the run ends with `bottom_converged` false.
    /// The smallest eigenvalue of a large Hessian often sits in a dense cluster (e.g. −‖∇_wℓ‖ +
    /// O(gap) for a two-layer network far from a minimiser), where Lanczos converges slowly.
    BestEffort,
}

/// [`Bottom::BestEffort`]: the bottom gets this many times the top's iterations…
pub const BEST_EFFORT_FACTOR: usize = 2;
/// …and at least this many.
pub const BEST_EFFORT_MIN: usize = 100;

/// Lanczos with full re-orthogonalisation for the symmetric operator `op` on R^n. Converges
/// the `k` largest Ritz values (and the smallest, as `bottom` says). Deterministic for a seed.
pub fn lanczos<F: FnMut(&[f64], &mut [f64])>(
    n: usize,
    mut op: F,
    k: usize,
    bottom: Bottom,
    opts: &SpectrumOptions,
) -> Result<LanczosResult, SpectrumError> {
    assert!(n > 0 && k > 0);
    let mut top_converged_at: Option<usize> = None;
    let max_iter = opts.max_iter.min(n);
    let mut rng = stream_rng(opts.seed, Stream::Lanczos);
    // Basis vectors stored contiguously (column j = q_j), so that re-orthogonalisation is two
    // matrix-vector products reading the basis once each.
    let mut basis: Vec<f64> = Vec::with_capacity(n * (max_iter + 1).min(64));
    let mut v = crate::engine::rng::normals(&mut rng, n);
    normalize(&mut v);
    basis.extend_from_slice(&v);
    let (mut alpha, mut beta) = (Vec::<f64>::new(), Vec::<f64>::new());
    let mut w = vec![0.0; n];
    let mut last_residual = f64::INFINITY;
    for j in 0..max_iter {
        op(&basis[j * n..(j + 1) * n], &mut w);
        let a = dot(&basis[j * n..(j + 1) * n], &w);
        alpha.push(a);
        orthogonalize(&mut w, &basis, n);
        orthogonalize(&mut w, &basis, n);
        let b = norm(&w);
        let m = j + 1;
        let check = m >= k && (m < 40 || m % 4 == 0 || m == max_iter);
        if check || b == 0.0 {
            let (theta, s_last) = tridiagonal_eigen(&alpha, &beta)?;
            let scale = theta.iter().fold(0.0f64, |acc, t| acc.max(t.abs())).max(f64::MIN_POSITIVE);
            let residuals: Vec<f64> = s_last.iter().map(|s| (b * s).abs()).collect();
            let top = (m.saturating_sub(k)..m).map(|i| residuals[i]).fold(0.0f64, f64::max) / scale;
            let low = residuals[0] / scale;
            let (top_ok, low_ok) = (top <= opts.tol || m == n, low <= opts.tol || m == n);
            last_residual = match bottom {
                Bottom::Skip => top,
                _ => top.max(low),
            };
            if top_ok && top_converged_at.is_none() {
                top_converged_at = Some(m);
            }
            let done = match bottom {
                Bottom::Skip => top_ok,
                Bottom::Required => top_ok && low_ok,
                Bottom::BestEffort => {
                    top_ok
                        && (low_ok
                            || m >= (BEST_EFFORT_FACTOR * top_converged_at.unwrap_or(m)).max(BEST_EFFORT_MIN)
                            || m == max_iter)
                }
            };
            if done {
                let bottom_converged = bottom == Bottom::Skip || low_ok;
                return Ok(LanczosResult { ritz: theta, residuals, iterations: m, bottom_converged });
            }
        }
        beta.push(b);
        if b <= 1e-14 * alpha.iter().fold(0.0f64, |acc, x| acc.max(x.abs())) {
            // Breakdown: the Krylov space is invariant; continue in its orthogonal complement.
            *beta.last_mut().unwrap() = 0.0;
            w = crate::engine::rng::normals(&mut rng, n);
            orthogonalize(&mut w, &basis, n);
            orthogonalize(&mut w, &basis, n);
            normalize(&mut w);
        } else {
            w.iter_mut().for_each(|x| *x /= b);
        }
        basis.extend_from_slice(&w);
    }
    Err(NotConverged { iterations: max_iter, residual: last_residual, tol: opts.tol }.into())
}

fn normalize(v: &mut [f64]) {
    let nv = norm(v);
    v.iter_mut().for_each(|x| *x /= nv);
}

/// v ← v − Q(Qᵀv) for the basis Q stored column after column (classical Gram–Schmidt).
fn orthogonalize(v: &mut [f64], basis: &[f64], n: usize) {
    let j = basis.len() / n;
    let q = MatRef::from_column_major_slice(basis, n, j);
    let mut h = Mat::<f64>::zeros(j, 1);
    matmul(
        h.as_mut(),
        Accum::Replace,
        q.transpose(),
        MatRef::from_column_major_slice(v, n, 1),
        1.0,
        Par::Seq,
    );
    matmul(MatMut::from_column_major_slice_mut(v, n, 1), Accum::Add, q, h.as_ref(), -1.0, Par::Seq);
}

/// Eigenvalues (ascending) of the symmetric tridiagonal matrix (alpha, beta) and the last
/// component of each unit eigenvector.
fn tridiagonal_eigen(alpha: &[f64], beta: &[f64]) -> Result<(Vec<f64>, Vec<f64>), linalg::EigenError> {
    let m = alpha.len();
    let t = linalg::tridiagonal(alpha, beta);
    let (vals, vecs) = linalg::try_sym_eigen(t.as_ref())?;
    let last = (0..m).map(|i| vecs[(m - 1, i)]).collect();
    Ok((vals, last))
}

/// The authors' sharpness estimator, step for step (their `largest_eigenvalue`): v_0 a unit
/// Gaussian vector, v_{k+1} = Hv_k/‖Hv_k‖, and the value returned is ‖Hv_{iters−2}‖, the norm of
/// the second-to-last of `iters` Hessian-vector products. It converges to the eigenvalue of
/// largest *magnitude* and is never negative: near saddles it reports |λ_min|, not the sharpness.
pub fn power_iteration(problem: &Problem, theta: &[f64], iters: usize, seed: u64) -> f64 {
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, theta);
    power_iteration_with(problem.num_params(), |v, out| pt.hvp(v, out), iters, seed)
}

/// [`power_iteration`] on any symmetric operator `hvp` on R^p (same seed stream, same steps).
pub fn power_iteration_with(
    p: usize,
    mut hvp: impl FnMut(&[f64], &mut [f64]),
    iters: usize,
    seed: u64,
) -> f64 {
    let mut rng = stream_rng(seed, Stream::PowerIteration);
    let mut v = crate::engine::rng::normals(&mut rng, p);
    normalize(&mut v);
    let mut hv = vec![0.0; p];
    let (mut previous, mut current) = (1.0, 1.0);
    for _ in 0..iters {
        previous = current;
        hvp(&v, &mut hv);
        current = norm(&hv);
        if current == 0.0 {
            return 0.0;
        }
        for (vi, hi) in v.iter_mut().zip(&hv) {
            *vi = hi / current;
        }
    }
    previous
}
