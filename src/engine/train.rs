//! Training: gradient descent with a fixed step, and gradient flow dθ/dt = −∇ℓ(θ) by the
//! Dormand–Prince 5(4) embedded Runge–Kutta pair with local error control.
//!
//! Gradient flow tolerance: a step is accepted when the RMS over coordinates of
//! e_i / (0.1·tol·(1 + max(|θ_i|, |θ̃_i|))) is ≤ 1 (e = difference of the 5th- and 4th-order
//! solutions, θ̃ the new point), i.e. mixed absolute/relative local error tol/10; the end point
//! then moves by less than `tol` (relative to max(1, ‖θ‖_∞)) when tol is halved (tested). The step
//! grows by up to 5× per step, so the long, nearly flat plateaus of small initialisation are
//! crossed in a few dozen steps.

use crate::engine::linalg::{self, norm};
use crate::engine::problem::Problem;
use crate::engine::spectrum::{self, SpectrumOptions};

/// When to stop early (either criterion suffices).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stop {
    /// Stop when ℓ(θ) − inf C ≤ this (excess risk for regression).
    pub excess_loss: Option<f64>,
    /// Stop when ‖∇ℓ(θ)‖ ≤ this.
    pub grad_norm: Option<f64>,
}

impl Stop {
    fn met(&self, excess: f64, grad_norm: f64) -> bool {
        self.excess_loss.is_some_and(|t| excess <= t) || self.grad_norm.is_some_and(|t| grad_norm <= t)
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A stopping criterion was met.
    Converged,
    /// The loss became non-finite or exceeded the divergence limit.
    Diverged,
    /// The step budget (GD) or the time horizon / step budget (GF) ran out first.
    Exhausted,
}

/// One recorded point of a trajectory.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Record {
    /// GD step (0 for the initial point), or number of accepted GF steps.
    pub step: usize,
    /// Time: step·η for GD, t for GF.
    pub time: f64,
    pub loss: f64,
    /// ℓ(θ) − inf C (the excess risk R − R_min for regression, without L2).
    pub excess: f64,
    pub grad_norm: f64,
    /// ‖A_θ − A*‖²_F (‖w_prod − w*‖² for regression).
    pub distance: f64,
    /// Exact sharpness, when requested.
    pub sharpness: Option<f64>,
}

/// Result of a training run.
#[derive(Clone, Debug)]
pub struct TrainResult {
    pub theta: Vec<f64>,
    pub outcome: Outcome,
    pub steps: usize,
    pub time: f64,
    /// Last finite record (the final point unless diverged).
    pub last: Record,
    pub records: Vec<Record>,
}

/// One evaluation of (‖∇ℓ‖, ℓ, excess) and ∇ℓ into `grad`, compiled for the best SIMD level of
/// this CPU by pulp's dispatch: `with_simd` and everything it calls on the hot path are
/// `#[inline(always)]`, so they are generated inside pulp's `#[target_feature]` context. The
/// kernels fix their operation order (explicit accumulators, no FMA contraction), so the bits
/// equal those of the baseline build (tested).
struct Evaluation<'a> {
    problem: &'a Problem,
    ws: &'a mut crate::engine::problem::Workspace,
    theta: &'a [f64],
    grad: &'a mut [f64],
}

impl pulp::WithSimd for Evaluation<'_> {
    type Output = (f64, f64, f64);
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        let pt = self.problem.at(self.ws, self.theta);
        pt.gradient(self.grad);
        (norm(self.grad), pt.loss(), pt.excess())
    }
}

/// θ ← θ − η·g under the same dispatch (elementwise, so bit-identical).
struct Update<'a> {
    theta: &'a mut [f64],
    eta: f64,
    grad: &'a [f64],
}

impl pulp::WithSimd for Update<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        linalg::axpy(self.theta, -self.eta, self.grad);
    }
}

/// Gradient descent settings.
#[derive(Clone, Debug)]
pub struct GdOptions {
    pub eta: f64,
    pub max_steps: usize,
    pub stop: Stop,
    /// Diverged when ℓ is not finite or exceeds this absolute limit; `None`:
    /// [`divergence_limit`]`(ℓ(θ_0))`. A run continued in chunks passes the limit of its start.
    pub divergence_limit: Option<f64>,
    /// Record every k steps (0: only the first and last points).
    pub record_every: usize,
    /// Also compute the sharpness at recorded points.
    pub record_sharpness: Option<SpectrumOptions>,
}

/// The default divergence limit of a gradient-descent run from loss ℓ_0: 10¹⁰·max(ℓ_0, 1).
pub fn divergence_limit(initial_loss: f64) -> f64 {
    1e10 * initial_loss.max(1.0)
}

impl GdOptions {
    pub fn new(eta: f64, max_steps: usize) -> Self {
        GdOptions {
            eta,
            max_steps,
            stop: Stop::default(),
            divergence_limit: None,
            record_every: 0,
            record_sharpness: None,
        }
    }
}

/// A trajectory record at θ; `end_to_end` is A_θ from the training pass itself (so that the
/// recorded distance is the one the run's stopping rule saw).
fn record(
    problem: &Problem,
    theta: &[f64],
    end_to_end: &[f64],
    step: usize,
    time: f64,
    (loss, excess, grad_norm): (f64, f64, f64),
    sharp: Option<&SpectrumOptions>,
) -> Record {
    let target = problem.objective.target();
    let distance = end_to_end.iter().zip(&target).map(|(a, b)| (a - b).powi(2)).sum();
    let sharpness =
        sharp.filter(|_| loss.is_finite()).and_then(|o| spectrum::sharpness(problem, theta, o).ok());
    Record { step, time, loss, excess, grad_norm, distance, sharpness }
}

/// Gradient descent θ ← θ − η∇ℓ(θ). Divergence is an outcome, not an error.
/// Cost per step: one gradient, O(L·d²) for univariate regression.
pub fn gradient_descent(problem: &Problem, theta0: &[f64], opts: &GdOptions) -> TrainResult {
    let mut ws = problem.workspace();
    let mut theta = theta0.to_vec();
    let mut grad = vec![0.0; theta.len()];
    let mut records = Vec::new();
    let mut limit = f64::INFINITY;
    let mut last_good: Option<(Vec<f64>, Record)> = None;
    let sharp = opts.record_sharpness.as_ref();
    for step in 0..=opts.max_steps {
        let (gn, loss, excess) =
            pulp::Arch::new().dispatch(Evaluation { problem, ws: &mut ws, theta: &theta, grad: &mut grad });
        if step == 0 {
            limit = opts.divergence_limit.unwrap_or_else(|| divergence_limit(loss));
        }
        let diverged = !(loss.is_finite() && gn.is_finite()) || loss > limit;
        let converged = !diverged && opts.stop.met(excess, gn);
        let at_end = diverged || converged || step == opts.max_steps;
        let time = step as f64 * opts.eta;
        if !diverged
            && (at_end || step == 0 || (opts.record_every > 0 && step.is_multiple_of(opts.record_every)))
        {
            let a = ws.end_to_end().to_vec();
            let r = record(problem, &theta, &a, step, time, (loss, excess, gn), sharp);
            records.push(r.clone());
            last_good = Some((theta.clone(), r));
        }
        if at_end {
            let outcome = if diverged {
                Outcome::Diverged
            } else if converged {
                Outcome::Converged
            } else {
                Outcome::Exhausted
            };
            let (theta_out, last) = match (diverged, last_good) {
                (false, Some((_, r))) => (theta, r),
                (true, Some((t, r))) => (t, r),
                (_, None) => {
                    // Diverged at θ_0 itself (non-finite initial loss).
                    let r = Record {
                        step,
                        time,
                        loss,
                        excess,
                        grad_norm: gn,
                        distance: f64::NAN,
                        sharpness: None,
                    };
                    (theta, r)
                }
            };
            return TrainResult { theta: theta_out, outcome, steps: step, time, last, records };
        }
        pulp::Arch::new().dispatch(Update { theta: &mut theta, eta: opts.eta, grad: &grad });
    }
    unreachable!("the loop returns at step == max_steps")
}

/// Gradient flow settings.
#[derive(Clone, Debug)]
pub struct GfOptions {
    /// Time horizon.
    pub t_max: f64,
    /// Local error tolerance (mixed absolute/relative, see the module doc).
    pub tol: f64,
    /// Budget of accepted + rejected steps.
    pub max_steps: usize,
    pub stop: Stop,
    /// Record at every k-th accepted step (0: first and last only).
    pub record_every: usize,
    /// Also record exactly at these times (ascending); steps are shortened to hit them.
    pub record_times: Vec<f64>,
    pub record_sharpness: Option<SpectrumOptions>,
}

impl GfOptions {
    pub fn new(t_max: f64, tol: f64) -> Self {
        GfOptions {
            t_max,
            tol,
            max_steps: 1_000_000,
            stop: Stop::default(),
            record_every: 0,
            record_times: Vec::new(),
            record_sharpness: None,
        }
    }
}

/// Fraction of the user tolerance allowed as local error per step.
const LOCAL_FRACTION: f64 = 0.1;

// Dormand–Prince 5(4) tableau (nodes c = 0, 1/5, 3/10, 4/5, 8/9, 1, 1; autonomous field).
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];
/// 5th-order minus 4th-order weights (the error estimate).
const E: [f64; 7] =
    [71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0];

/// Gradient flow from θ_0 until `t_max`, a stopping criterion, divergence or the step budget.
pub fn gradient_flow(problem: &Problem, theta0: &[f64], opts: &GfOptions) -> TrainResult {
    let p = theta0.len();
    let mut ws = problem.workspace();
    let sharp = opts.record_sharpness.as_ref();
    // f(θ) = −∇ℓ(θ); returns (ℓ(θ), excess).
    let mut field = |theta: &[f64], out: &mut [f64]| -> (f64, f64) {
        let (_, loss, excess) =
            pulp::Arch::new().dispatch(Evaluation { problem, ws: &mut ws, theta, grad: out });
        out.iter_mut().for_each(|v| *v = -*v);
        (loss, excess)
    };
    let a_of = |theta: &[f64]| linalg::to_row_major(problem.model.end_to_end(theta).as_ref());
    let mut theta = theta0.to_vec();
    let mut k: Vec<Vec<f64>> = vec![vec![0.0; p]; 7];
    let (mut loss, mut excess) = field(&theta, &mut k[0]);
    let mut t = 0.0;
    let mut records = Vec::new();
    let first = record(problem, &theta, &a_of(&theta), 0, 0.0, (loss, excess, norm(&k[0])), sharp);
    records.push(first.clone());
    let mut last = first;
    let mut next_time = opts.record_times.iter().copied().filter(|&s| s > 0.0).peekable();
    // Local error is held at tol/10, so that the accumulated (global) error stays below tol.
    let scale = |a: f64, b: f64| LOCAL_FRACTION * opts.tol * (1.0 + a.abs().max(b.abs()));
    // Initial step (Hairer, Nørsett & Wanner, II.4).
    let mut h = {
        let d0 = rms(&theta, |i| scale(theta[i], theta[i]));
        let d1 = rms(&k[0], |i| scale(theta[i], theta[i]));
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
        let probe: Vec<f64> = theta.iter().zip(&k[0]).map(|(y, f)| y + h0 * f).collect();
        let mut f1 = vec![0.0; p];
        field(&probe, &mut f1);
        let diff: Vec<f64> = f1.iter().zip(&k[0]).map(|(a, b)| a - b).collect();
        let d2 = rms(&diff, |i| scale(theta[i], theta[i])) / h0;
        let h1 = if d1.max(d2) <= 1e-15 { (h0 * 1e-3).max(1e-6) } else { (0.01 / d1.max(d2)).powf(0.2) };
        (100.0 * h0).min(h1)
    };
    let mut stage = vec![0.0; p];
    let mut new_theta = vec![0.0; p];
    let mut accepted = 0usize;
    let mut attempts = 0usize;
    let outcome = loop {
        let gn = norm(&k[0]);
        if !(loss.is_finite() && gn.is_finite()) {
            break Outcome::Diverged;
        }
        if opts.stop.met(excess, gn) {
            break Outcome::Converged;
        }
        if t >= opts.t_max {
            break Outcome::Exhausted;
        }
        if attempts >= opts.max_steps {
            break Outcome::Exhausted;
        }
        attempts += 1;
        let mut target = opts.t_max;
        if let Some(&s) = next_time.peek() {
            target = target.min(s);
        }
        let hit = t + h >= target;
        let step = if hit { target - t } else { h };
        let mut candidate = (f64::NAN, f64::NAN);
        for s in 1..7 {
            stage.copy_from_slice(&theta);
            for (j, kj) in k.iter().enumerate().take(s) {
                if A[s][j] != 0.0 {
                    linalg::axpy(&mut stage, step * A[s][j], kj);
                }
            }
            let evaluated = field(&stage, &mut k[s]);
            if s == 6 {
                // The 7th stage point is the 5th-order solution (FSAL).
                new_theta.copy_from_slice(&stage);
                candidate = evaluated;
            }
        }
        // Error estimate with k[6] = f(new θ) (FSAL).
        let mut sum = 0.0;
        for i in 0..p {
            let e: f64 = (0..7).map(|s| E[s] * k[s][i]).sum::<f64>() * step;
            let sc = scale(theta[i], new_theta[i]);
            sum += (e / sc).powi(2);
        }
        let err = (sum / p as f64).sqrt();
        if err.is_finite() && err <= 1.0 {
            t = if hit { target } else { t + step };
            theta.copy_from_slice(&new_theta);
            (loss, excess) = candidate;
            let (k0, rest) = k.split_at_mut(1);
            k0[0].copy_from_slice(&rest[5]);
            accepted += 1;
            let due_time = hit && next_time.peek().is_some_and(|&s| s <= t);
            if due_time {
                next_time.next();
            }
            if due_time || (opts.record_every > 0 && accepted.is_multiple_of(opts.record_every)) {
                let r =
                    record(problem, &theta, &a_of(&theta), accepted, t, (loss, excess, norm(&k[0])), sharp);
                records.push(r.clone());
                last = r;
            }
            let factor = if err == 0.0 { 5.0 } else { (0.9 * err.powf(-0.2)).clamp(0.2, 5.0) };
            if !hit || step >= h {
                h *= factor;
            }
        } else {
            // Rejected: θ, ℓ(θ) and f(θ) = k[0] are unchanged; shrink the step.
            let factor = if err.is_finite() { (0.9 * err.powf(-0.2)).clamp(0.1, 0.9) } else { 0.1 };
            h = step * factor;
            if h < 1e-300 {
                break Outcome::Diverged;
            }
        }
    };
    let gn = norm(&k[0]);
    if outcome != Outcome::Diverged && records.last().is_none_or(|r| r.step != accepted || r.time != t) {
        let r = record(problem, &theta, &a_of(&theta), accepted, t, (loss, excess, gn), sharp);
        records.push(r.clone());
        last = r;
    }
    TrainResult { theta, outcome, steps: accepted, time: t, last, records }
}

fn rms(v: &[f64], scale: impl Fn(usize) -> f64) -> f64 {
    (v.iter().enumerate().map(|(i, x)| (x / scale(i)).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}
