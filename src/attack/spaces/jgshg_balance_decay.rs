//! jgshg.balance_decay (L2-regularised flow: D_ℓ(t) = e^{−2λt}D_ℓ(0)): the identity's error/tol
//! over λ and the initialisation scale.
//!
//! Moves λ (the grid's range, λ ≥ 0) and the initial entries' std (log scale, 0.3–1.5); depth
//! from the restart's grid point, the initialisation from its seed.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.balance_decay",
    goal: Goal::MaximiseErrorRatio,
    description: "λ (linear, the grid's range) and the initial std (log scale, 0.3–1.5); depth from the grid, the initialisation from the restart's seed; error/tol of D_ℓ(t) = e^(−2λt)D_ℓ(0) and of balancedness at the critical point",
    moves: &[
        Move::Number("l2", Scale::Linear, Range::Grid),
        Move::Number("init_std", Scale::Log, Range::Hypothesis(0.3, 1.5)),
    ],
    controls: &["wrong_rate", "no_l2"],
    known: None,
    stated: None,
    budget_cap: Some(64),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
