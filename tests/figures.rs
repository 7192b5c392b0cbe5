//! `dlncheck figures` as a whole: bit-identical files for 1 and 2 threads, `--only`, bad
//! arguments, and a figure that cannot be drawn. The figures themselves are checked in
//! `figures_gd.rs` (1–6) and `figures_saddle.rs` (7–8).

#[path = "common/figures.rs"]
mod figures_common;

use figures_common::{figures, temp_dir};

#[test]
fn figure_files_are_bit_identical_across_thread_counts() {
    let (d1, d2) = (temp_dir("t1"), temp_dir("t2"));
    for (d, t) in [(&d1, "1"), (&d2, "2")] {
        let (code, out, err) = figures(d, &["--only", "fig6,fig7", "--only", "fig8"], t);
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    }
    for f in ["fig6", "fig7", "fig8"].iter().flat_map(|n| ["csv", "yaml", "svg"].map(|e| format!("{n}.{e}")))
    {
        let (a, b) = (std::fs::read(d1.join(&f)).unwrap(), std::fs::read(d2.join(&f)).unwrap());
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
    assert!(!d1.join("fig1.svg").exists(), "--only writes only the figures asked for");
    std::fs::remove_dir_all(&d1).ok();
    std::fs::remove_dir_all(&d2).ok();
}

#[test]
fn bad_arguments_are_rejected() {
    let dir = temp_dir("bad");
    let (code, _, err) = figures(&dir, &["--only", "fig9"], "1");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fig9"), "{err}");
    let (code, _, err) = figures(&dir, &["--reps-scale", "0"], "1");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--reps-scale"), "{err}");
}

/// A chart that cannot be drawn is a drawing error (exit code 3, "cannot draw figN", the panel
/// and axis named), not a write error: here figure 2's learning-rate axis, which is
/// logarithmic, made to start at η = 0.
#[test]
fn a_figure_that_cannot_be_drawn_is_a_drawing_error() {
    use dlncheck::experiments::{Experiment, ExperimentData, Figure, Grid, Results, run::Setup};
    let mut grid = Grid::paper(Experiment::LearningRate).quick();
    grid.rates[0].eta = 0.0;
    let facts = Setup::new(&grid).facts;
    let data = ExperimentData { grid, facts, runs: vec![], curves: vec![], timing: Default::default() };
    let err = dlncheck::figures::build(&Results::Descent(data), &[Figure::Fig2], true).unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("cannot draw fig2: panel `Residual networks, s = 0.25"), "{msg}");
    assert!(msg.contains(": x axis range [0, ") && msg.ends_with("] is not a valid log range"), "{msg}");
    // Ranges the renderer refuses: non-finite ends, an empty range, a log axis through 0.
    use dlncheck::figures::plot::{Axis, Chart, DrawError, Legend, Panel, render};
    let panel = |y: Axis| Panel {
        title: "p".into(),
        x: Axis::linear("x", 0.0, 1.0),
        y,
        series: vec![],
        legend: Legend::UpperLeft,
    };
    let chart =
        |y: Axis| Chart { title: "t".into(), panels: vec![panel(y)], columns: 1, panel_size: (300, 200) };
    assert!(render(&chart(Axis::linear("y", 0.0, 1.0))).is_ok());
    for (y, lo, hi, scale) in [
        (Axis::linear("y", f64::NAN, 1.0), f64::NAN, 1.0, "linear"),
        (Axis::linear("y", 0.0, f64::INFINITY), 0.0, f64::INFINITY, "linear"),
        (Axis::linear("y", 1.0, 1.0), 1.0, 1.0, "linear"),
        (Axis::log("y", -1.0, 1.0), -1.0, 1.0, "log"),
    ] {
        match render(&chart(y)) {
            Err(DrawError::Axis { panel, axis, lo: l, hi: h, scale: s }) => {
                assert_eq!((panel.as_str(), axis, s), ("p", "y", scale));
                assert!(l.total_cmp(&lo).is_eq() && h.total_cmp(&hi).is_eq());
            }
            other => panic!("expected an axis error, got {other:?}"),
        }
    }
}
