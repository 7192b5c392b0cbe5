//! The search: restarts drawn from the grid's distribution, each followed by restarted
//! Nelder–Mead (argmin) in the mirrored unit cube until its share of the budget is spent.
//!
//! Each restart is an indexed work item (index → grid point, seed, budget), so the set can be
//! split across machines later; results are collected in index order and combined as if the
//! restarts had run one after the other, so the report is identical for any thread count.

use super::{Goal, Score, Space, Start, Target, reflect};
use crate::framework::property::GridPoint;
use crate::framework::spec::{Mode, Spec, instance_seed};
use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;
use rayon::prelude::*;
use std::cell::RefCell;

/// Attack settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Total proposals (evaluated or rejected) over all restarts.
    pub budget: usize,
    pub restarts: usize,
    pub seed: u64,
    /// Grid the restarts are drawn from (the spec's full or quick grid).
    pub mode: Mode,
}

/// One restart's work item.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkItem {
    pub index: usize,
    pub seed: u64,
    pub budget: usize,
    /// Index of the grid point it starts from.
    pub point_index: usize,
}

/// What one restart found.
#[derive(Clone, Debug)]
pub struct RestartResult {
    pub item: WorkItem,
    pub start: Option<Start>,
    /// Best score (in the goal's orientation) and its point (parameter units).
    pub best: Option<(Score, Vec<f64>)>,
    pub evaluations: usize,
    pub rejected: usize,
    /// (evaluations so far in this restart, best value) at each improvement.
    pub improvements: Vec<(usize, f64)>,
    /// Evaluations of this restart up to and including the first violating point.
    pub first_violation: Option<usize>,
}

/// The work items of an attack: restart r starts from a grid point drawn uniformly (from the
/// restart's seed) and gets budget/restarts proposals (the remainder to the first ones).
pub fn work_items(spec: &Spec, opts: &Options, stream: u64, points: usize) -> Vec<WorkItem> {
    let r = opts.restarts.max(1);
    (0..r)
        .map(|index| {
            let seed = instance_seed(spec.seed, opts.seed, 1000 + stream, index as u64);
            let point_index = (seed % points.max(1) as u64) as usize;
            let budget = opts.budget / r + usize::from(index < opts.budget % r);
            WorkItem { index, seed, budget, point_index }
        })
        .collect()
}

/// Orientation: the optimiser minimises `loss`.
fn loss(goal: Goal, value: f64) -> f64 {
    match goal {
        Goal::MinimiseTightness => value,
        Goal::MaximiseErrorRatio => -value,
    }
}

/// Whether `a` is a better value than `b` for the goal.
pub fn better(goal: Goal, a: f64, b: f64) -> bool {
    loss(goal, a) < loss(goal, b)
}

struct State {
    evaluations: usize,
    rejected: usize,
    best: Option<(Score, Vec<f64>)>,
    best_u: Vec<f64>,
    improvements: Vec<(usize, f64)>,
    first_violation: Option<usize>,
}

struct Cost<'a> {
    space: &'a dyn Space,
    start: &'a Start,
    target: Target<'a>,
    budget: usize,
    state: &'a RefCell<State>,
}

impl Cost<'_> {
    fn to_params(&self, u: &[f64]) -> Vec<f64> {
        u.iter().zip(&self.start.dims).map(|(ui, dim)| dim.at(reflect(*ui))).collect()
    }
}

/// A rejected or failed point costs more than any evaluated one.
const OUTSIDE: f64 = 1e300;

impl CostFunction for Cost<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        let mut st = self.state.borrow_mut();
        if st.evaluations + st.rejected >= self.budget {
            // Budget spent: nothing more is evaluated; the solver's remaining iterations (at
            // most the remaining budget when it started) see only this constant.
            return Ok(OUTSIDE);
        }
        let x = self.to_params(u);
        let scored = self.space.evaluate(self.start, &x, self.target).filter(|s| s.value.is_finite());
        let Some(score) = scored else {
            st.rejected += 1;
            return Ok(OUTSIDE);
        };
        st.evaluations += 1;
        let goal = self.space.goal();
        if score.violated && st.first_violation.is_none() {
            st.first_violation = Some(st.evaluations);
        }
        let improves = st.best.as_ref().is_none_or(|(b, _)| better(goal, score.value, b.value));
        if improves {
            let n = st.evaluations;
            st.improvements.push((n, score.value));
            st.best = Some((score, x));
            st.best_u = u.clone();
        }
        Ok(loss(goal, score.value))
    }
}

/// Simplex sizes of the successive Nelder–Mead runs of a restart (unit-cube units): a large
/// one to move, then smaller ones to polish, cycling.
const STEPS: [f64; 4] = [0.15, 0.03, 0.005, 0.0008];

/// Runs one restart: restarted Nelder–Mead from the start until the budget is spent.
pub fn run_restart(space: &dyn Space, start: &Start, target: Target<'_>, budget: usize) -> RestartResult {
    let n = start.dims.len();
    let u0: Vec<f64> = start.x0.iter().zip(&start.dims).map(|(x, dim)| dim.unit(*x)).collect();
    let state = RefCell::new(State {
        evaluations: 0,
        rejected: 0,
        best: None,
        best_u: u0.clone(),
        improvements: Vec::new(),
        first_violation: None,
    });
    // Every dimension categorical, with no more cells than the budget: the plateaus give
    // Nelder–Mead nothing to follow, so the restart evaluates every cell (its start's first,
    // then the others in mixed-radix order).
    let cells: Option<Vec<usize>> = start
        .dims
        .iter()
        .map(|d| d.name.strip_suffix("#choice").and_then(|c| start.choices.get(c)).map(Vec::len))
        .collect();
    if let Some(cells) = cells.filter(|c| n > 0 && c.iter().product::<usize>() <= budget) {
        let cost = Cost { space, start, target, budget, state: &state };
        let at = |mut k: usize| -> Vec<f64> {
            cells
                .iter()
                .zip(&start.dims)
                .map(|(&m, dim)| {
                    let i = k % m;
                    k /= m;
                    dim.unit(i as f64 + 0.5)
                })
                .collect()
        };
        let first: usize = start
            .x0
            .iter()
            .zip(&cells)
            .rev()
            .fold(0, |acc, (x, &m)| acc * m + (x.floor().max(0.0) as usize).min(m - 1));
        let total: usize = cells.iter().product();
        for k in std::iter::once(first).chain((0..total).filter(|&k| k != first)) {
            let _ = cost.cost(&at(k));
        }
        return finish(state, budget, start);
    }
    let mut round = 0usize;
    let mut last_best = f64::INFINITY;
    loop {
        let (center, spent) = {
            let st = state.borrow();
            (st.best_u.clone(), st.evaluations + st.rejected)
        };
        if spent >= budget || n == 0 {
            if n == 0 && spent == 0 {
                // Nothing to move: one evaluation of the (only) point.
                let cost = Cost { space, start, target, budget, state: &state };
                let _ = cost.cost(&center);
            }
            break;
        }
        let step = STEPS[round % STEPS.len()];
        let mut simplex = vec![center.clone()];
        for i in 0..n {
            let mut v = center.clone();
            // Step inwards from the boundary so the simplex is not folded onto itself.
            v[i] += if v[i] + step <= 1.0 { step } else { -step };
            simplex.push(v);
        }
        let cost = Cost { space, start, target, budget, state: &state };
        let solver = NelderMead::new(simplex).with_sd_tolerance(1e-15).expect("valid tolerance");
        // Every iteration costs at least one proposal: the remaining budget bounds the iterations.
        let iters = (200 * (n + 1)).min(budget - spent) as u64;
        let _ = Executor::new(cost, solver).configure(|s| s.max_iters(iters)).run();
        round += 1;
        let st = state.borrow();
        let now = st.best.as_ref().map_or(f64::INFINITY, |(b, _)| loss(space.goal(), b.value));
        // A whole cycle of simplex sizes without progress: the restart has converged.
        if round.is_multiple_of(STEPS.len()) {
            if now >= last_best {
                break;
            }
            last_best = now;
        }
    }
    finish(state, budget, start)
}

fn finish(state: RefCell<State>, budget: usize, start: &Start) -> RestartResult {
    let st = state.into_inner();
    RestartResult {
        item: WorkItem { index: 0, seed: 0, budget, point_index: 0 },
        start: Some(start.clone()),
        best: st.best,
        evaluations: st.evaluations,
        rejected: st.rejected,
        improvements: st.improvements,
        first_violation: st.first_violation,
    }
}

/// The grid points an attack's restarts are drawn from (the spec's grid in the attack's mode).
pub fn points(spec: &Spec, opts: &Options) -> Vec<GridPoint> {
    spec.instances(opts.mode, opts.seed).into_iter().map(|i| i.point).collect()
}

/// The start of restart `item` on `points`: from its grid point, or, when the attack does not
/// cover that point (too many dimensions), the next one that it does; the item's `point_index`
/// becomes the point used. `None` when no point is covered. Deterministic in (space, spec,
/// target, points, item), so a merge rebuilds a stored restart's start from its item.
pub fn start_of(
    space: &dyn Space,
    spec: &Spec,
    target: Target<'_>,
    points: &[GridPoint],
    item: &mut WorkItem,
) -> Option<Start> {
    let len = points.len();
    let (idx, s) = (0..len).find_map(|k| {
        let idx = (item.point_index + k) % len;
        space.start(spec, &points[idx], item.seed, target).map(|s| (idx, s))
    })?;
    item.point_index = idx;
    Some(s)
}

/// Runs one restart work item of an attack on `target`.
pub fn run_item(
    space: &dyn Space,
    spec: &Spec,
    target: Target<'_>,
    points: &[GridPoint],
    item: WorkItem,
) -> RestartResult {
    let mut item = item;
    let start = start_of(space, spec, target, points, &mut item);
    let mut res = match &start {
        Some(s) => run_restart(space, s, target, item.budget),
        None => RestartResult {
            item: item.clone(),
            start: None,
            best: None,
            evaluations: 0,
            rejected: 0,
            improvements: Vec::new(),
            first_violation: None,
        },
    };
    res.item = item;
    res
}

/// Runs every restart of an attack on `target` (in parallel, collected in order).
/// `tick` is called once per finished restart.
pub fn run(
    space: &dyn Space,
    spec: &Spec,
    target: Target<'_>,
    stream: u64,
    opts: &Options,
    tick: &(dyn Fn() + Sync),
) -> Vec<RestartResult> {
    let points = points(spec, opts);
    let items = work_items(spec, opts, stream, points.len());
    items
        .into_par_iter()
        .map(|item| {
            let res = run_item(space, spec, target, &points, item);
            tick();
            res
        })
        .collect()
}
