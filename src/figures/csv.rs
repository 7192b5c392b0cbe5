//! CSV files of every run and of the training curves, and of every snapshot and escape time of
//! the gradient flows of the Jacot et al. figures (jgshg-staircase, jgshg-escape) (written by hand: plain numbers, one header line). Numbers are printed in Rust's shortest round-trip form, so the files are exact
//! and bit-reproducible; NaN marks a quantity a diverged run does not have.

use crate::experiments::ExperimentData;
use crate::experiments::run::Curve;
use crate::experiments::saddle::{EscapeData, StaircaseData};
use crate::io::recipe::Arch;
use std::fmt::Write;

/// Shortest round-trip decimal; exponent form outside [1e-4, 1e15).
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// The columns of the runs file.
pub const RUN_COLUMNS: &[&str] = &[
    "experiment",
    "arch",
    "depth",
    "eta",
    "steps",
    "scale",
    "rep",
    "seed",
    "outcome",
    "steps_run",
    "converged",
    "init_sharpness",
    "init_min_eig",
    "init_power20",
    "init_distance",
    "init_train_loss",
    "init_test_loss",
    "final_sharpness",
    "final_min_eig",
    "final_power20",
    "final_distance",
    "final_excess",
    "final_grad_norm",
    "final_train_loss",
    "final_test_loss",
    "generalization_gap",
    "drift_bound",
];

/// One line per run, in grid order.
pub fn runs(data: &ExperimentData) -> String {
    let mut s = RUN_COLUMNS.join(",");
    s.push('\n');
    let arch = match data.grid.arch {
        Arch::Mlp => "mlp",
        Arch::Residual => "residual",
    };
    for r in &data.runs {
        let c = &r.config;
        let fields = [
            data.grid.experiment.tag().to_string(),
            arch.to_string(),
            c.depth.to_string(),
            num(c.eta),
            c.steps.to_string(),
            num(c.scale),
            c.rep.to_string(),
            c.seed.to_string(),
            r.outcome.name().to_string(),
            r.steps_run.to_string(),
            r.converged().to_string(),
            num(r.init.sharpness),
            num(r.init.min_eig),
            num(r.init.power20),
            num(r.init.distance),
            num(r.init.train_loss),
            num(r.init.test_loss),
            num(r.last.sharpness),
            num(r.last.min_eig),
            num(r.last.power20),
            num(r.last.distance),
            num(r.last.excess),
            num(r.last.grad_norm),
            num(r.last.train_loss),
            num(r.last.test_loss),
            num(r.last.test_loss - r.last.train_loss),
            num(r.drift_bound),
        ];
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

/// One line per recorded step of each training curve.
pub fn curves(curves: &[Curve]) -> String {
    let mut s = String::from("eta,scale,seed,step,distance,excess,sharpness,power20\n");
    for c in curves {
        for p in &c.points {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{}",
                num(c.eta),
                num(c.scale),
                c.seed,
                p.step,
                num(p.distance),
                num(p.excess),
                num(p.sharpness),
                num(p.power20)
            );
        }
    }
    s
}

/// The columns of jgshg-staircase's file: one line per snapshot of each flow.
pub const TRAJECTORY_COLUMNS: &[&str] = &["experiment", "depth", "init", "eps", "seed", "t", "loss", "rank"];

/// Every snapshot of jgshg-staircase's flows: per depth, the small- then the large-initialisation flow.
pub fn trajectories(data: &StaircaseData) -> String {
    let mut s = TRAJECTORY_COLUMNS.join(",");
    s.push('\n');
    for f in &data.figures {
        for (init, t) in [("small", &f.small), ("large", &f.large)] {
            for j in 0..t.times.len() {
                let _ = writeln!(
                    s,
                    "staircase,{},{init},{},{},{},{},{}",
                    f.depth,
                    num(t.eps),
                    data.settings.seed,
                    num(t.times[j]),
                    num(t.loss[j]),
                    t.rank[j]
                );
            }
        }
    }
    s
}

/// The columns of jgshg-escape's file: one line per (depth, instance, ε, mode).
pub const ESCAPE_COLUMNS: &[&str] =
    &["experiment", "depth", "rep", "seed", "eps", "mode", "sigma", "escape_time"];

/// Every escape time of jgshg-escape's flows (NaN: the mode was not learned within t_max).
pub fn escapes(data: &EscapeData) -> String {
    let mut s = ESCAPE_COLUMNS.join(",");
    s.push('\n');
    for r in &data.runs {
        let e = &r.series;
        for (j, &eps) in e.eps.iter().enumerate() {
            for (k, t) in e.escape_times[j].iter().enumerate() {
                let _ = writeln!(
                    s,
                    "escape_time,{},{},{},{},{},{},{}",
                    e.depth,
                    r.rep,
                    r.seed,
                    num(eps),
                    k + 1,
                    num(e.sigma[k]),
                    num(t.unwrap_or(f64::NAN))
                );
            }
        }
    }
    s
}
