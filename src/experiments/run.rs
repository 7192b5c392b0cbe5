//! One gradient-descent run of an experiment grid, and the single-run training curves.
//!
//! Every run records, at initialisation and at its last point, the exact sharpness (largest
//! algebraic Hessian eigenvalue, from the reduced m × m form; see [`EXACT_MAX_PARAMS`]) next to what the authors'
//! estimator would have returned there ([`authors_estimate`]), the squared distance
//! ‖w_prod − w*‖²/d, train and test risks. Diverged runs (loss non-finite or above 10¹⁰ times
//! its start, our stand-in for the authors' float overflow) report NaN at their last point, as
//! the authors' NaN parameters do.
//!
//! **Early stopping** (grids with `early_stop`): a run stops once its excess risk E is ≤ 1e-14
//! *and* the rest of the run provably moves θ by at most [`DRIFT_TOL`]. The certificate: with the
//! PL inequality ‖∇R‖² ≥ μE, μ = 4λ‖a_1‖² (mc.pl_inequality) and the descent lemma with
//! smoothness S (the sharpness there), every later GD step satisfies
//! √E_t − √E_{t+1} ≥ η(1 − ηS/2)‖g_t‖√μ/2, so the remaining path length Σ_t η‖g_t‖ is at most
//! 2√E/((1 − ηS/2)√μ). When the certificate is too weak the run continues, re-checking at
//! E ≤ 1e-18, 1e-22, 1e-26. The certificate is recorded for every run (`drift_bound`).

use crate::engine::activated::ActivatedProblem;
use crate::engine::bounds;
use crate::engine::data::{self, Dataset, PaperData};
use crate::engine::init;
use crate::engine::linalg::norm;
use crate::engine::model::Dln;
use crate::engine::objective::{Objective, Regression};
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::engine::train::{self, GdOptions, Outcome, Stop};
use crate::experiments::authors_data;
use crate::experiments::cpu_clock::CpuClock;
use crate::experiments::grid::{DataSource, Grid, RunConfig, derive_seed};
use crate::io::recipe::Arch;
use serde::{Deserialize, Serialize};

/// Excess risk at or below which a run counts as converged.
pub const CONVERGED_EXCESS: f64 = 1e-14;
/// Largest certified remaining movement of θ (Euclidean) that allows an early stop.
pub const DRIFT_TOL: f64 = 1e-6;
/// Power-iteration steps of the authors' estimator.
pub const AUTHORS_ITERS: usize = 20;

/// The dataset of an experiment and, per depth, its problem and closed-form facts.
#[derive(Clone, Debug)]
pub struct Setup {
    pub data: PaperData,
    /// The linear network per depth (for an activated grid: the linear reference, whose closed
    /// forms are `facts`, and the product W_L⋯W_1 behind the authors' "distance").
    pub problems: Vec<Problem>,
    pub facts: Vec<DataFacts>,
    /// For a grid with an activation: per depth, the activated network on the training and on the
    /// test set (empty for linear grids).
    pub activated: Vec<(ActivatedProblem, ActivatedProblem)>,
}

/// Closed forms of one (dataset, depth) pair (docs/notation.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataFacts {
    pub depth: usize,
    pub n: usize,
    pub d: usize,
    pub w_star_norm: f64,
    /// a = w*ᵀΣw*/‖w*‖².
    pub a: f64,
    pub lambda_max: f64,
    pub lambda_min_nonzero: f64,
    /// ‖p‖ (1 for the MLP).
    pub head_norm: f64,
    /// LB = 2La‖w*‖^{2−2/L}‖p‖^{2/L} (Theorem 1).
    pub lower_bound: f64,
    /// S_min, the exact minimal sharpness over all global minimisers.
    pub s_min: f64,
    /// Sharpness of the balanced rank-one minimiser.
    pub s_balanced: f64,
    /// 8LΛ‖w*‖^{2−2/L} (the small-initialisation bound of Corollary 2, MLP).
    pub upper_8_l_lambda: f64,
    /// 2/S_min: above it no minimiser is linearly stable for GD.
    pub eta_threshold: f64,
    /// 2/LB = 1/(La‖w*‖^{2−2/L}‖p‖^{2/L}) ≥ 2/S_min: the paper's threshold line.
    pub eta_lower_bound: f64,
}

impl DataFacts {
    pub fn new(reg: &Regression, model: &Dln) -> Self {
        let depth = model.depth();
        let head = model.head_norm();
        let l = depth as f64;
        let wn = reg.w_star_norm();
        let lb = bounds::lower_bound(reg, depth, head);
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        DataFacts {
            depth,
            n: reg.n,
            d: reg.d,
            w_star_norm: wn,
            a: reg.alignment().unwrap_or(0.0),
            lambda_max: reg.lambda_max(),
            lambda_min_nonzero: reg.lambda_min_nonzero(),
            head_norm: head,
            lower_bound: lb,
            s_min,
            s_balanced: bounds::balanced_sharpness(reg, depth, head),
            upper_8_l_lambda: 8.0 * l * reg.lambda_max() * wn.powf(2.0 - 2.0 / l),
            eta_threshold: 2.0 / s_min,
            eta_lower_bound: 2.0 / lb,
        }
    }
}

impl Setup {
    /// The dataset (training and test sets of n samples) and one problem per depth; residual
    /// networks draw their unit p per depth from the experiment's projection seed.
    pub fn new(grid: &Grid) -> Self {
        // Activated grids (Figure 7) train on the noise-free data, as the authors' `nonlinear` run.
        let noise_free = !grid.activation.is_identity();
        let data = match grid.data {
            DataSource::Seeded => {
                data::paper(grid.n, grid.n, grid.d, if noise_free { 0.0 } else { 1.0 }, true, grid.data_seed)
            }
            // The shipped arrays cover every paper grid's (n, d) (tests/experiments.rs loads each).
            DataSource::Authors => match authors_data::setting(grid.n, grid.d) {
                Some(prefix) if noise_free => {
                    authors_data::load_setting(&format!("{prefix}_noise0"), grid.n, grid.d)
                }
                _ => authors_data::load(grid.n, grid.d),
            }
            .unwrap_or_else(|e| panic!("the authors' data for n = {}, d = {}: {e}", grid.n, grid.d)),
        };
        let reg = data.train.regression().expect("Gaussian data is finite and non-empty");
        let mut problems = Vec::new();
        let mut facts = Vec::new();
        let mut activated = Vec::new();
        for &depth in &grid.depths {
            let model = match grid.arch {
                Arch::Mlp => Dln::mlp(grid.d, depth),
                Arch::Residual => {
                    let seed = derive_seed(grid.experiment.tag(), &[u64::MAX, depth as u64]);
                    let p = init::projection(grid.d, &mut stream_rng(seed, Stream::Projection));
                    Dln::residual(&p, depth)
                }
            };
            if noise_free {
                let on = |d: &Dataset| {
                    ActivatedProblem::new(model.clone(), grid.activation, d.x.as_ref(), &d.y)
                        .expect("the data is finite and matches the network")
                };
                activated.push((on(&data.train), on(&data.test)));
            }
            facts.push(DataFacts::new(&reg, &model));
            problems.push(
                Problem::new(model, Objective::Regression(reg.clone())).expect("model and data shapes agree"),
            );
        }
        Setup { data, problems, facts, activated }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Stopped early: converged, with a certified small remaining movement.
    Certified,
    /// Ran its full step budget.
    Completed,
    /// Loss non-finite or above 10¹⁰ × its start.
    Diverged,
}

impl RunOutcome {
    pub fn name(self) -> &'static str {
        match self {
            RunOutcome::Certified => "certified",
            RunOutcome::Completed => "completed",
            RunOutcome::Diverged => "diverged",
        }
    }
}

/// Measurements at one parameter point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStats {
    /// Exact S = λ_max(∇²R).
    pub sharpness: f64,
    /// Exact λ_min(∇²R).
    pub min_eig: f64,
    /// The authors' estimator ([`authors_estimate`]).
    pub power20: f64,
    /// ‖w_prod − w*‖²/d (the authors' "squared distance").
    pub distance: f64,
    /// R − R_min.
    pub excess: f64,
    pub grad_norm: f64,
    pub train_loss: f64,
    pub test_loss: f64,
}

impl PointStats {
    pub const NAN: PointStats = PointStats {
        sharpness: f64::NAN,
        min_eig: f64::NAN,
        power20: f64::NAN,
        distance: f64::NAN,
        excess: f64::NAN,
        grad_norm: f64::NAN,
        train_loss: f64::NAN,
        test_loss: f64::NAN,
    };
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub config: RunConfig,
    pub outcome: RunOutcome,
    /// GD steps taken (at divergence: the step at which it was detected).
    pub steps_run: usize,
    pub init: PointStats,
    /// The last point (NaN fields when diverged).
    pub last: PointStats,
    /// Certified bound on how far θ can still move if GD went on forever (∞ when the
    /// certificate does not apply, NaN when diverged).
    pub drift_bound: f64,
}

impl Run {
    /// Not diverged and excess risk ≤ [`CONVERGED_EXCESS`] at the last point.
    pub fn converged(&self) -> bool {
        self.outcome != RunOutcome::Diverged && self.last.excess <= CONVERGED_EXCESS
    }
    pub fn diverged(&self) -> bool {
        self.outcome == RunOutcome::Diverged
    }
    /// η·S/2 at the last point (≤ 1 at a linearly stable minimiser).
    pub fn edge_ratio(&self) -> f64 {
        self.config.eta * self.last.sharpness / 2.0
    }
}

/// The authors' sharpness estimator ([`spectrum::power_iteration`]: the norm of the
/// second-to-last of `iters` power-iteration products, largest magnitude, never negative).
pub fn authors_estimate(problem: &Problem, theta: &[f64], iters: usize, seed: u64) -> f64 {
    spectrum::power_iteration(problem, theta, iters, seed)
}

/// (1/m)‖y − Xw‖² on a dataset.
pub fn risk_on(data: &Dataset, w: &[f64]) -> f64 {
    let (n, d) = (data.n(), data.d());
    let mut sum = 0.0;
    for i in 0..n {
        let pred: f64 = (0..d).map(|j| data.x[(i, j)] * w[j]).sum();
        sum += (data.y[i] - pred).powi(2);
    }
    sum / n as f64
}

/// Networks with more parameters than this get their extreme eigenvalues from Lanczos on the
/// exact reduced operator (relative residual ≤ 1e-10) instead of its full eigendecomposition:
/// same values to ~1e-12 and 10× faster for L = 40 (P = 1000, m = 401).
pub const EXACT_MAX_PARAMS: usize = 300;

/// λ_max and λ_min of ∇²R(θ) (see [`EXACT_MAX_PARAMS`]; falls back to the full
/// eigendecomposition if Lanczos does not converge).
pub fn extremes(problem: &Problem, theta: &[f64]) -> spectrum::Extremes {
    let opts = SpectrumOptions { exact_max_params: EXACT_MAX_PARAMS, ..SpectrumOptions::default() };
    spectrum::hessian_extremes(problem, theta, &opts).unwrap_or_else(|_| {
        let exact = SpectrumOptions { method: Some(spectrum::Method::Exact), ..SpectrumOptions::default() };
        spectrum::hessian_extremes(problem, theta, &exact).expect("the exact solver does not iterate")
    })
}

/// All measurements at θ (`seed` seeds the authors' estimator). Loss, excess risk and w_prod
/// come from the same forward pass as gradient descent's, so a run stopped at excess ≤ 1e-14
/// reports exactly that excess.
pub fn point_stats(problem: &Problem, test: &Dataset, theta: &[f64], seed: u64) -> PointStats {
    let reg = problem.objective.regression().expect("experiments are regressions");
    let mut ws = problem.workspace();
    let pt = problem.at(&mut ws, theta);
    let mut grad = vec![0.0; theta.len()];
    pt.gradient(&mut grad);
    let (train_loss, excess) = (pt.loss(), pt.excess());
    let w = pt.end_to_end().to_vec();
    let ext = extremes(problem, theta);
    let distance = w.iter().zip(&reg.w_star).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / reg.d as f64;
    PointStats {
        sharpness: ext.max,
        min_eig: ext.min,
        power20: authors_estimate(problem, theta, AUTHORS_ITERS, seed),
        distance,
        excess,
        grad_norm: norm(&grad),
        train_loss,
        test_loss: risk_on(test, &w),
    }
}

/// 2√E/((1 − ηS/2)√μ) with μ = 4λ‖a_1‖² (the weaker constant of
/// [`bounds::pl_constants`], with a_1 = (pᵀ)W_L⋯W_2 read off the forward pass): the certified
/// remaining path length of GD from θ (∞ when ηS ≥ 2 or μ = 0).
pub fn drift_bound(problem: &Problem, theta: &[f64], eta: f64, excess: f64, sharpness: f64) -> f64 {
    let c = 1.0 - eta * sharpness / 2.0;
    let reg = problem.objective.regression().expect("experiments are regressions");
    let mut ws = problem.workspace();
    let a1 = problem.at(&mut ws, theta).suffix(0).to_vec();
    let mu = 4.0 * reg.lambda_min_nonzero() * a1.iter().map(|v| v * v).sum::<f64>();
    if c <= 0.0 || mu <= 0.0 {
        return f64::INFINITY;
    }
    2.0 * excess.max(0.0).sqrt() / (c * mu.sqrt())
}

/// The initial parameters of a run.
pub fn initial_theta(problem: &Problem, arch: Arch, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = stream_rng(seed, Stream::Init);
    match arch {
        Arch::Mlp => init::gaussian(&problem.model, scale, &mut rng),
        Arch::Residual => init::residual(&problem.model, scale, &mut rng),
    }
}

/// GD from θ with the divergence limit of the whole run (`limit`, from its first point), so
/// that a run continued in chunks diverges where one continuous run would.
fn gd_chunk(problem: &Problem, theta: &[f64], mut opts: GdOptions, limit: f64) -> train::TrainResult {
    opts.divergence_limit = Some(limit);
    train::gradient_descent(problem, theta, &opts)
}

/// Seeds of the authors' estimator at the first and last point of a run.
pub(crate) fn estimator_seeds(seed: u64) -> (u64, u64) {
    (derive_seed("estimator", &[seed, 0]), derive_seed("estimator", &[seed, 1]))
}

/// Seconds spent in one run: CPU time of its thread ([`crate::experiments::cpu_clock`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunTiming {
    pub gd: f64,
    pub spectra: f64,
}

/// Runs one configuration of `grid`.
pub fn run_one(grid: &Grid, setup: &Setup, cfg: &RunConfig) -> (Run, RunTiming) {
    if !grid.activation.is_identity() {
        return crate::experiments::activated::run_one(grid, setup, cfg);
    }
    let problem = &setup.problems[cfg.depth_index];
    let test = &setup.data.test;
    let mut timing = RunTiming::default();
    let theta0 = initial_theta(problem, grid.arch, cfg.scale, cfg.seed);
    let (seed_init, seed_last) = estimator_seeds(cfg.seed);
    let clock = CpuClock::start();
    let init = point_stats(problem, test, &theta0, seed_init);
    timing.spectra += clock.seconds();

    // Gradient descent, in chunks that end at each early-stopping check (GD is memoryless, so
    // the chunks reproduce one continuous run bit for bit).
    let thresholds: &[f64] = if grid.early_stop { &[CONVERGED_EXCESS, 1e-18, 1e-22, 1e-26] } else { &[] };
    let limit = train::divergence_limit(init.train_loss);
    let mut theta = theta0;
    let mut done = 0usize;
    let mut next = 0usize;
    let (outcome, last, drift) = loop {
        let mut opts = GdOptions::new(cfg.eta, cfg.steps - done);
        opts.stop = Stop { excess_loss: thresholds.get(next).copied(), grad_norm: None };
        let clock = CpuClock::start();
        let res = gd_chunk(problem, &theta, opts, limit);
        timing.gd += clock.seconds();
        done += res.steps;
        theta = res.theta;
        if res.outcome == Outcome::Diverged {
            break (RunOutcome::Diverged, PointStats::NAN, f64::NAN);
        }
        let clock = CpuClock::start();
        let last = point_stats(problem, test, &theta, seed_last);
        let drift = drift_bound(problem, &theta, cfg.eta, last.excess, last.sharpness);
        timing.spectra += clock.seconds();
        match res.outcome {
            Outcome::Diverged => unreachable!("handled above"),
            Outcome::Exhausted => break (RunOutcome::Completed, last, drift),
            Outcome::Converged => {
                if drift <= DRIFT_TOL || done == cfg.steps {
                    let outcome =
                        if done == cfg.steps { RunOutcome::Completed } else { RunOutcome::Certified };
                    break (outcome, last, drift);
                }
                next += 1;
            }
        }
    };
    let run = Run { config: *cfg, outcome, steps_run: done, init, last, drift_bound: drift };
    (run, timing)
}

/// One point of a training curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    /// ‖w_prod − w*‖²/d.
    pub distance: f64,
    pub excess: f64,
    /// Exact sharpness and the authors' estimate, every `every` steps (NaN in between).
    pub sharpness: f64,
    pub power20: f64,
}

/// A single training run recorded step by step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub eta: f64,
    pub scale: f64,
    pub seed: u64,
    pub diverged: bool,
    pub points: Vec<CurvePoint>,
}

/// The training curves of `grid` (depth = the grid's first depth), in the order of its etas.
pub fn curves(grid: &Grid, setup: &Setup) -> Vec<Curve> {
    let n = grid.curves.as_ref().map_or(0, |c| c.etas.len());
    (0..n).map(|i| curve(grid, setup, i)).collect()
}

/// Training curve `i` of `grid` (its `i`-th eta; depth = the grid's first depth).
///
/// # Panics
/// If the grid has no curves or fewer than `i + 1`.
pub fn curve(grid: &Grid, setup: &Setup, i: usize) -> Curve {
    let c = grid.curves.as_ref().expect("the grid has training curves");
    let eta = c.etas[i];
    let problem = &setup.problems[0];
    let every = c.every.max(1);
    let seed = derive_seed(grid.experiment.tag(), &[u64::MAX - 1, i as u64]);
    let mut theta = initial_theta(problem, grid.arch, c.scale, seed);
    let limit = train::divergence_limit(problem.loss(&theta));
    let mut points = Vec::with_capacity(c.steps + 1);
    let mut diverged = false;
    let mut step = 0;
    while step < c.steps && !diverged {
        let chunk = every.min(c.steps - step);
        let mut opts = GdOptions::new(eta, chunk);
        opts.record_every = 1;
        let res = gd_chunk(problem, &theta, opts, limit);
        let sharp = extremes(problem, &theta).max;
        let power =
            authors_estimate(problem, &theta, AUTHORS_ITERS, derive_seed("estimator", &[seed, step as u64]));
        let d = grid.d as f64;
        for r in &res.records {
            if r.step == chunk && step + chunk < c.steps {
                continue; // the next chunk's first record
            }
            let first = r.step == 0;
            points.push(CurvePoint {
                step: step + r.step,
                distance: r.distance / d,
                excess: r.excess,
                sharpness: if first { sharp } else { f64::NAN },
                power20: if first { power } else { f64::NAN },
            });
        }
        diverged = res.outcome == Outcome::Diverged;
        theta = res.theta;
        step += chunk;
    }
    if !diverged {
        // The final point's sharpness (step = c.steps, a multiple of `every` in the paper).
        let last = points.last_mut().expect("at least the initial point");
        if last.sharpness.is_nan() && last.step.is_multiple_of(every) {
            last.sharpness = extremes(problem, &theta).max;
            last.power20 = authors_estimate(
                problem,
                &theta,
                AUTHORS_ITERS,
                derive_seed("estimator", &[seed, last.step as u64]),
            );
        }
    }
    Curve { eta, scale: c.scale, seed, diverged, points }
}
