//! The statements of one revision in one direction, as both runners use
//! them: the step SQL (from [`crate::dialect::render_steps`]) and the
//! `_versions` / `_versions_log` bookkeeping that goes with it.
//!
//! Why a shared value: `--sql` must show what runs online. The offline
//! script prints a [`RevisionScript`]; the online runner executes the same
//! `statements` and the same kind of `version_statements` (with the real
//! time, duration and user@host in [`Bookkeeping`]).

use std::collections::BTreeMap;

use crate::dialect::ops::SchemaModel;
use crate::dialect::versions::{
    At, Elapsed, LogAction, LogEntry, Outcome, RowChange, VersionRow, VersionState, VersionTables,
};
use crate::dialect::{self, render_revision, Dialect, Direction};
use crate::revision::Revision;

/// What happens to a revision's `_versions` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// The revision was upgraded: insert its row, log `upgrade`.
    Upgrade,
    /// The revision was downgraded: delete its row, log `downgrade`.
    Downgrade,
    /// `stamp` adds the row without running anything: log `stamp`.
    StampAdd,
    /// `stamp` removes the row without running anything: log `stamp`.
    StampRemove,
}

/// The values the bookkeeping statements record.
#[derive(Debug, Clone)]
pub struct Bookkeeping<'a> {
    /// The tables, named and typed for the dialect.
    pub tables: &'a VersionTables,
    /// user@host, or [`crate::dialect::versions::OFFLINE_APPLIED_BY`].
    pub applied_by: &'a str,
    /// When: [`At::Now`] offline, the real instant online.
    pub at: At,
    /// How long the revision took, when known (online).
    pub duration_ms: Elapsed,
    /// The normalised file text to record (online), `None` offline.
    pub source: Option<&'a str>,
}

impl<'a> Bookkeeping<'a> {
    /// The bookkeeping of an offline (`--sql`) script: `CURRENT_TIMESTAMP`,
    /// no duration, no source, [`crate::dialect::versions::OFFLINE_APPLIED_BY`].
    pub fn offline(tables: &'a VersionTables) -> Bookkeeping<'a> {
        Bookkeeping {
            tables,
            applied_by: crate::dialect::versions::OFFLINE_APPLIED_BY,
            at: At::Now,
            duration_ms: Elapsed::Unknown,
            source: None,
        }
    }
}

/// One revision, rendered for one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionScript {
    /// Revision id.
    pub id: String,
    /// The comment line without `-- `, e.g. `Running upgrade a -> b`.
    pub comment: String,
    /// Whether the revision runs inside a transaction.
    pub transactional: bool,
    /// The step statements, in order, without trailing `;`.
    pub statements: Vec<String>,
    /// SQLite rebuilds are among the statements: run
    /// [`dialect::ops::render::FOREIGN_KEYS_OFF`] before the transaction
    /// and [`dialect::ops::render::FOREIGN_KEYS_ON`] after it, and fail the
    /// revision (roll back) if a `PRAGMA foreign_key_check` returns rows.
    pub foreign_keys_off: bool,
    /// The `_versions` INSERT/DELETE and the `_versions_log` INSERT.
    pub version_statements: Vec<String>,
}

/// `Running upgrade <down ids joined by ", "> -> <id>` (Alembic's text; a
/// base gives two spaces before `->`).
pub fn upgrade_comment(rev: &Revision) -> String {
    format!(
        "Running upgrade {} -> {}",
        rev.down_revisions.join(", "),
        rev.id
    )
}

/// `Running downgrade <id> -> <down ids joined by ", ">` (a base leaves a
/// trailing space, as in Alembic).
pub fn downgrade_comment(rev: &Revision) -> String {
    format!(
        "Running downgrade {} -> {}",
        rev.id,
        rev.down_revisions.join(", ")
    )
}

/// The bookkeeping statements for `change` of `rev`.
pub fn version_statements(
    rev: &Revision,
    change: VersionChange,
    book: &Bookkeeping<'_>,
) -> Vec<String> {
    let row = VersionRow {
        version: &rev.id,
        lane: &rev.lane,
        state: VersionState::Applied,
        checksum: rev.checksum(),
        message: &rev.message,
        applied_at: book.at,
        execution_ms: book.duration_ms,
        progress: None,
        error: None,
        applied_by: book.applied_by,
        source: book.source,
    };
    let (first, action) = match change {
        VersionChange::Upgrade => (book.tables.insert_version(&row), LogAction::Upgrade),
        VersionChange::StampAdd => (book.tables.insert_version(&row), LogAction::Stamp),
        VersionChange::Downgrade => (book.tables.delete_version(&rev.id), LogAction::Downgrade),
        VersionChange::StampRemove => (book.tables.delete_version(&rev.id), LogAction::Stamp),
    };
    let log = LogEntry {
        at: book.at,
        action,
        version: &rev.id,
        lane: &rev.lane,
        duration_ms: book.duration_ms,
        outcome: Outcome::Ok,
        error: None,
        applied_by: book.applied_by,
    };
    vec![first, book.tables.insert_log(&log)]
}

/// `rev`'s statements for `direction` on `dialect`, with its bookkeeping,
/// knowing no table definitions: operations that need one (SQLite
/// rebuilds, MySQL MODIFY, derived inverses of drops) fail. Prefer
/// [`revision_script_in`].
///
/// # Errors
/// As [`revision_script_in`].
pub fn revision_script(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    book: &Bookkeeping<'_>,
) -> Result<RevisionScript, dialect::Error> {
    revision_script_in(rev, direction, dialect, vars, book, &SchemaModel::new())
}

/// `rev`'s statements for `direction` on `dialect`, with its bookkeeping.
/// `before` is the schema before `rev`'s upgrade, e.g.
/// [`dialect::replay_schema`] over `graph.closure(&[&rev.id])` minus `rev`.
///
/// # Errors
/// The rendering errors of [`render_revision`]: an invalid or
/// unrenderable operation, a downgrade that cannot be derived, a template
/// error.
pub fn revision_script_in(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    book: &Bookkeeping<'_>,
    before: &SchemaModel,
) -> Result<RevisionScript, dialect::Error> {
    // DATA LANE HOOK: data revisions render through src/data/render.rs.
    let rendered = if crate::data::is_data_revision(rev) {
        dialect::RenderedSteps {
            statements: crate::data::render::render(rev, direction, dialect, vars, before)?,
            lines: Vec::new(),
            foreign_keys_off: false,
        }
    } else {
        render_revision(rev, direction, dialect, vars, before)?
    };
    let (comment, change) = match direction {
        Direction::Upgrade => (upgrade_comment(rev), VersionChange::Upgrade),
        Direction::Downgrade => (downgrade_comment(rev), VersionChange::Downgrade),
    };
    Ok(RevisionScript {
        id: rev.id.clone(),
        comment,
        transactional: rev.transactional,
        statements: rendered.statements,
        foreign_keys_off: rendered.foreign_keys_off,
        version_statements: version_statements(rev, change, book),
    })
}

/// The log action of a revision run in `direction`.
pub fn action_of(direction: Direction) -> LogAction {
    match direction {
        Direction::Upgrade => LogAction::Upgrade,
        Direction::Downgrade => LogAction::Downgrade,
    }
}

/// Whole milliseconds since `since`.
pub fn ms(since: std::time::Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The two statements that end a revision whose row was `running` (the
/// statement journal, the data lane), without trailing `;`: the row
/// becomes `applied` with its checksum, `source` and time (upgrade) or is
/// deleted (downgrade), and the `ok` log row records the duration since
/// `started`.
pub fn finished_statements(
    tables: &VersionTables,
    rev: &Revision,
    direction: Direction,
    source: &str,
    started: std::time::Instant,
    applied_by: &str,
) -> [String; 2] {
    let elapsed = Elapsed::Ms(ms(started));
    let now = At::Value(chrono::Utc::now());
    let row = match direction {
        Direction::Upgrade => tables.update_version(
            &rev.id,
            &RowChange::Finished {
                checksum: rev.checksum(),
                source: Some(source),
                at: now,
                execution_ms: elapsed,
                applied_by,
            },
        ),
        Direction::Downgrade => tables.delete_version(&rev.id),
    };
    let log = tables.insert_log(&LogEntry {
        at: now,
        action: action_of(direction),
        version: &rev.id,
        lane: &rev.lane,
        duration_ms: elapsed,
        outcome: Outcome::Ok,
        error: None,
        applied_by,
    });
    [row, log]
}

/// The `failed` log row of a revision that failed with `message` after
/// running since `started`.
pub fn failure_log(
    tables: &VersionTables,
    rev: &Revision,
    direction: Direction,
    started: std::time::Instant,
    message: &str,
    applied_by: &str,
) -> String {
    tables.insert_log(&LogEntry {
        at: At::Value(chrono::Utc::now()),
        action: action_of(direction),
        version: &rev.id,
        lane: &rev.lane,
        duration_ms: Elapsed::Ms(ms(started)),
        outcome: Outcome::Failed,
        error: Some(message),
        applied_by,
    })
}
