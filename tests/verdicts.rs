//! The judgement itself: the per-instance rules (`Measurement::from_tightness`,
//! `Measurement::from_error`), the verdict rule of each kind (`summary::summarize`) and the
//! property and control verdicts (`runner::assemble`), on synthetic measurements. Exact
//! boundaries are tested to the last bit (the largest float below a threshold must fail), so
//! that a rule loosened or tightened by any amount is seen.

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
    // Probabilistic: the proportion must fail min_proportion and the stated share be violated.
    let mut s = spec("probabilistic", 2);
    s.controls[0].expect_violated = Some(1.0);
    s.controls[1].expect_violated = Some(0.5);
    let run = assemble(&s, tight(&[1.0]), vec![v(1, 3), v(1, 3)]);
    assert_eq!(run.controls[0].verdict, ControlVerdict::DefectPassed);
    assert_eq!(run.controls[1].verdict, ControlVerdict::FailsAsExpected);
}
