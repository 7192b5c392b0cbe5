//! mc.sharpness_upper_at_minimizer (derived): at any global minimiser
//! S = 2λ_max(Σ^{1/2}KΣ^{1/2}) ≤ 2Λλ_max(K) ≤ 2Λ·Σ_k‖a_k‖²‖B_k‖₂² (K = Σ_k‖a_k‖²B_kᵀB_k).
//! Tightness U/S with the exact sharpness, over minimisers of every kind. Control: λ (the
//! smallest eigenvalue of Σ) in place of Λ, violated as soon as κ > 1 at tight instances.

use super::setup;
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct SharpnessUpperAtMinimizer;

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        LambdaMin = "lambda_min",
    }
}

impl ClaimCode for SharpnessUpperAtMinimizer {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.sharpness_upper_at_minimizer"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                setup::MINIMIZER_PARAM,
                Param::positive("rel", "relative slack for rounding"),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (problem, _) = setup::problem(point, seed)?;
        let Some(theta) = setup::minimizer(&problem, point.str("minimizer"), seed)? else {
            return Ok(Measurement::not_converged("gradient flow did not reach a minimiser"));
        };
        let reg = setup::regression(&problem);
        let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let mut u = bounds::minimizer_sharpness_upper(&problem, &theta);
        if case == Case::Control(Control::LambdaMin) {
            u *= reg.lambda_min_nonzero() / reg.lambda_max();
        }
        Ok(Measurement::from_tightness(u / s, point.f64("rel")).value("sharpness", s).value("upper", u))
    }
    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        let (problem, ds) = setup::problem(point, seed).ok()?;
        let theta = setup::minimizer(&problem, point.str("minimizer"), seed).ok()??;
        Some(setup::instance(&problem, theta, ds, self.id(), seed, point))
    }
}
