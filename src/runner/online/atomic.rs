//! `--atomic`: one transaction around the whole run (PostgreSQL, SQLite).
//! Each revision and its rows go to the database in one call; a failure
//! rolls back everything and is located by replaying the run's earlier
//! revisions in a throw-away transaction.

use std::time::Instant;

use chrono::Utc;

use crate::dialect::versions::{At, Elapsed};
use crate::dialect::{Dialect, Direction};
use crate::store::Db;

use super::super::error::Error;
use super::super::script::version_statements;
use super::bookkeeping::{
    begin_statement, change_of, commit_or_rollback, read_source, rollback, step_line,
};
use super::failure::{Attempt, Mode};
use super::plan::read_state;
use super::sqlite::{foreign_keys_off, foreign_keys_on};
use super::{Event, Migrator, Observer, RunReport};

impl Migrator<'_> {
    /// The whole run in one transaction; committed when every revision
    /// succeeded, rolled back otherwise.
    pub(super) async fn run_atomic(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let fk_off =
            db.dialect() == Dialect::Sqlite && self.atomic_rebuilds(db, direction, target).await?;
        if fk_off {
            foreign_keys_off(db).await?;
        }
        let result = match db
            .execute_script(begin_statement(db.dialect()), "starting a transaction")
            .await
        {
            Ok(()) => self.atomic_body(db, direction, target, observer).await,
            Err(e) => Err(e.into()),
        };
        let result = match result {
            Ok(report) => commit_or_rollback(db, Vec::new(), "committing the run")
                .await
                .map(|()| report)
                .map_err(Error::from),
            Err(e) => {
                rollback(db).await;
                Err(e)
            }
        };
        if fk_off {
            foreign_keys_on(db).await;
        }
        result
    }

    /// Whether an atomic run's plan holds a SQLite table rebuild (then
    /// `PRAGMA foreign_keys=OFF` must come before its one `BEGIN`).
    async fn atomic_rebuilds(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
    ) -> Result<bool, Error> {
        let state = read_state(db, &self.tables).await?;
        let plan = self.planned(db, &state, direction, target).await?;
        Ok(plan
            .iter()
            .any(|s| s.rendered.as_ref().is_none_or(|r| r.foreign_keys_off)))
    }

    async fn atomic_body(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let state = self.ensure_tables(db).await?;
        let plan = self.planned(db, &state, direction, target).await?;
        // Data revisions commit batch by batch with their checkpoint (design
        // §5.2): they cannot run inside the one transaction. Refused here,
        // before the first statement (the caller rolls back the version
        // tables this transaction may have created).
        if let Some(first) = plan
            .iter()
            .position(|s| crate::data::is_data_revision(s.rev))
        {
            let rev = plan[first].rev;
            return Err(Error::DataInAtomic {
                revision: rev.id.clone(),
                file: rev.path.clone(),
                data_revisions: plan
                    .iter()
                    .filter(|s| crate::data::is_data_revision(s.rev))
                    .map(|s| s.rev.id.clone())
                    .collect(),
                direction,
                before: first
                    .checked_sub(1)
                    .and_then(|i| plan.get(i))
                    .map(|s| s.rev.id.clone()),
            });
        }
        if let Some(step) = plan.iter().find(|s| !s.rev.transactional) {
            return Err(Error::NonTransactionalInAtomic {
                revision: step.rev.id.clone(),
                file: step.rev.path.clone(),
            });
        }
        let mut report = RunReport::default();
        // Failures inside an atomic run report nothing as applied.
        let nothing = RunReport::default();
        for step in &plan {
            let rev = step.rev;
            let source = read_source(rev)?;
            let line = step_line(rev, direction);
            let started = Instant::now();
            let rendered = self.rendered(db, step, direction).await?;
            let statements = &rendered.statements;
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: None,
            });
            // The statements and the rows in one call (the database
            // measures `execution_ms` from the start taken here).
            let recorded_source = (direction == Direction::Upgrade).then_some(source.as_str());
            let book = self.book(
                At::Value(Utc::now()),
                Elapsed::SinceEpochMs(Utc::now().timestamp_millis()),
                recorded_source,
            );
            let rows = version_statements(rev, change_of(direction), &book);
            let mut script = statements.clone();
            script.extend(rows.iter().cloned());
            let attempt = Attempt {
                rev,
                direction,
                statements,
                lines: &rendered.lines,
                started,
            };
            if let Err((index, err)) = db.execute_parts(&script, "running a revision").await {
                let index = index.filter(|&i| i < statements.len());
                observer.event(&Event::StepFailed { revision: &rev.id });
                rollback(db).await;
                let mode = Mode {
                    journaled: false,
                    atomic: true,
                    report: &nothing,
                };
                let failure = self.fail(db, attempt, index, err, mode).await;
                // Begin again so that the caller's ROLLBACK has a
                // transaction to end.
                let _ = db.execute_script("BEGIN", "restarting").await;
                return Err(failure);
            }
            if let Some(failure) = self.check_foreign_keys(db, attempt, &nothing).await {
                observer.event(&Event::StepFailed { revision: &rev.id });
                let _ = db.execute_script("BEGIN", "restarting").await;
                return Err(failure);
            }
            super::step::record(
                observer,
                &mut report,
                rev,
                direction,
                line,
                started,
                Ok(true),
            )?;
        }
        Ok(report)
    }
}
