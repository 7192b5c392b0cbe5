//! Gradient-flow snapshots and the loss/rank staircase along a flow, with escape times.

use super::{LowRankError, rank_above, singular_values};
use crate::engine::problem::Problem;
use crate::engine::train::{self, GfOptions, Outcome};
use faer::{Mat, MatRef};

/// θ(t) at one time of a gradient flow.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub t: f64,
    pub theta: Vec<f64>,
    pub loss: f64,
}

/// θ(t) along the gradient flow of `problem` at the given ascending times (t > 0), by chained
/// runs of [`train::gradient_flow`] each ending exactly at the next time (tolerance `tol`).
/// The first snapshot is t = 0. `stop` is called on every snapshot; returning true ends the
/// run there. Cost: the flow itself plus a few extra field evaluations per snapshot.
pub fn flow_snapshots(
    problem: &Problem,
    theta0: &[f64],
    times: &[f64],
    tol: f64,
    mut stop: impl FnMut(&Snapshot) -> bool,
) -> Result<Vec<Snapshot>, LowRankError> {
    let first = Snapshot { t: 0.0, theta: theta0.to_vec(), loss: problem.loss(theta0) };
    let mut out = vec![first];
    if stop(&out[0]) {
        return Ok(out);
    }
    for &t in times {
        let last = out.last().unwrap();
        if t <= last.t {
            continue;
        }
        let res = train::gradient_flow(problem, &last.theta, &GfOptions::new(t - last.t, tol));
        match res.outcome {
            Outcome::Diverged => return Err(LowRankError::Diverged(last.t + res.time)),
            _ if (res.time - (t - last.t)).abs() > 1e-9 * t => {
                return Err(LowRankError::Invalid(format!(
                    "gradient flow exhausted its step budget before t = {t}"
                )));
            }
            _ => {}
        }
        let snap = Snapshot { t, theta: res.theta, loss: res.last.loss };
        let done = stop(&snap);
        out.push(snap);
        if done {
            break;
        }
    }
    Ok(out)
}

/// A geometric time grid t_first·growth^j up to t_max (inclusive of the first point above it).
pub fn geometric_times(t_first: f64, growth: f64, t_max: f64) -> Vec<f64> {
    assert!(t_first > 0.0 && growth > 1.0);
    let mut v = vec![t_first];
    while *v.last().unwrap() < t_max {
        let next = v.last().unwrap() * growth;
        v.push(next);
    }
    v
}

/// Settings of [`staircase`].
#[derive(Clone, Debug)]
pub struct StaircaseOptions {
    /// First snapshot time and geometric growth factor of the grid.
    pub t_first: f64,
    pub growth: f64,
    /// Give up after this time.
    pub t_max: f64,
    /// Gradient-flow tolerance.
    pub tol: f64,
    /// A singular value of A counts towards the rank when above this (absolute) threshold.
    pub rank_threshold: f64,
    /// Stop once the loss is at most this (and the rank has stopped changing).
    pub stop_loss: f64,
    /// Refine an interval where the rank jumps by more than one: split it in 8, recursively,
    /// at most this many times.
    pub max_refine: usize,
}

/// Loss, singular values of A and numerical rank along a gradient flow.
#[derive(Clone, Debug, Default)]
pub struct Staircase {
    pub times: Vec<f64>,
    pub loss: Vec<f64>,
    /// Singular values of A(t), descending.
    pub singular_values: Vec<Vec<f64>>,
    pub rank: Vec<usize>,
    /// The end-to-end maps A(t).
    pub maps: Vec<Mat<f64>>,
    /// Whether the loss reached `stop_loss` before `t_max`.
    pub reached: bool,
}

impl Staircase {
    fn push(&mut self, problem: &Problem, s: &Snapshot, threshold: f64) {
        let a = problem.model.end_to_end(&s.theta);
        let sv = singular_values(a.as_ref());
        self.times.push(s.t);
        self.loss.push(s.loss);
        self.rank.push(rank_above(&sv, threshold));
        self.singular_values.push(sv);
        self.maps.push(a);
    }

    /// The successive changes of the rank (e.g. [1, 1, 1] for 0 → 1 → 2 → 3).
    pub fn rank_changes(&self) -> Vec<i64> {
        self.rank.windows(2).filter(|w| w[0] != w[1]).map(|w| w[1] as i64 - w[0] as i64).collect()
    }

    /// The first time σ_k(A) exceeds `threshold` (k = 1..=count), interpolating log σ_k linearly
    /// in t between snapshots; None if it never does.
    pub fn escape_times(&self, count: usize, threshold: f64) -> Vec<Option<f64>> {
        (0..count)
            .map(|k| {
                self.first_crossing(|j| self.singular_values[j].get(k).copied().unwrap_or(0.0), threshold)
            })
            .collect()
    }

    /// The first time the target's mode i is learned: u_iᵀA(t)v_i exceeds `threshold` (columns
    /// of u, v are the target's singular vectors), interpolated as in [`Staircase::escape_times`].
    /// Unlike σ_k(A), this says *which* mode escaped.
    pub fn mode_escape_times(
        &self,
        u: MatRef<'_, f64>,
        v: MatRef<'_, f64>,
        threshold: f64,
    ) -> Vec<Option<f64>> {
        (0..u.ncols())
            .map(|i| {
                let proj = |j: usize| {
                    let a = &self.maps[j];
                    let mut s = 0.0;
                    for r in 0..a.nrows() {
                        for c in 0..a.ncols() {
                            s += u[(r, i)] * a[(r, c)] * v[(c, i)];
                        }
                    }
                    s
                };
                self.first_crossing(proj, threshold)
            })
            .collect()
    }

    fn first_crossing(&self, value: impl Fn(usize) -> f64, threshold: f64) -> Option<f64> {
        (0..self.times.len()).find(|&j| value(j) > threshold).map(|j| {
            if j == 0 {
                return 0.0;
            }
            let (s0, s1) = (value(j - 1).max(1e-300).ln(), value(j).ln());
            let (t0, t1) = (self.times[j - 1], self.times[j]);
            t0 + (t1 - t0) * (threshold.ln() - s0) / (s1 - s0)
        })
    }
}

/// Loss and rank of A along the gradient flow from θ_0, on a geometric time grid, until the loss
/// reaches `stop_loss` (then on to twice that time, to see the rank settle) or `t_max`.
/// Intervals where the rank jumps by more than one are re-integrated on a finer grid.
pub fn staircase(
    problem: &Problem,
    theta0: &[f64],
    opts: &StaircaseOptions,
) -> Result<Staircase, LowRankError> {
    let grid = geometric_times(opts.t_first, opts.growth, opts.t_max);
    let mut reached_at: Option<f64> = None;
    let snaps = flow_snapshots(problem, theta0, &grid, opts.tol, |s| {
        if reached_at.is_none() && s.loss <= opts.stop_loss {
            reached_at = Some(s.t);
        }
        reached_at.is_some_and(|t0| s.t >= 2.0 * t0.max(opts.t_first))
    })?;
    let mut st = Staircase { reached: reached_at.is_some(), ..Default::default() };
    st.push(problem, &snaps[0], opts.rank_threshold);
    for pair in snaps.windows(2) {
        refine(problem, &pair[0], &pair[1], opts, opts.max_refine, &mut st)?;
    }
    Ok(st)
}

/// Appends the snapshots in (left, right], refining where the rank jumps by more than one.
fn refine(
    problem: &Problem,
    left: &Snapshot,
    right: &Snapshot,
    opts: &StaircaseOptions,
    depth: usize,
    st: &mut Staircase,
) -> Result<(), LowRankError> {
    let rank_of = |s: &Snapshot| {
        let a = problem.model.end_to_end(&s.theta);
        rank_above(&singular_values(a.as_ref()), opts.rank_threshold)
    };
    let jump = (rank_of(right) as i64 - rank_of(left) as i64).abs();
    if jump <= 1 || depth == 0 {
        st.push(problem, right, opts.rank_threshold);
        return Ok(());
    }
    let n = 8;
    let times: Vec<f64> = (1..n).map(|i| left.t + (right.t - left.t) * i as f64 / n as f64).collect();
    let inner = flow_snapshots(problem, &left.theta, &shifted(&times, left.t), opts.tol, |_| false)?;
    // Re-time the inner snapshots (flow_snapshots starts its clock at 0).
    let mut chain: Vec<Snapshot> = vec![left.clone()];
    chain.extend(inner.into_iter().skip(1).map(|mut s| {
        s.t += left.t;
        s
    }));
    chain.push(right.clone());
    for pair in chain.windows(2) {
        refine(problem, &pair[0], &pair[1], opts, depth - 1, st)?;
    }
    Ok(())
}

fn shifted(times: &[f64], t0: f64) -> Vec<f64> {
    times.iter().map(|t| t - t0).collect()
}
