//! The building blocks of the training-dynamics claims (mc.pl_inequality, mc.si.*, mc.ri.*)
//! against closed forms: rank-one defects of constructed layers, the exact GD drift of the
//! imbalance of a scalar network, the sharpness the flow from the identity reaches when w* = p,
//! and the accuracy of the small-angle sine.

use dlncheck::claims::dynamics;
use dlncheck::claims::mc_si_rank_one::defects;
use dlncheck::engine::data::{self, Direction, SpectrumSpec};
use dlncheck::engine::init;
use dlncheck::engine::linalg;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::Objective;
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use dlncheck::engine::spectrum::{self, SpectrumOptions};
use dlncheck::engine::train::{self, GdOptions};
use faer::Mat;

/// Data with Σ = diag(eigenvalues) (no rotation) and w* = `w_star` exactly, R_min = 0.1.
fn problem_with(model: Dln, eigenvalues: Vec<f64>, w_star: &[f64]) -> Problem {
    let norm = linalg::norm(w_star);
    let spec = SpectrumSpec {
        n: 2 * w_star.len() + 1,
        eigenvalues,
        direction: Direction::Coordinates(w_star.to_vec()),
        w_star_norm: norm,
        risk_min: 0.1,
        rotate: false,
    };
    let reg = data::with_spectrum(&spec, 11).regression().unwrap();
    for (a, b) in reg.w_star.iter().zip(w_star) {
        assert!((a - b).abs() < 1e-12, "w* = {:?}, wanted {w_star:?}", reg.w_star);
    }
    Problem::new(model, Objective::Regression(reg)).unwrap()
}

fn outer(a: &[f64], b: &[f64], c: f64) -> Mat<f64> {
    Mat::from_fn(a.len(), b.len(), |i, j| c * a[i] * b[j])
}

/// sin∠ is computed without cancellation: at t = 1e-9 the naive √(1 − cos²) returns 0 (or 1.5e-8).
#[test]
fn sine_of_small_angles_is_accurate() {
    for t in [1e-9f64, 1e-5, 0.3, 1.2] {
        let x = [2.0, 0.0, 0.0];
        let y = [t.cos(), t.sin(), 0.0];
        let s = dynamics::sin_angle(&x, &y);
        assert!(
            (s - t.sin()).abs() <= 1e-15 * t.sin().max(1e-300) + 1e-17,
            "t = {t:e}: {s:e} vs {:e}",
            t.sin()
        );
        // A line, not a ray: the opposite vector makes the same angle.
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        assert!((dynamics::sin_angle(&x, &neg) - s).abs() < 1e-16);
    }
}

/// Layers built as orthogonal sums c·u_{k+1}u_kᵀ + δ_k·r_{k+1}r_kᵀ (r ⊥ u) have σ_2/σ_1 = δ_k/c,
/// top singular vectors u, so alignment and direction defects 0; rotating v_1(W_2) by φ in a
/// plane ⊥ the rest gives an alignment defect sin φ.
#[test]
fn rank_one_defects_of_constructed_layers() {
    let (d, depth) = (3, 3);
    let e = |i: usize| -> Vec<f64> { (0..d).map(|j| if j == i { 1.0 } else { 0.0 }).collect() };
    let w_star = [1.5, 0.0, 0.0]; // ŵ = e_0
    let problem = problem_with(Dln::mlp(d, depth), vec![1.0, 0.5, 0.2], &w_star);
    let c = 1.5f64.powf(1.0 / 3.0);
    let (d1, d2) = (0.03, 0.07);
    // u_1 = e_0, u_2 = e_1, u_3 = e_2 (W_3 = c·e_2ᵀ); second directions r chosen ⊥.
    let w1 = outer(&e(1), &e(0), c) + outer(&e(2), &e(1), d1);
    let w2 = outer(&e(2), &e(1), c) + outer(&e(0), &e(2), d2);
    let w3 = Mat::from_fn(1, d, |_, j| c * e(2)[j]);
    let theta = problem.model.flatten(&[w1, w2.clone(), w3.clone()]);
    let [rank, align, dir] = defects(&problem, &theta).unwrap();
    assert!((rank - d2 / c).abs() < 1e-14, "rank defect {rank} vs {}", d2 / c);
    assert!(align < 1e-14 && dir < 1e-14, "{align:e} {dir:e}");
    // Rotate W_2's input direction from e_1 towards e_0 by φ (r_2 = e_2 stays ⊥): v_1(W_2) moves.
    let phi: f64 = 0.01;
    let v = [phi.sin(), phi.cos(), 0.0];
    let w1 = outer(&e(1), &e(0), c) + outer(&e(2), &e(1), d1);
    let w2r = outer(&e(2), &v, c) + outer(&e(0), &e(2), d2);
    let theta = problem.model.flatten(&[w1, w2r, w3]);
    let [_, align, _] = defects(&problem, &theta).unwrap();
    assert!((align - phi.sin()).abs() < 1e-13, "alignment defect {align} vs sin φ = {}", phi.sin());
}

/// One gradient-descent step on the scalar network f = w_2w_1 (d = 1, L = 2) changes the
/// imbalance D = w_2² − w_1² by exactly η²(G_2² − G_1²), G_1 = w_2g, G_2 = w_1g,
/// g = 2Σ(w_2w_1 − w*): the first-order terms cancel. Computed by hand here.
#[test]
fn one_gd_step_changes_the_imbalance_by_eta_squared() {
    let (sigma, w_star) = (0.7, 1.3);
    let problem = problem_with(Dln::mlp(1, 2), vec![sigma], &[w_star]);
    let (w1, w2, eta) = (0.4, -0.9, 0.05);
    let res = train::gradient_descent(&problem, &[w1, w2], &GdOptions::new(eta, 1));
    let g = 2.0 * sigma * (w2 * w1 - w_star);
    let (g1, g2) = (w2 * g, w1 * g);
    let (n1, n2) = (w1 - eta * g1, w2 - eta * g2);
    assert!((res.theta[0] - n1).abs() < 1e-14 && (res.theta[1] - n2).abs() < 1e-14, "{:?}", res.theta);
    let d_before = dynamics::imbalances(&problem.model, &[w1, w2])[0][(0, 0)];
    let d_after = dynamics::imbalances(&problem.model, &res.theta)[0][(0, 0)];
    assert!((d_before - (w2 * w2 - w1 * w1)).abs() < 1e-15);
    let want = eta * eta * (g2 * g2 - g1 * g1);
    assert!(
        (d_after - d_before - want).abs() < 1e-14,
        "ΔD = {:e}, η²(G_2² − G_1²) = {want:e}",
        d_after - d_before
    );
}

/// Residual network with w* = p and s = 0: θ_0 = (I, …, I) is already a global minimiser, so the
/// flow stays there; there K = JJᵀ = Σ_k‖a_k‖²B_kᵀB_k = L‖p‖²I, hence S = 2LΛ‖p‖² (the value the
/// constant of mc.ri.convergence starts from).
#[test]
fn flow_from_the_identity_with_w_star_equal_p_has_sharpness_2_l_lambda() {
    let (d, depth) = (4, 5);
    let p = init::projection(d, &mut stream_rng(3, Stream::Projection));
    let problem = problem_with(Dln::residual(&p, depth), vec![2.0, 1.0, 0.3, 0.1], &p);
    let theta0 = dynamics::initial_point(&problem.model, "residual", 0.0, 3).unwrap();
    let theta = match dynamics::flow_to_minimizer(&problem, &theta0, 1e-12, 1e-10, 1000) {
        dynamics::End::Minimizer { theta, steps, .. } => {
            assert_eq!(steps, 0, "θ_0 is a minimiser: no step is needed");
            theta
        }
        other => panic!("{other:?}"),
    };
    let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default()).unwrap();
    let want = 2.0 * depth as f64 * 2.0;
    assert!((s - want).abs() < 1e-12 * want, "S = {s}, 2LΛ‖p‖² = {want}");
}

/// The MLP's residual-style start: square layers I + (s/√((L−1)d))N, a unit row on top; s = 0
/// gives exactly the identities.
#[test]
fn residual_style_start_of_the_mlp() {
    let model = Dln::mlp(3, 4);
    let theta = dynamics::initial_point(&model, "residual", 0.0, 9).unwrap();
    let w = model.trained_weights(&theta);
    for wk in &w[..3] {
        assert_eq!(*wk, Mat::<f64>::identity(3, 3));
    }
    let top: Vec<f64> = (0..3).map(|j| w[3][(0, j)]).collect();
    assert!((linalg::norm(&top) - 1.0).abs() < 1e-15);
    // With s > 0 the perturbation has the stated scale: entries of W_k − I have variance s²/((L−1)d).
    let model = Dln::mlp(40, 3);
    let theta = dynamics::initial_point(&model, "residual", 2.0, 9).unwrap();
    let w = model.trained_weights(&theta);
    let dev: Vec<f64> = (0..2)
        .flat_map(|k| {
            let wk = &w[k];
            (0..40 * 40).map(move |i| wk[(i / 40, i % 40)] - if i / 40 == i % 40 { 1.0 } else { 0.0 })
        })
        .collect();
    let var = dev.iter().map(|x| x * x).sum::<f64>() / dev.len() as f64;
    let want = 4.0 / (2.0 * 40.0);
    // 3200 draws: the sample variance is within 4 standard errors (√(2/3200) ≈ 2.5 %) of s²/((L−1)d).
    assert!((var / want - 1.0).abs() < 0.1, "variance {var} vs {want}");
    assert!(dynamics::initial_point(&model, "other", 1.0, 9).is_err());
}

/// A control's instances in the quick mode, by variant name, with the claim they belong to.
fn control_instances(
    id: &str,
    variant: &str,
) -> (Vec<dlncheck::framework::spec::InstanceSpec>, &'static dyn dlncheck::framework::property::Claim) {
    dlncheck::init_determinism();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("properties/{id}.yaml"));
    let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
    let c = spec.controls.iter().position(|c| c.variant == variant).unwrap();
    (spec.control_instances(c, dlncheck::framework::spec::Mode::Quick, 0), claim)
}

/// mc.ri.convergence's `bound_at_large_scale` runs the claim's own flow: at the same point and
/// seed the claim reaches the same minimiser (same sharpness, to the bit) and only checks
/// convergence there (s > bound_max_scale), while the control asserts the bound and breaks it:
/// S/(LΛ·norm factor) is at least twice C.
#[test]
fn ri_convergence_large_scale_control_differs_only_by_the_asserted_bound() {
    use dlncheck::framework::property::{Status, Variant};
    let (inst, claim) = control_instances("mc.ri.convergence", "bound_at_large_scale");
    assert!(inst.len() >= 4);
    for i in inst.iter().step_by(3) {
        assert!(i.point.f64("scale") > i.point.f64("bound_max_scale"));
        let ctl = claim.measure(&i.point, i.seed, Variant::Control("bound_at_large_scale")).unwrap();
        let own = claim.measure(&i.point, i.seed, Variant::Claim).unwrap();
        assert_eq!(own.status, Status::Holds, "{own:?}");
        assert_eq!(own.tightness, None, "the claim asserts no bound at s = {}", i.point.f64("scale"));
        assert_eq!(ctl.status, Status::Violated, "{ctl:?}");
        assert_eq!(ctl.values["sharpness"].to_bits(), own.values["sharpness"].to_bits());
        let c = ctl.values["normalised_constant"];
        assert!(c > 2.0 * i.point.f64("constant"), "{ctl:?}");
        // tightness = C·LΛ·(norm factor)/S = C/(normalised constant), recomputed from the values.
        let t = ctl.tightness.unwrap();
        assert!(
            (t - i.point.f64("constant") / c).abs() < 1e-12 * t,
            "{t} vs {}",
            i.point.f64("constant") / c
        );
    }
}

/// mc.si.flatness's `wrong_limit` runs the claim's own flows and rate test against
/// (1 + δ)S_bal: at the same point and seed the claim's limit holds (order ≥ 1 − order_tol), the
/// control's gaps are |(S/S_bal)/(1 + δ) − 1| recomputed from the claim's S/LB and S_bal/LB, and
/// their order is ≈ 0 (violated).
#[test]
fn si_flatness_wrong_limit_control_differs_only_by_the_limit() {
    use dlncheck::framework::property::{Status, Variant};
    let (inst, claim) = control_instances("mc.si.flatness", "wrong_limit");
    assert!(inst.len() >= 2);
    for i in inst.iter().step_by(inst.len() / 2) {
        let delta = i.point.f64("limit_offset");
        let ctl = claim.measure(&i.point, i.seed, Variant::Control("wrong_limit")).unwrap();
        let own = claim.measure(&i.point, i.seed, Variant::Claim).unwrap();
        assert_eq!(own.status, Status::Holds, "{own:?}");
        assert!(own.values["limit_order"] >= 1.0 - i.point.f64("order_tol"), "{own:?}");
        assert_eq!(ctl.status, Status::Violated, "{ctl:?}");
        assert_eq!(ctl.values["sharpness"].to_bits(), own.values["sharpness"].to_bits());
        let ratio = own.values["sharpness_over_lower_bound"] / own.values["balanced_over_lower_bound"];
        let want = (ratio / (1.0 + delta) - 1.0).abs();
        let got = ctl.values["gap_to_balanced"];
        assert!((got - want).abs() < 1e-9 * want, "gap {got} vs (S/S_bal)/(1 + δ) − 1 = {want}");
        assert!(ctl.values["limit_order"].abs() < 0.1, "{ctl:?}");
        assert!(own.values["gap_to_balanced"] < 0.1 * delta, "the true gap must be ≪ δ: {own:?}");
    }
}
