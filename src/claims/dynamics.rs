//! Shared pieces of the training-dynamics claims (mc.pl_inequality, mc.si.*, mc.ri.*):
//! initialisations by name, gradient flow to a global minimiser with "never left the saddle"
//! detected, training paths cut into checkpoints, layer imbalances and top singular pairs.

use super::setup;
use crate::engine::data::Dataset;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::model::{Architecture, Dln};
use crate::engine::objective::Objective;
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::train::{self, GdOptions, GfOptions, Outcome, Stop};
use crate::framework::property::Param;
use crate::framework::property::{ClaimError, GridPoint};
use faer::Mat;

/// Initialisations of the dynamics claims.
pub const INITS: &[&str] = &["gaussian", "residual"];

/// The grid parameter choosing the initialisation (one of [`INITS`]).
pub const INIT_PARAM: Param = Param::choice(
    "init",
    INITS,
    "gaussian: entries N(0, scale²); residual: I + (scale/√(Ld))N (MLP: random unit row on top)",
);

/// θ_0 of kind `init` at `scale`: "gaussian" has entries N(0, scale²); "residual" is
/// W_k = I + (scale/√(L'd))N_k on the square layers (L' of them). For the MLP, whose top layer
/// is a row, the residual-style start puts a random unit row pᵀ on top (the residual network
/// with its head trained).
pub fn initial_point(model: &Dln, init: &str, scale: f64, seed: u64) -> Result<Vec<f64>, ClaimError> {
    let mut rng = stream_rng(seed, Stream::Init);
    match (init, model.architecture()) {
        ("gaussian", _) => Ok(init::gaussian(model, scale, &mut rng)),
        ("residual", Architecture::Residual) => Ok(init::residual(model, scale, &mut rng)),
        ("residual", Architecture::Mlp) => {
            let d = model.d_in();
            let mut theta = match model.depth() {
                1 => vec![],
                l => init::residual(&Dln::residual(&vec![1.0; d], l - 1), scale, &mut rng),
            };
            theta.extend(init::projection(d, &mut stream_rng(seed, Stream::Projection)));
            Ok(theta)
        }
        (other, arch) => Err(ClaimError(format!("initialisation `{other}` is not defined for {arch:?}"))),
    }
}

/// How a run towards a minimiser ended.
#[derive(Clone, Debug)]
pub enum End {
    /// Excess risk below the target; θ corrected onto the minimiser set exactly.
    Minimizer { theta: Vec<f64>, time: f64, steps: usize },
    /// Diverged (GD only) at this step.
    Diverged { steps: usize },
    /// Budget exhausted with the excess still at this fraction of its initial value.
    Stuck { excess_fraction: f64, time: f64 },
}

/// Target excess risk of "converged": `rel`·Λ‖w*‖².
pub fn excess_target(problem: &Problem, rel: f64) -> f64 {
    let reg = setup::regression(problem);
    rel * reg.lambda_max() * reg.w_star_norm().powi(2).max(f64::MIN_POSITIVE)
}

/// Gradient flow (tolerance `tol`) until the excess risk is ≤ rel·Λ‖w*‖², then the projection
/// onto the minimiser set ([`setup::project_onto_minimizers`]), which moves W_1 by
/// O(√excess). Stuck runs (plateau at the saddle, or too slow) are reported, not guessed.
pub fn flow_to_minimizer(problem: &Problem, theta0: &[f64], rel: f64, tol: f64, max_steps: usize) -> End {
    let mut opts = GfOptions::new(1e15, tol);
    opts.max_steps = max_steps;
    opts.stop = Stop { excess_loss: Some(excess_target(problem, rel)), grad_norm: None };
    let res = train::gradient_flow(problem, theta0, &opts);
    finish(problem, theta0, res)
}

/// Gradient descent with step η until the excess risk is ≤ rel·Λ‖w*‖² (then projected), or
/// divergence, or `max_steps`.
pub fn descend_to_minimizer(problem: &Problem, theta0: &[f64], eta: f64, rel: f64, max_steps: usize) -> End {
    let mut opts = GdOptions::new(eta, max_steps);
    opts.stop = Stop { excess_loss: Some(excess_target(problem, rel)), grad_norm: None };
    let res = train::gradient_descent(problem, theta0, &opts);
    finish(problem, theta0, res)
}

impl End {
    /// Why a run that did not reach a minimiser is "not converged" (for the measurement's note).
    pub fn why_not(&self, what: &str) -> String {
        match self {
            End::Minimizer { .. } => format!("{what}: reached a minimiser"),
            End::Diverged { steps } => format!("{what}: diverged at step {steps}"),
            End::Stuck { excess_fraction, time } if *excess_fraction > 0.5 => format!(
                "{what}: never left its plateau (small initialisation: the saddle at 0); excess at {excess_fraction:.2} of its start at t = {time:.1e}"
            ),
            End::Stuck { excess_fraction, time } => format!(
                "{what}: step budget spent before converging (excess at {excess_fraction:.1e} of its start at t = {time:.1e})"
            ),
        }
    }
}

fn finish(problem: &Problem, theta0: &[f64], res: train::TrainResult) -> End {
    match res.outcome {
        Outcome::Converged => End::Minimizer {
            theta: setup::project_onto_minimizers(problem, res.theta),
            time: res.time,
            steps: res.steps,
        },
        Outcome::Diverged => End::Diverged { steps: res.steps },
        Outcome::Exhausted => {
            let e0 = problem.at(&mut problem.workspace(), theta0).excess();
            End::Stuck { excess_fraction: res.last.excess / e0.max(f64::MIN_POSITIVE), time: res.time }
        }
    }
}

/// The paper's experiment data for `model` (n = 50 Gaussian inputs, labels with noise 1,
/// normalised so that ‖w*‖ = 1) and its problem.
pub fn paper_problem(model: Dln, seed: u64) -> Result<(Problem, Dataset), ClaimError> {
    let data = crate::engine::data::paper(50, 1, model.d_in(), 1.0, true, seed).train;
    let problem = Problem::new(model, Objective::Regression(data.regression()?)).expect("d inputs");
    Ok((problem, data))
}

/// Imbalances D_k = W_{k+1}ᵀW_{k+1} − W_kW_kᵀ (d×d) of consecutive trained layers, k = 1..L−1.
pub fn imbalances(model: &Dln, theta: &[f64]) -> Vec<Mat<f64>> {
    let w = model.trained_weights(theta);
    (0..w.len().saturating_sub(1))
        .map(|k| {
            linalg::matmul_owned(w[k + 1].transpose(), w[k + 1].as_ref())
                - linalg::matmul_owned(w[k].as_ref(), w[k].transpose())
        })
        .collect()
}

/// Spectral norm ‖M‖₂ of a symmetric matrix (largest |eigenvalue|).
pub fn sym_norm(m: &Mat<f64>) -> f64 {
    let sym = Mat::from_fn(m.nrows(), m.ncols(), |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    linalg::sym_eigenvalues(sym.as_ref()).iter().fold(0.0f64, |a, v| a.max(v.abs()))
}

/// The top singular pair of a matrix and its second singular value: (σ_1, σ_2, u_1, v_1).
/// A single row W (the MLP's top layer) has σ_1 = ‖W‖, σ_2 = 0, u_1 = 1, v_1 = Wᵀ/‖W‖.
pub fn top_singular(m: &Mat<f64>) -> Result<(f64, f64, Vec<f64>, Vec<f64>), ClaimError> {
    let svd = m.thin_svd().map_err(|_| ClaimError("SVD of a layer did not converge".into()))?;
    let (u, s, v) = (svd.U(), svd.S(), svd.V());
    let k = m.nrows().min(m.ncols());
    let s1 = s[0];
    let s2 = if k > 1 { s[1] } else { 0.0 };
    let u1 = (0..m.nrows()).map(|i| u[(i, 0)]).collect();
    let v1 = (0..m.ncols()).map(|j| v[(j, 0)]).collect();
    Ok((s1, s2, u1, v1))
}

/// sin of the angle between two lines spanned by non-zero vectors: √(1 − cos²), computed as
/// ‖x̂ − (x̂·ŷ)ŷ‖ (accurate for small angles, unlike √(1 − cos²)).
pub fn sin_angle(x: &[f64], y: &[f64]) -> f64 {
    let (nx, ny) = (linalg::norm(x), linalg::norm(y));
    let c = linalg::dot(x, y) / (nx * ny);
    x.iter().zip(y).map(|(a, b)| (a / nx - c * b / ny).powi(2)).sum::<f64>().sqrt()
}

/// The residual network's fixed head p (None for the MLP).
pub fn head(model: &Dln) -> Option<Vec<f64>> {
    match &model.layers().last()?.kind {
        crate::engine::model::LayerKind::Fixed(p) => Some(p.clone()),
        _ => None,
    }
}

/// The training path of a dynamics claim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Path {
    /// Gradient descent with a fixed step η (time t = steps·η).
    Descent { eta: f64 },
    /// Gradient flow, integrated to tolerance `tol`.
    Flow { tol: f64 },
}

/// How a walk along a path ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkEnd {
    /// Every checkpoint was visited, or the visitor stopped the walk.
    Done,
    /// Gradient descent diverged after the last visited checkpoint.
    Diverged,
}

/// Walks the path from θ_0 and calls `visit(t, θ(t))` at t = 0 and at each of the ascending
/// `times` (GD: the nearest whole step), until `visit` returns false or the excess risk falls to
/// `floor` (then θ is visited where it did, and the walk ends). GD is memoryless, so cutting it
/// into pieces gives the same iterates; GF restarts its step-size control at each checkpoint
/// (still within its tolerance).
pub fn walk(
    problem: &Problem,
    theta0: &[f64],
    path: Path,
    times: &[f64],
    floor: f64,
    mut visit: impl FnMut(f64, &[f64]) -> bool,
) -> WalkEnd {
    let mut theta = theta0.to_vec();
    if !visit(0.0, &theta) {
        return WalkEnd::Done;
    }
    let stop = Stop { excess_loss: Some(floor), grad_norm: None };
    let (mut t, mut step) = (0.0, 0usize);
    for &next in times {
        let res = match path {
            Path::Descent { eta } => {
                let target = ((next / eta).round() as usize).max(step + 1);
                let mut opts = GdOptions::new(eta, target - step);
                opts.stop = stop.clone();
                let res = train::gradient_descent(problem, &theta, &opts);
                step += res.steps;
                t = step as f64 * eta;
                res
            }
            Path::Flow { tol } => {
                let mut opts = GfOptions::new(next - t, tol);
                opts.stop = stop.clone();
                let res = train::gradient_flow(problem, &theta, &opts);
                t += res.time;
                res
            }
        };
        if res.outcome == Outcome::Diverged {
            return WalkEnd::Diverged;
        }
        theta = res.theta;
        if !visit(t, &theta) || res.outcome == Outcome::Converged {
            break;
        }
    }
    WalkEnd::Done
}

/// n checkpoint times growing geometrically by `ratio` from t_1.
pub fn geometric_times(t1: f64, ratio: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| t1 * ratio.powi(i as i32)).collect()
}

/// Empirical order of convergence of a defect δ(ε) → 0 from two scales: log(δ(ε)/δ(ε/r))/log r.
pub fn order(at_scale: f64, at_refined: f64, r: f64) -> f64 {
    (at_scale / at_refined).ln() / r.ln()
}

/// The instance file of a dynamics claim at its start θ_0 = `init` at `scale` on the point's data
/// (the path is re-run from it: `dlncheck reproduce`).
pub fn start_instance(claim: &str, point: &GridPoint, seed: u64, init: &str, scale: f64) -> Option<Instance> {
    let (problem, data) = setup::problem(point, seed).ok()?;
    let theta0 = initial_point(&problem.model, init, scale, seed).ok()?;
    Some(setup::instance(&problem, theta0, data, claim, seed, point))
}

/// The instance file of the minimiser gradient flow reaches from `init` at `scale` (None when
/// the flow does not reach one).
pub fn reached_instance(
    claim: &str,
    point: &GridPoint,
    seed: u64,
    (init, scale): (&str, f64),
    (rel, tol, max_steps): (f64, f64, usize),
) -> Option<Instance> {
    let (problem, data) = setup::problem(point, seed).ok()?;
    let theta0 = initial_point(&problem.model, init, scale, seed).ok()?;
    match flow_to_minimizer(&problem, &theta0, rel, tol, max_steps) {
        End::Minimizer { theta, .. } => Some(setup::instance(&problem, theta, data, claim, seed, point)),
        _ => None,
    }
}
