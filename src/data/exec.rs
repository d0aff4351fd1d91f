//! The online runner of a data revision.
//!
//! The revision's `_versions` row is the checkpoint: it is inserted as
//! `running` before the first step and every batch commits *together with*
//! the new checkpoint (`BEGIN; <boundary>; <batch>; UPDATE _versions SET
//! progress = …; COMMIT`), so a `kill -9` at any instant leaves either the
//! batch and its checkpoint or neither. The next run reads the checkpoint
//! and goes on after `last_key`: no row twice, none skipped.
//!
//! Batches are keyset ranges, never OFFSET pages: the end of a batch is
//! the `n`-th key after the last one (`LIMIT 1 OFFSET n-1` after `key >
//! last`: an index range scan of `n` entries from the last key), or the
//! greatest key when fewer are left, and the batch is `key > last AND key
//! <= end`; `n` is `batch_size` or the time-sized [`super::sizer`] value. The checkpoint is re-read inside each batch's
//! transaction (SQLite takes `BEGIN IMMEDIATE`), so the database, not the
//! process, says where the run stands.
//!
//! One process at a time: PostgreSQL and MySQL/MariaDB hold the run lock
//! (`store::lock`); SQLite, which has none, holds the database's file lock
//! (`Db::lock_sqlite_file`) for the whole data revision. Moving to the next
//! step is a compare-and-set besides: it re-reads the row and adopts a
//! further-along checkpoint instead of overwriting it. A `sql` step commits
//! together with the checkpoint that moves past it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Column as _, Row as _, TypeInfo as _};

use super::model::{self, BatchAction, DataStep, Load, Located, Scan};
use super::progress::{Checkpoint, DataEvent};
use super::sizer::Sizer;
use super::{sql, Error, Site};
use crate::dialect::versions::{At, Elapsed, RowChange, VersionRow, VersionState, VersionTables};
use crate::dialect::{Dialect, Direction};
use crate::revision::Revision;
use crate::runner::script::{failure_log, finished_statements};
use crate::store::Db;

/// Options of a run that concern data revisions.
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// `--batch-size`: overrides every step's `batch_size`.
    pub batch_size: Option<u64>,
    /// Set (e.g. by Ctrl-C) to stop at the next batch boundary.
    pub cancel: Arc<AtomicBool>,
}

/// What `--dry-run` found for one step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DryRunCount {
    /// Revision id.
    pub revision: String,
    /// Step label.
    pub label: String,
    /// Rows the step would touch (None: not countable).
    pub rows: Option<u64>,
    /// Why not countable, or what runs.
    pub note: String,
}

/// A value read from or bound to the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (and anything read as text).
    Text(String),
}

impl Val {
    /// As JSON (for checkpoints, fixtures, transforms).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Int(i) => serde_json::json!(i),
            Val::Float(f) => serde_json::json!(f),
            Val::Text(s) => serde_json::json!(s),
        }
    }

    /// From a checkpoint's `last_key`.
    pub fn from_json(v: &serde_json::Value) -> Val {
        match v {
            serde_json::Value::Null => Val::Null,
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Val::Int)
                .unwrap_or_else(|| Val::Float(n.as_f64().unwrap_or(0.0))),
            serde_json::Value::String(s) => Val::Text(s.clone()),
            other => Val::Text(other.to_string()),
        }
    }

    /// Display text (`NULL` for null).
    pub fn display(&self) -> String {
        match self {
            Val::Null => "NULL".to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Text(s) => s.clone(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            Val::Text(s) => s.trim().parse().ok(),
            Val::Null => None,
        }
    }
}

/// `\x` and the bytes in lowercase hex (PostgreSQL's bytea text form).
fn hex_bytes(bytes: &[u8]) -> String {
    format!("\\x{}", hex::encode(bytes))
}

/// Runs `$body` with `$c` bound to the backend connection.
macro_rules! on_conn {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            Db::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            Db::Mysql($c) => $body,
        }
    };
}

macro_rules! bound {
    ($sql:expr, $binds:expr) => {{
        let mut q = sqlx::query(AssertSqlSafe($sql.to_string()));
        for v in $binds {
            q = match v {
                Val::Null => q.bind(None::<String>),
                Val::Int(i) => q.bind(*i),
                Val::Float(f) => q.bind(*f),
                Val::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }};
}

/// Decodes column `$i` of `$row` into a [`Val`], trying the types each
/// backend may hand back.
macro_rules! decode {
    ($row:expr, $i:expr) => {{
        let row = $row;
        let i = $i;
        // Fast path by the reported type: a failed try_get formats an
        // error, which costs more than the decode itself.
        let kind = row.columns()[i].type_info().name().to_ascii_uppercase();
        let texty = kind.contains("CHAR") || kind.contains("TEXT") || kind == "NAME";
        let text = if texty {
            row.try_get::<Option<String>, _>(i).ok()
        } else if RawText::read_as_text(row, &kind) {
            // NUMERIC/DECIMAL, UUID, JSON: their text form, exactly.
            Some(RawText::raw_text(row, i)?)
        } else {
            None
        };
        if let Some(v) = text {
            Ok(v.map_or(Val::Null, Val::Text))
        } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            Ok(v.map_or(Val::Null, Val::Int))
        } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            Ok(v.map_or(Val::Null, |x| Val::Int(i64::from(x))))
        } else if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
            Ok(v.map_or(Val::Null, |x| Val::Int(i64::from(x))))
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            Ok(v.map_or(Val::Null, Val::Float))
        } else if let Ok(v) = row.try_get::<Option<f32>, _>(i) {
            Ok(v.map_or(Val::Null, |x| Val::Float(f64::from(x))))
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            Ok(v.map_or(Val::Null, Val::Text))
        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            Ok(v.map_or(Val::Null, |b| Val::Int(i64::from(b))))
        } else if let Ok(v) = row.try_get::<Option<chrono::NaiveDateTime>, _>(i) {
            Ok(v.map_or(Val::Null, |d| Val::Text(d.to_string())))
        } else if let Ok(v) = row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i) {
            // MySQL's TIMESTAMP (in UTC: sqlx sets time_zone '+00:00')
            // reads back only without an offset; PostgreSQL's TIMESTAMPTZ
            // keeps RFC 3339.
            Ok(v.map_or(Val::Null, |d| {
                Val::Text(if kind == "TIMESTAMP" {
                    d.naive_utc().to_string()
                } else {
                    d.to_rfc3339()
                })
            }))
        } else if let Ok(v) = row.try_get::<Option<chrono::NaiveDate>, _>(i) {
            Ok(v.map_or(Val::Null, |d| Val::Text(d.to_string())))
        } else if let Ok(v) = row.try_get::<Option<chrono::NaiveTime>, _>(i) {
            Ok(v.map_or(Val::Null, |d| Val::Text(d.to_string())))
        } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
            // Binary as `\x` + hex (PostgreSQL's bytea text form): lossless.
            Ok(v.map_or(Val::Null, |b| Val::Text(hex_bytes(&b))))
        } else {
            // Any other type: its text form where the backend sends one.
            RawText::raw_text(row, i).map(|v| v.map_or(Val::Null, Val::Text))
        }
    }};
}

/// A column's value as its text form, for the types [`decode!`] has no
/// Rust type for (NUMERIC/DECIMAL, UUID, JSON, …): `data dump` and a
/// `transform` read every column of a table, used or not.
trait RawText {
    /// Whether a column of this (upper-case) type name is read as text
    /// first.
    fn read_as_text(&self, kind: &str) -> bool;
    /// Column `i` as text (`None`: NULL), or why it cannot be read.
    fn raw_text(&self, i: usize) -> Result<Option<String>, String>;
}

fn unreadable(i: usize, type_name: &str) -> String {
    format!(
        "cannot read column {} of type {type_name}: retort reads numbers, text, dates and times, \
         booleans, NUMERIC/DECIMAL, UUID, JSON and binary columns",
        i + 1
    )
}

#[cfg(feature = "postgres")]
impl RawText for sqlx::postgres::PgRow {
    fn read_as_text(&self, kind: &str) -> bool {
        matches!(kind, "NUMERIC" | "UUID" | "JSON" | "JSONB")
    }

    fn raw_text(&self, i: usize) -> Result<Option<String>, String> {
        use sqlx::postgres::PgValueFormat;
        use sqlx::ValueRef as _;
        let type_name = self.columns()[i].type_info().name().to_string();
        let raw = self
            .try_get_raw(i)
            .map_err(|e| format!("column {}: {e}", i + 1))?;
        if raw.is_null() {
            return Ok(None);
        }
        let bytes = raw
            .as_bytes()
            .map_err(|e| format!("column {}: {e}", i + 1))?;
        let text = match (raw.format(), type_name.as_str()) {
            (PgValueFormat::Text, _) | (PgValueFormat::Binary, "JSON" | "TEXT" | "XML") => {
                std::str::from_utf8(bytes).ok().map(str::to_string)
            }
            // JSONB: a version byte (1), then the text.
            (PgValueFormat::Binary, "JSONB") => bytes
                .split_first()
                .filter(|(version, _)| **version == 1)
                .and_then(|(_, rest)| std::str::from_utf8(rest).ok())
                .map(str::to_string),
            (PgValueFormat::Binary, "NUMERIC") => pg_numeric_text(bytes),
            (PgValueFormat::Binary, "UUID") => pg_uuid_text(bytes),
            (PgValueFormat::Binary, _) => None,
        };
        text.map(Some).ok_or_else(|| unreadable(i, &type_name))
    }
}

/// PostgreSQL's binary NUMERIC (`ndigits`, `weight`, `sign`, `dscale`,
/// then base-10000 digits, all big-endian) as its text form, e.g.
/// `-12345.670`.
#[cfg(feature = "postgres")]
fn pg_numeric_text(b: &[u8]) -> Option<String> {
    use std::fmt::Write as _;
    let pair = |k: usize| -> Option<[u8; 2]> { Some([*b.get(k)?, *b.get(k + 1)?]) };
    let word = |k: usize| pair(k).map(u16::from_be_bytes);
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(i16::from_be_bytes(pair(2)?));
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0xC000 => return Some("NaN".to_string()),
        0xD000 => return Some("Infinity".to_string()),
        0xF000 => return Some("-Infinity".to_string()),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    let digits = (0..ndigits)
        .map(|d| word(8 + 2 * d))
        .collect::<Option<Vec<u16>>>()?;
    // Digit `d` (0-based) is worth 10000^(weight - d).
    let digit = |d: i64| -> u16 {
        usize::try_from(d)
            .ok()
            .and_then(|d| digits.get(d).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for d in 0..=weight {
            let _ = if d == 0 {
                write!(out, "{}", digit(d))
            } else {
                write!(out, "{:04}", digit(d))
            };
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut d = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit(d));
            d += 1;
        }
        frac.truncate(dscale);
        out.push('.');
        out.push_str(&frac);
    }
    Some(out)
}

/// PostgreSQL's binary UUID (16 bytes) as `8-4-4-4-12` hex.
#[cfg(feature = "postgres")]
fn pg_uuid_text(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    let h = hex::encode(b);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(all(test, feature = "postgres"))]
mod raw_text_tests {
    use super::{pg_numeric_text, pg_uuid_text};

    /// A binary NUMERIC from its header and base-10000 digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(u16::try_from(digits.len()).unwrap().to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(dscale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_read_as_their_text() {
        let cases: &[(i16, u16, u16, &[u16], &str)] = &[
            (1, 0, 2, &[1, 2345, 6700], "12345.67"),
            (1, 0x4000, 3, &[1, 2345, 6700], "-12345.670"),
            (0, 0, 0, &[], "0"),
            (0, 0, 2, &[], "0.00"),
            (-1, 0, 1, &[5000], "0.5"),
            (-2, 0, 6, &[1200], "0.000012"),
            (1, 0, 0, &[1], "10000"),
            (2, 0, 0, &[3, 0, 7], "300000007"),
            (0, 0xC000, 0, &[], "NaN"),
        ];
        for (weight, sign, dscale, digits, text) in cases {
            assert_eq!(
                pg_numeric_text(&numeric(*weight, *sign, *dscale, digits)).as_deref(),
                Some(*text)
            );
        }
        assert_eq!(pg_numeric_text(&[0, 1]), None);
    }

    #[test]
    fn uuids_read_as_their_text() {
        let b: Vec<u8> = (0..16).collect();
        assert_eq!(
            pg_uuid_text(&b).as_deref(),
            Some("00010203-0405-0607-0809-0a0b0c0d0e0f")
        );
        assert_eq!(pg_uuid_text(&b[..3]), None);
    }
}

/// MySQL/MariaDB send DECIMAL and JSON as text (in both protocols), as
/// they do any type without a binary form.
#[cfg(feature = "mysql")]
impl RawText for sqlx::mysql::MySqlRow {
    fn read_as_text(&self, kind: &str) -> bool {
        matches!(kind, "DECIMAL" | "NEWDECIMAL" | "JSON")
    }

    fn raw_text(&self, i: usize) -> Result<Option<String>, String> {
        self.try_get_unchecked::<Option<String>, _>(i)
            .map_err(|_| unreadable(i, self.columns()[i].type_info().name()))
    }
}

/// SQLite hands back every value as text on request.
#[cfg(feature = "sqlite")]
impl RawText for sqlx::sqlite::SqliteRow {
    fn read_as_text(&self, _kind: &str) -> bool {
        false
    }

    fn raw_text(&self, i: usize) -> Result<Option<String>, String> {
        self.try_get_unchecked::<Option<String>, _>(i)
            .map_err(|_| unreadable(i, self.columns()[i].type_info().name()))
    }
}

/// Runs `sql` with `binds`; rows affected.
pub(crate) async fn exec(db: &mut Db, sql: &str, binds: &[Val]) -> Result<u64, String> {
    on_conn!(db, c => bound!(sql, binds)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| crate::store::db_message(&e)))
}

/// The names of the columns `sql` returns, from the prepared statement (so
/// also when it returns no rows).
pub(crate) async fn column_names(db: &mut Db, sql: &str) -> Result<Vec<String>, String> {
    use sqlx::{Executor as _, SqlSafeStr as _, Statement as _};
    on_conn!(db, c => {
        let statement = (&mut *c)
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await
            .map_err(|e| crate::store::db_message(&e))?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect())
    })
}

/// Runs a query; every row decoded, with the column names.
pub(crate) async fn fetch(
    db: &mut Db,
    sql: &str,
    binds: &[Val],
) -> Result<(Vec<String>, Vec<Vec<Val>>), String> {
    on_conn!(db, c => {
        let rows = bound!(sql, binds)
            .fetch_all(&mut *c)
            .await
            .map_err(|e| crate::store::db_message(&e))?;
        let names: Vec<String> = rows
            .first()
            .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut vals = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                vals.push(decode!(row, i)?);
            }
            out.push(vals);
        }
        Ok((names, out))
    })
}

async fn first_row(db: &mut Db, sql: &str, binds: &[Val]) -> Result<Vec<Val>, String> {
    let (_, mut rows) = fetch(db, sql, binds).await?;
    Ok(if rows.is_empty() {
        Vec::new()
    } else {
        rows.swap_remove(0)
    })
}

/// A value as a raw SQLite bind.
#[cfg(feature = "sqlite")]
pub(crate) fn bind_of(v: &Val) -> crate::store::raw::Bind<'_> {
    use crate::store::raw::Bind;
    match v {
        Val::Null => Bind::Null,
        Val::Int(i) => Bind::Int(*i),
        Val::Float(f) => Bind::Float(*f),
        Val::Text(s) => Bind::Text(s),
    }
}

/// A raw SQLite column as a value.
#[cfg(feature = "sqlite")]
pub(crate) fn cell_val(c: crate::store::raw::Cell<'_>) -> Val {
    use crate::store::raw::Cell;
    match c {
        Cell::Null => Val::Null,
        Cell::Int(i) => Val::Int(i),
        Cell::Float(f) => Val::Float(f),
        Cell::Text(t) => Val::Text(t.into_owned()),
    }
}

/// Everything the data runner needs from the migrator.
pub struct Ctx<'a> {
    /// The version tables.
    pub tables: &'a VersionTables,
    /// user@host.
    pub applied_by: &'a str,
    /// Options.
    pub options: &'a DataOptions,
    /// Values for templated SQL (`[vars]` and `-x`; `template = true`).
    pub vars: &'a std::collections::BTreeMap<String, String>,
}

/// How a data revision run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// Done.
    Done,
    /// Another process had done it already.
    Skipped,
}

fn version_table(dialect: Dialect, tables: &VersionTables) -> String {
    sql::quote_ident(dialect, tables.name()).unwrap_or_else(|_| tables.name().to_string())
}

/// `SELECT state, progress FROM _versions WHERE version = ?` (`FOR
/// UPDATE` on PostgreSQL and MySQL).
fn read_row_sql(dialect: Dialect, tables: &VersionTables) -> String {
    let progress = match dialect {
        Dialect::Sqlite => "progress",
        Dialect::Postgres => "progress::text",
        Dialect::Mysql => "CAST(progress AS CHAR)",
    };
    // `FOR UPDATE`: inside a batch's transaction this waits for any other
    // transaction that is still writing the checkpoint and then reads the
    // committed one. Without it, a run started right after `kill -9` could
    // read the old checkpoint while the killed client's last batch (sent in
    // one round trip) is still committing on the server, and process that
    // batch a second time. SQLite needs nothing: `BEGIN IMMEDIATE` already
    // serialises writers.
    let lock = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres | Dialect::Mysql => " FOR UPDATE",
    };
    let mut p = sql::Params::new(dialect);
    format!(
        "SELECT state, {progress} FROM {} WHERE version = {}{lock}",
        version_table(dialect, tables),
        p.marker()
    )
}

/// The row's state and progress text.
async fn read_row(
    db: &mut Db,
    tables: &VersionTables,
    id: &str,
) -> Result<Option<(String, Option<String>)>, Error> {
    let q = read_row_sql(db.dialect(), tables);
    let row = first_row(db, &q, &[Val::Text(id.to_string())])
        .await
        .map_err(|m| db_err("reading the checkpoint", m))?;
    Ok(match row.as_slice() {
        [Val::Text(state), progress] => Some((
            state.clone(),
            match progress {
                Val::Text(t) => Some(t.clone()),
                _ => None,
            },
        )),
        _ => None,
    })
}

/// Takes over the stored checkpoint when another process moved the step
/// on (the database's checkpoint is the truth).
fn adopt_stored(cp: &mut Checkpoint, state: &str, text: &str) {
    if let Some(stored) = Checkpoint::from_json(text) {
        if state != "applied" && stored.step == cp.step && stored.rows_done > cp.rows_done {
            cp.last_key = stored.last_key;
            cp.rows_done = stored.rows_done;
        }
    }
}

/// The checkpoint after a batch of `rows` rows ending at `hi`.
pub(crate) fn advance(cp: &mut Checkpoint, hi: &Val, rows: u64, started: Instant, at_start: u64) {
    cp.last_key = Some(hi.to_json());
    cp.rows_done += rows;
    let secs = started.elapsed().as_secs_f64();
    if secs > 0.0 {
        cp.rate = Some((cp.rows_done - at_start) as f64 / secs);
    }
    cp.updated_at = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
}

fn db_err(what: &str, message: String) -> Error {
    Error::Db {
        what: what.to_string(),
        message,
    }
}

/// `UPDATE _versions SET state = 'running', progress = ? WHERE version = ?`.
fn checkpoint_sql(dialect: Dialect, tables: &VersionTables) -> String {
    let mut p = sql::Params::new(dialect);
    let value = match dialect {
        Dialect::Postgres => format!("CAST({} AS jsonb)", p.marker()),
        Dialect::Sqlite | Dialect::Mysql => p.marker(),
    };
    format!(
        "UPDATE {} SET state = 'running', error = NULL, progress = {value} WHERE version = {}",
        version_table(dialect, tables),
        p.marker()
    )
}

pub(crate) async fn save_checkpoint(
    db: &mut Db,
    ctx: &Ctx<'_>,
    id: &str,
    cp: &Checkpoint,
) -> Result<(), String> {
    let q = checkpoint_sql(db.dialect(), ctx.tables);
    exec(
        db,
        &q,
        &[Val::Text(cp.to_json()), Val::Text(id.to_string())],
    )
    .await
    .map(drop)
}

pub(crate) fn begin(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres | Dialect::Mysql => "BEGIN",
    }
}

/// The start of a batch's transaction. PostgreSQL: batches commit with
/// `synchronous_commit = off`. Exactly-once does not need each batch to be
/// flushed: a batch and its checkpoint are in one transaction, and a crash
/// of the server loses a suffix of whole transactions, so the resumed run
/// redoes exactly those batches. The revision's final commit (and the
/// failure or interruption record) is synchronous and flushes the WAL up to
/// it, so a finished revision is as durable as one plain UPDATE. This
/// saves a WAL flush per batch (design notes, Performance).
fn begin_batch(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "BEGIN; SET LOCAL synchronous_commit TO OFF",
        Dialect::Sqlite | Dialect::Mysql => begin(dialect),
    }
}

/// `ROLLBACK`, ignoring its error (the transaction is gone either way).
pub(crate) async fn rollback(db: &mut Db) {
    let _ = db.execute_script("ROLLBACK", "rolling back").await;
}

/// `COMMIT`; when it fails (a deferred constraint, a busy database) the
/// transaction is rolled back, so that what the caller records next (the
/// failure) is not written into it and lost.
///
/// # Errors
/// The COMMIT's error.
pub(crate) async fn commit(db: &mut Db, what: &str) -> Result<(), crate::store::Error> {
    let result = db.execute_script("COMMIT", what).await;
    if result.is_err() {
        rollback(db).await;
    }
    result
}

/// The revision's steps for `direction`, parsed for the connection's
/// dialect.
///
/// # Errors
/// Invalid steps; a downgrade without a reverse.
pub fn steps(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
) -> Result<Vec<Located>, Error> {
    model::steps_of(rev, direction, dialect)
}

/// Runs a data revision in `direction`, resuming from its checkpoint.
///
/// # Errors
/// Step, verify, cancel and database errors; the row is left `running`
/// (cancel, lost connection) or `failed` (a failing statement or check)
/// with the checkpoint of the last committed batch.
pub async fn run_revision(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    source: &str,
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<Ran, Error> {
    let dialect = db.dialect();
    // `template = true`: every sql step and check rendered before anything runs.
    let steps =
        super::template::render_steps(rev, steps(rev, direction, dialect)?, dialect, ctx.vars)?;
    let checks = super::template::verify_checks(rev, direction, dialect, ctx.vars)?;
    let started = Instant::now();
    let dir = direction.name();
    // SQLite takes no run lock (`store::lock`): the data revision holds the
    // database's file lock from its first read to its last commit, so a
    // second process waits, then skips what the first finished or resumes
    // from its checkpoint (never runs steps or batches beside it). The
    // kernel releases the lock when the process ends, however it ends.
    let _file_lock = db.lock_sqlite_file(&ctx.options.cancel).await?;
    let Some(mut cp) = start(db, ctx, rev, direction, source, steps.len()).await? else {
        return Ok(Ran::Skipped);
    };
    while cp.step < steps.len() {
        let located = &steps[cp.step];
        if cp.label != located.label {
            cp.label.clone_from(&located.label);
        }
        let next = Checkpoint::start(
            dir,
            cp.step + 1,
            steps.len(),
            steps
                .get(cp.step + 1)
                .map_or("verify", |s| s.label.as_str()),
        );
        match run_step(db, ctx, rev, located, &mut cp, next, emit).await {
            Ok(Moved::To(moved)) => cp = *moved,
            Ok(Moved::Finished) => return Ok(Ran::Skipped),
            Err(e) => {
                if !matches!(e, Error::Cancelled { .. }) {
                    mark_failed(db, ctx, rev, direction, &cp, &e.to_string(), started).await;
                }
                return Err(e);
            }
        }
    }
    if direction == Direction::Upgrade {
        if let Err(e) = verify(db, rev, &checks, emit).await {
            mark_failed(db, ctx, rev, direction, &cp, &e.to_string(), started).await;
            return Err(e);
        }
    }
    finish(db, ctx, rev, direction, source, started).await?;
    Ok(Ran::Done)
}

/// Inserts (or takes over) the row and returns the checkpoint to start
/// from; `None` when another process finished the revision.
async fn start(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    source: &str,
    steps: usize,
) -> Result<Option<Checkpoint>, Error> {
    let dialect = db.dialect();
    let dir = direction.name();
    db.execute_script(begin(dialect), "starting a transaction")
        .await?;
    let row = match read_row(db, ctx.tables, &rev.id).await {
        Ok(row) => row,
        Err(e) => {
            rollback(db).await;
            return Err(e);
        }
    };
    let fresh = Checkpoint::start(dir, 0, steps, "");
    let resumed = row
        .as_ref()
        .and_then(|(_, p)| p.as_deref())
        .and_then(Checkpoint::from_json)
        .filter(|c| c.direction == dir)
        .map(|mut c| {
            c.steps = steps;
            c.step = c.step.min(steps);
            c
        });
    let mut statements = Vec::new();
    let cp = match (direction, &row) {
        (Direction::Upgrade, None) => {
            let json: serde_json::Value =
                serde_json::from_str(&fresh.to_json()).unwrap_or_default();
            statements.push(ctx.tables.insert_version(&VersionRow {
                version: &rev.id,
                lane: &rev.lane,
                state: VersionState::Running,
                checksum: rev.checksum(),
                message: &rev.message,
                applied_at: At::Value(chrono::Utc::now()),
                execution_ms: Elapsed::Unknown,
                progress: Some(&json),
                error: None,
                applied_by: ctx.applied_by,
                source: Some(source),
            }));
            Some(fresh)
        }
        (Direction::Upgrade, Some((state, _))) if state == "applied" => None,
        (Direction::Downgrade, None) => None,
        (_, Some((state, _))) => {
            if direction == Direction::Upgrade {
                statements.push(ctx.tables.update_version(
                    &rev.id,
                    &RowChange::Content {
                        checksum: rev.checksum(),
                        source: Some(source),
                    },
                ));
            }
            let cp = match resumed {
                Some(cp) if state != "applied" => cp,
                _ => fresh,
            };
            Some(cp)
        }
    };
    let Some(cp) = cp else {
        rollback(db).await;
        return Ok(None);
    };
    let mut script = statements.join(";\n");
    if !script.is_empty() {
        script.push(';');
        if let Err(e) = db
            .execute_script(&script, "recording the data revision")
            .await
        {
            rollback(db).await;
            return Err(e.into());
        }
    }
    if let Err(m) = save_checkpoint(db, ctx, &rev.id, &cp).await {
        rollback(db).await;
        return Err(db_err("saving the checkpoint", m));
    }
    commit(db, "committing").await?;
    Ok(Some(cp))
}

async fn mark_failed(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    cp: &Checkpoint,
    message: &str,
    started: Instant,
) {
    let json: serde_json::Value = serde_json::from_str(&cp.to_json()).unwrap_or_default();
    let mark = ctx.tables.update_version(
        &rev.id,
        &RowChange::Progress {
            state: VersionState::Failed,
            progress: &json,
            error: Some(message),
        },
    );
    let log = failure_log(ctx.tables, rev, direction, started, message, ctx.applied_by);
    if let Err(e) = db
        .execute_script(&format!("{mark};\n{log};"), "recording the failure")
        .await
    {
        tracing::warn!("could not mark {} failed: {e}", rev.id);
    }
}

async fn finish(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    source: &str,
    started: Instant,
) -> Result<(), Error> {
    let [done, log] =
        finished_statements(ctx.tables, rev, direction, source, started, ctx.applied_by);
    let dialect = db.dialect();
    db.execute_script(begin(dialect), "starting a transaction")
        .await?;
    if let Err(e) = db
        .execute_script(
            &format!("{done};\n{log};\nCOMMIT;"),
            "recording the data revision",
        )
        .await
    {
        rollback(db).await;
        return Err(e.into());
    }
    Ok(())
}

/// Runs `rev`'s `[[verify]]` checks (`checks`: their SQL rendered).
async fn verify(
    db: &mut Db,
    rev: &Revision,
    checks: &[crate::revision::Verify],
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<(), Error> {
    for check in checks {
        let site = Site {
            revision: rev.id.clone(),
            file: rev.path.clone(),
            direction: Direction::Upgrade,
            step: 0,
            line: check.line,
            op: format!("verify {}", check.name),
        };
        let row = first_row(db, &check.sql, &[])
            .await
            .map_err(|message| Error::Query {
                site: Box::new(site.clone()),
                sql: check.sql.clone(),
                message,
            })?;
        let value = row.into_iter().next().unwrap_or(Val::Null);
        let ok = value.as_f64() == Some(check.expect);
        emit(&DataEvent::Verified {
            name: &check.name,
            value: value.display(),
            ok,
        });
        if !ok {
            return Err(Error::VerifyFailed {
                site: Box::new(site),
                name: check.name.clone(),
                value: value.display(),
                expect: format_number(check.expect),
            });
        }
    }
    Ok(())
}

fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn query_err(site: &Site, sql: &str, message: String) -> Error {
    Error::Query {
        site: Box::new(site.clone()),
        sql: sql.to_string(),
        message,
    }
}

/// The key column of a batched step: `key`, else the table's single-column
/// primary key.
async fn key_of(db: &mut Db, site: &Site, scan: &Scan) -> Result<String, Error> {
    if let Some(key) = &scan.key {
        return Ok(key.clone());
    }
    let dialect = db.dialect();
    let table = scan.table.as_deref().unwrap_or(&scan.from);
    let q = sql::primary_key(dialect);
    let (_, rows) = fetch(db, q, &[Val::Text(sql::unquote(table))])
        .await
        .map_err(|m| query_err(site, q, m))?;
    match rows.as_slice() {
        [one] => match one.first() {
            Some(Val::Text(name)) => sql::quote_ident(dialect, name).map_err(|problem| Error::Invalid {
                site: Box::new(site.clone()),
                problem,
            }),
            _ => Err(invalid(site, "cannot read the primary key; give `key`")),
        },
        [] => Err(invalid(site, &format!("table {table} has no primary key (or does not exist): give `key = \"<unique column>\"`"))),
        _ => Err(invalid(site, &format!("table {table} has a composite primary key: give `key = \"<unique column>\"` (batches walk one column)"))),
    }
}

fn invalid(site: &Site, problem: &str) -> Error {
    Error::Invalid {
        site: Box::new(site.clone()),
        problem: problem.to_string(),
    }
}

/// Where a run stands after a step.
enum Moved {
    /// At this checkpoint (the next step's start, or a further one another
    /// process stored).
    To(Box<Checkpoint>),
    /// Another process finished the revision.
    Finished,
}

/// What the stored row says when this process is about to move past
/// `cp.step`: `Some` when another process is further along (a later step
/// of the same direction, or the revision finished), to be adopted instead
/// of redoing its work.
fn stored_ahead(
    row: Option<&(String, Option<String>)>,
    direction: Direction,
    cp: &Checkpoint,
) -> Option<Moved> {
    match row {
        None => (direction == Direction::Downgrade).then_some(Moved::Finished),
        Some((state, _)) if state == "applied" && direction == Direction::Upgrade => {
            Some(Moved::Finished)
        }
        Some((_, text)) => text
            .as_deref()
            .and_then(Checkpoint::from_json)
            .filter(|stored| stored.direction == cp.direction && stored.step > cp.step)
            .map(|mut stored| {
                stored.steps = cp.steps;
                stored.step = stored.step.min(cp.steps);
                Moved::To(Box::new(stored))
            }),
    }
}

/// Re-reads the row inside the transaction just begun; `Some`: another
/// process is further along (rolled back).
async fn check_stored(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    cp: &Checkpoint,
) -> Result<Option<Moved>, Error> {
    let row = match read_row(db, ctx.tables, &rev.id).await {
        Ok(row) => row,
        Err(e) => {
            rollback(db).await;
            return Err(e);
        }
    };
    let ahead = stored_ahead(row.as_ref(), direction, cp);
    if ahead.is_some() {
        rollback(db).await;
    }
    Ok(ahead)
}

/// Moves the stored checkpoint from `cp` (a finished batched or `load`
/// step) to `next`, as a compare-and-set: in one transaction that re-reads
/// the row first, and only when no other process moved it further.
async fn move_on(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    direction: Direction,
    cp: &Checkpoint,
    next: Checkpoint,
) -> Result<Moved, Error> {
    db.execute_script(begin(db.dialect()), "starting a transaction")
        .await?;
    if let Some(ahead) = check_stored(db, ctx, rev, direction, cp).await? {
        return Ok(ahead);
    }
    if let Err(m) = save_checkpoint(db, ctx, &rev.id, &next).await {
        rollback(db).await;
        return Err(db_err("saving the checkpoint", m));
    }
    commit(db, "committing").await?;
    Ok(Moved::To(Box::new(next)))
}

/// Runs the step at `cp` and moves the checkpoint to `next` (or to what
/// another process stored further along).
async fn run_step(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    located: &Located,
    cp: &mut Checkpoint,
    next: Checkpoint,
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<Moved, Error> {
    let site = &located.site;
    let direction = site.direction;
    match &located.step {
        DataStep::Sql(step) => run_sql_step(db, ctx, rev, located, step, cp, next, emit).await,
        DataStep::Batched { scan, action, pace } => {
            let key = key_of(db, site, scan).await?;
            let max = match action {
                BatchAction::Transform { .. } => model::TRANSFORM_MAX_BATCH,
                _ => u64::MAX,
            };
            let sizer = Sizer::new(pace, ctx.options.batch_size, max);
            run_batched(
                db,
                ctx,
                rev,
                located,
                scan,
                &key,
                action,
                sizer,
                pace.sleep_ms,
                cp,
                emit,
            )
            .await?;
            move_on(db, ctx, rev, direction, cp, next).await
        }
        DataStep::Load(load) => {
            super::fixture::run_load(db, ctx, rev, located, load, cp, emit).await?;
            move_on(db, ctx, rev, direction, cp, next).await
        }
    }
}

/// A `sql` step: `BEGIN; <re-read the row>; <statements>; <checkpoint at
/// next>; COMMIT`, so the step and the checkpoint that moves past it commit
/// together (a kill leaves both or neither). On MySQL/MariaDB DDL in the
/// step commits implicitly, so there a kill between that DDL and the
/// checkpoint runs the step again (design notes).
#[allow(clippy::too_many_arguments)]
async fn run_sql_step(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    located: &Located,
    step: &crate::revision::SqlStep,
    cp: &Checkpoint,
    next: Checkpoint,
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<Moved, Error> {
    let dialect = db.dialect();
    let site = &located.site;
    let statements = crate::dialect::split_statements(step.text_for(dialect), dialect);
    emit(&DataEvent::StepStarted {
        revision: &rev.id,
        label: &located.label,
        step: cp.step,
        total: None,
        resumed_at: 0,
    });
    db.execute_script(begin(dialect), "starting a transaction")
        .await?;
    if let Some(ahead) = check_stored(db, ctx, rev, site.direction, cp).await? {
        return Ok(ahead);
    }
    for s in &statements {
        if let Err(e) = db.execute_script(s, "running a statement").await {
            rollback(db).await;
            return Err(query_err(site, s, e.database_message()));
        }
    }
    if let Err(m) = save_checkpoint(db, ctx, &rev.id, &next).await {
        rollback(db).await;
        return Err(db_err("saving the checkpoint", m));
    }
    commit(db, "committing").await?;
    emit(&DataEvent::StepFinished {
        label: &located.label,
        done: 0,
    });
    Ok(Moved::To(Box::new(next)))
}

/// The loop-invariant SQL and state of a batched step.
struct Plan<'a> {
    site: &'a Site,
    scan: &'a Scan,
    key: &'a str,
    action: &'a BatchAction,
    /// Rows per batch the boundaries take.
    size: u64,
    /// The last batch's boundary without / with a lower bound.
    tails: (String, String),
    /// Boundary without / with a lower bound.
    bounds: (String, String),
    /// Batch statement without / with a lower bound (`None`: transform).
    batches: (Option<String>, Option<String>),
    /// Checkpoint re-read.
    read: String,
    /// Checkpoint save.
    save: String,
    /// PostgreSQL: fewer round trips per batch.
    pg: Option<PgPlan>,
    started: Instant,
    at_start: u64,
    /// How long the last batch's `COMMIT` took (for the sizer).
    commit_took: std::cell::Cell<Duration>,
}

/// PostgreSQL's folded statements: the checkpoint re-read (`FOR UPDATE`)
/// with the boundary, and the batch with the checkpoint save (a
/// data-modifying `WITH`), so a batch is four round trips (`BEGIN`, read +
/// boundary, batch + checkpoint, `COMMIT`) instead of six. Values stay
/// bound.
struct PgPlan {
    /// Re-read + boundary without / with a lower bound: binds `[lo,] id`;
    /// columns `state, progress, hi, n`.
    read_bound: (String, String),
    /// Batch + checkpoint without / with a lower bound (`None`:
    /// transform): binds `[lo,] hi, progress, id`.
    batch_save: (Option<String>, Option<String>),
    /// The version table, quoted.
    version_table: String,
    /// Batches may be key spans (see [`span_batch`]): an `update` sized
    /// by time.
    spans: bool,
    /// The next batch is a key span: the last batch had an integer key
    /// range at least half full.
    by_span: std::cell::Cell<bool>,
}

/// `WITH batch AS (<statement>) UPDATE _versions SET … progress = $n …`:
/// the statement of a batch and its checkpoint in one round trip
/// (PostgreSQL). `binds`: how many parameters `statement` has.
fn pg_with_checkpoint(version_table: &str, statement: &str, binds: usize) -> String {
    format!(
        "WITH batch AS ({statement}) UPDATE {version_table} SET state = 'running', error = NULL, progress = CAST(${} AS jsonb) WHERE version = ${}",
        binds + 1,
        binds + 2
    )
}

impl PgPlan {
    fn new(
        tables: &VersionTables,
        bounds: &(String, String),
        batches: &(Option<String>, Option<String>),
        spans: bool,
    ) -> PgPlan {
        let vt = version_table(Dialect::Postgres, tables);
        PgPlan {
            read_bound: Self::read_bound(&vt, bounds),
            batch_save: (
                batches.0.as_deref().map(|b| pg_with_checkpoint(&vt, b, 1)),
                batches.1.as_deref().map(|b| pg_with_checkpoint(&vt, b, 2)),
            ),
            version_table: vt,
            spans,
            by_span: std::cell::Cell::new(false),
        }
    }

    fn read_bound(vt: &str, bounds: &(String, String)) -> (String, String) {
        let read_bound = |bound: &str, binds: usize| {
            format!(
                "SELECT v.state, v.progress::text, bd.* FROM {vt} AS v, ({bound}) AS bd WHERE v.version = ${} FOR UPDATE OF v",
                binds + 1
            )
        };
        (read_bound(&bounds.0, 0), read_bound(&bounds.1, 1))
    }
}

/// The boundary statements of batches of `n` rows, without / with a lower
/// bound.
fn bounds_of(dialect: Dialect, scan: &Scan, key: &str, n: u64) -> (String, String) {
    (
        sql::boundary(dialect, scan, key, false, n),
        sql::boundary(dialect, scan, key, true, n),
    )
}

impl Plan<'_> {
    /// Makes the next batches take `n` rows.
    fn resize(&mut self, dialect: Dialect, n: u64) {
        if n == self.size {
            return;
        }
        self.size = n;
        self.bounds = bounds_of(dialect, self.scan, self.key, n);
        if let Some(pg) = &mut self.pg {
            pg.read_bound = PgPlan::read_bound(&pg.version_table, &self.bounds);
        }
    }

    fn tail(&self, has_lo: bool) -> &str {
        if has_lo {
            &self.tails.1
        } else {
            &self.tails.0
        }
    }

    fn bound(&self, has_lo: bool) -> &str {
        if has_lo {
            &self.bounds.1
        } else {
            &self.bounds.0
        }
    }

    fn batch(&self, has_lo: bool) -> &str {
        let b = if has_lo {
            &self.batches.1
        } else {
            &self.batches.0
        };
        b.as_deref().unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_batched(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    located: &Located,
    scan: &Scan,
    key: &str,
    action: &BatchAction,
    mut sizer: Sizer,
    sleep_ms: u64,
    cp: &mut Checkpoint,
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<(), Error> {
    let dialect = db.dialect();
    let site = &located.site;
    let lo = cp.last_key.as_ref().map(Val::from_json);
    let count_sql = sql::count(dialect, scan, key, lo.is_some());
    let remaining = first_row(db, &count_sql, lo.as_slice())
        .await
        .map_err(|m| query_err(site, &count_sql, m))?
        .first()
        .and_then(Val::as_f64)
        .unwrap_or(0.0) as u64;
    cp.total = Some(cp.rows_done + remaining);
    emit(&DataEvent::StepStarted {
        revision: &rev.id,
        label: &located.label,
        step: cp.step,
        total: cp.total,
        resumed_at: cp.rows_done,
    });
    let size = sizer.next();
    let bounds = bounds_of(dialect, scan, key, size);
    let batches = (
        sql::batch(dialect, scan, key, action, false),
        sql::batch(dialect, scan, key, action, true),
    );
    let mut plan = Plan {
        site,
        scan,
        key,
        action,
        pg: (dialect == Dialect::Postgres).then(|| {
            let spans = matches!(action, BatchAction::Update { .. })
                && matches!(sizer, Sizer::Timed { .. });
            PgPlan::new(ctx.tables, &bounds, &batches, spans)
        }),
        size,
        tails: (
            sql::boundary_tail(dialect, scan, key, false),
            sql::boundary_tail(dialect, scan, key, true),
        ),
        bounds,
        batches,
        read: read_row_sql(dialect, ctx.tables),
        save: checkpoint_sql(dialect, ctx.tables),
        started: Instant::now(),
        at_start: cp.rows_done,
        commit_took: std::cell::Cell::new(Duration::ZERO),
    };
    let mut batches = 0u64;
    loop {
        if ctx.options.cancel.load(Ordering::SeqCst) {
            // PostgreSQL: a synchronous no-op write of the row flushes the
            // batches committed without waiting for the disk before the
            // process reports where it stopped (see `begin_batch`).
            if db.dialect() == Dialect::Postgres {
                let q = format!(
                    "UPDATE {} SET progress = progress WHERE version = $1",
                    version_table(Dialect::Postgres, ctx.tables)
                );
                if let Err(m) = exec(db, &q, &[Val::Text(rev.id.clone())]).await {
                    tracing::warn!("could not flush the checkpoint of {}: {m}", rev.id);
                }
            }
            return Err(Error::Cancelled {
                revision: rev.id.clone(),
                step: cp.step + 1,
                rows: cp.rows_done,
            });
        }
        // On failure the checkpoint stays at the last committed batch (the
        // caller records it with the error).
        let before = cp.clone();
        plan.resize(dialect, sizer.next());
        let began = Instant::now();
        #[allow(unreachable_patterns)]
        let outcome = match db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(c) => sqlite_batch(c, &plan, &rev.id, cp).await,
            _ => generic_batch(db, &plan, &rev.id, cp).await,
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => {
                *cp = before;
                break;
            }
            Err(e) => {
                *cp = before;
                return Err(e);
            }
        }
        sizer.observe(
            cp.rows_done.saturating_sub(before.rows_done),
            began.elapsed(),
            plan.commit_took.get(),
        );
        batches += 1;
        emit(&DataEvent::Batch {
            label: &located.label,
            done: cp.rows_done,
            total: cp.total,
            rate: cp.rate.unwrap_or(0.0),
            batches,
        });
        // `sleep_ms` in slices, so that Ctrl-C does not wait it out.
        let resume_at = Instant::now() + Duration::from_millis(sleep_ms);
        while !ctx.options.cancel.load(Ordering::SeqCst) {
            let left = resume_at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(Duration::from_millis(50))).await;
        }
    }
    emit(&DataEvent::StepFinished {
        label: &located.label,
        done: cp.rows_done,
    });
    Ok(())
}

/// One batch through sqlx, statement by statement: `BEGIN`, re-read the
/// checkpoint, boundary, batch, checkpoint, `COMMIT`. `false`: no rows
/// left (rolled back).
async fn generic_batch(
    db: &mut Db,
    plan: &Plan<'_>,
    id: &str,
    cp: &mut Checkpoint,
) -> Result<bool, Error> {
    let dialect = db.dialect();
    db.execute_script(begin_batch(dialect), "starting a transaction")
        .await?;
    match generic_batch_body(db, plan, id, cp).await {
        Ok(true) => {
            let committing = Instant::now();
            commit(db, "committing a batch").await?;
            plan.commit_took.set(committing.elapsed());
            Ok(true)
        }
        other => {
            rollback(db).await;
            other
        }
    }
}

async fn generic_batch_body(
    db: &mut Db,
    plan: &Plan<'_>,
    id: &str,
    cp: &mut Checkpoint,
) -> Result<bool, Error> {
    let site = plan.site;
    if let Some(pg) = plan.pg.as_ref().filter(|pg| pg.by_span.get()) {
        if let Some(more) = span_batch(db, plan, pg, id, cp).await? {
            return Ok(more);
        }
    }
    let id_val = Val::Text(id.to_string());
    // The database's checkpoint is the truth (a killed client's last batch
    // may still be committing: `FOR UPDATE` waits for it).
    let mut bound = None;
    if let Some(pg) = &plan.pg {
        let lo = cp.last_key.as_ref().map(Val::from_json);
        let q = if lo.is_some() {
            &pg.read_bound.1
        } else {
            &pg.read_bound.0
        };
        let binds: Vec<Val> = lo.into_iter().chain([id_val.clone()]).collect();
        let row = first_row(db, q, &binds)
            .await
            .map_err(|m| query_err(site, q, m))?;
        if let [state, progress, hi, n] = row.as_slice() {
            let before = cp.last_key.clone();
            if let (Val::Text(state), Val::Text(text)) = (state, progress) {
                adopt_stored(cp, state, text);
            }
            // The boundary was read with the statement's snapshot: good
            // only when the checkpoint it started from still stands.
            if cp.last_key == before {
                bound = Some((hi.clone(), n.as_f64().unwrap_or(0.0) as u64));
            }
        }
    } else {
        reread_checkpoint(db, plan, &id_val, cp).await?;
    }
    let lo = cp.last_key.as_ref().map(Val::from_json);
    let read_bound = async |db: &mut Db, sql: &str| -> Result<(Val, u64), Error> {
        let row = first_row(db, sql, lo.as_slice())
            .await
            .map_err(|m| query_err(site, sql, m))?;
        Ok(match row.as_slice() {
            [hi, count] => (hi.clone(), count.as_f64().unwrap_or(0.0) as u64),
            _ => (Val::Null, 0),
        })
    };
    let (mut hi, mut rows) = match bound {
        Some(b) => b,
        None => read_bound(db, plan.bound(lo.is_some())).await?,
    };
    if hi == Val::Null {
        // Fewer than a batch left: the rest is the last batch.
        (hi, rows) = read_bound(db, plan.tail(lo.is_some())).await?;
    }
    if hi == Val::Null || rows == 0 {
        return Ok(false);
    }
    if let (Some(pg), Some(Val::Int(lo)), Val::Int(hi)) = (&plan.pg, &lo, &hi) {
        // Dense integer keys: the next batch can be a key span.
        pg.by_span
            .set(pg.spans && hi.saturating_sub(*lo) < (rows as i64).saturating_mul(2));
    }
    let mut binds: Vec<Val> = lo.iter().cloned().collect();
    binds.push(hi.clone());
    advance(cp, &hi, rows, plan.started, plan.at_start);
    let progress = Val::Text(cp.to_json());
    // The statement of the batch (none: a transform that found no rows)
    // with its binds, and whether it saves the checkpoint too.
    let (stmt, binds, saved) = match plan.action {
        BatchAction::Transform { table, set } => {
            match super::transform::prepare_batch(db, site, plan.scan, plan.key, table, set, &binds)
                .await?
            {
                None => (None, Vec::new(), false),
                Some((write, payload)) => match &plan.pg {
                    Some(pg) => (
                        Some(pg_with_checkpoint(&pg.version_table, &write, 1)),
                        vec![payload, progress.clone(), id_val.clone()],
                        true,
                    ),
                    None => (Some(write), vec![payload], false),
                },
            }
        }
        _ => {
            let folded = plan.pg.as_ref().and_then(|pg| {
                if lo.is_some() {
                    pg.batch_save.1.clone()
                } else {
                    pg.batch_save.0.clone()
                }
            });
            match folded {
                Some(q) => {
                    binds.push(progress.clone());
                    binds.push(id_val.clone());
                    (Some(q), binds, true)
                }
                None => (Some(plan.batch(lo.is_some()).to_string()), binds, false),
            }
        }
    };
    if let Some(stmt) = stmt {
        exec(db, &stmt, &binds)
            .await
            .map_err(|m| query_err(site, &stmt, m))?;
    }
    if !saved {
        exec(db, &plan.save, &[progress, id_val])
            .await
            .map_err(|m| db_err("saving the checkpoint", m))?;
    }
    Ok(true)
}

/// Re-reads the stored checkpoint inside a batch's transaction (`FOR
/// UPDATE` on PostgreSQL and MySQL) and takes it over when another process
/// moved it on.
async fn reread_checkpoint(
    db: &mut Db,
    plan: &Plan<'_>,
    id: &Val,
    cp: &mut Checkpoint,
) -> Result<(), Error> {
    let row = first_row(db, &plan.read, std::slice::from_ref(id))
        .await
        .map_err(|m| db_err("reading the checkpoint", m))?;
    if let [Val::Text(state), Val::Text(text)] = row.as_slice() {
        adopt_stored(cp, state, text);
    }
    Ok(())
}

/// A batch of an `update` on PostgreSQL as the key span `last < key <=
/// last + n` (integer keys), without a boundary scan; `None` when the
/// checkpoint's key is not an integer (the caller finds the boundary).
///
/// Finding a batch's end steps over `n` index entries (an index-only
/// scan), 2 % of the server's instructions for an `update` of 200,000
/// rows (callgrind; design notes). With integer keys a span of `n` values
/// holds at most `n` rows, so a span batch is never larger than the size
/// asked; the `UPDATE`'s row count is the batch's rows (the same rows a
/// boundary would have counted: the range and the step's `where`). Spans
/// are used while keys are dense: after a batch whose key range was less
/// than twice its rows, and until a span batch finds fewer than half of
/// `n` rows (sparse keys, a gap, or the end of the table); then the next
/// batch finds its end by the boundary again, which also detects the end
/// of the table. Same transaction and checkpoint rules as any batch: the
/// checkpoint is re-read `FOR UPDATE`, and the range's end is committed
/// with the batch.
async fn span_batch(
    db: &mut Db,
    plan: &Plan<'_>,
    pg: &PgPlan,
    id: &str,
    cp: &mut Checkpoint,
) -> Result<Option<bool>, Error> {
    let site = plan.site;
    let id_val = Val::Text(id.to_string());
    reread_checkpoint(db, plan, &id_val, cp).await?;
    let lo = match cp.last_key.as_ref().map(Val::from_json) {
        Some(Val::Int(lo)) => lo,
        _ => {
            pg.by_span.set(false);
            return Ok(None);
        }
    };
    let Some(hi) = i64::try_from(plan.size)
        .ok()
        .and_then(|n| lo.checked_add(n))
    else {
        pg.by_span.set(false);
        return Ok(None);
    };
    let stmt = plan.batch(true);
    let rows = exec(db, stmt, &[Val::Int(lo), Val::Int(hi)])
        .await
        .map_err(|m| query_err(site, stmt, m))?;
    pg.by_span.set(rows.saturating_mul(2) >= plan.size);
    advance(cp, &Val::Int(hi), rows, plan.started, plan.at_start);
    exec(db, &plan.save, &[Val::Text(cp.to_json()), id_val])
        .await
        .map_err(|m| db_err("saving the checkpoint", m))?;
    Ok(Some(true))
}

/// One batch on SQLite in ONE hand-off to sqlx's worker thread: the
/// connection is locked and every statement of the batch (`BEGIN
/// IMMEDIATE`, checkpoint re-read, boundary, batch, checkpoint, `COMMIT`)
/// runs as a prepared statement on this thread. `false`: no rows left
/// (rolled back).
#[cfg(feature = "sqlite")]
async fn sqlite_batch(
    c: &mut sqlx::SqliteConnection,
    plan: &Plan<'_>,
    id: &str,
    cp: &mut Checkpoint,
) -> Result<bool, Error> {
    use crate::store::db_message;
    crate::store::on_raw_handle(c, |handle| {
        let conn = crate::store::raw::Conn::new(handle);
        conn.execute("BEGIN IMMEDIATE")
            .map_err(|e| db_err("starting a transaction", db_message(&e)))?;
        let result = match sqlite_batch_body(&conn, plan, id, cp) {
            Ok(true) => {
                let committing = Instant::now();
                let done = conn
                    .execute("COMMIT")
                    .map(|()| true)
                    .map_err(|e| db_err("committing a batch", db_message(&e)));
                plan.commit_took.set(committing.elapsed());
                done
            }
            other => other,
        };
        if !matches!(result, Ok(true)) {
            let _ = conn.execute("ROLLBACK");
        }
        result
    })
    .await
    .map_err(|e| db_err("locking the connection", db_message(&e)))?
}

#[cfg(feature = "sqlite")]
fn sqlite_batch_body(
    conn: &crate::store::raw::Conn<'_>,
    plan: &Plan<'_>,
    id: &str,
    cp: &mut Checkpoint,
) -> Result<bool, Error> {
    use crate::store::db_message;
    use crate::store::raw::Bind;
    let site = plan.site;
    let read_err = |e: sqlx::Error| db_err("reading the checkpoint", db_message(&e));
    let mut read = conn.prepare(&plan.read).map_err(read_err)?;
    read.bind(1, Bind::Text(id)).map_err(read_err)?;
    if read.step().map_err(read_err)? {
        let state = cell_val(read.column(0));
        if let (Val::Text(state), Val::Text(text)) = (state, cell_val(read.column(1))) {
            adopt_stored(cp, &state, &text);
        }
    }
    drop(read);
    let lo = cp.last_key.as_ref().map(Val::from_json);
    let q_err = |sql: &str, e: sqlx::Error| query_err(site, sql, db_message(&e));
    let lo_bind: Vec<Bind<'_>> = lo.iter().map(bind_of).collect();
    let read_bound = |sql: &str| -> Result<(Val, u64), Error> {
        let mut bound = conn.prepare(sql).map_err(|e| q_err(sql, e))?;
        bound.bind_all(&lo_bind).map_err(|e| q_err(sql, e))?;
        Ok(if bound.step().map_err(|e| q_err(sql, e))? {
            (
                cell_val(bound.column(0)),
                cell_val(bound.column(1)).as_f64().unwrap_or(0.0) as u64,
            )
        } else {
            (Val::Null, 0)
        })
    };
    let (mut hi, mut rows) = read_bound(plan.bound(lo.is_some()))?;
    if hi == Val::Null {
        // Fewer than a batch left: the rest is the last batch.
        (hi, rows) = read_bound(plan.tail(lo.is_some()))?;
    }
    if hi == Val::Null || rows == 0 {
        return Ok(false);
    }
    let mut binds: Vec<Val> = lo.iter().cloned().collect();
    binds.push(hi.clone());
    match plan.action {
        BatchAction::Transform { table, set } => {
            super::transform::sqlite_batch(conn, site, plan.scan, plan.key, table, set, &binds)?;
        }
        _ => {
            let stmt = plan.batch(lo.is_some());
            let values: Vec<Bind<'_>> = binds.iter().map(bind_of).collect();
            conn.run(stmt, &values).map_err(|e| q_err(stmt, e))?;
        }
    }
    advance(cp, &hi, rows, plan.started, plan.at_start);
    let save_err = |e: sqlx::Error| db_err("saving the checkpoint", db_message(&e));
    let json = cp.to_json();
    conn.run(&plan.save, &[Bind::Text(&json), Bind::Text(id)])
        .map_err(save_err)?;
    Ok(true)
}

/// `--dry-run`: counts what each step of `rev` would touch.
///
/// # Errors
/// Invalid steps; counting errors are reported as notes, not errors (the
/// table may not exist before an earlier revision of the plan runs).
pub async fn dry_run(
    db: &mut Db,
    rev: &Revision,
    direction: Direction,
    vars: &std::collections::BTreeMap<String, String>,
    checkpoint: Option<&Checkpoint>,
) -> Result<Vec<DryRunCount>, Error> {
    let dialect = db.dialect();
    let mut out = Vec::new();
    let steps = super::template::render_steps(rev, steps(rev, direction, dialect)?, dialect, vars)?;
    // A run that stopped part way resumes at its checkpoint: the steps
    // before it are done, and its step goes on after the last key.
    let checkpoint = checkpoint.filter(|cp| cp.direction == direction.name());
    for (index, located) in steps.iter().enumerate() {
        let at = checkpoint.filter(|cp| cp.step == index);
        let (rows, note) = match (&located.step, checkpoint) {
            (_, Some(cp)) if cp.step > index => (Some(0), "done (checkpoint)".to_string()),
            (DataStep::Sql(step), _) => (
                None,
                format!("runs once: {}", first_line(step.text_for(dialect))),
            ),
            (DataStep::Batched { scan, action, .. }, _) => {
                match key_of(db, &located.site, scan).await {
                    Ok(key) => {
                        let lo: Vec<Val> = at
                            .and_then(|cp| cp.last_key.as_ref())
                            .map(Val::from_json)
                            .into_iter()
                            .collect();
                        let q = sql::dry_count(dialect, scan, &key, action, !lo.is_empty());
                        let resumed = at.map_or(String::new(), |cp| {
                            format!("resumes after {} rows done", cp.rows_done)
                        });
                        match first_row(db, &q, &lo).await {
                            Ok(row) => {
                                (row.first().and_then(Val::as_f64).map(|f| f as u64), resumed)
                            }
                            Err(m) => (None, format!("cannot count: {m}")),
                        }
                    }
                    Err(e) => (None, format!("cannot count: {e}")),
                }
            }
            (DataStep::Load(load), _) => match super::fixture::read_fixture(&load.file) {
                Ok((columns, rows)) => {
                    let done = at.map_or(0, |cp| cp.rows_done);
                    let file = super::fixture::file_as_written(rev, load);
                    let changed =
                        at.and_then(|cp| super::fixture::loaded_rows_changed(cp, &columns, &rows));
                    if changed.is_some() {
                        (
                            None,
                            format!(
                                "the first {done} rows of {} changed since they were loaded: the run will refuse to resume",
                                file.display()
                            ),
                        )
                    } else {
                        (
                            Some((rows.len() as u64).saturating_sub(done)),
                            format!("rows in {}", file.display()),
                        )
                    }
                }
                Err(e) => (None, e.to_string()),
            },
        };
        out.push(DryRunCount {
            revision: rev.id.clone(),
            label: located.label.clone(),
            rows,
            note,
        });
    }
    Ok(out)
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    if line.len() > 60 {
        format!(
            "{}…",
            &line[..line.char_indices().nth(60).map_or(line.len(), |(i, _)| i)]
        )
    } else {
        line.to_string()
    }
}

/// The data checkpoints of unfinished rows (`current -v`).
///
/// # Errors
/// Database errors.
pub async fn checkpoints(
    db: &mut Db,
    tables: &VersionTables,
) -> Result<Vec<(String, Checkpoint)>, Error> {
    if !db.versions_exist(tables).await? {
        return Ok(Vec::new());
    }
    let dialect = db.dialect();
    let progress = match dialect {
        Dialect::Sqlite => "progress",
        Dialect::Postgres => "progress::text",
        Dialect::Mysql => "CAST(progress AS CHAR)",
    };
    let q = format!(
        "SELECT version, {progress} FROM {} WHERE state <> 'applied'",
        version_table(dialect, tables)
    );
    let (_, rows) = fetch(db, &q, &[])
        .await
        .map_err(|m| db_err("reading checkpoints", m))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [Val::Text(v), Val::Text(p)] => Checkpoint::from_json(p).map(|c| (v.clone(), c)),
            _ => None,
        })
        .collect())
}

/// Loads rows as JSON objects into `table` in one statement (one bind:
/// the JSON array), per dialect. Used by `load` and `data load`.
/// `binary` (per column, may be shorter) marks binary columns, whose
/// values are `\x` + hex (checked before): PostgreSQL's bytea input reads
/// that form itself (`json_populate_recordset` casts), SQLite and
/// MySQL/MariaDB decode it with `unhex`/`UNHEX`, so a batch stays one
/// statement with one bind.
pub(crate) fn json_insert_sql(
    dialect: Dialect,
    load: &Load,
    columns: &[String],
    conflict_key: &[String],
    binary: &[bool],
) -> Result<String, String> {
    use super::model::OnConflict;
    let is_binary = |i: usize| binary.get(i).copied().unwrap_or(false);
    let q = |c: &str| sql::quote_ident(dialect, c);
    let cols = columns
        .iter()
        .map(|c| q(c))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = conflict_key
        .iter()
        .map(|c| q(c))
        .collect::<Result<Vec<_>, _>>()?;
    let non_key: Vec<&String> = cols.iter().filter(|c| !keys.contains(c)).collect();
    let list = cols.join(", ");
    let mut p = sql::Params::new(dialect);
    let param = p.marker();
    let path = |c: &str| format!("'$.\"{}\"'", c.replace(['"', '\''], ""));
    Ok(match dialect {
        Dialect::Postgres => {
            let mut s = format!(
                "INSERT INTO {t} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{t}, CAST({param} AS json))",
                t = load.table
            );
            match load.on_conflict {
                OnConflict::Fail => {}
                OnConflict::Skip => s.push_str(" ON CONFLICT DO NOTHING"),
                OnConflict::Update => {
                    let set: Vec<String> = non_key
                        .iter()
                        .map(|c| format!("{c} = EXCLUDED.{c}"))
                        .collect();
                    if set.is_empty() {
                        s.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
                    } else {
                        s.push_str(&format!(
                            " ON CONFLICT ({}) DO UPDATE SET {}",
                            keys.join(", "),
                            set.join(", ")
                        ));
                    }
                }
            }
            s
        }
        Dialect::Sqlite => {
            let exprs: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let value = format!("json_extract(value, {})", path(c));
                    if is_binary(i) {
                        // SQLite 3.41+ (the bundled library is newer).
                        format!("unhex(substr({value}, 3))")
                    } else {
                        value
                    }
                })
                .collect();
            let mut s = format!(
                "INSERT INTO {} ({list}) SELECT {} FROM json_each({param}) WHERE true",
                load.table,
                exprs.join(", ")
            );
            match load.on_conflict {
                OnConflict::Fail => {}
                OnConflict::Skip => s.push_str(" ON CONFLICT DO NOTHING"),
                OnConflict::Update => {
                    let set: Vec<String> = non_key
                        .iter()
                        .map(|c| format!("{c} = excluded.{c}"))
                        .collect();
                    if set.is_empty() {
                        s.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
                    } else {
                        s.push_str(&format!(
                            " ON CONFLICT ({}) DO UPDATE SET {}",
                            keys.join(", "),
                            set.join(", ")
                        ));
                    }
                }
            }
            s
        }
        Dialect::Mysql => {
            let defs: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("c{i} LONGTEXT PATH {}", path(c)))
                .collect();
            let exprs: Vec<String> = (0..columns.len())
                .map(|i| {
                    if is_binary(i) {
                        format!("UNHEX(SUBSTRING(v.c{i}, 3))")
                    } else {
                        format!("v.c{i}")
                    }
                })
                .collect();
            let ignore = if load.on_conflict == OnConflict::Skip {
                " IGNORE"
            } else {
                ""
            };
            let mut s = format!(
                "INSERT{ignore} INTO {} ({list}) SELECT {} FROM JSON_TABLE({param}, '$[*]' COLUMNS ({})) AS v",
                load.table,
                exprs.join(", "),
                defs.join(", ")
            );
            if load.on_conflict == OnConflict::Update {
                let set: Vec<String> = cols.iter().map(|c| format!("{c} = VALUES({c})")).collect();
                s.push_str(&format!(" ON DUPLICATE KEY UPDATE {}", set.join(", ")));
            }
            s
        }
    })
}

/// Whether the run was asked to stop.
pub fn cancelled(options: &DataOptions) -> bool {
    options.cancel.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary columns are decoded from `\x` + hex in the INSERT on SQLite
    /// and MySQL; PostgreSQL's bytea input reads the form itself.
    #[test]
    fn binary_columns_are_decoded_in_the_insert() {
        let load = |dialect| Load {
            table: sql::quote_ident(dialect, "t").unwrap(),
            table_raw: "t".to_string(),
            file: "f.csv".into(),
            on_conflict: model::OnConflict::Fail,
            key: Vec::new(),
            batch_size: None,
        };
        let cols = ["id".to_string(), "raw".to_string()];
        let sql_of =
            |dialect| json_insert_sql(dialect, &load(dialect), &cols, &[], &[false, true]).unwrap();
        assert_eq!(
            sql_of(Dialect::Sqlite),
            "INSERT INTO \"t\" (\"id\", \"raw\") SELECT json_extract(value, '$.\"id\"'), unhex(substr(json_extract(value, '$.\"raw\"'), 3)) FROM json_each(?) WHERE true"
        );
        assert_eq!(
            sql_of(Dialect::Mysql),
            "INSERT INTO `t` (`id`, `raw`) SELECT v.c0, UNHEX(SUBSTRING(v.c1, 3)) FROM JSON_TABLE(?, '$[*]' COLUMNS (c0 LONGTEXT PATH '$.\"id\"', c1 LONGTEXT PATH '$.\"raw\"')) AS v"
        );
        assert_eq!(
            sql_of(Dialect::Postgres),
            json_insert_sql(Dialect::Postgres, &load(Dialect::Postgres), &cols, &[], &[]).unwrap()
        );
    }

    fn row(state: &str, cp: &Checkpoint) -> Option<(String, Option<String>)> {
        Some((state.to_string(), Some(cp.to_json())))
    }

    fn moved_to(m: Option<Moved>) -> Option<usize> {
        match m {
            Some(Moved::To(cp)) => Some(cp.step),
            Some(Moved::Finished) => Some(usize::MAX),
            None => None,
        }
    }

    /// The step transition adopts what another process stored further
    /// along and never moves a checkpoint back.
    #[test]
    fn step_transition_is_a_compare_and_set() {
        let up = Direction::Upgrade;
        let here = Checkpoint::start("upgrade", 1, 3, "b");
        let same = row("running", &here);
        assert_eq!(moved_to(stored_ahead(same.as_ref(), up, &here)), None);
        let mut behind = Checkpoint::start("upgrade", 0, 3, "a");
        behind.rows_done = 7;
        let old = row("running", &behind);
        assert_eq!(moved_to(stored_ahead(old.as_ref(), up, &here)), None);
        let mut further = Checkpoint::start("upgrade", 2, 3, "c");
        further.rows_done = 40;
        let ahead = row("running", &further);
        match stored_ahead(ahead.as_ref(), up, &here) {
            Some(Moved::To(cp)) => assert_eq!((cp.step, cp.rows_done), (2, 40)),
            _ => panic!("the further checkpoint is adopted"),
        }
        let other_direction = row("running", &Checkpoint::start("downgrade", 2, 3, "c"));
        assert_eq!(
            moved_to(stored_ahead(other_direction.as_ref(), up, &here)),
            None
        );
        let applied = row("applied", &here);
        assert_eq!(
            moved_to(stored_ahead(applied.as_ref(), up, &here)),
            Some(usize::MAX)
        );
        assert_eq!(moved_to(stored_ahead(None, up, &here)), None);
        let down = Checkpoint::start("downgrade", 0, 1, "a");
        assert_eq!(
            moved_to(stored_ahead(None, Direction::Downgrade, &down)),
            Some(usize::MAX)
        );
    }
}
