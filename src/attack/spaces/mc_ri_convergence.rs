//! mc.ri.convergence (Theorem 4: residual initialisation): C·LΛ‖p‖^(2/L)max(‖p‖,‖w*‖)^(2−2/L)/S
//! over s ≤ 0.5 (where the bound is claimed) and the data; the empirical constant is C/(best).
//!
//! Moves s (0 to the spec's bound_max_scale; a control adds its large s), κ and ‖w*‖ (log
//! scale, the grid's ranges); d and L from the restart's grid point, the draws from its seed.
//! Controls: `large_scale_gd` (s = 3, the paper's gradient descent, which diverges) and
//! `bound_at_large_scale` (the claim's own flow and C with s ≤ bound_max_scale dropped: s over
//! [0, 3], linear, where S/(LΛ) exceeds C from s ≈ 1), both graded by their tightness.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.ri.convergence",
    goal: Goal::MinimiseTightness,
    description: "the residual initialisation's s (linear, up to 0.5 where the bound is claimed; the control adds its own), κ and ‖w*‖ (log scale, the grid's ranges); d and L from the grid, the draws from the restart's seed; tightness 8·LΛ‖p‖^(2/L)max(‖p‖,‖w*‖)^(2−2/L)/S",
    moves: &[
        Move::Number("scale", Scale::Linear, Range::Within(0.0, 0.5)),
        Move::Number("kappa", Scale::Log, Range::Grid),
        Move::Number("w_star_norm", Scale::Log, Range::Grid),
    ],
    controls: &["large_scale_gd", "bound_at_large_scale"],
    known: None,
    stated: Some((
        "Theorem 4's constant (reconstructed)",
        "8, in S ≤ 8·LΛ‖p‖^(2/L)max(‖p‖, ‖w*‖)^(2−2/L) for s ≤ 0.5",
        8.0,
    )),
    budget_cap: Some(80),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
