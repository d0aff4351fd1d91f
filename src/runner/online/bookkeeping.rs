//! Shared pieces of every path: the bookkeeping rows, progress lines,
//! transaction helpers and small conversions.

use crate::dialect::versions::{At, Elapsed, LogAction, LogEntry, Outcome};
use crate::dialect::{Dialect, Direction};
use crate::revision::Revision;
use crate::store::{self, Db};

use super::super::error::Error;
use super::super::script::{downgrade_comment, upgrade_comment, Bookkeeping, VersionChange};
use super::{Migrator, RunReport};

impl Migrator<'_> {
    /// What the `_versions` / `_versions_log` rows of a revision need.
    pub(super) fn book<'b>(
        &'b self,
        at: At,
        elapsed: Elapsed,
        source: Option<&'b str>,
    ) -> Bookkeeping<'b> {
        Bookkeeping {
            tables: &self.tables,
            applied_by: &self.applied_by,
            at,
            duration_ms: elapsed,
            source,
        }
    }

    /// An `ok` log row without a duration (`amend`, `resolve`).
    pub(super) fn log_ok(&self, rev: &Revision, action: LogAction) -> String {
        self.tables.insert_log(&LogEntry {
            at: At::Value(chrono::Utc::now()),
            action,
            version: &rev.id,
            lane: &rev.lane,
            duration_ms: Elapsed::Unknown,
            outcome: Outcome::Ok,
            error: None,
            applied_by: &self.applied_by,
        })
    }

    /// `BEGIN`, `statements`, `COMMIT`; rolled back on failure.
    pub(super) async fn in_transaction(
        &self,
        db: &mut Db,
        statements: &[String],
        what: &str,
    ) -> Result<(), Error> {
        db.execute_script("BEGIN", what).await?;
        Ok(commit_or_rollback(db, statements.to_vec(), what).await?)
    }
}

/// Runs `statements` and `COMMIT` in one call inside an open transaction;
/// rolls back when that fails.
pub(super) async fn commit_or_rollback(
    db: &mut Db,
    mut statements: Vec<String>,
    what: &str,
) -> Result<(), store::Error> {
    statements.push("COMMIT".to_string());
    let result = db.execute_script(&join(&statements), what).await;
    if result.is_err() {
        rollback(db).await;
    }
    result
}

/// The statement that opens a write transaction: SQLite takes its write
/// lock at once (`BEGIN IMMEDIATE`), so a second writer waits up front.
pub(super) fn begin_statement(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres | Dialect::Mysql => "BEGIN",
    }
}

/// Ends a failed transaction; errors are ignored (SQLite may have rolled
/// back already).
pub(super) async fn rollback(db: &mut Db) {
    if let Err(e) = db.execute_script("ROLLBACK", "rolling back").await {
        tracing::debug!("ROLLBACK: {e}");
    }
}

/// Maps a database error in the middle of a run to
/// [`Error::Interrupted`], carrying what was applied before it.
pub(super) fn interrupted(report: &RunReport) -> impl Fn(store::Error) -> Error + '_ {
    move |source| Error::Interrupted {
        cause: Box::new(source),
        report: report.clone(),
    }
}

/// The normalised text of a revision file (what `source` records), from the
/// content loaded with the project: the file is not read a second time, and
/// the recorded source matches the checksum recorded beside it.
#[allow(clippy::unnecessary_wraps)] // kept fallible: callers treat it as I/O
pub(super) fn read_source(rev: &Revision) -> Result<String, Error> {
    Ok(rev.text.normalised())
}

/// `Running upgrade a -> b, message` (Alembic's log line).
pub(super) fn step_line(rev: &Revision, direction: Direction) -> String {
    let comment = match direction {
        Direction::Upgrade => upgrade_comment(rev),
        Direction::Downgrade => downgrade_comment(rev),
    };
    format!("{comment}, {}", rev.message.lines().next().unwrap_or(""))
}

pub(super) fn change_of(direction: Direction) -> VersionChange {
    match direction {
        Direction::Upgrade => VersionChange::Upgrade,
        Direction::Downgrade => VersionChange::Downgrade,
    }
}

/// `a;\nb;\n`: statements as one script.
pub(super) fn join(statements: &[String]) -> String {
    let mut sql = String::new();
    for s in statements {
        sql.push_str(s);
        sql.push_str(";\n");
    }
    sql
}

pub(super) fn ids(revs: &[&Revision]) -> Vec<String> {
    revs.iter().map(|r| r.id.clone()).collect()
}

/// `user@host` of this process.
pub(super) fn applied_by() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".to_string());
    let host = whoami::hostname().unwrap_or_else(|_| "unknown".to_string());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_join_with_semicolons() {
        assert_eq!(join(&["A".into(), "B".into()]), "A;\nB;\n");
    }
}
