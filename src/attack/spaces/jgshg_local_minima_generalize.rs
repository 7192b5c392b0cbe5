//! jgshg.local_minima_generalize: ‖A_global − Y‖²/‖A_nonglobal − Y‖² between the thresholds.
//!
//! Moves σ_2's position between the thresholds t₁ < t₂ (0.05–0.95: strictly inside, away from the
//! degenerate ends) and λ (log scale, 0.25–4: λ > 0); depth and width from the restart's grid
//! point, U and V from its seed. No closed-form infimum: the best value is the empirical one.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.local_minima_generalize",
    goal: Goal::MinimiseTightness,
    description: "σ_2's position between the thresholds t₁ < t₂ (0.05–0.95) and λ (log scale, 0.25–4); depth (≥ 3) \
                  and width from the grid, U and V from the restart's seed; tightness \
                  ‖A_global − Y‖²/‖A_nonglobal − Y‖², thresholds, criticality and local minimality as requirements",
    moves: &[
        Move::Number("position", Scale::Linear, Range::Hypothesis(0.05, 0.95)),
        Move::Number("l2", Scale::Log, Range::Hypothesis(0.25, 4.0)),
    ],
    controls: &["above_threshold"],
    known: None,
    stated: None,
    budget_cap: Some(400),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
