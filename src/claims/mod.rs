//! One module per claim, named by its id (dots → underscores), and the registry.
//!
//! To add a claim: write `src/claims/<id>.rs` with a unit struct implementing
//! [`crate::framework::property::ClaimCode`] (its controls an enum declared with
//! [`crate::framework::property::controls!`]), declare the module here (`pub(crate)` unless tests name it), add it to
//! [`all`], and write its spec `properties/<id>.yaml`.

use crate::framework::property::Claim;

pub mod dynamics;
pub(crate) mod jgshg_balance_decay;
pub mod jgshg_landscape;
pub(crate) mod jgshg_lazy;
pub(crate) mod jgshg_local_minima_generalize;
pub mod jgshg_saddle_to_saddle;
pub(crate) mod jgshg_schatten;
pub mod mc_gd_stability;
pub mod mc_hessian_at_minimizer;
pub mod mc_pl_inequality;
pub(crate) mod mc_ri_convergence;
pub(crate) mod mc_sharpness_upper_at_minimizer;
pub(crate) mod mc_si_balance;
pub(crate) mod mc_si_flatness;
pub mod mc_si_rank_one;
pub mod mc_smin_exact;
pub mod mc_thm1_lower_bound;
pub(crate) mod mc_thm1_unbounded;
pub(crate) mod mc_thm1_upper;
pub(crate) mod mc_underdetermined;
pub(crate) mod setup;

/// Every registered claim, in report order (catalogue order: Marion & Chizat, then Jacot et al.).
pub fn all() -> Vec<&'static dyn Claim> {
    vec![
        &mc_hessian_at_minimizer::HessianAtMinimizer,
        &mc_thm1_lower_bound::LowerBound,
        &mc_thm1_unbounded::Unbounded,
        &mc_thm1_upper::Upper,
        &mc_smin_exact::MinSharpnessExact,
        &mc_sharpness_upper_at_minimizer::SharpnessUpperAtMinimizer,
        &mc_pl_inequality::PlInequality,
        &mc_gd_stability::McGdStability,
        &mc_si_balance::Balance,
        &mc_si_rank_one::RankOne,
        &mc_si_flatness::Flatness,
        &mc_ri_convergence::Convergence,
        &mc_underdetermined::Underdetermined,
        &jgshg_schatten::Schatten,
        &jgshg_balance_decay::BalanceDecay,
        &jgshg_lazy::Lazy,
        &jgshg_saddle_to_saddle::SaddleToSaddle,
        &jgshg_landscape::Landscape,
        &jgshg_local_minima_generalize::LocalMinimaGeneralize,
    ]
}

/// Reads and validates the spec at `path` against the registered claim of its id.
pub fn load_spec(
    path: &std::path::Path,
) -> Result<(crate::framework::spec::Spec, &'static dyn Claim), crate::framework::spec::SpecError> {
    crate::framework::spec::Spec::load(path, &all())
}

/// The claim with this id.
pub fn find(id: &str) -> Option<&'static dyn Claim> {
    all().into_iter().find(|c| c.id() == id)
}
