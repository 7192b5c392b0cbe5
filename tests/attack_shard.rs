//! Sharded `dlncheck attack`: the attack.yaml merged from the parts of an N-shard attack equals
//! the unsharded one byte for byte, for several N (one larger than the number of restarts) and
//! any part order; duplicated, missing, foreign and tampered parts are refused naming the file.

use dlncheck::attack::parts::AttackPart;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small attack: 3 properties (3 claims + 6 controls) × 3 restarts = 27 restarts.
const ATTACK: [&str; 8] = [
    "--quick",
    "--only",
    "mc.thm1.lower_bound,mc.thm1.upper,mc.smin.exact",
    "--budget",
    "600",
    "--restarts",
    "3",
    "--seed",
];
const SEED: &str = "5";

fn dlncheck(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("attackshard-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The attack's exit code (0, or 1: this small budget may leave a control unbroken) and output.
fn attack(out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["attack"];
    args.extend(ATTACK);
    args.extend([SEED, "--out", s(out)]);
    args.extend(extra);
    let (code, stdout, err) = dlncheck(&args);
    assert!(code == 0 || code == 1, "{args:?}\n{stdout}\n{err}");
    (code, stdout)
}

fn merge(parts: &[PathBuf], out: &Path) -> (i32, String, String) {
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    dlncheck(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn shards(name: &str, n: usize) -> Vec<PathBuf> {
    let out = dir(name).join("attack.yaml");
    (0..n)
        .map(|i| {
            let (code, stdout) = attack(&out, &["--shard", &format!("{i}/{n}")]);
            assert_eq!(code, 0, "a shard has no verdict: {stdout}");
            assert!(stdout.contains(&format!("shard {i}/{n}:")), "{stdout}");
            let p = out.with_extension(format!("part-{i}-of-{n}.yaml"));
            assert!(p.is_file(), "{}", p.display());
            p
        })
        .collect()
}

#[test]
fn merged_attack_is_the_unsharded_file_and_bad_parts_are_refused() {
    let whole = dir("whole").join("attack.yaml");
    let (whole_code, _) = attack(&whole, &[]);
    let expected = std::fs::read(&whole).unwrap();
    for n in [2, 3, 40] {
        let mut parts = shards(&format!("n{n}"), n);
        parts.reverse();
        let out = dir(&format!("n{n}-merged")).join("attack.yaml");
        let (code, stdout, err) = merge(&parts, &out);
        assert_eq!(code, whole_code, "the unsharded attack's exit code\n{stdout}\n{err}");
        assert!(
            std::fs::read(&out).unwrap() == expected,
            "N = {n}: merged attack.yaml differs from the unsharded one"
        );
        if n == 40 {
            let empty = AttackPart::parse(&std::fs::read_to_string(&parts[0]).unwrap(), "p").unwrap();
            // One work item per restart of every attacked target (claims and controls) of the
            // unsharded file: 3 restarts each; with 40 shards the last ones hold nothing.
            let targets = String::from_utf8_lossy(&expected).matches("\n    target: ").count();
            assert!(targets >= 5, "{targets} targets in the unsharded file");
            assert!(empty.items.is_empty() && empty.header.items_total == 3 * targets, "{:?}", empty.header);
        }
    }
    let parts = shards("refuse", 2);
    let out = dir("refuse-out").join("attack.yaml");
    let refused = |ps: &[PathBuf], needles: &[&str]| {
        let (code, stdout, err) = merge(ps, &out);
        assert_eq!(code, 2, "{stdout}\n{err}");
        for n in needles {
            assert!(err.contains(n), "`{n}` not in {err}");
        }
        assert!(!out.exists());
    };
    let d = parts[0].parent().unwrap().to_path_buf();
    let copy = d.join("copy.yaml");
    std::fs::copy(&parts[1], &copy).unwrap();
    refused(&[parts[0].clone(), parts[1].clone(), copy.clone()], &[s(&copy), "both shard 1/2"]);
    refused(&[parts[0].clone()], &["missing shards 1/2", "--shard 1/2"]);
    // Another seed, another budget: other runs.
    let other = dir("refuse-other").join("attack.yaml");
    let mut args = vec!["attack", "--quick", "--budget", "600", "--restarts", "3", "--seed", "6"];
    args.extend(["--out", s(&other), "--shard", "1/2"]);
    assert_eq!(dlncheck(&args).0, 0, "a shard exits 0");
    let other_part = other.with_extension("part-1-of-2.yaml");
    refused(&[parts[0].clone(), other_part.clone()], &[s(&other_part), "seed"]);
    // A tampered restart: another seed, a point with the wrong number of parameters.
    let text = std::fs::read_to_string(&parts[0]).unwrap();
    let mut a = AttackPart::parse(&text, "p").unwrap();
    a.items[0].seed ^= 1;
    let bad = d.join("bad-seed.yaml");
    std::fs::write(&bad, a.to_yaml()).unwrap();
    refused(&[bad.clone(), parts[1].clone()], &[s(&bad), "seed"]);
    let mut b = AttackPart::parse(&text, "p").unwrap();
    let it = b.items.iter_mut().find(|i| i.best.is_some()).expect("a restart with a best point");
    it.best.as_mut().unwrap().x.push(0.5);
    let bad = d.join("bad-x.yaml");
    std::fs::write(&bad, b.to_yaml()).unwrap();
    refused(&[bad.clone(), parts[1].clone()], &[s(&bad), "parameters"]);
    // A figures or check part among attack parts.
    let check = dir("refuse-check").join("report.yaml");
    let (code, _, err) =
        dlncheck(&["check", "--quick", "--only", "mc.thm1.upper", "--shard", "0/2", "--out", s(&check)]);
    assert_eq!(code, 0, "{err}");
    let check_part = check.with_extension("part-0-of-2.yaml");
    refused(&[parts[0].clone(), check_part.clone()], &[s(&check_part), "a partial of `check`"]);
    // Hostile --shard values.
    for bad in ["2/2", "x", "auto"] {
        let mut args = vec!["attack"];
        args.extend(ATTACK);
        args.extend([SEED, "--out", s(&out), "--shard", bad]);
        let (code, _, err) = dlncheck(&args);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
