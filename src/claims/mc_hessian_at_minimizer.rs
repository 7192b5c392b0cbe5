//! mc.hessian_at_minimizer (derived): at every global minimiser ∇²R = 2JᵀΣJ (the residual
//! term Σ_i g_i∇²w_i vanishes with g = 2Σ(w − w*) = 0), hence S = 2λ_max(Σ^{1/2}KΣ^{1/2}), K = JJᵀ.
//! Measured: ‖∇²R − 2JᵀΣJ‖_max/‖∇²R‖_max (dense Hessian vs Gauss–Newton matrix) and the relative
//! gap between the exact sharpness and 2λ_max(Σ^{1/2}KΣ^{1/2}). Control: perturb W_L off the
//! minimiser set, where the residual term appears.

use super::setup;
use crate::engine::bounds;
use crate::engine::hessian;
use crate::engine::instance::Instance;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct HessianAtMinimizer;

impl HessianAtMinimizer {
    fn point_theta(
        &self,
        point: &GridPoint,
        seed: u64,
        case: Case<Control>,
    ) -> Result<Option<(crate::engine::problem::Problem, Vec<f64>, crate::engine::data::Dataset)>, ClaimError>
    {
        let (problem, ds) = setup::problem(point, seed)?;
        let Some(mut theta) = setup::minimizer(&problem, point.str("minimizer"), seed)? else {
            return Ok(None);
        };
        if case == Case::Control(Control::OffMinimizer) {
            let k = (0..problem.model.layers().len())
                .rev()
                .find(|&k| problem.model.layers()[k].is_trained())
                .expect("a trained layer");
            let range = problem.model.param_range(k).expect("trained");
            let scale = crate::engine::linalg::norm(&theta[range.clone()]) / (range.len() as f64).sqrt();
            let delta = point.f64("perturbation") * scale.max(1e-3);
            theta[range].iter_mut().for_each(|x| *x += delta);
        }
        Ok(Some((problem, theta, ds)))
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        OffMinimizer = "off_minimizer",
    }
}

impl ClaimCode for HessianAtMinimizer {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.hessian_at_minimizer"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                setup::MINIMIZER_PARAM,
                Param::positive("rel", "relative tolerance of the identity"),
                Param::positive("perturbation", "control: entries added to W_L, relative to its scale"),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let Some((problem, theta, _)) = self.point_theta(point, seed, case)? else {
            return Ok(Measurement::not_converged("gradient descent did not reach a minimiser"));
        };
        let h = hessian::dense_hessian(&problem, &theta);
        let gn = hessian::gauss_newton(&problem, &theta);
        let p = theta.len();
        let (mut diff, mut scale) = (0.0f64, 0.0f64);
        for i in 0..p {
            for j in 0..p {
                diff = diff.max((h[(i, j)] - gn[(i, j)]).abs());
                scale = scale.max(h[(i, j)].abs());
            }
        }
        let matrix_err = diff / scale.max(f64::MIN_POSITIVE);
        let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let s_gn = bounds::minimizer_sharpness(&problem, &theta);
        let sharp_err = (s - s_gn).abs() / s.abs().max(s_gn.abs()).max(f64::MIN_POSITIVE);
        let err = matrix_err.max(sharp_err);
        let reg = setup::regression(&problem);
        let w = crate::engine::linalg::to_row_major(problem.model.end_to_end(&theta).as_ref());
        Ok(Measurement::from_error(err, point.f64("rel"))
            .value("hessian_vs_gauss_newton", matrix_err)
            .value("sharpness", s)
            .value("sharpness_gauss_newton", s_gn)
            .value("sharpness_rel_gap", sharp_err)
            .value("excess_risk", reg.excess(&w)))
    }
    fn instance(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Option<Instance> {
        let (problem, theta, ds) = self.point_theta(point, seed, case).ok()??;
        Some(setup::instance(&problem, theta, ds, self.id(), seed, point))
    }
}
