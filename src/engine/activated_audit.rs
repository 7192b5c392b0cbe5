//! The audit of a network with an activation (`dlncheck sharpness` on an instance with
//! `activation: gelu`): its risk on the raw data, gradient norm, exact (or Lanczos) sharpness and
//! smallest Hessian eigenvalue, the authors' 20-step estimator; and, under `reference_linear`,
//! Marion & Chizat's closed forms for the deep *linear* network on the same data (its
//! least-squares w*), printed for comparison only: no theorem makes them bounds on a non-linear
//! network. No data rescaling (σ is not homogeneous): a risk or Hessian beyond f64 is an error.

use crate::engine::activated;
use crate::engine::activation::Activation;
use crate::engine::audit::{AuditError, Values};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::engine::linalg::norm;
use crate::engine::model::{Architecture, Dln};
use crate::engine::spectrum::{self, Method, SpectrumOptions};

/// What `dlncheck sharpness` prints for a network with an activation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ActivatedAudit {
    pub architecture: Architecture,
    pub activation: Activation,
    pub depth: usize,
    pub d: usize,
    pub n: usize,
    pub num_params: usize,
    /// R(θ) = (1/n)Σ_i (f(x_i) − y_i)² of the activated network.
    pub risk: Option<f64>,
    pub grad_norm: Option<f64>,
    /// λ_max of the full Hessian of R (largest algebraic eigenvalue).
    pub sharpness: Option<f64>,
    pub hessian_min_eig: Option<f64>,
    pub method: Method,
    pub lanczos_iterations: usize,
    /// The authors' estimator: 20 power-iteration steps (largest magnitude).
    pub power_iteration_20: Option<f64>,
    /// The deep linear network's closed forms on the same data (references, not bounds).
    pub reference_linear: LinearReference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Marion & Chizat's quantities for the linear network with the same layer shapes on the same
/// data (null, with a note, when that data has no linear least-squares structure to speak of).
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinearReference {
    pub note: String,
    /// R_min of linear least squares, (1/n)‖y − Xw*‖².
    pub risk_min: Option<f64>,
    pub w_star_norm: Option<f64>,
    /// a = w*ᵀΣw*/‖w*‖².
    pub a: Option<f64>,
    pub lambda_max_sigma: Option<f64>,
    pub lambda_min_sigma: Option<f64>,
    pub sigma_rank: Option<usize>,
    pub condition_number: Option<f64>,
    pub head_norm: Option<f64>,
    /// LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L}, Theorem 1 for the linear network.
    pub sharpness_lower_bound: Option<f64>,
    /// S_min and S_bal of the linear network's global minimisers.
    pub sharpness_min: Option<f64>,
    pub sharpness_balanced: Option<f64>,
    /// 8LΛ‖w*‖^{2−2/L} (Corollary 2's small-initialisation bound, linear MLP).
    pub small_init_bound_8_l_lambda: Option<f64>,
}

/// The note printed with [`LinearReference`].
pub const REFERENCE_NOTE: &str = "closed forms of the deep LINEAR network (same layer shapes, same data, its \
     least-squares w*), for comparison only: they are not bounds on this activated network";

/// The audit of an instance whose activation is not the identity (any activation is accepted).
pub fn audit_activated(inst: &Instance, opts: &SpectrumOptions) -> Result<ActivatedAudit, AuditError> {
    let problem = inst.activated_problem()?;
    let theta = &inst.theta;
    let (loss, grad) = problem.loss_and_gradient(theta);
    if !loss.is_finite() {
        return Err(AuditError::Numerical(format!(
            "the risk R(θ) = {loss} of the {} network is beyond f64 (no rescaling applies to a \
             non-linear network): θ or the data are too large",
            inst.activation.name()
        )));
    }
    let opts = &SpectrumOptions { bottom: spectrum::Bottom::BestEffort, ..opts.clone() };
    let ext = activated::hessian_extremes(&problem, theta, opts)?;
    if !(ext.max.is_finite() && ext.min.is_finite()) {
        return Err(AuditError::Numerical(format!(
            "the Hessian's extreme eigenvalues are not finite ({}, {}): θ or the data are too large for f64",
            ext.max, ext.min
        )));
    }
    let mut v = Values { two_k: 0, notes: Vec::new() };
    let hessian_min_eig = if ext.min_is_upper_bound {
        v.failed(
            "hessian_min_eig",
            format!(
                "Lanczos did not converge the bottom of the spectrum in {} iterations; its smallest Ritz \
                 value gives λ_min ≤ {:e}",
                ext.iterations, ext.min
            ),
        )
    } else {
        Some(ext.min)
    };
    let power = activated::power_iteration(&problem, theta, 20, opts.seed);
    let reference = linear_reference(inst, &mut v);
    let model = &inst.model;
    Ok(ActivatedAudit {
        architecture: model.architecture(),
        activation: inst.activation,
        depth: model.depth(),
        d: model.d_in(),
        n: problem.n(),
        num_params: problem.num_params(),
        risk: Some(loss),
        grad_norm: v.plain("grad_norm", norm(&grad)),
        sharpness: Some(ext.max),
        hessian_min_eig,
        method: ext.method,
        lanczos_iterations: ext.iterations,
        power_iteration_20: v.plain("power_iteration_20", power),
        reference_linear: reference,
        notes: v.notes,
    })
}

fn linear_reference(inst: &Instance, v: &mut Values) -> LinearReference {
    let model = &inst.model;
    let mut r = LinearReference {
        note: REFERENCE_NOTE.into(),
        risk_min: None,
        w_star_norm: None,
        a: None,
        lambda_max_sigma: None,
        lambda_min_sigma: None,
        sigma_rank: None,
        condition_number: None,
        head_norm: None,
        sharpness_lower_bound: None,
        sharpness_min: None,
        sharpness_balanced: None,
        small_init_bound_8_l_lambda: None,
    };
    let reg = match inst.data.regression() {
        Ok(reg) => reg,
        Err(e) => {
            v.notes.push(format!("reference_linear: not computed ({e}); printed as null"));
            return r;
        }
    };
    let (depth, head) = (model.depth(), model.head_norm());
    let l = depth as f64;
    let wsn = reg.w_star_norm();
    r.risk_min = v.plain("reference_linear.risk_min", reg.risk_min);
    r.w_star_norm = v.plain("reference_linear.w_star_norm", wsn);
    r.a = match reg.alignment() {
        Some(a) => v.plain("reference_linear.a", a),
        None => v.undefined("reference_linear.a", "w* = 0"),
    };
    r.lambda_max_sigma = v.plain("reference_linear.lambda_max_sigma", reg.lambda_max());
    r.lambda_min_sigma = v.plain("reference_linear.lambda_min_sigma", reg.lambda_min_nonzero());
    r.sigma_rank = Some(reg.rank);
    r.condition_number = v.plain("reference_linear.condition_number", reg.condition_number());
    r.head_norm = v.plain("reference_linear.head_norm", head);
    r.sharpness_lower_bound = match bounds::try_lower_bound(&reg, depth, head) {
        Some(lb) => v.plain("reference_linear.sharpness_lower_bound", lb),
        None => v.undefined("reference_linear.sharpness_lower_bound", "w* = 0, so a = w*ᵀΣw*/‖w*‖² is 0/0"),
    };
    r.sharpness_min = match bounds::try_min_sharpness(&reg, depth, head) {
        Ok(m) => v.plain("reference_linear.sharpness_min", m.value),
        Err(e) => v.failed("reference_linear.sharpness_min", e),
    };
    r.sharpness_balanced = match bounds::try_balanced_sharpness(&reg, depth, head) {
        Ok(s) => v.plain("reference_linear.sharpness_balanced", s),
        Err(e) => v.failed("reference_linear.sharpness_balanced", e),
    };
    r.small_init_bound_8_l_lambda = v.plain(
        "reference_linear.small_init_bound_8_l_lambda",
        bounds::power_product(8.0 * l * reg.lambda_max(), &[(wsn, 2.0 - 2.0 / l)]),
    );
    r
}

/// Estimated peak memory of [`audit_activated`] in bytes: the data, the passes' buffers
/// (14 blocks of n × rows per layer), and the dense P × P Hessian with its eigenvalue workspace
/// when exact, else a Lanczos basis; plus the linear reference's d × d matrices.
pub fn memory_estimate(model: &Dln, n: usize, opts: &SpectrumOptions) -> u64 {
    let (d, n) = (model.d_in() as u64, n as u64);
    let p = model.num_params() as u64;
    let rows: u64 = model.layers().iter().map(|l| (l.rows + l.cols) as u64).sum();
    let data = 3 * n * d + 2 * d * n.min(d) + 8 * d * d;
    let passes = 14u64.saturating_mul(n).saturating_mul(rows);
    let exact = match opts.method {
        Some(m) => m == Method::Exact,
        None => p as usize <= opts.exact_max_params,
    };
    let hessian = if exact {
        3u64.saturating_mul(p).saturating_mul(p)
    } else {
        p.saturating_mul((opts.max_iter as u64).min(p) + 2) + 4 * p
    };
    8u64.saturating_mul(data.saturating_add(passes).saturating_add(8 * p).saturating_add(hessian))
}
