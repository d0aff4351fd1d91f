//! SQL dialects and everything rendered per dialect: step SQL, the
//! `_versions` bookkeeping statements, and statement splitting. Pure: no I/O.
//!
//! Why one module: the offline script (`--sql`) and the online runner must
//! send the very same statements, so everything that turns a revision into
//! SQL text lives here and both call it. Nothing here touches a connection
//! or a file, so every rendering is pinned by unit tests per dialect.
//!
//! - [`render`]: a revision's steps → statements (per-dialect variants,
//!   opt-in minijinja templating, splitting, portable operations, derived
//!   downgrades);
//! - [`ops`]: portable schema operations: model, parsing, rendering through
//!   sea-query, SQLite rebuilds, the replayed schema model, inverses;
//! - [`split`]: the dialect-aware statement splitter;
//! - [`versions`]: DDL of `_versions` and `_versions_log`, and the
//!   INSERT/DELETE bookkeeping statements, rendered through sea-query.

use std::fmt;
use std::path::PathBuf;

pub mod ops;
pub mod render;
pub mod split;
pub mod versions;

pub use render::{
    render_revision, render_revision_on, render_step, render_steps, replay_onto, replay_schema,
    Direction, RenderedSteps,
};
pub use split::split_statements;

/// How to fix a template error, the end of every template error message
/// (schema `sql` steps here; the data lane's `sql` steps and `[[verify]]`
/// SQL in `crate::data::Error`).
pub(crate) const TEMPLATE_HINT: &str = "the revision has `template = true`; a literal `{{` is written `{{ '{{' }}`, or set `template = false`";

/// Errors turning revisions into SQL. Each names the revision, its file and
/// the step (1-based number and file line) and says what to do instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data operation (`update`, …) where schema statements are rendered.
    #[error(
        "revision {revision} ({}), {direction} step {step} (line {line}): `{op}` is a data operation, which runs only in a data revision's batches, not as a schema statement on {dialect}; put it in a data revision (`retort revision --lane data`) or write it as an `op = \"sql\"` step",
        .file.display()
    )]
    UnsupportedOperation {
        /// The `op` value.
        op: String,
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// `upgrade` or `downgrade`.
        direction: Direction,
        /// 1-based step number within its list.
        step: usize,
        /// Line of the step in the file.
        line: usize,
        /// Target dialect.
        dialect: Dialect,
    },
    /// A portable operation whose keys or values are wrong (or an unknown
    /// `op`).
    #[error(
        "revision {revision} ({}), {direction} step {step} (line {line}): operation `{op}`: {problem}",
        .file.display()
    )]
    InvalidOperation {
        /// The `op` value.
        op: String,
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// `upgrade` or `downgrade`.
        direction: Direction,
        /// 1-based step number within its list.
        step: usize,
        /// Line of the step in the file.
        line: usize,
        /// What is wrong (names the key and lists the valid ones).
        problem: Box<ops::Problem>,
    },
    /// A valid operation that cannot be rendered for the dialect (no
    /// equivalent, or a needed table definition is unknown).
    #[error(
        "revision {revision} ({}), {direction} step {step} (line {line}): cannot render `{op}` for {dialect}: {problem}",
        .file.display()
    )]
    CannotRender {
        /// The `op` value.
        op: String,
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// `upgrade` or `downgrade`.
        direction: Direction,
        /// 1-based step number within its list.
        step: usize,
        /// Line of the step in the file.
        line: usize,
        /// Target dialect.
        dialect: Dialect,
        /// Why, and what to do.
        problem: Box<ops::Problem>,
    },
    /// `downgrade` through a TOML revision without `[[downgrade]]` whose
    /// upgrade has a step with no derivable inverse.
    #[error(
        "revision {revision} ({}) has no [[downgrade]] steps and its downgrade cannot be derived: upgrade step {step} (line {line}, `{op}`) {reason}; add [[downgrade]] steps (an empty `[[downgrade]]` list is written `downgrade = []`)",
        .file.display()
    )]
    NotInvertible {
        /// The `op` of the first non-invertible step.
        op: String,
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// 1-based number of the upgrade step.
        step: usize,
        /// Line of the step in the file.
        line: usize,
        /// Why it has no inverse.
        reason: String,
    },
    /// A templated `sql` step (`template = true`) failed to render.
    #[error(
        "revision {revision} ({}), {direction} step {step} (line {line}): template error{}: {detail} ({TEMPLATE_HINT})",
        .file.display(),
        .template_line.map(|l| format!(" at line {l} of the step's SQL")).unwrap_or_default()
    )]
    Template {
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// `upgrade` or `downgrade`.
        direction: Direction,
        /// 1-based step number within its list.
        step: usize,
        /// Line of the step in the file.
        line: usize,
        /// Line within the step's SQL text, when minijinja knows it.
        template_line: Option<usize>,
        /// minijinja's description.
        detail: String,
    },
    /// `downgrade` through a SQL-format revision that has no
    /// `-- migrate:downgrade` section (raw SQL has no derivable inverse).
    #[error(
        "revision {revision} ({}) has no downgrade steps, so it cannot be downgraded: add a `[[downgrade]]` step (TOML) or a `-- migrate:downgrade` section (SQL); an empty one means \"nothing to undo\"",
        .file.display()
    )]
    NoDowngrade {
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
    },
    /// A data revision's step (data lane, src/data/).
    #[error(transparent)]
    Data(Box<crate::data::Error>),
}

// DATA LANE: errors of data revisions rendered for `--sql` (src/data/).
// A data `sql` step's template error is this module's own
// [`Error::Template`]: unwrapped, so that both lanes report it alike.
impl From<crate::data::Error> for Error {
    fn from(e: crate::data::Error) -> Error {
        match e {
            crate::data::Error::Template(inner) => *inner,
            other => Error::Data(Box::new(other)),
        }
    }
}

/// A SQL dialect retort can render for. Matched exhaustively everywhere (no
/// `_` arm), so adding one makes the compiler list every place to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Dialect {
    /// SQLite 3 (embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl Dialect {
    /// Every dialect, in a fixed order.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    /// The name used in revision files for per-dialect variants and in the
    /// `dialect` template variable: `sqlite`, `postgresql`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
            Dialect::Mysql => "mysql",
        }
    }

    /// Parses a variant key as written in revision files (`sqlite`,
    /// `postgresql`/`postgres`, `mysql`/`mariadb`).
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "sqlite" => Some(Dialect::Sqlite),
            "postgresql" | "postgres" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// Whether DDL runs inside transactions (MySQL commits it implicitly).
    pub fn transactional_ddl(self) -> bool {
        match self {
            Dialect::Sqlite | Dialect::Postgres => true,
            Dialect::Mysql => false,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
