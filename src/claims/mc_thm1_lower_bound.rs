//! mc.thm1.lower_bound (Marion & Chizat, Theorem 1): every global minimiser θ has
//! S(θ) ≥ LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L}, for the MLP and the residual network, with no
//! probability and no asymptotics. Measured on balanced, random unbalanced, S_min-attaining,
//! rescaled and trained minimisers, with exact sharpness; tightness S/LB.
//! Controls: Λ in place of a (violated at balanced minimisers whenever a < Λ); exponent 2 in
//! place of 2 − 2/L (violated at balanced minimisers on isotropic data with ‖w*‖ > 1); and a
//! non-minimiser (small initialisation, S ≈ 0 < LB).

use super::setup;
use crate::engine::bounds;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct LowerBound;

impl LowerBound {
    fn point_theta(
        &self,
        point: &GridPoint,
        seed: u64,
        case: Case<Control>,
    ) -> Result<Option<(crate::engine::problem::Problem, Vec<f64>, crate::engine::data::Dataset)>, ClaimError>
    {
        let (problem, ds) = setup::problem(point, seed)?;
        let theta = if case == Case::Control(Control::NonMinimizer) {
            Some(init::gaussian(&problem.model, 0.05, &mut stream_rng(seed, Stream::Init)))
        } else {
            setup::minimizer(&problem, point.str("minimizer"), seed)?
        };
        Ok(theta.map(|t| (problem, t, ds)))
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        LambdaMax = "lambda_max",
        Exponent2 = "exponent_2",
        NonMinimizer = "non_minimizer",
    }
}

impl ClaimCode for LowerBound {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.thm1.lower_bound"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                setup::MINIMIZER_PARAM,
                setup::HEAD_NORM_PARAM,
                Param::positive("rel", "relative slack allowed for rounding (S ≥ LB·(1 − rel))"),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let Some((problem, theta, _)) = self.point_theta(point, seed, case)? else {
            return Ok(Measurement::not_converged("gradient descent did not reach a minimiser"));
        };
        let reg = setup::regression(&problem);
        let (depth, head) = (problem.model.depth(), problem.model.head_norm());
        let l = depth as f64;
        let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let lb = bounds::lower_bound(reg, depth, head);
        let scale = head.powf(2.0 / l);
        let bound = match case {
            Case::Control(Control::LambdaMax) => {
                2.0 * l * reg.lambda_max() * reg.w_star_norm().powf(2.0 - 2.0 / l) * scale
            }
            Case::Control(Control::Exponent2) => {
                2.0 * l * reg.alignment().unwrap_or(0.0) * reg.w_star_norm().powi(2) * scale
            }
            _ => lb,
        };
        let w = crate::engine::linalg::to_row_major(problem.model.end_to_end(&theta).as_ref());
        Ok(Measurement::from_tightness(s / bound, point.f64("rel"))
            .value("sharpness", s)
            .value("bound", bound)
            .value("lower_bound", lb)
            .value("s_min", bounds::min_sharpness(reg, depth, head).value)
            .value("a", reg.alignment().unwrap_or(f64::NAN))
            .value("lambda_max", reg.lambda_max())
            .value("excess_risk", reg.excess(&w)))
    }
    fn instance(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Option<Instance> {
        let (problem, theta, ds) = self.point_theta(point, seed, case).ok()??;
        Some(setup::instance(&problem, theta, ds, self.id(), seed, point))
    }
}
