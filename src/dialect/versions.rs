//! The `_versions` table (one row per applied revision, design §7.1) and
//! the `_versions_log` audit table (§7.2): their DDL and the bookkeeping
//! statements, per dialect, rendered through sea-query.
//!
//! Why sea-query and inlined values: the offline script must print
//! complete statements, so values are inlined and escaped by the backend's
//! builder (a message with quotes or backslashes is safe on each dialect).
//! The online runner can send the same text, or bind values itself.
//!
//! Types are the natural ones per dialect: PostgreSQL `timestamp with time
//! zone`, `jsonb`, `bigserial`; MySQL `DATETIME(6)` (UTC), `json`, `varchar`
//! with lengths (MySQL needs them for keys); SQLite `text` and `integer`
//! (timestamps as RFC 3339 text in UTC).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_query::{
    ColumnDef, Expr, ExprTrait, MysqlQueryBuilder, PostgresQueryBuilder, Query, SqliteQueryBuilder,
    Table, TableCreateStatement,
};

use super::Dialect;

/// The tool version recorded in every log row.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `applied_by` of rows written by an offline script: the process that
/// renders the script is not the one that runs it, so no user@host is known.
pub const OFFLINE_APPLIED_BY: &str = "offline";

/// Longest revision id / lane name the tables hold (a MySQL key needs a
/// length; 255 × 4 bytes of utf8mb4 stays under InnoDB's 3072-byte limit).
const KEY_LEN: u32 = 255;

/// State of a `_versions` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// Applied completely.
    Applied,
    /// In progress or resumable (batches, MySQL statement journal).
    Running,
    /// Failed; needs a fix and `upgrade`, or `resolve`.
    Failed,
}

impl VersionState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Applied => "applied",
            VersionState::Running => "running",
            VersionState::Failed => "failed",
        }
    }

    /// The state stored as `text`, if it is one.
    pub fn from_name(text: &str) -> Option<VersionState> {
        [
            VersionState::Applied,
            VersionState::Running,
            VersionState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The action of a `_versions_log` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAction {
    /// A revision was applied.
    Upgrade,
    /// A revision was reverted.
    Downgrade,
    /// A row was added or removed without running anything.
    Stamp,
    /// A changed file's checksum was accepted.
    Amend,
    /// A failed or running row was resolved by hand.
    Resolve,
}

impl LogAction {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            LogAction::Upgrade => "upgrade",
            LogAction::Downgrade => "downgrade",
            LogAction::Stamp => "stamp",
            LogAction::Amend => "amend",
            LogAction::Resolve => "resolve",
        }
    }
}

/// The outcome of a `_versions_log` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action succeeded.
    Ok,
    /// The action failed (see `error`).
    Failed,
}

impl Outcome {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
        }
    }
}

/// A timestamp to store: the database's current time (offline scripts) or a
/// known instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The dialect's "now" expression, in UTC (see [`now_sql`]).
    Now,
    /// A known instant.
    Value(DateTime<Utc>),
}

/// How long something took, as stored in `execution_ms` / `duration_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elapsed {
    /// Not known (offline scripts): NULL.
    Unknown,
    /// Measured by retort.
    Ms(i64),
    /// Measured by the database from the start of the current transaction
    /// to the statement (PostgreSQL: `clock_timestamp() - now()`), for a
    /// revision sent in one round trip, where retort cannot know the time
    /// before the row is written. NULL on other dialects.
    SinceTransactionStart,
    /// Measured by the database from a start given in milliseconds since
    /// the Unix epoch (taken by retort) to the statement: for a revision and
    /// its rows sent in one call on SQLite, which has no transaction start
    /// time (`julianday('now')` is re-read for every statement).
    SinceEpochMs(i64),
}

/// A `_versions` row to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow<'a> {
    /// Revision id.
    pub version: &'a str,
    /// Lane name.
    pub lane: &'a str,
    /// Row state.
    pub state: VersionState,
    /// SHA-256 hex of the normalised file.
    pub checksum: &'a str,
    /// The revision's message.
    pub message: &'a str,
    /// When it was applied.
    pub applied_at: At,
    /// How long it took, when known.
    pub execution_ms: Elapsed,
    /// Progress JSON of a running row.
    pub progress: Option<&'a serde_json::Value>,
    /// The last error of a failed row.
    pub error: Option<&'a str>,
    /// Who applied it (user@host, or [`OFFLINE_APPLIED_BY`]).
    pub applied_by: &'a str,
    /// The normalised file text (see [`crate::revision::checksum::normalise`]),
    /// kept so that a changed file can be shown as a diff; `None` leaves the
    /// column out of the INSERT (offline scripts stay readable).
    pub source: Option<&'a str>,
}

/// A change to an existing `_versions` row.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RowChange<'a> {
    /// The statement journal moved on or stopped: new state, progress JSON
    /// and error text (`None` clears it).
    Progress {
        /// `running` or `failed`.
        state: VersionState,
        /// `{"direction": …, "statement": <next index>}`.
        progress: &'a serde_json::Value,
        /// The database's message of a failure.
        error: Option<&'a str>,
    },
    /// `amend`: the file's new checksum and content.
    Content {
        /// SHA-256 hex of the normalised file.
        checksum: &'a str,
        /// The normalised file text.
        source: Option<&'a str>,
    },
    /// A journaled revision completed (or was resolved as applied): state
    /// `applied`, progress and error cleared.
    Finished {
        /// SHA-256 hex of the normalised file.
        checksum: &'a str,
        /// The normalised file text.
        source: Option<&'a str>,
        /// When it completed.
        at: At,
        /// How long it took.
        execution_ms: Elapsed,
        /// Who completed it.
        applied_by: &'a str,
    },
}

/// A `_versions_log` row to insert (`tool_version` is [`TOOL_VERSION`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry<'a> {
    /// When.
    pub at: At,
    /// What.
    pub action: LogAction,
    /// Revision id.
    pub version: &'a str,
    /// Lane name.
    pub lane: &'a str,
    /// How long it took, when known.
    pub duration_ms: Elapsed,
    /// Success or failure.
    pub outcome: Outcome,
    /// Error text of a failure.
    pub error: Option<&'a str>,
    /// Who (user@host, or [`OFFLINE_APPLIED_BY`]).
    pub applied_by: &'a str,
}

/// The SQL expression for the current UTC time, per dialect. SQLite stores
/// RFC 3339 text with milliseconds (`2026-11-23T12:00:00.000Z`); MySQL's
/// `UTC_TIMESTAMP(6)` avoids the session time zone of `NOW()`.
pub fn now_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Dialect::Postgres => "CURRENT_TIMESTAMP",
        Dialect::Mysql => "UTC_TIMESTAMP(6)",
    }
}

/// The version table and its log, named and rendered for one dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTables {
    name: String,
    dialect: Dialect,
    /// `insert_version`'s template for offline rows, rendered on first use.
    version_template: TemplateCache,
    /// `insert_log`'s template for offline entries.
    log_template: TemplateCache,
}

/// A lazily rendered [`Template`]; a cache, so it never makes two tables
/// unequal.
#[derive(Debug, Clone, Default)]
struct TemplateCache(OnceLock<Option<Template>>);

impl PartialEq for TemplateCache {
    fn eq(&self, _: &TemplateCache) -> bool {
        true
    }
}

impl Eq for TemplateCache {}

/// A rendered statement split at placeholder values: `pieces[0]`, value 0,
/// `pieces[1]`, value 1, … `pieces[n]`.
#[derive(Debug, Clone)]
struct Template {
    pieces: Vec<String>,
}

/// Placeholder values: plain, and text that no statement part contains.
const SLOTS: [&str; 5] = [
    "retort_slot_0_x",
    "retort_slot_1_x",
    "retort_slot_2_x",
    "retort_slot_3_x",
    "retort_slot_4_x",
];

impl Template {
    /// Renders `render(SLOTS)` and splits it at each slot, which must occur
    /// exactly once and in order; `None` (no fast path) otherwise.
    fn new(render: impl FnOnce(&[&str; 5]) -> String) -> Option<Template> {
        let text = render(&SLOTS);
        let mut pieces = Vec::with_capacity(SLOTS.len() + 1);
        let mut rest = text.as_str();
        for slot in SLOTS {
            let quoted = format!("'{slot}'");
            if text.matches(&quoted).count() != 1 {
                return None;
            }
            let (before, after) = rest.split_once(&quoted)?;
            let open = if pieces.is_empty() { "" } else { "'" };
            pieces.push(format!("{open}{before}'"));
            rest = after;
        }
        pieces.push(format!("'{rest}"));
        Some(Template { pieces })
    }

    /// The statement with `values` (plain) in the slots.
    fn fill(&self, values: &[&str]) -> String {
        let len = self.pieces.iter().map(String::len).sum::<usize>()
            + values.iter().map(|v| v.len()).sum::<usize>();
        let mut out = String::with_capacity(len);
        for (piece, value) in self.pieces.iter().zip(values) {
            out.push_str(piece);
            out.push_str(value);
        }
        if let Some(last) = self.pieces.last() {
            out.push_str(last);
        }
        out
    }
}

/// A string that every dialect renders as `'<s>'` unchanged: printable
/// ASCII without quotes or backslashes (MySQL escapes `"` too; PostgreSQL
/// switches to `E'…'` for a backslash).
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && !matches!(b, b'\'' | b'"' | b'\\'))
}

/// Column kinds, mapped per dialect in [`VersionTables::column`].
#[derive(Clone, Copy)]
enum Kind {
    /// A short string with a length (keys, names, states).
    Short(u32),
    /// Unbounded text.
    Text,
    /// A UTC timestamp.
    Timestamp,
    /// A 64-bit integer.
    BigInt,
    /// A JSON document.
    Json,
}

impl VersionTables {
    /// The tables named `name` and `<name>_log` (the name is validated by
    /// the config as a plain identifier) for `dialect`.
    pub fn new(name: &str, dialect: Dialect) -> VersionTables {
        VersionTables {
            name: name.to_string(),
            dialect,
            version_template: TemplateCache::default(),
            log_template: TemplateCache::default(),
        }
    }

    /// The version table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log table's name: `<name>_log`.
    pub fn log_name(&self) -> String {
        format!("{}_log", self.name)
    }

    fn column(&self, name: &'static str, kind: Kind, not_null: bool) -> ColumnDef {
        let mut col = ColumnDef::new(name);
        match (self.dialect, kind) {
            (Dialect::Sqlite, Kind::Short(_) | Kind::Text | Kind::Timestamp | Kind::Json) => {
                col.text();
            }
            (Dialect::Sqlite, Kind::BigInt) => {
                col.integer();
            }
            (Dialect::Postgres | Dialect::Mysql, Kind::Short(len)) => {
                col.string_len(len);
            }
            (Dialect::Postgres | Dialect::Mysql, Kind::Text) => {
                col.text();
            }
            (Dialect::Postgres, Kind::Timestamp) => {
                col.timestamp_with_time_zone();
            }
            (Dialect::Mysql, Kind::Timestamp) => {
                col.custom("DATETIME(6)");
            }
            (Dialect::Postgres | Dialect::Mysql, Kind::BigInt) => {
                col.big_integer();
            }
            (Dialect::Postgres, Kind::Json) => {
                col.json_binary();
            }
            (Dialect::Mysql, Kind::Json) => {
                col.json();
            }
        }
        if not_null {
            col.not_null();
        } else {
            col.null();
        }
        col
    }

    fn render_create(&self, stmt: &TableCreateStatement) -> String {
        match self.dialect {
            Dialect::Sqlite => stmt.to_string(SqliteQueryBuilder),
            Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
            Dialect::Mysql => stmt.to_string(MysqlQueryBuilder),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for the version table.
    pub fn create_versions(&self) -> String {
        let mut version = self.column("version", Kind::Short(KEY_LEN), true);
        version.primary_key();
        let stmt = Table::create()
            .table(self.name.clone())
            .if_not_exists()
            .col(version)
            .col(self.column("lane", Kind::Short(KEY_LEN), true))
            .col(self.column("state", Kind::Short(16), true))
            .col(self.column("checksum", Kind::Short(64), true))
            .col(self.column("message", Kind::Text, true))
            .col(self.column("applied_at", Kind::Timestamp, true))
            .col(self.column("execution_ms", Kind::BigInt, false))
            .col(self.column("progress", Kind::Json, false))
            .col(self.column("error", Kind::Text, false))
            .col(self.column("applied_by", Kind::Short(KEY_LEN), true))
            .col(self.column("source", Kind::Text, false))
            .to_owned();
        self.render_create(&stmt)
    }

    /// `ALTER TABLE … ADD COLUMN source …`: upgrades a version table created
    /// by a retort that did not record sources yet.
    pub fn add_source_column(&self) -> String {
        let stmt = Table::alter()
            .table(self.name.clone())
            .add_column(self.column("source", Kind::Text, false))
            .to_owned();
        match self.dialect {
            Dialect::Sqlite => stmt.to_string(SqliteQueryBuilder),
            Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
            Dialect::Mysql => stmt.to_string(MysqlQueryBuilder),
        }
    }

    /// The query counting the version table's `source` column (0 or 1; one
    /// bind parameter: the table name).
    pub fn source_column_exists(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "SELECT count(*) FROM pragma_table_info(?1) WHERE name = 'source'".to_string(),
            Dialect::Postgres => "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'source'".to_string(),
            Dialect::Mysql => "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'source'".to_string(),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for the log table.
    pub fn create_log(&self) -> String {
        let mut id = ColumnDef::new("id");
        match self.dialect {
            // `integer PRIMARY KEY` is SQLite's rowid: ids count up from the
            // largest one, which never goes away since nothing deletes from
            // the log. AUTOINCREMENT would add nothing but an update of
            // `sqlite_sequence` (one more page) in every commit.
            Dialect::Sqlite => id.integer(),
            Dialect::Postgres | Dialect::Mysql => id.big_integer().auto_increment(),
        };
        id.not_null().primary_key();
        let stmt = Table::create()
            .table(self.log_name())
            .if_not_exists()
            .col(id)
            .col(self.column("at", Kind::Timestamp, true))
            .col(self.column("action", Kind::Short(16), true))
            .col(self.column("version", Kind::Short(KEY_LEN), true))
            .col(self.column("lane", Kind::Short(KEY_LEN), true))
            .col(self.column("duration_ms", Kind::BigInt, false))
            .col(self.column("outcome", Kind::Short(16), true))
            .col(self.column("error", Kind::Text, false))
            .col(self.column("applied_by", Kind::Short(KEY_LEN), true))
            .col(self.column("tool_version", Kind::Short(64), true))
            .to_owned();
        self.render_create(&stmt)
    }

    /// Both `CREATE TABLE IF NOT EXISTS` statements, version table first.
    pub fn create_statements(&self) -> Vec<String> {
        vec![self.create_versions(), self.create_log()]
    }

    fn at(&self, at: At) -> Expr {
        match at {
            At::Now => Expr::cust(now_sql(self.dialect)),
            At::Value(t) => Expr::val(match self.dialect {
                Dialect::Sqlite => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                Dialect::Postgres => t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
                Dialect::Mysql => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            }),
        }
    }

    fn elapsed(&self, elapsed: Elapsed) -> Expr {
        match (elapsed, self.dialect) {
            (Elapsed::Ms(ms), _) => Expr::val(ms),
            (Elapsed::SinceTransactionStart, Dialect::Postgres) => {
                Expr::cust("CAST(EXTRACT(EPOCH FROM clock_timestamp() - now()) * 1000 AS bigint)")
            }
            (Elapsed::SinceEpochMs(start), Dialect::Sqlite) => Expr::cust(format!(
                "MAX(0, CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) - {start})"
            )),
            (Elapsed::SinceEpochMs(start), Dialect::Postgres) => Expr::cust(format!(
                "GREATEST(0, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint) - {start})"
            )),
            (Elapsed::SinceEpochMs(start), Dialect::Mysql) => Expr::cust(format!(
                "GREATEST(0, CAST(ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000) AS SIGNED) - {start})"
            )),
            (Elapsed::Unknown, _)
            | (Elapsed::SinceTransactionStart, Dialect::Sqlite | Dialect::Mysql) => {
                Expr::val(None::<i64>)
            }
        }
    }

    fn render_query(&self, stmt: &impl QueryToString) -> String {
        stmt.render(self.dialect)
    }

    /// `INSERT INTO <name> (…) VALUES (…)` for `row`, values inlined. The
    /// `source` column is listed only when the row carries a source.
    pub fn insert_version(&self, row: &VersionRow<'_>) -> String {
        // Fast path for the offline script's rows (one per revision): with
        // every string value plain (see `plain`), the statement is the one
        // sea-query renders for placeholder values with the values put in
        // their place; the template is rendered by sea-query itself, once.
        if row.state == VersionState::Applied
            && row.applied_at == At::Now
            && row.execution_ms == Elapsed::Unknown
            && row.progress.is_none()
            && row.error.is_none()
            && row.source.is_none()
        {
            let values = [
                row.version,
                row.lane,
                row.checksum,
                row.message,
                row.applied_by,
            ];
            if values.iter().all(|v| plain(v)) {
                let template = self.version_template.0.get_or_init(|| {
                    Template::new(|slots| {
                        self.insert_version_full(&VersionRow {
                            version: slots[0],
                            lane: slots[1],
                            checksum: slots[2],
                            message: slots[3],
                            applied_by: slots[4],
                            ..*row
                        })
                    })
                });
                if let Some(template) = template {
                    return template.fill(&values);
                }
            }
        }
        self.insert_version_full(row)
    }

    /// [`VersionTables::insert_version`], always through sea-query.
    fn insert_version_full(&self, row: &VersionRow<'_>) -> String {
        let mut columns = vec![
            "version",
            "lane",
            "state",
            "checksum",
            "message",
            "applied_at",
            "execution_ms",
            "progress",
            "error",
            "applied_by",
        ];
        let mut values = vec![
            Expr::val(row.version),
            Expr::val(row.lane),
            Expr::val(row.state.as_str()),
            Expr::val(row.checksum),
            Expr::val(row.message),
            self.at(row.applied_at),
            self.elapsed(row.execution_ms),
            Expr::val(row.progress.map(|p| p.to_string())),
            Expr::val(row.error),
            Expr::val(row.applied_by),
        ];
        if let Some(source) = row.source {
            columns.push("source");
            values.push(Expr::val(source));
        }
        let mut stmt = Query::insert();
        stmt.into_table(self.name.clone()).columns(columns);
        // Column and value counts match by construction, so the only
        // panic of `values_panic` cannot happen (the tests run it).
        stmt.values_panic(values);
        self.render_query(&stmt)
    }

    /// `UPDATE <name> SET … WHERE version = '…'` for `change`, values
    /// inlined: the statement journal's state changes, `amend` and
    /// `resolve`.
    pub fn update_version(&self, version: &str, change: &RowChange<'_>) -> String {
        let mut stmt = Query::update();
        stmt.table(self.name.clone());
        match change {
            RowChange::Progress {
                state,
                progress,
                error,
            } => {
                stmt.value("state", state.as_str())
                    .value("progress", Expr::val(progress.to_string()))
                    .value("error", Expr::val(*error));
            }
            RowChange::Content { checksum, source } => {
                stmt.value("checksum", *checksum)
                    .value("source", Expr::val(*source));
            }
            RowChange::Finished {
                checksum,
                source,
                at,
                execution_ms,
                applied_by,
            } => {
                stmt.value("state", VersionState::Applied.as_str())
                    .value("checksum", *checksum)
                    .value("source", Expr::val(*source))
                    .value("applied_at", self.at(*at))
                    .value("execution_ms", self.elapsed(*execution_ms))
                    .value("progress", Expr::val(None::<String>))
                    .value("error", Expr::val(None::<String>))
                    .value("applied_by", *applied_by);
            }
        }
        stmt.and_where(Expr::col("version").eq(version));
        self.render_query(&stmt)
    }

    /// `DELETE FROM <name>`: every row (`stamp --purge`).
    pub fn delete_all_versions(&self) -> String {
        let stmt = Query::delete().from_table(self.name.clone()).to_owned();
        self.render_query(&stmt)
    }

    /// The table name quoted for this dialect (the config admits plain
    /// identifiers only, so quoting never needs escaping).
    fn quoted(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Sqlite | Dialect::Postgres => format!("\"{name}\""),
            Dialect::Mysql => format!("`{name}`"),
        }
    }

    /// The query that reads every row (without `source`), oldest first:
    /// `version, lane, state, checksum, progress (as text), error`. Ties of
    /// `applied_at` fall back to insertion order on SQLite (rowid) and the
    /// id elsewhere.
    pub fn select_versions(&self) -> String {
        let (progress, tiebreak) = match self.dialect {
            Dialect::Sqlite => ("progress", "rowid"),
            Dialect::Postgres => ("progress::text", "version"),
            Dialect::Mysql => ("CAST(progress AS CHAR)", "version"),
        };
        format!(
            "SELECT version, lane, state, checksum, {progress}, error FROM {} ORDER BY applied_at, {tiebreak}",
            self.quoted(&self.name)
        )
    }

    /// The query for one row's `source`, with one bind parameter (the id).
    pub fn select_source(&self) -> String {
        format!(
            "SELECT source FROM {} WHERE version = {}",
            self.quoted(&self.name),
            self.placeholder()
        )
    }

    /// The query for one row's `state`, with one bind parameter (the id).
    pub fn select_state(&self) -> String {
        format!(
            "SELECT state FROM {} WHERE version = {}",
            self.quoted(&self.name),
            self.placeholder()
        )
    }

    /// The query for one row's `state` with the id inlined (for a script
    /// that takes a lock and reads in one call). Ids are `[A-Za-z0-9_]`;
    /// quotes are doubled anyway.
    pub fn select_state_of(&self, version: &str) -> String {
        format!(
            "SELECT state FROM {} WHERE version = '{}'",
            self.quoted(&self.name),
            version.replace('\'', "''")
        )
    }

    /// The query telling whether the version table exists (one bind
    /// parameter: the table name; returns one integer count).
    pub fn table_exists(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1".to_string()
            }
            Dialect::Postgres => "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1".to_string(),
            Dialect::Mysql => "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?".to_string(),
        }
    }

    fn placeholder(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "?1",
            Dialect::Postgres => "$1",
            Dialect::Mysql => "?",
        }
    }

    /// `DELETE FROM <name> WHERE version = '…'`.
    pub fn delete_version(&self, version: &str) -> String {
        let stmt = Query::delete()
            .from_table(self.name.clone())
            .and_where(Expr::col("version").eq(version))
            .to_owned();
        self.render_query(&stmt)
    }

    /// `INSERT INTO <name>_log (…) VALUES (…)` for `entry`, values inlined.
    pub fn insert_log(&self, entry: &LogEntry<'_>) -> String {
        // Fast path for the offline script's entries: as in `insert_version`.
        if entry.at == At::Now && entry.duration_ms == Elapsed::Unknown && entry.error.is_none() {
            let values = [
                entry.action.as_str(),
                entry.version,
                entry.lane,
                entry.outcome.as_str(),
                entry.applied_by,
            ];
            if values.iter().all(|v| plain(v)) {
                let template = self.log_template.0.get_or_init(|| {
                    Template::new(|slots| {
                        self.insert_log_full(
                            &LogEntry {
                                version: slots[1],
                                lane: slots[2],
                                applied_by: slots[4],
                                ..*entry
                            },
                            Some((slots[0], slots[3])),
                        )
                    })
                });
                if let Some(template) = template {
                    return template.fill(&values);
                }
            }
        }
        self.insert_log_full(entry, None)
    }

    /// [`VersionTables::insert_log`], always through sea-query; `texts`
    /// replaces the action's and the outcome's text (template slots).
    fn insert_log_full(&self, entry: &LogEntry<'_>, texts: Option<(&str, &str)>) -> String {
        let (action, outcome) = texts.unwrap_or((entry.action.as_str(), entry.outcome.as_str()));
        let mut stmt = Query::insert();
        stmt.into_table(self.log_name())
            .columns([
                "at",
                "action",
                "version",
                "lane",
                "duration_ms",
                "outcome",
                "error",
                "applied_by",
                "tool_version",
            ])
            // Counts match by construction (see `insert_version`).
            .values_panic([
                self.at(entry.at),
                Expr::val(action),
                Expr::val(entry.version),
                Expr::val(entry.lane),
                self.elapsed(entry.duration_ms),
                Expr::val(outcome),
                Expr::val(entry.error),
                Expr::val(entry.applied_by),
                Expr::val(TOOL_VERSION),
            ]);
        self.render_query(&stmt)
    }
}

/// sea-query statements rendered per dialect (one match, no `_` arm).
trait QueryToString {
    fn render(&self, dialect: Dialect) -> String;
}

macro_rules! impl_query_to_string {
    ($($t:ty),*) => {$(
        impl QueryToString for $t {
            fn render(&self, dialect: Dialect) -> String {
                match dialect {
                    Dialect::Sqlite => self.to_string(SqliteQueryBuilder),
                    Dialect::Postgres => self.to_string(PostgresQueryBuilder),
                    Dialect::Mysql => self.to_string(MysqlQueryBuilder),
                }
            }
        }
    )*};
}

impl_query_to_string!(
    sea_query::InsertStatement,
    sea_query::DeleteStatement,
    sea_query::UpdateStatement
);

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(d: Dialect) -> VersionTables {
        VersionTables::new("_versions", d)
    }

    #[test]
    fn create_sqlite() {
        assert_eq!(
            tables(Dialect::Sqlite).create_statements(),
            [
                r#"CREATE TABLE IF NOT EXISTS "_versions" ( "version" text NOT NULL PRIMARY KEY, "lane" text NOT NULL, "state" text NOT NULL, "checksum" text NOT NULL, "message" text NOT NULL, "applied_at" text NOT NULL, "execution_ms" integer NULL, "progress" text NULL, "error" text NULL, "applied_by" text NOT NULL, "source" text NULL )"#,
                r#"CREATE TABLE IF NOT EXISTS "_versions_log" ( "id" integer NOT NULL PRIMARY KEY, "at" text NOT NULL, "action" text NOT NULL, "version" text NOT NULL, "lane" text NOT NULL, "duration_ms" integer NULL, "outcome" text NOT NULL, "error" text NULL, "applied_by" text NOT NULL, "tool_version" text NOT NULL )"#,
            ]
        );
    }

    #[test]
    fn create_postgres() {
        assert_eq!(
            tables(Dialect::Postgres).create_statements(),
            [
                r#"CREATE TABLE IF NOT EXISTS "_versions" ( "version" varchar(255) NOT NULL PRIMARY KEY, "lane" varchar(255) NOT NULL, "state" varchar(16) NOT NULL, "checksum" varchar(64) NOT NULL, "message" text NOT NULL, "applied_at" timestamp with time zone NOT NULL, "execution_ms" bigint NULL, "progress" jsonb NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "source" text NULL )"#,
                r#"CREATE TABLE IF NOT EXISTS "_versions_log" ( "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY, "at" timestamp with time zone NOT NULL, "action" varchar(16) NOT NULL, "version" varchar(255) NOT NULL, "lane" varchar(255) NOT NULL, "duration_ms" bigint NULL, "outcome" varchar(16) NOT NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "tool_version" varchar(64) NOT NULL )"#,
            ]
        );
    }

    #[test]
    fn create_mysql() {
        assert_eq!(
            tables(Dialect::Mysql).create_statements(),
            [
                r#"CREATE TABLE IF NOT EXISTS `_versions` ( `version` varchar(255) NOT NULL PRIMARY KEY, `lane` varchar(255) NOT NULL, `state` varchar(16) NOT NULL, `checksum` varchar(64) NOT NULL, `message` text NOT NULL, `applied_at` DATETIME(6) NOT NULL, `execution_ms` bigint NULL, `progress` json NULL, `error` text NULL, `applied_by` varchar(255) NOT NULL, `source` text NULL )"#,
                r#"CREATE TABLE IF NOT EXISTS `_versions_log` ( `id` bigint NOT NULL PRIMARY KEY AUTO_INCREMENT, `at` DATETIME(6) NOT NULL, `action` varchar(16) NOT NULL, `version` varchar(255) NOT NULL, `lane` varchar(255) NOT NULL, `duration_ms` bigint NULL, `outcome` varchar(16) NOT NULL, `error` text NULL, `applied_by` varchar(255) NOT NULL, `tool_version` varchar(64) NOT NULL )"#,
            ]
        );
    }

    #[test]
    fn custom_table_name() {
        let t = VersionTables::new("schema_history", Dialect::Postgres);
        assert_eq!(t.log_name(), "schema_history_log");
        assert!(t
            .create_versions()
            .starts_with(r#"CREATE TABLE IF NOT EXISTS "schema_history" ("#));
        assert!(t
            .create_log()
            .starts_with(r#"CREATE TABLE IF NOT EXISTS "schema_history_log" ("#));
        assert_eq!(
            t.delete_version("a"),
            r#"DELETE FROM "schema_history" WHERE "version" = 'a'"#
        );
    }

    fn applied_row() -> VersionRow<'static> {
        VersionRow {
            version: "ae1027a6acf0",
            lane: "schema",
            state: VersionState::Applied,
            checksum: "abc",
            message: r#"it's a \ "test""#,
            applied_at: At::Now,
            execution_ms: Elapsed::Unknown,
            progress: None,
            error: None,
            applied_by: OFFLINE_APPLIED_BY,
            source: None,
        }
    }

    #[test]
    fn offline_templates_render_as_sea_query_does() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let t = tables(dialect);
            for message in ["step 1", "add x: y-z (2)", "it's", "a\\b", "q\"", "é", ""] {
                let row = VersionRow {
                    message,
                    ..applied_row()
                };
                // Twice: the first call renders the template.
                for _ in 0..2 {
                    assert_eq!(t.insert_version(&row), t.insert_version_full(&row));
                }
                for action in [LogAction::Upgrade, LogAction::Downgrade, LogAction::Stamp] {
                    let entry = LogEntry {
                        at: At::Now,
                        action,
                        version: message,
                        lane: "schema",
                        duration_ms: Elapsed::Unknown,
                        outcome: Outcome::Ok,
                        error: None,
                        applied_by: OFFLINE_APPLIED_BY,
                    };
                    assert_eq!(t.insert_log(&entry), t.insert_log_full(&entry, None));
                }
            }
        }
    }

    #[test]
    fn insert_version_now_escapes_per_dialect() {
        let row = applied_row();
        assert_eq!(
            tables(Dialect::Sqlite).insert_version(&row),
            r#"INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('ae1027a6acf0', 'schema', 'applied', 'abc', 'it''s a \ "test"', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL, NULL, NULL, 'offline')"#
        );
        assert_eq!(
            tables(Dialect::Postgres).insert_version(&row),
            r#"INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('ae1027a6acf0', 'schema', 'applied', 'abc', E'it\'s a \\ "test"', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline')"#
        );
        assert_eq!(
            tables(Dialect::Mysql).insert_version(&row),
            r#"INSERT INTO `_versions` (`version`, `lane`, `state`, `checksum`, `message`, `applied_at`, `execution_ms`, `progress`, `error`, `applied_by`) VALUES ('ae1027a6acf0', 'schema', 'applied', 'abc', 'it\'s a \\ \"test\"', UTC_TIMESTAMP(6), NULL, NULL, NULL, 'offline')"#
        );
    }

    #[test]
    fn insert_version_with_values() {
        let progress = serde_json::json!({"last_key": "o'k", "step": 1});
        let at = DateTime::parse_from_rfc3339("2026-11-23T12:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let row = VersionRow {
            state: VersionState::Failed,
            applied_at: At::Value(at),
            execution_ms: Elapsed::Ms(42),
            progress: Some(&progress),
            error: Some("boom"),
            message: "m",
            ..applied_row()
        };
        assert_eq!(
            tables(Dialect::Sqlite).insert_version(&row),
            r#"INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('ae1027a6acf0', 'schema', 'failed', 'abc', 'm', '2026-11-23T12:00:00.500Z', 42, '{"last_key":"o''k","step":1}', 'boom', 'offline')"#
        );
        assert_eq!(
            tables(Dialect::Postgres).insert_version(&row),
            r#"INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('ae1027a6acf0', 'schema', 'failed', 'abc', 'm', '2026-11-23 12:00:00.500000+00:00', 42, E'{"last_key":"o\'k","step":1}', 'boom', 'offline')"#
        );
        assert_eq!(
            tables(Dialect::Mysql).insert_version(&row),
            r#"INSERT INTO `_versions` (`version`, `lane`, `state`, `checksum`, `message`, `applied_at`, `execution_ms`, `progress`, `error`, `applied_by`) VALUES ('ae1027a6acf0', 'schema', 'failed', 'abc', 'm', '2026-11-23 12:00:00.500000', 42, '{\"last_key\":\"o\'k\",\"step\":1}', 'boom', 'offline')"#
        );
        assert_eq!(VersionState::Running.as_str(), "running");
    }

    #[test]
    fn delete_version_per_dialect() {
        assert_eq!(
            tables(Dialect::Sqlite).delete_version("o'k"),
            r#"DELETE FROM "_versions" WHERE "version" = 'o''k'"#
        );
        assert_eq!(
            tables(Dialect::Postgres).delete_version("o'k"),
            r#"DELETE FROM "_versions" WHERE "version" = E'o\'k'"#
        );
        assert_eq!(
            tables(Dialect::Mysql).delete_version("o'k"),
            r#"DELETE FROM `_versions` WHERE `version` = 'o\'k'"#
        );
    }

    #[test]
    fn insert_log_per_dialect() {
        let entry = LogEntry {
            at: At::Now,
            action: LogAction::Upgrade,
            version: "ae1027a6acf0",
            lane: "schema",
            duration_ms: Elapsed::Unknown,
            outcome: Outcome::Ok,
            error: None,
            applied_by: OFFLINE_APPLIED_BY,
        };
        let v = TOOL_VERSION;
        assert_eq!(
            tables(Dialect::Sqlite).insert_log(&entry),
            format!(
                r#"INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'ae1027a6acf0', 'schema', NULL, 'ok', NULL, 'offline', '{v}')"#
            )
        );
        assert_eq!(
            tables(Dialect::Postgres).insert_log(&entry),
            format!(
                r#"INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'upgrade', 'ae1027a6acf0', 'schema', NULL, 'ok', NULL, 'offline', '{v}')"#
            )
        );
        let failed = LogEntry {
            action: LogAction::Resolve,
            outcome: Outcome::Failed,
            duration_ms: Elapsed::Ms(7),
            error: Some("x"),
            ..entry
        };
        assert_eq!(
            tables(Dialect::Mysql).insert_log(&failed),
            format!(
                r#"INSERT INTO `_versions_log` (`at`, `action`, `version`, `lane`, `duration_ms`, `outcome`, `error`, `applied_by`, `tool_version`) VALUES (UTC_TIMESTAMP(6), 'resolve', 'ae1027a6acf0', 'schema', 7, 'failed', 'x', 'offline', '{v}')"#
            )
        );
        let names: Vec<&str> = [LogAction::Downgrade, LogAction::Stamp, LogAction::Amend]
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert_eq!(names, ["downgrade", "stamp", "amend"]);
    }
}
