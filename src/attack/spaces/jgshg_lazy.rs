//! jgshg.lazy (regime 1a: large initialisation is lazy): the claim's tightness over the task.
//!
//! The spec's continuous parameters are single values, so the space moves the task (denoising or
//! completion); depth and width from the restart's grid point, the initialisation and the
//! observed entries from its seed.

use super::grid::{GridSpace, Move, everywhere};
use crate::attack::Goal;

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.lazy",
    goal: Goal::MinimiseTightness,
    description: "the task (denoising or completion); depth and width from the grid, the initialisation and the observed entries from the restart's seed; the claim's tightness c_max/C, C = √w·deviation from the linearised model",
    moves: &[Move::Choice("task")],
    controls: &["small_init"],
    known: None,
    stated: None,
    budget_cap: Some(16),
    covers: everywhere,
};
