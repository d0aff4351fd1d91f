//! Reporting a failed revision: the failing statement (told by the runner,
//! which runs a revision's statements so that the database says which one
//! failed: nothing is run again to find out), the `failed` log row, and the
//! [`StatementFailure`] the user sees.

use std::time::Instant;

use crate::dialect::Direction;
use crate::revision::Revision;
use crate::store::{self, Db};

use super::super::error::{Error, StatementFailure};
use super::{Migrator, RunReport};
use crate::runner::script::failure_log;

/// A revision that was running when something failed.
#[derive(Clone, Copy)]
pub(super) struct Attempt<'a> {
    pub(super) rev: &'a Revision,
    pub(super) direction: Direction,
    /// The revision's statements.
    pub(super) statements: &'a [String],
    /// For each statement, the line of its step (may be empty).
    pub(super) lines: &'a [usize],
    pub(super) started: Instant,
}

/// How a failed revision was run.
#[derive(Clone, Copy)]
pub(super) struct Mode<'a> {
    /// The row was left `failed` (statement journal).
    pub(super) journaled: bool,
    /// `--atomic`: the whole run was rolled back.
    pub(super) atomic: bool,
    /// What the run applied (and kept) before.
    pub(super) report: &'a RunReport,
}

impl Mode<'_> {
    /// A revision rolled back on its own.
    pub(super) fn rolled_back(report: &RunReport) -> Mode<'_> {
        Mode {
            journaled: false,
            atomic: false,
            report,
        }
    }
}

impl Migrator<'_> {
    /// Builds the failure of a rolled-back revision whose statement
    /// `index` failed (`None`: its bookkeeping or COMMIT), writes the
    /// `failed` log row.
    pub(super) async fn fail(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        index: Option<usize>,
        err: store::Error,
        mode: Mode<'_>,
    ) -> Error {
        self.failed(db, attempt, index, err.database_message(), mode)
            .await
    }

    /// Writes the `failed` log row (best effort: the failure is reported
    /// either way) and builds the error for a failure at statement
    /// `index` with the database's `message`.
    pub(super) async fn failed(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        index: Option<usize>,
        message: String,
        mode: Mode<'_>,
    ) -> Error {
        self.log_failure(db, attempt, &message).await;
        Error::Failed(Box::new(self.failure(attempt, index, message, mode)))
    }

    /// What the user sees of a failure at statement `index`.
    fn failure(
        &self,
        attempt: Attempt<'_>,
        index: Option<usize>,
        message: String,
        mode: Mode<'_>,
    ) -> StatementFailure {
        let Attempt {
            rev,
            direction,
            statements,
            lines,
            ..
        } = attempt;
        StatementFailure {
            revision: rev.id.clone(),
            file: rev.path.clone(),
            direction,
            statement: index.map(|i| i + 1),
            statements: statements.len(),
            sql: index.and_then(|i| statements.get(i).cloned()),
            line: index.and_then(|i| lines.get(i).copied()),
            message,
            journaled: mode.journaled,
            atomic: mode.atomic,
            report: mode.report.clone(),
        }
    }

    /// Writes a `failed` log row (best effort).
    async fn log_failure(&self, db: &mut Db, attempt: Attempt<'_>, message: &str) {
        let Attempt {
            rev,
            direction,
            started,
            ..
        } = attempt;
        let log = failure_log(
            &self.tables,
            rev,
            direction,
            started,
            message,
            &self.applied_by,
        );
        if let Err(e) = db.execute_script(&log, "writing the log").await {
            tracing::warn!("could not write the failed log row of {}: {e}", rev.id);
        }
    }
}
