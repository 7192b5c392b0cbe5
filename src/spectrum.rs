//! Extreme eigenvalues of the loss Hessian.
//!
//! - Exact: the dense Hessian ([`crate::hessian::dense_hessian`]) and faer's self-adjoint
//!   eigenvalue solver, O(P³); the default up to [`SpectrumOptions::exact_max_params`].
//! - Lanczos on Hessian-vector products with full re-orthogonalisation (classical Gram–Schmidt,
//!   applied twice), O(m·HVP + m²P) for m iterations. A Ritz value is accepted when its residual
//!   ‖Hx − θx‖ = |β_m s_m| is at most `tol`·max|θ|; for a symmetric matrix some eigenvalue then
//!   lies within that distance of θ.
//! - The authors' estimator (power iteration, largest *magnitude*), for comparison only.
//!
//! Sharpness is the largest *algebraic* eigenvalue; near saddles it differs from the largest
//! magnitude.

use crate::hessian;
use crate::linalg::{self, dot, norm};
use crate::problem::Problem;
use crate::rng::{Stream, stream_rng};
use faer::Mat;
use rand_distr::StandardNormal;

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
}

impl Default for SpectrumOptions {
    fn default() -> Self {
        SpectrumOptions {
            method: None,
            exact_max_params: 4000,
            tol: 1e-10,
            max_iter: 500,
            seed: 0,
        }
    }
}

impl SpectrumOptions {
    pub fn choose(&self, num_params: usize) -> Method {
        self.method
            .unwrap_or(if num_params <= self.exact_max_params {
                Method::Exact
            } else {
                Method::Lanczos
            })
    }
}

/// Lanczos did not reach the tolerance.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "Lanczos did not converge in {iterations} iterations (relative residual {residual:.3e} > {tol:.1e})"
)]
pub struct NotConverged {
    pub iterations: usize,
    pub residual: f64,
    pub tol: f64,
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
}

/// The top `k` eigenvalues (descending) and the smallest, or only the extremes (`k = 1`).
pub fn hessian_top(
    problem: &Problem,
    theta: &[f64],
    k: usize,
    opts: &SpectrumOptions,
) -> Result<(Vec<f64>, Extremes), NotConverged> {
    let p = problem.num_params();
    match opts.choose(p) {
        Method::Exact => {
            let h = hessian::dense_hessian(problem, theta);
            let vals = linalg::sym_eigenvalues(h.as_ref());
            let top: Vec<f64> = vals.iter().rev().take(k).copied().collect();
            let ext = Extremes {
                max: vals[p - 1],
                min: vals[0],
                method: Method::Exact,
                iterations: 0,
            };
            Ok((top, ext))
        }
        Method::Lanczos => {
            let mut ws = problem.workspace();
            let mut pt = problem.at(&mut ws, theta);
            let res = lanczos(p, |v, out| pt.hvp(v, out), k, true, opts)?;
            let top: Vec<f64> = res.ritz.iter().rev().take(k).copied().collect();
            let ext = Extremes {
                max: *res.ritz.last().unwrap(),
                min: res.ritz[0],
                method: Method::Lanczos,
                iterations: res.iterations,
            };
            Ok((top, ext))
        }
    }
}

/// Sharpness and smallest eigenvalue of ∇²ℓ(θ).
pub fn hessian_extremes(
    problem: &Problem,
    theta: &[f64],
    opts: &SpectrumOptions,
) -> Result<Extremes, NotConverged> {
    hessian_top(problem, theta, 1, opts).map(|(_, e)| e)
}

/// Sharpness S(θ) = λ_max(∇²ℓ(θ)).
pub fn sharpness(
    problem: &Problem,
    theta: &[f64],
    opts: &SpectrumOptions,
) -> Result<f64, NotConverged> {
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
}

/// Lanczos with full re-orthogonalisation for the symmetric operator `op` on R^n. Converges
/// the `k` largest Ritz values (and the smallest too when `smallest`). Deterministic for a seed.
pub fn lanczos<F: FnMut(&[f64], &mut [f64])>(
    n: usize,
    mut op: F,
    k: usize,
    smallest: bool,
    opts: &SpectrumOptions,
) -> Result<LanczosResult, NotConverged> {
    assert!(n > 0 && k > 0);
    let mut rng = stream_rng(opts.seed, Stream::Lanczos);
    let mut random_unit = |basis: &[Vec<f64>]| -> Vec<f64> {
        let mut v: Vec<f64> = (0..n)
            .map(|_| rand::RngExt::sample(&mut rng, StandardNormal))
            .collect();
        orthogonalize(&mut v, basis);
        orthogonalize(&mut v, basis);
        let nv = norm(&v);
        v.iter_mut().for_each(|x| *x /= nv);
        v
    };
    let mut basis: Vec<Vec<f64>> = vec![random_unit(&[])];
    let (mut alpha, mut beta) = (Vec::<f64>::new(), Vec::<f64>::new());
    let mut w = vec![0.0; n];
    let max_iter = opts.max_iter.min(n);
    let mut last_residual = f64::INFINITY;
    for j in 0..max_iter {
        op(&basis[j], &mut w);
        let a = dot(&basis[j], &w);
        alpha.push(a);
        orthogonalize(&mut w, &basis);
        orthogonalize(&mut w, &basis);
        let b = norm(&w);
        let m = j + 1;
        let check = m >= k && (m < 40 || m % 4 == 0 || m == max_iter || m == n);
        if check || b == 0.0 {
            let (theta, s_last) = tridiagonal_eigen(&alpha, &beta);
            let scale = theta
                .iter()
                .fold(0.0f64, |acc, t| acc.max(t.abs()))
                .max(f64::MIN_POSITIVE);
            let residuals: Vec<f64> = s_last.iter().map(|s| (b * s).abs()).collect();
            let wanted: Vec<usize> = (m.saturating_sub(k)..m)
                .chain(if smallest { Some(0) } else { None })
                .collect();
            let worst = wanted.iter().map(|&i| residuals[i]).fold(0.0f64, f64::max) / scale;
            last_residual = worst;
            if worst <= opts.tol || m == n {
                return Ok(LanczosResult {
                    ritz: theta,
                    residuals,
                    iterations: m,
                });
            }
        }
        if j + 1 == max_iter {
            break;
        }
        beta.push(b);
        // Breakdown: the Krylov space is invariant; restart in its orthogonal complement.
        let next = if b <= 1e-14 * alpha.iter().fold(0.0f64, |acc, x| acc.max(x.abs())) {
            *beta.last_mut().unwrap() = 0.0;
            random_unit(&basis)
        } else {
            w.iter().map(|x| x / b).collect()
        };
        basis.push(next);
    }
    Err(NotConverged {
        iterations: max_iter,
        residual: last_residual,
        tol: opts.tol,
    })
}

/// v ← v − Q(Qᵀv) (classical Gram–Schmidt against the basis vectors).
fn orthogonalize(v: &mut [f64], basis: &[Vec<f64>]) {
    let coefs: Vec<f64> = basis.iter().map(|q| dot(q, v)).collect();
    for (q, c) in basis.iter().zip(coefs) {
        linalg::axpy(v, -c, q);
    }
}

/// Eigenvalues (ascending) of the symmetric tridiagonal matrix (alpha, beta) and the last
/// component of each unit eigenvector.
fn tridiagonal_eigen(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = alpha.len();
    let t = Mat::from_fn(m, m, |i, j| {
        if i == j {
            alpha[i]
        } else if i == j + 1 {
            beta[j]
        } else if j == i + 1 {
            beta[i]
        } else {
            0.0
        }
    });
    let (vals, vecs) = linalg::sym_eigen(t.as_ref());
    let last = (0..m).map(|i| vecs[(m - 1, i)]).collect();
    (vals, last)
}

/// The authors' estimator: `iters` steps of power iteration from a Gaussian vector, returning
/// the Rayleigh quotient vᵀHv (it converges to the eigenvalue of largest *magnitude*).
pub fn power_iteration(problem: &Problem, theta: &[f64], iters: usize, seed: u64) -> f64 {
    let p = problem.num_params();
    let mut rng = stream_rng(seed, Stream::PowerIteration);
    let mut v: Vec<f64> = (0..p)
        .map(|_| rand::RngExt::sample(&mut rng, StandardNormal))
        .collect();
    let nv = norm(&v);
    v.iter_mut().for_each(|x| *x /= nv);
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, theta);
    let mut hv = vec![0.0; p];
    for _ in 0..iters {
        pt.hvp(&v, &mut hv);
        let nh = norm(&hv);
        if nh == 0.0 {
            return 0.0;
        }
        for (vi, hi) in v.iter_mut().zip(&hv) {
            *vi = hi / nh;
        }
    }
    pt.hvp(&v, &mut hv);
    dot(&v, &hv)
}
