//! Hostile and huge inputs, as an attacker would type them: every row must end in a clear
//! error with the promised exit code (2 bad input, 3 numerical failure) naming the field, or in
//! a computed answer whose numbers are finite or `null` with a note — never a panic (101), an
//! abort (134), `.nan`/`.inf` in the output, or an unbounded allocation.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn dlncheck_in(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dlncheck"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(bytes) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(bytes).ok();
    }
    let out = child.wait_with_output().expect("binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn dlncheck(args: &[&str]) -> Run {
    dlncheck_in(None, args, None)
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlncheck-hostile-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit code `code`, no panic, and (for errors) a one-line message naming `field`.
#[track_caller]
fn assert_refused(r: &Run, code: i32, field: &str) {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.err);
    assert!(!r.err.contains("panicked"), "{}", r.err);
    assert!(r.err.starts_with("error: "), "{}", r.err);
    assert!(r.err.contains(field), "the message should name `{field}`: {}", r.err);
    assert!(r.err.len() < 2000, "a short message, got {} bytes", r.err.len());
}

/// Exit 0, no panic, and no non-finite number anywhere in the output.
#[track_caller]
fn assert_answer(r: &Run) -> serde_yaml_value::Value {
    assert_eq!(r.code, 0, "stderr: {}", r.err);
    assert!(!r.err.contains("panicked"), "{}", r.err);
    for bad in [".nan", ".inf", "NaN", "inf"] {
        assert!(!r.out.to_lowercase().contains(&bad.to_lowercase()), "`{bad}` in the output:\n{}", r.out);
    }
    serde_yaml_value::parse(&r.out)
}

/// The audit's YAML, read as a map of field → number or null (enough for these tests).
mod serde_yaml_value {
    use std::collections::BTreeMap;
    pub type Value = BTreeMap<String, Option<f64>>;
    pub fn parse(text: &str) -> Value {
        let mut out = BTreeMap::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(": ")
                && !k.starts_with(' ')
                && !k.starts_with('-')
            {
                let v = v.trim();
                out.insert(k.to_string(), if v == "null" { None } else { v.parse().ok() });
            }
        }
        out
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn sharpness_of(dir: &Path, text: &str) -> Run {
    let p = write(dir, "inst.yaml", text);
    dlncheck(&["sharpness", p.to_str().unwrap()])
}

const W2: &str = "weights: [[[0.5, 0.1], [0.2, 0.3]], [[0.4, -0.6]]]\n";

#[test]
fn rank_zero_design_matrices_are_bad_input() {
    let dir = scratch("rank0");
    for x in ["[[0, 0], [0, 0]]", "[[1e-310, 0], [0, 1e-310]]", "[[5e-324, 0], [0, 0]]"] {
        let r = sharpness_of(&dir, &format!("architecture: mlp\nx: {x}\ny: [1, 2]\n{W2}"));
        assert_refused(&r, 2, "x: has rank 0: the covariance has no non-zero eigenvalue");
    }
    let r = sharpness_of(&dir, "architecture: mlp\nx: [[0.0]]\ny: [1]\nweights: [[[0.5]]]\n");
    assert_refused(&r, 2, "x: has rank 0");
}

/// An instance with Gaussian weights of standard deviation `std` (d = 3, L = 3, n = 10).
fn gaussian_instance(dir: &Path, std: &str) -> PathBuf {
    let p = dir.join(format!("g{std}.yaml"));
    let r = dlncheck(&[
        "instance",
        "--d",
        "3",
        "--depth",
        "3",
        "--n",
        "10",
        "--scale",
        std,
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    p
}

#[test]
fn large_weights_give_an_answer_or_a_numerical_failure() {
    let dir = scratch("large");
    // std 1e40 at L = 3: risk ≈ 1e240 and the Hessian ≈ 1e161 are representable: computed, and
    // the power iteration (an independent route) agrees with the exact sharpness.
    let r = dlncheck(&["sharpness", gaussian_instance(&dir, "1e40").to_str().unwrap()]);
    let a = assert_answer(&r);
    let s = a["sharpness"].expect("computed");
    let pi = a["power_iteration_20"].expect("computed");
    assert!(s > 1e150 && s < 1e170, "{s}");
    assert!((s - pi).abs() <= 1e-6 * s, "exact {s} vs power iteration {pi}");
    assert!(a["grad_norm"].is_some() && a["risk"].is_some(), "{}", r.out);
    // 1e50 … 1e150: an answer where representable, else exit 3 with the reason.
    for std in ["1e50", "1e80", "1e100", "1e150"] {
        let r = dlncheck(&["sharpness", gaussian_instance(&dir, std).to_str().unwrap()]);
        if r.code == 0 {
            assert_answer(&r);
        } else {
            assert_refused(&r, 3, "numerical failure");
        }
    }
    // A residual head p = 1e300: the risk itself is 1e600, beyond f64: exit 3, saying so.
    let r = sharpness_of(
        &dir,
        "architecture: residual\nx: [[1, 0.5], [0.2, 1], [0.3, 0.1]]\ny: [1, 2, 3]\n\
         weights: [[[1, 0.1], [0.2, 1]], [[1, -0.1], [0, 1]]]\nprojection: [1e300, 1e300]\n",
    );
    assert_refused(&r, 3, "risk");
}

#[test]
fn undefined_quantities_are_null_with_a_note() {
    let dir = scratch("null");
    let x = "x: [[1, 0.5], [0.2, 1], [0.3, 0.1]]\n";
    // y = 0: w* = 0, so a and LB are undefined.
    for weights in [W2, "weights: [[[0, 0], [0, 0]], [[0, 0]]]\n"] {
        let r = sharpness_of(&dir, &format!("architecture: mlp\n{x}y: [0, 0, 0]\n{weights}"));
        let a = assert_answer(&r);
        assert_eq!(a["w_star_norm"], Some(0.0));
        assert_eq!(a["sharpness_lower_bound"], None);
        assert_eq!(a["sharpness_over_lower_bound"], None);
        assert!(a["sharpness"].is_some());
        assert!(
            r.out.contains("notes:") && r.out.contains("sharpness_lower_bound: undefined (w* = 0"),
            "{}",
            r.out
        );
    }
}

#[test]
fn extreme_scales_are_computed_where_representable() {
    let dir = scratch("scales");
    // y ≈ 1e200: ‖w*‖ ≈ 2e200 and the sharpness ≈ 2e200 are representable; the risk ≈ 1e400 is not.
    let r = sharpness_of(
        &dir,
        &format!("architecture: mlp\nx: [[1, 0.5], [0.2, 1], [0.3, 0.1]]\ny: [1e200, 2e200, -1e200]\n{W2}"),
    );
    let a = assert_answer(&r);
    let wn = a["w_star_norm"].expect("representable");
    assert!(wn > 1e199 && wn < 1e201, "{wn}");
    assert!(a["sharpness"].is_some() && a["sharpness_lower_bound"].is_some(), "{}", r.out);
    assert_eq!(a["risk"], None);
    assert!(r.out.contains("risk: ≈ 1e400"), "{}", r.out);
    // x ≈ 1e-160 (Σ ≈ 1e-320 would be subnormal): audited in rescaled units. ‖w*‖ ≈ 1e160, and the
    // risk is O(1), as for x ≈ 1 and w* ≈ 1.
    let r = sharpness_of(
        &dir,
        &format!(
            "architecture: mlp\nx: [[1e-160, 0.5e-160], [0.2e-160, 1e-160], [0.3e-160, 0.1e-160]]\n\
             y: [1, 2, 3]\n{W2}"
        ),
    );
    let a = assert_answer(&r);
    let wn = a["w_star_norm"].unwrap();
    assert!(wn > 1e159 && wn < 1e161, "{wn}");
    let risk = a["risk"].unwrap();
    // The weights' end-to-end map is ≈ 0.3, so Xw ≈ 1e-160 and R ≈ ‖y‖²/n = 14/3.
    assert!((risk - 14.0 / 3.0).abs() < 1e-12, "{risk}");
    assert!(a["sharpness_lower_bound"].is_some() && a["sharpness"].is_some(), "{}", r.out);
    // x = 1e200·I: Σ ≈ 1e400 and every curvature with it are beyond f64: null, with the magnitude.
    let r = sharpness_of(&dir, &format!("architecture: mlp\nx: [[1e200, 0], [0, 1e200]]\ny: [1, 2]\n{W2}"));
    let a = assert_answer(&r);
    assert_eq!(a["sharpness"], None);
    assert!(r.out.contains("sharpness: ≈ 1e399"), "{}", r.out);
    assert!(a["w_star_norm"].unwrap() > 2e-200 && a["w_star_norm"].unwrap() < 3e-200);
}

#[test]
fn instance_flags_are_validated_and_named() {
    for (flag, value) in [
        ("--scale", "nan"),
        ("--scale", "inf"),
        ("--scale", "-1"),
        ("--kappa", "nan"),
        ("--kappa", "0"),
        ("--kappa", "0.5"),
        ("--kappa", "1e300"),
        ("--eta", "nan"),
        ("--eta", "0"),
        ("--eta", "-0.1"),
        ("--noise", "nan"),
        ("--noise", "-1"),
        ("--d", "0"),
        ("--depth", "0"),
        ("--n", "0"),
    ] {
        let joined = format!("{flag}={value}");
        let mut args = vec!["instance", &joined];
        if flag == "--kappa" {
            args.extend(["--data", "spectrum"]);
        }
        if flag == "--eta" {
            args.extend(["--steps", "3"]);
        }
        let r = dlncheck(&args);
        assert_refused(&r, 2, &format!("arguments: {flag}:"));
        assert!(!r.err.contains("x[0]"), "{flag} {value}: blames the data: {}", r.err);
    }
}

#[test]
fn recipe_files_are_validated_and_named() {
    let dir = scratch("recipe");
    let p = write(
        &dir,
        "r.yaml",
        "architecture: mlp\nd: 3\ndepth: 2\ndata: {kind: spectrum, n: 10, kappa: .nan, direction: top, \
         w_star_norm: 1, risk_min: 0}\nweights: {kind: balanced}\n",
    );
    let r = dlncheck(&["instance", "--recipe", p.to_str().unwrap()]);
    assert_refused(&r, 2, "data.kappa");
}

/// A copy of the properties directory with one spec edited by `edit`.
fn edited_properties(dir: &Path, file: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let props = dir.join("props");
    std::fs::create_dir_all(&props).unwrap();
    for e in std::fs::read_dir("properties").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            std::fs::write(props.join(&name), if name == file { edit(&text) } else { text }).unwrap();
        }
    }
    props
}

#[test]
fn huge_spec_values_are_refused_before_allocating() {
    let dir = scratch("specs");
    let out = dir.join("r.yaml");
    let out = out.to_str().unwrap();
    let spec = "mc.thm1.upper.yaml";
    for (reps, quick) in
        [("18446744073709551615", true), ("1000000000", false), ("18446744073709551615", false)]
    {
        let props = edited_properties(&dir, spec, |t| {
            if quick {
                t.replace("quick:\n", &format!("quick:\n  repetitions: {reps}\n"))
            } else {
                t.lines()
                    .map(|l| {
                        if l.starts_with("repetitions:") { format!("repetitions: {reps}") } else { l.into() }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        });
        let mut args = vec!["check", "--properties", props.to_str().unwrap(), "--out", out];
        if quick {
            args.push("--quick");
        }
        let r = dlncheck(&args);
        assert_refused(&r, 2, "instances");
        assert!(r.err.contains("--max-instances") && r.err.contains("mc.thm1.upper"), "{}", r.err);
        let count: String =
            r.err.split("expand to ").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
        assert!(
            count.parse::<u128>().unwrap() >= reps.parse::<u128>().unwrap(),
            "the count is in the message: {}",
            r.err
        );
        let r = dlncheck(&["reproduce", "mc.thm1.upper", "--properties", props.to_str().unwrap()]);
        if !quick {
            assert_refused(&r, 2, "instances");
        }
    }
    // The limit is a flag.
    let props = edited_properties(&dir, spec, |t| t.to_string());
    let r =
        dlncheck(&["check", "--properties", props.to_str().unwrap(), "--out", out, "--max-instances", "10"]);
    assert_refused(&r, 2, "above the limit of 10");
    // Per-parameter ranges: sizes, and κ ≥ 1 and finite.
    for (from, to, field) in [
        ("depth: [1, 2, 5, 20]", "depth: [1000000]", "grid.depth"),
        ("kappa: [1, 100, 10000]", "kappa: [0.001]", "grid.kappa"),
        ("kappa: [1, 100, 10000]", "kappa: [1.0e308]", "grid.kappa"),
        ("d: [3]", "d: [100000]", "quick.grid.d"),
    ] {
        let props = edited_properties(&dir, spec, |t| {
            assert!(t.contains(from), "{from}");
            t.replacen(from, to, 1)
        });
        let r = dlncheck(&["check", "--quick", "--properties", props.to_str().unwrap(), "--out", out]);
        assert_refused(&r, 2, field);
    }
}

#[test]
fn yaml_aliases_are_refused() {
    let dir = scratch("alias");
    // Alias fan-out inside x: each level multiplies the size by 10.
    let mut text = String::from("architecture: mlp\nanchors:\n  - &a0 [1, 2]\n");
    for i in 1..8 {
        let prev = format!("*a{}", i - 1);
        text += &format!("  - &a{i} [{}]\n", vec![prev; 10].join(", "));
    }
    text += "x: *a7\ny: [1, 2]\nweights: [[[1, 1]]]\n";
    let r = sharpness_of(&dir, &text);
    assert_refused(&r, 2, "anchors and aliases are not accepted");
    let r =
        sharpness_of(&dir, "architecture: mlp\nx: &x [[1, 2], [3, 4]]\ny: [1, 2]\nweights: [*x, [[1, 1]]]\n");
    assert_refused(&r, 2, "line 2");
}

#[test]
fn input_size_is_capped() {
    let dir = scratch("size");
    // /dev/zero never ends: refused at the cap, fast.
    let t = std::time::Instant::now();
    let r = dlncheck(&["sharpness", "/dev/zero", "--max-input-bytes", "1000000"]);
    assert_refused(&r, 2, "--max-input-bytes");
    assert!(t.elapsed().as_secs() < 30);
    let r = dlncheck(&["sharpness", "/dev/zero"]);
    assert_refused(&r, 2, "input limit of 67108864 bytes");
    // A file just over a small cap, and a directory.
    let p = write(&dir, "big.yaml", &"#".repeat(2000));
    let r = dlncheck(&["sharpness", p.to_str().unwrap(), "--max-input-bytes", "1000"]);
    assert_refused(&r, 2, "big.yaml");
    let r = dlncheck(&["sharpness", dir.to_str().unwrap()]);
    assert_refused(&r, 2, "directory");
}

#[test]
fn long_values_are_truncated_in_messages() {
    let dir = scratch("long");
    let digits = "9".repeat(100_000);
    let r = sharpness_of(
        &dir,
        &format!("architecture: mlp\nx: [[1, \"{digits}\"]]\ny: [1]\nweights: [[[1, 1]]]\n"),
    );
    assert_refused(&r, 2, "x[0][1]");
    assert!(r.err.len() < 1000, "{} bytes", r.err.len());
    let r =
        sharpness_of(&dir, &format!("architecture: mlp\nx: [[1, {digits}]]\ny: [1]\nweights: [[[1, 1]]]\n"));
    assert!(r.code == 2 || r.code == 0, "{}", r.err);
    assert!(r.err.len() < 1000 && !r.err.contains("panicked"));
}

#[test]
fn byte_order_mark_is_skipped() {
    let dir = scratch("bom");
    let r =
        sharpness_of(&dir, &format!("\u{feff}architecture: mlp\nx: [[1, 0.5], [0.2, 1]]\ny: [1, 2]\n{W2}"));
    assert_answer(&r);
}

#[test]
fn standard_input_is_an_instance() {
    let text = format!("architecture: mlp\nx: [[1, 0.5], [0.2, 1]]\ny: [1, 2]\n{W2}");
    let r = dlncheck_in(None, &["sharpness", "-"], Some(text.as_bytes()));
    let a = assert_answer(&r);
    assert!(a["sharpness"].is_some());
    let r = dlncheck_in(None, &["sharpness", "-"], Some(b"architecture: mlp\n"));
    assert_refused(&r, 2, "standard input");
}

#[test]
fn memory_budget_refuses_up_front() {
    let dir = scratch("memory");
    let p = gaussian_instance(&dir, "0.1");
    let r = dlncheck(&["sharpness", p.to_str().unwrap(), "--max-memory", "1000"]);
    assert_refused(&r, 2, "--max-memory");
    assert!(r.err.contains("estimated"), "{}", r.err);
    let r = dlncheck(&["instance", "--d", "100000", "--depth", "3", "--max-memory", "1G"]);
    assert_refused(&r, 2, "--max-memory");
    let r = dlncheck(&["sharpness", p.to_str().unwrap(), "--max-memory", "lots"]);
    assert_eq!(r.code, 2, "{}", r.err);
}

#[test]
fn check_out_is_checked_before_running() {
    let dir = scratch("out");
    let r = dlncheck(&["check", "--quick", "--only", "mc.thm1.upper", "--out", dir.to_str().unwrap()]);
    assert_refused(&r, 4, "is a directory");
    let left: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .filter(|e| e.file_name().to_string_lossy().contains(&std::process::id().to_string()))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let r = dlncheck(&["check", "--quick", "--only", "mc.thm1.upper", "--out", "/proc/no/such/report.yaml"]);
    assert_eq!(r.code, 4, "{}", r.err);
    assert!(!r.err.contains("panicked") && r.err.contains("cannot write"), "{}", r.err);
}

#[test]
fn property_ids_and_only_lists() {
    let dir = scratch("ids");
    let out = dir.join("r.yaml");
    let r = dlncheck(&["reproduce", "no.such"]);
    assert_refused(&r, 2, "property id: no.such");
    assert!(!r.err.contains("--only"), "{}", r.err);
    let r =
        dlncheck(&["check", "--quick", "--only", "mc.thm1.upper,no.such", "--out", out.to_str().unwrap()]);
    assert_refused(&r, 2, "--only: no.such");
    // Commas, as for `figures --only`; one line per finished property off a terminal.
    let r = dlncheck(&[
        "check",
        "--quick",
        "--only",
        "mc.thm1.upper,mc.thm1.unbounded",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("mc.thm1.upper: ") && r.err.contains("mc.thm1.unbounded: "), "{}", r.err);
    assert!(out.with_extension("timing.yaml").exists());
    // A missing properties directory points at --properties.
    let r = dlncheck(&["list", "--properties", dir.join("none").to_str().unwrap()]);
    assert_refused(&r, 2, "--properties");
}

#[test]
fn every_flag_has_help() {
    for cmd in ["sharpness", "instance", "check", "merge", "reproduce", "attack", "list", "figures", "bench"]
    {
        let r = dlncheck(&[cmd, "--help"]);
        assert_eq!(r.code, 0);
        let lines: Vec<&str> = r.out.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if t.starts_with("--") && !t.starts_with("--help") && !t.starts_with("--version") {
                let next = lines.get(i + 1).map(|s| s.trim()).unwrap_or("");
                assert!(
                    !next.is_empty() && !next.starts_with("--") && !next.starts_with('[') || t.contains("  "),
                    "`{cmd} {t}` has no help text:\n{}",
                    r.out
                );
            }
        }
    }
}

/// examples/paper_mlp.yaml is what the README's documented command writes (numbers to 1e-12,
/// relative: faer's SIMD kernels may differ in the last bits between CPUs), and its
/// `meta.recipe` feeds back to `--recipe`, giving the same instance.
#[test]
fn example_instance_matches_its_documented_command_and_recipe_round_trips() {
    let dir = scratch("example");
    let args = [
        "instance", "--depth", "10", "--init", "gaussian", "--scale", "0.35", "--eta", "0.02", "--steps",
        "4000", "--seed", "1",
    ];
    let r = dlncheck(&args);
    assert_eq!(r.code, 0, "{}", r.err);
    let fresh = dlncheck::io::instance::parse(&r.out, "fresh").unwrap();
    let file = dlncheck::io::instance::load(Path::new("examples/paper_mlp.yaml")).unwrap();
    assert_eq!(fresh.meta, file.meta);
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0))
    };
    assert!(close(&fresh.theta, &file.theta), "weights differ: regenerate examples/paper_mlp.yaml");
    assert!(close(&fresh.data.y, &file.data.y));
    // The stored recipe is a recipe file as it stands.
    let recipe = write(&dir, "recipe.yaml", &file.meta["recipe"]);
    let r2 = dlncheck(&["instance", "--recipe", recipe.to_str().unwrap(), "--seed", &file.meta["seed"]]);
    assert_eq!(r2.code, 0, "{}", r2.err);
    assert_eq!(r2.out, r.out, "--recipe meta.recipe re-creates the instance bit for bit");
}

/// The instance files' `activation` field: unknown, mistyped, empty, huge or cased values exit 2
/// naming `activation`; absent and null mean identity; gelu on data whose risk overflows exits 3.
#[test]
fn hostile_activation_values() {
    let dir = scratch("activation");
    let good = dlncheck_in(Some(&dir), &["instance", "--depth", "3", "--d", "3", "--out", "g.yaml"], None);
    assert_eq!(good.code, 0, "{}", good.err);
    let base = std::fs::read_to_string(dir.join("g.yaml")).unwrap();
    let huge = "g".repeat(100_000);
    let cases: Vec<(String, &str)> = vec![
        ("relu".into(), "unknown activation"),
        ("GELU".into(), "unknown activation"),
        ("''".into(), "unknown activation"),
        ("3".into(), "unknown activation"),
        ("[gelu]".into(), "sequence"),
        ("{gelu: 1}".into(), "map"),
        (huge, "unknown activation"),
    ];
    for (value, what) in &cases {
        std::fs::write(dir.join("a.yaml"), format!("{base}activation: {value}\n")).unwrap();
        let r = dlncheck_in(Some(&dir), &["sharpness", "a.yaml"], None);
        assert_refused(&r, 2, "activation");
        assert!(r.err.contains(what), "{value:.20}: {}", r.err);
    }
    for (value, act) in [("null", "identity"), ("identity", "identity"), ("gelu", "gelu")] {
        std::fs::write(dir.join("a.yaml"), format!("{base}activation: {value}\n")).unwrap();
        let r = dlncheck_in(Some(&dir), &["sharpness", "a.yaml"], None);
        let v = assert_answer(&r);
        assert!(v["sharpness"].is_some());
        assert_eq!(r.out.contains("activation: gelu"), act == "gelu", "{}", r.out);
        assert_eq!(r.out.contains("reference_linear:"), act == "gelu", "{}", r.out);
    }
    // GELU gives no rescaling: a risk beyond f64 is a numerical failure (3), never .inf.
    let big = "architecture: mlp\nx: [[1e200, 0], [0, 1e200]]\ny: [1, 2]\n\
               weights: [[[0.5, 0.1], [0.2, 0.3]], [[0.4, -0.6]]]";
    std::fs::write(dir.join("big.yaml"), format!("{big}\nactivation: gelu\n")).unwrap();
    let r = dlncheck_in(Some(&dir), &["sharpness", "big.yaml"], None);
    assert_refused(&r, 3, "risk");
}

/// mc.si.flatness's `limit_offset` (the wrong limit's relative offset, in (0, 1]): a value that is
/// not a positive finite number at most 1 is refused naming the field, exit 2, before anything runs.
#[test]
fn limit_offset_is_a_bounded_positive_number() {
    let dir = scratch("limit_offset");
    let out = dir.join("r.yaml");
    let out = out.to_str().unwrap();
    for bad in [".nan", ".inf", "-0.01", "0", "1.5", "1.0e308", "\"one\"", "[0.01, 0.02]"] {
        let props = edited_properties(&dir, "mc.si.flatness.yaml", |t| {
            let line =
                t.lines().find(|l| l.starts_with("  limit_offset: 0.01")).expect("the spec's limit_offset");
            t.replace(line, &format!("  limit_offset: {bad}"))
        });
        let r = dlncheck(&["check", "--quick", "--properties", props.to_str().unwrap(), "--out", out]);
        if bad.starts_with('[') {
            // Not a scalar: the YAML layer names the section `tolerances` (at its first line).
            assert_refused(&r, 2, "mc.si.flatness.yaml:25: tolerances: ");
        } else {
            assert_refused(&r, 2, "tolerances.limit_offset");
        }
    }
}
