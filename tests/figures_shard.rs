//! Sharded `dlncheck figures`: the figure files (CSV, YAML, SVG) merged from the parts of an
//! N-shard run equal the unsharded run's byte for byte, for several N (one larger than the
//! number of units) and any part order; duplicated, missing, interrupted, foreign and tampered
//! parts are refused with a message naming the file (exit 2); `--resume` continues an
//! interrupted shard; `--plan` runs nothing; hostile `--shard` values are input errors.

use dlncheck::figures::parts::FiguresPart;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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

fn ok(args: &[&str]) -> String {
    let (code, out, err) = dlncheck(args);
    assert_eq!(code, 0, "dlncheck {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("figshard-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The figure files of a directory (partial files left out), name → bytes.
fn figure_files(d: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with("figures."))
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// `figures --quick` with `extra`, unsharded, once per test binary per `extra`.
fn unsharded(name: &'static str, extra: &[&str], cell: &'static OnceLock<PathBuf>) -> &'static PathBuf {
    cell.get_or_init(|| {
        let d = dir(name);
        let mut args = vec!["figures", "--quick", "--out", s(&d)];
        args.extend(extra);
        ok(&args);
        d
    })
}

/// Runs the N shards of `figures --quick` with `extra` into a fresh directory; the part files.
fn shards(name: &str, n: usize, extra: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let d = dir(name);
    let mut parts = Vec::new();
    for i in 0..n {
        let sh = format!("{i}/{n}");
        let mut args = vec!["figures", "--quick", "--out", s(&d), "--shard", &sh];
        args.extend(extra);
        let out = ok(&args);
        assert!(out.contains(&format!("shard {i}/{n}:")), "{out}");
        let p = d.join(format!("figures.part-{i}-of-{n}.yaml"));
        assert!(p.is_file(), "{} missing", p.display());
        parts.push(p);
    }
    (d, parts)
}

fn merge(parts: &[PathBuf], out: &Path) -> (i32, String, String) {
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    dlncheck(&a)
}

fn assert_same_files(expected: &Path, got: &Path) {
    let (a, b) = (figure_files(expected), figure_files(got));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same files");
    assert!(a.len() >= 3, "{a:?}");
    for (name, bytes) in &a {
        assert!(&b[name] == bytes, "{name} differs between {} and {}", expected.display(), got.display());
    }
}

static ALL: OnceLock<PathBuf> = OnceLock::new();
static STAIRCASE: OnceLock<PathBuf> = OnceLock::new();

#[test]
fn merged_figures_are_the_unsharded_bytes_for_any_shard_count_and_order() {
    let whole = unsharded("whole", &[], &ALL);
    let names: Vec<String> = figure_files(whole).into_keys().collect();
    let stems = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "jgshg-staircase", "jgshg-escape"];
    for f in stems {
        for ext in ["csv", "yaml", "svg"] {
            assert!(names.contains(&format!("{f}.{ext}")), "{f}.{ext} in {names:?}");
        }
    }
    for n in [2, 3] {
        let (_, mut parts) = shards(&format!("all-{n}"), n, &[]);
        parts.reverse(); // part order is irrelevant
        let out = dir(&format!("all-{n}-merged"));
        let (code, stdout, err) = merge(&parts, &out);
        assert_eq!(code, 0, "{stdout}\n{err}");
        assert!(
            stdout.contains("experiment: escape_time") && stdout.contains("checks_hold: true"),
            "{stdout}"
        );
        assert_same_files(whole, &out);
        // Merging again (into the directory holding the parts) gives the same bytes.
        let (code, _, err) = merge(&parts, parts[0].parent().unwrap());
        assert_eq!(code, 0, "{err}");
        assert_same_files(whole, parts[0].parent().unwrap());
    }
}

#[test]
fn more_shards_than_units_leave_empty_parts_that_merge() {
    // jgshg-staircase is three units (one per depth): shards 3 and 4 of 5 hold none.
    let whole = unsharded("jgshg-staircase", &["--only", "jgshg-staircase"], &STAIRCASE);
    let (_, parts) = shards("staircase-5", 5, &["--only", "jgshg-staircase"]);
    let empty = FiguresPart::parse(&std::fs::read_to_string(&parts[4]).unwrap(), "p").unwrap();
    assert!(empty.items.is_empty() && empty.header.complete && empty.header.items_total == 3);
    let order = [3, 0, 4, 2, 1].map(|i| parts[i].clone());
    let out = dir("staircase-5-merged");
    let (code, stdout, err) = merge(&order, &out);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert_same_files(whole, &out);
    assert_eq!(figure_files(&out).len(), 3, "jgshg-staircase.csv, .svg, .yaml only");
}

/// The error of a refused merge (exit 2), which must mention every string of `names`.
fn refused(parts: &[PathBuf], names: &[&str]) -> String {
    let out = dir("refused-out");
    let (code, stdout, err) = merge(parts, &out);
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {err}");
    for n in names {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(figure_files(&out).is_empty(), "nothing written on a refusal");
    err
}

#[test]
fn merge_refuses_duplicated_missing_interrupted_foreign_and_tampered_parts() {
    let (d, parts) = shards("refuse", 2, &["--only", "jgshg-staircase"]);
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    let write = |name: &str, t: &str| {
        let p = d.join(name);
        std::fs::write(&p, t).unwrap();
        p
    };
    let p0 = s(&parts[0]).to_string();
    let p1 = s(&parts[1]).to_string();

    // A shard twice (a copy under another name).
    let copy = write("copy.yaml", &text(&parts[1]));
    let err =
        refused(&[parts[0].clone(), parts[1].clone(), copy.clone()], &[&p1, s(&copy), "both shard 1/2"]);
    assert!(err.contains("duplicate shard"), "{err}");
    // A shard missing: the one to re-run is named.
    refused(&[parts[1].clone()], &["missing shards 0/2", "--shard 0/2"]);
    // An interrupted shard.
    let mut part = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    part.header.complete = false;
    part.items.pop();
    let cut = write("cut.yaml", &part.to_yaml());
    refused(&[cut.clone(), parts[1].clone()], &[s(&cut), "interrupted", "--shard 0/2"]);
    // A part of another run: other figures, another repetition scale, another mode.
    let (_, other) = shards("refuse-other", 2, &["--only", "jgshg-staircase", "--reps-scale", "2"]);
    refused(&[parts[0].clone(), other[1].clone()], &[&p0, s(&other[1]), "options"]);
    let (_, escape) = shards("refuse-escape", 2, &["--only", "jgshg-escape"]);
    refused(&[escape[0].clone(), parts[1].clone()], &[s(&escape[0]), &p1, "options"]);
    // A check part among figures parts: named, not a figures partial.
    let check = dir("refuse-check").join("report.yaml");
    ok(&["check", "--quick", "--only", "mc.thm1.upper", "--shard", "0/2", "--out", s(&check)]);
    let check_part = check.with_extension("part-0-of-2.yaml");
    refused(&[parts[0].clone(), check_part.clone()], &[s(&check_part), &p0, "a partial of `check`"]);
    refused(&[check_part.clone(), parts[0].clone()], &[s(&check_part), &p0, "a partial of `figures`"]);
    // Tampered parts: an item moved to the other shard, an edited result, an edited spec, a
    // file that is not a partial file at all, another tool version.
    let mut a = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    let mut b = FiguresPart::parse(&text(&parts[1]), &p1).unwrap();
    let moved = a.items.pop().unwrap();
    b.items.push(moved);
    (a.header.items_in_shard, b.header.items_in_shard) = (a.items.len(), b.items.len());
    let (ma, mb) = (write("moved-a.yaml", &a.to_yaml()), write("moved-b.yaml", &b.to_yaml()));
    refused(&[mb.clone(), ma.clone()], &[s(&mb), "not a work item of shard 1/2"]);
    refused(&[ma.clone(), mb.clone()], &[s(&ma), "holds 1 of the 2 items of shard 0/2"]);
    let mut e = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    let st = e.items[0].staircase.as_mut().expect("figure 7 units are staircases");
    st.depth += 1;
    let edited = write("edited.yaml", &e.to_yaml());
    refused(&[edited.clone(), parts[1].clone()], &[s(&edited), "configuration or seed"]);
    let mut t = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    t.inputs[0].text = t.inputs[0].text.replace("sigma", "sigmo");
    let spec = write("spec.yaml", &t.to_yaml());
    refused(&[spec.clone(), parts[1].clone()], &[s(&spec), "SHA-256"]);
    let junk = write("junk.yaml", "header: [1, 2]\n");
    refused(&[junk.clone(), parts[1].clone()], &[s(&junk), "not a dlncheck partial"]);
    let mut v = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    let mut w = FiguresPart::parse(&text(&parts[1]), &p1).unwrap();
    v.header.tool = "dlncheck 0.0.0".into();
    w.header.tool = "dlncheck 0.0.0".into();
    let (va, vb) = (write("old-a.yaml", &v.to_yaml()), write("old-b.yaml", &w.to_yaml()));
    refused(&[va.clone(), vb], &[s(&va), "dlncheck 0.0.0"]);
    // Non-finite and absurd options in a header.
    let mut h = FiguresPart::parse(&text(&parts[0]), &p0).unwrap();
    h.header.options.insert("reps_scale".into(), "NaN".into());
    let nan = write("nan.yaml", &h.to_yaml());
    refused(&[nan.clone(), parts[1].clone()], &[s(&nan), "reps_scale"]);
    h.header.options.insert("reps_scale".into(), "1".into());
    h.header.options.insert("figures".into(), "fig9".into());
    let fig9 = write("fig9.yaml", &h.to_yaml());
    refused(&[fig9.clone(), parts[1].clone()], &[s(&fig9), "fig9"]);
}

#[test]
fn resume_continues_an_interrupted_shard() {
    let whole = unsharded("jgshg-staircase", &["--only", "jgshg-staircase"], &STAIRCASE);
    let (d, parts) = shards("resume", 2, &["--only", "jgshg-staircase"]);
    // Interrupt shard 0 after its first unit.
    let mut part = FiguresPart::parse(&std::fs::read_to_string(&parts[0]).unwrap(), "p").unwrap();
    let total = part.items.len();
    assert!(total >= 2, "shard 0 of 2 holds {total} units");
    part.items.truncate(1);
    part.header.complete = false;
    std::fs::write(&parts[0], part.to_yaml()).unwrap();
    let (code, _, err) = dlncheck(&[
        "figures",
        "--quick",
        "--only",
        "jgshg-staircase",
        "--out",
        s(&d),
        "--shard",
        "0/2",
        "--resume",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("resume: 1 of {total} work items already done")), "{err}");
    let out = dir("resume-merged");
    let (code, _, err) = merge(&parts, &out);
    assert_eq!(code, 0, "{err}");
    assert_same_files(whole, &out);
    // A part of another run is not resumed from.
    let (code, _, err) = dlncheck(&[
        "figures",
        "--quick",
        "--only",
        "jgshg-staircase",
        "--reps-scale",
        "3",
        "--out",
        s(&d),
        "--shard",
        "0/2",
        "--resume",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(s(&parts[0])) && err.contains("not the partial file of this run"), "{err}");
    // The whole run with --resume: a checkpoint, merged and removed at the end.
    let w = dir("resume-whole");
    ok(&["figures", "--quick", "--only", "jgshg-staircase", "--out", s(&w), "--resume"]);
    assert!(!w.join("figures.partial.yaml").exists());
    assert_same_files(whole, &w);
}

#[test]
fn plan_runs_nothing_and_hostile_shard_values_are_input_errors() {
    let d = dir("plan");
    let out = ok(&["figures", "--quick", "--plan", "--shard", "1/4", "--out", s(&d)]);
    assert!(out.contains("512 work items") && out.contains("escape_time") && out.contains("3/4"), "{out}");
    assert!(figure_files(&d).is_empty() && !d.join("figures.part-1-of-4.yaml").exists());
    for (args, needle) in [
        (vec!["--shard", "2/2"], "out of range"),
        (vec!["--shard", "0/0"], "at least 1"),
        (vec!["--shard", "x"], "expected I/N"),
        (vec!["--shard", "0/99999999999999999999999"], "too large"),
        (vec!["--shard", "auto"], "SLURM_ARRAY_TASK_ID"),
        (vec!["--shard-count", "4"], "--shard auto"),
    ] {
        let mut a = vec!["figures", "--quick", "--only", "jgshg-staircase", "--out", s(&d)];
        a.extend(&args);
        let (code, _, err) = dlncheck(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
    // SLURM's variables name the shard.
    let o = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(["figures", "--quick", "--only", "jgshg-staircase", "--out", s(&d), "--shard", "auto"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(d.join("figures.part-1-of-2.yaml").is_file());
}
