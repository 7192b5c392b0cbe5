//! The work items of the figures' experiments and the one assembly of their results.
//!
//! Every experiment is a list of independent units ([`Unit`]): one gradient-descent run of a
//! grid ([`Kind::Run`], in [`Grid::configs`] order), one single-run training curve
//! ([`Kind::Curve`]), jgshg-staircase's two flows at one depth ([`Kind::Staircase`]), or jgshg-escape's
//! `n_eps` flows of one (depth, instance) ([`Kind::Escape`], depth-major). A unit's result
//! ([`Outcome`]) depends on the settings and the unit only, so units can run in any order, in
//! any process. [`assemble`] puts the results of every unit back into an experiment's
//! [`Results`]; [`crate::experiments::run()`] (all units in one process) and the merge of a
//! sharded `dlncheck figures` both go through it, so their figures are the same bytes.
//!
//! [`WorkItem::cost`] estimates a unit's CPU time in µs of one core (calibrated on `figures
//! --quick`, 2-core x86, 2026-12): a GD step costs about 0.5 + P/500 µs for P parameters, the
//! measurements at one point (exact extremes, the authors' estimator) about 900·(P/230)^0.76 µs,
//! a gradient flow of jgshg-staircase about 55 ms and one of jgshg-escape about 0.36 s. The estimates only
//! balance shards ([`crate::io::shard::assign`]); they do not change any result.

use crate::experiments::cpu_clock::CpuClock;
use crate::experiments::grid::{Experiment, Grid};
use crate::experiments::run::{self, Curve, Run, RunTiming, Setup};
use crate::experiments::saddle::{self, EscapeData, EscapeRun, StaircaseData};
use crate::experiments::{ExperimentData, ExperimentTiming, Results, Settings};
use crate::io::error::Error;
use crate::io::recipe::Arch;
use crate::lowrank::StaircaseFigure;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a unit computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One gradient-descent run; index in [`Grid::configs`].
    Run,
    /// One training curve; index in the grid's curve etas.
    Curve,
    /// jgshg-staircase: the small- and large-initialisation flows of one depth; index of the depth.
    Staircase,
    /// jgshg-escape: the flows of one (depth, instance); index depth_index·reps + instance.
    Escape,
}

/// One unit of work of one experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Unit {
    pub experiment: Experiment,
    pub kind: Kind,
    pub index: usize,
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Run => "run",
            Kind::Curve => "curve",
            Kind::Staircase => "staircase",
            Kind::Escape => "escape",
        };
        write!(f, "{}/{kind}/{}", self.experiment.tag(), self.index)
    }
}

/// A unit with its estimated CPU cost (µs of one core; see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkItem {
    pub unit: Unit,
    pub cost: f64,
}

/// The result of one unit.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Run(Run),
    Curve(Curve),
    Staircase(StaircaseFigure),
    Escape(EscapeRun),
}

impl Outcome {
    pub fn kind(&self) -> Kind {
        match self {
            Outcome::Run(_) => Kind::Run,
            Outcome::Curve(_) => Kind::Curve,
            Outcome::Staircase(_) => Kind::Staircase,
            Outcome::Escape(_) => Kind::Escape,
        }
    }
}

/// A finished unit: its result and the CPU seconds it took (not part of any data file).
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub unit: Unit,
    pub outcome: Outcome,
    pub timing: RunTiming,
}

/// Parameters of the network at depth index `di` of `grid` (MLP d²(L − 1) + d, residual d²L).
fn num_params(grid: &Grid, di: usize) -> f64 {
    let (d, l) = (grid.d as f64, grid.depths[di] as f64);
    match grid.arch {
        Arch::Mlp => d * d * (l - 1.0) + d,
        Arch::Residual => d * d * l,
    }
}

/// µs of one GD step, and of the measurements at one point, for P parameters.
fn step_cost(p: f64) -> f64 {
    0.5 + p / 500.0
}
/// µs of one GD step of a network with an activation on n samples (passes cost O(n·P), plus one
/// exponential per hidden unit and sample; about 6 µs for Figure 7's n = 50, P = 230 on the lane
/// passes).
fn activated_step_cost(p: f64, n: usize) -> f64 {
    0.5 + n as f64 * p / 2000.0
}
fn point_cost(p: f64) -> f64 {
    900.0 * (p / 230.0).powf(0.76)
}

/// Estimated µs of one gradient flow of jgshg-staircase and of jgshg-escape.
const STAIRCASE_FLOW_COST: f64 = 55_000.0;
const ESCAPE_FLOW_COST: f64 = 360_000.0;

/// Every unit of an experiment, in the order [`assemble`] places them, with its cost.
pub fn work_items(settings: &Settings) -> Vec<WorkItem> {
    let experiment = settings.experiment();
    let item = |kind, index, cost| WorkItem { unit: Unit { experiment, kind, index }, cost };
    match settings {
        Settings::Descent(grid) => {
            let mut out: Vec<WorkItem> = grid
                .configs()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let p = num_params(grid, c.depth_index);
                    let step = if grid.activation.is_identity() {
                        step_cost(p)
                    } else {
                        activated_step_cost(p, grid.n)
                    };
                    item(Kind::Run, i, c.steps as f64 * step + 2.0 * point_cost(p))
                })
                .collect();
            if let Some(c) = &grid.curves {
                let p = num_params(grid, 0);
                let points = (c.steps / c.every.max(1) + 1) as f64;
                for i in 0..c.etas.len() {
                    out.push(item(Kind::Curve, i, c.steps as f64 * step_cost(p) + points * point_cost(p)));
                }
            }
            out
        }
        Settings::Staircase(s) => {
            (0..s.depths.len()).map(|i| item(Kind::Staircase, i, 2.0 * STAIRCASE_FLOW_COST)).collect()
        }
        Settings::Escape(s) => (0..s.depths.len() * s.reps)
            .map(|i| item(Kind::Escape, i, s.n_eps as f64 * ESCAPE_FLOW_COST))
            .collect(),
    }
}

/// Runs `units` of the experiment of `settings` (in parallel; results in the order of
/// `units`). `progress` gets the number of finished runs or flows (a curve counts none).
/// A gradient flow that fails numerically is an [`Error::Numerical`].
pub fn run_units(
    settings: &Settings,
    units: &[Unit],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Done>, Error> {
    let numerical = |err: crate::lowrank::LowRankError| Error::Numerical(err.to_string());
    let setup = match settings {
        Settings::Descent(grid) if !units.is_empty() => Some(Setup::new(grid)),
        _ => None,
    };
    let configs = match settings {
        Settings::Descent(grid) => grid.configs(),
        _ => Vec::new(),
    };
    units
        .par_iter()
        .map(|&unit| {
            let bad = || Error::Numerical(format!("{unit} is not a work item of its experiment"));
            let clock = CpuClock::start();
            let (outcome, timing) = match (settings, unit.kind) {
                (Settings::Descent(grid), Kind::Run) => {
                    let cfg = configs.get(unit.index).ok_or_else(bad)?;
                    let (r, t) = run::run_one(grid, setup.as_ref().expect("set up above"), cfg);
                    progress(1);
                    (Outcome::Run(r), t)
                }
                (Settings::Descent(grid), Kind::Curve) => {
                    if grid.curves.as_ref().is_none_or(|c| unit.index >= c.etas.len()) {
                        return Err(bad());
                    }
                    let c = run::curve(grid, setup.as_ref().expect("set up above"), unit.index);
                    (Outcome::Curve(c), RunTiming { gd: clock.seconds(), spectra: 0.0 })
                }
                (Settings::Staircase(s), Kind::Staircase) => {
                    let (&depth, &eps) =
                        s.depths.get(unit.index).zip(s.eps_small.get(unit.index)).ok_or_else(bad)?;
                    let fig = crate::lowrank::staircase_figure(&s.spec, depth, eps, s.eps_large, s.seed)
                        .map_err(numerical)?;
                    progress(2);
                    (Outcome::Staircase(fig), RunTiming { gd: clock.seconds(), spectra: 0.0 })
                }
                (Settings::Escape(s), Kind::Escape) => {
                    let depth = *s.depths.get(unit.index / s.reps.max(1)).ok_or_else(bad)?;
                    let rep = unit.index % s.reps.max(1);
                    let seed = saddle::instance_seed(rep);
                    let series = crate::lowrank::escape_time_figure(&s.spec, &[depth], s.n_eps, seed)
                        .map_err(numerical)?
                        .remove(0);
                    progress(s.n_eps as u64);
                    let run = EscapeRun { rep, seed, series };
                    (Outcome::Escape(run), RunTiming { gd: clock.seconds(), spectra: 0.0 })
                }
                _ => return Err(bad()),
            };
            Ok(Done { unit, outcome, timing })
        })
        .collect()
}

/// Checks that `outcome` is what `unit` of `settings` computes as far as its own fields say
/// (kind, configuration, seed, depth, instance): a stored result of another unit or run is
/// refused with what differs.
pub fn check_outcome(settings: &Settings, unit: Unit, outcome: &Outcome) -> Result<(), String> {
    if outcome.kind() != unit.kind {
        return Err(format!("holds a {:?} result, expected a {:?}", outcome.kind(), unit.kind));
    }
    let ok = match (settings, outcome) {
        (Settings::Descent(grid), Outcome::Run(r)) => grid.configs().get(unit.index) == Some(&r.config),
        (Settings::Descent(grid), Outcome::Curve(c)) => grid.curves.as_ref().is_some_and(|cs| {
            cs.etas.get(unit.index) == Some(&c.eta)
                && cs.scale == c.scale
                && c.seed
                    == crate::experiments::grid::derive_seed(
                        grid.experiment.tag(),
                        &[u64::MAX - 1, unit.index as u64],
                    )
        }),
        (Settings::Staircase(s), Outcome::Staircase(f)) => s.depths.get(unit.index) == Some(&f.depth),
        (Settings::Escape(s), Outcome::Escape(e)) => {
            let reps = s.reps.max(1);
            s.depths.get(unit.index / reps) == Some(&e.series.depth)
                && e.rep == unit.index % reps
                && e.seed == saddle::instance_seed(e.rep)
                && e.series.eps.len() == s.n_eps
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err("its configuration or seed is not that of this run's unit".into()) }
}

/// The [`Results`] of the experiment of `settings` from the results of all of its units (any
/// order; `wall` is the wall-clock time to report). Every unit of [`work_items`] must be there
/// exactly once, else an internal error (merges check coverage before).
pub fn assemble(settings: &Settings, done: Vec<Done>, wall: f64) -> Result<Results, Error> {
    let items = work_items(settings);
    let internal = |m: String| Error::Numerical(format!("assembling {}: {m}", settings.experiment().tag()));
    let mut by_unit: BTreeMap<Unit, Done> = BTreeMap::new();
    for d in done {
        let u = d.unit;
        if by_unit.insert(u, d).is_some() {
            return Err(internal(format!("{u} twice")));
        }
    }
    if by_unit.len() != items.len() {
        return Err(internal(format!("{} results for {} work items", by_unit.len(), items.len())));
    }
    let mut timing = ExperimentTiming { wall, ..ExperimentTiming::default() };
    let mut outcomes = Vec::with_capacity(items.len());
    for w in &items {
        let d = by_unit.remove(&w.unit).ok_or_else(|| internal(format!("{} missing", w.unit)))?;
        timing.gd += d.timing.gd;
        timing.spectra += d.timing.spectra;
        outcomes.push(d.outcome);
    }
    Ok(match settings {
        Settings::Descent(grid) => {
            let (mut runs, mut curves) = (Vec::new(), Vec::new());
            for o in outcomes {
                match o {
                    Outcome::Run(r) => {
                        timing.steps += r.steps_run as u64;
                        runs.push(r)
                    }
                    Outcome::Curve(c) => curves.push(c),
                    o => return Err(internal(format!("a {:?} result in a grid", o.kind()))),
                }
            }
            let facts = Setup::new(grid).facts;
            Results::Descent(ExperimentData { grid: grid.clone(), facts, runs, curves, timing })
        }
        Settings::Staircase(s) => {
            let figures = outcomes
                .into_iter()
                .map(|o| match o {
                    Outcome::Staircase(f) => Ok(f),
                    o => Err(internal(format!("a {:?} result in jgshg-staircase", o.kind()))),
                })
                .collect::<Result<_, _>>()?;
            Results::Staircase(StaircaseData { settings: s.clone(), figures, timing })
        }
        Settings::Escape(s) => {
            let runs = outcomes
                .into_iter()
                .map(|o| match o {
                    Outcome::Escape(r) => Ok(r),
                    o => Err(internal(format!("a {:?} result in jgshg-escape", o.kind()))),
                })
                .collect::<Result<_, _>>()?;
            Results::Escape(EscapeData { settings: s.clone(), runs, timing })
        }
    })
}
