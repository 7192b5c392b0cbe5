//! Closed forms of Marion & Chizat's sharpness analysis (univariate regression).
//!
//! With v = Σ^{1/2}w*, ŵ = w*/‖w*‖, depth L and head norm ‖p‖ (1 for the MLP):
//! - LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L} (Theorem 1), a = w*ᵀΣw*/‖w*‖²;
//! - S_bal = 2‖w*‖^{2−2/L}‖p‖^{2/L}·λ_max(Σ + (L−1)Σ^{1/2}ŵŵᵀΣ^{1/2}) (balanced rank-one
//!   minimiser, mc.thm1.upper);
//! - S_min = 2·min_{r>0} λ_max(rΣ + (L−1)(‖p‖²/r)^{1/(L−1)}vvᵀ) (mc.smin.exact), a convex
//!   problem in log r solved by golden-section search to machine precision.
//!   L = 1: S = 2‖p‖²Λ for every minimiser.
//! - At a global minimiser ∇²R = 2JᵀΣJ, so S = 2λ_max(Σ^{1/2}KΣ^{1/2}), K = JJᵀ.

use crate::engine::hessian;
use crate::engine::krylov;
use crate::engine::linalg::{self, EigenError};
use crate::engine::objective::{Regression, Route};
use crate::engine::problem::Problem;
use faer::Mat;

/// c·Π b_i^{e_i} for b_i ≥ 0: the plain product when it is a normal finite number (so that
/// ordinary inputs give the bits they always gave), else through logarithms,
/// exp(ln c + Σ e_i ln b_i), so that a representable result is computed even when a factor
/// such as ‖w*‖^{2−2/L} alone overflows or underflows. 0 when c or a base (with e_i > 0) is 0.
pub fn power_product(c: f64, factors: &[(f64, f64)]) -> f64 {
    let direct = factors.iter().fold(c, |acc, &(b, e)| acc * b.powf(e));
    if direct.is_finite() && (direct.abs() >= f64::MIN_POSITIVE || direct == 0.0 && c == 0.0) {
        return direct;
    }
    if c == 0.0 || factors.iter().any(|&(b, e)| b == 0.0 && e > 0.0) {
        return 0.0;
    }
    if !c.is_finite() || factors.iter().any(|&(b, _)| !b.is_finite()) {
        return direct;
    }
    // b^0 = 1 even for b = 0 (whose 0·ln 0 would be NaN).
    let log =
        c.abs().ln() + factors.iter().filter(|&&(_, e)| e != 0.0).map(|&(b, e)| e * b.ln()).sum::<f64>();
    c.signum() * log.exp()
}

/// Theorem 1's lower bound LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L} (0 when w* = 0; see
/// [`try_lower_bound`] for the undefined case).
pub fn lower_bound(reg: &Regression, depth: usize, head_norm: f64) -> f64 {
    try_lower_bound(reg, depth, head_norm).unwrap_or(0.0)
}

/// LB, or `None` when w* = 0 (a = w*ᵀΣw*/‖w*‖² is then undefined). Powers through
/// [`power_product`], so that LB is computed whenever it is representable.
pub fn try_lower_bound(reg: &Regression, depth: usize, head_norm: f64) -> Option<f64> {
    let l = depth as f64;
    let a = reg.alignment()?;
    Some(power_product(2.0 * l * a, &[(reg.w_star_norm(), 2.0 - 2.0 / l), (head_norm, 2.0 / l)]))
}

/// Above this dimension λ_max(rΣ + c·vvᵀ) is evaluated in Σ's eigenbasis ([`Shifted::Secular`]),
/// O(rank) per value instead of a d × d eigen-decomposition (O(d³)) per value, and Σ^{1/2} is
/// never formed. At or below it, the dense route (whose bits every property's report records).
pub const SECULAR_MIN_D: usize = 200;

/// λ_max(rΣ + c·vvᵀ) for v = Σ^{1/2}w*/s (s a scale), as a function of (r, c ≥ 0).
enum Shifted {
    /// v itself; each value is a dense eigen-decomposition.
    Dense(Vec<f64>),
    /// Σ = V diag(s_i) Vᵀ from the SVD of X (F = diag(σ_i/√n)V_rᵀ, Σ = FᵀF), and u = Vᵀv = Fw*/s
    /// (since Vᵀ Σ^{1/2} = diag(√s_i)Vᵀ): the matrix is V(r·diag(s) + c·uuᵀ)Vᵀ, diagonal plus rank one.
    Secular { s: Vec<f64>, u2: Vec<f64> },
    /// Σ = FᵀF with F not orthogonal ([`Route::Qr`]): rΣ + c·vvᵀ has the non-zero spectrum of
    /// rFFᵀ + c·uuᵀ, u = Fw*/s (since Σ^{1/2}(rI + cŵŵᵀ)Σ^{1/2} and F(rI + cŵŵᵀ)Fᵀ share it).
    /// Its top eigenvalue solves the secular equation c∫dμ(x)/(λ − rx) = 1 for the spectral
    /// measure μ of (FFᵀ, u), bracketed by the Gauss and Gauss–Radau rules of a Lanczos run from
    /// u ([`krylov::quadrature`]); the caller refines until the bracket is below [`KRYLOV_TOL`].
    Krylov { lanczos: krylov::Lanczos, quadrature: krylov::Quadrature, big: f64 },
}

/// Relative width of the Gauss/Gauss–Radau bracket at which [`Shifted::Krylov`] stops refining.
const KRYLOV_TOL: f64 = 1e-13;
/// Lanczos steps of the first [`Shifted::Krylov`] (doubled until the bracket closes).
const KRYLOV_FIRST_STEPS: usize = 24;

impl Shifted {
    fn new(reg: &Regression, scale: f64, steps: usize) -> Result<Shifted, EigenError> {
        let d = reg.d;
        if d <= SECULAR_MIN_D {
            let s = reg.try_sigma_sqrt()?;
            let v = (0..d).map(|i| (0..d).map(|j| s[(i, j)] * reg.w_star[j]).sum::<f64>() / scale).collect();
            return Ok(Shifted::Dense(v));
        }
        let f = &reg.sigma_factor;
        if reg.route == Route::Qr {
            let mut u = vec![0.0; f.len() / d];
            reg.factor_mul(&reg.w_star, &mut u);
            u.iter_mut().for_each(|x| *x /= scale);
            let mut lanczos = krylov::Lanczos::new(&u)?;
            lanczos.extend(factor_gram_op(reg), steps)?;
            let big = reg.lambda_max();
            let quadrature = lanczos.quadrature(radau_node(big))?;
            return Ok(Shifted::Krylov { lanczos, quadrature, big });
        }
        let mut s = Vec::with_capacity(reg.rank);
        let mut u2 = Vec::with_capacity(reg.rank);
        for row in f.chunks_exact(d) {
            s.push(linalg::dot(row, row));
            u2.push((linalg::dot(row, &reg.w_star) / scale).powi(2));
        }
        if s.iter().chain(&u2).any(|x| !x.is_finite()) {
            return Err(EigenError("Σ or Σ^{1/2}w* has a non-finite entry".into()));
        }
        Ok(Shifted::Secular { s, u2 })
    }

    /// ‖v‖².
    fn vv(&self) -> f64 {
        match self {
            Shifted::Dense(v) => linalg::dot(v, v),
            Shifted::Secular { u2, .. } => u2.iter().sum(),
            Shifted::Krylov { quadrature, .. } => quadrature.gauss.weights.iter().sum(),
        }
    }

    /// λ_max(rΣ + c·vvᵀ) (for [`Shifted::Krylov`], the lower end of its bracket).
    fn lambda_max(&self, reg: &Regression, r: f64, c: f64) -> Result<f64, EigenError> {
        match self {
            Shifted::Dense(v) => {
                let d = reg.d;
                let m = Mat::from_fn(d, d, |i, j| r * reg.sigma[i * d + j] + c * v[i] * v[j]);
                linalg::try_sym_max_eigenvalue(m.as_ref())
            }
            Shifted::Secular { s, u2 } => {
                let top = s.iter().fold(0.0f64, |a, &x| a.max(x)) * r;
                secular_root(s, u2, top, r, c)
            }
            Shifted::Krylov { quadrature, big, .. } => {
                let g = &quadrature.gauss;
                secular_root(&g.nodes, &g.weights, r * big, r, c)
            }
        }
    }

    /// Whether `value` = [`Shifted::lambda_max`] at (r, c) is within [`KRYLOV_TOL`] of the upper
    /// end of the bracket (always true for the exact routes).
    fn converged(&self, r: f64, c: f64, value: f64) -> Result<bool, EigenError> {
        match self {
            Shifted::Krylov { quadrature: krylov::Quadrature { radau: Some(radau), .. }, big, .. } => {
                let upper = secular_root(&radau.nodes, &radau.weights, r * big, r, c)?;
                Ok(upper - value <= KRYLOV_TOL * value.abs())
            }
            _ => Ok(true),
        }
    }

    /// Extends the Lanczos run of a [`Shifted::Krylov`] by a quarter (the bracket closes
    /// geometrically in the steps, so small increments stop close to the steps needed); false for
    /// the exact routes, which cannot be refined. Called only after [`Shifted::converged`]
    /// returned false, which needs a Gauss–Radau rule, and [`krylov::Lanczos::quadrature`]
    /// builds one only while the Krylov space is not invariant: so the space here can grow.
    fn refine(&mut self, reg: &Regression) -> Result<bool, EigenError> {
        match self {
            Shifted::Krylov { lanczos, quadrature, big } => {
                let steps = lanczos.steps() + lanczos.steps().div_ceil(4);
                lanczos.extend(factor_gram_op(reg), steps)?;
                *quadrature = lanczos.quadrature(radau_node(*big))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The Gauss–Radau node above Λ: Λ comes from Lanczos with relative residual ≤ 1e-10.
fn radau_node(big: f64) -> f64 {
    big * (1.0 + 4e-10)
}

/// v ↦ FFᵀv for Σ = FᵀF (m × d, row-major): [`Regression::factor_t_mul`] then
/// [`Regression::factor_mul`], O(md) a product (half when F is triangular).
fn factor_gram_op(reg: &Regression) -> impl FnMut(&[f64], &mut [f64]) + '_ {
    let mut ftv = vec![0.0; reg.d];
    move |v: &[f64], out: &mut [f64]| {
        reg.factor_t_mul(v, &mut ftv);
        reg.factor_mul(&ftv, out);
    }
}

/// The largest eigenvalue of r·diag(s) + c·uuᵀ (u_i² = u2_i, c ≥ 0) when every r·s_i ≤ top ≤ it:
/// the root above `top` of φ(λ) = c·Σ u_i²/(λ − r s_i) = 1 (φ decreases from +∞ to 0 there), found
/// by bisection in [top, top + c‖u‖²] (φ ≤ 1 at the right end) to adjacent floats: the result is
/// the smallest float above `top` at which φ ≤ 1 (the root itself when it is a float). Cost
/// O(len(s)) per step, at most ≈ 2100 steps. Used by S_bal and S_min on the SVD and QR routes.
pub fn secular_root(s: &[f64], u2: &[f64], top: f64, r: f64, c: f64) -> Result<f64, EigenError> {
    let total: f64 = u2.iter().sum::<f64>() * c;
    if !(top.is_finite() && total.is_finite()) {
        return Err(EigenError(format!("rΣ + c·vvᵀ is not finite (r = {r:e}, c = {c:e})")));
    }
    if total == 0.0 {
        return Ok(top);
    }
    let phi = |lam: f64| c * s.iter().zip(u2).map(|(&si, &ui)| ui / (lam - r * si)).sum::<f64>();
    let (mut lo, mut hi) = (top, top + total);
    loop {
        let mid = lo + 0.5 * (hi - lo);
        if mid <= lo || mid >= hi {
            break;
        }
        if phi(mid) > 1.0 { lo = mid } else { hi = mid }
    }
    Ok(hi)
}

/// Sharpness of the balanced rank-one minimiser W_k = (‖w*‖/‖p‖)^{1/L}u_{k+1}u_kᵀ.
pub fn balanced_sharpness(reg: &Regression, depth: usize, head_norm: f64) -> f64 {
    try_balanced_sharpness(reg, depth, head_norm).unwrap_or_else(|e| panic!("{e}"))
}

/// [`balanced_sharpness`], or why it cannot be computed.
pub fn try_balanced_sharpness(reg: &Regression, depth: usize, head_norm: f64) -> Result<f64, EigenError> {
    let l = depth as f64;
    let wn = reg.w_star_norm();
    if wn == 0.0 {
        return Ok(if depth == 1 { 2.0 * head_norm.powi(2) * reg.lambda_max() } else { 0.0 });
    }
    let mut shifted = Shifted::new(reg, wn, KRYLOV_FIRST_STEPS)?;
    let lam = loop {
        let lam = shifted.lambda_max(reg, 1.0, l - 1.0)?;
        if shifted.converged(1.0, l - 1.0, lam)? || !shifted.refine(reg)? {
            break lam;
        }
    };
    let scale = wn.powf(2.0 - 2.0 / l) * head_norm.powf(2.0 / l);
    let direct = 2.0 * scale * lam;
    if direct.is_finite() && scale.is_normal() {
        return Ok(direct);
    }
    Ok(power_product(2.0 * lam, &[(wn, 2.0 - 2.0 / l), (head_norm, 2.0 / l)]))
}

/// Upper bounds of mc.thm1.upper: (2(Λ + (L−1)a)‖w*‖^{2−2/L}‖p‖^{2/L}, 2LΛ‖w*‖^{2−2/L}‖p‖^{2/L}).
pub fn balanced_upper_bounds(reg: &Regression, depth: usize, head_norm: f64) -> (f64, f64) {
    let l = depth as f64;
    let scale = reg.w_star_norm().powf(2.0 - 2.0 / l) * head_norm.powf(2.0 / l);
    let a = reg.alignment().unwrap_or(0.0);
    let big = reg.lambda_max();
    (2.0 * (big + (l - 1.0) * a) * scale, 2.0 * l * big * scale)
}

/// The exact minimal sharpness over all global minimisers, and the optimal r = ‖a_1‖².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinSharpness {
    pub value: f64,
    /// The minimising r (‖a_1‖² of the attaining minimiser); NaN when L = 1 or v = 0.
    pub r: f64,
}

/// S_min = 2·min_{r>0} λ_max(rΣ + (L−1)(‖p‖²/r)^{1/(L−1)}Σ^{1/2}w*w*ᵀΣ^{1/2}).
pub fn min_sharpness(reg: &Regression, depth: usize, head_norm: f64) -> MinSharpness {
    try_min_sharpness(reg, depth, head_norm).unwrap_or_else(|e| panic!("{e}"))
}

/// [`min_sharpness`], or why it cannot be computed. When ‖w*‖ is far from 1 (beyond 2^±200,
/// where ‖Σ^{1/2}w*‖² would overflow or underflow), it is computed for ŵ = w*/‖w*‖ and scaled
/// back: S_min and r* are both homogeneous of degree 2 − 2/L in w* (r = t^{2−2/L}ρ turns
/// rΣ + c0·r^{−α}t²vvᵀ into t^{2−2/L}(ρΣ + c0·ρ^{−α}vvᵀ)).
pub fn try_min_sharpness(reg: &Regression, depth: usize, head_norm: f64) -> Result<MinSharpness, EigenError> {
    let big = reg.lambda_max();
    if depth == 1 {
        return Ok(MinSharpness { value: 2.0 * head_norm.powi(2) * big, r: f64::NAN });
    }
    let wn = reg.w_star_norm();
    if wn.is_finite() && wn > 0.0 && linalg::exponent(wn).abs() > 200 {
        let mut unit = reg.clone();
        unit.w_star.iter_mut().for_each(|w| *w /= wn);
        let m = try_min_sharpness(&unit, depth, head_norm)?;
        let l = depth as f64;
        return Ok(MinSharpness {
            value: power_product(m.value, &[(wn, 2.0 - 2.0 / l)]),
            r: power_product(m.r, &[(wn, 2.0 - 2.0 / l)]),
        });
    }
    let alpha = 1.0 / (depth as f64 - 1.0);
    let c0 = (depth as f64 - 1.0) * head_norm.powf(2.0 * alpha);
    let mut shifted = Shifted::new(reg, 1.0, KRYLOV_FIRST_STEPS)?;
    loop {
        let vv = shifted.vv();
        if vv == 0.0 || big == 0.0 {
            return Ok(MinSharpness { value: 0.0, r: f64::NAN });
        }
        // The first failure of an eigenvalue evaluation, kept (the search itself needs plain f64).
        let failure = std::cell::RefCell::new(None);
        let f = |t: f64| {
            let r = t.exp();
            shifted.lambda_max(reg, r, c0 * r.powf(-alpha)).unwrap_or_else(|e| {
                failure.borrow_mut().get_or_insert(e);
                f64::NAN
            })
        };
        // f(r) ≥ max(rΛ, c0 r^{−α}‖v‖²): the minimiser lies where both are ≤ f(r0), r0 balancing them.
        let r0 = (c0 * vv / big).powf(1.0 / (1.0 + alpha));
        let f0 = f(r0.ln());
        // lo ≤ ln r* ≤ hi exactly: every route's f(r0) is ≥ r0Λ and ≥ c0 r0^{−α}‖v‖² (a secular
        // root lies above r·top and above c‖u‖²), so only rounding can order them otherwise, and
        // the 1e-3 margins cover it.
        let (lo, hi) = (((c0 * vv / f0).powf(1.0 / alpha)).ln(), (f0 / big).ln());
        let (t, value) = golden_section(f, lo - 1e-3, hi + 1e-3);
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let r = t.exp();
        if shifted.converged(r, c0 * r.powf(-alpha), value)? || !shifted.refine(reg)? {
            return Ok(MinSharpness { value: 2.0 * value, r });
        }
    }
}

/// Minimises a unimodal function on [lo, hi]; returns (argmin, min), iterating until the
/// bracket stops shrinking in floating point.
pub fn golden_section<F: Fn(f64) -> f64>(f: F, mut lo: f64, mut hi: f64) -> (f64, f64) {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..400 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = f(x2);
        }
        if hi - lo <= 4.0 * f64::EPSILON * (1.0 + lo.abs().max(hi.abs())) {
            break;
        }
    }
    if f1 <= f2 { (x1, f1) } else { (x2, f2) }
}

/// The sharpness a *global minimiser* θ would have: 2λ_max(Σ^{1/2}KΣ^{1/2}), K = JJᵀ
/// (exact at minimisers; off them the Hessian has a residual term). Cost O(P·d²).
pub fn minimizer_sharpness(problem: &Problem, theta: &[f64]) -> f64 {
    try_minimizer_sharpness(problem, theta).unwrap_or_else(|e| panic!("{e}"))
}

/// [`minimizer_sharpness`], or why it cannot be computed (e.g. K overflows f64).
///
/// Up to [`DENSE_JACOBIAN_MAX_PARAMS`] parameters: K = JJᵀ from the dense Jacobian and
/// 2λ_max(Σ^{1/2}KΣ^{1/2}). Beyond (univariate networks): Lanczos on u ↦ FKFᵀu in R^rank, where
/// Σ = FᵀF (same non-zero spectrum) and K is applied as [`hessian::UnivariateGram`], so that
/// neither the d × P Jacobian nor Σ^{1/2} is formed: O(P) memory and O(P + rank·d) per step.
pub fn try_minimizer_sharpness(problem: &Problem, theta: &[f64]) -> Result<f64, EigenError> {
    let reg = problem.objective.regression().expect("regression objective");
    if problem.num_params() > DENSE_JACOBIAN_MAX_PARAMS
        && let Some(gram) = hessian::UnivariateGram::new(problem, theta)
    {
        return gram_sharpness_lanczos(reg, gram);
    }
    let k = hessian::jacobian_gram(problem, theta);
    let s = reg.try_sigma_sqrt()?;
    let m = linalg::matmul_owned(s.as_ref(), linalg::matmul_owned(k.as_ref(), s.as_ref()).as_ref());
    let d = reg.d;
    let sym = Mat::from_fn(d, d, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    Ok(2.0 * linalg::try_sym_max_eigenvalue(sym.as_ref())?)
}

/// Largest parameter count for which the Gauss–Newton sharpness and the Gram checks build the
/// dense d × P Jacobian (the exact-eigenvalue limit of [`crate::engine::spectrum`]).
pub const DENSE_JACOBIAN_MAX_PARAMS: usize = 4000;

/// 2λ_max(FKFᵀ) by Lanczos (top eigenvalue, relative residual ≤ 1e-10), Σ = FᵀF.
fn gram_sharpness_lanczos(
    reg: &Regression,
    mut gram: hessian::UnivariateGram<'_>,
) -> Result<f64, EigenError> {
    let (r, d) = (reg.rank, reg.d);
    let (mut v, mut kv) = (vec![0.0; d], vec![0.0; d]);
    // A non-finite product makes the Lanczos coefficients non-finite: `lanczos` fails or its
    // top Ritz value is not finite (checked below).
    let op = |u: &[f64], out: &mut [f64]| {
        // v = Fᵀu, out = F(Kv).
        reg.factor_t_mul(u, &mut v);
        gram.apply(&v, &mut kv);
        reg.factor_mul(&kv, out);
    };
    let res = crate::engine::spectrum::lanczos(
        r,
        op,
        1,
        crate::engine::spectrum::Bottom::Skip,
        &crate::engine::spectrum::SpectrumOptions::default(),
    )
    .map_err(|e| EigenError(format!("Gauss–Newton sharpness: {e}")))?;
    let top = res.ritz.last().copied().unwrap_or(f64::NAN);
    if !top.is_finite() {
        return Err(EigenError(
            "Gauss–Newton sharpness: K = JJᵀ has a non-finite entry: an intermediate quantity overflowed f64"
                .into(),
        ));
    }
    Ok(2.0 * top)
}

/// Per-layer norms of a univariate network at θ: (‖a_k‖², ‖B_k‖₂², σ_min(B_k)²) for each
/// trained layer, where B_k is the product below and a_k the (row) product above.
pub fn layer_norms(problem: &Problem, theta: &[f64]) -> Vec<(f64, f64, f64)> {
    let model = &problem.model;
    assert_eq!(model.d_out(), 1, "univariate networks only");
    let mut out = Vec::new();
    for k in 0..model.layers().len() {
        if model.param_range(k).is_none() {
            continue;
        }
        let a = model.above(k, theta);
        let a2 = a.norm_l2().powi(2);
        let b = model.below(k, theta);
        let sv = b.singular_values().expect("SVD of a d×d product");
        let smax = sv.first().copied().unwrap_or(0.0);
        let smin = if b.nrows() < b.ncols() { 0.0 } else { sv.last().copied().unwrap_or(0.0) };
        out.push((a2, smax * smax, smin * smin));
    }
    out
}

/// mc.sharpness_upper_at_minimizer: 2Λ·Σ_k ‖a_k‖²‖B_k‖₂².
pub fn minimizer_sharpness_upper(problem: &Problem, theta: &[f64]) -> f64 {
    let reg = problem.objective.regression().expect("regression objective");
    2.0 * reg.lambda_max() * layer_norms(problem, theta).iter().map(|(a, b, _)| a * b).sum::<f64>()
}

/// mc.pl_inequality: the PL constants μ = 4λ·Σ_k ‖a_k‖²σ_min(B_k)² and the weaker 4λ‖a_1‖², so
/// that ‖∇R‖² ≥ μ(R − R_min).
pub fn pl_constants(problem: &Problem, theta: &[f64]) -> (f64, f64) {
    let reg = problem.objective.regression().expect("regression objective");
    let lam = reg.lambda_min_nonzero();
    let norms = layer_norms(problem, theta);
    let full = 4.0 * lam * norms.iter().map(|(a, _, s)| a * s).sum::<f64>();
    let first = 4.0 * lam * norms.first().map_or(0.0, |(a, _, _)| *a);
    (full, first)
}

/// The two sides of the PL inequality at one θ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlTerms {
    /// ‖∇R(θ)‖² (backward pass).
    pub grad_sq: f64,
    /// R(θ) − R_min (quadratic form, no cancellation).
    pub excess: f64,
    /// λ = λ_min(Σ) > 0 and Λ = λ_max(Σ).
    pub lambda: f64,
    pub lambda_max: f64,
    /// Σ_k ‖a_k‖²σ_min(B_k)² (SVDs of the products below each layer).
    pub weight: f64,
    /// ‖a_1‖², the k = 1 term (B_1 = I).
    pub a1_sq: f64,
}

impl PlTerms {
    /// ‖∇R‖²/(4c(R − R_min)Σ_k‖a_k‖²σ_min(B_k)²) with c = λ (the claim) or another constant.
    pub fn tightness(&self, c: f64) -> f64 {
        self.grad_sq / (4.0 * c * self.excess * self.weight)
    }
    /// The weak form: ‖∇R‖²/(4λ‖a_1‖²(R − R_min)).
    pub fn weak_tightness(&self) -> f64 {
        self.grad_sq / (4.0 * self.lambda * self.excess * self.a1_sq)
    }
}

/// Both sides of the PL inequality at θ (mc.pl_inequality): ‖∇R‖² from the backward pass,
/// R − R_min as a quadratic form, and [`pl_constants`]; `None` unless the objective is a
/// univariate regression with Σ invertible (λ = λ_min(Σ) > 0). Cost O(L²d³).
pub fn pl_terms(problem: &Problem, theta: &[f64]) -> Option<PlTerms> {
    let reg = problem.objective.regression()?;
    if !reg.is_full_rank() {
        return None;
    }
    let mut ws = problem.workspace();
    let pt = problem.at(&mut ws, theta);
    let mut g = vec![0.0; theta.len()];
    pt.gradient(&mut g);
    let excess = pt.excess();
    let lambda = reg.lambda_min_nonzero();
    let (full, first) = pl_constants(problem, theta);
    Some(PlTerms {
        grad_sq: linalg::dot(&g, &g),
        excess,
        lambda,
        lambda_max: reg.lambda_max(),
        weight: full / (4.0 * lambda),
        a1_sq: first / (4.0 * lambda),
    })
}

/// Largest entry of |K − K_bal| / (scale·L), with K = JJᵀ at `theta` and its closed form at the
/// balanced rank-one minimiser K_bal = scale·(I + (L−1)ŵŵᵀ), scale = ‖w*‖^{2−2/L}‖p‖^{2/L}
/// (Theorem 1's upper bound; mc.thm1.upper and its attack). Cost: one Gram matrix, O(L·d³).
pub fn balanced_gram_error(
    problem: &Problem,
    theta: &[f64],
    reg: &Regression,
    depth: usize,
    head: f64,
) -> f64 {
    let l = depth as f64;
    let gram = (problem.num_params() > DENSE_JACOBIAN_MAX_PARAMS)
        .then(|| hessian::UnivariateGram::new(problem, theta))
        .flatten();
    let k = match gram {
        Some(mut gram) => gram.to_dense(),
        None => hessian::jacobian_gram(problem, theta),
    };
    let wn = reg.w_star_norm();
    let scale = wn.powf(2.0 - 2.0 / l) * head.powf(2.0 / l);
    let d = reg.d;
    let mut k_err = 0.0f64;
    for i in 0..d {
        for j in 0..d {
            let want = scale
                * ((if i == j { 1.0 } else { 0.0 }) + (l - 1.0) * reg.w_star[i] * reg.w_star[j] / (wn * wn));
            k_err = k_err.max((k[(i, j)] - want).abs() / (scale * l));
        }
    }
    k_err
}
