//! Gauss and Gauss–Radau quadrature of a spectral measure by Lanczos (Golub & Meurant,
//! *Matrices, Moments and Quadrature with Applications*, 2010, ch. 6–7).
//!
//! For a symmetric operator A on R^m and a vector u, μ = Σ_i (q_iᵀu)² δ_{λ_i} (q_i, λ_i the
//! eigenpairs of A). k Lanczos steps from u give the tridiagonal T_k; its eigenvalues θ_j and the
//! first components s_j of its unit eigenvectors give the Gauss rule G_k(f) = ‖u‖²Σ_j s_j²f(θ_j),
//! exact for polynomials of degree 2k − 1. For f(x) = 1/(z − x) with z above the spectrum every
//! derivative of f is positive, so G_k(f) ≤ ∫f dμ ≤ R_k(f), where R_k is the Gauss–Radau rule
//! with one node fixed at an upper bound b of the spectrum (T_k extended by one row whose
//! diagonal entry makes b an eigenvalue). Cost: k products with A and O(k·m) per step for full
//! re-orthogonalisation.

use crate::engine::linalg::{self, EigenError, axpy, dot, norm};

/// A quadrature rule Σ_j w_j f(x_j).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

/// The Gauss rule of (A, u) after k Lanczos steps and, unless the Krylov space became invariant
/// (then Gauss is exact), the Gauss–Radau rule with a node at the given upper bound.
#[derive(Clone, Debug)]
pub struct Quadrature {
    pub gauss: Rule,
    pub radau: Option<Rule>,
    /// Lanczos steps taken (≤ the requested count: fewer on breakdown).
    pub steps: usize,
}

/// `steps` Lanczos steps on `op` from `u` (full re-orthogonalisation, deterministic), then the
/// Gauss and Gauss–Radau rules (`upper` ≥ λ_max(A) is the Radau node). u = 0 gives empty rules.
pub fn quadrature<F: FnMut(&[f64], &mut [f64])>(
    op: F,
    u: &[f64],
    steps: usize,
    upper: f64,
) -> Result<Quadrature, EigenError> {
    let mut lanczos = Lanczos::new(u)?;
    lanczos.extend(op, steps)?;
    lanczos.quadrature(upper)
}

/// A Lanczos run from a given vector that can be extended (the basis is kept).
#[derive(Clone, Debug)]
pub struct Lanczos {
    m: usize,
    unorm: f64,
    /// q_0 … q_k, column after column (q_k is the next direction unless `invariant`).
    basis: Vec<f64>,
    alpha: Vec<f64>,
    /// β_1 … β_k (β_k couples q_{k−1} to q_k; absent once `invariant`).
    beta: Vec<f64>,
    invariant: bool,
}

impl Lanczos {
    /// A run from u, no step taken yet.
    pub fn new(u: &[f64]) -> Result<Lanczos, EigenError> {
        let unorm = norm(u);
        if !unorm.is_finite() {
            return Err(EigenError("the start vector of the Lanczos quadrature is not finite".into()));
        }
        let m = u.len();
        let invariant = unorm == 0.0 || m == 0;
        let basis = if invariant { vec![] } else { u.iter().map(|x| x / unorm).collect() };
        Ok(Lanczos { m, unorm, basis, alpha: vec![], beta: vec![], invariant })
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.alpha.len()
    }

    /// Continues until `steps` steps in all (or the space is invariant).
    pub fn extend<F: FnMut(&[f64], &mut [f64])>(
        &mut self,
        mut op: F,
        steps: usize,
    ) -> Result<(), EigenError> {
        let m = self.m;
        let mut w = vec![0.0; m];
        while !self.invariant && self.alpha.len() < steps.min(m) {
            let j = self.alpha.len();
            op(&self.basis[j * m..(j + 1) * m], &mut w);
            if w.iter().any(|x| !x.is_finite()) {
                return Err(EigenError(
                    "the operator of the Lanczos quadrature returned a non-finite value".into(),
                ));
            }
            self.alpha.push(dot(&self.basis[j * m..(j + 1) * m], &w));
            for _ in 0..2 {
                for q in self.basis.chunks_exact(m) {
                    let h = dot(q, &w);
                    axpy(&mut w, -h, q);
                }
            }
            let b = norm(&w);
            let scale = self.alpha.iter().chain(&self.beta).fold(0.0f64, |acc: f64, x| acc.max(x.abs()));
            if b <= 1e-14 * scale || j + 1 == m {
                self.invariant = true;
                break;
            }
            self.beta.push(b);
            self.basis.extend(w.iter().map(|x| x / b));
        }
        Ok(())
    }

    /// The Gauss rule and, unless the space is invariant, the Gauss–Radau rule with a node at
    /// `upper`.
    pub fn quadrature(&self, upper: f64) -> Result<Quadrature, EigenError> {
        let k = self.alpha.len();
        if k == 0 {
            let empty = Rule { nodes: vec![], weights: vec![] };
            return Ok(Quadrature { gauss: empty, radau: None, steps: 0 });
        }
        let (alpha, beta) = (&self.alpha, &self.beta);
        let u2 = self.unorm * self.unorm;
        let gauss = rule(alpha, &beta[..k - 1], u2)?;
        if self.invariant {
            return Ok(Quadrature { gauss, radau: None, steps: k });
        }
        // Radau: α_{k+1} = b + δ_k, where δ_k is the last component of (T_k − bI)⁻¹β_k²e_k (T_k − bI
        // is negative definite when b exceeds every Ritz value). The right-hand side is zero but
        // for its last entry, so the Thomas algorithm's forward sweep leaves zeros until the last
        // row and δ_k = β_k²/p_k, with the pivots p_1 = α_1 − b, p_i = α_i − b − β_{i−1}(β_{i−1}/p_{i−1}).
        let bk = beta[k - 1];
        let mut pivot = alpha[0] - upper;
        for i in 1..k {
            pivot = alpha[i] - upper - beta[i - 1] * (beta[i - 1] / pivot);
        }
        let mut alpha_r = alpha.clone();
        alpha_r.push(upper + bk * bk / pivot);
        let radau = rule(&alpha_r, &beta[..k], u2)?;
        Ok(Quadrature { gauss, radau: Some(radau), steps: k })
    }
}

/// Nodes (eigenvalues of the tridiagonal (alpha, beta)) and weights u2·s_{1j}².
fn rule(alpha: &[f64], beta: &[f64], u2: f64) -> Result<Rule, EigenError> {
    let k = alpha.len();
    let t = linalg::tridiagonal(alpha, beta);
    let (nodes, vecs) = linalg::try_sym_eigen(t.as_ref())?;
    let weights = (0..k).map(|j| u2 * vecs[(0, j)].powi(2)).collect();
    Ok(Rule { nodes, weights })
}
