//! The adversary: it reaches the infima theory gives, breaks every negative control from the
//! claim's whole hypothesis space within a small budget, is deterministic for any thread count,
//! and its CLI rejects bad flags clearly. The infima (1 for mc.thm1.lower_bound, mc.smin.exact,
//! mc.thm1.upper, mc.sharpness_upper_at_minimizer and mc.pl_inequality) come from the theorems
//! and their proofs, not from the code's output.

use dlncheck::attack::report::{self, PropertyAttack};
use dlncheck::attack::search::Options;
use dlncheck::framework::spec::{Mode, Spec};
use std::process::Command;

/// The quick budget: what `cargo test` affords per property (claim), and per control.
const BUDGET: usize = 8000;
const CONTROL_BUDGET: usize = 800;
const RESTARTS: usize = 4;

fn spec(id: &str) -> Spec {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties").join(format!("{id}.yaml"));
    dlncheck::claims::load_spec(&path).expect("valid spec").0
}

fn attack(id: &str, seed: u64) -> PropertyAttack {
    attack_with(id, seed, BUDGET)
}

fn attack_with(id: &str, seed: u64, budget: usize) -> PropertyAttack {
    dlncheck::init_determinism();
    let space = dlncheck::attack::find(id).expect("covered property");
    let opts = Options { budget, restarts: RESTARTS, seed, mode: Mode::Quick };
    report::attack_property(space, &spec(id), &opts, CONTROL_BUDGET, &|| {})
}

/// How close the quick attack must get to the known infimum (relative), and whether most
/// restarts must get there too. 1e-6 for the spaces where every restart's (architecture, d, L)
/// can reach the infimum by moving few coordinates; mc.pl_inequality's infimum needs g along
/// the bottom singular direction of every B_k at once, which Nelder–Mead reaches only at small
/// L within the quick budget (measured best 1 + 4.4e-5 at seed 0), so only its best restart is
/// held, to 1e-3. mc.thm1.unbounded's infimum is approached (c → ∞), not attained: within the
/// grid's c ≤ 1000 the excess is O(c⁻²) for L ≥ 3, so 1e-5. jgshg.schatten's tightness is
/// reported over 1 − rel (its floor 1 + 1e-10) and approached as the gauge scale → 0 (excess
/// O(c²) at the space's c ≥ 1e-3), so 1e-5 on the best restart. The attack's budget on the
/// training-run spaces is a few dozen runs: mc.gd.stability's infimum (η → 2/S_min) and
/// mc.underdetermined's (reached only by restarts whose minimiser kind is the S_min one) are
/// held to 1e-2 on the best restart.
fn infimum_tolerance(id: &str) -> (f64, bool) {
    match id {
        "mc.pl_inequality" => (1e-3, false),
        "mc.thm1.unbounded" => (1e-5, true),
        "jgshg.schatten" => (1e-5, false),
        "mc.gd.stability" | "mc.underdetermined" => (1e-2, false),
        _ => (1e-6, true),
    }
}

fn covered() -> Vec<&'static str> {
    dlncheck::attack::all().iter().map(|s| s.id()).collect()
}

#[test]
fn reaches_the_known_infimum_from_random_starts_and_breaks_every_control() {
    for id in covered() {
        let a = attack(id, 0);
        if let Some(k) = &a.known_infimum {
            let known = k.known.value;
            let best = a.claim.best.expect("points evaluated");
            assert!(!a.claim.violated, "{id}: the attack reports a violation of a theorem: {best}");
            // Within tol relative of the infimum, never below it by more than rounding.
            let (tol, most) = infimum_tolerance(id);
            assert!(best - known <= tol * known.abs(), "{id}: best {best} not within {tol:e} of {known}");
            assert!(best >= known * (1.0 - 1e-12), "{id}: best {best} below the infimum");
            // Not one lucky restart: most restarts get there.
            let mut per: Vec<f64> = a.claim.restart_best.iter().flatten().copied().collect();
            per.sort_by(f64::total_cmp);
            assert!(!most || per[per.len() / 2] - known <= tol, "{id}: median restart {per:?}");
            assert!(a.claim.evaluations <= BUDGET);
            // The best point, re-measured with the exact full Hessian, agrees.
            // (the spaces over a claim's own grid parameters re-measure with the claim's code).
            let v = &a.claim.best_instance.as_ref().unwrap().values;
            let exact = v.get("tightness_exact").or(v.get("score")).copied().expect("re-measured");
            assert!((exact - best).abs() <= 1e-9, "{id}: exact re-measurement {exact} vs {best}");
            // The trace is monotone and ends at the best value.
            let t = &a.claim.trace;
            assert!(t.windows(2).all(|w| w[1].best <= w[0].best && w[1].evaluations > w[0].evaluations));
            assert_eq!(t.last().unwrap().best, best);
        }
        // Every control of the spec is attacked, from the claim's whole space, and broken.
        let s = spec(id);
        let space = dlncheck::attack::find(id).unwrap();
        assert_eq!(a.controls.len(), space.controls().len(), "{id}: a covered control has no attack");
        assert_eq!(a.controls.len(), s.controls.len(), "{id}: a control of the spec is not attacked");
        for c in &a.controls {
            assert!(
                c.broken,
                "{id}: the attack did not break control `{}` within {} evaluations (a defect of the attack)",
                c.attack.target, c.budget
            );
            let n = c.attack.evaluations_to_violation.unwrap();
            assert!(n <= CONTROL_BUDGET, "{id}/{}: {n} evaluations", c.attack.target);
        }
        // Identities and limits: the claim's error/tol stays within 1 wherever the attack looked.
        if a.goal == dlncheck::attack::Goal::MaximiseErrorRatio {
            let best = a.claim.best.expect("points evaluated");
            assert!(best <= 1.0 && !a.claim.violated, "{id}: error/tol {best}");
        }
    }
}

/// The reconstructed constants: attack.yaml puts the empirical constant C/(best tightness) next
/// to the stated C = 8, and it is the one the worst point's own measurements give (Corollary 2:
/// 8·S/bound; Theorem 4: S/(LΛ‖p‖^(2/L)max(‖p‖,‖w*‖)^(2−2/L))), below 8 where the bound holds.
#[test]
fn empirical_constants_sit_next_to_the_stated_ones() {
    for (id, key) in [("mc.si.flatness", None), ("mc.ri.convergence", Some("normalised_constant"))] {
        let a = attack(id, 0);
        let sc = a.stated_constant.as_ref().expect("a stated constant");
        assert!(sc["value"].starts_with('8'), "{id}: {sc:?}");
        let emp: f64 = sc["empirical"].parse().unwrap();
        let best = a.claim.best.unwrap();
        assert!((emp - 8.0 / best).abs() <= 1e-12 * emp, "{id}: {emp} vs 8/{best}");
        assert!(emp > 0.0 && emp <= 8.0, "{id}: empirical constant {emp}");
        let v = &a.claim.best_instance.as_ref().unwrap().values;
        let from_values = match key {
            Some(k) => v[k],
            None => 8.0 * v["sharpness"] / v["bound"],
        };
        assert!((from_values - emp).abs() <= 1e-9 * emp, "{id}: {from_values} vs {emp}");
        // The training-run spaces cap their budget: the report says so, and keeps to it.
        assert!(a.budget < BUDGET && a.claim.evaluations <= a.budget, "{id}: budget {}", a.budget);
        // A control keeps to its own cap (mc.si.flatness's `large_scale_gd`, a cheap
        // gradient-descent run, affords more runs than the claim's flows).
        assert!(a.controls.iter().all(|c| c.budget <= CONTROL_BUDGET && c.attack.evaluations <= c.budget));
    }
}

#[test]
fn same_seed_same_file_for_any_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let props: Vec<PropertyAttack> =
                covered().into_iter().map(|id| attack_with(id, 3, 2000)).collect();
            let opts = Options { budget: 2000, restarts: RESTARTS, seed: 3, mode: Mode::Quick };
            report::AttackReport::new(&opts, CONTROL_BUDGET, props).to_yaml()
        })
    };
    let one = run(1);
    assert_eq!(one, run(2), "attack.yaml differs between 1 and 2 threads");
    assert!(one.contains("known_infimum"));
}

#[test]
fn mirror_map_keeps_every_proposal_in_the_box() {
    use dlncheck::attack::{Dim, reflect};
    for u in [-3.7, -1.0, -0.2, 0.0, 0.4, 1.0, 1.3, 2.0, 5.5, 1e6] {
        let t = reflect(u);
        assert!((0.0..=1.0).contains(&t), "{u} → {t}");
    }
    assert_eq!(reflect(0.25), 0.25);
    assert_eq!(reflect(1.25), 0.75);
    assert_eq!(reflect(-0.25), 0.25);
    let d = Dim::log("kappa", 1e-4, 1.0);
    assert!((d.at(0.5) - 1e-2).abs() < 1e-15);
    assert!((d.unit(1e-2) - 0.5).abs() < 1e-12);
    assert!((d.at(0.0) - 1e-4).abs() < 1e-18 && d.at(0.0) >= 1e-4);
    assert!(d.at(1.0) <= 1.0 && d.at(1.0) > 1.0 - 1e-15);
}

fn dlncheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dlncheck")).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_attack_flags_are_clear_errors() {
    let out = std::env::temp_dir().join(format!("dlncheck-attack-bad-{}.yaml", std::process::id()));
    let out = out.to_str().unwrap();
    for (args, field) in [
        (vec!["attack", "--budget", "0"], "--budget"),
        (vec!["attack", "--budget", "1000000000000"], "--budget"),
        (vec!["attack", "--restarts", "0"], "--restarts"),
        (vec!["attack", "--budget", "10", "--restarts", "11"], "--restarts"),
        (vec!["attack", "--control-budget", "1"], "--control-budget"),
        (vec!["attack", "--only", "mc.no_such"], "mc.no_such"),
        (vec!["reproduce", "mc.thm1.upper", "--attack", "--control", "nope"], "nope"),
    ] {
        let mut a = args.clone();
        a.extend(["--out", out]);
        if a[0] == "reproduce" {
            a.truncate(a.len() - 2);
        }
        let (code, _, err) = dlncheck(&a);
        assert_eq!(code, 2, "{args:?}: exit {code}: {err}");
        assert!(err.contains(field), "{args:?}: error does not name {field}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A flag that is not a number is clap's error (exit 2).
    let (code, _, _) = dlncheck(&["attack", "--budget", "nan"]);
    assert_eq!(code, 2);
    // An unwritable output (a directory): exit 4.
    let dir = std::env::temp_dir();
    let (code, _, err) = dlncheck(&[
        "attack",
        "--quick",
        "--only",
        "mc.thm1.upper",
        "--budget",
        "40",
        "--restarts",
        "2",
        "--control-budget",
        "40",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "exit {code}: {err}");
}

#[test]
fn attack_cli_writes_the_file_and_reproduce_writes_an_auditable_worst_point() {
    let dir = std::env::temp_dir().join(format!("dlncheck-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("attack.yaml");
    let (code, out, err) = dlncheck(&[
        "attack",
        "--quick",
        "--only",
        "mc.thm1.lower_bound",
        "--budget",
        "2000",
        "--restarts",
        "2",
        "--out",
        yaml.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "exit {code}: {out} {err}");
    assert!(out.contains("mc.thm1.lower_bound") && out.contains("3/3 broken"), "{out}");
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("known_infimum") && text.contains("trace") && text.contains("best_instance"));

    let worst = dir.join("worst.yaml");
    let (code, _, err) = dlncheck(&[
        "reproduce",
        "mc.thm1.lower_bound",
        "--attack",
        "--quick",
        "--budget",
        "2000",
        "--restarts",
        "2",
        "--out",
        worst.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    #[derive(serde::Deserialize)]
    struct Audit {
        sharpness: f64,
        sharpness_lower_bound: f64,
        excess_risk: f64,
    }
    let (code, audit, err) = dlncheck(&["sharpness", worst.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let a: Audit = dlncheck::io::yaml::from_str(&audit).unwrap();
    // A global minimiser (excess risk at rounding level) where Theorem 1 holds, and the
    // attack's best tightness (same seed, same budget) is what the audit measures.
    assert!(a.excess_risk < 1e-20, "{}", a.excess_risk);
    let t = a.sharpness / a.sharpness_lower_bound;
    let attack: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let best = attack["properties"][0]["claim"]["best"].as_f64().unwrap();
    assert!(t >= 1.0 - 1e-9, "audit finds S/LB = {t} < 1");
    assert!((t - best).abs() <= 1e-8 * best, "audit {t} vs attack {best}");
}

/// `check` runs the bounded attack on every covered property and records it in report.yaml;
/// the attack reaches the known infimum (1) to 1e-6 on Theorem 1's lower bound and breaks all
/// three controls even at the quick budget.
#[test]
fn check_records_the_bounded_attack_in_the_report() {
    let dir = std::env::temp_dir().join(format!("dlncheck-check-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.yaml");
    let (code, _, err) =
        dlncheck(&["check", "--quick", "--only", "mc.thm1.lower_bound", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let a = &doc["properties"][0]["attack"];
    let best = a["best"].as_f64().unwrap();
    assert!((best - 1.0).abs() <= 1e-6, "{text}");
    assert_eq!(a["violated"].as_bool(), Some(false));
    assert_eq!(a["controls_broken"].as_u64(), Some(3));
    assert_eq!(a["controls_attacked"].as_u64(), Some(3));
    std::fs::remove_dir_all(&dir).ok();
}

/// A violation found by the attack makes the property `violated` in the report, and a control
/// it cannot break fails the property's check (synthetic attack summaries).
#[test]
fn an_attack_violation_or_an_unbroken_control_fails_the_property() {
    use dlncheck::framework::report::{AttackSummary, Report};
    use dlncheck::framework::runner;
    dlncheck::init_determinism();
    let s = spec("mc.thm1.upper");
    let claim = dlncheck::claims::find("mc.thm1.upper").unwrap();
    let run = runner::run(&s, claim, Mode::Quick, 0, &|| {});
    assert!(run.ok());
    let summary = |violated: bool, broken: usize| AttackSummary {
        best: Some(if violated { 0.5 } else { 1.0 }),
        known_infimum: Some(1.0),
        relative_gap: Some(0.0),
        evaluations: 10,
        restarts: 1,
        violated,
        controls_broken: broken,
        controls_attacked: 1,
    };
    let base = Report::new(Mode::Quick, 0, std::slice::from_ref(&run), true);
    assert_eq!((base.passed, base.failed), (1, 0));
    let id = s.id.clone();
    let ok = base.clone().with_attacks(&[(id.clone(), summary(false, 1))]);
    assert_eq!((ok.passed, ok.failed), (1, 0));
    let violated = base.clone().with_attacks(&[(id.clone(), summary(true, 1))]);
    assert_eq!((violated.passed, violated.failed), (0, 1));
    assert!(violated.to_yaml().contains("verdict: violated"));
    let unbroken = base.with_attacks(&[(id, summary(false, 0))]);
    assert_eq!((unbroken.passed, unbroken.failed), (0, 1));
    assert!(unbroken.to_yaml().contains("controls_ok: false"));
}

/// `dlncheck bench`'s attack part in its quick size, for one property: the evaluations are the
/// attack report's own (claim + controls, each within its budget), the same at 1 and 2 threads,
/// the rates finite and positive, and the result identical at both thread counts. No timing is
/// asserted.
#[test]
fn bench_attack_part_counts_the_reports_evaluations_at_1_and_2_threads() {
    dlncheck::init_determinism();
    let id = "mc.thm1.lower_bound";
    let space = dlncheck::attack::find(id).expect("covered property");
    let s = spec(id);
    let (opts, control_budget) = dlncheck::attack::bench::options(dlncheck::attack::bench::QUICK);
    let b = dlncheck::attack::bench::measure(space, &s, &opts, control_budget, 1).expect("bench runs");
    assert_eq!(b.id, id);
    assert!(b.evaluations_1_thread > 0);
    assert_eq!(b.evaluations_1_thread, b.evaluations_2_threads);
    // The same count as the report of the same attack run here, outside any pool.
    let a = report::attack_property(space, &s, &opts, control_budget, &|| {});
    assert_eq!(b.evaluations_1_thread, dlncheck::attack::bench::evaluations(&a));
    let controls = a.controls.len();
    assert!(b.evaluations_1_thread <= opts.budget + controls * control_budget);
    for rate in [b.evaluations_per_second_1_thread, b.evaluations_per_second_2_threads, b.speedup] {
        assert!(rate.is_finite() && rate > 0.0, "{rate}");
    }
    assert!(b.identical, "the attack differs between 1 and 2 threads");
}
