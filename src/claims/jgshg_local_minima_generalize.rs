//! jgshg.local_minima_generalize: in noiseless denoising with L2 (λ > 0, L ≥ 3), when a true
//! singular value lies between the two thresholds of the scalar problem, the local minimum that
//! keeps the mode is closer to the truth than the global minimum (which drops it).
//!
//! One instance (depth L, λ, `position` p): the thresholds t₁ < t₂ of
//! g(s) = ½(s − σ)² + (λL/2)s^{2/L} in closed form ([`lowrank::thresholds`]) must agree with a
//! numerical search on g alone ([`lowrank::thresholds_numerical`]) to `rel`. Then
//! Y = U diag(σ_1, σ_2) Vᵀ (U, V Haar) with σ_2 = t₁ + p(t₂ − t₁) and σ_1 = `sigma1` > t₂; the
//! two balanced points s = (s₊(σ_1), s₊(σ_2)) ("keep") and (s₊(σ_1), 0) ("drop") are built in a
//! width-w network and must both be critical (‖∇ℓ‖ ≤ `grad_tol`) local minima (Hessian transverse
//! to the gauge orbit ≥ `hess_tol`). The claim: the non-global one is closer to Y,
//! ‖A_nonglobal − Y‖_F < ‖A_global − Y‖_F. Tightness: ‖A_global − Y‖²/‖A_nonglobal − Y‖²; the
//! thresholds, criticality and local minimality are pass/fail requirements.

use crate::engine::model::Dln;
use crate::engine::objective::Objective;
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::lowrank::{self, ScalarProblem};

pub struct LocalMinimaGeneralize;

const PARAMS: &[Param] = &[
    Param::int("depth", 3, "number of layers L (≥ 3)"),
    Param::int("width", 2, "hidden width w"),
    Param::positive("l2", "L2 coefficient λ"),
    Param::positive("sigma1", "the kept singular value σ_1 (must exceed t₂)"),
    Param::float("position", "σ_2 = t₁ + position·(t₂ − t₁); the claim needs 0 < position < 1"),
    Param::positive("rel", "relative agreement of closed-form and numerical thresholds"),
    Param::positive("grad_tol", "gradient norm of a critical point"),
    Param::positive("hess_tol", "smallest transverse Hessian eigenvalue of a strict local minimum"),
];

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        AboveThreshold = "above_threshold",
    }
}

impl ClaimCode for LocalMinimaGeneralize {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.local_minima_generalize"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let depth = point.usize("depth");
        let width = point.usize("width");
        let l2 = point.f64("l2");
        let mut position = point.f64("position");
        match case {
            Case::Claim => {
                if !(position > 0.0 && position < 1.0) {
                    return Err(ClaimError(format!(
                        "position = {position} must lie in (0, 1) for the claim"
                    )));
                }
            }
            // σ_2 above t₂: the global minimum keeps the mode, the non-global one drops it.
            Case::Control(Control::AboveThreshold) => position = 1.5,
        }
        let closed = lowrank::thresholds(depth, l2);
        let numerical = lowrank::thresholds_numerical(depth, l2);
        let err_exists = (closed.exists - numerical.exists).abs() / closed.exists;
        let err_beats = (closed.beats_zero - numerical.beats_zero).abs() / closed.beats_zero;
        let sigma1 = point.f64("sigma1");
        if sigma1 <= closed.beats_zero {
            return Err(ClaimError(format!("sigma1 = {sigma1} must exceed t₂ = {}", closed.beats_zero)));
        }
        let sigma2 = closed.exists + position * (closed.beats_zero - closed.exists);
        let sigma = [sigma1, sigma2];
        let mut rot = stream_rng(seed, Stream::Rotation);
        let (y, u, v) = lowrank::target_with_spectrum(2, 2, &sigma, &mut rot);
        let problem = Problem::new(Dln::deep(2, width, 2, depth), Objective::Matrix { target: y.clone() })
            .map_err(|e| ClaimError(e.to_string()))?
            .with_l2(l2);
        let g: Vec<ScalarProblem> = sigma.iter().map(|&s| ScalarProblem::new(s, l2, depth)).collect();
        let s1 = g[0].critical_points().plus.expect("σ_1 > t₂ > t₁");
        let s2 = g[1]
            .critical_points()
            .plus
            .ok_or_else(|| ClaimError(format!("σ_2 = {sigma2} has no positive local minimum")))?;
        let hess_tol = point.f64("hess_tol");
        let grad_tol = point.f64("grad_tol");
        let mut minim = stream_rng(seed, Stream::Minimizer);
        let mut build = |s: [f64; 2]| {
            let ws = lowrank::balanced_factors(u.as_ref(), &s, v.as_ref(), depth, width, &mut minim);
            let theta = problem.model.flatten(&ws);
            let c = super::jgshg_landscape::classify(&problem, &theta, hess_tol);
            let a = lowrank::product(&ws);
            let dist2 = (a - &y).squared_norm_l2();
            (c, dist2)
        };
        let (keep, keep_d2) = build([s1, s2]);
        let (drop, drop_d2) = build([s1, 0.0]);
        let keep_is_global = keep.loss < drop.loss;
        let (global_d2, nonglobal_d2) = if keep_is_global { (keep_d2, drop_d2) } else { (drop_d2, keep_d2) };
        let rel = point.f64("rel");
        let mut checks = Margins::default();
        checks.within("threshold t₁", err_exists, rel);
        checks.within("threshold t₂", err_beats, rel);
        for (name, c) in [("keep", &keep), ("drop", &drop)] {
            checks.within(&format!("{name} is critical"), c.grad_norm, grad_tol);
            checks.require(&format!("{name} is a local minimum"), c.min_transverse >= hess_tol);
        }
        checks.margin("non-global is closer to Y", global_d2 / nonglobal_d2);
        Ok(checks
            .measurement()
            .value("t1", closed.exists)
            .value("t2", closed.beats_zero)
            .value("t1_rel_error", err_exists)
            .value("t2_rel_error", err_beats)
            .value("sigma2", sigma2)
            .value("keep_loss", keep.loss)
            .value("drop_loss", drop.loss)
            .value("keep_dist_sq", keep_d2)
            .value("drop_dist_sq", drop_d2)
            .value("keep_min_transverse_eig", keep.min_transverse)
            .value("drop_min_transverse_eig", drop.min_transverse)
            .value("keep_is_global", keep_is_global as u8 as f64))
    }
}
