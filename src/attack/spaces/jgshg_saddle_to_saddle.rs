//! jgshg.saddle_to_saddle (regime 1b): the plateaus' error/tol over the target's gap.
//!
//! Moves σ_k/σ_{k+1} (the grid's range); depth from the restart's grid point, the initialisation
//! from its seed. Each point is several gradient-flow runs: the smallest budget.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.saddle_to_saddle",
    goal: Goal::MaximiseErrorRatio,
    description: "σ_k/σ_(k+1) (the grid's range); depth from the grid, the initialisation from the restart's seed; error/tol of the plateau levels and escape-time slopes",
    moves: &[Move::Number("sigma_ratio", Scale::Linear, Range::Grid)],
    controls: &["large_init"],
    known: None,
    stated: None,
    budget_cap: Some(8),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
