//! Errors of the online runner. Each variant carries the ids a user needs
//! (revision, file, statement) and, for failures during a run, the
//! [`RunReport`] of what was applied before it; [`Error::hint`] names the
//! command that fixes the situation.

use std::path::PathBuf;

use super::online::RunReport;
use crate::dialect::versions::VersionState;
use crate::dialect::{self, Dialect, Direction};
use crate::{graph, store};

/// Where and why a revision failed.
#[derive(Debug, Clone)]
pub struct StatementFailure {
    /// The revision id.
    pub revision: String,
    /// Its file.
    pub file: PathBuf,
    /// Which of its step lists was running.
    pub direction: Direction,
    /// 1-based number of the failing statement among the revision's
    /// statements, when it could be found.
    pub statement: Option<usize>,
    /// How many statements the revision has.
    pub statements: usize,
    /// The failing statement's text.
    pub sql: Option<String>,
    /// The line of the step that produced it.
    pub line: Option<usize>,
    /// The database's message.
    pub message: String,
    /// Whether the revision's row was left `failed` (statement journal:
    /// MySQL/MariaDB, `transactional = false`); otherwise everything of
    /// the revision was rolled back.
    pub journaled: bool,
    /// Whether the whole run was one transaction (`--atomic`), so that
    /// nothing at all was applied.
    pub atomic: bool,
    /// What this run applied before the failure (and kept).
    pub report: RunReport,
}

impl std::fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of revision {} ({}) failed",
            self.direction,
            self.revision,
            self.file.display()
        )?;
        if let Some(n) = self.statement {
            write!(f, " at statement {n} of {}", self.statements)?;
            if let Some(line) = self.line {
                write!(f, " (step at line {line})")?;
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(sql) = &self.sql {
            write!(f, "\n  statement: {}", sql.trim())?;
        }
        let applied: Vec<&str> = self
            .report
            .steps
            .iter()
            .map(|s| s.revision.as_str())
            .collect();
        if self.atomic {
            write!(
                f,
                "\n  the run was one transaction and was rolled back: nothing was applied"
            )?;
        } else if applied.is_empty() {
            write!(f, "\n  applied before the failure: nothing")?;
        } else {
            write!(f, "\n  applied before the failure: {}", applied.join(", "))?;
        }
        if self.journaled {
            write!(
                f,
                "\n  statements before number {} ran and were committed; the row of {} is `failed`",
                self.statement.unwrap_or(1),
                self.revision
            )?;
        } else if !self.atomic {
            write!(f, "\n  revision {} was rolled back", self.revision)?;
        }
        Ok(())
    }
}

/// Errors of online commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No database URL configured.
    #[error("no database URL is configured")]
    NoUrl,
    /// Talking to the database failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The connection failed in the middle of a run.
    #[error("the run stopped: {cause}{}", applied_note(.report))]
    Interrupted {
        /// What went wrong (in the message, not the `source()`: a printed
        /// chain says it once).
        cause: Box<store::Error>,
        /// What was applied before.
        report: RunReport,
    },
    /// Ctrl-C: the run stopped at a revision boundary; what was applied
    /// before stays applied.
    #[error("interrupted: the run stopped before revision {next}{}", applied_note(.report))]
    Cancelled {
        /// The revision that would have run next.
        next: String,
        /// What was applied before.
        report: RunReport,
    },
    /// Ctrl-C while waiting for a lock another retort process holds (the
    /// run lock, or SQLite's file lock): the revision waiting for it was
    /// not started; what was applied before stays applied.
    #[error("interrupted while waiting for {lock} (another retort process holds it){}", applied_note(.report))]
    LockWaitCancelled {
        /// Which lock.
        lock: String,
        /// What was applied before.
        report: RunReport,
    },
    /// Target resolution or planning failed.
    #[error(transparent)]
    Graph(#[from] graph::Error),
    /// A data revision failed, was interrupted or did not verify (DATA LANE).
    #[error(transparent)]
    Data(#[from] crate::data::Error),
    /// A revision's steps could not be rendered.
    #[error(transparent)]
    Render(#[from] dialect::Error),
    /// A statement failed.
    #[error("{0}")]
    Failed(Box<StatementFailure>),
    /// An applied revision's file changed.
    #[error("revision {revision} was applied, but its file {} has changed since:\n{diff}", .file.display())]
    Changed {
        /// Revision id.
        revision: String,
        /// Its file.
        file: PathBuf,
        /// A unified diff, recorded → file (or a note when the recorded
        /// content is unknown).
        diff: String,
    },
    /// A row names a revision no file defines.
    #[error(
        "revision {revision} (lane {lane}) is recorded in {table} but no revision file defines it"
    )]
    MissingFile {
        /// Revision id.
        revision: String,
        /// Its lane as recorded.
        lane: String,
        /// The version table.
        table: String,
    },
    /// A `running` or `failed` row blocks the run.
    #[error("revision {revision} is {state} ({direction} stopped before statement {statement}{}); no other revision runs until it is settled", .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default(), state = .state.as_str())]
    Unfinished {
        /// Revision id.
        revision: String,
        /// `running` or `failed`.
        state: VersionState,
        /// The interrupted direction.
        direction: Direction,
        /// 1-based number of the next statement.
        statement: usize,
        /// The recorded error.
        error: Option<String>,
    },
    /// `stamp` (without `--purge`) while a row is `running` or `failed`.
    #[error("revision {revision} is {state} ({direction} stopped before statement {statement}); stamp does not rewrite rows while a revision is unfinished", state = .state.as_str())]
    StampUnfinished {
        /// Revision id.
        revision: String,
        /// `running` or `failed`.
        state: VersionState,
        /// The interrupted direction.
        direction: Direction,
        /// 1-based number of the next statement.
        statement: usize,
    },
    /// `--atomic` on a dialect whose DDL commits implicitly.
    #[error("--atomic / transaction = \"all\" needs transactional DDL, and {dialect} commits every DDL statement implicitly")]
    AtomicUnsupported {
        /// The dialect.
        dialect: Dialect,
    },
    /// A `transactional = false` revision in an atomic run.
    #[error("revision {revision} ({}) has `transactional = false`, but --atomic / transaction = \"all\" runs everything in one transaction", .file.display())]
    NonTransactionalInAtomic {
        /// Revision id.
        revision: String,
        /// Its file.
        file: PathBuf,
    },
    /// A data revision in an atomic run: its batches commit one by one
    /// with their checkpoint, so it cannot run inside the run's one
    /// transaction. Refused before anything runs.
    #[error("--atomic / transaction = \"all\" runs the whole {direction} in one transaction, but revision {revision} ({}) is a data revision, whose batches commit one by one with their checkpoint, so it cannot run inside that transaction (data revisions in this {direction}: {}); nothing was run", .file.display(), .data_revisions.join(", "))]
    DataInAtomic {
        /// The first data revision of the plan.
        revision: String,
        /// Its file.
        file: PathBuf,
        /// Every data revision of the plan, in plan order.
        data_revisions: Vec<String>,
        /// The plan's direction.
        direction: Direction,
        /// The revision the plan runs just before the first data revision
        /// (an upgrade can run up to it with `--atomic`).
        before: Option<String>,
    },
    /// `amend` / `resolve` of a revision without a row.
    #[error("revision {revision} has no row in {table}")]
    NotRecorded {
        /// Revision id.
        revision: String,
        /// The version table.
        table: String,
    },
    /// `resolve` of a revision that is applied normally.
    #[error("revision {revision} is applied, not running or failed: there is nothing to resolve")]
    NothingToResolve {
        /// Revision id.
        revision: String,
    },
    /// A target naming several revisions where one is needed.
    #[error("`{target}` names {count} revisions; give one revision")]
    NotOne {
        /// The target as given.
        target: String,
        /// How many it named.
        count: usize,
    },
    /// A revision file could not be read.
    #[error("cannot read {}: {cause}", .path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, not the `source()`).
        cause: std::io::Error,
    },
}

/// A command that runs `revision` again in `direction`: `upgrade` has a
/// default target (head); `downgrade` needs one, the revision's parent.
fn resume_command(direction: Direction, revision: &str) -> String {
    match direction {
        Direction::Upgrade => "retort upgrade".to_string(),
        Direction::Downgrade => format!("retort downgrade {revision}-1"),
    }
}

fn applied_note(report: &RunReport) -> String {
    if report.steps.is_empty() {
        "; nothing was applied by this run".to_string()
    } else {
        let ids: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        format!("; applied before: {}", ids.join(", "))
    }
}

impl Error {
    /// [`Error::LockWaitCancelled`] for a store error that is one (with
    /// what `report` says was applied before), else the error back.
    pub(crate) fn lock_wait(e: store::Error, report: &RunReport) -> Result<Error, store::Error> {
        match e {
            store::Error::LockWaitCancelled { lock } => Ok(Error::LockWaitCancelled {
                lock,
                report: report.clone(),
            }),
            e => Err(e),
        }
    }

    /// A line telling the user what to run next, if there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoUrl => Some(
                "pass --url (e.g. --url sqlite://app.db), set DATABASE_URL, or set [database] url in alembic.toml"
                    .to_string(),
            ),
            Error::Graph(e) => e.hint(),
            Error::Failed(f) if f.journaled => Some(format!(
                "fix {} and run `{}` to resume at statement {}, or repair by hand and run `retort resolve {} --applied` (or `--reverted`)",
                f.file.display(),
                resume_command(f.direction, &f.revision),
                f.statement.unwrap_or(1),
                f.revision
            )),
            Error::Failed(f) => Some(format!(
                "fix {} and run `{}`",
                f.file.display(),
                resume_command(f.direction, &f.revision)
            )),
            Error::Changed { revision, .. } => Some(format!(
                "if the change is intended, accept it with `retort amend {revision}`; otherwise restore the file (e.g. `git checkout -- <file>`)"
            )),
            Error::MissingFile { revision, .. } => Some(format!(
                "restore the file of {revision}, or record the revisions that are really applied with `retort stamp REV --purge`"
            )),
            Error::Unfinished {
                revision,
                direction,
                ..
            } => Some(format!(
                "fix its file and run `{}` to resume it, or repair by hand and run `retort resolve {revision} --applied` (or `--reverted`)",
                resume_command(*direction, revision)
            )),
            Error::StampUnfinished { revision, .. } => Some(format!(
                "settle it first: after repairing by hand, `retort resolve {revision} --applied` (or `--reverted`); or `retort stamp REV --purge` to replace every row"
            )),
            Error::AtomicUnsupported { .. } => {
                Some("run without --atomic: each revision is journaled statement by statement".to_string())
            }
            Error::NonTransactionalInAtomic { .. } => Some("run without --atomic".to_string()),
            Error::DataInAtomic {
                direction: Direction::Upgrade,
                before: Some(before),
                ..
            } => Some(format!(
                "run `retort upgrade --atomic {before}` for the revisions before it, then `retort upgrade` without --atomic (and without `transaction = \"all\"` in alembic.toml) for the rest"
            )),
            Error::DataInAtomic { direction, .. } => Some(format!(
                "run `retort {direction}` without --atomic (and without `transaction = \"all\"` in alembic.toml): each revision then commits on its own, a data revision batch by batch"
            )),
            Error::Cancelled { .. } => {
                Some("run the same command again to continue".to_string())
            }
            Error::LockWaitCancelled { .. } => Some(
                "run the same command again to continue (it waits until the other process is done)"
                    .to_string(),
            ),
            Error::NotRecorded { .. } => Some("`retort current` shows what is recorded".to_string()),
            Error::Store(e) => e.hint(),
            Error::Interrupted { .. }
            | Error::Data(_)
            | Error::Render(_)
            | Error::NothingToResolve { .. }
            | Error::NotOne { .. }
            | Error::ReadFile { .. } => None,
        }
    }
}
