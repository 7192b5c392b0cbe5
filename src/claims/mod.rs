//! One module per claim, named by its id (dots → underscores), and the registry.
//!
//! To add a claim: write `src/claims/<id>.rs` with a unit struct implementing
//! [`crate::property::Claim`], declare the module here, add it to [`all`], and write its spec
//! `properties/<id>.yaml`.

pub mod mc_gd_stability;

use crate::property::Claim;

/// Every registered claim, in report order.
pub fn all() -> Vec<&'static dyn Claim> {
    vec![&mc_gd_stability::McGdStability]
}

/// The claim with this id.
pub fn find(id: &str) -> Option<&'static dyn Claim> {
    all().into_iter().find(|c| c.id() == id)
}
