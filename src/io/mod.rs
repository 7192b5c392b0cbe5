//! Files in and out: instance files, recipes, the one YAML reader/writer, user-facing errors
//! with exit codes, and atomic writes. Above the engine, below the framework and the CLI.

pub mod error;
pub mod input;
pub mod instance;
pub mod npz;
pub mod recipe;
pub mod shard;
pub mod yaml;
