//! A loaded project: the configuration plus the validated revision graph of
//! every lane, and the library functions behind the file-writing commands
//! (`init`, `revision`, `merge`).

use crate::config::Config;
use crate::graph::Graph;

/// Errors loading a project or writing revision files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Placeholder while the module is being written.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
}

/// A project: its configuration and its revision graph.
#[derive(Debug, Clone)]
pub struct Project {
    /// The resolved configuration.
    pub config: Config,
    /// Every lane's revisions, validated.
    pub graph: Graph,
}

impl Project {
    /// Reads every lane directory (files in file-name order, lanes in config
    /// order), parses the revision files and builds the graph.
    ///
    /// # Errors
    /// Parse errors (file and line) and graph validation errors.
    pub fn load(config: Config) -> Result<Project, Error> {
        let _ = config;
        todo!()
    }
}
