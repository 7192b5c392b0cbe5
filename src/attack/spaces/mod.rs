//! The hypothesis spaces of the covered properties.
//!
//! Sharpness inside the search is the Gauss–Newton form 2λ_max(Σ^{1/2}KΣ^{1/2}) (exact at global
//! minimisers, O(P·d²)); off the minimiser set (the `non_minimizer` control) it is the exact
//! full-Hessian eigenvalue. The best point is always re-measured with the exact full Hessian
//! (`sharpness_exact` in its values).
//!
//! One module per property, named by its id; the claims whose object is built inside the claim
//! (training runs, random targets) share [`grid`], a space over the claim's own grid parameters.

pub mod grid;
mod jgshg_balance_decay;
mod jgshg_landscape;
mod jgshg_lazy;
mod jgshg_local_minima_generalize;
mod jgshg_saddle_to_saddle;
mod jgshg_schatten;
mod mc_gd_stability;
mod mc_hessian_at_minimizer;
mod mc_pl_inequality;
mod mc_ri_convergence;
mod mc_sharpness_upper_at_minimizer;
mod mc_si_balance;
mod mc_si_flatness;
mod mc_si_rank_one;
mod mc_smin_exact;
mod mc_thm1_lower_bound;
mod mc_thm1_unbounded;
mod mc_thm1_upper;
mod mc_underdetermined;

pub use mc_hessian_at_minimizer::HessianAtMinimizer;
pub use mc_pl_inequality::PlInequality;
pub use mc_sharpness_upper_at_minimizer::SharpnessUpper;
pub use mc_smin_exact::SminExact;
pub use mc_thm1_lower_bound::LowerBound;
pub use mc_thm1_unbounded::Unbounded;
pub use mc_thm1_upper::Upper;

use super::Space;
use super::regression::Decoded;
use crate::engine::bounds;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::GridPoint;
use std::collections::BTreeMap;

/// Every space, in the claims' report order.
pub fn all() -> Vec<&'static dyn Space> {
    vec![
        &HessianAtMinimizer,
        &LowerBound,
        &Unbounded,
        &Upper,
        &SminExact,
        &SharpnessUpper,
        &PlInequality,
        &mc_gd_stability::SPACE,
        &mc_si_balance::SPACE,
        &mc_si_rank_one::SPACE,
        &mc_si_flatness::SPACE,
        &mc_ri_convergence::SPACE,
        &mc_underdetermined::SPACE,
        &jgshg_schatten::SPACE,
        &jgshg_balance_decay::SPACE,
        &jgshg_lazy::SPACE,
        &jgshg_saddle_to_saddle::SPACE,
        &jgshg_landscape::SPACE,
        &jgshg_local_minima_generalize::SPACE,
    ]
}

pub(super) fn exact_sharpness(dec: &Decoded, theta: &[f64]) -> f64 {
    spectrum::sharpness(&dec.problem, theta, &SpectrumOptions::default()).unwrap_or(f64::NAN)
}

/// Common values of a decoded regression point.
pub(super) fn data_values(dec: &Decoded) -> BTreeMap<String, f64> {
    let reg = dec.reg();
    let (depth, head) = (dec.problem.model.depth(), dec.problem.model.head_norm());
    BTreeMap::from([
        ("a".to_string(), reg.alignment().unwrap_or(f64::NAN)),
        ("lambda_max".to_string(), reg.lambda_max()),
        ("kappa".to_string(), reg.condition_number()),
        ("w_star_norm".to_string(), reg.w_star_norm()),
        ("lower_bound".to_string(), bounds::lower_bound(reg, depth, head)),
        ("s_min".to_string(), bounds::min_sharpness(reg, depth, head).value),
        ("s_bal".to_string(), bounds::balanced_sharpness(reg, depth, head)),
    ])
}

pub(super) fn slack_of(point: &GridPoint) -> f64 {
    point.0.get("rel").and_then(|v| v.as_f64()).unwrap_or(1e-9)
}
