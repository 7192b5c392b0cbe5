//! mc.si.balance (balancedness from small initialisation): the bound's tightness over the
//! initialisation scale, the data and the dynamics.
//!
//! Moves the initialisation scale, κ and ‖w*‖ (log scale, the grid's ranges), the GD step
//! fraction (the grid's; the `gd_large_step` control adds its own), the architecture, the
//! initialisation kind and the dynamics (flow or descent); d and L from the restart's grid point.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.si.balance",
    goal: Goal::MinimiseTightness,
    description: "initialisation scale, κ and ‖w*‖ (log scale, the grid's ranges), the GD step fraction, the architecture, the initialisation kind and the dynamics (gradient flow or descent); d and L from the grid, the draws from the restart's seed; the claim's tightness",
    moves: &[
        Move::Number("scale", Scale::Log, Range::Grid),
        Move::Number("kappa", Scale::Log, Range::Grid),
        Move::Number("w_star_norm", Scale::Log, Range::Grid),
        Move::Number("eta_fraction", Scale::Log, Range::Grid),
        Move::Choice("architecture"),
        Move::Choice("init"),
        Move::Choice("dynamics"),
    ],
    controls: &["half_bound", "gd_large_step"],
    known: None,
    stated: None,
    budget_cap: Some(80),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
