//! dlncheck: the theory of deep linear networks as executable, falsifiable checks.
//!
//! Data flows one way: spec → instances → engine → measurements → summary → report. The layers,
//! each importing only those below it (checked by `tests/layers.rs`):
//!
//! ```text
//! bin/dlncheck   the command line (check, figures, sharpness, bench …)
//! claims         one module per property, named by its id; experiments, figures: the papers' figures
//! attack         beside claims: each property's hypothesis space and an adversary searching it
//! framework      claim contract, specs, runner, summaries, report
//! io             instance files, recipes, YAML, errors with exit codes
//! lowrank        the Jacot et al. mathematics (scalar problems, gauges, flows, denoising)
//! engine         model, objective, derivatives, spectra, bounds, data, init, training (no I/O)
//! ```
//!
//! ## Public API
//!
//! What the command line and the integration tests use; everything else is `pub(crate)`.
//! - [`engine`]: [`engine::model::Dln`], [`engine::problem::Problem`] (loss, gradient, HVP),
//!   [`engine::hessian`], [`engine::spectrum`] (exact and Lanczos sharpness),
//!   [`engine::bounds`] (Marion & Chizat's closed forms), [`engine::train`] (GD, gradient flow),
//!   [`engine::data`], [`engine::init`], [`engine::rng`] (the seeded stream table),
//!   [`engine::audit`].
//! - [`io`]: [`io::instance`] (instance files), [`io::recipe`] (the one typed instance
//!   builder), [`io::yaml`], [`io::error`] (errors and exit codes).
//! - [`framework`]: [`framework::property`] (the claim contract), [`framework::spec`],
//!   [`framework::runner`], [`framework::summary`], [`framework::report`].
//! - [`claims`]: the registry ([`claims::all`], [`claims::find`], [`claims::load_spec`]).
//! - [`experiments`], [`figures`]: the papers' figures ([`figures::run`]); [`lowrank`]: the
//!   Jacot et al. mathematics.
//! - [`init_determinism`].

#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read best in numerical code

pub mod attack;
pub mod claims;
pub mod engine;
pub mod experiments;
pub mod figures;
pub mod framework;
pub mod io;
pub mod lowrank;

/// Makes faer's own kernels sequential, so every result is bit-identical whatever the thread
/// count (parallelism is across instances only). Call at the start of every process and test.
pub fn init_determinism() {
    faer::set_global_parallelism(faer::Par::Seq);
}
