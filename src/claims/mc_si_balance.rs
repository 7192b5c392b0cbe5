//! mc.si.balance (derived): the imbalances D_k = W_{k+1}ᵀW_{k+1} − W_kW_kᵀ (k = 1..L−1) are
//! constant along gradient flow, because W_{k+1}ᵀ∂_{k+1}R = ∂_kR·W_kᵀ. With Weyl's inequality
//! down from the top layer, σ_2(W_k)² ≤ σ_2(W_L)² + Σ_{j≥k}‖D_j‖₂, so at all times
//! σ_2(W_k(t))² ≤ σ_2(W_L(t))² + (L − k)·max_j‖D_j(0)‖₂, where σ_2(W_L) = 0 for the MLP (W_L is a
//! row; for the residual network the top term is measured). Gradient descent breaks the
//! invariant by exactly ΔD_k = η²(G_{k+1}ᵀG_{k+1} − G_kG_kᵀ) per step (G_k = ∂R/∂W_k), so the
//! drift over a fixed time T is O(η): per step O(η²).
//!
//! Checked (kind bound):
//! - `gf`: along gradient flow (tolerance 1e-10) at checkpoints t_i = 1.3^i/S_ref until the
//!   excess risk falls to 1e-4 of its start. Tightness: min_t,k (σ_2(W_L)² + (L − k)·
//!   max_j‖D_j(0)‖₂)/σ_2(W_k)² (it can be an equality by Cauchy interlacing: slack `rel`). Gate:
//!   the drift max_t,j ‖D_j(t) − D_j(0)‖₂ / max_t,k ‖W_k(t)‖₂² must stay ≤ conservation_tol.
//! - `gd`: gradient descent (η = eta_fraction/S_ref) until R − R_min falls to 1e-3 of its start or
//!   for gd_steps steps (time T). Tightness: order_tol/|p + 1 − 2|, p + 1 the per-step order of
//!   the drift, p = log₂(drift(η)/drift(η/2)) at the same T. Gate: ‖D(T) − D(0) −
//!   η²Σ_steps(G_{k+1}ᵀG_{k+1} − G_kG_kᵀ)‖/‖D(T) − D(0)‖ ≤ identity_tol. A drift below 1e-6 of
//!   max_k‖W_k‖² (still on the plateau of the saddle) is "not converged": it is not measurable
//!   against the rounding the iterates accumulate.
//! - A gate is an equality to a tolerance whose passing margin is rounding, so it is not a
//!   tightness (nor machine-stable): failing it makes the instance violated, with a note.
//!
//! Controls: the σ_2 bound halved (it is within a factor 2 of tight near the top layer); gradient
//! descent with a large step (η = 0.5/S_ref) held to the flow's conservation tolerance.
//! Cost: `gf` one flow through the learning phase and O(L·d³) per checkpoint; `gd` three descents
//! of ≤ gd_steps steps at O(L·d²) each (predicted drift from the rank-one gradient factors).

use super::{dynamics, setup};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::model::Dln;
use crate::engine::problem::Problem;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::engine::train::{self, GdOptions, Outcome, Stop};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param, Status};
use faer::Mat;

pub struct Balance;

/// Conservation drift ‖D_j(t) − D_j(0)‖₂ relative to the layers' scale max_k‖W_k‖₂².
fn relative_drift(model: &Dln, theta: &[f64], d0: &[Mat<f64>]) -> f64 {
    let scale = model.trained_weights(theta).iter().map(|w| w.norm_l2().powi(2)).fold(0.0, f64::max);
    let drift = dynamics::imbalances(model, theta)
        .iter()
        .zip(d0)
        .map(|(a, b)| dynamics::sym_norm(&(a - b)))
        .fold(0.0, f64::max);
    drift / scale.max(f64::MIN_POSITIVE)
}

/// min_k (σ_2(W_L)² + c·(L − k)·max_j‖D_j(0)‖₂)/σ_2(W_k)² over k = 1..L−1 (c = 1: the claim).
fn sigma2_ratio(model: &Dln, theta: &[f64], dmax0: f64, c: f64) -> Result<f64, ClaimError> {
    let w = model.trained_weights(theta);
    let depth = w.len();
    let top = dynamics::top_singular(&w[depth - 1])?.1.powi(2);
    let mut worst = f64::INFINITY;
    for (k, wk) in w.iter().enumerate().take(depth - 1) {
        let s2 = dynamics::top_singular(wk)?.1.powi(2);
        // k is 0-based: layer k + 1 has L − (k + 1) imbalances above it.
        worst = worst.min((top + c * (depth - 1 - k) as f64 * dmax0) / s2);
    }
    Ok(worst)
}

/// Gradient descent for `steps` steps, returning θ(T) and η²Σ_steps(G_{k+1}ᵀG_{k+1} − G_kG_kᵀ).
/// For a univariate network G_k = a_kᵀc_k (a_k the row above layer k, c_k = (B_k g)ᵀ the
/// cotangent below), so the summand is ‖a_{k+1}‖²c_{k+1}ᵀc_{k+1} − ‖c_k‖²a_kᵀa_k: O(L·d²) per step.
fn descent_with_predicted_drift(
    problem: &Problem,
    theta0: &[f64],
    eta: f64,
    steps: usize,
) -> (Vec<f64>, Vec<Mat<f64>>) {
    let depth = problem.model.depth();
    let d = problem.model.d_in();
    let mut theta = theta0.to_vec();
    let mut g = vec![0.0; theta.len()];
    let mut ws = problem.workspace();
    let mut predicted = vec![vec![0.0; d * d]; depth - 1];
    let e2 = eta * eta;
    for _ in 0..steps {
        let pt = problem.at(&mut ws, &theta);
        pt.gradient(&mut g);
        for (k, p) in predicted.iter_mut().enumerate() {
            let (a_k, c_k) = (pt.suffix(k), pt.cotangent(k));
            let (a_up, c_up) = (pt.suffix(k + 1), pt.cotangent(k + 1));
            let (wa, wc) = (e2 * linalg::dot(a_up, a_up), e2 * linalg::dot(c_k, c_k));
            for i in 0..d {
                for j in 0..d {
                    p[i * d + j] += wa * c_up[i] * c_up[j] - wc * a_k[i] * a_k[j];
                }
            }
        }
        linalg::axpy(&mut theta, -eta, &g);
    }
    (theta, predicted.iter().map(|p| linalg::to_mat(p, d, d)).collect())
}

/// An equality to a tolerance whose passing margin is rounding (not a tightness): failing it makes
/// the instance violated, with the reason as its note.
fn gate(mut m: Measurement, ok: bool, why: impl FnOnce() -> String) -> Measurement {
    if !ok {
        m.status = Status::Violated;
        m.note = Some(why());
    }
    m
}

impl Balance {
    fn flow(
        &self,
        problem: &Problem,
        theta0: &[f64],
        point: &GridPoint,
        s_ref: f64,
        case: Case<Control>,
    ) -> Result<Measurement, ClaimError> {
        let model = &problem.model;
        let d0 = dynamics::imbalances(model, theta0);
        let dmax0 = d0.iter().map(dynamics::sym_norm).fold(0.0, f64::max);
        let c = if case == Case::Control(Control::HalfBound) { 0.5 } else { 1.0 };
        let path = match case {
            Case::Control(Control::GdLargeStep) => {
                dynamics::Path::Descent { eta: point.f64("eta_fraction") / s_ref }
            }
            _ => dynamics::Path::Flow { tol: 1e-10 },
        };
        let times = dynamics::geometric_times(1.0 / s_ref, 1.3, point.usize("checkpoints"));
        let e0 = problem.at(&mut problem.workspace(), theta0).excess();
        // The learning phase; the slow tail of ill-conditioned data moves D by little and costs ~κ.
        let floor = 1e-4 * e0;
        let (mut drift, mut ratio, mut last_excess, mut err) = (0.0f64, f64::INFINITY, e0, None);
        let end = dynamics::walk(problem, theta0, path, &times, floor, |_, theta| {
            drift = drift.max(relative_drift(model, theta, &d0));
            match sigma2_ratio(model, theta, dmax0, c) {
                Ok(r) => ratio = ratio.min(r),
                Err(e) => err = Some(e),
            }
            last_excess = problem.at(&mut problem.workspace(), theta).excess();
            err.is_none()
        });
        if let Some(e) = err {
            return Err(e);
        }
        if end == dynamics::WalkEnd::Diverged {
            return Ok(Measurement::not_converged("gradient descent diverged"));
        }
        let tol = point.f64("conservation_tol");
        let m = Measurement::from_tightness(ratio, point.f64("rel"))
            .value("drift", drift)
            .value("max_imbalance_0", dmax0)
            .value("initial_excess", e0)
            .value("final_excess", last_excess)
            .value("final_excess_fraction", last_excess / e0);
        Ok(gate(m, drift <= tol, || format!("D is not conserved: relative drift {drift:.2e} > {tol:e}")))
    }

    fn descent(
        &self,
        problem: &Problem,
        theta0: &[f64],
        point: &GridPoint,
        s_ref: f64,
    ) -> Result<Measurement, ClaimError> {
        let model = &problem.model;
        let eta = point.f64("eta_fraction") / s_ref;
        // The horizon T: gradient descent at η until the excess risk has fallen to 1e-3 of its
        // start, or `gd_steps` steps (the drift accrues while the gradients are large).
        let mut opts = GdOptions::new(eta, point.usize("gd_steps"));
        opts.stop = Stop {
            excess_loss: Some(1e-3 * problem.at(&mut problem.workspace(), theta0).excess()),
            grad_norm: None,
        };
        let res = train::gradient_descent(problem, theta0, &opts);
        if res.outcome == Outcome::Diverged {
            return Ok(Measurement::not_converged(format!(
                "gradient descent diverged at step {}",
                res.steps
            )));
        }
        let steps = res.steps;
        let d0 = dynamics::imbalances(model, theta0);
        let drift_of = |eta: f64, steps: usize| {
            let (theta, predicted) = descent_with_predicted_drift(problem, theta0, eta, steps);
            let actual: Vec<Mat<f64>> =
                dynamics::imbalances(model, &theta).iter().zip(&d0).map(|(a, b)| a - b).collect();
            let size = actual.iter().map(dynamics::sym_norm).fold(0.0, f64::max);
            let mismatch =
                actual.iter().zip(&predicted).map(|(a, p)| dynamics::sym_norm(&(a - p))).fold(0.0, f64::max);
            (size, mismatch / size.max(f64::MIN_POSITIVE))
        };
        let (drift, identity_err) = drift_of(eta, steps);
        // Still on the plateau of the saddle: a drift below 1e-6 of the layers' scale is not
        // measurable against the rounding accumulated by the iterates (≈ √steps·ε·max_k‖W_k‖²).
        let scale = model.trained_weights(&res.theta).iter().map(|w| w.norm_l2().powi(2)).fold(0.0, f64::max);
        if drift < 1e-6 * scale {
            return Ok(Measurement::not_converged(format!(
                "no measurable drift in {steps} steps (drift {drift:.1e}: still at the saddle)"
            )));
        }
        let (drift_half, identity_err_half) = drift_of(eta / 2.0, 2 * steps);
        let order = (drift / drift_half).log2() + 1.0;
        let identity_err = identity_err.max(identity_err_half);
        let tol = point.f64("identity_tol");
        let order_ratio = point.f64("order_tol") / (order - 2.0).abs().max(f64::MIN_POSITIVE);
        let m = Measurement::from_tightness(order_ratio, point.f64("rel"))
            .value("eta", eta)
            .value("steps", steps as f64)
            .value("drift", drift)
            .value("drift_half_step", drift_half)
            .value("per_step_order", order)
            .value("identity_error", identity_err);
        Ok(gate(m, identity_err <= tol, || {
            format!(
                "the drift is not η²Σ(G_(k+1)ᵀG_(k+1) − G_kG_kᵀ): relative error {identity_err:.2e} > {tol:e}"
            )
        }))
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        HalfBound = "half_bound",
        GdLargeStep = "gd_large_step",
    }
}

impl ClaimCode for Balance {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.si.balance"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                dynamics::INIT_PARAM,
                Param::float("scale", "initialisation scale"),
                Param::choice(
                    "dynamics",
                    &["gf", "gd"],
                    "gradient flow (conservation, σ_2 bound) or descent (drift)",
                ),
                Param::positive("eta_fraction", "GD step η = eta_fraction/S_ref, S_ref = max(S(θ_0), S_bal)"),
                Param::int("checkpoints", 1, "gradient flow: checkpoints t_i = 1.3^i/S_ref"),
                Param::int("gd_steps", 1, "gradient descent: at most this many steps (horizon T)"),
                Param::positive("conservation_tol", "largest relative drift of D along gradient flow"),
                Param::positive("identity_tol", "largest relative error of the GD drift identity"),
                Param::positive("order_tol", "largest deviation of the measured per-step drift order from 2"),
                Param::positive(
                    "rel",
                    "relative slack for rounding of the σ_2 bound (it can be an equality)",
                ),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (problem, _) = setup::problem(point, seed)?;
        if problem.model.depth() < 2 {
            return Err(ClaimError("mc.si.balance needs L ≥ 2 (there is no imbalance for one layer)".into()));
        }
        let theta0 = dynamics::initial_point(&problem.model, point.str("init"), point.f64("scale"), seed)?;
        let reg = setup::regression(&problem);
        let s_bal = bounds::balanced_sharpness(reg, problem.model.depth(), problem.model.head_norm());
        let s_ref = spectrum::sharpness(&problem, &theta0, &SpectrumOptions::default())?.max(s_bal);
        match (point.str("dynamics"), case) {
            ("gd", Case::Claim) => self.descent(&problem, &theta0, point, s_ref),
            _ => self.flow(&problem, &theta0, point, s_ref, case),
        }
    }
    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        dynamics::start_instance(self.id(), point, seed, point.str("init"), point.f64("scale"))
    }
}
