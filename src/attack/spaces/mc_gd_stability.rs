//! mc.gd.stability (Figure 2's threshold, linear stability): (2/η)/S at the minimiser gradient
//! descent converges to, over η/(2/S_min), the initialisation scale and the architecture.
//!
//! Moves η in units of 2/S_min (the grid's range), the initialisation scale (log scale, 0.1–0.5)
//! and the architecture; depth from the restart's grid point, data and initialisation from its
//! seed. Runs that do not converge at η > 2/S_min hold without a margin (scored
//! [`super::grid::NO_MARGIN`]); below it they are outside the claim's regime.

use super::grid::{GridSpace, Move, Range, everywhere, no_slice};
use crate::attack::{Goal, Known, Scale};

pub static SPACE: GridSpace = GridSpace {
    id: "mc.gd.stability",
    goal: Goal::MinimiseTightness,
    description: "η/(2/S_min) (the grid's range), the initialisation scale (log scale, 0.1–0.5) and the architecture; depth from the grid, data and initialisation from the restart's seed; tightness (2/η)/S at the minimiser gradient descent converges to",
    moves: &[
        Move::Number("eta_factor", Scale::Linear, Range::Grid),
        Move::Number("init_scale", Scale::Log, Range::Hypothesis(0.1, 0.5)),
        Move::Choice("architecture"),
    ],
    controls: &["tightened", "converges_above"],
    known: Some(known),
    stated: None,
    budget_cap: Some(200),
    control_search: &[],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};

fn known() -> Known {
    Known { value: 1.0, provenance: "linear stability (Marion & Chizat, Figure 2): gradient descent with step η converges only to minimisers with S ≤ 2/η".into(), attained: "approached as η → 2/S_min from below, where the only stable minimisers have S → S_min = 2/η".into() }
}
