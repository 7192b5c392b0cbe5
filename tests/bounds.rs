//! The judge of `src/engine/bounds.rs` (its mutation tests, `.cargo/mutants-bounds.toml`): every
//! closed form of the sharpness analysis on hand-built instances, each expectation derived here
//! independently of the code under test:
//! - closed forms: isotropic Σ = σI (κ = 1, where LB = S_min = S_bal), diagonal Σ with w* on an
//!   eigenvector (S_min at the kink of a max of two branches), 2 × 2 eigenvalues written out;
//! - a second algorithm: dense eigenvalues (faer) of the explicitly built d × d matrices, Gram
//!   matrices K = Σ_k ‖a_k‖²B_kᵀB_k multiplied out by hand, gradients by central differences;
//! - optimality certificates for S_min: the value is 2f(r) at the returned r, and f(re^{±δ}) ≥ f(r)
//!   (f is convex in log r, so a local minimum is the minimum);
//! - boundary and error paths: w* = 0, Σ^{1/2}w* = 0, L = 1, ‖w*‖ beyond 2^±200, non-finite
//!   sums, the golden-section bracket ends, the head-norm factor ‖p‖^{2/L}, the dense/Lanczos
//!   split at P = 4000.
//!
//! Regressions are built field by field (Σ, F with Σ = FᵀF, w*, extremes), so that each of the
//! three evaluation routes of λ_max(rΣ + c·vvᵀ) is reached at will: dense (d ≤ 200), secular
//! (d > 200, SVD route) and Krylov (d > 200, QR route). Runs in a few seconds unoptimised.

use dlncheck::engine::bounds::{self, PlTerms};
use dlncheck::engine::krylov;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::{Objective, Regression, Route};
use dlncheck::engine::problem::Problem;
use faer::{Mat, Side};
use std::cell::RefCell;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(rel(got, want) <= tol, "{what}: got {got:e}, want {want:e} (rel {:e} > {tol:e})", rel(got, want));
}

/// Σ = H diag(s) H and w* = H w (H = I − 2hhᵀ/‖h‖², or H = I when `h` is empty), with F =
/// diag(√s)H (its non-zero rows on the SVD route, all d rows on the QR route).
fn reg_rotated(s: &[f64], w: &[f64], h: &[f64], route: Route) -> Regression {
    let d = s.len();
    let hh: f64 = h.iter().map(|x| x * x).sum();
    let q = |i: usize, j: usize| {
        let id = if i == j { 1.0 } else { 0.0 };
        if h.is_empty() { id } else { id - 2.0 * h[i] * h[j] / hh }
    };
    let mut sigma = vec![0.0; d * d];
    let mut w_star = vec![0.0; d];
    for i in 0..d {
        if h.is_empty() {
            sigma[i * d + i] = s[i];
            w_star[i] = w[i];
            continue;
        }
        for j in 0..d {
            sigma[i * d + j] = (0..d).map(|k| q(i, k) * s[k] * q(j, k)).sum();
        }
        w_star[i] = (0..d).map(|k| q(i, k) * w[k]).sum();
    }
    let rows: Vec<usize> = (0..d).filter(|&k| route == Route::Qr || s[k] > 0.0).collect();
    let sigma_factor = rows.iter().flat_map(|&k| (0..d).map(move |j| s[k].sqrt() * q(k, j))).collect();
    let b = (0..d).map(|i| (0..d).map(|j| sigma[i * d + j] * w_star[j]).sum()).collect(); // b = Σw*
    let mut eig = s.to_vec();
    eig.sort_by(f64::total_cmp);
    let smallest = eig.iter().copied().find(|&x| x > 0.0).unwrap_or(0.0);
    Regression {
        n: d,
        d,
        sigma,
        b,
        w_star,
        risk_min: 0.0,
        sigma_eigenvalues: (route == Route::Svd).then(|| eig.clone()),
        sigma_extremes: (eig[d - 1], smallest),
        rank: s.iter().filter(|&&x| x > 0.0).count(),
        sigma_factor,
        route,
    }
}

fn reg_diag(s: &[f64], w: &[f64], route: Route) -> Regression {
    reg_rotated(s, w, &[], route)
}

/// λ_max of the symmetric 2 × 2 matrix [[a, b], [b, c]].
fn lmax2(a: f64, b: f64, c: f64) -> f64 {
    0.5 * (a + c) + (0.25 * (a - c) * (a - c) + b * b).sqrt()
}

/// λ_min of the symmetric 2 × 2 matrix [[a, b], [b, c]].
fn lmin2(a: f64, b: f64, c: f64) -> f64 {
    0.5 * (a + c) - (0.25 * (a - c) * (a - c) + b * b).sqrt()
}

/// λ_max(diag(r·s) + c·vvᵀ) by a dense eigen-decomposition of the explicit matrix (slow
/// unoptimised for d = 201: used for small d and to check [`top_by_determinant`] once).
fn dense_lmax(s: &[f64], v: &[f64], r: f64, c: f64) -> f64 {
    let d = s.len();
    let m = Mat::from_fn(d, d, |i, j| if i == j { r * s[i] } else { 0.0 } + c * v[i] * v[j]);
    *m.self_adjoint_eigenvalues(Side::Lower).unwrap().last().unwrap()
}

/// λ_max(diag(r·s) + c·vvᵀ) from the matrix determinant lemma: for λ above every r·s_i,
/// det(λI − M) = Π(λ − rs_i)·(1 − cΣv_i²/(λ − rs_i)), and the bracket (1 − …) increases from −∞
/// to 1, so λ_max is where it crosses 0 (or max r·s_i when v has no weight there), found by
/// bisection on [max rs_i, max rs_i + c‖v‖²] until the midpoint no longer moves.
fn top_by_determinant(s: &[f64], v: &[f64], r: f64, c: f64) -> f64 {
    let base = s.iter().fold(0.0f64, |m, &x| m.max(r * x));
    let lemma = |lam: f64| 1.0 - c * s.iter().zip(v).map(|(&si, &vi)| vi * vi / (lam - r * si)).sum::<f64>();
    let (mut lo, mut hi) = (base, base + c * v.iter().map(|x| x * x).sum::<f64>());
    while hi > lo {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if lemma(mid) < 0.0 { lo = mid } else { hi = mid }
    }
    hi
}

/// λ_max(diag(r·s) + c·vvᵀ): dense eigenvalues for small d, the determinant lemma beyond.
fn lmax_rank_one(s: &[f64], v: &[f64], r: f64, c: f64) -> f64 {
    if s.len() <= 10 { dense_lmax(s, v, r, c) } else { top_by_determinant(s, v, r, c) }
}

/// The S_min objective in Σ's eigenbasis: f(r) = λ_max(r·diag(s) + c0·r^{−α}vvᵀ), v_i = √s_i w_i.
fn smin_objective(s: &[f64], w: &[f64], depth: usize, head: f64) -> impl Fn(f64) -> f64 {
    let alpha = 1.0 / (depth as f64 - 1.0);
    let c0 = (depth as f64 - 1.0) * head.powf(2.0 * alpha);
    let v: Vec<f64> = s.iter().zip(w).map(|(s, w)| s.sqrt() * w).collect();
    let s = s.to_vec();
    move |r: f64| lmax_rank_one(&s, &v, r, c0 * r.powf(-alpha))
}

/// value = 2f(r) and f(re^{±δ}) ≥ f(r) at every δ: r minimises the convex (in log r) f.
fn certify_smin(m: bounds::MinSharpness, f: &dyn Fn(f64) -> f64, tol: f64, what: &str) {
    assert!(m.r.is_finite() && m.r > 0.0, "{what}: r = {}", m.r);
    let at = f(m.r);
    close(m.value, 2.0 * at, tol, &format!("{what}: value against 2f(r)"));
    for delta in [1e-6f64, 1e-3, 0.3] {
        for sign in [-1.0f64, 1.0] {
            let other = f(m.r * (sign * delta).exp());
            assert!(
                other >= at * (1.0 - 1e-14),
                "{what}: f(r·e^{}) = {other:e} < f(r) = {at:e}",
                sign * delta
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// power_product

#[test]
fn power_product_is_the_plain_product_for_ordinary_inputs() {
    // The contract: the plain product, bit for bit, when it is a normal finite number.
    let cases: [(f64, [(f64, f64); 2]); 4] = [
        (4.2, [(3.7, 1.3333333333333333), (0.45, 0.6666666666666666)]),
        (12.0, [(1.7, 0.2857142857142857), (5.5, 1.7142857142857142)]),
        (-0.3, [(123.456, 1.5), (0.001, 0.5)]),
        (7.0, [(2.0, 0.0), (0.5, 3.0)]),
    ];
    for (c, f) in cases {
        let plain = c * f[0].0.powf(f[0].1) * f[1].0.powf(f[1].1);
        assert_eq!(bounds::power_product(c, &f).to_bits(), plain.to_bits(), "c = {c}, {f:?}");
    }
    assert_eq!(bounds::power_product(2.5, &[]), 2.5);
}

#[test]
fn power_product_survives_overflow_and_underflow_of_a_factor() {
    // 2·(1e300)²·(1e-300)^{1.5} = 2e150: the first factor alone overflows.
    close(bounds::power_product(2.0, &[(1e300, 2.0), (1e-300, 1.5)]), 2e150, 1e-12, "overflow");
    close(bounds::power_product(-2.0, &[(1e300, 2.0), (1e-300, 1.5)]), -2e150, 1e-12, "negative c");
    // 3·(1e-200)²·(1e200)^{1.5} = 3e-100: the first factor alone underflows to 0.
    close(bounds::power_product(3.0, &[(1e-200, 2.0), (1e200, 1.5)]), 3e-100, 1e-12, "underflow");
    // A subnormal plain product is refined through logarithms (same value to the subnormal's
    // precision): 1·(1e-160)² = 1e-320.
    close(bounds::power_product(1.0, &[(1e-160, 2.0)]), 1e-320, 1e-3, "subnormal");
    // A result beyond f64 stays infinite.
    assert_eq!(bounds::power_product(2.0, &[(1e300, 2.0)]), f64::INFINITY);
}

#[test]
fn power_product_zero_and_non_finite_inputs() {
    // c = 0 or a zero base with a positive exponent gives 0, even when another factor is infinite.
    assert_eq!(bounds::power_product(0.0, &[(f64::INFINITY, 1.0)]), 0.0);
    assert_eq!(bounds::power_product(2.0, &[(0.0, 1.0), (f64::INFINITY, 1.0)]), 0.0);
    assert_eq!(bounds::power_product(2.0, &[(0.0, 0.5), (1e300, 2.0)]), 0.0);
    assert_eq!(bounds::power_product(0.0, &[(3.0, 2.0)]), 0.0);
    // c = −0 with finite factors: the plain product, whose zero keeps c's sign (IEEE).
    assert!(bounds::power_product(-0.0, &[(3.0, 2.0)]).is_sign_negative());
    // 0⁰ = 1: a zero base with exponent 0 does not make the product 0.
    assert_ne!(bounds::power_product(2.0, &[(0.0, 0.0), (1e300, 2.0)]), 0.0);
    // … also on the logarithmic route (the plain product overflows), where 0·ln 0 would be NaN:
    // 2·0⁰·(1e300)²·(1e-300)^{1.5} = 2e150.
    close(bounds::power_product(2.0, &[(0.0, 0.0), (1e300, 2.0), (1e-300, 1.5)]), 2e150, 1e-12, "0⁰ in logs");
    // Non-finite c or base: the plain product (∞·0 = NaN), not a logarithmic rescue.
    assert!(bounds::power_product(f64::INFINITY, &[(1e-300, 2.0)]).is_nan());
    assert!(bounds::power_product(2.0, &[(f64::INFINITY, 1.0), (1e-300, 2.0)]).is_nan());
    assert_eq!(bounds::power_product(2.0, &[(f64::INFINITY, 1.0)]), f64::INFINITY);
}

// ---------------------------------------------------------------------------------------------
// LB and the balanced upper bounds

/// Σ = diag(4, 1), w* = (3, 4): ‖w*‖ = 5, a = (4·9 + 16)/25 = 2.08, Λ = 4.
fn two_by_two() -> Regression {
    reg_diag(&[4.0, 1.0], &[3.0, 4.0], Route::Svd)
}

#[test]
fn lower_bound_closed_form() {
    let reg = two_by_two();
    let (a, wn, p) = (52.0 / 25.0, 5.0f64, 1.7f64);
    for depth in [1usize, 2, 3, 5] {
        let l = depth as f64;
        let want = 2.0 * l * a * wn.powf(2.0 - 2.0 / l) * p.powf(2.0 / l);
        close(bounds::try_lower_bound(&reg, depth, p).unwrap(), want, 1e-14, "LB");
        close(bounds::lower_bound(&reg, depth, p), want, 1e-14, "LB");
    }
    // L = 1: 2a‖p‖², independent of ‖w*‖.
    close(bounds::lower_bound(&reg, 1, 1.7), 2.0 * a * 1.7 * 1.7, 1e-14, "LB at L = 1");
    // w* = 0: a is undefined.
    let zero = reg_diag(&[4.0, 1.0], &[0.0, 0.0], Route::Svd);
    assert_eq!(bounds::try_lower_bound(&zero, 3, 1.7), None);
    assert_eq!(bounds::lower_bound(&zero, 3, 1.7), 0.0);
    // ‖w*‖ = 2^600: ‖w*‖^{4/3} = 2^800 is representable though ‖w*‖² is not.
    let huge = reg_diag(&[4.0, 1.0], &[0.0, 2f64.powi(600)], Route::Svd);
    close(bounds::lower_bound(&huge, 3, 1.0), 2.0 * 3.0 * 1.0 * 2f64.powi(800), 1e-12, "LB, ‖w*‖ = 2^600");
}

#[test]
fn balanced_upper_bounds_closed_form() {
    let reg = two_by_two();
    let (a, big, wn, p) = (52.0 / 25.0, 4.0, 5.0f64, 1.7f64);
    for depth in [1usize, 3, 4] {
        let l = depth as f64;
        let scale = wn.powf(2.0 - 2.0 / l) * p.powf(2.0 / l);
        let (u1, u2) = bounds::balanced_upper_bounds(&reg, depth, p);
        close(u1, 2.0 * (big + (l - 1.0) * a) * scale, 1e-14, "2(Λ + (L−1)a)·scale");
        close(u2, 2.0 * l * big * scale, 1e-14, "2LΛ·scale");
    }
    let zero = reg_diag(&[4.0, 1.0], &[0.0, 0.0], Route::Svd);
    assert_eq!(bounds::balanced_upper_bounds(&zero, 3, 1.7), (0.0, 0.0));
}

// ---------------------------------------------------------------------------------------------
// S_bal

/// 2‖w*‖^{2−2/L}‖p‖^{2/L}λ_max(Σ + (L−1)Σ^{1/2}ŵŵᵀΣ^{1/2}) in Σ's eigenbasis (Σ = diag(s)).
fn s_bal_dense(s: &[f64], w: &[f64], depth: usize, head: f64) -> f64 {
    let wn = w.iter().map(|x| x * x).sum::<f64>().sqrt();
    let l = depth as f64;
    let v: Vec<f64> = s.iter().zip(w).map(|(s, w)| s.sqrt() * w / wn).collect();
    2.0 * wn.powf(2.0 - 2.0 / l) * head.powf(2.0 / l) * lmax_rank_one(s, &v, 1.0, l - 1.0)
}

#[test]
fn balanced_sharpness_two_by_two_closed_form() {
    // Σ = H diag(3, 0.5) H (H a Householder reflection), w* = H(1, 2): in the eigenbasis
    // M = diag(3, 0.5) + (L−1)v̂v̂ᵀ, v̂ = (√3, 2√0.5)/√5, λ_max written out.
    let (s, w) = ([3.0, 0.5], [1.0, 2.0]);
    let reg = reg_rotated(&s, &w, &[1.0, 2.0], Route::Svd);
    let wn = 5f64.sqrt();
    let (v1, v2) = (3f64.sqrt() / wn, 2.0 * 0.5f64.sqrt() / wn);
    for (depth, p) in [(2usize, 1.0f64), (3, 1.7), (5, 0.6)] {
        let l = depth as f64;
        let lam = lmax2(3.0 + (l - 1.0) * v1 * v1, (l - 1.0) * v1 * v2, 0.5 + (l - 1.0) * v2 * v2);
        let want = 2.0 * wn.powf(2.0 - 2.0 / l) * p.powf(2.0 / l) * lam;
        close(bounds::balanced_sharpness(&reg, depth, p), want, 1e-12, "S_bal 2×2");
        close(bounds::try_balanced_sharpness(&reg, depth, p).unwrap(), want, 1e-12, "S_bal 2×2");
    }
    // L = 1: 2‖p‖²Λ.
    close(bounds::balanced_sharpness(&reg, 1, 1.7), 2.0 * 1.7 * 1.7 * 3.0, 1e-12, "S_bal, L = 1");
}

#[test]
fn balanced_sharpness_is_tight_for_isotropic_covariance() {
    // Σ = σI: Σ + (L−1)σŵŵᵀ has top eigenvalue Lσ, so S_bal = LB = 2Lσ‖w*‖^{2−2/L}‖p‖^{2/L}.
    let sigma = 2.5;
    for (d, route) in [(3usize, Route::Svd), (201, Route::Svd), (201, Route::Qr)] {
        let w: Vec<f64> = (0..d).map(|i| 1.0 + (i % 3) as f64).collect();
        let wn = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        let reg = reg_rotated(&vec![sigma; d], &w, &[], route);
        let (depth, p) = (4usize, 1.3f64);
        let l = depth as f64;
        let want = 2.0 * l * sigma * wn.powf(2.0 - 2.0 / l) * p.powf(2.0 / l);
        close(
            bounds::balanced_sharpness(&reg, depth, p),
            want,
            1e-12,
            &format!("S_bal isotropic d={d} {route:?}"),
        );
        close(bounds::lower_bound(&reg, depth, p), want, 1e-12, "LB isotropic");
    }
}

#[test]
fn balanced_sharpness_at_w_star_zero() {
    // S = 2‖p‖²Λ at L = 1 for every minimiser; the rank-one minimiser of w* = 0 is θ = 0 for L ≥ 2.
    let reg = reg_diag(&[4.0, 1.0], &[0.0, 0.0], Route::Svd);
    close(bounds::balanced_sharpness(&reg, 1, 1.7), 2.0 * 1.7 * 1.7 * 4.0, 1e-15, "w* = 0, L = 1");
    assert_eq!(bounds::balanced_sharpness(&reg, 2, 1.7), 0.0);
    assert_eq!(bounds::balanced_sharpness(&reg, 3, 1.7), 0.0);
}

/// Σ's spectrum for the d = 201 routes: 201 distinct eigenvalues spread geometrically over
/// [scale, 100·scale], w* mostly along the smallest one (so the top of rΣ + c·vvᵀ sits just
/// above rΛ, where a 24-step Gauss rule is not yet accurate and the Krylov route refines).
fn spread(scale: f64) -> (Vec<f64>, Vec<f64>) {
    let s: Vec<f64> = (0..201).map(|i| scale * 100f64.powf(i as f64 / 200.0)).collect();
    let w: Vec<f64> = (0..201).map(|i| if i == 0 { 1.0 } else { 0.02 + 0.001 * (i % 7) as f64 }).collect();
    (s, w)
}

#[test]
fn determinant_lemma_matches_dense_eigenvalues() {
    // The d = 201 expectations use the determinant lemma; here once against faer's eigenvalues.
    let (s, w) = spread(1.0);
    let v: Vec<f64> = s.iter().zip(&w).map(|(s, w)| s.sqrt() * w).collect();
    close(top_by_determinant(&s, &v, 0.7, 3.0), dense_lmax(&s, &v, 0.7, 3.0), 1e-13, "lemma vs dense");
}

#[test]
fn balanced_sharpness_secular_and_krylov_routes_against_dense_eigenvalues() {
    for (scale, route) in
        [(1.0, Route::Svd), (1e-3, Route::Svd), (1.0, Route::Qr), (1e15, Route::Qr), (1e-15, Route::Qr)]
    {
        let (s, w) = spread(scale);
        let reg = reg_diag(&s, &w, route);
        for (depth, p) in [(2usize, 1.0), (5, 1.7)] {
            let want = s_bal_dense(&s, &w, depth, p);
            let got = bounds::try_balanced_sharpness(&reg, depth, p).unwrap();
            close(got, want, 1e-12, &format!("S_bal d = 201, {route:?}, scale {scale:e}, L = {depth}"));
        }
    }
    // Small Σ (every s < 1, c‖v‖² < 1): the bisection's upper end top + c‖v‖² is needed as a sum.
    let s: Vec<f64> = (0..201).map(|i| 0.01 + 0.002 * i as f64).collect();
    let w: Vec<f64> = (0..201).map(|i| if i == 200 { 0.5 } else { 0.01 }).collect();
    let reg = reg_diag(&s, &w, Route::Svd);
    close(bounds::balanced_sharpness(&reg, 3, 1.0), s_bal_dense(&s, &w, 3, 1.0), 1e-12, "S_bal, small Σ");
}

#[test]
fn balanced_sharpness_with_w_star_on_the_top_eigenvector() {
    // ŵ = e_top: S_bal = 2‖w*‖^{2−2/L}‖p‖^{2/L}·LΛ exactly (= LB); the secular root is top + c‖v‖².
    let mut s: Vec<f64> = (0..201).map(|i| 1.0 + 0.2 * i as f64).collect();
    s[200] = 50.0;
    let mut w = vec![0.0; 201];
    w[200] = 3.0;
    for route in [Route::Svd, Route::Qr] {
        let reg = reg_diag(&s, &w, route);
        let want = 2.0 * 3f64.powf(2.0 - 2.0 / 5.0) * 5.0 * 50.0;
        close(bounds::balanced_sharpness(&reg, 5, 1.0), want, 1e-12, &format!("S_bal top {route:?}"));
    }
}

#[test]
fn balanced_sharpness_when_the_scale_underflows() {
    // ‖w*‖ = 1e-200, L = 10: ‖w*‖^{1.8} = 1e-360 underflows, Σ ~ 1e100 brings S back to
    // ≈ 1e-258: computed through logarithms. In the eigenbasis, λ_max(Σ + 9v̂v̂ᵀ) is a 2 × 2.
    let (s, w) = ([1e100, 3e99], [6e-201, 8e-201]);
    let reg = reg_rotated(&s, &w, &[1.0, -3.0], Route::Svd);
    let (v1, v2) = (1e50 * 0.6, 3e99f64.sqrt() * 0.8);
    let lam = lmax2(s[0] + 9.0 * v1 * v1, 9.0 * v1 * v2, s[1] + 9.0 * v2 * v2);
    let want = 2.0 * lam * 1e-180 * 1e-180;
    close(bounds::balanced_sharpness(&reg, 10, 1.0), want, 1e-10, "S_bal with an underflowing scale");
}

#[test]
fn secular_root_reports_a_non_finite_sum() {
    // c‖v‖² = 99·1e307 overflows: an error, not a number.
    let mut s = vec![1.0; 201];
    s[0] = 1e307;
    let mut w = vec![0.0; 201];
    w[0] = 1.0;
    let reg = reg_diag(&s, &w, Route::Svd);
    let err = bounds::try_balanced_sharpness(&reg, 100, 1.0).unwrap_err();
    assert!(err.0.contains("not finite"), "{}", err.0);
    assert!(bounds::try_min_sharpness(&reg, 100, 1.0).is_err());
}

// ---------------------------------------------------------------------------------------------
// S_min

#[test]
fn min_sharpness_at_depth_one() {
    let reg = two_by_two();
    let m = bounds::min_sharpness(&reg, 1, 1.7);
    close(m.value, 2.0 * 1.7 * 1.7 * 4.0, 1e-15, "S_min, L = 1");
    assert!(m.r.is_nan());
}

#[test]
fn min_sharpness_isotropic_closed_form() {
    // Σ = σI: f(r) = rσ + c0 r^{−α}σ‖w*‖², minimised at r*^{1+α} = αc0‖w*‖² = ‖p‖^{2α}‖w*‖², i.e.
    // r* = ‖p‖^{2/L}‖w*‖^{2−2/L}, where f = Lσr*: S_min = 2Lσr* = LB.
    // σ = 0.5 makes c0‖v‖²/Λ = ‖w*‖² exact, σ = 2^500 a covariance far from 1 (not rescaled).
    for (sigma, d, route) in [
        (0.8, 3usize, Route::Svd),
        (0.5, 3, Route::Svd),
        (2f64.powi(500), 3, Route::Svd),
        (0.8, 201, Route::Svd),
        (0.8, 201, Route::Qr),
        (2f64.powi(500), 201, Route::Qr),
    ] {
        let w: Vec<f64> = (0..d).map(|i| [1.0, 2.0, 2.0][i % 3]).collect();
        let wn = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        let reg = reg_diag(&vec![sigma; d], &w, route);
        for (depth, p) in [(2usize, 1.0f64), (3, 1.7), (4, 0.6)] {
            let l = depth as f64;
            let r_star = p.powf(2.0 / l) * wn.powf(2.0 - 2.0 / l);
            let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
            let what = format!("isotropic d = {d} {route:?} L = {depth}");
            close(m.value, 2.0 * l * sigma * r_star, 1e-12, &what);
            close(m.r, r_star, 1e-6, &what);
            close(
                bounds::min_sharpness(&reg, depth, p).value,
                bounds::lower_bound(&reg, depth, p),
                1e-12,
                &what,
            );
        }
    }
}

#[test]
fn min_sharpness_scales_back_from_far_norms() {
    // Isotropic Σ with ‖w*‖ = 3·2^{±300}: S_min = 2Lσr*, r* = ‖p‖^{2/L}‖w*‖^{2−2/L} (degree
    // 2 − 2/L in w*: with r = t^{2−2/L}ρ, rΣ + c0 r^{−α}t²vvᵀ = t^{2−2/L}(ρΣ + c0ρ^{−α}vvᵀ)).
    let sigma = 0.8;
    // 2^±600: ‖Σ^{1/2}w*‖² is not representable, only the rescaled problem is; 2^190 is computed
    // directly (the bracket's r0 = (c0‖v‖²/Λ)^{1−1/L} ≈ 2^285 then stays representable).
    for e in [190i32, 300, -300, 600, -600] {
        let t = 2f64.powi(e);
        let reg = reg_diag(&[sigma; 3], &[t, 2.0 * t, 2.0 * t], Route::Svd);
        for (depth, p) in [(2usize, 1.0f64), (3, 1.7), (4, 0.6)] {
            let l = depth as f64;
            // 3^{2−2/L}·2^{e(2−2/L)}, the power of two exact.
            let wpow = 3f64.powf(2.0 - 2.0 / l) * 2f64.powf(e as f64 * (2.0 - 2.0 / l));
            let r_star = p.powf(2.0 / l) * wpow;
            let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
            let what = format!("‖w*‖ = 3·2^{e}, L = {depth}");
            close(m.value, 2.0 * l * sigma * r_star, 1e-12, &what);
            close(m.r, r_star, 1e-6, &what);
        }
    }
    // A rotated, anisotropic Σ: S_min(tŵ) = t^{2−2/L}S_min(ŵ) against the same instance at ‖w*‖ = 1.
    let (s, h) = ([3.0, 0.5, 1.2], [1.0, -2.0, 0.5]);
    let unit = bounds::min_sharpness(&reg_rotated(&s, &[0.6, 0.0, 0.8], &h, Route::Svd), 3, 1.3);
    let t = 2f64.powi(-250);
    let far = bounds::min_sharpness(&reg_rotated(&s, &[0.6 * t, 0.0, 0.8 * t], &h, Route::Svd), 3, 1.3);
    close(far.value, unit.value * t.powf(4.0 / 3.0), 1e-12, "homogeneity of S_min");
    close(far.r, unit.r * t.powf(4.0 / 3.0), 1e-6, "homogeneity of r*");
}

#[test]
fn min_sharpness_at_a_kink_near_the_bracket_ends() {
    // Σ = diag(1, ε), w* = w·e_2: f(r) = max(r, rε + c0 r^{−α}εw²), whose minimum is where the
    // branches cross, r^{1+α}(1 − ε) = c0 εw² (the second branch decreases there since
    // α(1 − ε) > ε). The search's bracket is then only ≈ Lε wide in log r, the minimum inside it
    // within 1e-3 of both ends.
    let eps = 1e-4;
    for (depth, p, w) in [(2usize, 1.5f64, 1.0f64), (3, 1.0, 2.0), (4, 0.7, 0.5)] {
        let l = depth as f64;
        let alpha = 1.0 / (l - 1.0);
        let c0 = (l - 1.0) * p.powf(2.0 * alpha);
        let r_c = (c0 * eps * w * w / (1.0 - eps)).powf(1.0 / (1.0 + alpha));
        for route in [Route::Svd, Route::Qr] {
            let mut s = vec![1.0, eps];
            let mut ws = vec![0.0, w];
            if route == Route::Qr {
                // The Krylov route needs d > 200: pad with directions of eigenvalue 1/2, w* ⟂ them.
                s.resize(201, 0.5);
                ws.resize(201, 0.0);
            }
            let m = bounds::min_sharpness(&reg_diag(&s, &ws, route), depth, p);
            let what = format!("kink L = {depth} {route:?}");
            close(m.value, 2.0 * r_c, 1e-12, &what);
            close(m.r, r_c, 1e-10, &what);
        }
    }
}

#[test]
fn min_sharpness_certificates_on_every_route() {
    // Dense (a rotated 3 × 3 Σ, w* along no eigenvector).
    let (s, w) = ([3.0, 0.5, 1.2], [0.3, 1.1, -0.4]);
    let reg = reg_rotated(&s, &w, &[1.0, -2.0, 0.5], Route::Svd);
    for (depth, p) in [(2usize, 1.0), (3, 1.7), (6, 0.6)] {
        let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
        certify_smin(m, &smin_objective(&s, &w, depth, p), 1e-12, &format!("dense L = {depth}"));
        // LB ≤ S_min ≤ S_bal (mc.thm1.upper), strictly here since w* is on no eigenvector.
        assert!(m.value > bounds::lower_bound(&reg, depth, p) * (1.0 + 1e-6));
        assert!(m.value < bounds::balanced_sharpness(&reg, depth, p) * (1.0 - 1e-6));
    }
    // Secular and Krylov (d = 201), several scales of Σ.
    for (scale, route) in
        [(1.0, Route::Svd), (1e-3, Route::Svd), (1.0, Route::Qr), (1e15, Route::Qr), (1e-15, Route::Qr)]
    {
        let (s, w) = spread(scale);
        let reg = reg_diag(&s, &w, route);
        for (depth, p) in [(2usize, 1.0), (4, 1.7)] {
            let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
            certify_smin(
                m,
                &smin_objective(&s, &w, depth, p),
                1e-12,
                &format!("{route:?} {scale:e} L = {depth}"),
            );
        }
    }
}

#[test]
fn min_sharpness_degenerate_inputs() {
    // Σ^{1/2}w* = 0 (w* in Σ's null space) or w* = 0: the minimiser θ = 0 has S = 0; r undefined.
    for route in [Route::Svd, Route::Qr] {
        let d = if route == Route::Qr { 201 } else { 2 };
        let mut s = vec![1.0; d];
        s[1] = 0.0;
        let mut w = vec![0.0; d];
        w[1] = 1.0;
        let m = bounds::min_sharpness(&reg_diag(&s, &w, route), 3, 1.0);
        assert_eq!(m.value, 0.0, "{route:?}");
        assert!(m.r.is_nan());
    }
    for d in [2usize, 201] {
        let m = bounds::min_sharpness(&reg_diag(&vec![1.0; d], &vec![0.0; d], Route::Svd), 3, 1.0);
        assert_eq!(m.value, 0.0);
        assert!(m.r.is_nan());
    }
}

// ---------------------------------------------------------------------------------------------
// golden_section

/// Runs golden_section on f, recording every abscissa it evaluates.
fn golden(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> ((f64, f64), Vec<(f64, f64)>) {
    let seen = RefCell::new(Vec::new());
    let out = bounds::golden_section(
        |x| {
            let y = f(x);
            seen.borrow_mut().push((x, y));
            y
        },
        lo,
        hi,
    );
    (out, seen.into_inner())
}

/// Evaluations the search should take: two, then one per shrink by g = (√5 − 1)/2 until the
/// bracket is at most 4ε(1 + max|end|) (ends near `at`).
fn expected_evaluations(lo: f64, hi: f64, at: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let tol = 4.0 * f64::EPSILON * (1.0 + at.abs());
    2.0 + ((tol / (hi - lo)).ln() / g.ln()).ceil()
}

#[test]
fn golden_section_minimises_inside_the_bracket() {
    // (bracket, minimiser) for f = (x − m)²: inside, negative, straddling 0, at 0.
    for (lo, hi, m) in
        [(0.0, 1.0, 0.3), (-5.0, -1.0, -3.0), (-1.0, 2.0, 0.1), (-1.0, 1.0, 0.0), (1.0, 3.0, 2.0)]
    {
        let ((x, y), seen) = golden(|x| (x - m) * (x - m), lo, hi);
        assert!((x - m).abs() <= 1e-14 * (1.0 + m.abs()), "[{lo}, {hi}]: argmin {x} ≠ {m}");
        assert!(y <= 1e-28, "min {y}");
        assert!(seen.iter().all(|&(x, _)| (lo..=hi).contains(&x)), "evaluated outside [{lo}, {hi}]");
        // The returned point is the best one evaluated.
        let best = seen.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        assert_eq!(y, best);
        assert!(seen.contains(&(x, y)));
        let n = seen.len() as f64;
        let want = expected_evaluations(lo, hi, m);
        assert!((n - want).abs() <= 2.0, "[{lo}, {hi}]: {n} evaluations, expected ≈ {want}");
    }
}

#[test]
fn golden_section_converges_to_the_bracket_ends() {
    // Monotone functions: the minimum is at an end of the bracket.
    let ((x, y), seen) = golden(|x| x, 2.0, 5.0);
    assert!((x - 2.0).abs() <= 1e-14 && y == x, "increasing: {x}");
    assert!(seen.iter().all(|&(x, _)| (2.0..=5.0).contains(&x)));
    let ((x, y), _) = golden(|x| -x, 2.0, 5.0);
    assert!((x - 5.0).abs() <= 1e-14 && y == -x, "decreasing: {x}");
    // |x − 0.3| on [0, 1]: the kink is found to a few ulps and the smaller final value returned.
    let ((x, y), seen) = golden(|x| (x - 0.3).abs(), 0.0, 1.0);
    assert!((x - 0.3).abs() <= 2e-15, "kink: {x}");
    assert_eq!(y, seen.iter().map(|p| p.1).fold(f64::INFINITY, f64::min));
}

// ---------------------------------------------------------------------------------------------
// Sharpness at minimisers, per-layer norms, PL

/// Small dense matrices as rows (a few entries: the products are written out).
type M = Vec<Vec<f64>>;

fn mat(rows: usize, cols: usize, entries: &[f64]) -> M {
    (0..rows).map(|i| entries[i * cols..(i + 1) * cols].to_vec()).collect()
}

fn mul(a: &M, b: &M) -> M {
    (0..a.len())
        .map(|i| (0..b[0].len()).map(|j| (0..b.len()).map(|k| a[i][k] * b[k][j]).sum()).collect())
        .collect()
}

fn gram(b: &M) -> M {
    // BᵀB
    let n = b[0].len();
    (0..n).map(|i| (0..n).map(|j| (0..b.len()).map(|k| b[k][i] * b[k][j]).sum()).collect()).collect()
}

fn sq_norm(a: &M) -> f64 {
    a.iter().flatten().map(|x| x * x).sum()
}

fn flat(ms: &[&M]) -> Vec<f64> {
    ms.iter().flat_map(|m| m.iter().flatten().copied()).collect()
}

#[test]
fn minimizer_sharpness_of_a_two_layer_network_by_hand() {
    // MLP d = 2, L = 2: K = ‖W2‖²I + W1ᵀW1, S = 2λ_max(Σ^{1/2}KΣ^{1/2}) with Σ = diag(3, 0.5).
    let reg = reg_diag(&[3.0, 0.5], &[1.0, -2.0], Route::Svd);
    let problem = Problem::new(Dln::mlp(2, 2), Objective::Regression(reg)).unwrap();
    let w1 = mat(2, 2, &[0.7, -1.2, 0.4, 2.1]);
    let w2 = mat(1, 2, &[1.5, -0.3]);
    let theta = flat(&[&w1, &w2]);
    let g = gram(&w1);
    let z = sq_norm(&w2);
    let k = [[z + g[0][0], g[0][1]], [g[1][0], z + g[1][1]]];
    let (r0, r1) = (3f64.sqrt(), 0.5f64.sqrt());
    let want = 2.0 * lmax2(r0 * k[0][0] * r0, r0 * k[0][1] * r1, r1 * k[1][1] * r1);
    close(bounds::minimizer_sharpness(&problem, &theta), want, 1e-12, "S at θ");
    close(bounds::try_minimizer_sharpness(&problem, &theta).unwrap(), want, 1e-12, "S at θ");
}

/// A univariate network on d = 1 with P = 4000 (layers 2000 × 1, 1 × 2000) or P = 4001 (a third
/// 1 × 1 layer t), the weights u, z given: K = ‖z‖² + ‖u‖², resp. t²(‖z‖² + ‖u‖²) + (z·u)².
fn wide_network(extra: bool, u: f64, s: f64) -> (Problem, Vec<f64>, f64) {
    let mut layers = vec![(2000, 1, None), (1, 2000, None)];
    if extra {
        layers.push((1, 1, None));
    }
    let model = Dln::from_layers(layers).unwrap();
    let reg = reg_diag(&[s], &[1.3], Route::Svd);
    let problem = Problem::new(model, Objective::Regression(reg)).unwrap();
    let uu: Vec<f64> = (0..2000).map(|i| u * (0.5 + ((i * 7) % 11) as f64 / 11.0)).collect();
    let zz: Vec<f64> = (0..2000)
        .map(|i| 0.01 * (1.0 + ((i * 3) % 5) as f64) * if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let t = 1.4;
    let (nu, nz, zu) = (
        uu.iter().map(|x| x * x).sum::<f64>(),
        zz.iter().map(|x| x * x).sum::<f64>(),
        uu.iter().zip(&zz).map(|(a, b)| a * b).sum::<f64>(),
    );
    let mut theta = uu;
    theta.extend(zz);
    let k = if extra {
        theta.push(t);
        t * t * (nz + nu) + zu * zu
    } else {
        nz + nu
    };
    assert_eq!(problem.num_params(), if extra { 4001 } else { 4000 });
    (problem, theta, k)
}

#[test]
fn minimizer_sharpness_on_both_sides_of_the_dense_limit() {
    assert_eq!(bounds::DENSE_JACOBIAN_MAX_PARAMS, 4000);
    for extra in [false, true] {
        let (problem, theta, k) = wide_network(extra, 0.02, 2.5);
        let want = 2.0 * 2.5 * k;
        close(bounds::minimizer_sharpness(&problem, &theta), want, 1e-10, &format!("P > 4000: {extra}"));
    }
}

#[test]
fn minimizer_sharpness_overflow_is_an_error_on_both_sides() {
    // u = 1e200: K = ‖u‖² overflows. Beyond 4000 parameters the Lanczos route names the
    // Gauss–Newton sharpness; at 4000 the dense route fails in its eigenvalue step.
    let (problem, theta, _) = wide_network(true, 1e200, 2.5);
    let err = bounds::try_minimizer_sharpness(&problem, &theta).unwrap_err();
    assert!(err.0.starts_with("Gauss–Newton sharpness"), "{}", err.0);
    let (problem, theta, _) = wide_network(false, 1e200, 2.5);
    let err = bounds::try_minimizer_sharpness(&problem, &theta).unwrap_err();
    assert!(!err.0.starts_with("Gauss–Newton sharpness"), "{}", err.0);
}

#[test]
fn balanced_gram_error_by_hand() {
    // MLP d = 2, L = 3 at an arbitrary θ: K = ‖W3W2‖²I + ‖W3‖²W1ᵀW1 + (W2W1)ᵀ(W2W1), against
    // K_bal = scale(I + 2ŵŵᵀ), scale = ‖w*‖^{4/3}‖p‖^{2/3}.
    let reg = reg_diag(&[3.0, 0.5], &[1.0, -2.0], Route::Svd);
    let problem = Problem::new(Dln::mlp(2, 3), Objective::Regression(reg.clone())).unwrap();
    let w1 = mat(2, 2, &[0.7, -1.2, 0.4, 2.1]);
    let w2 = mat(2, 2, &[1.1, 0.2, -0.5, 0.9]);
    let w3 = mat(1, 2, &[1.5, -0.3]);
    let theta = flat(&[&w1, &w2, &w3]);
    let (a1, g1, g3) = (sq_norm(&mul(&w3, &w2)), gram(&w1), gram(&mul(&w2, &w1)));
    let a2 = sq_norm(&w3);
    let head = 1.7f64;
    let wn = 5f64.sqrt();
    let scale = wn.powf(4.0 / 3.0) * head.powf(2.0 / 3.0);
    let w = [1.0, -2.0];
    let mut want = 0.0f64;
    for i in 0..2 {
        for j in 0..2 {
            let k = if i == j { a1 } else { 0.0 } + a2 * g1[i][j] + g3[i][j];
            let kb = scale * (if i == j { 1.0 } else { 0.0 } + 2.0 * w[i] * w[j] / 5.0);
            want = want.max((k - kb).abs() / (scale * 3.0));
        }
    }
    close(bounds::balanced_gram_error(&problem, &theta, &reg, 3, head), want, 1e-12, "gram error");
    // At the balanced rank-one minimiser W_k = ‖w*‖^{1/3}u_{k+1}u_kᵀ (u_1 = ŵ, u_2 = u_3 = e_1,
    // u_4 = 1) the error vanishes.
    let c = wn.powf(1.0 / 3.0);
    let what = [1.0 / wn, -2.0 / wn];
    let b1 = mat(2, 2, &[c * what[0], c * what[1], 0.0, 0.0]);
    let b2 = mat(2, 2, &[c, 0.0, 0.0, 0.0]);
    let b3 = mat(1, 2, &[c, 0.0]);
    let theta = flat(&[&b1, &b2, &b3]);
    assert!(bounds::balanced_gram_error(&problem, &theta, &reg, 3, 1.0) < 1e-14);
    // Beyond 4000 parameters (K from the Gram operator): d = 1, K_bal = scale·L.
    for extra in [false, true] {
        let (problem, theta, k) = wide_network(extra, 0.02, 2.5);
        let reg = problem.objective.regression().unwrap().clone();
        let depth = if extra { 3 } else { 2 };
        let l = depth as f64;
        let scale = 1.3f64.powf(2.0 - 2.0 / l) * head.powf(2.0 / l);
        let want = (k - scale * l).abs() / (scale * l);
        close(
            bounds::balanced_gram_error(&problem, &theta, &reg, depth, head),
            want,
            1e-10,
            "gram error, P ≥ 4000",
        );
    }
}

/// deep(2, 3, 1, 3): W1 3×2, W2 3×3, W3 1×3 (B_2 = W1, B_3 = W2W1 tall: σ_min > 0).
fn tall_network() -> (Problem, Vec<f64>, [M; 3]) {
    let reg = reg_diag(&[3.0, 0.5], &[1.0, -2.0], Route::Svd);
    let problem = Problem::new(Dln::deep(2, 3, 1, 3), Objective::Regression(reg)).unwrap();
    let w1 = mat(3, 2, &[0.7, -1.2, 0.4, 2.1, -0.6, 0.3]);
    let w2 = mat(3, 3, &[1.1, 0.2, -0.5, 0.9, 0.4, 0.1, -0.2, 0.8, 1.3]);
    let w3 = mat(1, 3, &[1.5, -0.3, 0.6]);
    let theta = flat(&[&w1, &w2, &w3]);
    (problem, theta, [w1, w2, w3])
}

/// (‖a_k‖², ‖B_k‖₂², σ_min(B_k)²) of the tall network, B_kᵀB_k 2 × 2.
fn tall_norms(w: &[M; 3]) -> Vec<(f64, f64, f64)> {
    let [w1, w2, w3] = w;
    let bs = [mat(2, 2, &[1.0, 0.0, 0.0, 1.0]), w1.clone(), mul(w2, w1)];
    let above = [sq_norm(&mul(w3, w2)), sq_norm(w3), 1.0];
    (0..3)
        .map(|k| {
            let g = gram(&bs[k]);
            (above[k], lmax2(g[0][0], g[0][1], g[1][1]), lmin2(g[0][0], g[0][1], g[1][1]))
        })
        .collect()
}

#[test]
fn layer_norms_by_hand() {
    let (problem, theta, w) = tall_network();
    let got = bounds::layer_norms(&problem, &theta);
    let want = tall_norms(&w);
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        close(g.0, w.0, 1e-12, "‖a_k‖²");
        close(g.1, w.1, 1e-12, "‖B_k‖₂²");
        close(g.2, w.2, 1e-10, "σ_min(B_k)²");
    }
    // A wide B (2 × 3: fewer rows than columns) has σ_min = 0 on R^3; ‖B‖₂² = λ_max(BBᵀ).
    let reg = reg_diag(&[3.0, 0.5, 1.0], &[1.0, -2.0, 0.5], Route::Svd);
    let problem = Problem::new(Dln::deep(3, 2, 1, 2), Objective::Regression(reg)).unwrap();
    let (w1, w2) = (mat(2, 3, &[0.7, -1.2, 0.4, 2.1, -0.6, 0.3]), mat(1, 2, &[1.5, -0.3]));
    let got = bounds::layer_norms(&problem, &flat(&[&w1, &w2]));
    let bbt = gram(&mat(3, 2, &[0.7, 2.1, -1.2, -0.6, 0.4, 0.3])); // (W1ᵀ)ᵀW1ᵀ = W1W1ᵀ
    assert_eq!(got.len(), 2);
    close(got[0].0, sq_norm(&w2), 1e-12, "‖a_1‖²");
    assert_eq!((got[0].1, got[0].2), (1.0, 1.0));
    close(got[1].0, 1.0, 1e-15, "‖a_2‖²");
    close(got[1].1, lmax2(bbt[0][0], bbt[0][1], bbt[1][1]), 1e-12, "‖W1‖₂²");
    assert_eq!(got[1].2, 0.0);
    // A residual network's fixed head is not a trained layer: L entries, not L + 1.
    let reg = reg_diag(&[3.0, 0.5], &[1.0, -2.0], Route::Svd);
    let problem = Problem::new(Dln::residual(&[0.6, 0.8], 2), Objective::Regression(reg)).unwrap();
    let theta = vec![1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 1.0];
    let got = bounds::layer_norms(&problem, &theta);
    assert_eq!(got.len(), 2);
    // a_1 = pᵀW2 = (1.2, 0.8), a_2 = pᵀ; B_1 = I, B_2 = W1 = I.
    close(got[0].0, 1.44 + 0.64, 1e-15, "residual ‖a_1‖²");
    close(got[1].0, 1.0, 1e-15, "residual ‖a_2‖²");
}

#[test]
fn upper_bound_and_pl_constants_by_hand() {
    let (problem, theta, w) = tall_network();
    let norms = tall_norms(&w);
    // Λ = 3, λ = 0.5.
    let upper = 2.0 * 3.0 * norms.iter().map(|(a, b, _)| a * b).sum::<f64>();
    close(bounds::minimizer_sharpness_upper(&problem, &theta), upper, 1e-12, "2Λ·Σ‖a_k‖²‖B_k‖²");
    let (full, first) = bounds::pl_constants(&problem, &theta);
    close(full, 4.0 * 0.5 * norms.iter().map(|(a, _, s)| a * s).sum::<f64>(), 1e-10, "μ");
    close(first, 4.0 * 0.5 * norms[0].0, 1e-12, "4λ‖a_1‖²");
}

#[test]
fn pl_terms_by_hand_and_by_finite_differences() {
    let (problem, theta, w) = tall_network();
    let norms = tall_norms(&w);
    let t = bounds::pl_terms(&problem, &theta).unwrap();
    // ‖∇R‖² by central differences of R.
    let h = 1e-5;
    let mut grad_sq = 0.0;
    for i in 0..theta.len() {
        let (mut up, mut down) = (theta.clone(), theta.clone());
        up[i] += h;
        down[i] -= h;
        let g = (problem.data_loss(&up) - problem.data_loss(&down)) / (2.0 * h);
        grad_sq += g * g;
    }
    close(t.grad_sq, grad_sq, 1e-7, "‖∇R‖²");
    // R − R_min = Σ_i s_i(w_i − w*_i)², w = (W3W2W1)ᵀ.
    let a = mul(&mul(&w[2], &w[1]), &w[0]);
    let excess = 3.0 * (a[0][0] - 1.0).powi(2) + 0.5 * (a[0][1] + 2.0).powi(2);
    close(t.excess, excess, 1e-12, "R − R_min");
    assert_eq!((t.lambda, t.lambda_max), (0.5, 3.0));
    close(t.weight, norms.iter().map(|(a, _, s)| a * s).sum::<f64>(), 1e-10, "Σ‖a_k‖²σ_min(B_k)²");
    close(t.a1_sq, norms[0].0, 1e-12, "‖a_1‖²");
    // The PL inequality itself holds at this θ (mc.pl_inequality).
    assert!(t.tightness(t.lambda) >= 1.0 && t.weak_tightness() >= t.tightness(t.lambda));

    // Singular Σ, or no regression objective: None.
    let reg = reg_diag(&[3.0, 0.0], &[1.0, 0.0], Route::Svd);
    let singular = Problem::new(Dln::mlp(2, 2), Objective::Regression(reg)).unwrap();
    assert_eq!(bounds::pl_terms(&singular, &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]), None);
    let target = Mat::from_fn(2, 2, |i, j| (i + 2 * j) as f64);
    let matrix = Problem::new(Dln::deep(2, 2, 2, 2), Objective::Matrix { target }).unwrap();
    assert_eq!(bounds::pl_terms(&matrix, &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]), None);
}

#[test]
fn pl_tightness_ratios() {
    // 30/(4·0.5·2·3) = 2.5 and 30/(4·0.25·2·5) = 3.
    let t = PlTerms { grad_sq: 30.0, excess: 2.0, lambda: 0.25, lambda_max: 9.0, weight: 3.0, a1_sq: 5.0 };
    close(t.tightness(0.5), 2.5, 1e-15, "tightness");
    close(t.weak_tightness(), 3.0, 1e-15, "weak tightness");
}

#[test]
fn krylov_route_with_a_clustered_top() {
    // 100 eigenvalues packed in [99, 100] above a bulk in [1, 50], w* spread over all: the root of
    // the secular equation sits just above the cluster, where a short Gauss rule is inaccurate
    // and only the Gauss–Radau bracket (node above Λ) says when to stop refining.
    let s: Vec<f64> = (0..201)
        .map(|i| if i < 101 { 1.0 + 49.0 * i as f64 / 100.0 } else { 99.0 + (i - 101) as f64 / 99.0 })
        .collect();
    let w: Vec<f64> = (0..201).map(|i| 0.05 + 0.01 * (i % 5) as f64).collect();
    let reg = reg_diag(&s, &w, Route::Qr);
    for (depth, p) in [(2usize, 1.0f64), (3, 0.5), (9, 1.0)] {
        let want = s_bal_dense(&s, &w, depth, p);
        let got = bounds::try_balanced_sharpness(&reg, depth, p).unwrap();
        close(got, want, 2e-14, &format!("S_bal clustered top, L = {depth}"));
        let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
        certify_smin(
            m,
            &smin_objective(&s, &w, depth, p),
            2e-14,
            &format!("S_min clustered top, L = {depth}"),
        );
    }
}

#[test]
fn balanced_sharpness_when_the_scale_underflows_with_a_head() {
    // As above with ‖p‖ = 0.3: the logarithmic route carries ‖p‖^{2/L} = 0.3^{0.2} too.
    let (s, w) = ([1e100, 3e99], [6e-201, 8e-201]);
    let reg = reg_rotated(&s, &w, &[1.0, -3.0], Route::Svd);
    let (v1, v2) = (1e50 * 0.6, 3e99f64.sqrt() * 0.8);
    let lam = lmax2(s[0] + 9.0 * v1 * v1, 9.0 * v1 * v2, s[1] + 9.0 * v2 * v2);
    let want = 2.0 * lam * 1e-180 * 1e-180 * 0.3f64.powf(0.2);
    close(
        bounds::balanced_sharpness(&reg, 10, 0.3),
        want,
        1e-10,
        "S_bal with an underflowing scale, ‖p‖ = 0.3",
    );
}

#[test]
fn krylov_route_with_little_weight_on_a_clustered_top() {
    // A bulk in [1, 50] carrying almost all of w*, 100 eigenvalues packed in [99, 100] carrying
    // 1e-3 of it: the secular root sits within the cluster's spacing above Λ = 100, so it depends
    // on the cluster's fine structure, which a 24-step Gauss rule does not resolve; the Krylov
    // route must refine until its Gauss/Gauss–Radau bracket (node above Λ) closes.
    let s: Vec<f64> = (0..201)
        .map(|i| if i < 101 { 1.0 + 49.0 * i as f64 / 100.0 } else { 99.0 + (i - 101) as f64 / 99.0 })
        .collect();
    let w: Vec<f64> = (0..201).map(|i| if i < 101 { 0.1 } else { 1e-4 * (1.0 + (i % 3) as f64) }).collect();
    let reg = reg_diag(&s, &w, Route::Qr);
    for (depth, p) in [(2usize, 1.0f64), (3, 1.0)] {
        let want = s_bal_dense(&s, &w, depth, p);
        close(bounds::balanced_sharpness(&reg, depth, p), want, 2e-13, &format!("S_bal, L = {depth}"));
        let m = bounds::try_min_sharpness(&reg, depth, p).unwrap();
        certify_smin(m, &smin_objective(&s, &w, depth, p), 2e-13, &format!("S_min, L = {depth}"));
    }
}

/// The secular bisection ends on the smallest float at which φ ≤ 1. For r·diag(0) + 1·uuᵀ with
/// u² = 1 (one entry), φ(λ) = 1/λ and the eigenvalue is 1; from top = 0.5 the bracket is [0.5, 1.5],
/// whose first midpoint is the root itself, where φ = 1 exactly: the answer is 1.0 to the bit
/// (stepping past an exact root would give the next float, 1 + 2⁻⁵²). For diag(1, 0) + uuᵀ with
/// u² = (1, 1) the top eigenvalue solves 1/(λ − 1) + 1/λ = 1, λ² − 3λ + 1 = 0: (3 + √5)/2.
#[test]
fn secular_root_lands_on_the_root() {
    let exact = bounds::secular_root(&[0.0], &[1.0], 0.5, 1.0, 1.0).unwrap();
    assert_eq!(exact, 1.0, "φ(1) = 1 exactly: the root is a float, got {exact:e}");
    let golden = bounds::secular_root(&[1.0, 0.0], &[1.0, 1.0], 1.0, 1.0, 1.0).unwrap();
    close(golden, (3.0 + 5f64.sqrt()) / 2.0, 4.0 * f64::EPSILON, "diag(1, 0) + uuᵀ");
    // u orthogonal to everything: c‖u‖² = 0, the answer is top.
    assert_eq!(bounds::secular_root(&[2.0, 1.0], &[0.0, 0.0], 2.0, 1.0, 3.0).unwrap(), 2.0);
    assert!(bounds::secular_root(&[1.0], &[f64::INFINITY], 1.0, 1.0, 1.0).is_err());
}

// ---------------------------------------------------------------------------------------------
// Lanczos quadrature (krylov.rs), the QR route's λ_max: rules checked against the exact
// measure of diagonal operators (here rather than as unit tests, so that the mutation runs of
// krylov.rs, whose judges are this file and tests/regression_routes.rs, see them)

/// Diagonal A = diag(1..=m), u = 1: μ = Σ δ_i, ∫ 1/(z − x) dμ = Σ_i 1/(z − i).
#[test]
fn gauss_and_radau_bracket_the_resolvent() {
    let m = 60;
    let diag: Vec<f64> = (1..=m).map(|i| i as f64).collect();
    let u = vec![1.0; m];
    let z = 75.0;
    let exact: f64 = diag.iter().map(|x| 1.0 / (z - x)).sum();
    for steps in [1, 2, 3, 4, 8, 16] {
        let q = krylov::quadrature(
            |v, out| out.iter_mut().zip(v.iter().zip(&diag)).for_each(|(o, (a, b))| *o = a * b),
            &u,
            steps,
            m as f64,
        )
        .unwrap();
        // Exactly the steps asked for (fewer only on breakdown): k nodes.
        assert_eq!((q.steps, q.gauss.nodes.len()), (steps, steps));
        let f = |r: &krylov::Rule| r.nodes.iter().zip(&r.weights).map(|(x, w)| w / (z - x)).sum::<f64>();
        let (g, r) = (f(&q.gauss), f(q.radau.as_ref().unwrap()));
        assert!(g <= exact * (1.0 + 1e-14) && exact <= r * (1.0 + 1e-14), "{steps}: {g} ≤ {exact} ≤ {r}");
        if steps == 16 {
            assert!((r - g) / exact < 1e-12, "16 steps: width {}", (r - g) / exact);
        }
        // Both rules integrate constants exactly: the weights sum to ‖u‖² = m.
        assert!((q.gauss.weights.iter().sum::<f64>() - m as f64).abs() < 1e-10);
    }
}

#[test]
fn an_invariant_space_gives_the_exact_measure() {
    // u touches two eigenvalues only: Lanczos stops after two steps and Gauss is exact.
    let diag = [1.0, 2.0, 3.0, 4.0];
    let u = [0.0, 3.0, 0.0, 4.0];
    let q = krylov::quadrature(
        |v, out| out.iter_mut().zip(v.iter().zip(&diag)).for_each(|(o, (a, b))| *o = a * b),
        &u,
        4,
        4.0,
    )
    .unwrap();
    assert!(q.radau.is_none());
    assert_eq!(q.steps, 2);
    assert!((q.gauss.nodes[0] - 2.0).abs() < 1e-14 && (q.gauss.nodes[1] - 4.0).abs() < 1e-14);
    assert!((q.gauss.weights[0] - 9.0).abs() < 1e-12 && (q.gauss.weights[1] - 16.0).abs() < 1e-12);
}
