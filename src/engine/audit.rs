//! The audit of one instance: every quantity `dlncheck sharpness` prints.

use crate::engine::bounds;
use crate::engine::linalg::norm;
use crate::engine::problem::Problem;
use crate::engine::spectrum::{self, Method, NotConverged, SpectrumOptions};

/// What a reviewer sees for one network and dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SharpnessAudit {
    pub architecture: crate::engine::model::Architecture,
    pub depth: usize,
    pub d: usize,
    pub n: usize,
    pub num_params: usize,
    /// R(θ) = (1/n)‖y − X w_prod‖².
    pub risk: f64,
    pub risk_min: f64,
    /// R(θ) − R_min = (w_prod − w*)ᵀΣ(w_prod − w*).
    pub excess_risk: f64,
    pub grad_norm: f64,
    /// λ_max of the full Hessian (largest algebraic eigenvalue).
    pub sharpness: f64,
    pub hessian_min_eig: f64,
    pub method: Method,
    pub lanczos_iterations: usize,
    pub w_star_norm: f64,
    /// a = w*ᵀΣw*/‖w*‖² (null when w* = 0).
    pub a: Option<f64>,
    pub lambda_max_sigma: f64,
    /// Smallest non-zero eigenvalue of Σ.
    pub lambda_min_sigma: f64,
    pub sigma_rank: usize,
    pub condition_number: f64,
    /// ‖p‖ (1 for the MLP).
    pub head_norm: f64,
    /// LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L} (Theorem 1).
    pub sharpness_lower_bound: f64,
    /// Exact minimal sharpness over all global minimisers (mc.smin.exact).
    pub sharpness_min: f64,
    /// Sharpness of the balanced rank-one minimiser.
    pub sharpness_balanced: f64,
    /// sharpness / LB.
    pub sharpness_over_lower_bound: f64,
    /// 2λ_max(Σ^{1/2}JJᵀΣ^{1/2}): the sharpness θ would have if it were a global minimiser.
    pub gauss_newton_sharpness: f64,
    /// The authors' estimator: 20 power-iteration steps (largest magnitude).
    pub power_iteration_20: f64,
}

/// Computes the audit of a regression problem at θ.
pub fn audit(
    problem: &Problem,
    theta: &[f64],
    opts: &SpectrumOptions,
) -> Result<SharpnessAudit, NotConverged> {
    let reg = problem.objective.regression().expect("the audit is for univariate regression");
    let model = &problem.model;
    let (loss, grad) = problem.loss_and_gradient(theta);
    let ext = spectrum::hessian_extremes(problem, theta, opts)?;
    let depth = model.depth();
    let head = model.head_norm();
    let lb = bounds::lower_bound(reg, depth, head);
    Ok(SharpnessAudit {
        architecture: model.architecture(),
        depth,
        d: reg.d,
        n: reg.n,
        num_params: problem.num_params(),
        risk: loss,
        risk_min: reg.risk_min,
        excess_risk: reg.excess(&crate::engine::linalg::to_row_major(model.end_to_end(theta).as_ref())),
        grad_norm: norm(&grad),
        sharpness: ext.max,
        hessian_min_eig: ext.min,
        method: ext.method,
        lanczos_iterations: ext.iterations,
        w_star_norm: reg.w_star_norm(),
        a: reg.alignment(),
        lambda_max_sigma: reg.lambda_max(),
        lambda_min_sigma: reg.lambda_min_nonzero(),
        sigma_rank: reg.rank,
        condition_number: reg.condition_number(),
        head_norm: head,
        sharpness_lower_bound: lb,
        sharpness_min: bounds::min_sharpness(reg, depth, head).value,
        sharpness_balanced: bounds::balanced_sharpness(reg, depth, head),
        sharpness_over_lower_bound: ext.max / lb,
        gauss_newton_sharpness: bounds::minimizer_sharpness(problem, theta),
        power_iteration_20: spectrum::power_iteration(problem, theta, 20, opts.seed),
    })
}
