//! mc.thm1.upper (Marion & Chizat, Theorem 1; form reconstructed): the balanced rank-one
//! minimiser W_k = (‖w*‖/‖p‖)^{1/L}u_{k+1}u_kᵀ has K = ‖w*‖^{2−2/L}‖p‖^{2/L}(I + (L−1)ŵŵᵀ), so
//! S_bal = 2‖w*‖^{2−2/L}‖p‖^{2/L}λ_max(Σ + (L−1)Σ^{1/2}ŵŵᵀΣ^{1/2}) and
//! LB ≤ S_min ≤ S_bal ≤ U₁ = 2(Λ + (L−1)a)‖w*‖^{2−2/L}‖p‖^{2/L} ≤ U₂ = 2LΛ‖w*‖^{2−2/L}‖p‖^{2/L}.
//! Checked: K and the exact sharpness against the closed forms (relative error ≤ rel), the chain,
//! and tightness U₁/S_bal (≥ 1; 1 when w* is a top eigenvector). Control: a in place of Λ in U₁
//! (that is LB itself, exceeded by S_bal whenever Σŵ ≠ aŵ).

use super::setup;
use crate::engine::bounds;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct Upper;

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        AInsteadOfLambdaMax = "a_instead_of_lambda_max",
    }
}

impl ClaimCode for Upper {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.thm1.upper"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                setup::HEAD_NORM_PARAM,
                Param::positive("rel", "relative tolerance of the closed forms and slack of the chain"),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (problem, _) = setup::problem(point, seed)?;
        let reg = setup::regression(&problem);
        let (depth, head) = (problem.model.depth(), problem.model.head_norm());
        let rel = point.f64("rel");
        let theta = init::balanced(&problem.model, &reg.w_star);
        // K against its closed form.
        let k_err = bounds::balanced_gram_error(&problem, &theta, reg, depth, head);
        let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let s_bal = bounds::balanced_sharpness(reg, depth, head);
        let s_err = (s - s_bal).abs() / s_bal;
        let lb = bounds::lower_bound(reg, depth, head);
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        let (u1, u2) = bounds::balanced_upper_bounds(reg, depth, head);
        let u1 = if case == Case::Control(Control::AInsteadOfLambdaMax) { lb } else { u1 };
        let mut checks = Margins::default();
        checks.le("LB ≤ S_min", lb, s_min, rel);
        checks.le("S_min ≤ S_bal", s_min, s_bal, rel);
        checks.le("U₁ ≤ U₂", u1, u2, rel);
        checks.within("K = closed form", k_err, rel);
        checks.within("S = S_bal", s_err, rel);
        Ok(checks
            .fold(Measurement::from_tightness(u1 / s, rel))
            .value("sharpness", s)
            .value("s_bal", s_bal)
            .value("s_min", s_min)
            .value("lower_bound", lb)
            .value("upper_1", u1)
            .value("upper_2", u2)
            .value("k_rel_error", k_err)
            .value("s_rel_error", s_err))
    }
    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        let (problem, ds) = setup::problem(point, seed).ok()?;
        let theta = init::balanced(&problem.model, &setup::regression(&problem).w_star);
        Some(setup::instance(&problem, theta, ds, self.id(), seed, point))
    }
}
