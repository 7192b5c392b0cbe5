//! The command line as a user meets it: the example instance, instance round trips, and clear
//! errors (exit code 2, the offending field named, no panic) for every kind of bad input.

use std::process::Command;

fn dlncheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dlncheck")).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[derive(serde::Deserialize)]
struct Audit {
    num_params: usize,
    risk: f64,
    risk_min: f64,
    grad_norm: f64,
    sharpness: f64,
    hessian_min_eig: f64,
    w_star_norm: f64,
    a: f64,
    lambda_max_sigma: f64,
    lambda_min_sigma: f64,
    sharpness_lower_bound: f64,
    method: String,
}

#[test]
fn example_instance_audit() {
    let (code, out, err) = dlncheck(&["sharpness", "examples/paper_mlp.yaml"]);
    assert_eq!(code, 0, "stderr: {err}");
    let a: Audit = dlncheck::io::yaml::from_str(&out).unwrap();
    assert_eq!(a.num_params, 9 * 25 + 5);
    assert_eq!(a.method, "exact");
    assert!((a.w_star_norm - 1.0).abs() < 1e-12, "the paper normalises ‖w*‖ = 1");
    assert!(a.risk >= a.risk_min && a.grad_norm < 1e-8, "a trained (converged) network");
    assert!(a.lambda_min_sigma <= a.a && a.a <= a.lambda_max_sigma);
    // Theorem 1 at a minimiser: S ≥ LB = 2·L·a (‖w*‖ = 1).
    assert!((a.sharpness_lower_bound - 20.0 * a.a).abs() < 1e-12 * a.sharpness_lower_bound);
    assert!(a.sharpness >= a.sharpness_lower_bound);
    assert!(a.hessian_min_eig.abs() < 1e-10, "PSD at a minimiser, with zero modes");
}

#[test]
fn instance_files_round_trip_bit_for_bit() {
    dlncheck::init_determinism();
    let dir = std::env::temp_dir().join(format!("dlncheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (args, name) in [
        (
            vec![
                "--architecture",
                "residual",
                "--d",
                "4",
                "--depth",
                "6",
                "--init",
                "residual",
                "--scale",
                "0.5",
            ],
            "res.yaml",
        ),
        (
            vec![
                "--data",
                "spectrum",
                "--kappa",
                "100",
                "--direction",
                "bottom",
                "--init",
                "min-sharpness",
                "--depth",
                "3",
            ],
            "smin.yaml",
        ),
    ] {
        let path = dir.join(name);
        let mut all = vec!["instance", "--seed", "5", "--out", path.to_str().unwrap()];
        all.extend(args.iter().copied());
        let (code, _, err) = dlncheck(&all);
        assert_eq!(code, 0, "{err}");
        let inst = dlncheck::io::instance::load(&path).unwrap();
        let recipe: dlncheck::io::recipe::Recipe =
            dlncheck::io::yaml::from_str(&inst.meta["recipe"].replace("; ", "\n")).unwrap();
        let (problem, theta, _) = recipe.build(5).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&inst.theta), bits(&theta), "{name}: parameters survive the file");
        let s_file =
            dlncheck::engine::spectrum::sharpness(&inst.problem().unwrap(), &inst.theta, &Default::default())
                .unwrap();
        let s_mem = dlncheck::engine::spectrum::sharpness(&problem, &theta, &Default::default()).unwrap();
        assert_eq!(s_file.to_bits(), s_mem.to_bits(), "{name}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// (file contents, field the error must name)
fn bad_inputs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, 2]\nweights: [[[1, 0], [0, 1]], [[1, 1]]]\n", ""),
        ("architecture: mlp\nx: [[1, 2], [3]]\ny: [1, 2]\nweights: [[[1, 1]]]\n", "x[1]"),
        ("architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1]\nweights: [[[1, 1]]]\n", "y"),
        ("architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, .nan]\nweights: [[[1, 1]]]\n", "y[1]"),
        ("architecture: mlp\nx: [[1, 2], [3, .inf]]\ny: [1, 2]\nweights: [[[1, 1]]]\n", "x[1][1]"),
        (
            "architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, 2]\nweights: [[[1, 0], [0, 1]], [[1, 1], [1, 1]]]\n",
            "weights[1]",
        ),
        (
            "architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, 2]\nweights: [[[1, 0], [0]], [[1, 1]]]\n",
            "weights[0][1]",
        ),
        ("architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, 2]\nweights: [[[1, 1e999]]]\n", "weights[0][0]"),
        ("architecture: mlp\nx: [[1, 2], [3, 4]]\ny: [1, 2]\n", "weights"),
        ("architecture: cnn\nx: [[1, 2]]\ny: [1]\nweights: [[[1, 1]]]\n", "architecture"),
        ("architecture: mlp\nx: [[1, \"a\"]]\ny: [1]\nweights: [[[1, 1]]]\n", "x[0][1]"),
        ("architecture: mlp\nx: [[1, 2]]\ny: [1]\nweights: [[[1, 1]]]\nbias: 3\n", "bias"),
        ("architecture: residual\nx: [[1, 2]]\ny: [1]\nweights: [[[1, 0], [0, 1]]]\n", "projection"),
        (
            "architecture: residual\nx: [[1, 2]]\ny: [1]\nweights: [[[1, 0], [0, 1]]]\nprojection: [0, 0]\n",
            "projection",
        ),
        ("architecture: mlp\nx: [[1, 2]]\ny: [1]\nweights: [[[1, 1]]]\nprojection: [1, 0]\n", "projection"),
        ("architecture: mlp\nx: [[1, 2]\ny: [1]\n", "line"),
        ("architecture: mlp\nx: []\ny: []\nweights: [[[1, 1]]]\n", "x"),
    ]
}

#[test]
fn bad_instance_files_are_rejected_with_the_field_named() {
    let dir = std::env::temp_dir().join(format!("dlncheck-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (text, field)) in bad_inputs().into_iter().enumerate() {
        let path = dir.join(format!("bad{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let (code, out, err) = dlncheck(&["sharpness", path.to_str().unwrap()]);
        if field.is_empty() {
            assert_eq!(code, 0, "case {i} is valid: {err}");
            continue;
        }
        assert_eq!(code, 2, "case {i}: exit code; stderr: {err}");
        assert!(out.is_empty(), "case {i}: nothing on stdout");
        assert!(err.starts_with("error: "), "case {i}: {err}");
        assert!(err.contains(field), "case {i}: error should name `{field}`: {err}");
        assert!(!err.contains("panicked"), "case {i}: {err}");
    }
    let (code, _, err) = dlncheck(&["sharpness", dir.join("missing.yaml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.yaml"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_explains() {
    let (code, out, _) = dlncheck(&["--help"]);
    assert_eq!(code, 0);
    for word in ["sharpness", "instance", "bench", "Exit codes"] {
        assert!(out.contains(word), "--help should mention {word}: {out}");
    }
}

/// An instance file as `reproduce` writes it (the fields this test reads).
#[derive(serde::Deserialize)]
struct InstanceFile {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    /// W_1 … W_L, each a list of rows.
    weights: Vec<Vec<Vec<f64>>>,
    /// The residual network's fixed p (absent for the MLP, whose W_L is a row).
    #[serde(default)]
    projection: Option<Vec<f64>>,
    meta: std::collections::BTreeMap<String, String>,
}

/// What `dlncheck sharpness` prints (the fields this test checks).
#[derive(serde::Deserialize)]
struct AuditNumbers {
    sharpness: f64,
    sharpness_lower_bound: f64,
    sharpness_over_lower_bound: f64,
    head_norm: f64,
    depth: usize,
}

/// The risk (1/n)‖y − Xw_prod‖² at θ (W_1 first, each row-major), by a forward pass written here.
fn risk(inst: &InstanceFile, theta: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (xi, yi) in inst.x.iter().zip(&inst.y) {
        let mut v = xi.clone();
        let mut at = 0;
        for w in &inst.weights {
            let cols = w[0].len();
            v = (0..w.len()).map(|r| (0..cols).map(|c| theta[at + r * cols + c] * v[c]).sum()).collect();
            at += w.len() * cols;
        }
        let f = match &inst.projection {
            Some(p) => p.iter().zip(&v).map(|(a, b)| a * b).sum(),
            None => v[0],
        };
        sum += (yi - f).powi(2);
    }
    sum / inst.y.len() as f64
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (independent of the engine's
/// Lanczos and dense solvers), ascending.
#[allow(clippy::needless_range_loop)] // matrix indices read as the formulas
fn jacobi_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut norm = 0.0;
        for i in 0..n {
            for j in 0..n {
                norm += a[i][j] * a[i][j];
                if i != j {
                    off += a[i][j] * a[i][j];
                }
            }
        }
        if off <= 1e-30 * norm {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta == 0.0 {
                    1.0
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (a[p][k], a[q][k]);
                    a[p][k] = c * pk - s * qk;
                    a[q][k] = s * pk + c * qk;
                }
            }
        }
    }
    let mut eig: Vec<f64> = (0..n).map(|i| a[i][i]).collect();
    eig.sort_by(f64::total_cmp);
    eig
}

/// λ_max of the Hessian of [`risk`] from central second differences with step h: truncation
/// O(h²·(fourth derivatives of R)) and rounding O(ε·R/h²), both ≈ 1e-7 at h = 1e-4 on these
/// O(1) instances.
#[allow(clippy::needless_range_loop)] // matrix indices read as the formulas
fn fd_sharpness(inst: &InstanceFile, theta: &[f64], h: f64) -> f64 {
    let n = theta.len();
    let at = |i: usize, si: f64, j: usize, sj: f64| {
        let mut t = theta.to_vec();
        t[i] += si * h;
        t[j] += sj * h;
        risk(inst, &t)
    };
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in i..n {
            let v = (at(i, 1.0, j, 1.0) - at(i, 1.0, j, -1.0) - at(i, -1.0, j, 1.0) + at(i, -1.0, j, -1.0))
                / (4.0 * h * h);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    *jacobi_eigenvalues(hess).last().unwrap()
}

/// ‖p‖ of the instance (1 for the MLP).
fn head_norm(inst: &InstanceFile) -> f64 {
    inst.projection.as_ref().map_or(1.0, |p| p.iter().map(|x| x * x).sum::<f64>().sqrt())
}

/// Theorem 1's LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L} recomputed here from the instance's data:
/// Σ = XᵀX/n, w* = Σ⁻¹Xᵀy/n (Gauss–Jordan elimination with partial pivoting), a = w*ᵀΣw*/‖w*‖².
#[allow(clippy::needless_range_loop)] // matrix indices read as the formulas
fn closed_form_lower_bound(inst: &InstanceFile) -> f64 {
    let (n, d) = (inst.x.len() as f64, inst.x[0].len());
    let sigma: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| inst.x.iter().map(|r| r[i] * r[j]).sum::<f64>() / n).collect())
        .collect();
    let mut m: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            let mut row = sigma[i].clone();
            row.push(inst.x.iter().zip(&inst.y).map(|(r, y)| r[i] * y).sum::<f64>() / n);
            row
        })
        .collect();
    for c in 0..d {
        let piv = (c..d).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs())).unwrap();
        m.swap(c, piv);
        for r in 0..d {
            if r != c {
                let f = m[r][c] / m[c][c];
                for k in c..=d {
                    m[r][k] -= f * m[c][k];
                }
            }
        }
    }
    let w: Vec<f64> = (0..d).map(|i| m[i][d] / m[i][i]).collect();
    let ww: f64 = w.iter().map(|x| x * x).sum();
    let wsw: f64 = (0..d).map(|i| (0..d).map(|j| w[i] * sigma[i][j] * w[j]).sum::<f64>()).sum();
    let l = inst.weights.len() as f64;
    2.0 * l * (wsw / ww) * ww.sqrt().powf(2.0 - 2.0 / l) * head_norm(inst).powf(2.0 / l)
}

/// `check` → `reproduce` → `sharpness`: the reproduced instances' sharpness and LB, as the audit
/// prints them, against numbers recomputed in this test from the instance file alone (LB by its
/// closed form, S as λ_max of a finite-difference Hessian of a forward pass written here), and
/// the tightness `reproduce` reports against the audit's S/LB.
#[test]
fn check_reproduce_and_audit_round_trip() {
    let dir = std::env::temp_dir().join(format!("dlncheck-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.yaml");
    let (code, out, err) =
        dlncheck(&["check", "--quick", "--only", "mc.thm1.lower_bound", "--out", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("complete: true") && text.contains("verdict: holds"), "{text}");
    assert!(dir.join("report.timing.yaml").exists());
    // The worst instance (the default; κ = 1, so S = LB) and instance 85 (a random unbalanced
    // minimiser of a depth-3 residual network with ‖p‖ = 0.5 on κ = 100 data).
    let residual =
        "residual; d: 3; depth: 3; direction: random; head_norm: 0.5; kappa: 100; minimizer: random";
    for (instance, expect_point) in [(None, "kappa: 1;"), (Some("85"), residual)] {
        let path = dir.join("inst.yaml");
        let mut args = vec!["reproduce", "mc.thm1.lower_bound", "--quick", "--out", path.to_str().unwrap()];
        if let Some(k) = instance {
            args.extend(["--instance", k]);
        }
        let (code, _, note) = dlncheck(&args);
        assert_eq!(code, 0, "{note}");
        let inst: InstanceFile =
            dlncheck::io::yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(inst.meta["point"].contains(expect_point), "instance {instance:?}: {}", inst.meta["point"]);
        let (code, audit, err) = dlncheck(&["sharpness", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let a: AuditNumbers = dlncheck::io::yaml::from_str(&audit).unwrap();
        assert_eq!(a.depth, inst.weights.len());
        assert!((a.head_norm - head_norm(&inst)).abs() <= 1e-14, "{instance:?}: ‖p‖ {}", a.head_norm);
        // LB: the same closed form by another code path; the difference is rounding in solving
        // for w* (κ ≤ 100: ≲ 1e-13 relative; measured 1.1e-16 and 5.8e-16); tolerance 1e-10.
        let lb = closed_form_lower_bound(&inst);
        let lb_err = (a.sharpness_lower_bound - lb).abs() / lb;
        assert!(lb_err <= 1e-10, "{instance:?}: LB {} vs {lb}", a.sharpness_lower_bound);
        // S: λ_max of the finite-difference Hessian (error ≲ 1e-7 by fd_sharpness's estimate;
        // measured 1.2e-9 and 3.0e-10 relative); tolerance 1e-7 relative.
        let theta: Vec<f64> = inst.weights.iter().flatten().flatten().copied().collect();
        let s_fd = fd_sharpness(&inst, &theta, 1e-4);
        let s_err = (a.sharpness - s_fd).abs() / s_fd;
        assert!(s_err <= 1e-7, "{instance:?}: S {} vs finite differences {s_fd}", a.sharpness);
        eprintln!("{instance:?}: LB rel. error {lb_err:.1e}, S rel. error {s_err:.1e}, S/LB {}", s_fd / lb);
        assert!((a.sharpness_over_lower_bound - s_fd / lb).abs() <= 1e-7 * s_fd / lb);
        // The tightness `reproduce` reports is the audit's S/LB (both exact: 1e-9).
        let reported = note.split("tightness ").nth(1).and_then(|s| s.split(',').next()).unwrap().trim();
        let reported: f64 = reported.parse().unwrap();
        assert!(
            (a.sharpness_over_lower_bound - reported).abs() < 1e-9 * reported,
            "{instance:?}: {reported}"
        );
        if instance.is_none() {
            // The worst quick instance is tight: S = LB (Theorem 1 attained at κ = 1).
            assert!((s_fd / lb - 1.0).abs() <= 1e-7, "worst instance S/LB = {}", s_fd / lb);
        } else {
            assert!(
                s_fd / lb > 1.01,
                "a random unbalanced minimiser on κ = 100 data is not tight: {}",
                s_fd / lb
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn invalid_spec_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("dlncheck-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read_to_string("properties/mc.thm1.lower_bound.yaml").unwrap();
    std::fs::write(dir.join("mc.thm1.lower_bound.yaml"), src.replace("  d: [2, 5, 10]", "  d: []")).unwrap();
    let (code, out, err) = dlncheck(&["check", "--properties", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("mc.thm1.lower_bound.yaml:") && err.contains("grid.d") && err.contains("empty"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
