//! `alembic.toml` → [`Config`]: environment expansion (`${VAR}`,
//! `${VAR:-default}`), URL normalisation (SQLAlchemy forms accepted),
//! password redaction, and precedence (flag > `DATABASE_URL` > file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::dialect::Dialect;
use crate::revision::FileFormat;

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Placeholder while the module is being written.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
}

/// What the command line says about configuration (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-c/--config FILE`; default `./alembic.toml`.
    pub config: Option<PathBuf>,
    /// `--url URL`.
    pub url: Option<String>,
    /// `-x KEY=VALUE` pairs, added to `[vars]`.
    pub vars: Vec<(String, String)>,
}

/// How revisions are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// One transaction per revision (default).
    #[default]
    PerRevision,
    /// The whole run in one transaction (`--atomic`, `transaction = "all"`).
    All,
}

/// One lane: a name and the directory of its revision files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// Lane name (the `[lanes]` key).
    pub name: String,
    /// Directory, resolved against the config file's directory.
    pub dir: PathBuf,
}

/// `[revision]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSettings {
    /// Default file format of `retort revision`.
    pub format: FileFormat,
    /// minijinja template of the file name (without extension).
    pub file_template: String,
    /// A directory whose templates override the embedded ones.
    pub templates: Option<PathBuf>,
}

/// A database URL: its dialect, the URL sqlx connects with, and a redacted
/// form for printing.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    dialect: Dialect,
    url: String,
}

impl DbUrl {
    /// Parses and normalises a URL (`sqlite://path`, `sqlite::memory:`,
    /// `postgres://`, `postgresql://`, `mysql://`, `mariadb://`, and the
    /// SQLAlchemy forms `sqlite:///path`, `postgresql+psycopg2://…`,
    /// `mysql+pymysql://…`).
    ///
    /// # Errors
    /// An unknown scheme (the message lists the accepted ones) or a malformed URL.
    pub fn parse(url: &str) -> Result<DbUrl, Error> {
        let _ = url;
        todo!()
    }

    /// The dialect of this URL.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The normalised URL to connect with. Contains the password: never print it.
    pub fn dangerous_connect_str(&self) -> &str {
        &self.url
    }

    /// The URL with any password replaced by `***`, safe to print.
    pub fn redacted(&self) -> String {
        todo!()
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbUrl")
            .field("dialect", &self.dialect)
            .field("url", &self.redacted())
            .finish()
    }
}

/// The resolved configuration of a project.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// The project root (the config file's directory).
    pub root: PathBuf,
    /// The database URL after precedence, if any was given anywhere.
    pub url: Option<DbUrl>,
    /// Name of the version table (default `_versions`; the log is `<name>_log`).
    pub version_table: String,
    /// Transaction grouping.
    pub transaction: TransactionMode,
    /// Lanes in config order (default: one lane `schema` = `migrations/schema`).
    pub lanes: Vec<Lane>,
    /// `[revision]` settings.
    pub revision: RevisionSettings,
    /// `[vars]` plus `-x` values.
    pub vars: BTreeMap<String, String>,
}

impl Config {
    /// Reads the config file and applies the environment and `overrides`.
    ///
    /// # Errors
    /// A missing or malformed file (named, with line), unknown keys, a bad URL.
    pub fn load(overrides: &Overrides) -> Result<Config, Error> {
        let _ = overrides;
        todo!()
    }
}
