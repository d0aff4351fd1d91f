//! The data lane (design §5.2, issue #5): batched, resumable, observable
//! data migrations.
//!
//! - [`model`]: data steps (`update`, `copy_rows`, `transform`, `load`,
//!   `sql` and the named operations lowered onto them), parsed from a
//!   revision's raw operation tables, with their reverses;
//! - [`sql`]: the SQL text of batches, boundaries, counts (pure, per
//!   dialect; user SQL is pasted as written, user *data* is always bound);
//! - [`exec`]: the online runner of a data revision: keyset batches, each
//!   committed with its checkpoint in `_versions`, resume, verify, dry-run;
//! - [`progress`]: the checkpoint JSON and the progress events;
//! - [`render`]: `--sql` rendering of data steps;
//! - [`transform`]: row-level minijinja expressions;
//! - [`fixture`]: CSV/JSON fixtures (`load`, `data load`, `data dump`);
//! - [`template`]: `template = true`: `sql` steps and `[[verify]]` SQL
//!   through the schema lane's minijinja rendering (design §5.4).

use std::path::PathBuf;

use crate::dialect::Direction;
use crate::revision::{Revision, StepKind};

pub mod exec;
pub mod fixture;
pub mod model;
pub mod progress;
pub mod render;
pub mod sizer;
pub mod sql;
pub mod template;
pub mod transform;

pub use exec::{DataOptions, DryRunCount};
pub use progress::{Checkpoint, DataEvent};

/// Whether `rev` runs through the data runner: it has a data step in
/// either direction, or `[[verify]]` checks.
pub fn is_data_revision(rev: &Revision) -> bool {
    !rev.verify.is_empty()
        || rev
            .upgrade
            .iter()
            .chain(rev.downgrade.iter().flatten())
            .any(|s| matches!(&s.kind, StepKind::Operation { op, .. } if model::is_data_op(op)))
}

/// Checks everything about `rev`'s steps in `direction` that can be
/// checked without the database: the steps parse (for a downgrade without
/// `[[downgrade]]`, every upgrade step has a derived reverse) and every
/// `load` step's fixture file exists and parses. The runner calls this for
/// each data revision of a plan before the plan's first statement.
///
/// # Errors
/// [`Error::Invalid`] (a `load` whose fixture cannot be read names the
/// step and the file), [`Error::NoReverse`].
pub fn check_revision(
    rev: &Revision,
    direction: Direction,
    dialect: crate::dialect::Dialect,
) -> Result<(), Error> {
    for located in model::steps_of(rev, direction, dialect)? {
        if let model::DataStep::Load(load) = &located.step {
            fixture::read_fixture(&load.file).map_err(|e| Error::Invalid {
                site: Box::new(located.site.clone()),
                problem: format!("cannot read the fixture: {e}"),
            })?;
        }
    }
    Ok(())
}

/// Where a data step is, for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Revision id.
    pub revision: String,
    /// Revision file.
    pub file: PathBuf,
    /// `upgrade` or `downgrade`.
    pub direction: Direction,
    /// 1-based step number (0: a `[[verify]]` check).
    pub step: usize,
    /// Line of the step in the file.
    pub line: usize,
    /// The `op`.
    pub op: String,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Step 0: a `[[verify]]` check (its `op` names it), not a step.
        if self.step == 0 {
            return write!(
                f,
                "revision {} ({}), {} (line {})",
                self.revision,
                self.file.display(),
                self.op,
                self.line
            );
        }
        write!(
            f,
            "revision {} ({}), {} step {} (line {}, `{}`)",
            self.revision,
            self.file.display(),
            self.direction,
            self.step,
            self.line,
            self.op
        )
    }
}

/// Errors of the data lane. Each names the revision, file, step and line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data step whose keys or values are wrong.
    #[error("{site}: {problem}")]
    Invalid {
        /// Where.
        site: Box<Site>,
        /// What is wrong and what to write instead.
        problem: String,
    },
    /// A statement of a data step failed.
    #[error("{site}: {message}\n  SQL: {sql}")]
    Query {
        /// Where.
        site: Box<Site>,
        /// The statement.
        sql: String,
        /// The database's message.
        message: String,
    },
    /// A `[[verify]]` check returned another value.
    #[error("revision {} ({}): verify check `{name}` (line {}) returned {value}, expected {expect}; the data steps are committed and the revision is marked failed: fix the data or the check and run `retort upgrade` again (only the checks run again), or `retort downgrade {}-1`", .site.revision, .site.file.display(), .site.line, .site.revision)]
    VerifyFailed {
        /// Revision, file and line of the check.
        site: Box<Site>,
        /// The check's name.
        name: String,
        /// What it returned (`NULL` when nothing).
        value: String,
        /// What it should have returned.
        expect: String,
    },
    /// A `sql` step of a revision with `template = true` failed to render:
    /// the schema lane's [`crate::dialect::Error::Template`] (revision,
    /// file, step, line, the line within the step's SQL, how to fix).
    #[error(transparent)]
    Template(Box<crate::dialect::Error>),
    /// A `[[verify]]` check's SQL failed to render (`template = true`).
    #[error("revision {} ({}): verify check `{name}` (line {}): template error{}: {detail} ({})", .site.revision, .site.file.display(), .site.line, .template_line.map(|l| format!(" at line {l} of the check's SQL")).unwrap_or_default(), crate::dialect::TEMPLATE_HINT)]
    VerifyTemplate {
        /// Revision, file and line of the check.
        site: Box<Site>,
        /// The check's name.
        name: String,
        /// Line within the check's SQL, when minijinja knows it.
        template_line: Option<usize>,
        /// minijinja's description.
        detail: String,
    },
    /// Ctrl-C: stopped at a batch boundary, checkpoint saved.
    #[error("interrupted: revision {revision} stopped at a batch boundary of step {step} after {rows} rows; the checkpoint is saved, run the same command again to resume")]
    Cancelled {
        /// Revision id.
        revision: String,
        /// 1-based step.
        step: usize,
        /// Rows done in that step.
        rows: u64,
    },
    /// Ctrl-C while waiting for the SQLite file lock another process holds
    /// (a data revision it is running): this revision was not started.
    #[error("interrupted while waiting for {lock} (another retort process holds it); the revision was not started")]
    LockWaitCancelled {
        /// Which lock.
        lock: String,
    },
    /// A data revision without downgrade steps whose upgrade cannot be
    /// reversed.
    #[error("revision {revision} ({}) has no [[downgrade]] steps and upgrade step {step} (line {line}, `{op}`) has no reverse; add [[downgrade]] steps (`downgrade = []` to do nothing)", .file.display())]
    NoReverse {
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// 1-based step.
        step: usize,
        /// Its line.
        line: usize,
        /// Its op.
        op: String,
    },
    /// A `load` step resumed with rows already loaded, and the fixture's
    /// first rows (as many as were loaded) or its columns have changed
    /// since: its checkpoint counts fixture rows, so going on by position
    /// could skip or repeat rows. Nothing was loaded.
    #[error("{site}: the first {rows} rows of the fixture {} changed since they were loaded (SHA-256 of its columns and those rows: {} then, {} now); going on by row position could skip rows or load them twice, so nothing was loaded. {}", .file.display(), short_digest(.was), short_digest(.now), fixture_changed_hint(.site, *.rows))]
    FixtureChanged {
        /// Where the step is.
        site: Box<Site>,
        /// The fixture as written in the revision.
        file: PathBuf,
        /// Fixture rows loaded from the earlier version.
        rows: u64,
        /// SHA-256 (hex) recorded in the checkpoint.
        was: String,
        /// SHA-256 (hex) of the file now.
        now: String,
    },
    /// Reading or writing a fixture or dump file.
    #[error("{}: {message}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Talking to the database outside a step (checkpoints, bookkeeping).
    #[error("{what}: {message}")]
    Db {
        /// What was being done.
        what: String,
        /// The database's message.
        message: String,
    },
}

/// The first 12 hex digits of a digest, enough to tell versions apart.
fn short_digest(hex: &str) -> String {
    format!("{}…", hex.get(..12).unwrap_or(hex))
}

/// How to settle a `load` whose fixture changed: restore the file, or undo
/// and settle the revision so that it runs again from its first step.
fn fixture_changed_hint(site: &Site, rows: u64) -> String {
    let (settle, command) = match site.direction {
        Direction::Upgrade => ("--reverted", "upgrade"),
        Direction::Downgrade => ("--applied", "downgrade"),
    };
    let earlier = if site.step > 1 {
        " and what the steps before it did"
    } else {
        ""
    };
    format!(
        "Restore those rows and the columns as they were to resume (rows after them may \
         change), or undo the {rows} rows loaded so far{earlier} and run `retort resolve {rev} \
         {settle}`: the next `retort {command}` then runs the revision from its first step with \
         the new file",
        rev = site.revision
    )
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Error {
        if let crate::store::Error::LockWaitCancelled { lock } = e {
            return Error::LockWaitCancelled { lock };
        }
        Error::Db {
            what: "talking to the database".to_string(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_name_the_step_or_the_check() {
        let mut site = Site {
            revision: "d1".to_string(),
            file: PathBuf::from("m/d1_x.toml"),
            direction: Direction::Upgrade,
            step: 2,
            line: 9,
            op: "update".to_string(),
        };
        assert_eq!(
            site.to_string(),
            "revision d1 (m/d1_x.toml), upgrade step 2 (line 9, `update`)"
        );
        let changed = Error::FixtureChanged {
            site: Box::new(site.clone()),
            file: PathBuf::from("fixtures/rows.csv"),
            rows: 20,
            was: "ab".repeat(32),
            now: "cd".repeat(32),
        };
        assert_eq!(
            changed.to_string(),
            "revision d1 (m/d1_x.toml), upgrade step 2 (line 9, `update`): the first 20 rows \
             of the fixture fixtures/rows.csv changed since they were loaded (SHA-256 of its \
             columns and those rows: abababababab… then, cdcdcdcdcdcd… now); going on by row \
             position could skip rows or load them twice, so nothing was loaded. Restore those \
             rows and the columns as they were to resume (rows after them may change), or undo \
             the 20 rows loaded so far and what the steps before it did and run `retort resolve \
             d1 --reverted`: the next `retort upgrade` then runs the revision from its first \
             step with the new file"
        );
        site.step = 0;
        site.op = "verify no nulls".to_string();
        assert_eq!(
            site.to_string(),
            "revision d1 (m/d1_x.toml), verify no nulls (line 9)"
        );
    }
}
