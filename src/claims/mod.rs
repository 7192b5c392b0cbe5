//! One module per claim, named by its id (dots → underscores), and the registry.
//!
//! To add a claim: write `src/claims/<id>.rs` with a unit struct implementing
//! [`crate::property::Claim`], declare the module here, add it to [`all`], and write its spec
//! `properties/<id>.yaml`.

use crate::property::Claim;

pub mod dynamics;
pub mod mc_hessian_at_minimizer;
pub mod mc_pl_inequality;
pub mod mc_ri_convergence;
pub mod mc_si_balance;
pub mod mc_si_flatness;
pub mod mc_si_rank_one;
pub mod mc_thm1_lower_bound;
pub mod setup;

/// Every registered claim, in report order.
pub fn all() -> Vec<&'static dyn Claim> {
    vec![
        &mc_hessian_at_minimizer::HessianAtMinimizer,
        &mc_thm1_lower_bound::LowerBound,
        &mc_pl_inequality::PlInequality,
        &mc_si_balance::Balance,
        &mc_si_rank_one::RankOne,
        &mc_si_flatness::Flatness,
        &mc_ri_convergence::Convergence,
    ]
}

/// The claim with this id.
pub fn find(id: &str) -> Option<&'static dyn Claim> {
    all().into_iter().find(|c| c.id() == id)
}
