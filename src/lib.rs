//! retort: Alembic-style versioned database migrations.
//!
//! Modules, from the pure core outward:
//! - [`revision`]: the revision model, the TOML and SQL file formats, checksums, scaffolding;
//! - [`graph`]: the revision DAG, Alembic's target grammar and plans (pure);
//! - [`dialect`]: SQL dialects and rendering (pure);
//! - [`config`]: `alembic.toml`, URLs, precedence;
//! - [`project`]: a loaded project (config + graph) and the file-writing commands;
//! - [`runner`]: plans executed offline (`--sql` scripts) and online;
//! - [`cli`]: the command line.

pub mod cli;
pub mod config;
pub mod data;
pub mod dialect;
pub mod graph;
pub mod project;
pub mod revision;
pub mod runner;
pub mod store;

pub use config::Config;
pub use graph::Graph;
pub use project::Project;
pub use revision::Revision;
