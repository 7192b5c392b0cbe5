//! mc.si.rank_one (Corollary 1: small initialisation leads to rank-one layers): the limit's
//! error/tol over the data and d.
//!
//! Moves κ and ‖w*‖ (log scale, the grid's ranges), ε (the grid's), the architecture and d (the
//! full grid's values and the restart's); L from the restart's grid point, the draws from its
//! seed. Controls, from the claim's whole space with the control's change:
//! - `large_scale` (ε not small): ε over the claim's 0.01 widened to the control's 0.3, in
//!   linear coordinates (ε ≥ 0.15, where the rank defect's order falls below 1 − order_tol at
//!   d ≥ 5 and small ‖w*‖, is half the coordinate; in log coordinates the large scales were a
//!   sliver the full check's 24 and 64 runs missed); 4 restarts of 24 runs (two flows each) so
//!   that a local search can climb to larger ε and d.
//! - `residual_init`: the claim's space with the residual initialisation.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.si.rank_one",
    goal: Goal::MaximiseErrorRatio,
    description: "κ and ‖w*‖ (log scale, the grid's ranges), ε (the grid's; a control widening it moves it linearly), the architecture and d; L from the grid, the draws from the restart's seed; the limit's error/tol",
    moves: &[
        Move::Number("kappa", Scale::Log, Range::Grid),
        Move::Number("w_star_norm", Scale::Log, Range::Grid),
        Move::Widened("scale", Scale::Log, Range::Grid),
        Move::Choice("architecture"),
        Move::Choice("d"),
    ],
    controls: &["large_scale", "residual_init"],
    known: None,
    stated: None,
    budget_cap: Some(24),
    control_search: &[("large_scale", 96, 4)],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
