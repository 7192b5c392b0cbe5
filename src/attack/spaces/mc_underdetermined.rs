//! mc.underdetermined (Figure 6 setting, n < d): S/S_min over the interpolating minimisers.
//!
//! Moves the null-space component's size ‖z‖/‖w*‖ (log scale, 0.05–20: any interpolator is in
//! the hypotheses), n/d (the grid's range, n < d always), the kind of minimiser and the
//! architecture; d and L from the restart's grid point, the data and z's direction from its seed.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Known, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.underdetermined",
    goal: Goal::MinimiseTightness,
    description: "n/d (the grid's range, n < d), the interpolator's null-space component ‖z‖/‖w*‖ (log scale, \
                  0.05–20), the minimiser kind (balanced, random, S_min-attaining) and the architecture; d and L \
                  from the grid, the data and z's direction from the restart's seed; tightness S/S_min",
    moves: &[
        Move::Number("null_scale", Scale::Log, Range::Hypothesis(0.05, 20.0)),
        Move::Number("n_ratio", Scale::Linear, Range::Grid),
        Move::Choice("minimizer"),
        Move::Choice("architecture"),
    ],
    controls: &["doubled_w_star"],
    known: Some(known),
    stated: None,
    budget_cap: Some(2000),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};

fn known() -> Known {
    Known {
        value: 1.0,
        provenance:
            "derived (mc.underdetermined): S_min depends on w* only through Σ^(1/2)w*, so S ≥ S_min at every \
                     interpolating minimiser, with equality at the S_min-attaining one (mc.smin.exact)"
                .into(),
        attained: "the S_min-attaining minimiser of any interpolator w* + z".into(),
    }
}
