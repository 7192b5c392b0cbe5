//! Jacot et al. (jgshg.*): the core functions of `lowrank` against independent references
//! (closed forms derived here, finite differences, brute force, hand computations). The quick
//! grids, controls and snapshots of the jgshg.* properties run in `tests/properties.rs`; full
//! grids with `dlncheck check --only jgshg.<id>`.

use dlncheck::claims;
use dlncheck::engine::fit::LinearFit;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::Objective;
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use dlncheck::framework::property::{Status, Variant};
use dlncheck::lowrank::{self, ScalarProblem};
use faer::Mat;

/// The lazy claim's control is also a positive statement of the claim: small initialisation on
/// the same completion task recovers the low-rank target (the unobserved entries travel the whole
/// gap), at both widths.
#[test]
fn lazy_small_init_recovers_the_low_rank_target() {
    dlncheck::init_determinism();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.lazy.yaml");
    let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
    let c = spec.controls.iter().position(|c| c.variant == "small_init").unwrap();
    let inst = &spec.control_instances(c, dlncheck::framework::spec::Mode::Quick, 0)[0];
    let m = claim.measure(&inst.point, inst.seed, Variant::Control("small_init")).unwrap();
    assert!(m.values["recovery_rel_error"] < 1e-2, "{m:?}");
    assert!(m.values["unobserved_fraction_width"] > 0.99, "{m:?}");
    assert!(m.values["unobserved_fraction_4width"] > 0.99, "{m:?}");
    // It fails for the intended reason: at the base width already (not only through √(4w)),
    // since the fraction ≈ 1 exceeds c_max/√w, which lazy training respects at the same point.
    let (c_max, w) = (inst.point.f64("c_max"), inst.point.usize("width") as f64);
    assert!(w.sqrt() > c_max, "the control's width must have √w > c_max = {c_max}");
    assert_eq!(m.status, Status::Violated);
    assert!(m.values["c_unobserved_width"] > c_max && m.values["c_unobserved_4width"] > c_max, "{m:?}");
    let lazy = claim.measure(&inst.point, inst.seed, Variant::Claim).unwrap();
    assert_eq!(lazy.status, Status::Holds, "the claim at the control's point: {lazy:?}");
    assert!(lazy.values["c_unobserved_width"] <= c_max && lazy.values["c_unobserved_4width"] <= c_max);
    assert!(lazy.values["c_unobserved_width"] / w.sqrt() < 0.5, "lazy fraction at w: {lazy:?}");
}

#[test]
fn claims_are_registered_once_with_their_module_names() {
    let ids: Vec<&str> = claims::all().iter().map(|c| c.id()).collect();
    for id in [
        "jgshg.schatten",
        "jgshg.balance_decay",
        "jgshg.lazy",
        "jgshg.saddle_to_saddle",
        "jgshg.landscape",
        "jgshg.local_minima_generalize",
    ] {
        assert_eq!(ids.iter().filter(|&&x| x == id).count(), 1, "{id}");
        let file = format!("{}/src/claims/{}.rs", env!("CARGO_MANIFEST_DIR"), id.replace('.', "_"));
        assert!(std::path::Path::new(&file).exists(), "{file}");
    }
}

// ---------------------------------------------------------------------------------------------
// The scalar problem against independent references.
// ---------------------------------------------------------------------------------------------

/// Root of a continuous f on [lo, hi] with a sign change (plain bisection, written here).
fn root(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let flo = f(lo);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if (f(mid) > 0.0) == (flo > 0.0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// For L = 3, λ = 1, g′(s) = 0 ⇔ (a = s^{1/3}) a⁴ − σa + 1 = 0: the positive local minimum is the
/// larger root of that quartic, which has its minimum at a = (σ/4)^{1/3}. The numbers of docs/notation.md
/// follow: g(s) = ½(s − σ)² + (3/2)a².
#[test]
fn landscape_instances_from_the_quartic() {
    let quartic_root = |sigma: f64| {
        let a_min = (sigma / 4.0).powf(1.0 / 3.0);
        let a = root(|a| a.powi(4) - sigma * a + 1.0, a_min, sigma);
        a.powi(3)
    };
    let g = |s: f64, sigma: f64| 0.5 * (s - sigma).powi(2) + 1.5 * s.powf(2.0 / 3.0);
    let s3 = quartic_root(3.0);
    let s19 = quartic_root(1.9);
    let s22 = quartic_root(2.2);
    // docs/notation.md (6 decimals).
    assert!((s3 - 2.235174).abs() < 5e-7, "{s3}");
    assert!((s19 - 0.840276).abs() < 5e-7, "{s19}");
    assert!((s22 - 1.278674).abs() < 5e-7, "{s22}");
    let drop_19 = g(s3, 3.0) + g(0.0, 1.9);
    let keep_19 = g(s3, 3.0) + g(s19, 1.9);
    let keep_22 = g(s3, 3.0) + g(s22, 2.2);
    let drop_22 = g(s3, 3.0) + g(0.0, 2.2);
    assert!((drop_19 - 4.661760).abs() < 1e-6, "{drop_19}");
    assert!((keep_19 - 4.753958).abs() < 1e-6, "{keep_19}");
    assert!((keep_22 - 5.048294).abs() < 1e-6, "{keep_22}");
    assert!((drop_22 - 5.276760).abs() < 1e-6, "{drop_22}");
    // ‖A − Y‖² of the two Y = diag(3, 1.9) minima (local_minima_generalize).
    let keep_d = (3.0 - s3).powi(2) + (1.9 - s19).powi(2);
    let drop_d = (3.0 - s3).powi(2) + 1.9f64.powi(2);
    assert!((keep_d - 1.708).abs() < 5e-4, "{keep_d}");
    assert!((drop_d - 4.195).abs() < 5e-4, "{drop_d}");
    // The library agrees with the quartic to rounding.
    for (sigma, s) in [(3.0, s3), (1.9, s19), (2.2, s22)] {
        let lib = ScalarProblem::new(sigma, 1.0, 3).critical_points().plus.unwrap();
        assert!((lib - s).abs() < 1e-12 * s, "{sigma}: {lib} vs {s}");
    }
    assert_eq!(ScalarProblem::new(1.9, 1.0, 3).global_minimizer(), 0.0);
    assert!((ScalarProblem::new(2.2, 1.0, 3).global_minimizer() - s22).abs() < 1e-12);
}

/// The thresholds of docs/notation.md against brute force on g: a fine grid scan decides whether g has
/// a positive local minimum and whether it beats g(0), on both sides of each threshold.
#[test]
fn thresholds_against_a_grid_scan_of_g() {
    let scan = |sigma: f64, l2: f64, depth: usize| {
        let g = ScalarProblem::new(sigma, l2, depth);
        let n = 200_000;
        let vals: Vec<(f64, f64)> = (1..=n)
            .map(|i| {
                let s = 2.0 * sigma * i as f64 / n as f64;
                (s, g.value(s))
            })
            .collect();
        let local_min = (1..n - 1)
            .filter(|&i| vals[i].1 < vals[i - 1].1 && vals[i].1 < vals[i + 1].1)
            .map(|i| vals[i].1)
            .next();
        (local_min.is_some(), local_min.is_some_and(|v| v < g.value(0.0)))
    };
    for depth in [3, 4, 5, 7] {
        for l2 in [0.3, 1.0, 2.5] {
            let t = lowrank::thresholds(depth, l2);
            assert!(t.exists < t.beats_zero);
            assert_eq!(scan(t.exists * 0.99, l2, depth), (false, false));
            assert_eq!(scan(t.exists * 1.01, l2, depth), (true, false));
            assert_eq!(scan(t.beats_zero * 0.99, l2, depth), (true, false));
            assert_eq!(scan(t.beats_zero * 1.01, l2, depth), (true, true));
            let num = lowrank::thresholds_numerical(depth, l2);
            assert!((num.exists - t.exists).abs() < 1e-10 * t.exists);
            assert!((num.beats_zero - t.beats_zero).abs() < 1e-10 * t.beats_zero);
        }
    }
    // L = 2: both thresholds are λ, and s₊ = σ − λ.
    let t = lowrank::thresholds(2, 0.7);
    assert_eq!((t.exists, t.beats_zero), (0.7, 0.7));
    assert_eq!(ScalarProblem::new(2.0, 0.7, 2).critical_points().plus, Some(2.0 - 0.7));
}

/// g′ and g″ against central finite differences; critical points are zeros of g′ with the right
/// curvature sign.
#[test]
fn scalar_derivatives_by_finite_differences() {
    for depth in [2, 3, 4, 6] {
        let g = ScalarProblem::new(2.7, 0.8, depth);
        for s in [0.3, 1.1, 2.4] {
            let h = 1e-5;
            let d1 = (g.value(s + h) - g.value(s - h)) / (2.0 * h);
            let d2 = (g.value(s + h) - 2.0 * g.value(s) + g.value(s - h)) / (h * h);
            assert!((d1 - g.derivative(s)).abs() < 1e-8, "L={depth} s={s}");
            assert!((d2 - g.second_derivative(s)).abs() < 1e-4, "L={depth} s={s}");
        }
        let c = g.critical_points();
        let plus = c.plus.unwrap();
        assert!(g.derivative(plus).abs() < 1e-12 && g.second_derivative(plus) > 0.0);
        if let Some(minus) = c.minus {
            assert!(depth >= 3 && minus < plus);
            assert!(g.derivative(minus).abs() < 1e-10 && g.second_derivative(minus) < 0.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ranks, Schatten, factorisations and gauges.
// ---------------------------------------------------------------------------------------------

#[test]
fn numerical_rank_and_the_schatten_pitfall() {
    dlncheck::init_determinism();
    // A = u vᵀ·3 + rounding: rank 1; without the cutoff a rounding-level singular value 1e−16
    // would add (1e−16)^{2/L} ≈ 4e−7 for L = 5, far above a 1e−10 tolerance.
    let u = [0.6, 0.8, 0.0];
    let v = [1.0 / 2f64.sqrt(), -1.0 / 2f64.sqrt()];
    let a = Mat::from_fn(3, 2, |i, j| 3.0 * u[i] * v[j]);
    let sv = lowrank::singular_values(a.as_ref());
    assert_eq!(lowrank::numerical_rank(&sv, 1e-10), 1);
    assert_eq!(lowrank::rank_above(&sv, 2.9), 1);
    let exact = 5.0 * 3f64.powf(2.0 / 5.0);
    assert!((lowrank::schatten_penalty(&sv, 5, 1e-10) - exact).abs() < 1e-12 * exact);
    let with_noise: [f64; 2] = [3.0, 1e-16];
    let naive: f64 = 5.0 * with_noise.iter().map(|s| s.powf(0.4)).sum::<f64>();
    assert!((naive - exact) / exact > 1e-7);
    assert!((lowrank::schatten_penalty(&with_noise, 5, 1e-10) - exact).abs() < 1e-12 * exact);
    assert_eq!(lowrank::numerical_rank(&[0.0, 0.0], 1e-10), 0);
}

/// Balanced factorisations: product, balance and Σ‖W‖² = L·Σσ^{2/L}, for a hand-made A;
/// a gauge move keeps the product and raises Σ‖W‖²; descent over the gauge comes back.
#[test]
fn balanced_factors_gauge_moves_and_descent() {
    dlncheck::init_determinism();
    let mut rng = stream_rng(3, Stream::Minimizer);
    // A = diag(4, 1) padded to 3 × 2 (σ = 4, 1): L·Σσ^{2/L} for L = 4 is 4·(√4 + 1) = 12.
    let a = Mat::from_fn(3, 2, |i, j| match (i, j) {
        (0, 0) => 4.0,
        (1, 1) => 1.0,
        _ => 0.0,
    });
    let (u, s, v) = lowrank::truncated_svd(a.as_ref(), 1e-10, 10);
    assert_eq!(s.len(), 2);
    let ws = lowrank::balanced_factors(u.as_ref(), &s, v.as_ref(), 4, 5, &mut rng);
    assert_eq!((ws[0].nrows(), ws[0].ncols()), (5, 2));
    assert_eq!((ws[3].nrows(), ws[3].ncols()), (3, 5));
    assert!((lowrank::product(&ws) - &a).norm_l2() < 1e-14);
    assert!((lowrank::sum_sq_norms(&ws) - 12.0).abs() < 1e-13);
    for d in lowrank::imbalance(&ws) {
        assert!(d.norm_l2() < 1e-14);
    }
    let gauges: Vec<lowrank::Gauge> = (0..3).map(|_| lowrank::random_gauge(5, 1.0, &mut rng)).collect();
    for g in &gauges {
        let id = faer::Mat::<f64>::identity(5, 5);
        assert!((lowrank::sym_exp(faer::Mat::<f64>::zeros(5, 5).as_ref(), 1.0) - &id).norm_l2() < 1e-15);
        let prod = dlncheck::engine::linalg::matmul_owned(g.g.as_ref(), g.inv.as_ref());
        assert!((prod - &id).norm_l2() < 1e-12);
    }
    let moved = lowrank::apply_gauge(&ws, &gauges);
    assert!((lowrank::product(&moved) - &a).norm_l2() < 1e-12);
    assert!(lowrank::sum_sq_norms(&moved) > 12.0 * 1.01);
    let back = lowrank::gauge_descent(&moved, 12.0, 1e-12, 100_000);
    assert!(back.value <= 12.0 * (1.0 + 1e-11), "{}", back.value);
    assert!((lowrank::product(&back.weights) - &a).norm_l2() < 1e-11);
}

/// sym_exp against the series for a small symmetric matrix.
#[test]
fn sym_exp_matches_the_power_series() {
    dlncheck::init_determinism();
    let d = faer::mat![[0.3, -0.2, 0.1], [-0.2, 0.5, 0.0], [0.1, 0.0, -0.4]];
    let mut series = Mat::<f64>::identity(3, 3);
    let mut term = Mat::<f64>::identity(3, 3);
    for k in 1..30 {
        term =
            dlncheck::engine::linalg::matmul_owned(term.as_ref(), d.as_ref()) * faer::Scale(1.0 / k as f64);
        series += &term;
    }
    assert!((lowrank::sym_exp(d.as_ref(), 1.0) - &series).norm_l2() < 1e-14);
}

/// The orthogonal-gauge tangents: an exact rotation G = exp(hK) in the (0, 1) plane of the first
/// hidden layer (W_1 → GW_1, W_2 → W_2Gᵀ, G = [[cos h, sin h], [−sin h, cos h]] there) leaves the
/// L2-regularised loss unchanged, and (θ(h) − θ)/h tends to the first tangent column; every
/// tangent is orthogonal to the gradient.
#[test]
fn orthogonal_gauge_tangents_follow_exact_rotations() {
    dlncheck::init_determinism();
    let mut rng = stream_rng(5, Stream::Data);
    let y = Mat::from_fn(2, 3, |_, _| dlncheck::engine::rng::normal(&mut rng));
    let problem = Problem::new(Dln::deep(3, 4, 2, 3), Objective::Matrix { target: y }).unwrap().with_l2(0.7);
    let theta = dlncheck::engine::init::gaussian(&problem.model, 0.8, &mut stream_rng(5, Stream::Init));
    let ws = problem.model.trained_weights(&theta);
    let t = lowrank::orthogonal_gauge_tangents(&ws);
    assert_eq!(t.ncols(), 2 * 6);
    let rotate = |h: f64| {
        let g = Mat::from_fn(4, 4, |i, j| match (i, j) {
            (0, 0) | (1, 1) => h.cos(),
            (0, 1) => h.sin(),
            (1, 0) => -h.sin(),
            _ if i == j => 1.0,
            _ => 0.0,
        });
        let mut out = ws.clone();
        out[0] = dlncheck::engine::linalg::matmul_owned(g.as_ref(), ws[0].as_ref());
        out[1] = dlncheck::engine::linalg::matmul_owned(ws[1].as_ref(), g.transpose());
        problem.model.flatten(&out)
    };
    let loss = problem.loss(&theta);
    for h in [0.3, 1.0, 2.0] {
        assert!((problem.loss(&rotate(h)) - loss).abs() < 1e-13 * loss);
    }
    let h = 1e-6;
    let (plus, minus) = (rotate(h), rotate(-h));
    for i in 0..theta.len() {
        let fd = (plus[i] - minus[i]) / (2.0 * h);
        assert!((fd - t[(i, 0)]).abs() < 1e-8, "entry {i}: {fd} vs {}", t[(i, 0)]);
    }
    let (_, g) = problem.loss_and_gradient(&theta);
    for c in 0..t.ncols() {
        let dot: f64 = (0..t.nrows()).map(|i| t[(i, c)] * g[i]).sum();
        assert!(dot.abs() < 1e-12, "gradient not orthogonal to the orbit: {dot}");
    }
}

/// The exact Hessian at the critical points of docs/notation.md, split along the gauge orbit: the local
/// minimum s = (2.235174, 0.840276) (L = 3, λ = 1, Y = diag(3, 1.9)) has positive transverse
/// eigenvalues, (0, 0.840276) is a saddle; for L = 2 the non-global point is a strict saddle with
/// eigenvalue λ − σ_2 (2 × 2 block [[λ, −σ_2], [−σ_2, λ]] of the switched-off mode).
#[test]
fn hessian_modulo_gauge_classifies_the_landscape_points() {
    dlncheck::init_determinism();
    let mut rng = stream_rng(7, Stream::Minimizer);
    let y = faer::mat![[3.0, 0.0], [0.0, 1.9]];
    let eye = Mat::<f64>::identity(2, 2);
    let build = |depth: usize, s: [f64; 2], rng: &mut dlncheck::engine::rng::Rng| {
        let problem = Problem::new(Dln::deep(2, 2, 2, depth), Objective::Matrix { target: y.clone() })
            .unwrap()
            .with_l2(1.0);
        let ws = lowrank::balanced_factors(eye.as_ref(), &s, eye.as_ref(), depth, 2, rng);
        let theta = problem.model.flatten(&ws);
        (problem, theta)
    };
    let s3 = ScalarProblem::new(3.0, 1.0, 3).critical_points().plus.unwrap();
    let s19 = ScalarProblem::new(1.9, 1.0, 3).critical_points().plus.unwrap();
    let (p, th) = build(3, [s3, s19], &mut rng);
    let (loss, g) = p.loss_and_gradient(&th);
    assert!(dlncheck::engine::linalg::norm(&g) < 1e-10);
    assert!((loss - 4.753958).abs() < 1e-6);
    let gh = lowrank::hessian_modulo_gauge(&p, &th);
    assert_eq!(gh.gauge_dim, 2);
    assert!(gh.gauge_residual < 1e-12);
    assert!(gh.transverse[0] > 1e-3);
    let (p, th) = build(3, [0.0, s19], &mut rng);
    assert!(lowrank::hessian_modulo_gauge(&p, &th).transverse[0] < -1e-3);
    // L = 2: s = (σ_1 − λ, 0) = (2, 0) has the eigenvalue λ − σ_2 = −0.9.
    let (p, th) = build(2, [2.0, 0.0], &mut rng);
    let gh = lowrank::hessian_modulo_gauge(&p, &th);
    assert!((gh.transverse[0] + 0.9).abs() < 1e-12, "{}", gh.transverse[0]);
}

/// Newton polishing converges to the critical point it starts near.
#[test]
fn newton_polish_reaches_rounding_level() {
    dlncheck::init_determinism();
    let mut rng = stream_rng(9, Stream::Minimizer);
    let y = faer::mat![[3.0, 0.0], [0.0, 2.2]];
    let eye = Mat::<f64>::identity(2, 2);
    let problem = Problem::new(Dln::deep(2, 2, 2, 3), Objective::Matrix { target: y }).unwrap().with_l2(1.0);
    let s3 = ScalarProblem::new(3.0, 1.0, 3).critical_points().plus.unwrap();
    let ws = lowrank::balanced_factors(eye.as_ref(), &[s3, 0.0], eye.as_ref(), 3, 2, &mut rng);
    let mut theta = problem.model.flatten(&ws);
    let noise = dlncheck::engine::rng::normals(&mut rng, theta.len());
    theta.iter_mut().zip(&noise).for_each(|(t, n)| *t += 1e-4 * n);
    let (polished, g) = lowrank::newton_polish(&problem, &theta, 10);
    assert!(g < 1e-12, "{g}");
    assert!((problem.loss(&polished) - 5.276760).abs() < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Dynamics helpers.
// ---------------------------------------------------------------------------------------------

/// Least squares with a Student-t interval against hand computation: x = 0..4, y = 1 + 2x + e with
/// e = (0.1, −0.1, 0, 0.1, −0.1): ȳ = 5, Sxx = 10, Sxy = 2·Sxx + Σ(x − 2)e = 20 − 0.2, so the
/// slope is 1.98 and the intercept 5 − 2·1.98; residual variance SSE/3 and
/// t_{0.975,3} = 3.182446305284263.
#[test]
fn linear_fit_against_hand_computation() {
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let e = [0.1, -0.1, 0.0, 0.1, -0.1];
    let y: Vec<f64> = x.iter().zip(&e).map(|(x, e)| 1.0 + 2.0 * x + e).collect();
    let pts: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    let f = LinearFit::fit(&pts).unwrap();
    let (slope_lo, slope_hi) = f.slope_interval(0.95);
    let slope = 1.98;
    assert!((f.slope - slope).abs() < 1e-14);
    assert!((f.intercept - (5.0 - 2.0 * slope)).abs() < 1e-14);
    let sse: f64 = x.iter().zip(&y).map(|(x, y)| (y - f.intercept - slope * x).powi(2)).sum();
    let half = 3.182446305284263 * (sse / 3.0 / 10.0).sqrt();
    assert!((slope_hi - f.slope - half).abs() < 1e-9);
    assert!((f.slope - slope_lo - half).abs() < 1e-9);
    // R² = 1 − SSE/Syy with Syy = Σ(y − 5)² computed by hand.
    let syy: f64 = y.iter().map(|y| (y - 5.0).powi(2)).sum();
    assert!((f.r_squared - (1.0 - sse / syy)).abs() < 1e-14);
}

#[test]
fn plateau_detection_on_a_synthetic_staircase() {
    // Loss 10 until t = 2, a fast drop to 2.5, flat until 5, drop to 0.5, flat until 12, then 0.
    let times: Vec<f64> = (0..400).map(|i| 0.05 * i as f64).collect();
    let step = |t: f64, t0: f64| 1.0 / (1.0 + (-(t - t0) * 20.0).exp());
    let losses: Vec<f64> =
        times.iter().map(|&t| 10.0 - 7.5 * step(t, 2.0) - 2.0 * step(t, 5.0) - 0.5 * step(t, 12.0)).collect();
    let p = lowrank::detect_plateaus(&times, &losses, 0.02, 0.5, 1.25, 0.01);
    assert_eq!(p.len(), 3, "{p:?}");
    for (pl, (level, start, end)) in p.iter().zip([(10.0, 0.0, 2.0), (2.5, 2.0, 5.0), (0.5, 5.0, 12.0)]) {
        assert!((pl.level - level).abs() < 0.02 * level, "{pl:?}");
        assert!(pl.start >= start && pl.end <= end, "{pl:?}");
        assert!(pl.end - pl.start > 0.6 * (end - start), "{pl:?}");
    }
    // A smooth exponential decay has none.
    let decay: Vec<f64> = times.iter().map(|t| 10.0 * (-t).exp()).collect();
    assert!(lowrank::detect_plateaus(&times, &decay, 0.02, 0.5, 1.25, 1e-6).is_empty());
    assert_eq!(lowrank::plateau_levels(&[4.0, 2.0, 1.0]), vec![10.5, 2.5, 0.5, 0.0]);
}

/// The imbalance decays exactly as e^{−2λt} along snapshots (the claim's core identity, here on
/// a rectangular network with completion loss, where the identity still holds).
#[test]
fn imbalance_decay_on_completion() {
    dlncheck::init_determinism();
    let mut rng = stream_rng(11, Stream::Data);
    let y = Mat::from_fn(3, 4, |_, _| dlncheck::engine::rng::normal(&mut rng));
    let mask = Mat::from_fn(3, 4, |i, j| if (i + 2 * j) % 3 == 0 { 0.0 } else { 1.0 });
    let l2 = 0.3;
    let problem =
        Problem::new(Dln::deep(4, 5, 3, 3), Objective::Completion { target: y, mask }).unwrap().with_l2(l2);
    let theta0 = dlncheck::engine::init::gaussian(&problem.model, 0.6, &mut stream_rng(11, Stream::Init));
    let d0 = lowrank::imbalance(&problem.model.trained_weights(&theta0));
    let snaps = lowrank::flow_snapshots(&problem, &theta0, &[0.5, 1.5, 3.0], 1e-11, |_| false).unwrap();
    assert_eq!(snaps.len(), 4);
    for s in &snaps[1..] {
        let d = lowrank::imbalance(&problem.model.trained_weights(&s.theta));
        for (dl, dl0) in d.iter().zip(&d0) {
            let want = dl0 * faer::Scale((-2.0 * l2 * s.t).exp());
            assert!((dl - &want).norm_l2() < 1e-8 * dl0.norm_l2(), "t = {}", s.t);
        }
    }
}

/// The NTK scale κ = 1 + (L−1)w/d_in against a Monte Carlo average of the kernel applied to G:
/// Θ(G) = Σ_ℓ a_ℓa_ℓᵀ G B_ℓᵀB_ℓ is what J Jᵀ does to vec(G).
#[test]
fn ntk_scale_matches_the_mean_kernel() {
    dlncheck::init_determinism();
    let (d, w, depth) = (3, 64, 3);
    let target = Mat::<f64>::zeros(d, d);
    let problem = Problem::new(Dln::deep(d, w, d, depth), Objective::Matrix { target }).unwrap();
    let mut rng = stream_rng(13, Stream::Init);
    let mut trace = 0.0;
    let draws = 20;
    for _ in 0..draws {
        let theta = lowrank::ntk_init(&problem, &mut rng);
        let k = dlncheck::engine::hessian::jacobian_gram(&problem, &theta);
        trace += (0..k.nrows()).map(|i| k[(i, i)]).sum::<f64>() / k.nrows() as f64;
    }
    let mean = trace / draws as f64;
    let kappa = lowrank::ntk_scale(d, w, depth);
    assert!((kappa - (1.0 + 2.0 * 64.0 / 3.0)).abs() < 1e-12);
    assert!((mean / kappa - 1.0).abs() < 0.1, "mean diag {mean} vs κ {kappa}");
}

#[test]
fn linear_model_closed_form() {
    let a0 = faer::mat![[1.0, 2.0], [3.0, 4.0]];
    let y = faer::mat![[0.0, 0.0], [1.0, 1.0]];
    let mask = faer::mat![[1.0, 0.0], [1.0, 1.0]];
    let a = lowrank::linear_model(a0.as_ref(), y.as_ref(), Some(mask.as_ref()), 2f64.ln());
    // Half-way for observed entries; the unobserved (0, 1) entry stays.
    assert_eq!(a, faer::mat![[0.5, 2.0], [2.0, 2.5]]);
}

/// The saddle settings of the figures, read from the property's spec.
fn figure_spec() -> lowrank::SaddleSpec {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.saddle_to_saddle.yaml");
    let (spec, _) = claims::load_spec(&path).unwrap();
    claims::jgshg_saddle_to_saddle::figure_spec(&spec, "spec").unwrap()
}

/// Plateaus are matched to the nearest saddle of any learned set S (levels ½Σ_{i∉S}σ_i², for
/// σ = (4, 2, 1): ∅ 10.5, {3} 10, {2} 8.5, {1} 2.5, {1, 3} 2, {1, 2} 0.5) and consecutive pieces
/// at the same S merge: a synthetic curve at 10.5, 10.45 (a second piece of the same saddle),
/// 8.5 (mode 2 learned first), 0.5, then 0.
#[test]
fn saddle_plateaus_match_learned_sets_and_merge_pieces() {
    let sigma = [4.0, 2.0, 1.0];
    assert_eq!(lowrank::saddle::saddle_level(&sigma, 0b100), 10.0);
    let (set, level, err) = lowrank::saddle::nearest_saddle(&sigma, 10.1);
    assert_eq!((set, level), (0b100, 10.0));
    assert!((err - 0.01).abs() < 1e-14);
    let (set, level, err) = lowrank::saddle::nearest_saddle(&sigma, 8.4);
    assert_eq!((set, level), (0b010, 8.5));
    assert!((err - 0.1 / 8.5).abs() < 1e-15);
    let times: Vec<f64> = (0..500).map(|i| 0.05 * i as f64).collect();
    let level_at = |t: f64| match t {
        t if t < 3.0 => 10.5,
        t if t < 5.0 => 10.45 * 0.99,
        t if t < 10.0 => 8.5,
        t if t < 15.0 => 0.5,
        _ => 0.0,
    };
    let loss: Vec<f64> = times.iter().map(|&t| level_at(t)).collect();
    let rank: Vec<usize> = times
        .iter()
        .map(|&t| {
            if t < 5.0 {
                0
            } else if t < 10.0 {
                1
            } else {
                2
            }
        })
        .collect();
    let rule = lowrank::PlateauRule::new(&sigma, 0.005, 0.5, 0.02);
    let p = lowrank::saddle_plateaus(&times, &loss, &rank, &sigma, &rule);
    assert_eq!(p.len(), 3, "{p:?}");
    assert_eq!((p[0].learned, p[0].level, p[0].rank), (0, 10.5, 0));
    assert!(p[0].start == 0.0 && p[0].end > 4.9, "the two pieces merge: {:?}", p[0]);
    assert!((p[0].rel_error - (1.0 - 10.45 * 0.99 / 10.5)).abs() < 1e-12, "worst piece: {:?}", p[0]);
    assert_eq!((p[1].learned, p[1].expected, p[1].rank, p[1].largest_learned()), (0b010, 8.5, 1, false));
    assert_eq!((p[2].learned, p[2].modes_learned(), p[2].rank, p[2].largest_learned()), (0b011, 2, 2, true));
    assert!(lowrank::saddle::learned_largest_first(&[Some(1.0), Some(2.0), Some(3.0)]));
    assert!(!lowrank::saddle::learned_largest_first(&[Some(1.0), Some(3.0), Some(2.0)]));
    assert!(!lowrank::saddle::learned_largest_first(&[Some(1.0), None, Some(3.0)]));
}

/// A small-initialisation run: the staircase's ranks, escape ordering and levels, on the figure
/// instance, and the figure functions' shapes.
#[test]
fn figure_data_functions() {
    dlncheck::init_determinism();
    let spec = figure_spec();
    let fig = lowrank::staircase_figure(&spec, 2, 1e-6, 0.5, 1).unwrap();
    assert_eq!(fig.plateau_levels, vec![10.5, 2.5, 0.5, 0.0]);
    assert_eq!(fig.small.rank[0], 0);
    assert_eq!(*fig.small.rank.last().unwrap(), 3);
    assert!(fig.large.rank[0] >= 3);
    assert_eq!(fig.small.times.len(), fig.small.loss.len());
    let series = lowrank::escape_time_figure(&spec, &[2, 3], 2, 1).unwrap();
    assert_eq!(series.len(), 2);
    for s in &series {
        assert_eq!(s.escape_times.len(), 2);
        for row in &s.escape_times {
            let t: Vec<f64> = row.iter().map(|t| t.unwrap()).collect();
            assert!(t[0] < t[1] && t[1] < t[2], "largest first: {t:?}");
        }
        // Smaller ε escapes later.
        assert!(s.escape_times[1][0].unwrap() > s.escape_times[0][0].unwrap());
    }
}

/// jgshg.landscape's enumeration, its per-point requirements on synthetic points, and the counts
/// its quick grid reports against the theory (each mode's critical points found here by a sign
/// scan of g′ and plain bisection). The module's name is the claim's mutation-testing filter
/// (`jgshg_landscape::`, .cargo/mutants-claims.toml).
mod jgshg_landscape {
    use super::root;
    use dlncheck::claims::jgshg_landscape::{self, Candidate, PointFacts, judge_origin, judge_point};
    use dlncheck::framework::margins::Margins;
    use dlncheck::framework::property::{GridPoint, Status, Value, Variant};
    use dlncheck::framework::spec::Mode;
    use dlncheck::lowrank::ScalarProblem;

    /// The positive roots of g′(s) = s − σ + λs^{2/L−1}, in increasing order: the sign changes of
    /// s^{1−2/L}(s − σ) + λ on a fine grid of (0, 2σ], each refined by bisection.
    fn roots(sigma: f64, l2: f64, depth: usize) -> Vec<f64> {
        let e = 1.0 - 2.0 / depth as f64;
        let f = |s: f64| s.powf(e) * (s - sigma) + l2;
        let n = 100_000;
        let grid: Vec<f64> = (1..=n).map(|i| 2.0 * sigma * i as f64 / n as f64).collect();
        grid.windows(2).filter(|w| (f(w[0]) > 0.0) != (f(w[1]) > 0.0)).map(|w| root(f, w[0], w[1])).collect()
    }

    /// g(s) = ½(s − σ)² + (λL/2)s^{2/L}.
    fn g(s: f64, sigma: f64, l2: f64, depth: usize) -> f64 {
        let l = depth as f64;
        0.5 * (s - sigma).powi(2) + 0.5 * l2 * l * s.powf(2.0 / l)
    }

    fn scalar(sigma: [f64; 2], l2: f64, depth: usize) -> Vec<ScalarProblem> {
        sigma.iter().map(|&s| ScalarProblem::new(s, l2, depth)).collect()
    }

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (0..2).all(|i| (a[i] - b[i]).abs() <= 1e-9 * (1.0 + b[i].abs()))
    }

    fn which(c: &[Candidate], f: impl Fn(&Candidate) -> bool) -> Vec<[f64; 2]> {
        c.iter().filter(|c| f(c)).map(|c| c.s).collect()
    }

    #[test]
    fn candidates_by_hand() {
        // L = 3, λ = 1, σ = (3, 1.9): each mode has s₋ < s₊ (the roots of g′).
        let (r1, r2) = (roots(3.0, 1.0, 3), roots(1.9, 1.0, 3));
        assert_eq!((r1.len(), r2.len()), (2, 2));
        let (p1, p2) = (r1[1], r2[1]);
        assert!((p1 - 2.235174).abs() < 5e-7 && (p2 - 0.840276).abs() < 5e-7);
        let c = jgshg_landscape::candidates(&scalar([3.0, 1.9], 1.0, 3));
        assert_eq!(c.len(), 9);
        let want_order = [0.0, r1[0], p1];
        for (k, cand) in c.iter().enumerate() {
            let want = [want_order[k / 3], [0.0, r2[0], p2][k % 3]];
            assert!(close(cand.s, want), "{k}: {:?} vs {want:?}", cand.s);
            assert_eq!(cand.at_minus, k / 3 == 1 || k % 3 == 1, "{k}");
            assert_eq!(cand.on_off, k / 3 != 1 && k % 3 != 1, "{k}");
        }
        let top = which(&c, |c| c.top_k);
        assert_eq!(top.len(), 3);
        assert!(close(top[0], [0.0, 0.0]) && close(top[1], [p1, 0.0]) && close(top[2], [p1, p2]));
        // The larger σ second: the top-k points switch mode 2 on first.
        let c = jgshg_landscape::candidates(&scalar([1.9, 3.0], 1.0, 3));
        let top = which(&c, |c| c.top_k);
        assert_eq!(top.len(), 3);
        assert!(close(top[0], [0.0, 0.0]) && close(top[1], [0.0, p1]) && close(top[2], [p2, p1]));
        // L = 2: s₊ = σ − λ, no s₋; (0, s₊) is on/off but not top-k.
        let c = jgshg_landscape::candidates(&scalar([3.0, 1.9], 1.0, 2));
        assert_eq!(c.len(), 4);
        assert!(c.iter().all(|c| !c.at_minus && c.on_off));
        let top = which(&c, |c| c.top_k);
        assert_eq!(top.len(), 3);
        assert!(close(top[0], [0.0, 0.0]) && close(top[1], [2.0, 0.0]) && close(top[2], [2.0, 0.9]));
        // L = 3, σ₂ = 1 below the existence threshold: mode 2 has only 0.
        assert!(roots(1.0, 1.0, 3).is_empty());
        let c = jgshg_landscape::candidates(&scalar([3.0, 1.0], 1.0, 3));
        assert_eq!(c.len(), 3);
        assert_eq!(which(&c, |c| c.at_minus).len(), 1);
        assert_eq!(which(&c, |c| c.top_k).len(), 2);
    }

    /// Each requirement fails exactly where it should, at the exact ±hess_tol boundaries.
    #[test]
    fn judge_point_on_synthetic_points() {
        let tol = 1e-3;
        let failed = |facts: PointFacts, min_t: f64| {
            let mut m = Margins::default();
            judge_point(&facts, min_t, tol, &mut m);
            m.failed
        };
        let p = |depth, is_global, at_minus, top_k| PointFacts { depth, is_global, at_minus, top_k };
        let none: Vec<String> = Vec::new();
        // Non-degenerate: |min_t| ≥ tol, boundaries included.
        assert_eq!(failed(p(3, false, false, false), tol), none);
        assert_eq!(failed(p(3, false, false, false), -tol), none);
        assert_eq!(failed(p(3, false, false, false), 0.5 * tol), ["non-degenerate"]);
        assert_eq!(failed(p(3, false, false, false), -0.5 * tol), ["non-degenerate"]);
        // The global minimum must be a local minimum.
        assert_eq!(failed(p(3, true, false, false), -1.0), ["global minimum is a local minimum"]);
        assert_eq!(failed(p(2, true, false, false), 1.0), none);
        // A mode at s₋: a strict saddle.
        assert_eq!(failed(p(3, false, true, false), 1.0), ["s₋ points are strict saddles"]);
        assert_eq!(failed(p(3, false, true, false), -1.0), none);
        // L = 2: non-global points are strict saddles; not required at L = 3.
        assert_eq!(failed(p(2, false, false, false), 1.0), ["L = 2: non-global points are strict saddles"]);
        assert_eq!(failed(p(3, false, false, false), 1.0), none);
        // L ≥ 3 (3 included): top-k points are local minima; not required at L = 2.
        assert_eq!(failed(p(3, false, false, true), -1.0), ["L ≥ 3: top-k points are local minima"]);
        assert_eq!(failed(p(4, false, false, true), -1.0), ["L ≥ 3: top-k points are local minima"]);
        assert_eq!(failed(p(2, false, false, true), -1.0), none);
    }

    /// The search's tally and requirements on synthetic end points.
    #[test]
    fn search_counts_on_synthetic_end_points() {
        use jgshg_landscape::{Kind, SearchCounts};
        let mut c = SearchCounts::default();
        c.add(Kind::StrictSaddle, 1.0, 9.0, 5.0);
        c.add(Kind::Degenerate, 1.0, 9.0, 5.0);
        c.add(Kind::LocalMin, 1e-6, 9.0, 5.0); // at the origin (‖θ‖ ≤ 1e-6)
        c.add(Kind::LocalMin, 2e-6, 5.0, 5.0); // global: loss not above the bound
        c.add(Kind::LocalMin, 1.0, 5.5, 5.0); // non-global
        assert_eq!(c, SearchCounts { minima: 3, origin: 1, nonglobal: 1, saddles: 2 });
        let failed = |c: SearchCounts, depth, starts, enumerated| {
            let mut m = Margins::default();
            c.judge(depth, starts, enumerated, &mut m);
            m.failed
        };
        let none: Vec<String> = Vec::new();
        let only = |origin, nonglobal| SearchCounts { minima: 4, origin, nonglobal, saddles: 0 };
        let l2 = ["L = 2: search finds only global minima"];
        assert_eq!(failed(only(0, 0), 2, 4, 0), none);
        assert_eq!(failed(only(1, 0), 2, 4, 0), l2);
        assert_eq!(failed(only(0, 1), 2, 4, 0), l2);
        assert_eq!(failed(only(1, 1), 2, 0, 0), none, "no search, no requirement");
        let l3 = ["L ≥ 3: search finds a non-global minimum other than 0"];
        assert_eq!(failed(only(2, 0), 3, 4, 1), l3);
        assert_eq!(failed(only(2, 1), 3, 4, 1), none);
        assert_eq!(failed(only(2, 0), 3, 4, 0), none, "nothing to find");
        assert_eq!(failed(only(2, 0), 3, 0, 1), none, "no search");
    }

    /// L ≥ 3: the origin's loss must exceed the global one by more than loss_tol (strictly).
    #[test]
    fn judge_origin_on_synthetic_losses() {
        let failed = |depth, global: f64, origin: f64| {
            let mut m = Margins::default();
            judge_origin(depth, global, origin, 0.5, &mut m);
            !m.holds()
        };
        assert!(!failed(3, 1.0, 2.0) && !failed(4, 1.0, 1.75));
        assert!(failed(3, 1.0, 1.5), "1 < 1.5 − 0.5 fails at equality");
        assert!(failed(3, 1.0, 1.25) && failed(3, 2.0, 1.0));
        assert!(!failed(2, 2.0, 1.0), "no requirement at L = 2");
    }

    /// Every quick-grid instance reports the counts the theory fixes: with n_i positive roots of
    /// g_i′ per mode there are Π(1 + n_i) balanced critical points; for L = 2 one local minimum
    /// (the global one) and strict saddles elsewhere; for L ≥ 3 the top-k points are the local
    /// minima (1 + k_max of them, k_max the leading modes with an s₊), all others strict saddles,
    /// and those other than the origin and the global minimum are the non-global minima. The
    /// search's counts add up to its starts. On the quick grid and two more points (σ₂ = 1 below
    /// mode 2's threshold at L = 3, where the origin is the only non-global minimum; L = 4).
    #[test]
    fn quick_grid_counts_follow_the_theory() {
        dlncheck::init_determinism();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.landscape.yaml");
        let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
        let mut points: Vec<_> =
            spec.instances(Mode::Quick, 0).into_iter().map(|i| (i.point, i.seed)).collect();
        // Beyond the quick grid: σ₂ below the threshold at which mode 2 has critical points (no
        // non-global minimum but the origin), and L = 4.
        let (base, seed) = points[0].clone();
        let few = |p: GridPoint| p.with("starts", Value::Int(2)).with("rotate", Value::Bool(false));
        points.push((few(base.clone().with("depth", Value::Int(3)).with("sigma2", Value::Float(1.0))), seed));
        points.push((few(base.with("depth", Value::Int(4))), seed));
        let mut depths = std::collections::BTreeSet::new();
        let mut nonglobal_counts = std::collections::BTreeSet::new();
        for (pt, seed) in &points {
            let m = claim.measure(pt, *seed, Variant::Claim).unwrap();
            let v = &m.values;
            let tag = format!("{:?}", pt.0);
            assert_eq!(m.status, Status::Holds, "{tag}: {m:?}");
            let (depth, l2) = (pt.usize("depth"), pt.f64("l2"));
            depths.insert(depth);
            let sigma = [pt.f64("sigma1"), pt.f64("sigma2")];
            let r: Vec<Vec<f64>> = sigma.iter().map(|&s| roots(s, l2, depth)).collect();
            let plus: Vec<Option<f64>> = r.iter().map(|r| r.last().copied()).collect();
            let total: usize = r.iter().map(|r| 1 + r.len()).product();
            let order = if sigma[0] >= sigma[1] { [0, 1] } else { [1, 0] };
            let k_max = order.iter().take_while(|&&i| plus[i].is_some()).count();
            let argmin = |i: usize| {
                plus[i].filter(|&s| g(s, sigma[i], l2, depth) < g(0.0, sigma[i], l2, depth)).unwrap_or(0.0)
            };
            let global: f64 = (0..2).map(|i| g(argmin(i), sigma[i], l2, depth)).sum();
            let global_is_origin = (0..2).all(|i| argmin(i) == 0.0);
            let minima = if depth == 2 { 1 } else { 1 + k_max };
            let nonglobal = if depth == 2 { 0 } else { k_max - usize::from(!global_is_origin) };
            assert_eq!(v["enumerated_local_minima"], minima as f64, "{tag}");
            assert_eq!(v["enumerated_strict_saddles"], (total - minima) as f64, "{tag}");
            assert_eq!(v["enumerated_degenerate"], 0.0, "{tag}");
            assert_eq!(v["enumerated_nonglobal_minima"], nonglobal as f64, "{tag}");
            nonglobal_counts.insert(nonglobal);
            assert!(
                (v["global_loss"] - global).abs() <= 1e-9 * global,
                "{tag}: {} vs {global}",
                v["global_loss"]
            );
            assert!(v["worst_loss_error"] <= pt.f64("loss_tol"), "{tag}");
            assert!(v["worst_grad_norm"] <= pt.f64("grad_tol"), "{tag}");
            assert!(v["min_abs_transverse_eigenvalue"] >= pt.f64("hess_tol"), "{tag}");
            if depth >= 3 {
                let on_off: usize = plus.iter().map(|p| 1 + usize::from(p.is_some())).product();
                assert_eq!(v["top_k_rule_points"], on_off as f64, "{tag}");
                assert_eq!(v["top_k_rule_agreement"], 1.0, "{tag}");
                assert!(v["origin_hessian_minus_l2_max"] <= 1e-12, "{tag}");
            } else {
                assert_eq!(v["top_k_rule_points"], 0.0, "{tag}");
                assert!(v["top_k_rule_agreement"].is_nan() && !v.contains_key("origin_hessian_minus_l2_max"));
            }
            // The search: every start ends at a local minimum or a saddle.
            let (found, saddles) = (v["search_local_minima"], v["search_saddles"]);
            assert_eq!(found + saddles, pt.usize("starts") as f64, "{tag}");
            assert!(v["search_origin"] + v["search_nonglobal_minima"] <= found, "{tag}");
            if depth == 2 {
                assert_eq!((v["search_origin"], v["search_nonglobal_minima"]), (0.0, 0.0), "{tag}");
            } else if nonglobal > 0 {
                assert!(v["search_nonglobal_minima"] >= 1.0, "{tag}");
            }
        }
        assert_eq!(depths.into_iter().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(nonglobal_counts.into_iter().collect::<Vec<_>>(), [0, 1], "both cases met");
    }

    /// At L = 3 the origin is a local minimum with a basin: starts of std 0.01 all fall into it.
    /// The search then finds no non-global minimum other than 0 while the enumeration has one,
    /// and the claim's requirement on the search fails: the requirement has teeth.
    #[test]
    fn a_search_that_only_finds_the_origin_fails() {
        dlncheck::init_determinism();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.landscape.yaml");
        let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
        let inst = spec.instances(Mode::Quick, 0).into_iter().find(|i| i.point.usize("depth") == 3).unwrap();
        let pt = inst
            .point
            .with("starts", Value::Int(3))
            .with("start_std_min", Value::Float(0.01))
            .with("start_std_max", Value::Float(0.02));
        let m = claim.measure(&pt, inst.seed, Variant::Claim).unwrap();
        let v = &m.values;
        assert_eq!(
            (v["search_local_minima"], v["search_origin"], v["search_saddles"]),
            (3.0, 3.0, 0.0),
            "{m:?}"
        );
        assert_eq!(v["search_nonglobal_minima"], 0.0);
        assert_eq!(m.status, Status::Violated);
        assert_eq!(m.note.as_deref(), Some("failed: L ≥ 3: search finds a non-global minimum other than 0"));
    }

    /// Without L2 the origin at L = 3 is degenerate (∇²ℓ(0) = 0), counted as such and failing.
    #[test]
    fn without_l2_the_origin_is_degenerate() {
        dlncheck::init_determinism();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.landscape.yaml");
        let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
        let inst = spec.control_instances(0, Mode::Quick, 0).remove(0);
        assert_eq!(inst.point.usize("depth"), 3);
        let m = claim.measure(&inst.point, inst.seed, Variant::Control("no_l2")).unwrap();
        assert_eq!(m.status, Status::Violated);
        assert!(m.values["enumerated_degenerate"] >= 1.0, "{m:?}");
        assert!(m.note.as_deref().unwrap_or("").contains("non-degenerate"), "{m:?}");
        assert_eq!(m.values["search_local_minima"] + m.values["search_saddles"], 0.0, "no search without L2");
    }
}

/// The quick grid's first point of a jgshg claim, to vary one parameter at a time.
fn first_quick_point(
    id: &str,
) -> (dlncheck::framework::property::GridPoint, &'static dyn dlncheck::framework::property::Claim) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("properties/{id}.yaml"));
    let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
    (spec.instances(dlncheck::framework::spec::Mode::Quick, 0).remove(0).point, claim)
}

/// jgshg.schatten's hypotheses: hidden width ≥ rank(A) when there is a hidden layer (L > 1);
/// its narrow_width control needs rank ≥ 2 (width rank − 1 ≥ 1). Points outside are errors
/// naming the cause, points on the boundary are measured.
mod jgshg_schatten {
    use dlncheck::framework::property::{Value, Variant};

    #[test]
    fn hypotheses_are_checked_at_their_boundaries() {
        dlncheck::init_determinism();
        let (base, claim) = super::first_quick_point("jgshg.schatten");
        let at = |depth: i64, width: i64, rank: i64| {
            base.clone()
                .with("depth", Value::Int(depth))
                .with("width", Value::Int(width))
                .with("rank", Value::Int(rank))
        };
        let err = claim.measure(&at(3, 1, 2), 1, Variant::Claim).expect_err("width 1 < rank 2").to_string();
        assert!(err.contains("width 1 < rank 2"), "{err}");
        assert!(claim.measure(&at(2, 2, 3), 1, Variant::Control("wrong_exponent")).is_err());
        claim.measure(&at(3, 2, 2), 1, Variant::Claim).expect("width = rank is inside the hypothesis");
        claim.measure(&at(1, 1, 2), 1, Variant::Claim).expect("L = 1 has no hidden layer: width is not used");
        let err =
            claim.measure(&at(3, 4, 1), 1, Variant::Control("narrow_width")).expect_err("rank 1").to_string();
        assert!(err.contains("rank ≥ 2"), "{err}");
        claim.measure(&at(3, 4, 2), 1, Variant::Control("narrow_width")).expect("rank 2: width 1");
    }
}

/// jgshg.local_minima_generalize's claim is stated for σ₂ strictly inside (t₁, t₂): position in
/// (0, 1); the ends are errors, the control moves outside on purpose.
mod jgshg_local_minima_generalize {
    use dlncheck::framework::property::{Value, Variant};

    #[test]
    fn position_must_lie_strictly_inside() {
        dlncheck::init_determinism();
        let (base, claim) = super::first_quick_point("jgshg.local_minima_generalize");
        let at = |p: f64| base.clone().with("position", Value::Float(p));
        for p in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            let err = claim.measure(&at(p), 1, Variant::Claim).expect_err("outside (0, 1)").to_string();
            assert!(err.contains("position"), "{p}: {err}");
        }
        claim.measure(&at(0.5), 1, Variant::Claim).expect("inside");
        claim.measure(&at(1.5), 1, Variant::Control("above_threshold")).expect("the control's own position");
    }
}

/// jgshg.balance_decay's critical-point run, on the quick grid: with λ > 0 the flow continues
/// after the decay horizon to a critical point (polished to ‖∇ℓ‖ ≤ crit_grad) within its time
/// budget, and the point is balanced to `balance_tol`.
mod jgshg_balance_decay {
    use dlncheck::framework::property::{Status, Variant};
    use dlncheck::framework::spec::Mode;

    #[test]
    fn critical_points_are_reached_within_budget_and_balanced() {
        dlncheck::init_determinism();
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.balance_decay.yaml");
        let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
        let mut with_l2 = 0;
        for inst in spec.instances(Mode::Quick, 0) {
            let pt = &inst.point;
            let m = claim.measure(pt, inst.seed, Variant::Claim).unwrap();
            assert_eq!(m.status, Status::Holds, "{m:?}");
            let v = &m.values;
            if pt.f64("l2") == 0.0 {
                assert!(!v.contains_key("time_to_critical"), "no critical-point run without L2");
                continue;
            }
            with_l2 += 1;
            let t = v["time_to_critical"];
            assert!(t > 0.0 && t <= pt.f64("crit_t_max"), "time from the horizon to the critical point {t}");
            assert!(v["critical_grad_norm"] <= pt.f64("crit_grad"));
            assert!(v["imbalance_at_critical"] <= pt.f64("balance_tol"));
            assert!(v["critical_sum_sq"] > 0.0);
        }
        assert!(with_l2 > 0, "the quick grid has λ > 0");
    }
}

/// jgshg.saddle_to_saddle's checks of its grid point: the target's rank fits the network
/// (rank ≤ min(dim, width)) and its spectrum decays (sigma_ratio > 1); points outside are errors
/// naming the cause, before any flow runs.
mod jgshg_saddle_to_saddle {
    use dlncheck::framework::property::{Value, Variant};

    /// The figures' settings are the spec's: the grid point of the largest σ ratio (2: σ = 4·2^{−k}),
    /// its depths, and the ε range whose L ≥ 3 bounds are the (L−2)-th roots of ε^{L−2}.
    #[test]
    fn figure_settings_come_from_the_spec() {
        let s = super::figure_spec();
        assert_eq!(s.depths, vec![2, 3, 4]);
        assert_eq!((s.dim, s.width), (5, 6));
        assert_eq!(s.sigma, vec![4.0, 2.0, 1.0]);
        assert_eq!(s.eps.bounds(2), (1e-6, 1e-9));
        assert_eq!(s.eps.bounds(3), (5e-4, 5e-5));
        let (hi, lo) = s.eps.bounds(4);
        assert!((hi * hi / 5e-4 - 1.0).abs() < 1e-15 && (lo * lo / 5e-5 - 1.0).abs() < 1e-15);
        let g = s.eps.grid(4, 5);
        assert_eq!(g.len(), 5);
        assert!((g[0] / hi - 1.0).abs() < 1e-15 && (g[4] / lo - 1.0).abs() < 1e-15);
        for w in g.windows(3) {
            assert!((w[0] * w[2] / (w[1] * w[1]) - 1.0).abs() < 1e-14, "geometric: {g:?}");
        }
        let o = s.flow.staircase_options(&s.sigma);
        assert_eq!((o.rank_threshold, o.stop_loss, o.t_first), (0.1, 5e-4, 1e-2));
        let rule = s.plateau_rule();
        assert_eq!((rule.band, rule.min_duration, rule.level_tol, rule.floor), (0.02, 0.5, 0.02, 5e-3));
    }

    /// Hostile spec values for the figures are errors naming the field, not panics.
    #[test]
    fn figure_settings_reject_a_bad_spec() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.saddle_to_saddle.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        for (from, to, want) in [
            ("sigma_ratio: [2.0, 1.5]", "sigma_ratio: [1.0, 0.5]", "sigma_ratio must exceed 1"),
            ("rank: 3", "rank: 7", "rank 7 > min(dim, width)"),
        ] {
            assert!(text.contains(from));
            let spec =
                dlncheck::framework::spec::Spec::parse(&text.replacen(from, to, 1), "bad.yaml").unwrap();
            let e = dlncheck::claims::jgshg_saddle_to_saddle::figure_spec(&spec, "bad.yaml").unwrap_err();
            assert_eq!((e.file.as_str(), e.key.as_str(), e.message.as_str()), ("bad.yaml", "grid", want));
        }
        // rank = min(dim, width) = 5 is inside: five geometric singular values.
        let spec = dlncheck::framework::spec::Spec::parse(&text.replacen("rank: 3", "rank: 5", 1), "ok.yaml")
            .unwrap();
        let s = dlncheck::claims::jgshg_saddle_to_saddle::figure_spec(&spec, "ok.yaml").unwrap();
        assert_eq!(s.sigma, vec![4.0, 2.0, 1.0, 0.5, 0.25]);
    }

    #[test]
    fn the_escape_order_is_asserted_for_l2_or_well_separated_spectra() {
        use dlncheck::claims::jgshg_saddle_to_saddle::order_asserted;
        assert!(order_asserted(2, 1.5) && order_asserted(2, 2.0));
        assert!(order_asserted(3, 2.0) && order_asserted(4, 3.0));
        assert!(!order_asserted(3, 1.5) && !order_asserted(3, 1.99) && !order_asserted(5, 1.0));
    }

    /// The tally over the ε grid, on synthetic runs: one run out of order makes `largest_first`
    /// false for the grid, the plateau counts add (2 + 3 + 0), the level error is the largest.
    #[test]
    fn the_tally_over_runs_by_hand() {
        use dlncheck::claims::jgshg_saddle_to_saddle::Tally;
        use dlncheck::lowrank::saddle::{RunAnalysis, SaddlePlateau};
        let plateau = |rel_error: f64| SaddlePlateau {
            start: 0.0,
            end: 1.0,
            level: 1.0,
            learned: 0,
            expected: 1.0,
            rel_error,
            rank: 0,
        };
        let run = |times: Vec<Option<f64>>, errors: &[f64]| RunAnalysis {
            initial_rank: 0,
            final_rank: 2,
            rank_changes: vec![1, 1],
            plateaus: errors.iter().map(|&e| plateau(e)).collect(),
            escape_times: times,
        };
        let mut t = Tally::new();
        assert_eq!(t, Tally { all_first: true, plateaus: 0, worst_level: 0.0 });
        assert_eq!(t, Tally::default());
        t.add(&run(vec![Some(1.0), Some(2.0)], &[0.01, 0.03]));
        assert_eq!(t, Tally { all_first: true, plateaus: 2, worst_level: 0.03 });
        t.add(&run(vec![Some(3.0), Some(2.0)], &[0.02, 0.005, 0.001]));
        assert_eq!(t, Tally { all_first: false, plateaus: 5, worst_level: 0.03 });
        // A later run in order does not restore it; a run without plateaus adds none.
        t.add(&run(vec![Some(1.0), Some(2.0)], &[]));
        assert_eq!(t, Tally { all_first: false, plateaus: 5, worst_level: 0.03 });
        let mut u = Tally::new();
        u.add(&run(vec![Some(1.0), None], &[0.2]));
        assert_eq!(u, Tally { all_first: false, plateaus: 1, worst_level: 0.2 });
    }

    /// Which escape laws are asserted: mode 1 (the escape from the origin) always, later modes
    /// where the order is.
    #[test]
    fn the_first_escape_is_always_asserted_later_ones_with_the_order() {
        use dlncheck::claims::jgshg_saddle_to_saddle::escape_asserted;
        assert!(escape_asserted(1, 3, 1.5) && escape_asserted(1, 2, 2.0) && escape_asserted(1, 4, 1.1));
        assert!(escape_asserted(2, 2, 1.5) && escape_asserted(3, 3, 2.0));
        assert!(!escape_asserted(2, 3, 1.5) && !escape_asserted(3, 4, 1.99));
    }

    /// The claim's values on its first quick point: one set per mode 1, …, r (named from 1), and
    /// the first escape time is that of the flow from ε_max·Z, recomputed here from the instance
    /// (direction Z of seed 1) and the point's flow settings.
    #[test]
    fn values_name_the_modes_and_the_first_escape_is_the_flow_from_eps_max_z() {
        use dlncheck::claims::jgshg_saddle_to_saddle::{eps_range, flow_settings, spectrum};
        let (base, claim) = super::first_quick_point("jgshg.saddle_to_saddle");
        let m = claim.measure(&base, 1, Variant::Claim).unwrap();
        let (depth, dim, width) = (base.usize("depth"), base.usize("dim"), base.usize("width"));
        let sigma = spectrum(&base).unwrap();
        let r = sigma.len();
        let law = if depth == 2 { "slope_sigma_mode" } else { "exponent_mode" };
        for k in 1..=r {
            assert!(m.values.contains_key(&format!("{law}{k}")), "mode {k}: {:?}", m.values.keys());
        }
        assert!(
            !m.values.contains_key(&format!("{law}0")) && !m.values.contains_key(&format!("{law}{}", r + 1))
        );
        let inst = dlncheck::lowrank::denoising_instance(dim, width, depth, &sigma, 1);
        let flow = flow_settings(&base);
        let eps = eps_range(&base).grid(depth, base.usize("n_eps"))[0];
        let theta0: Vec<f64> = inst.direction.iter().map(|z| eps * z).collect();
        let st =
            dlncheck::lowrank::staircase(&inst.problem, &theta0, &flow.staircase_options(&sigma)).unwrap();
        let t1 =
            st.mode_escape_times(inst.u.as_ref(), inst.v.as_ref(), flow.rank_threshold(&sigma))[0].unwrap();
        assert_eq!(m.values["first_escape_time"], t1);
        assert_eq!(m.values["eps_max_used"], eps);
    }

    /// The fitted laws' reported intervals are centred on their estimates (L = 2 slopes·σ_k,
    /// L ≥ 3 exponents), t_k is linear in ε^{−(L−2)} at L = 3 (R² ≥ 0.99), and at L = 4 the exponent's
    /// tolerance is slope_tol·(L − 2): with slope_tol = e, the largest exponent error measured,
    /// the point holds (2e ≥ e); with slope_tol = e/4 it is violated (e/2 < e).
    #[test]
    fn fitted_laws_and_the_exponent_tolerance_at_l4() {
        use dlncheck::claims::jgshg_saddle_to_saddle::spectrum;
        use dlncheck::framework::property::Status;
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/jgshg.saddle_to_saddle.yaml");
        let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
        let points: Vec<_> =
            spec.instances(dlncheck::framework::spec::Mode::Quick, 0).into_iter().map(|i| i.point).collect();
        let r = spectrum(&points[0]).unwrap().len();
        for p in &points {
            let m = claim.measure(p, 1, Variant::Claim).unwrap();
            let law = if p.usize("depth") == 2 { "slope_sigma" } else { "exponent" };
            for k in 1..=r {
                let (lo, v, hi) = (
                    m.values[&format!("{law}_lo_mode{k}")],
                    m.values[&format!("{law}_mode{k}")],
                    m.values[&format!("{law}_hi_mode{k}")],
                );
                assert!(lo < v && v < hi, "depth {}, mode {k}: {lo} {v} {hi}", p.usize("depth"));
                // A Student-t interval is symmetric about its estimate.
                assert!((0.5 * (lo + hi) - v).abs() <= 1e-12 * v.abs(), "mode {k}: {lo} {v} {hi}");
                if p.usize("depth") == 3 {
                    assert!(m.values[&format!("linear_r2_mode{k}")] >= 0.99, "{m:?}");
                }
            }
        }
        let deep =
            points.iter().find(|p| p.usize("depth") == 3).unwrap().clone().with("depth", Value::Int(4));
        let m = claim.measure(&deep, 1, Variant::Claim).unwrap();
        assert_eq!(m.status, Status::Holds);
        let e = (1..=r).map(|k| (m.values[&format!("exponent_mode{k}")] - 2.0).abs()).fold(0.0, f64::max);
        assert!(e > 0.0);
        let at =
            |tol: f64| claim.measure(&deep.clone().with("slope_tol", Value::Float(tol)), 1, Variant::Claim);
        assert_eq!(at(e).unwrap().status, Status::Holds, "tolerance 2e");
        assert_eq!(at(e / 4.0).unwrap().status, Status::Violated, "tolerance e/2");
    }

    #[test]
    fn grid_points_outside_the_setting_are_errors() {
        let (base, claim) = super::first_quick_point("jgshg.saddle_to_saddle");
        let (dim, width) = (base.usize("dim"), base.usize("width"));
        let too_high = dim.min(width) as i64 + 1;
        let err = claim.measure(&base.clone().with("rank", Value::Int(too_high)), 1, Variant::Claim);
        let err = err.expect_err("rank above min(dim, width)").to_string();
        assert!(err.contains(&format!("rank {too_high} > min(dim, width)")), "{err}");
        for ratio in [1.0, 0.5] {
            let err =
                claim.measure(&base.clone().with("sigma_ratio", Value::Float(ratio)), 1, Variant::Claim);
            assert!(err.expect_err("a flat spectrum").to_string().contains("sigma_ratio must exceed 1"));
        }
    }
}
