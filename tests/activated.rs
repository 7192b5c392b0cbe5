//! Networks with a GELU activation (src/engine/activation.rs, src/engine/activated.rs): GELU and
//! its derivatives against reference values, the passes against finite differences and against
//! the linear engine (identity activation), the spectra by two routes, and the gradient-descent
//! step's determinism.

use dlncheck::engine::activated::{self, ActivatedProblem};
use dlncheck::engine::activation::Activation;
use dlncheck::engine::instance::Instance;
use dlncheck::engine::spectrum::{Method, SpectrumOptions};
use dlncheck::io::recipe::{Arch, DataRecipe, Recipe, WeightsRecipe};

/// (x, g(x), g'(x), g''(x)) of g(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), computed with
/// mpmath 1.3.0 at 50 significant digits: g directly from that formula, g' and g'' by
/// `mpmath.diff` (high-precision numerical differentiation, independent of any closed form):
///   mp.mp.dps = 50; c = mp.sqrt(2/mp.pi); k = mp.mpf('0.044715')
///   g = lambda x: x/2*(1 + mp.tanh(c*(x + k*x**3))); mp.diff(g, x), mp.diff(g, x, 2)
#[allow(clippy::excessive_precision)] // the 17 digits mpmath printed, kept verbatim
const GELU_REFERENCE: [(f64, f64, f64, f64); 9] = [
    (-6.0, -8.4396467007622971e-11, -7.7099739309536955e-10, -6.8242472741571894e-9),
    (-3.0, -0.0036373920817730188, -0.011584166630969726, -0.031767658886074704),
    (-1.5, -0.10042842301976708, -0.12771079315143308, -0.030518196484224947),
    (-0.5, -0.15428599017485608, 0.13263009646535769, 0.61550689511598489),
    (0.0, 0.0, 0.5, 0.79788456080286536),
    (0.25, 0.149675350701685, 0.69535409515106043, 0.74894861422365029),
    (1.0, 0.8411919906082767, 1.0829640838457826, 0.24214819798377295),
    (2.0, 1.954597694087775, 1.0860992566236184, -0.10787507995107845),
    (4.5, 4.499994863262588, 1.0000293222704428, -0.00015723144552365507),
];

#[test]
fn gelu_and_its_derivatives_match_high_precision_references() {
    // 1e-13 relative: a few ulp of each of the ~20 operations (the logistic form does not cancel;
    // ½(1 + tanh u) in f64 would be off by 4e-6 relative at x = −6).
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * b.abs() + 1e-300;
    for (x, g, g1, g2) in GELU_REFERENCE {
        let (a, a1, a2) = Activation::Gelu.derivatives(x);
        assert!(close(a, g), "g({x}) = {a}, reference {g}");
        assert!(close(a1, g1), "g'({x}) = {a1}, reference {g1}");
        assert!(close(a2, g2), "g''({x}) = {a2}, reference {g2}");
        let (b, b1) = Activation::Gelu.value_slope(x);
        assert_eq!((b, b1), (a, a1), "the gradient pass's values are the HVP pass's");
    }
    assert_eq!(Activation::Identity.derivatives(-2.5), (-2.5, 1.0, 0.0));
}

/// The fused-multiply-add GELU of gradient descent's lane passes, against the same references
/// (1e-13 relative, as above), and its exponential against the C library's over [−700, 700].
#[test]
fn fused_gelu_matches_high_precision_references() {
    use dlncheck::engine::activation::{exp_fused, gelu_value_slope_fused};
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * b.abs() + 1e-300;
    for (x, g, g1, _) in GELU_REFERENCE {
        let (a, a1) = gelu_value_slope_fused(x);
        assert!(close(a, g), "fused g({x}) = {a}, reference {g}");
        assert!(close(a1, g1), "fused g'({x}) = {a1}, reference {g1}");
    }
    let mut worst = 0.0f64;
    let mut t = -700.0;
    while t <= 700.0 {
        worst = worst.max(((exp_fused(t) - t.exp()) / t.exp()).abs());
        t += 0.0137;
    }
    // A few ulp (2.2e-16 each): the same polynomial as the unfused exponential.
    assert!(worst < 1e-15, "fused exp: worst relative error {worst:e}");
    // Saturation as the unfused GELU: exact 0 and 1 slopes, no NaN, |g| < 1e-200 below.
    for x in [1e12, f64::MAX, -1e12, -f64::MAX, -25.0, 25.0] {
        let (g, g1) = gelu_value_slope_fused(x);
        if x > 0.0 {
            assert_eq!((g, g1), (x, 1.0), "x = {x}");
        } else {
            assert_eq!(g1, 0.0, "x = {x}");
            assert!(g.abs() < 1e-200, "x = {x}: g = {g}");
        }
    }
}

/// Gradient descent's lane passes (samples in lanes of 8, fused multiply-adds) against the
/// general passes, which sum in another order without fusing: loss and gradient agree to
/// 1e-12 relative (of the gradient's norm), on every width with a lane path, sample counts
/// that are and are not multiples of 8, the MLP and the residual network (fixed last row).
#[test]
fn lane_passes_match_the_general_passes() {
    use dlncheck::engine::activated_lanes::Lanes;
    use dlncheck::engine::model::Dln;
    use dlncheck::engine::{init, rng};
    let mut cases = 0;
    for d in 1..=8 {
        for (n, depth) in [(8, 2), (13, 3), (50, 5)] {
            for residual in [false, true] {
                let model = if residual {
                    let p: Vec<f64> = (0..d).map(|j| 0.5 + 0.1 * j as f64).collect();
                    Dln::residual(&p, depth)
                } else {
                    Dln::mlp(d, depth)
                };
                let mut r = rng::stream_rng(11 + d as u64, rng::Stream::Data);
                let xs = rng::normals(&mut r, n * d);
                let x = faer::Mat::from_fn(n, d, |i, j| xs[i * d + j]);
                let y = rng::normals(&mut r, n);
                let problem = ActivatedProblem::new(model.clone(), Activation::Gelu, x.as_ref(), &y).unwrap();
                let theta = init::gaussian(&model, 0.7, &mut rng::stream_rng(3, rng::Stream::Init));
                let (loss, grad) = problem.loss_and_gradient(&theta);
                let mut lanes = Lanes::new(&problem).expect("this shape has a lane path");
                let mut g = vec![f64::NAN; theta.len()];
                let l = lanes.loss_and_gradient_into(&problem, &theta, &mut g);
                let gn = grad.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!((l - loss).abs() <= 1e-12 * loss, "d {d} n {n} L {depth}: loss {l} vs {loss}");
                let err = g.iter().zip(&grad).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
                assert!(
                    err <= 1e-12 * gn,
                    "d {d} n {n} L {depth} residual {residual}: ‖Δ∇‖ {err:e} of {gn:e}"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 48);
    // Shapes without a lane path: width 9, a non-square hidden layer, the identity activation.
    let none = |model: Dln, act: Activation| {
        let d = model.d_in();
        let x = faer::Mat::from_fn(10, d, |i, j| (i + j) as f64 * 0.1);
        let y = vec![0.5; 10];
        Lanes::new(&ActivatedProblem::new(model, act, x.as_ref(), &y).unwrap()).is_none()
    };
    assert!(none(Dln::mlp(9, 3), Activation::Gelu));
    assert!(none(Dln::deep(3, 4, 1, 3), Activation::Gelu));
    assert!(none(Dln::mlp(4, 3), Activation::Identity));
    assert!(none(Dln::mlp(4, 1), Activation::Gelu), "a single layer");
}

fn instance(arch: Arch, d: usize, depth: usize, n: usize, scale: f64, seed: u64) -> Instance {
    let weights = match arch {
        Arch::Mlp => WeightsRecipe::Gaussian { std: scale },
        Arch::Residual => WeightsRecipe::Residual { s: scale },
    };
    let recipe = Recipe {
        architecture: arch,
        d,
        depth,
        data: DataRecipe::Paper { n, noise: 0.5, normalize: true },
        weights,
        train: None,
    };
    let mut inst = recipe.instance(seed).unwrap();
    inst.activation = Activation::Gelu;
    inst
}

fn cases() -> Vec<(&'static str, Instance)> {
    vec![
        ("MLP d=5 L=10 scale 0.6", instance(Arch::Mlp, 5, 10, 20, 0.6, 1)),
        ("MLP d=3 L=4 scale 1.2", instance(Arch::Mlp, 3, 4, 7, 1.2, 2)),
        ("MLP d=4 L=2 scale 0.9", instance(Arch::Mlp, 4, 2, 9, 0.9, 3)),
        ("residual d=3 L=3 s=0.8", instance(Arch::Residual, 3, 3, 6, 0.8, 4)),
        ("MLP d=2 L=1", instance(Arch::Mlp, 2, 1, 5, 1.0, 5)),
    ]
}

fn direction(p: usize, seed: u64) -> Vec<f64> {
    // A fixed pseudo-random direction (no shared code with the engine's streams).
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..p)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

#[test]
fn gradient_and_hvp_match_central_differences() {
    dlncheck::init_determinism();
    for (name, inst) in cases() {
        let problem = inst.activated_problem().unwrap();
        let theta = &inst.theta;
        let p = theta.len();
        let (_, grad) = problem.loss_and_gradient(theta);
        // Gradient: central differences of R along coordinates, h = 1e-5: truncation
        // O(h²·R''') ~ 1e-10, rounding O(ε·R/h) ~ 1e-11.
        let h = 1e-5;
        let gscale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs())).max(1e-3);
        for i in (0..p).step_by((p / 40).max(1)) {
            let mut tp = theta.clone();
            tp[i] += h;
            let mut tm = theta.clone();
            tm[i] -= h;
            let fd = (problem.loss(&tp) - problem.loss(&tm)) / (2.0 * h);
            assert!((fd - grad[i]).abs() <= 1e-6 * gscale, "{name}: ∂R/∂θ_{i} = {} vs {fd}", grad[i]);
        }
        // HVP: central differences of the gradient along v.
        let v = direction(p, 7);
        let mut ws = problem.workspace();
        let mut hv = vec![0.0; p];
        problem.at(&mut ws, theta).hvp(&v, &mut hv);
        let shift = |s: f64| -> Vec<f64> { theta.iter().zip(&v).map(|(t, d)| t + s * d).collect() };
        let (_, gp) = problem.loss_and_gradient(&shift(h));
        let (_, gm) = problem.loss_and_gradient(&shift(-h));
        let hscale = hv.iter().fold(0.0f64, |m, g| m.max(g.abs())).max(1e-3);
        for i in 0..p {
            let fd = (gp[i] - gm[i]) / (2.0 * h);
            assert!((fd - hv[i]).abs() <= 1e-6 * hscale, "{name}: (Hv)_{i} = {} vs {fd}", hv[i]);
        }
    }
}

#[test]
fn identity_activation_reproduces_the_linear_engine_from_raw_data() {
    dlncheck::init_determinism();
    for (name, mut inst) in cases() {
        inst.activation = Activation::Identity;
        let lin = inst.problem().unwrap();
        let raw = inst.activated_problem().unwrap();
        let theta = &inst.theta;
        let p = theta.len();
        let (l1, g1) = lin.loss_and_gradient(theta);
        let (l2, g2) = raw.loss_and_gradient(theta);
        assert!((l1 - l2).abs() <= 1e-12 * l1.abs(), "{name}: loss {l1} vs {l2}");
        let v = direction(p, 3);
        let (mut h1, mut h2) = (vec![0.0; p], vec![0.0; p]);
        let mut ws1 = lin.workspace();
        lin.at(&mut ws1, theta).hvp(&v, &mut h1);
        let mut ws2 = raw.workspace();
        raw.at(&mut ws2, theta).hvp(&v, &mut h2);
        let gs = g1.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let hs = h1.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for i in 0..p {
            assert!((g1[i] - g2[i]).abs() <= 1e-11 * gs, "{name}: gradient {i}: {} vs {}", g1[i], g2[i]);
            assert!((h1[i] - h2[i]).abs() <= 1e-11 * hs, "{name}: HVP {i}: {} vs {}", h1[i], h2[i]);
        }
    }
}

#[test]
fn exact_and_lanczos_extremes_agree_and_the_dense_hessian_is_symmetric() {
    dlncheck::init_determinism();
    for (name, inst) in cases() {
        let problem = inst.activated_problem().unwrap();
        let exact = SpectrumOptions { method: Some(Method::Exact), ..Default::default() };
        let lanczos = SpectrumOptions { method: Some(Method::Lanczos), ..Default::default() };
        let a = activated::hessian_extremes(&problem, &inst.theta, &exact).unwrap();
        let b = activated::hessian_extremes(&problem, &inst.theta, &lanczos).unwrap();
        let scale = a.max.abs().max(a.min.abs());
        assert!((a.max - b.max).abs() <= 1e-8 * scale, "{name}: λ_max {} vs {}", a.max, b.max);
        assert!((a.min - b.min).abs() <= 1e-8 * scale, "{name}: λ_min {} vs {}", a.min, b.min);
        assert_eq!(b.method, Method::Lanczos);
        // The HVP operator is symmetric before symmetrisation: uᵀHv = vᵀHu.
        let p = inst.theta.len();
        let (u, v) = (direction(p, 11), direction(p, 12));
        let (mut hu, mut hv) = (vec![0.0; p], vec![0.0; p]);
        let mut ws = problem.workspace();
        let mut pt = problem.at(&mut ws, &inst.theta);
        pt.hvp(&u, &mut hu);
        pt.hvp(&v, &mut hv);
        let (uhv, vhu): (f64, f64) =
            (u.iter().zip(&hv).map(|(a, b)| a * b).sum(), v.iter().zip(&hu).map(|(a, b)| a * b).sum());
        assert!((uhv - vhu).abs() <= 1e-12 * scale * p as f64, "{name}: uᵀHv {uhv} vs vᵀHu {vhu}");
    }
}

#[test]
fn a_reused_workspace_gives_the_same_bits() {
    let inst = instance(Arch::Mlp, 5, 10, 50, 0.5, 9);
    let problem = inst.activated_problem().unwrap();
    let mut ws = problem.workspace();
    let mut theta = inst.theta.clone();
    let mut g = vec![0.0; theta.len()];
    for _ in 0..50 {
        problem.loss_and_gradient_into(&mut ws, &theta, &mut g);
        theta.iter_mut().zip(&g).for_each(|(t, g)| *t -= 0.05 * g);
    }
    let (loss_fresh, g_fresh) = problem.loss_and_gradient(&theta);
    let loss_reused = problem.loss_and_gradient_into(&mut ws, &theta, &mut g);
    assert_eq!(loss_fresh.to_bits(), loss_reused.to_bits());
    assert_eq!(g_fresh, g);
}

#[test]
fn bad_data_is_refused_naming_the_field() {
    let inst = instance(Arch::Mlp, 3, 2, 4, 0.5, 1);
    let mut y = inst.data.y.clone();
    y[2] = f64::NAN;
    let err =
        ActivatedProblem::new(inst.model.clone(), Activation::Gelu, inst.data.x.as_ref(), &y).unwrap_err();
    assert!(err.to_string().starts_with("y[2]"), "{err}");
    let err = ActivatedProblem::new(inst.model.clone(), Activation::Gelu, inst.data.x.as_ref(), &y[..3])
        .unwrap_err();
    assert!(err.to_string().starts_with("y:"), "{err}");
}
