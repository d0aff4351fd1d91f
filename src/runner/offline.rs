//! `upgrade --sql`, `downgrade --sql`, `stamp --sql`: the script of a plan,
//! for the dialect of the configured URL, without a connection.

use std::collections::BTreeMap;

use crate::dialect::Dialect;
use crate::graph::Graph;

/// Errors building a script.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Placeholder while the module is being written.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
}

/// What a script is rendered for.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// Target dialect (from the URL).
    pub dialect: Dialect,
    /// Version table name; the log is `<name>_log`.
    pub version_table: String,
    /// One transaction around everything instead of one per revision.
    pub atomic: bool,
    /// Values for templated SQL (`[vars]` and `-x`).
    pub vars: BTreeMap<String, String>,
}

/// The script of `upgrade --sql [FROM:]TO`.
///
/// # Errors
/// Target and planning errors; steps that cannot be rendered.
pub fn upgrade_script(graph: &Graph, opts: &ScriptOptions, range: &str) -> Result<String, Error> {
    let _ = (graph, opts, range);
    todo!()
}

/// The script of `downgrade --sql FROM:TO`.
///
/// # Errors
/// `downgrade with --sql requires <fromrev>:<torev>`, target and planning errors.
pub fn downgrade_script(graph: &Graph, opts: &ScriptOptions, range: &str) -> Result<String, Error> {
    let _ = (graph, opts, range);
    todo!()
}

/// The script of `stamp --sql [FROM:]REV…`.
///
/// # Errors
/// Target errors.
pub fn stamp_script(
    graph: &Graph,
    opts: &ScriptOptions,
    targets: &[String],
) -> Result<String, Error> {
    let _ = (graph, opts, targets);
    todo!()
}
