//! jgshg.lazy (regime 1a: large initialisation is lazy): the claim's tightness over the task and
//! the base width.
//!
//! Moves the task (denoising or completion) and the width (the claim's widths: the full grid's and
//! the restart's); depth from the restart's grid point, the initialisation and the observed
//! entries from its seed. The `small_init` control (std 0.001) is attacked over the same space:
//! its spec's width 128 does not join the widths, since its runs there (4w = 512, to t = 1e5)
//! cost ~100× the claim's; within the claim's widths it is broken at w = 32, where the unobserved
//! entries travel the whole gap at 4w (C = √128·fraction = 11.3 > c_max = 8; at w ≤ 16 it ties
//! or holds: √64 = c_max), a weaker failure than the spec's grid point, which fails at both
//! widths. Both moves are categorical (plateaus Nelder–Mead cannot follow), so each of the
//! control's 4 restarts evaluates every (task, width) cell, its start's first; the denoising
//! cells, where the control has no statement, are rejected.

use super::grid::{GridSpace, Move, everywhere, no_slice};
use crate::attack::Goal;

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.lazy",
    goal: Goal::MinimiseTightness,
    description: "the task (denoising or completion) and the width (the claim's); depth from the grid, the initialisation and the observed entries from the restart's seed; the claim's tightness c_max/C, C = √w·deviation from the linearised model",
    moves: &[Move::Choice("task"), Move::ClaimChoice("width")],
    controls: &["small_init"],
    known: None,
    stated: None,
    budget_cap: Some(16),
    control_search: &[("small_init", 40, 4)],
    slice: no_slice,
    margin: None,
    covers: everywhere,
};
