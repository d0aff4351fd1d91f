//! SQLite specifics: a transactional revision in `BEGIN IMMEDIATE` with
//! the re-read of its row (design §7.3: two processes never apply a
//! revision twice), foreign keys around table rebuilds, and
//! `PRAGMA foreign_key_check` before the commit.

use chrono::Utc;

use crate::dialect::ops::render::{FOREIGN_KEYS_OFF, FOREIGN_KEYS_ON};
use std::time::Instant;

use crate::dialect::versions::{At, Elapsed};
use crate::dialect::{Dialect, Direction, RenderedSteps};
use crate::revision::Revision;
use crate::store::{self, Db, RawSqlite};

use super::super::error::Error;
use super::super::script::version_statements;
use super::bookkeeping::{change_of, commit_or_rollback, interrupted, join, rollback, step_line};
use super::failure::{Attempt, Mode};
use super::plan::PlanStep;
use super::step::record;
use super::{Event, Migrator, Observer, RunReport};

/// The statement a rebuild puts before its `COMMIT`.
pub(super) const FOREIGN_KEY_CHECK: &str = "PRAGMA foreign_key_check";

/// The failure message of a `PRAGMA foreign_key_check` that found rows.
pub(super) fn violations_message(violations: &[store::introspect::FkViolation]) -> String {
    let list: Vec<String> = violations
        .iter()
        .take(10)
        .map(ToString::to_string)
        .collect();
    let more = violations.len().saturating_sub(10);
    format!(
        "{FOREIGN_KEY_CHECK} found {} row(s) breaking a foreign key: {}{}",
        violations.len(),
        list.join("; "),
        if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        }
    )
}

/// `PRAGMA foreign_keys=OFF` (before a rebuild's transaction: the pragma is
/// a no-op inside one).
pub(super) async fn foreign_keys_off(db: &mut Db) -> Result<(), store::Error> {
    db.execute_script(FOREIGN_KEYS_OFF, "turning foreign keys off")
        .await
}

/// `PRAGMA foreign_keys=ON` again (sqlx opens connections with it on);
/// a failure is logged, the run's own result stands.
pub(super) async fn foreign_keys_on(db: &mut Db) {
    if let Err(e) = db
        .execute_script(FOREIGN_KEYS_ON, "turning foreign keys back on")
        .await
    {
        tracing::warn!("could not restore PRAGMA foreign_keys=ON: {e}");
    }
}

/// How a revision went on the raw handle ([`Migrator::raw_revision`]).
enum Raw {
    /// Another process applied (or reverted) it first; rolled back.
    Skipped,
    /// Its statements, rows and `COMMIT` ran.
    Committed,
    /// Its statements ran; the transaction is still open for the foreign
    /// key check, then `rows` and `COMMIT`.
    Open {
        /// The `_versions` / `_versions_log` statements.
        rows: Vec<String>,
    },
    /// `BEGIN IMMEDIATE` or the re-read failed.
    BeginFailed(store::Error),
    /// Statement `.0` (`None`: the rows or COMMIT) failed; the
    /// transaction is open.
    Failed(Option<usize>, store::Error),
}

/// Whether a rebuild put a foreign key check among the statements (then
/// the check runs between the statements and the rows).
fn has_foreign_key_check(statements: &[String]) -> bool {
    statements
        .iter()
        .any(|s| s.eq_ignore_ascii_case(FOREIGN_KEY_CHECK))
}

/// A revision that can run in a [`Migrator::sqlite_batch`]: SQLite,
/// transactional, not resumed, rendered before the run, no table rebuild
/// (those need foreign keys off and a check before the commit), not a
/// data revision.
pub(super) fn batchable<'s>(db: &Db, step: &'s PlanStep<'_>) -> Option<&'s RenderedSteps> {
    let rendered = step.rendered.as_ref()?;
    let plain = db.dialect() == Dialect::Sqlite
        && step.rev.transactional
        && step.resume.is_none()
        && !crate::data::is_data_revision(step.rev)
        && !rendered.foreign_keys_off
        && !has_foreign_key_check(&rendered.statements);
    plain.then_some(rendered)
}

impl<'p> Migrator<'p> {
    /// SQLite: `BEGIN IMMEDIATE` with the re-read of the row, then the
    /// statements, the bookkeeping and `COMMIT`, all on one lock of the raw
    /// handle. After a table rebuild the foreign key check runs between
    /// the statements and the bookkeeping. `false`: another process applied
    /// (or reverted) the revision first.
    pub(super) async fn sqlite_transaction(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        recorded_source: Option<&str>,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let open = has_foreign_key_check(attempt.statements);
        let outcome = db
            .with_raw_sqlite("running a revision", |raw| {
                self.raw_revision(raw, attempt, recorded_source, open)
            })
            .await
            .map_err(interrupted(report))?;
        self.settle(db, attempt, outcome, report).await
    }

    /// Runs consecutive [`batchable`] revisions on ONE lock of the raw
    /// handle: each still in its own `BEGIN IMMEDIATE` transaction that
    /// re-reads its row first (design §7.3), but without a hand-off to
    /// sqlx's worker thread per revision (issue #3). Stops at the first
    /// failure, which is then reported as [`Migrator::run_step`] does.
    pub(super) async fn sqlite_batch(
        &self,
        db: &mut Db,
        steps: &[(&'p Revision, &RenderedSteps)],
        direction: Direction,
        observer: &mut dyn Observer,
        report: &mut RunReport,
    ) -> Result<(), Error> {
        let stop = db
            .with_raw_sqlite("running revisions", |raw| {
                for &(rev, rendered) in steps {
                    // Ctrl-C: stop at the revision boundary.
                    if crate::data::exec::cancelled(&self.data) {
                        return Err(rev);
                    }
                    let line = step_line(rev, direction);
                    observer.event(&Event::StepStarted {
                        revision: &rev.id,
                        line: &line,
                        resume_at: None,
                    });
                    let started = Instant::now();
                    let source = rev.text.normalised();
                    let recorded_source =
                        (direction == Direction::Upgrade).then_some(source.as_str());
                    let attempt = Attempt {
                        rev,
                        direction,
                        statements: &rendered.statements,
                        lines: &rendered.lines,
                        started,
                    };
                    let ran = match self.raw_revision(raw, attempt, recorded_source, false) {
                        Raw::Committed => true,
                        Raw::Skipped => false,
                        stopped => return Ok(Some((attempt, line, stopped))),
                    };
                    // Cannot fail: only errors end a step with `Err`.
                    let _ = record(observer, report, rev, direction, line, started, Ok(ran));
                }
                Ok(None)
            })
            .await
            .map_err(interrupted(report))?;
        let (attempt, line, outcome) = match stop {
            Ok(Some(stopped)) => stopped,
            Ok(None) => return Ok(()),
            Err(next) => {
                return Err(Error::Cancelled {
                    next: next.id.clone(),
                    report: std::mem::take(report),
                })
            }
        };
        let ran = self.settle(db, attempt, outcome, report).await;
        record(
            observer,
            report,
            attempt.rev,
            direction,
            line,
            attempt.started,
            ran,
        )
    }

    /// One revision on the raw handle: `BEGIN IMMEDIATE` and the re-read of
    /// its row in one `sqlite3_exec`; unless another process ran it, the
    /// statements, the rows and `COMMIT` in a second (with `open`, only
    /// the statements: the caller checks foreign keys first).
    fn raw_revision(
        &self,
        raw: &mut RawSqlite<'_, '_>,
        attempt: Attempt<'_>,
        recorded_source: Option<&str>,
        open: bool,
    ) -> Raw {
        let Attempt { rev, direction, .. } = attempt;
        let at = At::Value(Utc::now());
        // `execution_ms` is measured by SQLite from the start taken here
        // (the row is written in the same call as the statements).
        let start_ms = Utc::now().timestamp_millis();
        let begin = format!("BEGIN IMMEDIATE;\n{}", self.tables.select_state_of(&rev.id));
        let what = format!("starting a transaction and reading the state of {}", rev.id);
        let state = match raw.query_first(&begin, &what) {
            Ok(state) => state,
            Err(e) => return Raw::BeginFailed(e),
        };
        let done = match direction {
            Direction::Upgrade => state.is_some(),
            Direction::Downgrade => state.is_none(),
        };
        if done {
            if let Err(e) = raw.execute("ROLLBACK", "rolling back") {
                tracing::debug!("ROLLBACK: {e}");
            }
            return Raw::Skipped;
        }
        let book = self.book(at, Elapsed::SinceEpochMs(start_ms), recorded_source);
        let rows = version_statements(rev, change_of(direction), &book);
        // One part per statement, so a failure names its statement without
        // running anything again; the rows and COMMIT as one last part.
        let mut parts: Vec<&str> = attempt.statements.iter().map(String::as_str).collect();
        let tail = format!("{}COMMIT;\n", join(&rows));
        if !open {
            parts.push(&tail);
        }
        match raw.execute_parts(&parts, "running a revision") {
            Err((i, e)) => Raw::Failed((i < attempt.statements.len()).then_some(i), e),
            Ok(()) if open => Raw::Open { rows },
            Ok(()) => Raw::Committed,
        }
    }

    /// What follows the raw part of a revision: the foreign key check and
    /// the rows of an open transaction; for a failure the rollback, the
    /// failing statement and the `failed` log row.
    async fn settle(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        outcome: Raw,
        report: &RunReport,
    ) -> Result<bool, Error> {
        match outcome {
            Raw::Skipped => Ok(false),
            Raw::Committed => Ok(true),
            Raw::Open { rows } => {
                if let Some(failure) = self.check_foreign_keys(db, attempt, report).await {
                    return Err(failure);
                }
                commit_or_rollback(db, rows, "recording a revision")
                    .await
                    .map_err(interrupted(report))?;
                Ok(true)
            }
            Raw::BeginFailed(e) => {
                rollback(db).await;
                Err(interrupted(report)(e))
            }
            Raw::Failed(index, e) => {
                rollback(db).await;
                Err(self
                    .fail(db, attempt, index, e, Mode::rolled_back(report))
                    .await)
            }
        }
    }

    /// After a SQLite rebuild: `PRAGMA foreign_key_check` inside the
    /// transaction; rows → roll back and fail naming them.
    pub(super) async fn check_foreign_keys(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        report: &RunReport,
    ) -> Option<Error> {
        let check = attempt
            .statements
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case(FOREIGN_KEY_CHECK))?;
        let violations = match db.foreign_key_violations().await {
            Ok(v) => v,
            Err(e) => {
                rollback(db).await;
                return Some(interrupted(report)(e));
            }
        };
        if violations.is_empty() {
            return None;
        }
        rollback(db).await;
        let message = violations_message(&violations);
        Some(
            self.failed(db, attempt, Some(check), message, Mode::rolled_back(report))
                .await,
        )
    }
}
