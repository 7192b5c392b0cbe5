//! mc.si.rank_one (Corollary 1: small initialisation leads to rank-one layers): the limit's
//! error/tol over the data.
//!
//! Moves κ and ‖w*‖ (log scale, the grid's ranges) and the architecture; ε is the grid's (the
//! controls add their large scales, the hypothesis they drop); d and L from the restart's grid
//! point, the draws from its seed.
//!
//! The `large_scale` control is not attacked: from the whole space (ε over the full grid's range
//! joined with the control's 0.3, log scale) neither 24 nor 64 runs of the full check found its
//! violation, although the quick space's (narrower) range gives one in 7 runs: a defect of the
//! attack that failed the full `check`; the grid's control instances still test it.

use super::grid::{GridSpace, Move, Range, everywhere};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.si.rank_one",
    goal: Goal::MaximiseErrorRatio,
    description: "κ and ‖w*‖ (log scale, the grid's ranges), ε (the grid's; controls add their own) and the architecture; d and L from the grid, the draws from the restart's seed; the limit's error/tol",
    moves: &[
        Move::Number("kappa", Scale::Log, Range::Grid),
        Move::Number("w_star_norm", Scale::Log, Range::Grid),
        Move::Number("scale", Scale::Log, Range::Grid),
        Move::Choice("architecture"),
    ],
    controls: &["residual_init"],
    known: None,
    stated: None,
    budget_cap: Some(24),
    covers: everywhere,
};
