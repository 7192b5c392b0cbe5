//! mc.thm1.unbounded (Marion & Chizat, Theorem 1): minimisers of arbitrarily large sharpness
//! exist. W_1 → cW_1, W_2 → W_2/c keeps w_prod, and at the rescaled minimiser
//! K(c) = c²‖a_2‖²W_1ᵀW_1 + (terms independent of c) + c⁻²‖a_1‖²I ⪰ c²‖a_2‖²W_1ᵀW_1, so
//! S(c) ≥ c²·S_∞ with S_∞ = 2‖a_2‖²λ_max(Σ^{1/2}W_1ᵀW_1Σ^{1/2}) (a_2, W_1 of the unscaled
//! minimiser): S grows like c². Checked with the exact Hessian: the rescaled point is still a
//! global minimiser (excess ≤ tol) and tightness S(c)/(c²S_∞) ≥ 1 (→ 1 as c → ∞).
//! Controls: growth c³ claimed instead of c² (violated for c > 1); rescaling W_1 alone
//! (not a minimiser any more).

use super::setup;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct Unbounded;

const PARAMS: [Param; 10] = [
    setup::DATA_PARAMS[0],
    setup::DATA_PARAMS[1],
    Param::int("depth", 2, "number of trained weight matrices L (≥ 2: the family needs W_2)"),
    setup::DATA_PARAMS[3],
    setup::DATA_PARAMS[4],
    setup::DATA_PARAMS[5],
    setup::MINIMIZER_PARAM,
    Param::positive("c", "rescaling factor"),
    Param::positive("rel", "relative slack for rounding"),
    Param::positive("excess_tol", "largest excess risk (relative to Λ‖w*‖²) of a point called a minimiser"),
];

impl Unbounded {
    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        point: &GridPoint,
        seed: u64,
        case: Case<Control>,
    ) -> Result<
        Option<(crate::engine::problem::Problem, Vec<f64>, Vec<f64>, crate::engine::data::Dataset)>,
        ClaimError,
    > {
        let (problem, ds) = setup::problem(point, seed)?;
        let Some(theta) = setup::minimizer(&problem, point.str("minimizer"), seed)? else {
            return Ok(None);
        };
        let c = point.f64("c");
        let mut scaled = theta.clone();
        let r0 = problem.model.param_range(0).expect("W_1 trained");
        scaled[r0].iter_mut().for_each(|x| *x *= c);
        if case != Case::Control(Control::RescaleW1Only) {
            let r1 = problem.model.param_range(1).expect("W_2 trained");
            scaled[r1].iter_mut().for_each(|x| *x /= c);
        }
        Ok(Some((problem, theta, scaled, ds)))
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        GrowthC3 = "growth_c3",
        RescaleW1Only = "rescale_w1_only",
    }
}

impl ClaimCode for Unbounded {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.thm1.unbounded"
    }
    fn params(&self) -> &'static [Param] {
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let Some((problem, theta, scaled, _)) = self.build(point, seed, case)? else {
            return Ok(Measurement::not_converged("gradient flow did not reach a minimiser"));
        };
        let reg = setup::regression(&problem);
        let c = point.f64("c");
        // S_∞ from the unscaled minimiser: 2‖a_2‖²λ_max(Σ^{1/2}W_1ᵀW_1Σ^{1/2}).
        let a2 = problem.model.above(1, &theta).norm_l2().powi(2);
        let w1 = problem.model.weight_mat(0, &theta);
        let s_half = reg.sigma_sqrt();
        let m = linalg::matmul_owned(w1.as_ref(), s_half.as_ref());
        let mtm = linalg::matmul_owned(m.transpose(), m.as_ref());
        let s_inf = 2.0 * a2 * linalg::sym_max_eigenvalue(mtm.as_ref());
        let s = spectrum::sharpness(&problem, &scaled, &SpectrumOptions::default())?;
        let s1 = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let w = linalg::to_row_major(problem.model.end_to_end(&scaled).as_ref());
        let excess = reg.excess(&w) / (reg.lambda_max() * reg.w_star_norm().powi(2));
        let growth = if case == Case::Control(Control::GrowthC3) { c.powi(3) } else { c * c };
        let t = s / (growth * s_inf);
        let mut m = Measurement::from_tightness(t, point.f64("rel"));
        if excess > point.f64("excess_tol") {
            m.status = crate::framework::property::Status::Violated;
            m = m.note("not a global minimiser");
        }
        Ok(m.value("sharpness", s)
            .value("sharpness_unscaled", s1)
            .value("s_inf", s_inf)
            .value("c", c)
            .value("relative_excess_risk", excess))
    }
    fn instance(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Option<Instance> {
        let (problem, _, scaled, ds) = self.build(point, seed, case).ok()??;
        Some(setup::instance(&problem, scaled, ds, self.id(), seed, point))
    }
}
