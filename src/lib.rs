//! dlncheck: the theory of deep linear networks as executable, falsifiable checks.
//!
//! Data flows one way: spec → instances → engine → measurements → summary → report.
//! The numerical core (`model`, `objective`, `problem`, `hessian`, `spectrum`, `bounds`,
//! `init`, `data`, `train`) does no I/O; `instance`, `yaml` and the CLI are thin layers over it.

#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read best in numerical code

pub mod audit;
pub mod bench;
pub mod bounds;
pub mod claims;
pub mod data;
pub mod error;
pub mod experiments;
pub mod figures;
pub mod hessian;
pub mod init;
pub mod instance;
pub mod linalg;
pub mod lowrank;
pub mod model;
pub mod objective;
pub mod problem;
pub mod property;
pub mod recipe;
pub mod report;
pub mod rng;
pub mod runner;
pub mod spec;
pub mod spectrum;
pub mod summary;
pub mod train;
pub mod yaml;

/// Makes faer's own kernels sequential, so every result is bit-identical whatever the thread
/// count (parallelism is across instances only). Call at the start of every process and test.
pub fn init_determinism() {
    faer::set_global_parallelism(faer::Par::Seq);
}
