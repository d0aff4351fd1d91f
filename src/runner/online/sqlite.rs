//! SQLite specifics: a transactional revision in `BEGIN IMMEDIATE` with
//! the re-read of its row (design §7.3: two processes never apply a
//! revision twice), foreign keys around table rebuilds, and
//! `PRAGMA foreign_key_check` before the commit.

use chrono::Utc;

use crate::dialect::ops::render::{FOREIGN_KEYS_OFF, FOREIGN_KEYS_ON};
use crate::dialect::versions::{At, Elapsed};
use crate::dialect::Direction;
use crate::store::{self, Db};

use super::super::error::Error;
use super::super::script::version_statements;
use super::bookkeeping::{change_of, commit_or_rollback, interrupted, join, rollback};
use super::failure::{Attempt, Mode};
use super::{Migrator, RunReport};

/// The statement a rebuild puts before its `COMMIT`.
const FOREIGN_KEY_CHECK: &str = "PRAGMA foreign_key_check";

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

impl Migrator<'_> {
    /// SQLite: `BEGIN IMMEDIATE` with the re-read of the row, then the
    /// statements, the bookkeeping and `COMMIT` in one call. After a table
    /// rebuild the foreign key check needs its own call between the
    /// statements and the bookkeeping. `false`: another process applied
    /// (or reverted) the revision first.
    pub(super) async fn sqlite_transaction(
        &self,
        db: &mut Db,
        attempt: Attempt<'_>,
        recorded_source: Option<&str>,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let Attempt {
            rev,
            direction,
            statements,
            ..
        } = attempt;
        let at = At::Value(Utc::now());
        let interrupted = interrupted(report);
        // Every call is a hand-off to the driver's thread, which costs more
        // than the work on a busy machine (issue #3); `execution_ms` is
        // therefore measured by SQLite, from the start taken here.
        let start_ms = Utc::now().timestamp_millis();
        let state = match db.begin_immediate_reading(&self.tables, &rev.id).await {
            Ok(state) => state,
            Err(e) => {
                rollback(db).await;
                return Err(interrupted(e));
            }
        };
        let done = match direction {
            Direction::Upgrade => state.is_some(),
            Direction::Downgrade => state.is_none(),
        };
        if done {
            rollback(db).await;
            return Ok(false);
        }
        let book = self.book(at, Elapsed::SinceEpochMs(start_ms), recorded_source);
        let rows = version_statements(rev, change_of(direction), &book);
        let fk_check = statements
            .iter()
            .any(|s| s.eq_ignore_ascii_case(FOREIGN_KEY_CHECK));
        let mut script = statements.to_vec();
        if !fk_check {
            script.extend(rows.iter().cloned());
            script.push("COMMIT".to_string());
        }
        if let Err(err) = db
            .execute_script(&join(&script), "running a revision")
            .await
        {
            rollback(db).await;
            return Err(self
                .fail(db, attempt, &[], err, Mode::rolled_back(report))
                .await);
        }
        if fk_check {
            if let Some(failure) = self.check_foreign_keys(db, attempt, report).await {
                return Err(failure);
            }
            commit_or_rollback(db, rows, "recording a revision")
                .await
                .map_err(interrupted)?;
        }
        Ok(true)
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
        let list: Vec<String> = violations
            .iter()
            .take(10)
            .map(ToString::to_string)
            .collect();
        let more = violations.len().saturating_sub(10);
        let message = format!(
            "{FOREIGN_KEY_CHECK} found {} row(s) breaking a foreign key: {}{}",
            violations.len(),
            list.join("; "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        );
        Some(
            self.failed(db, attempt, Some(check), message, Mode::rolled_back(report))
                .await,
        )
    }
}
