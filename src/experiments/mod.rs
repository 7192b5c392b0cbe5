//! The paper's gradient-descent experiments (Marion & Chizat §5 and appendix; settings in
//! docs/notation.md) and Jacot et al.'s saddle-to-saddle gradient flows (docs/notation.md), as data:
//! no I/O. [`crate::figures`] plots them and writes the files.
//!
//! | experiment | runs | figures |
//! |---|---|---|
//! | [`Experiment::Mlp`] | MLP d = 5, L = 10, Gaussian init std ∈ [0.25, 0.6], 5 learning rates | 1 (sharpness vs scale, training curves), 3 (distance, divergence probability) |
//! | [`Experiment::LearningRate`] | residual, s = 0.25, L ∈ {5, 10, 20, 40}, 25 learning rates | 2 (final distance vs η with 1/(La) per depth) |
//! | [`Experiment::Residual`] | residual d = 5, L = 10, s ∈ [0, 1.7], 5 learning rates | 4 (sharpness, curves), 5 (distance, divergence) |
//! | [`Experiment::Underdetermined`] | MLP n = 15 < d = 20, L = 5, 3 learning rates | 6 (sharpness, generalisation gap vs sharpness) |
//! | [`Experiment::Gelu`] | GELU MLP d = 5, L = 10, noise-free data, std ∈ [0.428, 0.7], 3 learning rates ([`activated`]) | 7 (sharpness, training loss, divergence vs scale) |
//! | [`Experiment::Staircase`] | Jacot et al.: gradient flows from ε small and large, L ∈ {2, 3, 4} ([`saddle`]) | jgshg-staircase (loss and rank vs time) |
//! | [`Experiment::EscapeTime`] | Jacot et al.: gradient flows at 8 scales ε per depth and instance | jgshg-escape (escape time vs ε, fits) |
//!
//! Runs are independent and seeded by (experiment, configuration, repetition)
//! ([`grid::run_seed`]); they are the work items of [`work`], run in parallel (rayon) and
//! collected in grid order, so the data are bit-identical whatever the thread count, and whatever
//! the sharding of `dlncheck figures --shard` ([`work::assemble`] is the one assembly). [`run`]
//! runs one experiment from its [`Settings`]; the figures are drawn from its [`Results`]
//! afterwards.

pub mod activated;
pub mod aggregate;
pub mod authors_data;
pub mod cpu_clock;
pub mod grid;
pub mod run;
pub mod saddle;
pub mod stats;
pub mod work;

pub use grid::{DataSource, Experiment, Figure, Grid};

use crate::io::error::Error;
use run::{Curve, DataFacts, Run};
use std::time::Instant;

/// The runs of one experiment and the closed forms of its dataset.
#[derive(Clone, Debug)]
pub struct ExperimentData {
    pub grid: Grid,
    /// One per depth of the grid.
    pub facts: Vec<DataFacts>,
    pub runs: Vec<Run>,
    pub curves: Vec<Curve>,
    pub timing: ExperimentTiming,
}

/// Where the time went (not part of the data files: it varies run to run).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExperimentTiming {
    /// Wall-clock seconds of the whole experiment.
    pub wall: f64,
    /// Summed over runs (each run's thread CPU time, [`cpu_clock`]): gradient-descent steps (for the
    /// gradient-flow experiments: the whole flows, SVDs of the snapshots included), and the
    /// spectral work (exact eigenvalues, the authors' estimator, the PL certificate).
    pub gd: f64,
    pub spectra: f64,
    /// GD steps taken in total.
    pub steps: u64,
}

/// What one experiment runs: a grid of gradient-descent runs (figures 1–6), or the gradient
/// flows of jgshg-staircase or jgshg-escape.
#[derive(Clone, Debug)]
pub enum Settings {
    Descent(Grid),
    Staircase(saddle::StaircaseSettings),
    Escape(saddle::EscapeSettings),
}

impl Settings {
    pub fn experiment(&self) -> Experiment {
        match self {
            Settings::Descent(g) => g.experiment,
            Settings::Staircase(_) => Experiment::Staircase,
            Settings::Escape(_) => Experiment::EscapeTime,
        }
    }
    /// Gradient-descent runs, or gradient flows.
    pub fn num_runs(&self) -> usize {
        match self {
            Settings::Descent(g) => g.num_runs(),
            Settings::Staircase(s) => s.num_runs(),
            Settings::Escape(s) => s.num_runs(),
        }
    }
}

/// The data of one experiment.
#[derive(Clone, Debug)]
pub enum Results {
    Descent(ExperimentData),
    Staircase(saddle::StaircaseData),
    Escape(saddle::EscapeData),
}

impl Results {
    pub fn experiment(&self) -> Experiment {
        match self {
            Results::Descent(d) => d.grid.experiment,
            Results::Staircase(_) => Experiment::Staircase,
            Results::Escape(_) => Experiment::EscapeTime,
        }
    }
    /// Gradient-descent runs, or gradient flows.
    pub fn num_runs(&self) -> usize {
        match self {
            Results::Descent(d) => d.runs.len(),
            Results::Staircase(d) => d.settings.num_runs(),
            Results::Escape(d) => d.settings.num_runs(),
        }
    }
    /// Gradient-descent steps taken (0 for the gradient flows).
    pub fn gd_steps(&self) -> u64 {
        match self {
            Results::Descent(d) => d.timing.steps,
            Results::Staircase(_) | Results::Escape(_) => 0,
        }
    }
    pub fn timing(&self) -> ExperimentTiming {
        match self {
            Results::Descent(d) => d.timing,
            Results::Staircase(d) => d.timing,
            Results::Escape(d) => d.timing,
        }
    }
}

/// Runs one experiment: every unit of [`work::work_items`] in parallel
/// ([`work::run_units`]), then [`work::assemble`], the assembly a sharded run's merge uses too.
/// `progress` gets the number of finished runs or flows. A gradient flow that fails numerically
/// is an [`Error::Numerical`].
pub fn run(settings: &Settings, progress: &(dyn Fn(u64) + Sync)) -> Result<Results, Error> {
    let start = Instant::now();
    let units: Vec<work::Unit> = work::work_items(settings).iter().map(|w| w.unit).collect();
    let done = work::run_units(settings, &units, progress)?;
    work::assemble(settings, done, start.elapsed().as_secs_f64())
}
