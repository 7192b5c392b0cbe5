//! The judgement itself: the per-instance rules (`Measurement::from_tightness`,
//! `Measurement::from_error`), the verdict rule of each kind (`summary::summarize`) and the
//! property and control verdicts (`runner::assemble`), on synthetic measurements. Exact
//! boundaries are tested to the last bit (the largest float below a threshold must fail), so
//! that a rule loosened or tightened by any amount is seen.

use dlncheck::framework::margins::{self, Margins};
use dlncheck::framework::property::{CheckKind, Measurement, Status};
use dlncheck::framework::runner::{self, ControlVerdict, Verdict};
use dlncheck::framework::spec::{InstanceSpec, Spec};
use dlncheck::framework::summary::{self, RunSummary};

/// The largest float below x (x finite and positive).
fn below(x: f64) -> f64 {
    f64::from_bits(x.to_bits() - 1)
}
/// The smallest float above x (x finite and positive).
fn above(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}

fn instances(n: usize) -> Vec<InstanceSpec> {
    (0..n).map(|i| InstanceSpec { index: i, seed: 1000 + i as u64, point: Default::default() }).collect()
}

type Results = Vec<Result<Measurement, String>>;

fn summarize(kind: CheckKind, min_proportion: Option<f64>, results: &Results) -> RunSummary {
    summary::summarize(kind, min_proportion, &instances(results.len()), results)
}

fn tight(ts: &[f64]) -> Results {
    ts.iter().map(|&t| Ok(Measurement::from_tightness(t, 0.0))).collect()
}

fn nc() -> Result<Measurement, String> {
    Ok(Measurement::not_converged("stuck"))
}

// ---- per-instance rules ----------------------------------------------------------------

#[test]
fn tightness_rule_at_the_exact_boundary() {
    for slack in [0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.25] {
        let edge = 1.0 - slack;
        let m = Measurement::from_tightness(edge, slack);
        assert_eq!(m.status, Status::Holds, "tightness exactly 1 − slack = {edge} holds (slack {slack})");
        assert_eq!(m.tightness, Some(edge));
        assert_eq!(Measurement::from_tightness(below(edge), slack).status, Status::Violated, "slack {slack}");
        assert_eq!(Measurement::from_tightness(above(edge), slack).status, Status::Holds, "slack {slack}");
        // A loosened rule by any fixed margin would let these pass.
        for gap in [1e-15, 1e-12, 1e-6, 1e-4, 1e-3] {
            let t = edge - gap;
            if t < edge {
                assert_eq!(
                    Measurement::from_tightness(t, slack).status,
                    Status::Violated,
                    "t = 1 − slack − {gap} must be a violation (slack {slack})"
                );
            }
        }
    }
    assert_eq!(Measurement::from_tightness(1.0, 0.0).status, Status::Holds);
    assert_eq!(Measurement::from_tightness(1e300, 0.0).status, Status::Holds);
    assert_eq!(Measurement::from_tightness(f64::INFINITY, 0.0).status, Status::Holds);
    assert_eq!(Measurement::from_tightness(0.0, 0.0).status, Status::Violated);
    assert_eq!(Measurement::from_tightness(-1.0, 0.0).status, Status::Violated);
}

#[test]
fn non_finite_tightness_and_error_are_violations() {
    for slack in [0.0, 1e-9, 0.5] {
        let m = Measurement::from_tightness(f64::NAN, slack);
        assert_eq!(m.status, Status::Violated, "NaN tightness is no pass");
        assert_eq!(Measurement::from_tightness(f64::NEG_INFINITY, slack).status, Status::Violated);
    }
    for tol in [1e-12, 1.0] {
        assert_eq!(Measurement::from_error(f64::NAN, tol).status, Status::Violated, "NaN error is no pass");
        assert_eq!(Measurement::from_error(f64::INFINITY, tol).status, Status::Violated);
    }
}

#[test]
fn error_rule_at_the_exact_boundary() {
    for tol in [1e-14, 1e-8, 1e-3, 0.25, 1.0, 7.0] {
        let m = Measurement::from_error(tol, tol);
        assert_eq!(m.status, Status::Holds, "error exactly = tol {tol} holds");
        assert_eq!(m.error, Some(1.0), "error/tol is recorded");
        assert_eq!(m.values.get("error"), Some(&tol), "the raw error is recorded");
        let m = Measurement::from_error(above(tol), tol);
        assert_eq!(m.status, Status::Violated, "the smallest error above tol {tol} is a violation");
        assert!(m.error.unwrap() > 1.0);
        assert_eq!(Measurement::from_error(below(tol), tol).status, Status::Holds);
        assert_eq!(Measurement::from_error(0.0, tol).status, Status::Holds);
        let m = Measurement::from_error(tol * 4.0, tol);
        assert_eq!((m.status, m.error), (Status::Violated, Some(4.0)));
    }
}

#[test]
fn measurement_builders() {
    let m = Measurement::not_converged("never left 0");
    assert_eq!((m.status, m.tightness, m.error), (Status::NotConverged, None, None));
    assert_eq!(m.note.as_deref(), Some("never left 0"));
    let m = Measurement::with_status(Status::Violated).value("x", 2.5).note("n");
    assert_eq!((m.status, m.values["x"], m.note.as_deref()), (Status::Violated, 2.5, Some("n")));
}

// ---- the verdict rule of each kind -----------------------------------------------------

#[test]
fn every_instance_rule_for_bound_equality_and_limit() {
    for kind in [CheckKind::Bound, CheckKind::Equality, CheckKind::Limit] {
        let s = summarize(kind, None, &tight(&[1.0, 2.0, 3.0]));
        assert!(s.holds_overall, "{kind:?}: all hold");
        assert_eq!((s.instances, s.holds, s.violated, s.not_converged, s.errors), (3, 3, 0, 0, 0));
        assert!(s.proportion.is_none(), "{kind:?}: a proportion only for probabilistic claims");

        // One violation among many is enough to fail.
        let mut r = tight(&[1.0; 99]);
        r.push(Ok(Measurement::from_tightness(below(1.0), 0.0)));
        let s = summarize(kind, None, &r);
        assert!(!s.holds_overall, "{kind:?}: one violation of 100 fails");
        assert_eq!((s.holds, s.violated), (99, 1));

        // An identity/limit by its error.
        let r: Results = vec![Ok(Measurement::from_error(0.5, 1.0)), Ok(Measurement::from_error(1.0, 1.0))];
        assert!(summarize(kind, None, &r).holds_overall, "{kind:?}: errors within tolerance");
        let r: Results =
            vec![Ok(Measurement::from_error(0.5, 1.0)), Ok(Measurement::from_error(above(1.0), 1.0))];
        assert!(!summarize(kind, None, &r).holds_overall, "{kind:?}: an error above tolerance");

        // Not-converged instances are neither a pass nor a violation.
        let s = summarize(kind, None, &vec![nc(), Ok(Measurement::from_tightness(1.5, 0.0)), nc()]);
        assert!(s.holds_overall);
        assert_eq!((s.holds, s.violated, s.not_converged), (1, 0, 2));
        assert_eq!(
            s.tightness.as_ref().unwrap().n,
            1,
            "not-converged instances are left out of the statistics"
        );

        // Nothing measured: never a pass.
        assert!(!summarize(kind, None, &vec![]).holds_overall, "{kind:?}: empty");
        assert!(!summarize(kind, None, &vec![nc(), nc()]).holds_overall, "{kind:?}: all not converged");
        assert!(!summarize(kind, None, &vec![Err("boom".into())]).holds_overall, "{kind:?}: only errors");
    }
}

#[test]
fn probabilistic_rule_is_the_proportion_against_min_proportion() {
    let k = CheckKind::Probabilistic;
    let mixed = |holds: usize, violated: usize| -> Results {
        let mut r = tight(&vec![2.0; holds]);
        r.extend(tight(&vec![0.5; violated]));
        r
    };
    // Exactly at min_proportion holds; one more violation does not.
    let s = summarize(k, Some(0.9), &mixed(9, 1));
    assert!(s.holds_overall, "9/10 ≥ 0.9");
    let p = s.proportion.as_ref().expect("a proportion for probabilistic claims");
    assert_eq!((p.successes, p.trials, p.estimate), (9, 10, 0.9));
    assert!(!summarize(k, Some(0.9), &mixed(8, 2)).holds_overall, "8/10 < 0.9");
    assert!(!summarize(k, Some(0.9), &mixed(899, 101)).holds_overall, "0.899 < 0.9");
    assert!(summarize(k, Some(0.9), &mixed(900, 100)).holds_overall, "0.9 ≥ 0.9");
    assert!(summarize(k, Some(0.0), &mixed(0, 5)).holds_overall, "min_proportion 0 always holds if measured");
    assert!(summarize(k, Some(1.0), &mixed(5, 0)).holds_overall);
    assert!(!summarize(k, Some(1.0), &mixed(500, 1)).holds_overall);
    // Without min_proportion every measured instance must hold.
    assert!(summarize(k, None, &mixed(3, 0)).holds_overall);
    assert!(!summarize(k, None, &mixed(300, 1)).holds_overall);
    // Not-converged instances are no trials.
    let mut r = mixed(9, 1);
    r.extend([nc(), nc(), nc()]);
    let s = summarize(k, Some(0.9), &r);
    assert!(s.holds_overall);
    assert_eq!(s.proportion.as_ref().unwrap().trials, 10);
    // Nothing measured: no proportion, no pass.
    let s = summarize(k, Some(0.0), &vec![nc(), nc()]);
    assert!(!s.holds_overall);
    assert!(s.proportion.is_none());
}

#[test]
fn counts_errors_and_statistics() {
    let r: Results = vec![
        Ok(Measurement::from_tightness(2.0, 0.0)),
        Err("first failure".into()),
        Ok(Measurement::from_tightness(f64::NAN, 0.0)),
        nc(),
        Err("second failure".into()),
        Ok(Measurement::from_tightness(4.0, 0.0)),
    ];
    let s = summarize(CheckKind::Bound, None, &r);
    assert_eq!((s.instances, s.holds, s.violated, s.not_converged, s.errors), (6, 2, 1, 1, 2));
    assert_eq!(s.first_error.as_deref(), Some("first failure"));
    assert!(s.proportion.is_none(), "a proportion only for probabilistic claims");
    let t = s.tightness.unwrap();
    assert_eq!((t.n, t.min, t.max, t.mean), (2, 2.0, 4.0, 3.0), "NaN is left out of the statistics");
    assert!(s.error.is_none());
    // The NaN instance is the worst: it is the violation.
    let w = s.worst.unwrap();
    assert_eq!((w.index, w.seed, w.measurement.status), (2, 1002, Status::Violated));
    assert!(w.measurement.tightness.unwrap().is_nan());
}

#[test]
fn worst_is_a_violation_first_then_the_smallest_tightness_then_the_largest_error() {
    // No violation: the smallest tightness, the first of equals.
    let s = summarize(CheckKind::Bound, None, &tight(&[3.0, 1.25, 2.0, 1.25, 9.0]));
    let w = s.worst.unwrap();
    assert_eq!((w.index, w.seed, w.measurement.tightness), (1, 1001, Some(1.25)));
    // A violation beats a smaller tightness that was (by a slack) accepted.
    let r: Results = vec![
        Ok(Measurement::from_tightness(0.5, 0.6)),
        Ok(Measurement::from_tightness(0.9, 0.0)),
        Ok(Measurement::from_tightness(0.7, 0.0)),
    ];
    let s = summarize(CheckKind::Bound, None, &r);
    assert_eq!(s.worst.as_ref().unwrap().index, 2, "the worst violation, not the smallest tightness");
    assert!(!s.holds_overall);
    // Errors: the largest error/tol.
    let r: Results = [0.1, 0.7, 0.3].iter().map(|&e| Ok(Measurement::from_error(e, 1.0))).collect();
    let s = summarize(CheckKind::Equality, None, &r);
    assert_eq!(s.worst.as_ref().unwrap().index, 1);
    let e = s.error.unwrap();
    assert_eq!((e.n, e.min, e.max), (3, 0.1, 0.7));
    assert!(s.tightness.is_none());
    // Not converged is never the worst.
    let s = summarize(CheckKind::Limit, None, &vec![nc(), Ok(Measurement::from_error(0.2, 1.0)), nc()]);
    assert_eq!(s.worst.unwrap().index, 1);
    assert!(summarize(CheckKind::Limit, None, &vec![nc()]).worst.is_none());
}

/// Instances that tie up to rounding (1e-16 relative, the size of the differences between CPUs'
/// SIMD kernels) give the same worst instance, the lowest index, whichever of the two is the
/// smaller by the last bits; values that differ by more than `TIE_RTOL` still pick the smaller.
#[test]
fn worst_breaks_near_ties_by_the_lowest_index() {
    let one_ulp_up = above(1.25); // 1.25·(1 + 1.8e-16)
    for (a, b) in [(1.25, one_ulp_up), (one_ulp_up, 1.25)] {
        let s = summarize(CheckKind::Bound, None, &tight(&[3.0, a, 2.0, b, 9.0]));
        assert_eq!(s.worst.unwrap().index, 1, "tightness tie {a} vs {b}: the lowest index");
        let r: Results =
            [0.1, a / 2.0, 0.3, b / 2.0].iter().map(|&e| Ok(Measurement::from_error(e, 1.0))).collect();
        assert_eq!(summarize(CheckKind::Equality, None, &r).worst.unwrap().index, 1, "error tie {a} vs {b}");
        // Ties among violations too, and a violation still beats any tie among passes.
        let r: Results = vec![
            Ok(Measurement::from_tightness(0.5 * a, 0.0)),
            Ok(Measurement::from_tightness(0.25, 0.8)),
            Ok(Measurement::from_tightness(0.5 * b, 0.0)),
        ];
        assert_eq!(summarize(CheckKind::Bound, None, &r).worst.unwrap().index, 0, "violation tie {a} vs {b}");
    }
    // Relative, not absolute: 1e6·(1 + 1e-13) ties 1e6 (a difference of 1e-7) ...
    let s = summarize(CheckKind::Bound, None, &tight(&[1e6 * (1.0 + 1e-13), 1e6]));
    assert_eq!(s.worst.unwrap().index, 0, "1e-13 relative is a tie");
    // ... and 1e-6·(1 + 1e-10) does not tie 1e-6 (a difference of 1e-16): the smaller wins.
    let s = summarize(CheckKind::Bound, None, &tight(&[1e-6 * (1.0 + 1e-10), 1e-6]));
    assert_eq!(s.worst.unwrap().index, 1, "1e-10 relative is no tie");
    let s = summarize(CheckKind::Bound, None, &tight(&[2.0 * (1.0 + 1e-10), 2.0]));
    assert_eq!(s.worst.unwrap().index, 1, "1e-10 relative is no tie");
    // The tolerance is 1e-12 relative: 1 + 0.9e-12 ties 1, 1 + 1.1e-12 does not.
    assert_eq!(summarize(CheckKind::Bound, None, &tight(&[1.0 + 0.9e-12, 1.0])).worst.unwrap().index, 0);
    assert_eq!(summarize(CheckKind::Bound, None, &tight(&[1.0 + 1.1e-12, 1.0])).worst.unwrap().index, 1);
    // Only the extreme's ties count: a value tied to a tied value but not to the extreme is not.
    assert!(summary::tied(1.0, 1.0 + 1e-13) && !summary::tied(1.0, 1.0 + 1e-11));
    // Not finite: equal only to itself (an infinite tightness ties no finite one).
    assert!(summary::tied(f64::INFINITY, f64::INFINITY) && !summary::tied(f64::INFINITY, 1e300));
    assert!(!summary::tied(f64::NEG_INFINITY, -1e300) && summary::tied(f64::NAN, f64::NAN));
    assert!(!summary::tied(f64::NAN, 1.0) && !summary::tied(1.0, f64::NAN));
    assert!(summary::tied(0.0, -0.0) && !summary::tied(0.0, 1e-300));
    let s = summarize(CheckKind::Bound, None, &tight(&[f64::INFINITY, 1e300]));
    assert_eq!(s.worst.unwrap().index, 1);
    // Statuses still rank first: a pass tied in value with a violation (slack) is not the worst.
    let r: Results =
        vec![Ok(Measurement::from_tightness(0.7, 0.5)), Ok(Measurement::from_tightness(above(0.7), 0.0))];
    assert_eq!(summarize(CheckKind::Bound, None, &r).worst.unwrap().index, 1);
}

// ---- property and control verdicts -----------------------------------------------------

fn spec(kind: &str, controls: usize) -> Spec {
    let mut text = format!(
        "id: synthetic\ntitle: t\nsource: {{paper: p, label: l, provenance: derived}}\nstatement: s\n\
         kind: {kind}\nseed: 1\nrepetitions: 1\ngrid: {{}}\ncontrols:\n"
    );
    if kind == "probabilistic" {
        text = text.replace("seed: 1", "min_proportion: 0.9\nseed: 1");
    }
    for c in 0..controls {
        text.push_str(&format!("  - {{variant: c{c}, description: d{c}}}\n"));
    }
    Spec::parse(&text, "synthetic.yaml").unwrap()
}

fn assemble(spec: &Spec, claim: Results, controls: Vec<Results>) -> runner::PropertyRun {
    let sets = controls.into_iter().map(|r| (instances(r.len()), r)).collect();
    runner::assemble(spec, instances(claim.len()), claim, sets, 0.0)
}

#[test]
fn property_verdicts() {
    let s = spec("bound", 1);
    let fails = || tight(&[0.5]);
    let run = assemble(&s, tight(&[1.0, 2.0]), vec![fails()]);
    assert_eq!(run.verdict, Verdict::Holds);
    assert!(run.ok());
    let run = assemble(&s, tight(&[1.0, 0.99]), vec![fails()]);
    assert_eq!(run.verdict, Verdict::Violated);
    assert!(!run.ok());
    let run = assemble(&s, vec![nc(), nc()], vec![fails()]);
    assert_eq!(run.verdict, Verdict::Inconclusive, "all not converged");
    assert!(!run.ok());
    let run = assemble(&s, vec![], vec![fails()]);
    assert_eq!(run.verdict, Verdict::Inconclusive, "empty");
    assert!(!run.ok());
    // An error outranks everything else, even instances that hold.
    let mut r = tight(&[1.0, 2.0]);
    r.push(Err("singular".into()));
    let run = assemble(&s, r, vec![fails()]);
    assert_eq!(run.verdict, Verdict::Error);
    assert!(!run.ok());
    let mut r = tight(&[0.5]);
    r.push(Err("singular".into()));
    assert_eq!(assemble(&s, r, vec![fails()]).verdict, Verdict::Error);
}

#[test]
fn control_verdicts() {
    let s = spec("bound", 4);
    let run = assemble(
        &s,
        tight(&[1.0]),
        vec![
            tight(&[2.0, 0.5, 3.0]), // one violation: fails as expected
            tight(&[1.0, 2.0]),      // holds everywhere: a defect of the check
            vec![nc(), nc()],        // nothing measured
            vec![nc(), Ok(Measurement::from_tightness(1.0, 0.0))], // holds where measured
        ],
    );
    let v: Vec<ControlVerdict> = run.controls.iter().map(|c| c.verdict).collect();
    assert_eq!(
        v,
        [
            ControlVerdict::FailsAsExpected,
            ControlVerdict::DefectPassed,
            ControlVerdict::Inconclusive,
            ControlVerdict::DefectPassed
        ]
    );
    assert_eq!(run.verdict, Verdict::Holds);
    assert!(!run.ok(), "a control that holds makes the property fail as a check");
    assert_eq!((run.controls[0].variant.as_str(), run.controls[0].description.as_str()), ("c0", "d0"));
    assert_eq!(run.controls[0].summary.violated, 1);
    // All controls failing: ok.
    let s = spec("bound", 2);
    assert!(assemble(&s, tight(&[1.0]), vec![tight(&[0.5]), tight(&[0.1, 7.0])]).ok());
    // An inconclusive control is not ok either.
    assert!(!assemble(&s, tight(&[1.0]), vec![tight(&[0.5]), vec![nc()]]).ok());
}

#[test]
fn probabilistic_control_verdicts_follow_the_proportion() {
    let s = spec("probabilistic", 3);
    let mixed = |holds: usize, violated: usize| -> Results {
        let mut r = tight(&vec![2.0; holds]);
        r.extend(tight(&vec![0.5; violated]));
        r
    };
    let run = assemble(&s, mixed(19, 1), vec![mixed(8, 2), mixed(9, 1), vec![nc()]]);
    assert_eq!(run.verdict, Verdict::Holds, "19/20 ≥ 0.9");
    let v: Vec<ControlVerdict> = run.controls.iter().map(|c| c.verdict).collect();
    assert_eq!(
        v,
        [ControlVerdict::FailsAsExpected, ControlVerdict::DefectPassed, ControlVerdict::Inconclusive],
        "a probabilistic control with some violations but a proportion ≥ min_proportion passed"
    );
    let run = assemble(&s, mixed(17, 3), vec![mixed(0, 1), mixed(0, 1), mixed(0, 1)]);
    assert_eq!(run.verdict, Verdict::Violated, "17/20 < 0.9");
    assert!(run.controls.iter().all(|c| c.verdict == ControlVerdict::FailsAsExpected));
}

#[test]
fn a_control_must_violate_its_stated_proportion() {
    let mut s = spec("bound", 4);
    for (c, p) in [(0, 1.0), (1, 1.0), (2, 0.5), (3, 0.5)] {
        s.controls[c].expect_violated = Some(p);
    }
    let v = |holds: usize, violated: usize| -> Results {
        let mut r = tight(&vec![2.0; holds]);
        r.extend(tight(&vec![0.5; violated]));
        r.push(nc()); // not measured: not counted either way
        r
    };
    let run = assemble(&s, tight(&[1.0]), vec![v(0, 4), v(1, 3), v(2, 2), v(3, 1)]);
    let verdicts: Vec<ControlVerdict> = run.controls.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            ControlVerdict::FailsAsExpected,
            ControlVerdict::DefectPassed,
            ControlVerdict::FailsAsExpected,
            ControlVerdict::DefectPassed
        ],
        "expect_violated 1 needs 4 of 4, 0.5 needs 2 of 4"
    );
    assert!(!run.ok());
    // As many holding as violated, too few violations for the stated share: a defect, not
    // "nothing measured".
    let run = assemble(&s, tight(&[1.0]), vec![v(2, 2), v(2, 2), v(0, 0), v(1, 1)]);
    let verdicts: Vec<ControlVerdict> = run.controls.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            ControlVerdict::DefectPassed,
            ControlVerdict::DefectPassed,
            ControlVerdict::Inconclusive,
            ControlVerdict::FailsAsExpected
        ]
    );
    // Probabilistic: the proportion must fail min_proportion and the stated share be violated.
    let mut s = spec("probabilistic", 2);
    s.controls[0].expect_violated = Some(1.0);
    s.controls[1].expect_violated = Some(0.5);
    let run = assemble(&s, tight(&[1.0]), vec![v(1, 3), v(1, 3)]);
    assert_eq!(run.controls[0].verdict, ControlVerdict::DefectPassed);
    assert_eq!(run.controls[1].verdict, ControlVerdict::FailsAsExpected);
}

// ---- statistics of a run -----------------------------------------------------------------

/// Order statistics by hand: statrs's quantile is Hyndman–Fan type 8, h = (n + 1/3)p + 1/3,
/// x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋). For x_k = k², k = 1…40 (given shuffled): q05 at h = 2.35 is
/// 4 + 0.35·5 = 5.75, q50 at h = 20.5 is 400 + 0.5·41 = 420.5, q95 at h = 38.65 is
/// 1444 + 0.65·77 = 1494.05; the mean is Σk²/40 = 22140/40 = 553.5.
#[test]
fn stats_order_statistics_by_hand() {
    let mut xs: Vec<f64> = (1..=40).map(|k| (k * k) as f64).collect();
    xs.reverse();
    xs.swap(3, 30);
    xs.push(f64::NAN);
    xs.insert(7, f64::INFINITY);
    let s = summary::stats(&xs).unwrap();
    assert_eq!(s.n, 40, "non-finite values are left out");
    assert_eq!((s.min, s.max), (1.0, 1600.0));
    for (got, want) in [(s.q05, 5.75), (s.q50, 420.5), (s.q95, 1494.05), (s.mean, 553.5)] {
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
    }
}

/// The mean's 95 % interval: mean ± t_{0.975, n−1}·sd/√n. For 1…5 (given unsorted, with a
/// negative shift to see the signs): sd = √2.5, t_{0.975,4} = 2.7764451 (table), half-width
/// 1.9632432; one value: the interval is the point; no finite value: none.
#[test]
fn stats_mean_interval_by_hand() {
    let s = summary::stats(&[-7.0, -10.0, -8.0, -6.0, -9.0]).unwrap();
    let h = 2.7764451 * 2.5f64.sqrt() / 5f64.sqrt();
    assert!((s.mean + 8.0).abs() < 1e-15);
    assert!((s.mean_ci95[0] - (-8.0 - h)).abs() < 1e-6, "{:?}", s.mean_ci95);
    assert!((s.mean_ci95[1] - (-8.0 + h)).abs() < 1e-6, "{:?}", s.mean_ci95);
    assert_eq!((s.min, s.max, s.q50), (-10.0, -6.0, -8.0));
    // Two values: t_{0.975,1} = 12.706205, sd = |a − b|/√2, half-width t·|a − b|/2.
    let s = summary::stats(&[1.0, 3.0]).unwrap();
    assert!((s.mean_ci95[1] - 2.0 - 12.706205).abs() < 1e-5, "{:?}", s.mean_ci95);
    let s = summary::stats(&[2.5, f64::NAN]).unwrap();
    assert_eq!((s.n, s.mean, s.mean_ci95, s.q05, s.q95), (1, 2.5, [2.5, 2.5], 2.5, 2.5));
    assert!(summary::stats(&[]).is_none());
    assert!(summary::stats(&[f64::NAN, f64::NEG_INFINITY]).is_none());
}

/// Clopper–Pearson intervals where they have closed forms: k = 0 gives [0, 1 − 0.025^(1/n)],
/// k = n gives [0.025^(1/n), 1], k = 1 has lower end 1 − 0.975^(1/n) and k = n − 1 upper end
/// 0.975^(1/n) (Beta(1, n) and Beta(n, 1) quantiles); 7/10 against R's binom.test
/// (0.3475471, 0.9332605).
#[test]
fn clopper_pearson_closed_forms() {
    for n in [1usize, 4, 10, 37] {
        let nf = n as f64;
        let p = summary::proportion(0, n).unwrap();
        assert_eq!((p.successes, p.trials, p.estimate, p.ci95[0]), (0, n, 0.0, 0.0));
        assert!((p.ci95[1] - (1.0 - 0.025f64.powf(1.0 / nf))).abs() < 1e-9, "0/{n}: {p:?}");
        let p = summary::proportion(n, n).unwrap();
        assert_eq!((p.estimate, p.ci95[1]), (1.0, 1.0));
        assert!((p.ci95[0] - 0.025f64.powf(1.0 / nf)).abs() < 1e-9, "{n}/{n}: {p:?}");
        if n > 1 {
            let p = summary::proportion(1, n).unwrap();
            assert!((p.ci95[0] - (1.0 - 0.975f64.powf(1.0 / nf))).abs() < 1e-9, "1/{n}: {p:?}");
            assert_eq!(p.estimate, 1.0 / nf);
            let p = summary::proportion(n - 1, n).unwrap();
            assert!((p.ci95[1] - 0.975f64.powf(1.0 / nf)).abs() < 1e-9, "{}/{n}: {p:?}", n - 1);
        }
    }
    let p = summary::proportion(7, 10).unwrap();
    assert!((p.ci95[0] - 0.3475471).abs() < 1e-6 && (p.ci95[1] - 0.9332605).abs() < 1e-6, "{p:?}");
    assert_eq!(p.estimate, 0.7);
    assert!(summary::proportion(0, 0).is_none());
}

// ---- the report --------------------------------------------------------------------------

fn attack(violated: bool, broken: usize, attacked: usize) -> dlncheck::framework::report::AttackSummary {
    dlncheck::framework::report::AttackSummary {
        best: Some(1.0),
        known_infimum: None,
        relative_gap: None,
        evaluations: 10,
        restarts: 2,
        violated,
        controls_broken: broken,
        controls_attacked: attacked,
    }
}

#[test]
fn attack_summary_is_ok_only_unviolated_with_every_control_broken() {
    assert!(attack(false, 2, 2).ok());
    assert!(attack(false, 0, 0).ok());
    assert!(!attack(true, 2, 2).ok());
    assert!(!attack(false, 1, 2).ok());
    assert!(!attack(true, 1, 2).ok());
}

#[test]
fn report_counts_and_attacks() {
    use dlncheck::framework::report::Report;
    use dlncheck::framework::spec::Mode;
    let s = spec("bound", 1);
    let mut other = spec("bound", 1);
    other.id = "other".into();
    let holds = assemble(&s, tight(&[1.0, 2.0]), vec![tight(&[0.5])]);
    let defect = assemble(&other, tight(&[1.0]), vec![tight(&[3.0])]);
    let r = Report::new(Mode::Quick, 7, &[holds.clone(), defect.clone()], true);
    assert_eq!((r.mode.as_str(), r.seed, r.complete, r.passed, r.failed), ("quick", 7, true, 1, 1));
    assert!(r.tool.starts_with("dlncheck "));
    assert_eq!(r.properties[0].id, "synthetic");
    assert!(r.properties[0].controls_ok && !r.properties[1].controls_ok);
    assert_eq!(r.properties[1].verdict, Verdict::Holds);
    assert_eq!(Report::new(Mode::Full, 0, std::slice::from_ref(&holds), false).mode, "full");
    // An attack that found a violation makes its property violated; one that could not break
    // a control makes the controls not ok; the other property is untouched; counts recomputed.
    let both = Report::new(Mode::Full, 0, &[holds.clone(), holds.clone()], true);
    assert_eq!((both.passed, both.failed), (2, 0));
    let a = both.clone().with_attacks(&[("synthetic".into(), attack(true, 1, 1))]);
    assert!(a.properties.iter().all(|p| p.verdict == Verdict::Violated && p.attack.is_some()));
    assert_eq!((a.passed, a.failed), (0, 2));
    let mut two = both.clone();
    two.properties[1].id = "other".into();
    let a = two.clone().with_attacks(&[("other".into(), attack(false, 0, 1))]);
    assert_eq!(a.properties[0].verdict, Verdict::Holds);
    assert!(a.properties[0].controls_ok && a.properties[0].attack.is_none());
    assert_eq!(a.properties[1].verdict, Verdict::Holds);
    assert!(!a.properties[1].controls_ok);
    assert_eq!((a.passed, a.failed), (1, 1));
    let a = two.clone().with_attacks(&[("other".into(), attack(false, 1, 1))]);
    assert_eq!((a.passed, a.failed), (2, 0));
    assert!(a.properties[1].controls_ok);
    // A broken attack does not mend a defective control.
    let bad = Report::new(Mode::Full, 0, std::slice::from_ref(&defect), true);
    let a = bad.with_attacks(&[("other".into(), attack(false, 1, 1))]);
    assert_eq!((a.passed, a.failed), (0, 1));
    // The YAML reads back to the same report.
    let back: Report = serde_yaml::from_str(&a.to_yaml()).unwrap();
    assert_eq!(back, a);
}

#[test]
fn terminal_table_rows() {
    let s = spec("bound", 3);
    let mut with_nc = tight(&[1.23456, 2.0]);
    with_nc.push(nc());
    let run = assemble(&s, with_nc, vec![tight(&[0.5]), tight(&[2.0]), tight(&[0.25])]);
    let mut eq = spec("equality", 1);
    eq.id = "an.identity".into();
    let errs: Results = [0.25, 0.0125].iter().map(|&e| Ok(Measurement::from_error(e, 1.0))).collect();
    let run_eq = assemble(&eq, errs, vec![vec![Ok(Measurement::from_error(3.0, 1.0))]]);
    let mut none = spec("limit", 1);
    none.id = "nothing.measured".into();
    let run_none = assemble(&none, vec![nc()], vec![tight(&[0.5])]);
    let t = dlncheck::framework::report::table(&[run, run_eq, run_none]);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 5, "{t}");
    assert!(lines[0].starts_with("property") && lines[0].contains("worst"));
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, ["synthetic", "3(1nc)", "1.2346", "holds", "2/3", "fail", "0.00"], "{t}");
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row, ["an.identity", "2", "err/tol", "2.5e-1", "holds", "1/1", "fail", "0.00"], "{t}");
    let row: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(row, ["nothing.measured", "1(1nc)", "-", "inconclusive", "1/1", "fail", "0.00"], "{t}");
    assert_eq!(lines[4], dlncheck::framework::report::READING);
}

// ---- the runner --------------------------------------------------------------------------

/// A claim whose outcome is known per instance: tightness 1 + (seed mod 3) for the claim; control
/// c0 panics with a formatted message, c1 with a static one, c2 with a payload that is no string.
struct Fake;

impl dlncheck::framework::property::Claim for Fake {
    fn id(&self) -> &'static str {
        "synthetic"
    }
    fn params(&self) -> &'static [dlncheck::framework::property::Param] {
        &[]
    }
    fn controls(&self) -> &'static [&'static str] {
        &["c0", "c1", "c2"]
    }
    fn measure(
        &self,
        _point: &dlncheck::framework::property::GridPoint,
        seed: u64,
        variant: dlncheck::framework::property::Variant<'_>,
    ) -> Result<Measurement, dlncheck::framework::property::ClaimError> {
        use dlncheck::framework::property::Variant;
        match variant {
            Variant::Claim => Ok(Measurement::from_tightness(1.0 + (seed % 3) as f64, 0.0)),
            Variant::Control("c0") => panic!("boom at {seed}"),
            Variant::Control("c1") => panic!("static boom"),
            Variant::Control(_) => std::panic::panic_any(42u8),
        }
    }
    fn instance(
        &self,
        _: &dlncheck::framework::property::GridPoint,
        _: u64,
        _: dlncheck::framework::property::Variant<'_>,
    ) -> Option<dlncheck::engine::instance::Instance> {
        None
    }
}

fn counted_spec() -> Spec {
    let text = "id: synthetic\ntitle: t\nsource: {paper: p, label: l, provenance: derived}\nstatement: s\n\
                kind: bound\nseed: 1\nrepetitions: 2\ngrid: {a: [1, 2, 3], b: [x, y]}\n\
                quick: {repetitions: 1, grid: {a: [1]}}\ncontrols:\n\
                \x20 - {variant: c0, description: d, grid: {b: [z]}, repetitions: 5}\n\
                \x20 - {variant: c1, description: d}\n\
                \x20 - {variant: c2, description: d, grid: {a: [7, 8]}}\n";
    Spec::parse(text, "synthetic.yaml").unwrap()
}

/// Counts by hand: full 3·2·2 = 12 claim instances, c0 3·1·5 = 15, c1 12, c2 2·2·2 = 8 (47);
/// quick 1·2·1 = 2, c0 1·1·5 = 5, c1 2, c2 2·2·1 = 4 (13).
#[test]
fn instance_counts_and_budget_by_hand() {
    use dlncheck::framework::spec::Mode;
    let s = counted_spec();
    assert_eq!(runner::count_instances(&s, Mode::Full, 0), 47);
    assert_eq!(runner::count_instances(&s, Mode::Quick, 99), 13);
    let mut t = counted_spec();
    t.id = "bigger".into();
    t.repetitions = 10; // full: 60 + 15 + 60 + 40 = 175
    assert_eq!(runner::count_instances(&t, Mode::Full, 0), 175);
    let both = [&s, &t];
    assert_eq!(runner::check_instance_budget(&both, Mode::Full, 222), Ok(()), "exactly at the limit");
    assert_eq!(runner::check_instance_budget(&both, Mode::Full, 221), Err(("bigger".into(), 175, 222)));
    assert_eq!(runner::check_instance_budget(&[&t, &s], Mode::Quick, 26), Ok(()), "quick: 13 + 13");
    assert_eq!(runner::check_instance_budget(&[&s], Mode::Quick, 12), Err(("synthetic".into(), 13, 13)));
}

#[test]
fn run_measures_every_instance_and_records_panics_as_errors() {
    use dlncheck::framework::spec::Mode;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let s = counted_spec();
    let ticks = AtomicUsize::new(0);
    let run = runner::run(&s, &Fake, Mode::Quick, 3, &|| {
        ticks.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(ticks.load(Ordering::Relaxed), 13, "one tick per instance");
    let inst = s.instances(Mode::Quick, 3);
    assert_eq!(run.instances, inst);
    assert_eq!(run.results.len(), 2);
    for (i, r) in inst.iter().zip(&run.results) {
        let want = 1.0 + (i.seed % 3) as f64;
        assert_eq!(r.as_ref().unwrap().tightness, Some(want));
    }
    assert_eq!(run.verdict, Verdict::Holds);
    assert_eq!(run.summary.holds, 2);
    let c: Vec<(usize, usize)> =
        run.controls.iter().map(|c| (c.summary.instances, c.summary.errors)).collect();
    assert_eq!(c, [(5, 5), (2, 2), (4, 4)]);
    let c0 = s.control_instances(0, Mode::Quick, 3);
    assert_eq!(
        run.controls[0].summary.first_error.as_deref(),
        Some(format!("claim code panicked: boom at {}", c0[0].seed).as_str())
    );
    assert_eq!(run.controls[1].summary.first_error.as_deref(), Some("claim code panicked: static boom"));
    assert_eq!(run.controls[2].summary.first_error.as_deref(), Some("claim code panicked: (no message)"));
    assert!(run.controls.iter().all(|c| c.verdict == ControlVerdict::Inconclusive));
    assert!(!run.ok());
    assert!(run.seconds >= 0.0);
}

#[test]
fn margins_fold_checks_into_one_measurement() {
    let mut m = Margins::default();
    m.within("identity", 1e-15, 1e-10);
    m.require("structure", true);
    let meas = m.measurement();
    assert_eq!(meas.status, Status::Holds);
    assert_eq!(meas.tightness, None);
    assert!((meas.error.unwrap() - 1e-5).abs() < 1e-18);
    m.margin("bound", 1.5);
    m.margin("bound 2", 3.0);
    assert_eq!(m.measurement().tightness, Some(1.5));
    m.within("identity", 2e-10, 1e-10);
    m.require("structure", false);
    m.margin("bound", f64::NAN);
    let meas = m.measurement();
    assert_eq!(meas.status, Status::Violated);
    assert_eq!(meas.tightness, Some(0.0));
    assert_eq!(meas.note.as_deref(), Some("failed: identity, structure, bound"));
}

/// `le`: lower ≤ upper·(1 + rel), at the exact boundary (1.5 = 1·(1 + 0.5) in floating point),
/// just past it, and with NaN on either side.
/// `margin` holds at exactly 1 and `within` at error = tol exactly (ratio 1), both failing just
/// past it.
#[test]
fn margin_and_within_at_the_exact_boundary() {
    let mut m = Margins::default();
    m.margin("bound", 1.0);
    m.within("identity", 1e-10, 1e-10);
    assert!(m.holds(), "{:?}", m.failed);
    assert_eq!(m.tightness(), Some(1.0));
    m.margin("bound", below(1.0));
    m.within("identity", above(1e-10), 1e-10);
    assert_eq!(m.failed, ["bound", "identity"]);
    assert_eq!(m.tightness(), Some(below(1.0)), "the smallest margin");
}

#[test]
fn chain_link_rule_at_the_exact_boundary() {
    assert!(margins::le(1.0, 1.0, 0.0));
    assert!(margins::le(1.5, 1.0, 0.5));
    assert!(!margins::le(above(1.5), 1.0, 0.5));
    assert!(margins::le(2.0, 4.0, 0.0) && !margins::le(4.0, 2.0, 0.5));
    assert!(!margins::le(2.4, 2.0, 0.1), "the slack is relative: 2·1.1 = 2.2 < 2.4");
    assert!(!margins::le(f64::NAN, 1.0, 0.5) && !margins::le(1.0, f64::NAN, 0.5));
    let mut m = Margins::default();
    m.le("a ≤ b", 1.5, 1.0, 0.5);
    assert!(m.holds() && m.failed.is_empty());
    m.le("c ≤ d", above(1.5), 1.0, 0.5);
    assert_eq!(m.failed, ["c ≤ d"]);
    assert_eq!(m.tightness(), None, "a chain link is not a tightness");
}

/// `fold` keeps a measurement made elsewhere (tightness, error, values, note) and only marks it
/// violated, naming the failed checks after any note it had.
#[test]
fn fold_marks_a_measurement_violated_and_names_the_failed_checks() {
    let base = Measurement::from_tightness(1.25, 0.0).value("x", 2.0);
    let mut m = Margins::default();
    m.within("identity", 1e-3, 1e-2);
    assert_eq!(m.fold(base.clone()), base, "every check held: unchanged");
    let violated_already = Measurement::from_tightness(0.5, 0.0);
    assert_eq!(m.fold(violated_already.clone()), violated_already);
    m.le("LB ≤ S_min", 2.0, 1.0, 0.0);
    m.require("structure", false);
    let f = m.fold(base.clone());
    assert_eq!(f.status, Status::Violated);
    assert_eq!((f.tightness, f.error, &f.values), (base.tightness, base.error, &base.values));
    assert_eq!(f.note.as_deref(), Some("failed: LB ≤ S_min, structure"));
    let f = m.fold(base.note("diverged"));
    assert_eq!(f.note.as_deref(), Some("diverged; failed: LB ≤ S_min, structure"));
    let nc = m.fold(Measurement::not_converged("stalled"));
    assert_eq!(nc.status, Status::Violated, "a failed check is a violation whatever the status");
}
