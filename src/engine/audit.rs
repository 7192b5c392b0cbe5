//! The audit of one instance: every quantity `dlncheck sharpness` prints.
//!
//! Every number printed is finite: a quantity that is undefined (LB when w* = 0) or that cannot
//! be represented in f64 (a risk of 10⁴⁰⁰) is `None` (printed `null`) with a line in `notes`
//! saying why. Data whose scale would overflow or underflow Σ = XᵀX/n are audited in rescaled
//! units ([`audit_instance`]): X and y are multiplied by the same power of two 2^k (exact), which
//! leaves w* and the network unchanged and multiplies Σ, the risk, its gradient and Hessian and
//! every bound by 2^{2k}; the results are scaled back by 2^{−2k}.

use crate::engine::bounds;
use crate::engine::data::Dataset;
use crate::engine::instance::Instance;
use crate::engine::linalg::{self, norm};
use crate::engine::objective::DataError;
use crate::engine::problem::Problem;
use crate::engine::spectrum::{self, Method, SpectrumError, SpectrumOptions};

/// What a reviewer sees for one network and dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SharpnessAudit {
    pub architecture: crate::engine::model::Architecture,
    pub depth: usize,
    pub d: usize,
    pub n: usize,
    pub num_params: usize,
    /// R(θ) = (1/n)‖y − X w_prod‖².
    pub risk: Option<f64>,
    pub risk_min: Option<f64>,
    /// R(θ) − R_min = (w_prod − w*)ᵀΣ(w_prod − w*).
    pub excess_risk: Option<f64>,
    pub grad_norm: Option<f64>,
    /// λ_max of the full Hessian (largest algebraic eigenvalue).
    pub sharpness: Option<f64>,
    pub hessian_min_eig: Option<f64>,
    pub method: Method,
    pub lanczos_iterations: usize,
    pub w_star_norm: Option<f64>,
    /// a = w*ᵀΣw*/‖w*‖² (null when w* = 0).
    pub a: Option<f64>,
    pub lambda_max_sigma: Option<f64>,
    /// Smallest non-zero eigenvalue of Σ.
    pub lambda_min_sigma: Option<f64>,
    pub sigma_rank: usize,
    pub condition_number: Option<f64>,
    /// ‖p‖ (1 for the MLP).
    pub head_norm: Option<f64>,
    /// LB = 2·L·a·‖w*‖^{2−2/L}·‖p‖^{2/L} (Theorem 1; null when w* = 0).
    pub sharpness_lower_bound: Option<f64>,
    /// Exact minimal sharpness over all global minimisers (mc.smin.exact).
    pub sharpness_min: Option<f64>,
    /// Sharpness of the balanced rank-one minimiser.
    pub sharpness_balanced: Option<f64>,
    /// sharpness / LB.
    pub sharpness_over_lower_bound: Option<f64>,
    /// 2λ_max(Σ^{1/2}JJᵀΣ^{1/2}): the sharpness θ would have if it were a global minimiser.
    pub gauss_newton_sharpness: Option<f64>,
    /// The authors' estimator: 20 power-iteration steps (largest magnitude).
    pub power_iteration_20: Option<f64>,
    /// Why a quantity is null (undefined, or outside the range of f64), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Why an audit could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuditError {
    /// The data cannot be used (e.g. a design matrix of rank 0): bad input.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The Hessian's spectrum could not be computed (numerical failure).
    #[error("{0}")]
    Numerical(String),
}

impl From<SpectrumError> for AuditError {
    fn from(e: SpectrumError) -> Self {
        AuditError::Numerical(e.to_string())
    }
}

/// Exponents of max|x| beyond this are audited in rescaled units.
const SAFE_DATA_EXPONENT: i32 = 100;

/// The audit of an instance, rescaling the data by a power of two when Σ = XᵀX/n would
/// overflow or underflow (see the module documentation); no rescaling for ordinary data, so the
/// bits are those of [`audit`] on the instance's problem.
pub fn audit_instance(inst: &Instance, opts: &SpectrumOptions) -> Result<SharpnessAudit, AuditError> {
    let x = inst.data.x.as_ref();
    let mut m = 0.0f64;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            m = m.max(x[(i, j)].abs());
        }
    }
    let my = inst.data.y.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    // Rescale when X or y is far from 1, by the power of two that brings max|x|·max|y| to 1
    // (so that both Σ ~ x² and the risk ~ y² stay in range). Subnormal X is left to the rank
    // test (XᵀX/n underflows to 0).
    let ex = if m >= f64::MIN_POSITIVE { linalg::exponent(m) } else { 0 };
    let ey = if my >= f64::MIN_POSITIVE { linalg::exponent(my) } else { ex };
    let k = if ex.abs() <= SAFE_DATA_EXPONENT && ey.abs() <= SAFE_DATA_EXPONENT { 0 } else { -(ex + ey) / 2 };
    if k == 0 {
        let problem = inst.problem()?;
        return audit_scaled(&problem, &inst.theta, opts, 0);
    }
    let data = Dataset {
        x: faer::Mat::from_fn(x.nrows(), x.ncols(), |i, j| linalg::ldexp(x[(i, j)], k)),
        y: inst.data.y.iter().map(|v| linalg::ldexp(*v, k)).collect(),
    };
    let scaled = Instance { data, ..inst.clone() };
    let problem = scaled.problem()?;
    let mut audit = audit_scaled(&problem, &inst.theta, opts, 2 * k)?;
    audit.notes.insert(
        0,
        format!("computed with X and y scaled by 2^{k} (exact), results scaled back by 2^{}", -2 * k),
    );
    Ok(audit)
}

/// Computes the audit of a regression problem at θ.
pub fn audit(problem: &Problem, theta: &[f64], opts: &SpectrumOptions) -> Result<SharpnessAudit, AuditError> {
    audit_scaled(problem, theta, opts, 0)
}

/// Collects the printed values: finite ones as they are, the others as `None` with a note.
pub(crate) struct Values {
    /// The data-dependent quantities are 2^{two_k} times the true ones.
    pub(crate) two_k: i32,
    pub(crate) notes: Vec<String>,
}

impl Values {
    /// A quantity that does not depend on the data's scale.
    pub(crate) fn plain(&mut self, name: &str, v: f64) -> Option<f64> {
        if v.is_finite() {
            return Some(v);
        }
        self.notes.push(format!("{name}: {v} in f64 (an intermediate quantity overflowed); printed as null"));
        None
    }
    /// A quantity that is quadratic in the data (scaled by 2^{two_k}).
    pub(crate) fn quad(&mut self, name: &str, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return self.plain(name, v);
        }
        let back = linalg::ldexp(v, -self.two_k);
        if back.is_finite() && (back != 0.0 || v == 0.0) {
            return Some(back);
        }
        let log10 = v.abs().log10() - self.two_k as f64 * std::f64::consts::LOG10_2;
        self.notes.push(format!(
            "{name}: ≈ {}1e{log10:.1} lies outside the range of f64; printed as null",
            if v < 0.0 { "−" } else { "" }
        ));
        None
    }
    pub(crate) fn undefined(&mut self, name: &str, why: &str) -> Option<f64> {
        self.notes.push(format!("{name}: undefined ({why}); printed as null"));
        None
    }
    /// A secondary quantity whose computation failed: null with the reason.
    pub(crate) fn failed(&mut self, name: &str, e: impl std::fmt::Display) -> Option<f64> {
        self.notes.push(format!("{name}: not computed ({e}); printed as null"));
        None
    }
}

fn audit_scaled(
    problem: &Problem,
    theta: &[f64],
    opts: &SpectrumOptions,
    two_k: i32,
) -> Result<SharpnessAudit, AuditError> {
    let reg = problem.objective.regression().expect("the audit is for univariate regression");
    let model = &problem.model;
    let (loss, grad) = problem.loss_and_gradient(theta);
    // The sharpness must converge; λ_min may not (see `Bottom::BestEffort`): it is then printed
    // as null with the bound that was found.
    let opts = &SpectrumOptions { bottom: spectrum::Bottom::BestEffort, ..opts.clone() };
    let depth = model.depth();
    let head = model.head_norm();
    // The Hessian's extremes on one thread, the reference sharpnesses and the estimators on the
    // other (each computation is sequential inside, so the bits do not depend on the threads).
    let (ext, (s_min, s_bal, gn, power)) = rayon::join(
        || spectrum::hessian_extremes(problem, theta, opts),
        || {
            (
                bounds::try_min_sharpness(reg, depth, head),
                bounds::try_balanced_sharpness(reg, depth, head),
                bounds::try_minimizer_sharpness(problem, theta),
                spectrum::power_iteration(problem, theta, 20, opts.seed),
            )
        },
    );
    let ext = ext.map_err(|e| {
        if loss.is_finite() {
            AuditError::from(e)
        } else {
            AuditError::Numerical(format!("the risk R(θ) = {loss} is beyond f64, and so is its Hessian: {e}"))
        }
    })?;
    if !(ext.max.is_finite() && ext.min.is_finite()) {
        return Err(AuditError::Numerical(format!(
            "the Hessian's extreme eigenvalues are not finite ({}, {}): θ or the data are too large for f64",
            ext.max, ext.min
        )));
    }
    let mut v = Values { two_k, notes: Vec::new() };
    let wsn = reg.w_star_norm();
    let lb = match bounds::try_lower_bound(reg, depth, head) {
        Some(lb) => v.quad("sharpness_lower_bound", lb),
        None => v.undefined("sharpness_lower_bound", "w* = 0, so a = w*ᵀΣw*/‖w*‖² is 0/0"),
    };
    let a = match reg.alignment() {
        Some(a) => v.quad("a", a),
        None => v.undefined("a", "w* = 0"),
    };
    let ratio = match bounds::try_lower_bound(reg, depth, head) {
        None => v.undefined("sharpness_over_lower_bound", "LB is undefined"),
        Some(0.0) => v.undefined("sharpness_over_lower_bound", "LB = 0"),
        Some(lb) => v.plain("sharpness_over_lower_bound", ext.max / lb),
    };
    let s_min = match s_min {
        Ok(m) => v.quad("sharpness_min", m.value),
        Err(e) => v.failed("sharpness_min", e),
    };
    let s_bal = match s_bal {
        Ok(s) => v.quad("sharpness_balanced", s),
        Err(e) => v.failed("sharpness_balanced", e),
    };
    let gn = match gn {
        Ok(s) => v.quad("gauss_newton_sharpness", s),
        Err(e) => v.failed("gauss_newton_sharpness", e),
    };
    let excess = reg.excess(&crate::engine::linalg::to_row_major(model.end_to_end(theta).as_ref()));
    Ok(SharpnessAudit {
        architecture: model.architecture(),
        depth,
        d: reg.d,
        n: reg.n,
        num_params: problem.num_params(),
        risk: v.quad("risk", loss),
        risk_min: v.quad("risk_min", reg.risk_min),
        excess_risk: v.quad("excess_risk", excess),
        grad_norm: v.quad("grad_norm", norm(&grad)),
        sharpness: v.quad("sharpness", ext.max),
        hessian_min_eig: if ext.min_is_upper_bound {
            let bound = linalg::ldexp(ext.min, -two_k);
            v.failed(
                "hessian_min_eig",
                format!(
                    "Lanczos did not converge the bottom of the spectrum in {} iterations; its smallest Ritz \
                     value gives λ_min ≤ {bound:e}",
                    ext.iterations
                ),
            )
        } else {
            v.quad("hessian_min_eig", ext.min)
        },
        method: ext.method,
        lanczos_iterations: ext.iterations,
        w_star_norm: v.plain("w_star_norm", wsn),
        a,
        lambda_max_sigma: v.quad("lambda_max_sigma", reg.lambda_max()),
        lambda_min_sigma: v.quad("lambda_min_sigma", reg.lambda_min_nonzero()),
        sigma_rank: reg.rank,
        condition_number: v.plain("condition_number", reg.condition_number()),
        head_norm: v.plain("head_norm", head),
        sharpness_lower_bound: lb,
        sharpness_min: s_min,
        sharpness_balanced: s_bal,
        sharpness_over_lower_bound: ratio,
        gauss_newton_sharpness: gn,
        power_iteration_20: v.quad("power_iteration_20", power),
        notes: v.notes,
    })
}

/// Estimated peak memory of [`audit_instance`] in bytes (8 per f64), from the shapes alone,
/// following the routes the audit takes: the data and its thin SVD, Σ (and, up to
/// [`bounds::SECULAR_MIN_D`], Σ^{1/2} and the bounds' d × d matrices), θ with its gradient and
/// workspaces, the Hessian (the reduced m × m form or the dense P × P one when exact, else a
/// Lanczos basis), and the Gauss–Newton sharpness (the d_out·d × P Jacobian up to
/// [`bounds::DENSE_JACOBIAN_MAX_PARAMS`] parameters, else a Lanczos basis in R^rank). Meant to
/// refuse instances that cannot fit before they are built, not to be exact (within a factor ~2).
pub fn memory_estimate(model: &crate::engine::model::Dln, n: usize, opts: &SpectrumOptions) -> u64 {
    let (d, d_out) = (model.d_in() as u64, model.d_out() as u64);
    let n = n as u64;
    let p = model.num_params() as u64;
    let m: u64 = model.layers().iter().filter(|l| l.is_trained()).map(|l| (l.rows + l.cols) as u64).sum();
    let k = n.min(d);
    let bounds = if d as usize <= bounds::SECULAR_MIN_D { 8 * d * d } else { 3 * d * d + k * d };
    let data = 2 * n * d + n * k + 2 * d * k + bounds;
    let params = 8 * p;
    let reduced = d_out == 1 && m < p;
    let dim = if reduced { m } else { p };
    let exact = match opts.method {
        Some(method) => method == Method::Exact,
        None => p as usize <= opts.exact_max_params || reduced && m as usize <= opts.exact_max_params,
    };
    let basis = |dim: u64| dim.saturating_mul((opts.max_iter as u64).min(dim) + 2) + 4 * dim;
    let hessian = if exact { 3 * dim.saturating_mul(dim) } else { basis(dim) };
    let gauss_newton = if p as usize <= bounds::DENSE_JACOBIAN_MAX_PARAMS || d_out != 1 {
        d_out.saturating_mul(d).saturating_mul(p) + 3 * d * d
    } else {
        basis(k) + 4 * d
    };
    8u64.saturating_mul(data.saturating_add(params).saturating_add(hessian).saturating_add(gauss_newton))
}
