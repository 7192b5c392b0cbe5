//! mc.pl_inequality (derived; the engine of Marion & Chizat's convergence proofs): for every θ,
//! ‖∇R(θ)‖² ≥ 4λ(R − R_min)·Σ_k ‖a_k‖²σ_min(B_k)² ≥ 4λ‖a_1‖²(R − R_min), λ = λ_min(Σ) > 0.
//! Why: ∂R/∂W_k = a_kᵀ(B_k g)ᵀ with g = 2Σ(w − w*), so ‖∇R‖² = Σ_k‖a_k‖²‖B_k g‖², and
//! ‖g‖² = 4(w − w*)ᵀΣ²(w − w*) ≥ 4λ(R − R_min); the k = 1 term alone (B_1 = I) gives the weak form.
//! Checked at checkpoints t = 0 and t_i = 1.25^i/S_ref along a gradient-descent (η = 1/S_ref) or
//! gradient-flow path, S_ref = max(S(θ_0), 2LΛ·max(1, ‖w*‖)²), from Gaussian or residual
//! initialisation; ‖∇R‖² from the backward pass, the right side from SVDs of the products B_k
//! (two independent routes). Tightness: min over the path of ‖∇R‖²/(4λ(R − R_min)Σ_k…).
//! Points with R − R_min below 1e-10 of its initial value end the path (rounding floor).
//! A singular Σ (λ = 0) is an error, not a pass. Control: Λ in place of λ, violated along
//! generic paths (κ > 1). Cost: per checkpoint O(L²d³) (L products and SVDs) plus the path.

use super::{dynamics, setup};
use crate::engine::bounds::{self, PlTerms};
use crate::engine::instance::Instance;
use crate::engine::problem::Problem;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct PlInequality;

/// Both sides of the inequality at θ ([`bounds::pl_terms`]). Errors when Σ is singular:
/// λ_min(Σ) = 0 makes the bound empty, and with the smallest *non-zero* eigenvalue instead the
/// rounding noise of the null directions would be compared with a positive number (a false
/// violation near convergence).
pub fn pl_terms(problem: &Problem, theta: &[f64]) -> Result<PlTerms, ClaimError> {
    let reg = problem
        .objective
        .regression()
        .ok_or_else(|| ClaimError("mc.pl_inequality is stated for univariate regression".into()))?;
    bounds::pl_terms(problem, theta).ok_or_else(|| {
        ClaimError(format!(
            "mc.pl_inequality needs λ = λ_min(Σ) > 0, but Σ is singular (rank {} < d = {})",
            reg.rank, reg.d
        ))
    })
}

/// Excess risk, relative to its initial value, below which a path ends (rounding floor).
const FLOOR: f64 = 1e-10;

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        LambdaMax = "lambda_max",
    }
}

impl ClaimCode for PlInequality {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.pl_inequality"
    }
    fn params(&self) -> &'static [Param] {
        static PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
            setup::data_params(&[
                dynamics::INIT_PARAM,
                Param::float("scale", "initialisation scale (std, or s of the residual initialisation)"),
                Param::choice("path", &["gd", "gf"], "gradient descent (η = 1/S_ref) or gradient flow"),
                Param::int("checkpoints", 1, "number of checkpoints t_i = 1.25^i/S_ref after t = 0"),
                Param::positive("rel", "relative slack for rounding (holds iff tightness ≥ 1 − rel)"),
            ])
        });
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (problem, _) = setup::problem(point, seed)?;
        let theta0 = dynamics::initial_point(&problem.model, point.str("init"), point.f64("scale"), seed)?;
        let reg = setup::regression(&problem);
        let l = problem.model.depth() as f64;
        let s0 = spectrum::sharpness(&problem, &theta0, &SpectrumOptions::default())?;
        let s_ref = s0.max(2.0 * l * reg.lambda_max() * reg.w_star_norm().max(1.0).powi(2));
        let path = match point.str("path") {
            "gd" => dynamics::Path::Descent { eta: 1.0 / s_ref },
            _ => dynamics::Path::Flow { tol: 1e-10 },
        };
        let times = dynamics::geometric_times(1.0 / s_ref, 1.25, point.usize("checkpoints"));
        let c = match case {
            Case::Control(Control::LambdaMax) => reg.lambda_max(),
            _ => reg.lambda_min_nonzero(),
        };
        let e0 = problem.at(&mut problem.workspace(), &theta0).excess();
        let (mut worst, mut worst_weak, mut visited, mut last_excess) = (f64::INFINITY, f64::INFINITY, 0, e0);
        let mut err = None;
        let end = dynamics::walk(&problem, &theta0, path, &times, FLOOR * e0, |_, theta| {
            match pl_terms(&problem, theta) {
                Ok(terms) if terms.excess > FLOOR * e0 => {
                    worst = worst.min(terms.tightness(c));
                    worst_weak = worst_weak.min(terms.weak_tightness());
                    visited += 1;
                    last_excess = terms.excess;
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    err = Some(e);
                    false
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if end == dynamics::WalkEnd::Diverged {
            return Ok(Measurement::not_converged(format!(
                "gradient descent diverged after {visited} checkpoints (η = 1/S_ref too large)"
            )));
        }
        if visited == 0 {
            return Ok(Measurement::not_converged("θ_0 is already a global minimiser"));
        }
        Ok(Measurement::from_tightness(worst, point.f64("rel"))
            .value("weak_form_tightness", worst_weak)
            .value("checkpoints_measured", visited as f64)
            .value("initial_excess", e0)
            .value("final_excess", last_excess)
            .value("final_excess_fraction", last_excess / e0)
            .value("lambda", reg.lambda_min_nonzero())
            .value("lambda_max", reg.lambda_max())
            .value("s_ref", s_ref))
    }
    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        dynamics::start_instance(self.id(), point, seed, point.str("init"), point.f64("scale"))
    }
}
