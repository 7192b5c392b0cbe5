//! jgshg.lazy (regime 1a: large initialisation is lazy): the claim's tightness over the task.
//!
//! The spec's continuous parameters are single values, so the space moves the task (denoising or
//! completion); depth and width from the restart's grid point, the initialisation and the
//! observed entries from its seed.
//!
//! The `small_init` control is not attacked: its violation needs width 32, a discrete choice
//! the attack does not move (the quick grid holds 8; a defect that failed `check --quick`); the
//! grid's control instances still test it.

use super::grid::{GridSpace, Move, everywhere};
use crate::attack::Goal;

pub static SPACE: GridSpace = GridSpace {
    id: "jgshg.lazy",
    goal: Goal::MinimiseTightness,
    description: "the task (denoising or completion); depth and width from the grid, the initialisation and the observed entries from the restart's seed; the claim's tightness c_max/C, C = √w·deviation from the linearised model",
    moves: &[Move::Choice("task")],
    controls: &[],
    known: None,
    stated: None,
    budget_cap: Some(16),
    covers: everywhere,
};
