//! The property framework: the claim contract ([`property`]), validated specs ([`spec`]), the
//! runner over seeded instances ([`runner`]), statistical summaries ([`summary`]) and the
//! deterministic YAML report ([`report`]). Claims implement its contract; the CLI drives it.

pub mod catalogue;
pub mod html;
pub mod margins;
pub mod partial;
pub mod property;
pub mod report;
pub mod runner;
pub mod spec;
pub mod summary;
