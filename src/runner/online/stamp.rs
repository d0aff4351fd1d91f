//! Commands that rewrite rows without running revisions: `stamp`,
//! `amend` and `resolve`.

use chrono::Utc;

use crate::dialect::versions::{
    At, Elapsed, LogAction, LogEntry, Outcome, RowChange, VersionState,
};
use crate::graph::Applied;
use crate::revision::Revision;
use crate::store::{Db, VersionRecord};

use super::super::error::Error;
use super::super::script::{version_statements, VersionChange};
use super::bookkeeping::{begin_statement, commit_or_rollback, ids, read_source, rollback};
use super::plan::{progress_of, read_state, DbState};
use super::{AmendReport, Event, Migrator, Observer, Resolution, RunReport};

/// `stamp` without `--purge` leaves unfinished rows to `resolve`: adding
/// the revision of a `running` upgrade would collide with its row, and
/// removing one would forget what its journal knows.
fn refuse_unfinished(state: &DbState) -> Result<(), Error> {
    match state.unfinished().first() {
        Some(row) => {
            let progress = progress_of(row);
            Err(Error::StampUnfinished {
                revision: row.version.clone(),
                state: row.state,
                direction: progress.direction,
                statement: progress.statement + 1,
            })
        }
        None => Ok(()),
    }
}

impl Migrator<'_> {
    /// Whether `stamp` would change anything (decided before the lock).
    pub(super) fn stamp_has_work(
        &self,
        state: &DbState,
        targets: &[String],
        purge: bool,
    ) -> Result<bool, Error> {
        if purge {
            return Ok(true);
        }
        refuse_unfinished(state)?;
        let plan = self.graph.plan_stamp(&state.applied(), targets)?;
        Ok(!plan.add.is_empty() || !plan.remove.is_empty())
    }

    /// The stamp, under the run lock, in one transaction.
    pub(super) async fn stamp_locked(
        &self,
        db: &mut Db,
        targets: &[String],
        purge: bool,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        self.ensure_tables(db).await?;
        db.execute_script(begin_statement(db.dialect()), "starting a transaction")
            .await?;
        match self.stamp_body(db, targets, purge).await {
            Ok((line, statements)) => {
                commit_or_rollback(db, statements, "stamping").await?;
                if let Some(line) = line {
                    observer.event(&Event::Stamped { line: &line });
                }
                Ok(RunReport::default())
            }
            Err(e) => {
                rollback(db).await;
                Err(e)
            }
        }
    }

    /// The stamp's progress line and statements.
    async fn stamp_body(
        &self,
        db: &mut Db,
        targets: &[String],
        purge: bool,
    ) -> Result<(Option<String>, Vec<String>), Error> {
        let state = read_state(db, &self.tables).await?;
        if !purge {
            refuse_unfinished(&state)?;
        }
        let now = At::Value(Utc::now());
        let mut statements = Vec::new();
        let before = if purge {
            statements.push(self.tables.delete_all_versions());
            for row in &state.rows {
                statements.push(self.tables.insert_log(&LogEntry {
                    at: now,
                    action: LogAction::Stamp,
                    version: &row.version,
                    lane: &row.lane,
                    duration_ms: Elapsed::Unknown,
                    outcome: Outcome::Ok,
                    error: None,
                    applied_by: &self.applied_by,
                }));
            }
            Applied::default()
        } else {
            state.applied()
        };
        let plan = self.graph.plan_stamp(&before, targets)?;
        if plan.add.is_empty() && plan.remove.is_empty() && !purge {
            return Ok((None, statements));
        }
        let book = self.book(now, Elapsed::Unknown, None);
        for rev in &plan.remove {
            statements.extend(version_statements(rev, VersionChange::StampRemove, &book));
        }
        for rev in &plan.add {
            let source = read_source(rev)?;
            let book = self.book(now, Elapsed::Unknown, Some(&source));
            statements.extend(version_statements(rev, VersionChange::StampAdd, &book));
        }
        let from = ids(&self.graph.current_heads(&state.applied()));
        let mut after: Vec<String> = before
            .ids()
            .iter()
            .filter(|id| !plan.remove.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        after.extend(plan.add.iter().map(|r| r.id.clone()));
        let to = ids(&self.graph.current_heads(&Applied::from_ordered(after)));
        let line = format!(
            "Running stamp_revision {} -> {}",
            from.join(", "),
            to.join(", ")
        );
        Ok((Some(line), statements))
    }

    /// `amend`: a new checksum and source for an applied row.
    pub(super) async fn amend_on(
        &self,
        db: &mut Db,
        rev: &Revision,
        source: &str,
    ) -> Result<AmendReport, Error> {
        let state = read_state(db, &self.tables).await?;
        let row = self.recorded(&state, rev)?;
        let report = AmendReport {
            revision: rev.id.clone(),
            changed: row.checksum != rev.checksum(),
            old_checksum: row.checksum.clone(),
            new_checksum: rev.checksum().to_string(),
        };
        if !report.changed {
            return Ok(report);
        }
        db.ensure_source_column(&self.tables).await?;
        let statements = [
            self.tables.update_version(
                &rev.id,
                &RowChange::Content {
                    checksum: rev.checksum(),
                    source: Some(source),
                },
            ),
            self.log_ok(rev, LogAction::Amend),
        ];
        self.in_transaction(db, &statements, "amending").await?;
        Ok(report)
    }

    /// `resolve`: settles a `running` or `failed` row.
    pub(super) async fn resolve_on(
        &self,
        db: &mut Db,
        rev: &Revision,
        source: &str,
        resolution: Resolution,
    ) -> Result<(), Error> {
        let state = read_state(db, &self.tables).await?;
        let row = self.recorded(&state, rev)?;
        if row.state == VersionState::Applied {
            return Err(Error::NothingToResolve {
                revision: rev.id.clone(),
            });
        }
        let settle = match resolution {
            Resolution::Applied => self.tables.update_version(
                &rev.id,
                &RowChange::Finished {
                    checksum: rev.checksum(),
                    source: Some(source),
                    at: At::Value(Utc::now()),
                    execution_ms: Elapsed::Unknown,
                    applied_by: &self.applied_by,
                },
            ),
            Resolution::Reverted => self.tables.delete_version(&rev.id),
        };
        db.ensure_source_column(&self.tables).await?;
        let statements = [settle, self.log_ok(rev, LogAction::Resolve)];
        self.in_transaction(db, &statements, "resolving").await
    }

    /// The row of `rev`, or [`Error::NotRecorded`].
    fn recorded<'s>(&self, state: &'s DbState, rev: &Revision) -> Result<&'s VersionRecord, Error> {
        state
            .rows
            .iter()
            .find(|r| r.version == rev.id)
            .ok_or_else(|| Error::NotRecorded {
                revision: rev.id.clone(),
                table: self.tables.name().to_string(),
            })
    }
}
