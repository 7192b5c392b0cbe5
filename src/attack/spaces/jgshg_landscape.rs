//! jgshg.landscape: the loss surface with L2 (critical points classified by the exact Hessian),
//! its identities' error/tol maximised.
//!
//! Moves σ_2 (the grid's range) and whether Y is rotated; depth and width from the restart's grid
//! point, the search's starts from its seed. λ stays at the grid's: the checks assume every σ_i
//! exceeds the scalar problem's threshold t₁(λ, L), which the grid's values satisfy and other λ
//! need not (an attack that moved λ to 1.23 at L = 5 found that assumption, not the claim,
//! failing). A structural claim: the
//! pass/fail requirements count as violations, scored [`super::grid::FAILED_ERROR`].

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.landscape",
    goal: Goal::MaximiseErrorRatio,
    description: "σ_2 (the grid's range; λ the grid's) and the rotation of Y; depth and width from the grid, \
                  the gradient-flow starts from the restart's seed; error/tol of the critical points' gradient and \
                  loss, every classification requirement pass/fail",
    moves: &[Move::Number("sigma2", Scale::Linear, Range::Grid), Move::Choice("rotate")],
    controls: &["no_l2"],
    known: None,
    stated: None,
    budget_cap: Some(48),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
