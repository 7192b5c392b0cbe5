//! `dlncheck check` must be seen to fail: specs with a deliberately wrong constant or tolerance
//! (tests/fixtures/verdicts/wrong_*) must give `verdict: violated` with the violated count and
//! exit 1; a control made to hold (tests/fixtures/verdicts/control_holds) must give
//! `defect_passed` and exit 1. Each fixture folder holds the altered spec only; the test lays it
//! over a copy of properties/ (every registered claim needs a spec) and runs `--quick --only`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `check --quick --only ID` on properties/ with the fixture's specs laid over it; returns
/// the exit code and the report's entry for ID.
fn check_fixture(fixture: &str, id: &str) -> (i32, serde_yaml::Value, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("dlncheck-fixture-{fixture}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    for f in dlncheck::framework::spec::spec_files(&root.join("properties")).unwrap() {
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let fixture_dir: PathBuf = root.join("tests/fixtures/verdicts").join(fixture);
    let altered = fixture_dir.join(format!("{id}.yaml"));
    assert!(altered.exists(), "{} missing", altered.display());
    for f in dlncheck::framework::spec::spec_files(&fixture_dir).unwrap() {
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let out = dir.join("report.yaml");
    let o = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(["check", "--quick", "--only", id, "--properties"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("binary runs");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let report: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(report["complete"], serde_yaml::Value::Bool(true));
    assert_eq!((report["passed"].as_u64(), report["failed"].as_u64()), (Some(0), Some(1)), "{text}");
    let props = report["properties"].as_sequence().unwrap();
    assert_eq!(props.len(), 1);
    (o.status.code().unwrap_or(-1), props[0].clone(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn count(v: &serde_yaml::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("`{key}` missing in {v:?}"))
}

fn control<'a>(p: &'a serde_yaml::Value, variant: &str) -> &'a serde_yaml::Value {
    p["controls"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["variant"].as_str() == Some(variant))
        .unwrap_or_else(|| panic!("no control `{variant}`"))
}

#[test]
fn a_wrong_constant_is_a_violation() {
    // C = 1e-3 instead of 8: every instance where the bound is claimed (s ∈ {0, 0.5}: 2 of the
    // 3 quick scales × 3 depths × 2 norms = 12) is violated; at s = 1.7 only convergence is
    // claimed (6 hold).
    let (code, p, err) = check_fixture("wrong_constant", "mc.ri.convergence");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAILED mc.ri.convergence: violated"), "{err}");
    assert_eq!(p["verdict"].as_str(), Some("violated"));
    assert_eq!(p["controls_ok"].as_bool(), Some(true), "the controls still fail");
    assert_eq!(
        (count(&p, "instances"), count(&p, "holds"), count(&p, "violated"), count(&p, "not_converged")),
        (18, 6, 12, 0)
    );
    // The normalised constants measured on the quick grid are ≥ 0.3, so bound/S = 1e-3/constant
    // stays below 1e-2 on all 12 (with C = 8 the same instances have tightness ≥ 1.9).
    assert_eq!(p["tightness"]["n"].as_u64(), Some(12));
    assert!(p["tightness"]["max"].as_f64().unwrap() < 1e-2, "{:?}", p["tightness"]);
    assert_eq!(p["worst"]["status"].as_str(), Some("violated"));
}

#[test]
fn a_wrong_tolerance_is_a_violation() {
    // rel = 1e-300: below any rounding error, so every instance of the identity is violated.
    let (code, p, err) = check_fixture("wrong_tolerance", "jgshg.balance_decay");
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["kind"].as_str(), Some("equality"));
    assert_eq!(p["verdict"].as_str(), Some("violated"));
    assert_eq!((count(&p, "instances"), count(&p, "holds"), count(&p, "violated")), (2, 0, 2));
    assert!(p["error"]["min"].as_f64().unwrap() > 1.0, "{:?}", p["error"]);
}

#[test]
fn a_control_made_to_hold_is_a_defect() {
    // lambda_max at κ = 1: a = Λ, so "Λ in place of a" is the claim itself and holds (S = LB at
    // balanced minimisers on isotropic data).
    let (code, p, err) = check_fixture("control_holds", "mc.thm1.lower_bound");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAILED mc.thm1.lower_bound: a control did not fail"), "{err}");
    assert_eq!(p["verdict"].as_str(), Some("holds"), "the claim itself still holds");
    assert_eq!(p["controls_ok"].as_bool(), Some(false));
    let c = control(&p, "lambda_max");
    assert_eq!(c["verdict"].as_str(), Some("defect_passed"));
    assert_eq!((count(c, "instances"), count(c, "holds"), count(c, "violated")), (2, 2, 0));
    let t = c["tightness"]["min"].as_f64().unwrap();
    assert!((t - 1.0).abs() < 1e-9, "tight at κ = 1: {t}");
    for other in ["exponent_2", "non_minimizer"] {
        assert_eq!(control(&p, other)["verdict"].as_str(), Some("fails_as_expected"), "{other}");
    }
}
