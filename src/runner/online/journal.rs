//! The statement journal (MySQL/MariaDB always; `transactional = false`
//! revisions and resumes on every dialect): the row is `running` with
//! `{"direction", "statement"}` progress, updated after each statement; a
//! failure leaves it `failed` with the error and the index, and the next
//! run in the same direction resumes there.

use chrono::Utc;

use crate::dialect::versions::{At, Elapsed, RowChange, VersionRow, VersionState};
use crate::dialect::{Dialect, Direction};
use crate::store::{Db, Progress};

use super::super::error::Error;
use super::bookkeeping::{interrupted, join};
use super::failure::{Attempt, Mode};
use super::plan::{progress_of, unfinished_error};
use super::sqlite::{violations_message, FOREIGN_KEY_CHECK};
use super::{Migrator, RunReport};
use crate::runner::script::finished_statements;

/// Runs one journaled statement; the error is the database's message. A
/// SQLite rebuild's `PRAGMA foreign_key_check` fails when it returns rows
/// (the statements before it are committed: the revision is left `failed`
/// at the check, which a rerun repeats once the rows are fixed).
async fn run_statement(db: &mut Db, sql: &str) -> Result<(), String> {
    if db.dialect() == Dialect::Sqlite && sql.eq_ignore_ascii_case(FOREIGN_KEY_CHECK) {
        return match db.foreign_key_violations().await {
            Ok(v) if v.is_empty() => Ok(()),
            Ok(v) => Err(violations_message(&v)),
            Err(e) => Err(e.database_message()),
        };
    }
    db.execute_script(sql, "running a statement")
        .await
        .map_err(|e| e.database_message())
}

impl Migrator<'_> {
    /// Runs a revision through the journal from statement `resume` (`None`:
    /// a fresh start). `false`: skipped (SQLite found it done by another
    /// process).
    pub(super) async fn run_journaled(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        resume: Option<usize>,
        source: &str,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let Attempt {
            rev,
            direction,
            statements,
            started,
            ..
        } = attempt;
        let interrupted = interrupted(report);
        // SQLite has no session lock: hold the database's file lock for the
        // whole revision and re-read its row under it, so that a second
        // process waits, then skips what the first one finished or resumes
        // where it stopped (never runs it twice at once).
        let mut resume = resume;
        let _file_lock = if db.dialect() == Dialect::Sqlite {
            let lock = db
                .lock_sqlite_file(&self.data.cancel)
                .await
                .map_err(|e| Error::lock_wait(e, report).unwrap_or_else(&interrupted))?;
            let rows = db.read_versions(&self.tables).await.map_err(&interrupted)?;
            let row = rows
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.version == rev.id);
            match (direction, row) {
                (Direction::Upgrade, Some(r)) if r.state == VersionState::Applied => {
                    return Ok(false)
                }
                (Direction::Downgrade, None) => return Ok(false),
                (_, Some(r)) if r.state != VersionState::Applied => {
                    let now = progress_of(&r);
                    if now.direction != direction {
                        return Err(unfinished_error(&r));
                    }
                    resume = Some(now.statement);
                }
                (Direction::Upgrade, None) => resume = None,
                (_, Some(_)) => {} // applied, as a downgrade planned
            }
            lock
        } else {
            None
        };
        let first = resume.unwrap_or(0);
        let progress = |statement| {
            Progress {
                direction,
                statement,
            }
            .to_json()
        };
        let running = |p: &serde_json::Value| {
            self.tables.update_version(
                &rev.id,
                &RowChange::Progress {
                    state: VersionState::Running,
                    progress: p,
                    error: None,
                },
            )
        };
        let start_json = progress(first);
        let mut setup = Vec::new();
        match (direction, resume) {
            (Direction::Upgrade, None) => setup.push(self.tables.insert_version(&VersionRow {
                version: &rev.id,
                lane: &rev.lane,
                state: VersionState::Running,
                checksum: rev.checksum(),
                message: &rev.message,
                applied_at: At::Value(Utc::now()),
                execution_ms: Elapsed::Unknown,
                progress: Some(&start_json),
                error: None,
                applied_by: &self.applied_by,
                source: Some(source),
            })),
            (Direction::Upgrade, Some(_)) => {
                setup.push(self.tables.update_version(
                    &rev.id,
                    &RowChange::Content {
                        checksum: rev.checksum(),
                        source: Some(source),
                    },
                ));
                setup.push(running(&start_json));
            }
            (Direction::Downgrade, _) => setup.push(running(&start_json)),
        }
        for sql in &setup {
            db.execute_script(sql, "recording progress")
                .await
                .map_err(&interrupted)?;
        }
        for (index, sql) in statements.iter().enumerate().skip(first) {
            if let Err(message) = run_statement(db, sql).await {
                let failed = progress(index);
                let mark = self.tables.update_version(
                    &rev.id,
                    &RowChange::Progress {
                        state: VersionState::Failed,
                        progress: &failed,
                        error: Some(&message),
                    },
                );
                if let Err(e) = db.execute_script(&mark, "recording the failure").await {
                    tracing::warn!("could not mark {} failed: {e}", rev.id);
                }
                let mode = Mode {
                    journaled: true,
                    atomic: false,
                    report,
                };
                return Err(self.failed(db, attempt, Some(index), message, mode).await);
            }
            db.execute_script(&running(&progress(index + 1)), "recording progress")
                .await
                .map_err(&interrupted)?;
        }
        let finished = finished_statements(
            &self.tables,
            rev,
            direction,
            source,
            started,
            &self.applied_by,
        );
        db.execute_script(&join(&finished), "recording a revision")
            .await
            .map_err(&interrupted)?;
        Ok(true)
    }
}
