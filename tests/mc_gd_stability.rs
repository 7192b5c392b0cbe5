//! mc.gd.stability measured directly: every instance of the spec's quick grid holds, with the numbers re-derived independently (S from the dense
//! P × P Hessian instead of the reduced form; S_min by a brute-force scan of the 1-D problem
//! on data moments computed here, not by the library's golden-section search), and both
//! negative controls fail.
#![allow(clippy::needless_range_loop)] // Gaussian elimination reads best with indices

use dlncheck::claims::mc_gd_stability::McGdStability;
use dlncheck::framework::property::{Claim, Status, Variant};
use dlncheck::framework::spec::Mode;
use faer::{Mat, Side};
use std::collections::BTreeMap;

fn spec() -> dlncheck::framework::spec::Spec {
    dlncheck::claims::load_spec(std::path::Path::new("properties/mc.gd.stability.yaml")).unwrap().0
}

/// Σ = XᵀX/n and w* = Σ⁻¹Xᵀy/n (n > d here) from the instance's data, by hand.
fn moments(x: &Mat<f64>, y: &[f64]) -> (Mat<f64>, Vec<f64>) {
    let (n, d) = (x.nrows(), x.ncols());
    let sigma = Mat::from_fn(d, d, |i, j| (0..n).map(|l| x[(l, i)] * x[(l, j)]).sum::<f64>() / n as f64);
    let mut a: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| sigma[(i, j)]).collect()).collect();
    let mut b: Vec<f64> = (0..d).map(|j| (0..n).map(|l| x[(l, j)] * y[l]).sum::<f64>() / n as f64).collect();
    for c in 0..d {
        let p = (c..d).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs())).unwrap();
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..d {
            let f = a[r][c] / a[c][c];
            for k in c..d {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut w = vec![0.0; d];
    for r in (0..d).rev() {
        w[r] = (b[r] - (r + 1..d).map(|k| a[r][k] * w[k]).sum::<f64>()) / a[r][r];
    }
    (sigma, w)
}

fn lambda_max(m: &Mat<f64>) -> f64 {
    *m.self_adjoint_eigenvalues(Side::Lower).unwrap().last().unwrap()
}

/// S_min = 2·min_r λ_max(rΣ + (L−1)r^{−1/(L−1)}Σ^{1/2}w*w*ᵀΣ^{1/2}) (‖p‖ = 1), by a
/// log-grid scan refined twice. λ_max(rΣ + cΣ^{1/2}wwᵀΣ^{1/2}) = λ_max(A^{1/2}ΣA^{1/2}) with
/// A = rI + cwwᵀ, whose square root is explicit.
fn s_min_scan(sigma: &Mat<f64>, w: &[f64], depth: usize) -> f64 {
    let d = w.len();
    let ww: f64 = w.iter().map(|v| v * v).sum();
    let f = |t: f64| {
        let r = t.exp();
        let c = (depth as f64 - 1.0) * r.powf(-1.0 / (depth as f64 - 1.0));
        let (s0, s1) = (r.sqrt(), (r + c * ww).sqrt());
        let half = Mat::from_fn(d, d, |i, j| {
            let proj = w[i] * w[j] / ww;
            s0 * (if i == j { 1.0 } else { 0.0 } - proj) + s1 * proj
        });
        let b = &half * sigma * &half;
        let b = Mat::from_fn(d, d, |i, j| 0.5 * (b[(i, j)] + b[(j, i)]));
        lambda_max(&b)
    };
    let (mut lo, mut hi) = (-12.0f64, 12.0f64);
    let mut best = (0.0, f64::INFINITY);
    for _ in 0..4 {
        let k = 400;
        for i in 0..=k {
            let t = lo + (hi - lo) * i as f64 / k as f64;
            let v = f(t);
            if v < best.1 {
                best = (t, v);
            }
        }
        let step = (hi - lo) / k as f64;
        (lo, hi) = (best.0 - step, best.0 + step);
    }
    2.0 * best.1
}

#[test]
fn quick_grid_holds_with_independently_derived_numbers() {
    dlncheck::init_determinism();
    let s = spec();
    let claim = McGdStability;
    let mut converged = BTreeMap::new();
    for inst in s.instances(Mode::Quick, 0) {
        let (point, seed) = (inst.point, inst.seed);
        let m = claim.measure(&point, seed, Variant::Claim).unwrap();
        let tag = format!("{:?} seed {seed}", point.0);
        assert_eq!(m.status, Status::Holds, "{tag}: {m:?}");
        let f = point.f64("eta_factor");
        let v = &m.values;
        let inst = claim.instance(&point, seed, Variant::Claim).expect("an instance file");
        let back =
            dlncheck::io::instance::parse(&dlncheck::io::instance::to_yaml(&inst), "instance").unwrap();
        assert_eq!(back.theta, inst.theta, "{tag}: the instance file round-trips");
        let (sigma, w) = moments(&inst.data.x, &inst.data.y);
        let arch = point.str("architecture");
        // S_min by the scan (the formula with ‖p‖ = 1: the residual p is a unit vector).
        let smin = s_min_scan(&sigma, &w, point.usize("depth"));
        assert!((v["s_min"] - smin).abs() <= 1e-7 * smin, "{tag}: S_min {} vs scan {smin}", v["s_min"]);
        assert!((v["eta"] - f * 2.0 / v["s_min"]).abs() <= 1e-15 * v["eta"]);
        // The reported thresholds: 2/S_min, and 2/LB with LB = 2La‖w*‖^{2−2/L} from the moments.
        let close = |got: f64, want: f64, what: &str| {
            assert!((got - want).abs() <= 1e-7 * want.abs(), "{tag}: {what} {got} vs {want}");
        };
        close(v["eta_threshold"], 2.0 / smin, "2/S_min");
        let l = point.usize("depth") as f64;
        let ww: f64 = w.iter().map(|x| x * x).sum();
        let wsw: f64 = (0..w.len())
            .flat_map(|i| (0..w.len()).map(move |j| (i, j)))
            .map(|(i, j)| w[i] * sigma[(i, j)] * w[j])
            .sum();
        let lb = 2.0 * l * (wsw / ww) * ww.sqrt().powf(2.0 - 2.0 / l);
        close(v["lower_bound"], lb, "LB");
        close(v["eta_lower_bound"], 2.0 / lb, "2/LB");
        close(
            v["diverged"] + v["converged"],
            if v["excess"].is_nan() { 1.0 } else { v["converged"] },
            "flags",
        );
        if v["converged"] == 1.0 {
            *converged.entry(arch.to_string()).or_insert(0) += 1;
            // The dense P × P Hessian of the instance file's network: a second algorithm.
            let problem = inst.problem().unwrap();
            let h = dlncheck::engine::hessian::dense_hessian(&problem, &inst.theta);
            let s_dense = *dlncheck::engine::linalg::sym_eigenvalues(h.as_ref()).last().unwrap();
            assert!(
                (s_dense - v["sharpness"]).abs() <= 1e-9 * s_dense,
                "{tag}: {s_dense} vs {}",
                v["sharpness"]
            );
            let edge = v["eta"] * s_dense / 2.0;
            close(v["edge_ratio"], edge, "η·S/2");
            close(v["s_over_s_min"], s_dense / smin, "S/S_min");
            // Stable (≤ 1) and above the floor η/(2/S_min) = f set by S ≥ S_min.
            assert!(edge <= 1.0 + 1e-6 && edge >= f * (1.0 - 1e-6), "{tag}: η·S/2 = {edge}");
            let t = m.tightness.unwrap();
            assert!((t - 1.0 / edge).abs() <= 1e-9 * t, "{tag}: tightness {t} vs 2/(ηS) {}", 1.0 / edge);
        } else {
            assert!(f > 1.0, "{tag}: holds without converging only above the threshold");
        }
    }
    assert!(converged.get("mlp").is_some_and(|&n| n > 0), "{converged:?}");
    assert!(converged.get("residual").is_some_and(|&n| n > 0), "{converged:?}");
}

#[test]
fn negative_controls_fail() {
    dlncheck::init_determinism();
    let s = spec();
    let claim = McGdStability;
    for (c, control) in s.controls.iter().enumerate() {
        for inst in s.control_instances(c, Mode::Quick, 0) {
            let (point, seed) = (inst.point, inst.seed);
            let m = claim.measure(&point, seed, Variant::Control(&control.variant)).unwrap();
            let tag = format!("{} {:?} seed {seed}", control.variant, point.0);
            assert_eq!(m.status, Status::Violated, "{tag}: {m:?}");
            let f = point.f64("eta_factor");
            match control.variant.as_str() {
                // (1/η)/S ≤ (1/η)/S_min = 1/(2f) < 1 at any minimiser.
                "tightened" => {
                    let t = m.tightness.unwrap();
                    assert!(t <= 1.0 / (2.0 * f) * (1.0 + 1e-9), "{tag}: tightness {t}");
                }
                "converges_above" => {
                    assert!(f > 1.0);
                    assert_eq!(m.values["converged"], 0.0, "{tag}");
                }
                other => panic!("unexpected control {other}"),
            }
        }
    }
    let point = s.instances(Mode::Quick, 0).remove(0).point;
    assert!(claim.measure(&point, 1, Variant::Control("nonsense")).is_err());
}

/// init_scale ≥ 0 is enforced by the claim's schema when the spec is validated: a negative
/// value is rejected naming the field; 0 (no initial noise) is accepted.
#[test]
fn init_scale_must_not_be_negative() {
    let text = std::fs::read_to_string("properties/mc.gd.stability.yaml").unwrap();
    let claim = dlncheck::claims::find("mc.gd.stability").unwrap();
    let with = |v: &str| {
        let t = text.replacen("init_scale: 0.25", &format!("init_scale: {v}"), 1);
        assert_ne!(t, text, "the spec sets init_scale");
        let spec = dlncheck::framework::spec::Spec::parse(&t, "gd.yaml").unwrap();
        spec.validate(claim, &t, "gd.yaml")
    };
    let err = with("-0.1").expect_err("a negative init_scale").to_string();
    assert!(err.contains("init_scale"), "{err}");
    with("0.0").expect("init_scale = 0 is allowed");
}

/// A run that does not converge passes only as the claim's prediction above the threshold
/// (η > 2/S_min, strictly): at η = 2/S_min exactly, and in the tightened control above it, it is
/// counted as not converged (neither a pass nor a violation).
#[test]
fn unconverged_runs_pass_only_above_the_threshold() {
    dlncheck::init_determinism();
    let claim = McGdStability;
    let base = spec().instances(Mode::Quick, 0).remove(0).point;
    let at = |f: f64, steps: f64| {
        use dlncheck::framework::property::Value;
        base.clone().with("eta_factor", Value::Float(f)).with("steps", Value::Int(steps as i64))
    };
    // One step cannot reach an excess of 1e-14.
    let m = claim.measure(&at(1.0, 1.0), 1, Variant::Claim).unwrap();
    assert_eq!(m.values["converged"], 0.0);
    assert_eq!(m.status, Status::NotConverged, "η = 2/S_min exactly: {m:?}");
    let m = claim.measure(&at(0.5, 1.0), 1, Variant::Claim).unwrap();
    assert_eq!(m.status, Status::NotConverged, "below the threshold: {m:?}");
    let m = claim.measure(&at(1.2, 1.0), 1, Variant::Claim).unwrap();
    assert_eq!(m.status, Status::Holds, "above the threshold, as predicted: {m:?}");
    let m = claim.measure(&at(1.2, 1.0), 1, Variant::Control("tightened")).unwrap();
    assert_eq!(m.status, Status::NotConverged, "the tightened control above the threshold: {m:?}");
}
