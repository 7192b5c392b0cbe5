//! Sharded `check`: merge(all parts) is the unsharded report byte for byte, for any shard count
//! and part order; every incompatible or incomplete set of parts is refused with a message
//! naming the file or the shards to re-run; hostile `--shard` values and corrupted partial files
//! are input errors (exit 2), never panics.

use dlncheck::framework::partial::{self, CheckPart, Item};
use dlncheck::framework::report::Report;
use dlncheck::framework::runner;
use dlncheck::framework::spec::{Mode, Spec};
use dlncheck::io::shard::{self, Shard};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Cheap properties (milliseconds per instance in quick mode), a claim with several controls.
const IDS: [&str; 3] = ["mc.hessian_at_minimizer", "mc.thm1.upper", "jgshg.landscape"];
const SEED: u64 = 7;

struct Fixture {
    specs: Vec<Spec>,
    /// Every item's result, measured once, keyed by (property, set, index).
    results: BTreeMap<(usize, usize, usize), Result<dlncheck::framework::property::Measurement, String>>,
    /// The unsharded run's report.
    report: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        dlncheck::init_determinism();
        let loaded: Vec<_> = IDS
            .iter()
            .map(|id| dlncheck::claims::load_spec(&PathBuf::from(format!("properties/{id}.yaml"))).unwrap())
            .collect();
        let runs: Vec<_> =
            loaded.iter().map(|(s, c)| runner::run(s, *c, Mode::Quick, SEED, &|| {})).collect();
        let report = Report::new(Mode::Quick, SEED, &runs, true).to_yaml();
        let mut results = BTreeMap::new();
        for (p, r) in runs.iter().enumerate() {
            for (i, res) in r.results.iter().enumerate() {
                results.insert((p, 0, i), res.clone());
            }
            let (s, c) = &loaded[p];
            for k in 0..s.controls.len() {
                let inst = s.control_instances(k, Mode::Quick, SEED);
                let v = dlncheck::framework::property::Variant::Control(&s.controls[k].variant);
                for (i, res) in runner::measure_all(*c, &inst, v, &|| {}).into_iter().enumerate() {
                    results.insert((p, k + 1, i), res);
                }
            }
        }
        Fixture { specs: loaded.into_iter().map(|(s, _)| s).collect(), results, report }
    })
}

fn files() -> Vec<partial::SpecFile> {
    IDS.iter()
        .map(|id| partial::SpecFile {
            file: format!("{id}.yaml"),
            text: std::fs::read_to_string(format!("properties/{id}.yaml")).unwrap(),
        })
        .collect()
}

fn inputs() -> BTreeMap<String, String> {
    files().into_iter().map(|f| (f.file, shard::sha256_hex(f.text.as_bytes()))).collect()
}

/// The parts of an N-shard run, as the shards would write them.
fn parts(n: usize) -> Vec<(PathBuf, CheckPart)> {
    let f = fixture();
    let all = partial::work_items(&f.specs, Mode::Quick, SEED);
    (0..n)
        .map(|i| {
            let sh = Shard::new(i, n).unwrap();
            let mine = partial::shard_items(&all, sh);
            let mut header = partial::header(Mode::Quick, SEED, inputs(), sh, all.len(), mine.len());
            header.complete = true;
            let items = mine
                .iter()
                .map(|w| Item::new(&f.specs[w.property].id, w, &f.results[&(w.property, w.set, w.index)]))
                .collect();
            (
                PathBuf::from(format!("r.part-{i}-of-{n}.yaml")),
                CheckPart { header, properties: files(), items },
            )
        })
        .collect()
}

/// Writes and re-reads every part (the YAML round trip a real merge goes through), then merges.
fn merge_text(ps: &[(PathBuf, CheckPart)]) -> Result<String, String> {
    let mut reread = Vec::new();
    for (f, p) in ps {
        let part = CheckPart::parse(&p.to_yaml(), &f.display().to_string()).map_err(|e| e.to_string())?;
        reread.push((f.clone(), part));
    }
    partial::merge(&reread)
        .map(|(mode, seed, runs)| Report::new(mode, seed, &runs, true).to_yaml())
        .map_err(|e| e.to_string())
}

#[derive(Clone, Debug)]
enum Defect {
    None,
    DuplicatePart(usize),
    MissingPart(usize),
    MissingItem(usize),
    OtherSeed(usize),
    OtherTool(usize),
    OtherSpec(usize),
    Interrupted(usize),
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        2 => Just(Defect::None),
        1 => any::<usize>().prop_map(Defect::DuplicatePart),
        1 => any::<usize>().prop_map(Defect::MissingPart),
        1 => any::<usize>().prop_map(Defect::MissingItem),
        1 => any::<usize>().prop_map(Defect::OtherSeed),
        1 => any::<usize>().prop_map(Defect::OtherTool),
        1 => any::<usize>().prop_map(Defect::OtherSpec),
        1 => any::<usize>().prop_map(Defect::Interrupted),
    ]
}

proptest! {
    #![proptest_config(Config { cases: 48, rng_seed: RngSeed::Fixed(11), failure_persistence: None, ..Config::default() })]

    /// merge(all parts in any order) = the unsharded report; each defect is refused, naming the
    /// file or the shard to re-run.
    #[test]
    fn merge_equals_unsharded_or_refuses(n in 1usize..9, order in any::<u64>(), d in defect()) {
        let f = fixture();
        let mut ps = parts(n);
        // A permutation of the parts from the drawn key.
        let mut keys: Vec<(u64, usize)> = (0..n).map(|i| (order.wrapping_mul(i as u64 + 1).rotate_left(17) ^ i as u64, i)).collect();
        keys.sort();
        ps = keys.iter().map(|&(_, i)| ps[i].clone()).collect();
        let k = |x: usize| x % n;
        let expect: Option<String> = match d {
            Defect::None => None,
            Defect::DuplicatePart(i) => {
                let mut copy = ps[k(i)].clone();
                copy.0 = PathBuf::from("copy.yaml");
                ps.push(copy);
                Some("copy.yaml".into())
            }
            Defect::MissingPart(i) => {
                let gone = ps.remove(k(i)).1.header.shard;
                if ps.is_empty() { Some("no partial files".into()) } else { Some(format!("--shard {gone}")) }
            }
            Defect::MissingItem(i) => {
                let j = k(i);
                if ps[j].1.items.is_empty() { None } else {
                    ps[j].1.items.pop();
                    Some(ps[j].0.display().to_string())
                }
            }
            // A lone part with another seed still fails: its items' seeds are not the run's.
            Defect::OtherSeed(i) => { let j = k(i); ps[j].1.header.seed += 1; Some(ps[j].0.display().to_string()) }
            Defect::OtherTool(i) => { let j = k(i); ps[j].1.header.tool = "dlncheck 0.0.1".into(); Some(ps[j].0.display().to_string()) }
            Defect::OtherSpec(i) => {
                let j = k(i);
                ps[j].1.header.inputs.insert("mc.thm1.upper.yaml".into(), "0".repeat(64));
                Some(ps[j].0.display().to_string())
            }
            Defect::Interrupted(i) => {
                let j = k(i);
                ps[j].1.header.complete = false;
                Some(format!("--shard {}", ps[j].1.header.shard))
            }
        };
        let got = merge_text(&ps);
        match (expect, &d) {
            (None, _) => {
                let text = got.unwrap();
                prop_assert!(text == f.report, "merged report differs from the unsharded one (n = {})", n);
                // Idempotent: merging again gives the same bytes.
                prop_assert_eq!(merge_text(&ps).unwrap(), text);
            }
            (Some(name), _) => {
                let e = got.expect_err("must refuse");
                prop_assert!(e.contains(&name), "{:?}: error `{}` does not name `{}`", d, e, name);
            }
        }
    }
}

#[test]
fn cost_balanced_shards_of_the_quick_grid() {
    let f = fixture();
    let all = partial::work_items(&f.specs, Mode::Quick, SEED);
    let costs: Vec<f64> = all.iter().map(|w| w.cost).collect();
    let a = shard::assign(&costs, 3);
    let loads = shard::loads(&costs, &a, 3);
    let (lo, hi) = loads.iter().fold((f64::INFINITY, 0f64), |(lo, hi), l| (lo.min(l.1), hi.max(l.1)));
    let biggest = costs.iter().cloned().fold(0.0, f64::max);
    // LPT: the spread between shards is at most the largest single item.
    assert!(hi - lo <= biggest * (1.0 + 1e-12), "{loads:?}");
    assert_eq!(loads.iter().map(|l| l.0).sum::<usize>(), all.len());
}

fn dlncheck(args: &[&str], cwd: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlncheck-shard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn hostile_shard_values_are_input_errors() {
    let dir = tmp("hostile");
    let props = concat!(env!("CARGO_MANIFEST_DIR"), "/properties");
    for bad in ["0/0", "5/4", "4/4", "a/b", "1", "-1/4", "1/184467440737095516160", "0/1000000", "", "1/2/3"]
    {
        let arg = format!("--shard={bad}");
        let (code, _, err) = dlncheck(&["check", "--quick", "--properties", props, &arg], &dir);
        assert_eq!(code, 2, "--shard {bad:?}: {err}");
        assert!(err.contains("--shard"), "--shard {bad:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = dlncheck(&["check", "--quick", "--properties", props, "--shard", "auto"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SLURM_ARRAY_TASK_ID") && err.contains("JOB_COMPLETION_INDEX"), "{err}");
    let (code, _, err) = dlncheck(&["check", "--quick", "--properties", props, "--shard-count", "4"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shard-count"), "{err}");
}

#[test]
fn sharded_cli_run_merges_to_the_unsharded_report_and_refuses_bad_parts() {
    let dir = tmp("cli");
    let props = concat!(env!("CARGO_MANIFEST_DIR"), "/properties");
    let base = ["check", "--quick", "--properties", props, "--only", IDS[0], "--only", IDS[2]];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        dlncheck(&a, &dir)
    };
    let (code, _, err) = run(&["--out", "whole.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !dir.join("whole.partial.yaml").exists(),
        "the checkpoint is removed once the report is complete"
    );
    for i in 0..3 {
        let (code, out, err) = run(&["--shard", &format!("{i}/3"), "--out", "r.yaml"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("r.part-{i}-of-3.yaml")), "{out}");
    }
    // Re-running a shard replaces its part; merging twice gives the same bytes.
    let (code, _, err) = run(&["--shard", "1/3", "--out", "r.yaml"]);
    assert_eq!(code, 0, "{err}");
    let parts = ["r.part-0-of-3.yaml", "r.part-2-of-3.yaml", "r.part-1-of-3.yaml"];
    for _ in 0..2 {
        let mut a = vec!["merge"];
        a.extend(parts);
        a.extend(["--out", "merged.yaml"]);
        let (code, _, err) = dlncheck(&a, &dir);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            std::fs::read(dir.join("merged.yaml")).unwrap(),
            std::fs::read(dir.join("whole.yaml")).unwrap()
        );
    }
    // Missing shard → names it.
    let (code, _, err) = dlncheck(&["merge", parts[0], parts[1], "--out", "m.yaml"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shard 1/3"), "{err}");
    // Duplicate → names both files.
    std::fs::copy(dir.join(parts[0]), dir.join("copy.yaml")).unwrap();
    let (code, _, err) = dlncheck(&["merge", parts[0], parts[1], parts[2], "copy.yaml"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("copy.yaml") && err.contains(parts[0]), "{err}");
    // A part of another seed → names the files and the field.
    let (code, _, err) = run(&["--shard", "1/3", "--seed", "5", "--out", "s.yaml"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = dlncheck(&["merge", parts[0], "s.part-1-of-3.yaml", parts[1]], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("seed") && err.contains("s.part-1-of-3.yaml"), "{err}");
    // Corrupted partial files: exit 2 naming the file, no panic.
    let good = std::fs::read_to_string(dir.join(parts[0])).unwrap();
    let corruptions: Vec<(&str, String)> = vec![
        ("truncated", good[..good.len() / 2].to_string()),
        ("empty", String::new()),
        ("garbage", "\u{0}\u{1}not yaml: [".into()),
        ("badformat", good.replacen("dlncheck-partial/1", "dlncheck-partial/9", 1)),
        ("badshard", good.replacen("index: 0", "index: 7", 1)),
        ("nan-seed", good.replacen("seed: 7", "seed: .nan", 1).replacen("seed: 0\n", "seed: .nan\n", 1)),
        ("unknown-field", good.replacen("items:", "surprise: 1\nitems:", 1)),
    ];
    for (name, text) in corruptions {
        let f = format!("bad-{name}.yaml");
        std::fs::write(dir.join(&f), text).unwrap();
        let (code, _, err) = dlncheck(&["merge", &f, parts[1], parts[2], "--out", "m.yaml"], &dir);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&f), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = dlncheck(&["merge", "no-such-part.yaml"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-part.yaml"), "{err}");
}

#[test]
fn resume_continues_from_the_partial_report() {
    let dir = tmp("resume");
    let props = concat!(env!("CARGO_MANIFEST_DIR"), "/properties");
    let base = ["check", "--quick", "--properties", props, "--only", IDS[0], "--only", IDS[1]];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        dlncheck(&a, &dir)
    };
    let (code, _, err) = run(&["--out", "whole.yaml"]);
    assert_eq!(code, 0, "{err}");
    // An interrupted run: its checkpoint holds the first items only (the shard 0/1 part that a
    // run writes as it goes), cut down to simulate the interruption.
    let (code, _, err) = run(&["--shard", "0/2", "--out", "cut.yaml"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.join("cut.part-0-of-2.yaml")).unwrap();
    let mut part = CheckPart::parse(&text, "cut").unwrap();
    let keep = part.items.len() / 2;
    part.items.truncate(keep);
    part.header.complete = false;
    std::fs::write(dir.join("cut.part-0-of-2.yaml"), part.to_yaml()).unwrap();
    let (code, _, err) = run(&["--shard", "0/2", "--out", "cut.yaml", "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{keep} of")), "says how much it kept: {err}");
    let (code, _, err) = run(&["--shard", "1/2", "--out", "cut.yaml"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        dlncheck(&["merge", "cut.part-0-of-2.yaml", "cut.part-1-of-2.yaml", "--out", "m.yaml"], &dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(dir.join("m.yaml")).unwrap(), std::fs::read(dir.join("whole.yaml")).unwrap());
    // An unsharded run resumes from <out>.partial.yaml: write one by hand (half the items of a
    // whole-run part) and check the resumed report equals the uninterrupted one.
    let f = fixture_partial_whole(&dir, props);
    std::fs::write(dir.join("again.partial.yaml"), f).unwrap();
    let (code, _, err) = run(&["--out", "again.yaml", "--resume"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already measured"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("again.yaml")).unwrap(),
        std::fs::read(dir.join("whole.yaml")).unwrap()
    );
    // A checkpoint of another run is refused, naming the field.
    let text = std::fs::read_to_string(dir.join("cut.part-0-of-2.yaml")).unwrap();
    std::fs::write(dir.join("other.part-0-of-2.yaml"), text.replacen("mode: quick", "mode: full", 1))
        .unwrap();
    let (code, _, err) = run(&["--shard", "0/2", "--out", "other.yaml", "--resume"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mode") && err.contains("other.part-0-of-2.yaml"), "{err}");
}

/// Half of the whole run's items as the checkpoint an interrupted unsharded run leaves.
fn fixture_partial_whole(dir: &std::path::Path, props: &str) -> String {
    // Shard 0/1 is the whole run; its part file is what the checkpoint holds.
    let p0 = std::fs::read_to_string(dir.join("cut.part-0-of-2.yaml")).unwrap();
    let p1 = std::fs::read_to_string(dir.join("cut.part-1-of-2.yaml")).unwrap();
    let (a, b) = (CheckPart::parse(&p0, "a").unwrap(), CheckPart::parse(&p1, "b").unwrap());
    let _ = props;
    let mut items: Vec<Item> = a.items.clone().into_iter().chain(b.items).collect();
    let order: Vec<String> = a.specs().iter().map(|s| s.id.clone()).collect();
    items.sort_by_key(|it| (order.iter().position(|o| *o == it.property), it.set, it.index));
    let total = a.header.items_total;
    items.truncate(total / 2);
    let mut header = a.header.clone();
    header.shard = Shard::WHOLE;
    header.items_in_shard = total;
    header.complete = false;
    CheckPart { header, properties: a.properties, items }.to_yaml()
}

#[test]
fn large_profile_validates_and_plans() {
    let dir = tmp("large");
    let large = concat!(env!("CARGO_MANIFEST_DIR"), "/properties/large");
    let (code, out, err) = dlncheck(&["check", "--properties", large, "--plan", "--shard", "0/8"], &dir);
    assert_eq!(code, 0, "{err}");
    let (code, base, err) = dlncheck(
        &["check", "--properties", concat!(env!("CARGO_MANIFEST_DIR"), "/properties"), "--plan"],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let items = |t: &str| -> usize {
        let l = t.lines().next().unwrap();
        l.split(", ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
    };
    // Ten times the repetitions (controls with their own repetition count keep it).
    assert!(items(&out) > 5 * items(&base), "{out}\n{base}");
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains("/8"))
            .count(),
        8,
        "{out}"
    );
}
