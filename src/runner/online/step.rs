//! One revision of a run: the data-lane hook, the choice between one
//! transaction and the statement journal, and PostgreSQL's one round trip.

use std::time::Instant;

use chrono::Utc;

use crate::dialect::versions::{At, Elapsed};
use crate::dialect::{Dialect, Direction, RenderedSteps};
use crate::revision::Revision;
use crate::store::Db;

use super::super::error::Error;
use super::super::script::version_statements;
use super::bookkeeping::{change_of, interrupted, read_source, rollback, step_line};
use super::failure::{Attempt, Mode};
use super::plan::PlanStep;
use super::sqlite::{foreign_keys_off, foreign_keys_on};
use super::{Event, Migrator, Observer, RunReport, StepReport};

impl<'p> Migrator<'p> {
    /// Runs one revision and records it in `report` (applied, or skipped
    /// when another process handled it first).
    pub(super) async fn run_step(
        &self,
        db: &mut Db,
        step: &PlanStep<'p>,
        direction: Direction,
        observer: &mut dyn Observer,
        report: &mut RunReport,
    ) -> Result<(), Error> {
        let rev = step.rev;
        let source = read_source(rev)?;
        let line = step_line(rev, direction);
        let started = Instant::now();
        let ran = if crate::data::is_data_revision(rev) {
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: None,
            });
            self.run_data(db, rev, direction, &source, observer)
                .await
                .map_err(|e| match e {
                    Error::Data(crate::data::Error::LockWaitCancelled { lock }) => {
                        Error::LockWaitCancelled {
                            lock,
                            report: report.clone(),
                        }
                    }
                    e => e,
                })
        } else {
            let rendered = self.rendered(db, step, direction).await?;
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: step.resume,
            });
            self.run_statements(db, step, &rendered, direction, &source, report)
                .await
        };
        record(observer, report, rev, direction, line, started, ran)
    }

    /// DATA LANE HOOK: data revisions run in checkpointed batches.
    /// `false`: another process handled it first.
    async fn run_data(
        &self,
        db: &mut Db,
        rev: &Revision,
        direction: Direction,
        source: &str,
        observer: &mut dyn Observer,
    ) -> Result<bool, Error> {
        let ctx = crate::data::exec::Ctx {
            tables: &self.tables,
            applied_by: &self.applied_by,
            options: &self.data,
            vars: &self.vars,
        };
        let mut emit = |e: &crate::data::DataEvent<'_>| observer.event(&Event::Data(e));
        match crate::data::exec::run_revision(db, &ctx, rev, direction, source, &mut emit).await? {
            crate::data::exec::Ran::Done => Ok(true),
            crate::data::exec::Ran::Skipped => Ok(false),
        }
    }

    /// A revision of rendered statements: in one transaction, or through
    /// the statement journal (MySQL/MariaDB always; `transactional = false`
    /// and resumes on every dialect). A SQLite table rebuild gets foreign
    /// keys off around it. `false`: another process handled it first.
    async fn run_statements(
        &self,
        db: &mut Db,
        step: &PlanStep<'p>,
        rendered: &RenderedSteps,
        direction: Direction,
        source: &str,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let rev = step.rev;
        let journaled = match db.dialect() {
            Dialect::Mysql => true,
            Dialect::Postgres | Dialect::Sqlite => !rev.transactional || step.resume.is_some(),
        };
        let fk_off = rendered.foreign_keys_off && db.dialect() == Dialect::Sqlite;
        if fk_off {
            foreign_keys_off(db).await.map_err(interrupted(report))?;
        }
        let attempt = Attempt {
            rev,
            direction,
            statements: &rendered.statements,
            lines: &rendered.lines,
            started: Instant::now(),
        };
        let recorded_source = (direction == Direction::Upgrade).then_some(source);
        let ran = if journaled {
            self.run_journaled(db, attempt, step.resume, source, report)
                .await
        } else {
            match db.dialect() {
                Dialect::Postgres => {
                    self.postgres_transaction(db, attempt, recorded_source, report)
                        .await
                }
                Dialect::Sqlite | Dialect::Mysql => {
                    self.sqlite_transaction(db, attempt, recorded_source, report)
                        .await
                }
            }
        };
        if fk_off {
            foreign_keys_on(db).await;
        }
        ran
    }

    /// PostgreSQL: `BEGIN; <statements>; <version row>; <log row>; COMMIT`
    /// in one round trip; the server measures `execution_ms`.
    async fn postgres_transaction(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        recorded_source: Option<&str>,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let book = self.book(
            At::Value(Utc::now()),
            Elapsed::SinceTransactionStart,
            recorded_source,
        );
        let rows = version_statements(attempt.rev, change_of(attempt.direction), &book);
        // One round trip; the statements the server completed tell which
        // one failed (part 0 is BEGIN).
        let mut parts = Vec::with_capacity(attempt.statements.len() + rows.len() + 2);
        parts.push("BEGIN".to_string());
        parts.extend(attempt.statements.iter().cloned());
        parts.extend(rows);
        parts.push("COMMIT".to_string());
        if let Err((index, err)) = db.execute_parts(&parts, "running a revision").await {
            rollback(db).await;
            let index = index
                .and_then(|i| i.checked_sub(1))
                .filter(|&i| i < attempt.statements.len());
            return Err(self
                .fail(db, attempt, index, err, Mode::rolled_back(report))
                .await);
        }
        Ok(true)
    }
}

/// Ends a revision's progress line (`StepFinished`, `StepSkipped` or
/// `StepFailed`, `StepInterrupted`) and records it in `report`; passes a
/// failure on.
pub(super) fn record(
    observer: &mut dyn Observer,
    report: &mut RunReport,
    rev: &Revision,
    direction: Direction,
    line: String,
    started: Instant,
    ran: Result<bool, Error>,
) -> Result<(), Error> {
    match ran {
        Ok(true) => {
            let duration = started.elapsed();
            observer.event(&Event::StepFinished {
                revision: &rev.id,
                duration,
            });
            report.steps.push(StepReport {
                revision: rev.id.clone(),
                direction,
                line,
                duration,
            });
            Ok(())
        }
        Ok(false) => {
            observer.event(&Event::StepSkipped { revision: &rev.id });
            report.skipped.push(rev.id.clone());
            Ok(())
        }
        Err(e) => {
            let interrupted = matches!(
                e,
                Error::LockWaitCancelled { .. } | Error::Data(crate::data::Error::Cancelled { .. })
            );
            if interrupted {
                observer.event(&Event::StepInterrupted { revision: &rev.id });
            } else {
                observer.event(&Event::StepFailed { revision: &rev.id });
            }
            Err(e)
        }
    }
}
