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

#[test]
fn check_reproduce_and_audit_round_trip() {
    let dir = std::env::temp_dir().join(format!("dlncheck-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.yaml");
    let (code, out, err) =
        dlncheck(&["check", "--quick", "--only", "mc.thm1.lower_bound", "--out", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("mc.thm1.lower_bound") && out.contains("holds"), "{out}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("complete: true") && text.contains("verdict: holds"), "{text}");
    assert!(dir.join("report.timing.yaml").exists());
    // The worst instance, written out, audited by `sharpness`: the same sharpness.
    let inst = dir.join("worst.yaml");
    let (code, _, note) =
        dlncheck(&["reproduce", "mc.thm1.lower_bound", "--quick", "--out", inst.to_str().unwrap()]);
    assert_eq!(code, 0, "{note}");
    let (code, audit, err) = dlncheck(&["sharpness", inst.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    #[derive(serde::Deserialize)]
    struct A {
        sharpness: f64,
        sharpness_lower_bound: f64,
    }
    let a: A = dlncheck::io::yaml::from_str(&audit).unwrap();
    let ratio = a.sharpness / a.sharpness_lower_bound;
    let reported = note.split("tightness ").nth(1).and_then(|s| s.split(',').next()).unwrap().trim();
    let reported: f64 = reported.parse().unwrap();
    assert!((ratio - reported).abs() < 1e-9 * reported, "audit S/LB {ratio} vs reported {reported}");
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
