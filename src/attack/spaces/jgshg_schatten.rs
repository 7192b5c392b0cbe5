//! jgshg.schatten: Σ_ℓ‖W_ℓ‖²_F/(L·Σσ_i^{2/L}) over gauge moves of balanced factorisations.
//!
//! Moves the gauge moves' log-scale c (0.001–1.5: every factorisation through width w is a gauge
//! move of a balanced one); depth, width and rank from the restart's grid point, the target A and
//! the moves' directions from its seed.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Known, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.schatten",
    goal: Goal::MinimiseTightness,
    description: "the gauge moves' scale c (log scale, 0.001–1.5); depth, width and rank from the grid, the target \
                  A and the moves' directions from the restart's seed; tightness min over moves of \
                  Σ‖W_ℓ‖²/(L·Σσ_i^(2/L)), with the balanced identity and the gauge descent as requirements",
    moves: &[Move::Number("gauge_scale", Scale::Log, Range::Hypothesis(1e-3, 1.5))],
    controls: &["wrong_exponent", "narrow_width"],
    known: Some(known),
    stated: None,
    budget_cap: Some(60),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};

fn known() -> Known {
    Known {
        value: 1.0,
        provenance:
            "Jacot et al. (abstract, item 2; form reconstructed): Σ‖W_ℓ‖² ≥ L·Σσ_i(A)^(2/L) over every \
                     factorisation of A, with equality at the balanced ones"
                .into(),
        attained:
            "gauge moves → identity (c → 0): the balanced factorisation; the tightness is reported over \
                   1 − rel, so its floor is 1/(1 − rel)"
                .into(),
    }
}
