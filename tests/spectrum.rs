//! Eigenvalues and closed forms against independent references: Lanczos against the dense
//! eigen-decomposition, 2JᵀΣJ against the full Hessian at (and off) minimisers, and the closed
//! forms LB, S_bal, S_min against exact Hessians of constructed minimisers and brute force.

mod common;

use common::*;
use dlncheck::engine::bounds;
use dlncheck::engine::data::{self, Direction, SpectrumSpec};
use dlncheck::engine::hessian;
use dlncheck::engine::init;
use dlncheck::engine::linalg;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::{Objective, Regression};
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use dlncheck::engine::spectrum::{self, Method, SpectrumOptions};

fn exact() -> SpectrumOptions {
    SpectrumOptions { method: Some(Method::Exact), ..SpectrumOptions::default() }
}

fn lanczos() -> SpectrumOptions {
    SpectrumOptions { method: Some(Method::Lanczos), tol: 1e-11, ..SpectrumOptions::default() }
}

#[test]
fn lanczos_agrees_with_dense_eigenvalues() {
    dlncheck::init_determinism();
    let cases = [
        mlp_problem(5, 10, 1),
        residual_problem(4, 6, 2),
        matrix_problem(3, 6, 3, 3, 3, 0.05),
        completion_problem(5, 5, 3, 4, 0.0),
    ];
    for (c, problem) in cases.iter().enumerate() {
        let theta = point(problem, 0.5, 20 + c as u64);
        let e = spectrum::hessian_extremes(problem, &theta, &exact()).unwrap();
        let l = spectrum::hessian_extremes(problem, &theta, &lanczos()).unwrap();
        let scale = e.max.abs().max(e.min.abs());
        assert!((e.max - l.max).abs() <= 1e-9 * scale, "case {c}: max {} vs {}", e.max, l.max);
        assert!((e.min - l.min).abs() <= 1e-9 * scale, "case {c}: min {} vs {}", e.min, l.min);
        assert_eq!(l.method, Method::Lanczos);
        // Top-3 too.
        let (te, _) = spectrum::hessian_top(problem, &theta, 3, &exact()).unwrap();
        let (tl, _) = spectrum::hessian_top(problem, &theta, 3, &lanczos()).unwrap();
        for (a, b) in te.iter().zip(&tl) {
            assert!((a - b).abs() <= 1e-8 * scale, "case {c}: top-3 {te:?} vs {tl:?}");
        }
    }
}

#[test]
fn dense_eigen_decomposition_residuals_are_small() {
    // Trust, but verify faer: ‖HU − UΛ‖ and ‖UᵀU − I‖ at machine precision.
    dlncheck::init_determinism();
    let problem = mlp_problem(4, 4, 5);
    let theta = point(&problem, 0.6, 5);
    let h = hessian::dense_hessian(&problem, &theta);
    let (vals, u) = linalg::sym_eigen(h.as_ref());
    let p = vals.len();
    let hu = linalg::matmul_owned(h.as_ref(), u.as_ref());
    let utu = linalg::matmul_owned(u.transpose(), u.as_ref());
    let scale = vals[p - 1].abs().max(vals[0].abs());
    for i in 0..p {
        for j in 0..p {
            assert!((hu[(i, j)] - u[(i, j)] * vals[j]).abs() < 1e-12 * scale);
            assert!((utu[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
        }
    }
}

fn minimizers(problem: &Problem, seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    let reg = problem.objective.regression().unwrap();
    let mut rng = stream_rng(seed, Stream::Minimizer);
    vec![
        ("balanced", init::balanced(&problem.model, &reg.w_star)),
        ("random unbalanced", init::random_minimizer(&problem.model, &reg.w_star, 0.8, &mut rng)),
        ("S_min attaining", init::min_sharpness_minimizer(&problem.model, reg, &mut rng)),
        (
            "rescaled",
            init::rescale_first_two(&problem.model, &init::balanced(&problem.model, &reg.w_star), 2.5),
        ),
    ]
}

#[test]
fn hessian_equals_gauss_newton_at_minimizers_only() {
    dlncheck::init_determinism();
    for (arch, problem) in [("mlp", mlp_problem(4, 4, 7)), ("residual", residual_problem(3, 5, 8))] {
        let reg = problem.objective.regression().unwrap();
        for (kind, theta) in minimizers(&problem, 9) {
            // It is a global minimiser: R = R_min and ∇R = 0 up to rounding.
            let (loss, g) = problem.loss_and_gradient(&theta);
            assert!(
                loss - reg.risk_min < 1e-12 * (1.0 + reg.risk_min),
                "{arch} {kind}: excess {}",
                loss - reg.risk_min
            );
            assert!(max_abs(&g) < 1e-10, "{arch} {kind}: gradient {}", max_abs(&g));
            let h = hessian::dense_hessian(&problem, &theta);
            let gn = hessian::gauss_newton(&problem, &theta);
            let p = theta.len();
            let scale = (0..p).map(|i| h[(i, i)].abs()).fold(1.0, f64::max);
            let diff = (0..p)
                .flat_map(|i| (0..p).map(move |j| (i, j)))
                .map(|(i, j)| (h[(i, j)] - gn[(i, j)]).abs())
                .fold(0.0, f64::max);
            assert!(diff < 1e-10 * scale, "{arch} {kind}: ‖H − 2JᵀΣJ‖ = {diff:e}");
            // Its sharpness is 2λ_max(Σ^{1/2}KΣ^{1/2}), O(P·d²) instead of O(P³).
            let s = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
            let s_gn = bounds::minimizer_sharpness(&problem, &theta);
            assert!(rel_err(s, s_gn) < 1e-10, "{arch} {kind}: {s} vs {s_gn}");
            // Control: perturbing W_L leaves the minimiser set and the residual term appears.
            let mut off = theta.clone();
            let last = problem.model.layers().len() - if arch == "residual" { 2 } else { 1 };
            let range = problem.model.param_range(last).unwrap();
            off[range].iter_mut().for_each(|x| *x += 0.3);
            let h = hessian::dense_hessian(&problem, &off);
            let gn = hessian::gauss_newton(&problem, &off);
            let diff = (0..p)
                .flat_map(|i| (0..p).map(move |j| (i, j)))
                .map(|(i, j)| (h[(i, j)] - gn[(i, j)]).abs())
                .fold(0.0, f64::max);
            assert!(diff > 1e-3, "{arch} {kind}: off the minimiser H − 2JᵀΣJ should not vanish ({diff:e})");
        }
    }
}

/// Σ = c·I: every direction is an eigendirection, so a = Λ = c and LB = 2Lc‖w*‖^{2−2/L}‖p‖^{2/L}
/// is attained by the balanced minimiser (S_bal = LB = S_min).
#[test]
fn lower_bound_is_attained_on_isotropic_data() {
    dlncheck::init_determinism();
    for (depth, wn) in [(2usize, 1.0), (3, 2.5), (5, 0.4), (8, 1.7)] {
        let spec = SpectrumSpec {
            n: 6,
            eigenvalues: vec![1.3; 3],
            direction: Direction::Random,
            w_star_norm: wn,
            risk_min: 0.2,
            rotate: true,
        };
        let reg = data::with_spectrum(&spec, depth as u64).regression().unwrap();
        for model in [Dln::mlp(3, depth), Dln::residual(&[0.0, 2.0, 0.0], depth)] {
            let head = model.head_norm();
            let problem = Problem::new(model, Objective::Regression(reg.clone())).unwrap();
            let theta = init::balanced(&problem.model, &reg.w_star);
            let s = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
            let l = depth as f64;
            let lb_hand = 2.0 * l * 1.3 * wn.powf(2.0 - 2.0 / l) * head.powf(2.0 / l);
            assert!(rel_err(s, lb_hand) < 1e-10, "L={depth}: S = {s}, 2Lc‖w*‖^(2−2/L) = {lb_hand}");
            assert!(rel_err(bounds::lower_bound(&reg, depth, head), lb_hand) < 1e-12);
            assert!(rel_err(bounds::min_sharpness(&reg, depth, head).value, lb_hand) < 1e-10);
        }
    }
}

#[test]
fn balanced_sharpness_closed_form_matches_exact_hessian() {
    dlncheck::init_determinism();
    for seed in 0..4u64 {
        let spec = SpectrumSpec {
            n: 10,
            eigenvalues: data::geometric_spectrum(4, 3.0, 50.0),
            direction: Direction::Random,
            w_star_norm: 0.5 + seed as f64,
            risk_min: 0.1,
            rotate: true,
        };
        let reg = data::with_spectrum(&spec, seed).regression().unwrap();
        for depth in [1usize, 2, 3, 6] {
            let problem = Problem::new(Dln::mlp(4, depth), Objective::Regression(reg.clone())).unwrap();
            let theta = init::balanced(&problem.model, &reg.w_star);
            let s = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
            let s_bal = bounds::balanced_sharpness(&reg, depth, 1.0);
            assert!(rel_err(s, s_bal) < 1e-10, "seed {seed} L={depth}: exact {s} vs S_bal {s_bal}");
            let (u1, u2) = bounds::balanced_upper_bounds(&reg, depth, 1.0);
            let lb = bounds::lower_bound(&reg, depth, 1.0);
            assert!(lb <= s * (1.0 + 1e-12) && s <= u1 * (1.0 + 1e-12) && u1 <= u2 * (1.0 + 1e-12));
        }
    }
}

/// S_min against (i) the exact Hessian of the minimiser built from r*, (ii) a brute-force scan of
/// λ_max(rΣ + (L−1)(‖p‖²/r)^{1/(L−1)}vvᵀ) over a log grid of r, (iii) random minimisers.
#[test]
fn min_sharpness_is_attained_and_not_beaten() {
    dlncheck::init_determinism();
    for (seed, kappa, dir) in [
        (1u64, 100.0, Direction::Eigenvector(0)),
        (2, 10.0, Direction::Random),
        (3, 1e4, Direction::Eigenvector(1)),
    ] {
        let spec = SpectrumSpec {
            n: 8,
            eigenvalues: data::geometric_spectrum(3, 2.0, kappa),
            direction: dir,
            w_star_norm: 1.7,
            risk_min: 0.0,
            rotate: true,
        };
        let reg = data::with_spectrum(&spec, seed).regression().unwrap();
        for depth in [2usize, 3, 5] {
            for model in [Dln::mlp(3, depth), Dln::residual(&[0.6, 0.0, 0.0], depth)] {
                let head = model.head_norm();
                let problem = Problem::new(model, Objective::Regression(reg.clone())).unwrap();
                let smin = bounds::min_sharpness(&reg, depth, head);
                let mut rng = stream_rng(seed, Stream::Minimizer);
                let theta = init::min_sharpness_minimizer(&problem.model, &reg, &mut rng);
                let s = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
                assert!(
                    rel_err(s, smin.value) < 1e-9,
                    "κ={kappa} L={depth}: exact {s} vs S_min {}",
                    smin.value
                );
                // Brute force over r.
                let brute = brute_force_smin(&reg, depth, head);
                assert!(brute >= smin.value * (1.0 - 1e-12), "grid {brute} below S_min {}", smin.value);
                assert!(brute <= smin.value * (1.0 + 1e-7), "grid {brute} far above S_min {}", smin.value);
                // Random minimisers are never flatter.
                for _ in 0..5 {
                    let t = init::random_minimizer(&problem.model, &reg.w_star, 0.9, &mut rng);
                    let s = bounds::minimizer_sharpness(&problem, &t);
                    assert!(s >= smin.value * (1.0 - 1e-10), "random minimiser {s} < S_min {}", smin.value);
                }
                let lb = bounds::lower_bound(&reg, depth, head);
                let sbal = bounds::balanced_sharpness(&reg, depth, head);
                assert!(lb <= smin.value * (1.0 + 1e-12) && smin.value <= sbal * (1.0 + 1e-12));
            }
        }
    }
}

fn brute_force_smin(reg: &Regression, depth: usize, head: f64) -> f64 {
    let v: Vec<f64> = {
        let s = reg.sigma_sqrt();
        (0..reg.d).map(|i| (0..reg.d).map(|j| s[(i, j)] * reg.w_star[j]).sum()).collect()
    };
    let c = (depth as f64 - 1.0) * head.powf(2.0 / (depth as f64 - 1.0));
    let alpha = 1.0 / (depth as f64 - 1.0);
    let f = |log_r: f64| {
        let r = 10f64.powf(log_r);
        let m = faer::Mat::from_fn(reg.d, reg.d, |a, b| {
            r * reg.sigma[a * reg.d + b] + c * r.powf(-alpha) * v[a] * v[b]
        });
        2.0 * linalg::sym_max_eigenvalue(m.as_ref())
    };
    // A coarse scan of 16 decades, then a fine scan around the best coarse point (the minimum
    // may sit on a kink where eigenvalues cross, so the grid error is first order in spacing).
    let scan = |lo: f64, hi: f64| {
        (0..=4000).map(|i| lo + (hi - lo) * i as f64 / 4000.0).map(|x| (x, f(x))).fold(
            (f64::NAN, f64::INFINITY),
            |best, cur| {
                if cur.1 < best.1 { cur } else { best }
            },
        )
    };
    let (x0, _) = scan(-8.0, 8.0);
    let step = 16.0 / 4000.0;
    let (x1, _) = scan(x0 - step, x0 + step);
    let step = 2.0 * step / 4000.0;
    scan(x1 - step, x1 + step).1
}

/// docs/claims.md (mc.smin.exact): S_min = LB exactly iff Σŵ = aŵ and La ≥ λ_max(Σ restricted to ŵ^⊥).
#[test]
fn min_sharpness_equals_lower_bound_exactly_when_aligned() {
    dlncheck::init_determinism();
    let mk = |dir: usize| {
        let spec = SpectrumSpec {
            n: 3,
            eigenvalues: vec![1.0, 10.0, 100.0],
            direction: Direction::Eigenvector(dir),
            w_star_norm: 1.0,
            risk_min: 0.0,
            rotate: false,
        };
        data::with_spectrum(&spec, 0).regression().unwrap()
    };
    // w* ∝ e_1 (eigenvalue 100): a = 100 ≥ 10 restricted, so S_min = LB for all L.
    let top = mk(2);
    for depth in [2usize, 3, 10] {
        let r = bounds::min_sharpness(&top, depth, 1.0).value / bounds::lower_bound(&top, depth, 1.0);
        assert!((r - 1.0).abs() < 1e-12, "L={depth}: S_min/LB = {r}");
    }
    // w* along eigenvalue 1: a = 1, La < 100 for small L, so S_min > LB; for L ≥ 100 equality.
    let bottom = mk(0);
    let r2 = bounds::min_sharpness(&bottom, 2, 1.0).value / bounds::lower_bound(&bottom, 2, 1.0);
    assert!(r2 > 1.5, "S_min/LB = {r2} should exceed 1 markedly");
    let r100 = bounds::min_sharpness(&bottom, 120, 1.0).value / bounds::lower_bound(&bottom, 120, 1.0);
    assert!((r100 - 1.0).abs() < 1e-10, "L=120: S_min/LB = {r100}");
}

#[test]
fn generators_are_deterministic_and_exact() {
    dlncheck::init_determinism();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let a = data::paper(50, 10, 5, 1.0, true, 42);
    let b = data::paper(50, 10, 5, 1.0, true, 42);
    let c = data::paper(50, 10, 5, 1.0, true, 43);
    assert_eq!(bits(&a.train.y), bits(&b.train.y));
    assert_ne!(bits(&a.train.y), bits(&c.train.y));
    let reg = a.train.regression().unwrap();
    assert!((reg.w_star_norm() - 1.0).abs() < 1e-14, "normalised ‖w*‖ = {}", reg.w_star_norm());
    let model = Dln::mlp(5, 10);
    let t1 = init::gaussian(&model, 0.3, &mut stream_rng(1, Stream::Init));
    let t2 = init::gaussian(&model, 0.3, &mut stream_rng(1, Stream::Init));
    assert_eq!(bits(&t1), bits(&t2));
    // Prescribed spectrum, direction, norm and R_min are realised.
    let spec = SpectrumSpec {
        n: 9,
        eigenvalues: data::geometric_spectrum(4, 5.0, 1e4),
        direction: Direction::Eigenvector(0),
        w_star_norm: 2.0,
        risk_min: 0.3,
        rotate: true,
    };
    let ds = data::with_spectrum(&spec, 7);
    let reg = ds.regression().unwrap();
    for (got, want) in reg.sigma_eigenvalues.as_ref().unwrap().iter().zip(&spec.eigenvalues) {
        assert!(rel_err(*got, *want) < 1e-10, "eigenvalue {got} vs {want}");
    }
    assert!((reg.w_star_norm() - 2.0).abs() < 1e-10);
    assert!((reg.risk_min - 0.3).abs() < 1e-12);
    assert!(rel_err(reg.alignment().unwrap(), 5.0 / 1e4) < 1e-8, "a = {:?}", reg.alignment());
    assert!(rel_err(reg.condition_number(), 1e4) < 1e-8);
    let ds2 = data::with_spectrum(&spec, 7);
    assert_eq!(bits(&ds.y), bits(&ds2.y));
}

#[test]
fn power_iteration_estimates_magnitude() {
    dlncheck::init_determinism();
    // At a minimiser (PSD Hessian, separated top eigenvalue) it converges to the sharpness.
    let problem = mlp_problem(4, 3, 2);
    let reg = problem.objective.regression().unwrap();
    let theta = init::balanced(&problem.model, &reg.w_star);
    let s = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
    let pi = spectrum::power_iteration(&problem, &theta, 300, 1);
    assert!(rel_err(s, pi) < 1e-6, "{s} vs {pi}");
    // At the saddle θ = 0 of ½‖W_2W_1 − Y‖² the spectrum is ±σ_i(Y): the largest magnitude is
    // not the largest algebraic eigenvalue, and power iteration cannot tell the signs apart.
    let problem = matrix_problem(2, 2, 2, 2, 1, 0.0);
    let theta = vec![0.0; problem.num_params()];
    let e = spectrum::hessian_extremes(&problem, &theta, &exact()).unwrap();
    assert!(e.min < 0.0 && (e.min + e.max).abs() < 1e-12, "spectrum symmetric about 0: {e:?}");
    let pi = spectrum::power_iteration(&problem, &theta, 200, 3);
    assert!(pi.abs() <= e.max * (1.0 + 1e-9));
}

/// The reduced m × m form (m ≈ 2Ld) carries the whole spectrum: all P eigenvalues agree with
/// the dense Hessian's.
#[test]
fn reduced_hessian_has_the_dense_spectrum() {
    dlncheck::init_determinism();
    let mut cases: Vec<(String, Problem, Vec<f64>)> = Vec::new();
    for (d, depth) in [(3usize, 4usize), (5, 10), (4, 2), (6, 3)] {
        let p = mlp_problem(d, depth, d as u64);
        let t = point(&p, 0.5, 1);
        cases.push((format!("mlp d={d} L={depth}"), p.clone(), t));
        let reg = p.objective.regression().unwrap().clone();
        let t = init::random_minimizer(&p.model, &reg.w_star, 0.7, &mut stream_rng(2, Stream::Minimizer));
        cases.push((format!("mlp d={d} L={depth} minimiser"), p, t));
        let r = residual_problem(d, depth, 7).with_l2(0.03);
        let t = init::residual(&r.model, 0.8, &mut stream_rng(3, Stream::Init));
        cases.push((format!("residual d={d} L={depth} l2"), r, t));
    }
    for (name, problem, theta) in &cases {
        let mut red = hessian::ReducedOperator::new(problem, theta).expect("m < P for these shapes");
        let fast = red.eigenvalues();
        let dense = linalg::sym_eigenvalues(hessian::dense_hessian(problem, theta).as_ref());
        assert_eq!(fast.len(), dense.len());
        let scale = dense[0].abs().max(dense[dense.len() - 1].abs());
        let worst = max_abs_diff(&fast, &dense);
        assert!(worst <= 1e-13 * scale, "{name}: spectra differ by {worst:e} (scale {scale:e})");
    }
    // d = 2: m ≥ P, so the dense route is used.
    let small = mlp_problem(2, 3, 1);
    assert!(hessian::ReducedOperator::new(&small, &point(&small, 0.5, 1)).is_none());
    // Multi-output networks always use the dense route.
    let multi = matrix_problem(3, 3, 2, 3, 1, 0.0);
    assert!(hessian::ReducedOperator::new(&multi, &point(&multi, 0.5, 1)).is_none());
}

/// The sharpness is the largest eigenvalue, not the largest in magnitude: at points where the
/// Hessian's most negative eigenvalue dominates (|λ_min| > λ_max, found among random points of
/// several problems), both methods return the dense decomposition's top eigenvalue.
#[test]
fn sharpness_is_the_top_eigenvalue_not_the_largest_magnitude() {
    dlncheck::init_determinism();
    // Random points rarely have |λ_min| > λ_max (the Gauss-Newton part is PSD). Constant points
    // θ = t·1 of depth L ≥ 3 do: for a scalar network at (t, …, t) the residual part of the
    // Hessian is −2σ r t^{L−2} (J − I) (J the all-ones matrix), whose spectrum {−(L−1), 1, …, 1}
    // is skewed to the negative side when r·t^{L−2} > 0.
    let problems = [
        mlp_problem(1, 3, 31),
        mlp_problem(1, 4, 32),
        mlp_problem(3, 3, 33),
        residual_problem(3, 3, 34),
        mlp_problem(2, 4, 35),
    ];
    let mut dominated = 0;
    for (c, problem) in problems.iter().enumerate() {
        let p = problem.model.num_params();
        let mut points: Vec<(f64, Vec<f64>)> = [0.05, 0.3, 1.0, 2.0]
            .iter()
            .enumerate()
            .map(|(k, std)| (*std, point(problem, *std, 100 + 10 * c as u64 + k as u64)))
            .collect();
        points.extend([-0.3, -0.1, 0.1, 0.3].iter().map(|t| (*t, vec![*t; p])));
        for (std, theta) in points {
            let dense = linalg::sym_eigenvalues(hessian::dense_hessian(problem, &theta).as_ref());
            let (lo, hi) = (dense[0], *dense.last().unwrap());
            if -lo <= 1.2 * hi.max(0.0) {
                continue;
            }
            dominated += 1;
            let scale = lo.abs();
            for opts in [exact(), lanczos()] {
                let e = spectrum::hessian_extremes(problem, &theta, &opts).unwrap();
                assert!((e.max - hi).abs() <= 1e-8 * scale, "problem {c}, std {std}: max {} vs {hi}", e.max);
                assert!((e.min - lo).abs() <= 1e-8 * scale, "problem {c}, std {std}: min {} vs {lo}", e.min);
                let s = spectrum::sharpness(problem, &theta, &opts).unwrap();
                assert!(
                    (s - hi).abs() <= 1e-8 * scale,
                    "problem {c}, std {std}: S = {s}, λ_max = {hi}, λ_min = {lo}"
                );
            }
        }
    }
    assert!(
        dominated >= 2,
        "only {dominated} points with |λ_min| > 1.2·λ_max: the test cannot see the mutant"
    );
}

/// An independent Hessian: central differences of the analytic gradient (no second-derivative
/// code), step h = 1e-5 (truncation O(h²) ≈ 1e-10, rounding O(ε/h) ≈ 1e-11, relative to the
/// Hessian's scale; tolerance 1e-6). At minimisers it equals 2JᵀΣJ; off them it equals the dense
/// Hessian and not 2JᵀΣJ. (dense_hessian is gauss_newton plus the residual term, so comparing
/// those two at a minimiser alone would compare a value with itself.)
#[test]
fn finite_difference_hessian_is_gauss_newton_at_minimizers_and_dense_off_them() {
    dlncheck::init_determinism();
    let fd_hessian = |problem: &Problem, theta: &[f64]| -> Vec<Vec<f64>> {
        let p = theta.len();
        let h = 1e-5;
        (0..p)
            .map(|j| {
                let (mut a, mut b) = (theta.to_vec(), theta.to_vec());
                a[j] += h;
                b[j] -= h;
                let (_, ga) = problem.loss_and_gradient(&a);
                let (_, gb) = problem.loss_and_gradient(&b);
                ga.iter().zip(&gb).map(|(x, y)| (x - y) / (2.0 * h)).collect()
            })
            .collect()
    };
    let max_diff = |fd: &[Vec<f64>], m: &faer::Mat<f64>| -> (f64, f64) {
        let p = fd.len();
        let scale = (0..p).map(|i| m[(i, i)].abs()).fold(1.0, f64::max);
        let diff = (0..p)
            .flat_map(|j| (0..p).map(move |i| (i, j)))
            .map(|(i, j)| (fd[j][i] - m[(i, j)]).abs())
            .fold(0.0, f64::max);
        (diff, scale)
    };
    for (arch, problem) in [("mlp", mlp_problem(3, 3, 41)), ("residual", residual_problem(3, 3, 42))] {
        for (kind, theta) in minimizers(&problem, 43) {
            let fd = fd_hessian(&problem, &theta);
            let (diff, scale) = max_diff(&fd, &hessian::gauss_newton(&problem, &theta));
            assert!(diff < 1e-6 * scale, "{arch} {kind}: ‖H_fd − 2JᵀΣJ‖ = {diff:e} (scale {scale:e})");
            let mut off = theta.clone();
            let last = problem.model.layers().len() - if arch == "residual" { 2 } else { 1 };
            let range = problem.model.param_range(last).unwrap();
            off[range].iter_mut().for_each(|x| *x += 0.3);
            let fd = fd_hessian(&problem, &off);
            let (diff, scale) = max_diff(&fd, &hessian::dense_hessian(&problem, &off));
            assert!(diff < 1e-6 * scale, "{arch} {kind} off: ‖H_fd − H‖ = {diff:e} (scale {scale:e})");
            let (diff, _) = max_diff(&fd, &hessian::gauss_newton(&problem, &off));
            assert!(diff > 1e-3, "{arch} {kind} off: H_fd − 2JᵀΣJ should not vanish ({diff:e})");
        }
    }
}

/// A univariate network whose parameter count is far above the exact-size limit but whose
/// reduced form is small (d = 300, L = 2: P = 90 300, m ≈ 2Ld): the default options take the
/// exact m × m route (Lanczos for λ_min there stalled at 500 iterations), and λ_max agrees with
/// an independent top-only Lanczos on Hessian-vector products in R^P to 1e-8 relative.
#[test]
fn large_univariate_networks_use_the_exact_reduced_form() {
    dlncheck::init_determinism();
    let problem = mlp_problem(300, 2, 41);
    let theta = point(&problem, 0.05, 42);
    let p = problem.num_params();
    let opts = SpectrumOptions::default();
    assert!(p > opts.exact_max_params, "P = {p} must exceed the exact limit");
    let m = hessian::ReducedOperator::new(&problem, &theta).expect("univariate").dim();
    assert!(m <= opts.exact_max_params, "m = {m}");
    let e = spectrum::hessian_extremes(&problem, &theta, &opts).unwrap();
    assert_eq!(e.method, Method::Exact);
    assert!(e.min < 0.0 && e.max > 0.0, "a generic point is a saddle: {} {}", e.min, e.max);
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, &theta);
    let reference = spectrum::lanczos(
        p,
        |v, out| pt.hvp(v, out),
        1,
        spectrum::Bottom::Skip,
        &SpectrumOptions { tol: 1e-12, ..opts },
    )
    .unwrap();
    let top = *reference.ritz.last().unwrap();
    assert!(rel_err(e.max, top) <= 1e-8, "exact reduced {} vs Lanczos on HVPs {top}", e.max);
}

/// The route `hessian_top` takes, on a univariate network small enough for every route
/// (d = 6, L = 2: P = 42 parameters, reduced dimension m = 19), with the size limit moved
/// around it: above m and below P the exact m × m reduced form; below m Lanczos (on the reduced
/// operator); a method the caller names is kept. Every route's top three and smallest
/// eigenvalues equal the dense Hessian's (its own eigen-decomposition here) to 1e-9 relative.
#[test]
fn the_spectrum_route_follows_the_size_limit_and_the_callers_method() {
    dlncheck::init_determinism();
    let problem = mlp_problem(6, 2, 41);
    let theta = point(&problem, 0.4, 42);
    let p = problem.num_params();
    let m = hessian::ReducedOperator::new(&problem, &theta).expect("univariate").dim();
    assert_eq!((p, m), (42, 19));
    let dense = linalg::try_sym_eigenvalues(hessian::dense_hessian(&problem, &theta).as_ref()).unwrap();
    let want_top: Vec<f64> = dense.iter().rev().take(3).copied().collect();
    let scale = dense[p - 1].abs().max(dense[0].abs());
    for (limit, method, want) in [
        (30, None, Method::Exact),      // m ≤ limit < P: the reduced form, exact
        (p - 1, None, Method::Exact),   // just below P
        (m, None, Method::Exact),       // the reduced form at the limit
        (m - 1, None, Method::Lanczos), // m > limit: Lanczos
        (30, Some(Method::Lanczos), Method::Lanczos), // the caller's method is kept
        (10, Some(Method::Exact), Method::Exact),
        (p, None, Method::Exact), // P ≤ limit: dense
    ] {
        let opts =
            SpectrumOptions { exact_max_params: limit, method, tol: 1e-12, ..SpectrumOptions::default() };
        let (top, e) = spectrum::hessian_top(&problem, &theta, 3, &opts).unwrap();
        assert_eq!(e.method, want, "limit {limit}, method {method:?}");
        assert_eq!(e.iterations > 0, want == Method::Lanczos, "limit {limit}: {} iterations", e.iterations);
        assert!(!e.min_is_upper_bound);
        assert_eq!(top.len(), 3);
        for (g, w) in top.iter().zip(&want_top) {
            assert!((g - w).abs() <= 1e-9 * scale, "limit {limit}: top {top:?} vs {want_top:?}");
        }
        assert!((e.max - dense[p - 1]).abs() <= 1e-9 * scale && (e.min - dense[0]).abs() <= 1e-9 * scale);
    }
    // With L2 (λ = 0.3) every eigenvalue shifts by λ, and the P − m = 23 eigenvalues outside the
    // reduced space are exactly λ (here 2 more, inside it): asking for more than m (25) or more than P (50) eigenvalues
    // returns those too, on every route; the dense reference is the shifted Hessian's own.
    let problem = mlp_problem(6, 2, 41).with_l2(0.3);
    let dense = linalg::try_sym_eigenvalues(hessian::dense_hessian(&problem, &theta).as_ref()).unwrap();
    assert_eq!(dense.iter().filter(|&&v| (v - 0.3).abs() <= 1e-12).count(), p - m + 2);
    let scale = dense[p - 1].abs().max(dense[0].abs());
    for (limit, method) in [(30, None), (m - 1, None), (10, Some(Method::Exact)), (p, None)] {
        for k in [25, 50] {
            let opts =
                SpectrumOptions { exact_max_params: limit, method, tol: 1e-12, ..SpectrumOptions::default() };
            let (top, e) = spectrum::hessian_top(&problem, &theta, k, &opts).unwrap();
            let want: Vec<f64> = dense.iter().rev().take(k).copied().collect();
            assert_eq!(top.len(), want.len(), "limit {limit}, k {k}");
            for (g, w) in top.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-9 * scale, "limit {limit}, k {k}: {top:?} vs {want:?}");
            }
            assert!((e.min - dense[0]).abs() <= 1e-9 * scale, "limit {limit}: min {} vs {}", e.min, dense[0]);
        }
    }
}

/// The Jacobian-free Gram operator K = Σ_k ‖a_k‖²B_kᵀB_k equals JJᵀ from the dense Jacobian
/// (MLP, and residual with its fixed head), to 1e-12 relative to ‖K‖.
#[test]
fn univariate_gram_operator_equals_the_jacobian_gram() {
    dlncheck::init_determinism();
    for (name, problem) in [("mlp", mlp_problem(4, 3, 51)), ("residual", residual_problem(3, 4, 52))] {
        let theta = point(&problem, 0.7, 53);
        let want = hessian::jacobian_gram(&problem, &theta);
        let got = hessian::UnivariateGram::new(&problem, &theta).unwrap().to_dense();
        let scale = linalg::sym_max_eigenvalue(want.as_ref());
        let d = want.nrows();
        for i in 0..d {
            for j in 0..d {
                assert!((got[(i, j)] - want[(i, j)]).abs() <= 1e-12 * scale, "{name} K[{i},{j}]");
            }
        }
    }
    assert!(hessian::UnivariateGram::new(&matrix_problem(3, 3, 2, 3, 1, 0.0), &[0.0; 24]).is_none());
}

/// Above the dense-Jacobian size the Gauss–Newton sharpness is computed by Lanczos on FKFᵀ; at
/// global minimisers it equals the exact Hessian's λ_max (m × m reduced eigen-decomposition) to
/// 1e-8 relative, for an MLP and a residual network with P > 4000.
#[test]
fn gauss_newton_sharpness_beyond_the_dense_jacobian_is_the_exact_sharpness() {
    dlncheck::init_determinism();
    for problem in [mlp_problem(70, 2, 61), residual_problem(20, 11, 62)] {
        assert!(problem.num_params() > bounds::DENSE_JACOBIAN_MAX_PARAMS);
        let reg = problem.objective.regression().unwrap().clone();
        let theta =
            init::random_minimizer(&problem.model, &reg.w_star, 0.3, &mut stream_rng(63, Stream::Init));
        let gn = bounds::try_minimizer_sharpness(&problem, &theta).unwrap();
        let exact = spectrum::sharpness(&problem, &theta, &exact()).unwrap();
        assert!(rel_err(gn, exact) <= 1e-8, "P = {}: GN {gn} vs exact {exact}", problem.num_params());
    }
}

/// λ_max(rΣ + c·vvᵀ), v = Σ^{1/2}w*, computed here independently of the library's bounds: Σ^{1/2}
/// from the test's own eigen-decomposition of Σ, then a dense eigen-decomposition.
fn dense_shifted_max(reg: &Regression, r: f64, c: f64) -> f64 {
    let d = reg.d;
    let sigma = faer::Mat::from_fn(d, d, |i, j| reg.sigma[i * d + j]);
    let (vals, vecs) = linalg::try_sym_eigen(sigma.as_ref()).unwrap();
    let root = faer::Mat::from_fn(d, d, |i, j| {
        (0..d).map(|k| vecs[(i, k)] * vals[k].max(0.0).sqrt() * vecs[(j, k)]).sum::<f64>()
    });
    let v: Vec<f64> = (0..d).map(|i| (0..d).map(|j| root[(i, j)] * reg.w_star[j]).sum()).collect();
    let m = faer::Mat::from_fn(d, d, |i, j| r * reg.sigma[i * d + j] + c * v[i] * v[j]);
    linalg::try_sym_max_eigenvalue(m.as_ref()).unwrap()
}

/// Above `bounds::SECULAR_MIN_D`, S_bal and S_min are evaluated in Σ's eigenbasis (diagonal plus
/// rank one, a secular equation): they equal the dense definitions (S_bal = 2‖w*‖^{2−2/L}·
/// λ_max(Σ + (L−1)vvᵀ/‖w*‖²); S_min = 2·min_r λ_max(rΣ + (L−1)r^{−1/(L−1)}vvᵀ), minimised here by
/// golden section over the dense function) to 1e-10 relative, including w* orthogonal to Σ's top
/// eigenvector, where the secular equation has no root above r·Λ.
#[test]
fn secular_bounds_equal_the_dense_definitions() {
    dlncheck::init_determinism();
    let d = bounds::SECULAR_MIN_D + 20;
    let (_, generic) = regression(d, 11);
    // Σ = diag(s) with w* on the 2nd and 3rd eigenvectors (orthogonal to the top one).
    let n = d;
    let s: Vec<f64> = (0..d).map(|i| 4.0 / (1.0 + i as f64)).collect();
    let x = faer::Mat::from_fn(n, d, |i, j| if i == j { (n as f64 * s[j]).sqrt() } else { 0.0 });
    let mut w = vec![0.0; d];
    w[1] = 0.6;
    w[2] = -0.8;
    let y: Vec<f64> = (0..n).map(|i| x[(i, i)] * w[i]).collect();
    let aligned = Regression::from_data(x.as_ref(), &y).unwrap();
    for (name, reg) in [("generic", &generic), ("orthogonal to the top", &aligned)] {
        for depth in [2usize, 3, 7] {
            let l = depth as f64;
            let wn = reg.w_star_norm();
            let want_bal = 2.0 * wn.powf(2.0 - 2.0 / l) * dense_shifted_max(reg, 1.0, (l - 1.0) / (wn * wn));
            let got_bal = bounds::balanced_sharpness(reg, depth, 1.0);
            assert!(
                (got_bal - want_bal).abs() <= 1e-10 * want_bal,
                "{name}, L = {depth}: S_bal {got_bal} vs dense {want_bal}"
            );
            let alpha = 1.0 / (l - 1.0);
            let f = |t: f64| dense_shifted_max(reg, t.exp(), (l - 1.0) * t.exp().powf(-alpha));
            let got = bounds::min_sharpness(reg, depth, 1.0);
            // Bracket around the library's minimiser (the minimum is interior and the function
            // convex in log r): the dense search must find the same value.
            let t0 = got.r.ln();
            let (_, want_min) = bounds::golden_section(f, t0 - 2.0, t0 + 2.0);
            let want_min = 2.0 * want_min;
            assert!(
                (got.value - want_min).abs() <= 1e-10 * want_min,
                "{name}, L = {depth}: S_min {} vs dense {want_min}",
                got.value
            );
        }
    }
}

/// Lanczos with `Bottom::BestEffort` on a spectrum whose top (50) is isolated and whose other
/// 1499 eigenvalues fill [−1, 1] evenly (spacing 1.3e-3: resolving the bottom one to 1e-10 takes
/// thousands of iterations, since the gap is 3e-5 of the spread): the top converges, the bottom is given up after the documented budget
/// (max(2 × top's iterations, 100)), reported as not converged, and its Ritz value is still an
/// upper bound of λ_min (interlacing); `Bottom::Required` with that budget reports an error.
#[test]
fn lanczos_best_effort_bottom_is_an_upper_bound() {
    let n = 1500;
    let diag: Vec<f64> =
        (0..n).map(|i| if i == 0 { 50.0 } else { -1.0 + 2.0 * (i - 1) as f64 / (n - 2) as f64 }).collect();
    let op = diagonal(&diag);
    let opts = SpectrumOptions { max_iter: 400, ..SpectrumOptions::default() };
    let lambda_min = diag.iter().copied().fold(f64::INFINITY, f64::min);
    let best = spectrum::lanczos(n, op, 1, spectrum::Bottom::BestEffort, &opts).unwrap();
    assert!((best.ritz.last().unwrap() - 50.0).abs() <= 1e-9, "top {:?}", best.ritz.last());
    assert!(!best.bottom_converged, "the bottom of a dense spectrum cannot converge to 1e-10 so soon");
    assert!(
        best.iterations >= spectrum::BEST_EFFORT_MIN && best.iterations < opts.max_iter,
        "{} iterations",
        best.iterations
    );
    assert!(best.ritz[0] >= lambda_min - 1e-12, "Ritz {} below λ_min {lambda_min}", best.ritz[0]);
    assert!(best.ritz[0] <= -0.99, "the Ritz value approaches the bottom: {}", best.ritz[0]);
    // The same Krylov sequence with the same budget must fail when the bottom is required.
    let same_budget = SpectrumOptions { max_iter: best.iterations, ..opts };
    let required = spectrum::lanczos(n, op, 1, spectrum::Bottom::Required, &same_budget);
    assert!(matches!(required, Err(spectrum::SpectrumError::NotConverged(_))), "{required:?}");
}

/// The operator v ↦ diag(d)·v, for Lanczos tests with a known spectrum.
fn diagonal(d: &[f64]) -> impl Fn(&[f64], &mut [f64]) + Copy + '_ {
    move |v, out| {
        for i in 0..v.len() {
            out[i] = d[i] * v[i];
        }
    }
}

/// When Lanczos tests for convergence: at every step below 40 and at the last step allowed
/// (and at every 4th step after 40). A diagonal operator on R^n with r distinct eigenvalues
/// 1, …, r (each repeated) has an r-dimensional Krylov space, so asking for all r Ritz values
/// (k = r) the run converges at step r and no earlier: n = 60 with r = 10 and r = 20 (steps
/// below 40), and n = r = 41 (the last step, 41 = n, is not a multiple of 4). The Ritz values are
/// 1, …, r to 1e-9.
#[test]
fn lanczos_stops_at_the_first_tested_step_where_it_converges() {
    for (n, r) in [(60, 10), (60, 20), (41, 41)] {
        let diag: Vec<f64> = (0..n).map(|i| (i % r + 1) as f64).collect();
        let op = diagonal(&diag);
        let res =
            spectrum::lanczos(n, op, r, spectrum::Bottom::Required, &SpectrumOptions::default()).unwrap();
        assert_eq!((res.iterations, res.ritz.len()), (r, r), "n = {n}, r = {r}");
        for (i, v) in res.ritz.iter().enumerate() {
            assert!((v - (i + 1) as f64).abs() <= 1e-9, "r = {r}: Ritz {i} = {v}");
        }
        assert!(res.bottom_converged);
    }
}

/// Lanczos tests relative residuals: multiplying the operator by c = 2^±30 (exact in floating
/// point) multiplies every Ritz value by c exactly and leaves the iteration count unchanged. On a
/// diagonal operator with a gap at the top (10, then 199 values in [0, 1]) the top converges long
/// before the Krylov space is exhausted (fewer than 40 of 200 steps), to 1e-10.
#[test]
fn lanczos_is_scale_equivariant_and_stops_early() {
    let n = 200;
    let diag: Vec<f64> =
        (0..n).map(|i| if i == 0 { 10.0 } else { (i - 1) as f64 / (n - 2) as f64 }).collect();
    let run = |c: f64, bottom| {
        let scaled: Vec<f64> = diag.iter().map(|d| c * d).collect();
        spectrum::lanczos(n, diagonal(&scaled), 1, bottom, &SpectrumOptions::default()).unwrap()
    };
    let base = run(1.0, spectrum::Bottom::Skip);
    assert!(base.iterations < 40, "{} iterations", base.iterations);
    assert!((base.ritz.last().unwrap() - 10.0).abs() <= 1e-10, "top {:?}", base.ritz.last());
    for bottom in [spectrum::Bottom::Skip, spectrum::Bottom::Required] {
        let base = run(1.0, bottom);
        for c in [2f64.powi(30), 2f64.powi(-30)] {
            let scaled = run(c, bottom);
            assert_eq!(scaled.iterations, base.iterations, "c = {c}, {bottom:?}");
            let want: Vec<f64> = base.ritz.iter().map(|v| v * c).collect();
            assert_eq!(scaled.ritz, want, "c = {c}, {bottom:?}");
        }
    }
}

/// The best-effort bottom's budget: the run goes on after the top converged (at step t, the
/// step where the same Krylov sequence without the bottom stops) until max(2t, 100) steps, or
/// max_iter if that comes first, and then reports the bottom as not converged. A diagonal
/// operator on R^1500 with eigenvalues −1 + 2(i/1499)^4, dense at the bottom: t = 128 > 50, so
/// the budget is 2t = 256, not 100; with max_iter = 200 the run ends at step 200.
#[test]
fn lanczos_best_effort_budget_is_twice_the_tops_steps() {
    let n = 1500;
    let diag: Vec<f64> = (0..n).map(|i| -1.0 + 2.0 * (i as f64 / (n - 1) as f64).powi(4)).collect();
    let op = diagonal(&diag);
    let opts = SpectrumOptions { max_iter: 1000, ..SpectrumOptions::default() };
    let t = spectrum::lanczos(n, op, 1, spectrum::Bottom::Skip, &opts).unwrap().iterations;
    assert!(t > spectrum::BEST_EFFORT_MIN / spectrum::BEST_EFFORT_FACTOR, "t = {t}");
    let best = spectrum::lanczos(n, op, 1, spectrum::Bottom::BestEffort, &opts).unwrap();
    assert_eq!((best.iterations, best.bottom_converged), (2 * t, false), "t = {t}");
    let capped = SpectrumOptions { max_iter: 200, ..opts };
    let best = spectrum::lanczos(n, op, 1, spectrum::Bottom::BestEffort, &capped).unwrap();
    assert_eq!((best.iterations, best.bottom_converged), (200, false));
    assert!((best.ritz.last().unwrap() - 1.0).abs() <= 1e-9 && best.ritz[0] >= -1.0 - 1e-12);
    // Out of steps (50 < t), the error reports the residual of what was asked: the top's alone
    // without the bottom, which is smaller here than the bottom's.
    let short = SpectrumOptions { max_iter: 50, ..opts };
    let residual = |bottom| match spectrum::lanczos(n, op, 1, bottom, &short) {
        Err(spectrum::SpectrumError::NotConverged(e)) => e.residual,
        other => panic!("{other:?}"),
    };
    let (top, both) = (residual(spectrum::Bottom::Skip), residual(spectrum::Bottom::Required));
    assert!(top > opts.tol && top < both, "top {top}, top and bottom {both}");
}

/// The audit's λ_min beyond the exact size (Lanczos on the reduced operator, best effort): it is
/// either printed and equal to the exact λ_min (1e-8 relative to the spectrum's scale), or null
/// with a note whose bound is at least the exact λ_min; the sharpness is always the exact one.
#[test]
fn audit_min_eigenvalue_is_exact_or_an_upper_bound_with_a_note() {
    dlncheck::init_determinism();
    let (mut bounded, mut printed) = (0, 0);
    // d = 30: m = 91 fits in the bottom's budget (the Krylov space is exhausted); d = 80: m = 241
    // does not, and the bottom of these spectra does not converge within it.
    for (d, seed, std) in [(30, 1u64, 0.3), (30, 2, 1.0), (80, 1, 0.3), (80, 2, 1.0), (80, 3, 2.0)] {
        let problem = mlp_problem(d, 2, seed);
        let theta = point(&problem, std, 40 + seed);
        let exact_ext = spectrum::hessian_extremes(&problem, &theta, &exact()).unwrap();
        let scale = exact_ext.max.abs().max(exact_ext.min.abs());
        let opts = SpectrumOptions { exact_max_params: 50, ..SpectrumOptions::default() };
        let a = dlncheck::engine::audit::audit(&problem, &theta, &opts).unwrap();
        assert_eq!(a.method, Method::Lanczos);
        let s = a.sharpness.unwrap();
        assert!((s - exact_ext.max).abs() <= 1e-8 * scale, "seed {seed}: {s} vs {}", exact_ext.max);
        match a.hessian_min_eig {
            Some(m) => {
                assert!((m - exact_ext.min).abs() <= 1e-8 * scale, "seed {seed}: {m} vs {}", exact_ext.min);
                printed += 1;
            }
            None => {
                let note = a.notes.iter().find(|n| n.starts_with("hessian_min_eig")).expect("a note");
                let bound: f64 =
                    note.split("λ_min ≤ ").nth(1).unwrap().split(')').next().unwrap().parse().unwrap();
                assert!(
                    bound >= exact_ext.min - 1e-12 * scale,
                    "seed {seed}: bound {bound} < {}",
                    exact_ext.min
                );
                bounded += 1;
            }
        }
    }
    assert!(bounded >= 1 && printed >= 1, "both outcomes are exercised: {bounded} bounds, {printed} values");
}
