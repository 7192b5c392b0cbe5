//! mc.si.flatness (Corollary 2: small initialisation reaches flat minimisers): 8LΛ…/S over the
//! initialisation scale, the data and d; the empirical constant is 8/(best tightness).
//!
//! Moves ε, κ and ‖w*‖ (log scale, the grid's ranges), the architecture and d (the full grid's
//! values and the restart's); L from the restart's grid point, the draws from its seed.
//! Controls, from the claim's whole space with the control's change:
//! - `large_scale_gd` (ε not small, the paper's gradient descent): ε over the claim's range
//!   widened to the control's 0.55, in linear coordinates (the large scales are the top 9 % of
//!   the coordinate, against 3 % in log coordinates); its tightness 8LΛ/S falls steadily with ε
//!   and d (measured at L = 4: 4.8 at ε = 0.1 to 0.58 at ε = 0.5 for d = 5, 0.18 for d = 10), so
//!   two restarts of 12 runs climb to it.
//! - `wrong_limit` (S → 1.01·S_bal asserted): its statement differs from the claim's only where
//!   the limit is checked (L ≤ limit_max_depth, ε ≤ limit_max_scale), the slice its restarts
//!   cover; its score is the smaller of the bound's tightness and the limit's order over the
//!   order it must reach, a graded margin (order ≈ 0 where the wrong limit fails).

use super::grid::{GridSpace, Move, Range};
use crate::attack::{Goal, Scale, Target};
use crate::framework::property::{GridPoint, Measurement, Value};

/// Restarts of the `wrong_limit` control: depths where the limit is checked.
fn covers(point: &GridPoint, target: Target<'_>) -> bool {
    let (Some(l), Some(max)) = (
        point.0.get("depth").and_then(Value::as_f64),
        point.0.get("limit_max_depth").and_then(Value::as_f64),
    ) else {
        return target != Target::Control("wrong_limit");
    };
    target != Target::Control("wrong_limit") || l <= max
}

/// The `wrong_limit` control's scales: those where the limit is checked.
fn slice(point: &GridPoint, name: &str, target: Target<'_>) -> Option<(f64, f64)> {
    if target != Target::Control("wrong_limit") || name != "scale" {
        return None;
    }
    Some((0.0, point.0.get("limit_max_scale").and_then(Value::as_f64)?))
}

/// The limit's order over 1 − order_tol (holds iff ≥ 1), where the limit is measured.
fn margin(m: &Measurement, point: &GridPoint, _: Target<'_>) -> Option<f64> {
    let order = *m.values.get("limit_order")?;
    let need = 1.0 - point.0.get("order_tol").and_then(Value::as_f64)?;
    (need > 0.0).then(|| order / need)
}

pub static SPACE: GridSpace = GridSpace {
    id: "mc.si.flatness",
    goal: Goal::MinimiseTightness,
    description: "ε, κ and ‖w*‖ (log scale, the grid's ranges; a control widening ε moves it linearly), the architecture and d; L from the grid, the draws from the restart's seed; tightness 8LΛ‖w*‖^(2−2/L)‖p‖^(2/L)/S at the minimiser the flow reaches",
    moves: &[
        Move::Widened("scale", Scale::Log, Range::Grid),
        Move::Number("kappa", Scale::Log, Range::Grid),
        Move::Number("w_star_norm", Scale::Log, Range::Grid),
        Move::Choice("architecture"),
        Move::Choice("d"),
    ],
    controls: &["large_scale_gd", "wrong_limit"],
    known: None,
    stated: Some((
        "Corollary 2's constant (reconstructed from the authors' plotted bound)",
        "8, in S ≤ 8LΛ‖w*‖^(2−2/L)‖p‖^(2/L)",
        8.0,
    )),
    budget_cap: Some(24),
    control_search: &[("large_scale_gd", 160, 8)],
    slice,
    margin: Some(margin),
    covers,
};
