//! Fixtures: CSV/JSON files into tables (`load` steps, `retort data
//! load`) and tables out to files (`retort data dump`).
//!
//! CSV: the header row names the columns; an empty field is NULL. JSON: an
//! array of objects (the first object's keys are the columns). Rows are
//! inserted in batches, each batch as ONE statement with the batch as one
//! JSON bind parameter; in a `load` step each batch is committed with its
//! checkpoint (`last_key` is the number of fixture rows loaded, and the
//! checkpoint records the SHA-256 of the columns and of those rows, so
//! that a resume refuses a file whose loaded rows changed: see
//! [`LoadedDigest`]), while `retort data load` runs the whole file in one
//! transaction.
//!
//! Binary columns (BLOB/BYTEA/BINARY families, read from the catalog) take
//! `\x` + hex, the form `data dump` writes, on every backend: PostgreSQL's
//! bytea input reads it, SQLite and MySQL/MariaDB decode it in the INSERT
//! (`unhex`, `UNHEX`). Any other value in such a column is refused before
//! anything is loaded, naming the file, the row and the column.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::exec::{exec, fetch, json_insert_sql, Ctx, Val};
use super::model::{Load, Located, OnConflict};
use super::progress::{Checkpoint, DataEvent};
use super::{sql, Error};
use crate::dialect::Dialect;
use crate::revision::Revision;
use crate::store::Db;

/// Reads a fixture: the columns and the rows as JSON objects.
///
/// # Errors
/// [`Error::File`] naming the file (and the CSV record).
pub fn read_fixture(path: &Path) -> Result<(Vec<String>, Vec<serde_json::Value>), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_fixture(path, bytes)
}

/// The SHA-256 of a fixture's columns and of its first rows, as a `load`
/// step's checkpoint records it: the rows a resumed load counts as done.
/// Fed batch by batch; only what was loaded counts, so a fix to a row the
/// load has not reached yet (the usual reason a load stopped) does not
/// block the resume, while any change to a loaded row, a row inserted or
/// removed before the checkpoint, or other columns does.
#[derive(Clone)]
pub(crate) struct LoadedDigest(Sha256);

impl LoadedDigest {
    /// The digest of `columns` and no rows yet.
    pub(crate) fn new(columns: &[String]) -> LoadedDigest {
        let mut h = Sha256::new();
        h.update(serde_json::Value::from(columns.to_vec()).to_string());
        h.update(b"\n");
        LoadedDigest(h)
    }

    /// Adds rows (each one canonical JSON line).
    pub(crate) fn add(&mut self, rows: &[serde_json::Value]) {
        for row in rows {
            self.0.update(row.to_string());
            self.0.update(b"\n");
        }
    }

    /// The digest so far, lowercase hex.
    pub(crate) fn hex(&self) -> String {
        hex::encode(self.0.clone().finalize())
    }

    /// The digest of `columns` and `rows`.
    pub(crate) fn of(columns: &[String], rows: &[serde_json::Value]) -> String {
        let mut d = LoadedDigest::new(columns);
        d.add(rows);
        d.hex()
    }
}

/// Whether a checkpoint of a `load` at `cp` was written from other rows
/// than the first `cp.rows_done` of this fixture (`None`: it records no
/// digest, or no rows were loaded); `Some((was, now))` when they differ.
pub(crate) fn loaded_rows_changed(
    cp: &Checkpoint,
    columns: &[String],
    rows: &[serde_json::Value],
) -> Option<(String, String)> {
    let was = cp.loaded_sha256.as_ref().filter(|_| cp.rows_done > 0)?;
    let done = usize::try_from(cp.rows_done).unwrap_or(usize::MAX);
    let now = LoadedDigest::of(columns, &rows[..done.min(rows.len())]);
    (done > rows.len() || *was != now).then(|| (was.clone(), now))
}

/// The columns and rows of a fixture's bytes (`path`: its name, which
/// says CSV or JSON and appears in errors).
fn parse_fixture(
    path: &Path,
    bytes: Vec<u8>,
) -> Result<(Vec<String>, Vec<serde_json::Value>), Error> {
    let err = |message: String| Error::File {
        path: path.to_path_buf(),
        message,
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| err("not valid UTF-8 text; save the fixture as UTF-8".to_string()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(format!("invalid JSON: {e}")))?;
        let serde_json::Value::Array(rows) = value else {
            return Err(err("expected a JSON array of objects".to_string()));
        };
        let mut columns: Vec<String> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let Some(obj) = row.as_object() else {
                return Err(err(format!("element {} is not an object", i + 1)));
            };
            for k in obj.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
        return Ok((columns, rows));
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| err(format!("CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| err(format!("CSV record {}: {e}", i + 1)))?;
        let mut obj = serde_json::Map::new();
        for (c, v) in columns.iter().zip(record.iter()) {
            obj.insert(
                c.clone(),
                if v.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(v.to_string())
                },
            );
        }
        rows.push(serde_json::Value::Object(obj));
    }
    Ok((columns, rows))
}

/// The primary-key columns of `table` (unquoted name as written).
async fn primary_key(db: &mut Db, table: &str) -> Result<Vec<String>, String> {
    let q = sql::primary_key(db.dialect());
    let (_, rows) = fetch(db, q, &[Val::Text(table.to_string())]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(Val::Text(t)) => Some(t),
            _ => None,
        })
        .collect())
}

/// The fixture of `load` as written in `rev` (relative to the revision's
/// directory), not this machine's absolute path.
pub(crate) fn file_as_written(rev: &Revision, load: &Load) -> PathBuf {
    rev.path
        .parent()
        .and_then(|dir| load.file.strip_prefix(dir).ok())
        .unwrap_or(&load.file)
        .to_path_buf()
}

/// The catalog query for the binary columns of a table (`dotted`: the
/// name is `schema.table`, bound as two values). SQLite: a declared type
/// with `BLOB` or `BINARY` in it, or `BYTEA`; PostgreSQL: `bytea`;
/// MySQL/MariaDB: the BINARY/VARBINARY/BLOB family.
fn binary_columns_sql(dialect: Dialect, dotted: bool) -> &'static str {
    match (dialect, dotted) {
        (Dialect::Sqlite, false) => {
            "SELECT name FROM pragma_table_info(?) WHERE upper(type) LIKE '%BLOB%' OR upper(type) LIKE '%BINARY%' OR upper(type) = 'BYTEA'"
        }
        (Dialect::Sqlite, true) => {
            "SELECT name FROM pragma_table_info(?2, ?1) WHERE upper(type) LIKE '%BLOB%' OR upper(type) LIKE '%BINARY%' OR upper(type) = 'BYTEA'"
        }
        // `to_regclass`: a missing table has no columns here, and the
        // INSERT reports it as before.
        (Dialect::Postgres, _) => {
            "SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'bytea'::regtype"
        }
        (Dialect::Mysql, false) => {
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND DATA_TYPE IN ('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob')"
        }
        (Dialect::Mysql, true) => {
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE IN ('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob')"
        }
    }
}

/// For each of `columns`: whether it is a binary column of `table` (the
/// name as written). A table the catalog does not know has none.
async fn binary_flags(db: &mut Db, table: &str, columns: &[String]) -> Result<Vec<bool>, String> {
    let dialect = db.dialect();
    let binds = match (dialect, sql::unquote(table).rsplit_once('.')) {
        (Dialect::Postgres, _) => vec![Val::Text(table.to_string())],
        (_, Some((schema, name))) => {
            vec![Val::Text(schema.to_string()), Val::Text(name.to_string())]
        }
        (_, None) => vec![Val::Text(sql::unquote(table))],
    };
    let q = binary_columns_sql(dialect, binds.len() == 2);
    let (_, rows) = fetch(db, q, &binds).await?;
    let binary: Vec<String> = rows
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(Val::Text(t)) => Some(t),
            _ => None,
        })
        .collect();
    // Column names are case-sensitive on PostgreSQL only.
    let same = |a: &str, b: &str| match dialect {
        Dialect::Postgres => a == b,
        Dialect::Sqlite | Dialect::Mysql => a.eq_ignore_ascii_case(b),
    };
    Ok(columns
        .iter()
        .map(|c| binary.iter().any(|b| same(b, c)))
        .collect())
}

/// Whether `text` is a binary value as fixtures write it: `\x` and an even
/// number of hex digits (what `data dump` writes).
fn is_hex_bytes(text: &str) -> bool {
    text.strip_prefix("\\x")
        .is_some_and(|h| h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A fixture value that a binary column cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BadBinary {
    /// 1-based fixture row.
    row: usize,
    /// The column.
    column: String,
    /// The value, as JSON, shortened.
    value: String,
}

/// The first value of a binary column (`binary`, per column) that is
/// neither NULL nor `\x` + hex.
fn check_binary(
    columns: &[String],
    rows: &[serde_json::Value],
    binary: &[bool],
) -> Result<(), BadBinary> {
    let binary: Vec<&String> = columns
        .iter()
        .zip(binary)
        .filter_map(|(c, b)| b.then_some(c))
        .collect();
    if binary.is_empty() {
        return Ok(());
    }
    for (i, row) in rows.iter().enumerate() {
        for column in &binary {
            let ok = match row.get(column.as_str()) {
                None | Some(serde_json::Value::Null) => true,
                Some(serde_json::Value::String(s)) => is_hex_bytes(s),
                Some(_) => false,
            };
            if !ok {
                let mut value = row
                    .get(column.as_str())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if let Some((cut, _)) = value.char_indices().nth(40) {
                    value.truncate(cut);
                    value.push('…');
                }
                return Err(BadBinary {
                    row: i + 1,
                    column: (*column).clone(),
                    value,
                });
            }
        }
    }
    Ok(())
}

/// [`check_binary`] for a `load` step: the error names the step and the
/// fixture as written in the revision.
pub(crate) fn check_step_binary(
    rev: &Revision,
    located: &Located,
    load: &Load,
    columns: &[String],
    rows: &[serde_json::Value],
    binary: &[bool],
) -> Result<(), Error> {
    check_binary(columns, rows, binary).map_err(|bad| Error::Invalid {
        site: Box::new(located.site.clone()),
        problem: format!(
            "fixture {}: {}; nothing was loaded",
            file_as_written(rev, load).display(),
            bad.describe(&load.file)
        ),
    })
}

impl BadBinary {
    /// `row 3 (line 4), column raw: …` (`file`: the fixture, for the CSV
    /// line).
    fn describe(&self, file: &Path) -> String {
        let line = csv_record_lines(file)
            .get(self.row - 1)
            .filter(|l| **l > 0)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        format!(
            "row {}{line}, column {}: {} is not a binary value; a binary column takes \\x followed \
             by an even number of hex digits (as `retort data dump` writes it), or NULL",
            self.row, self.column, self.value
        )
    }
}

/// Runs a `load` step from its checkpoint.
pub(crate) async fn run_load(
    db: &mut Db,
    ctx: &Ctx<'_>,
    rev: &Revision,
    located: &Located,
    load: &Load,
    cp: &mut Checkpoint,
    emit: &mut dyn FnMut(&DataEvent<'_>),
) -> Result<(), Error> {
    let site = &located.site;
    let (columns, rows) = read_fixture(&load.file)?;
    // A resumed load goes on by row position, which is right only while
    // the rows loaded so far are still the file's first rows. (A
    // checkpoint written before the digest was recorded has none and
    // resumes as before.)
    if let Some((was, now)) = loaded_rows_changed(cp, &columns, &rows) {
        return Err(Error::FixtureChanged {
            site: Box::new(site.clone()),
            file: file_as_written(rev, load),
            rows: cp.rows_done,
            was,
            now,
        });
    }
    let binary = binary_flags(db, &load.table_raw, &columns)
        .await
        .map_err(|m| Error::Db {
            what: format!("{site}: reading the column types of {}", load.table_raw),
            message: m,
        })?;
    check_step_binary(rev, located, load, &columns, &rows, &binary)?;
    let key = if load.key.is_empty() && load.on_conflict == OnConflict::Update {
        primary_key(db, &load.table_raw)
            .await
            .map_err(|m| Error::Db {
                what: format!("{site}: reading the primary key"),
                message: m,
            })?
    } else {
        load.key.clone()
    };
    let dialect = db.dialect();
    let insert = json_insert_sql(dialect, load, &columns, &key, &binary).map_err(|problem| {
        Error::Invalid {
            site: Box::new(site.clone()),
            problem,
        }
    })?;
    let n = usize::try_from(
        ctx.options
            .batch_size
            .or(load.batch_size)
            .unwrap_or(super::model::DEFAULT_BATCH_SIZE),
    )
    .unwrap_or(usize::MAX)
    .max(1);
    let mut done = usize::try_from(cp.rows_done).unwrap_or(0);
    let mut digest = LoadedDigest::new(&columns);
    digest.add(&rows[..done.min(rows.len())]);
    cp.total = Some(rows.len() as u64);
    emit(&DataEvent::StepStarted {
        revision: &rev.id,
        label: &located.label,
        step: cp.step,
        total: cp.total,
        resumed_at: cp.rows_done,
    });
    let mut batches = 0;
    let (started, at_start) = (std::time::Instant::now(), cp.rows_done);
    while done < rows.len() {
        if super::exec::cancelled(ctx.options) {
            return Err(Error::Cancelled {
                revision: rev.id.clone(),
                step: cp.step + 1,
                rows: cp.rows_done,
            });
        }
        let end = (done + n).min(rows.len());
        let payload = serde_json::Value::Array(rows[done..end].to_vec()).to_string();
        db.execute_script(super::exec::begin(dialect), "starting a transaction")
            .await?;
        if let Err(message) = exec(db, &insert, &[Val::Text(payload)]).await {
            super::exec::rollback(db).await;
            return Err(Error::Query {
                site: Box::new(site.clone()),
                sql: insert,
                message: format!(
                    "{message} (fixture rows {}..{} of {})",
                    done + 1,
                    end,
                    load.file.display()
                ),
            });
        }
        // The last key of a load is the fixture row reached.
        let end_key = Val::Int(i64::try_from(end).unwrap_or(i64::MAX));
        let mut loaded = digest.clone();
        loaded.add(&rows[done..end]);
        cp.loaded_sha256 = Some(loaded.hex());
        super::exec::advance(cp, &end_key, (end - done) as u64, started, at_start);
        let save = super::exec::save_checkpoint(db, ctx, &rev.id, cp).await;
        if let Err(m) = save {
            super::exec::rollback(db).await;
            return Err(Error::Db {
                what: "saving the checkpoint".to_string(),
                message: m,
            });
        }
        super::exec::commit(db, "committing a batch").await?;
        digest = loaded;
        done = end;
        batches += 1;
        emit(&DataEvent::Batch {
            label: &located.label,
            done: cp.rows_done,
            total: cp.total,
            rate: cp.rate.unwrap_or(0.0),
            batches,
        });
    }
    emit(&DataEvent::StepFinished {
        label: &located.label,
        done: cp.rows_done,
    });
    Ok(())
}

/// `retort data load FILE --table T`: the whole file in one transaction
/// (all or nothing), inserted `batch_size` rows per statement.
///
/// # Errors
/// File and database errors.
pub async fn load_file(
    db: &mut Db,
    file: &Path,
    table: &str,
    on_conflict: OnConflict,
    batch_size: usize,
) -> Result<Loaded, Error> {
    let (columns, rows) = read_fixture(file)?;
    let dialect = db.dialect();
    let quoted = sql::quote_ident(dialect, table).map_err(|message| Error::File {
        path: file.to_path_buf(),
        message,
    })?;
    let load = Load {
        table: quoted,
        table_raw: table.to_string(),
        file: file.to_path_buf(),
        on_conflict,
        key: Vec::new(),
        batch_size: None,
    };
    let key = if on_conflict == OnConflict::Update {
        primary_key(db, table).await.map_err(|m| Error::Db {
            what: format!("reading the primary key of {table}"),
            message: m,
        })?
    } else {
        Vec::new()
    };
    let binary = binary_flags(db, table, &columns)
        .await
        .map_err(|m| Error::Db {
            what: format!("reading the column types of {table}"),
            message: m,
        })?;
    check_binary(&columns, &rows, &binary).map_err(|bad| Error::File {
        path: file.to_path_buf(),
        message: format!("{}; nothing was loaded", bad.describe(file)),
    })?;
    let insert = json_insert_sql(dialect, &load, &columns, &key, &binary).map_err(|message| {
        Error::File {
            path: file.to_path_buf(),
            message,
        }
    })?;
    // One transaction for the whole file: a failing chunk leaves the table
    // as it was (InnoDB on MySQL/MariaDB: the inserts are DML).
    db.execute_script(super::exec::begin(dialect), "starting a transaction")
        .await?;
    let total = rows.len();
    let mut done = 0;
    let mut inserted = 0;
    for chunk in rows.chunks(batch_size.max(1)) {
        let payload = serde_json::Value::Array(chunk.to_vec()).to_string();
        match exec(db, &insert, &[Val::Text(payload)]).await {
            Ok(affected) => inserted += affected,
            Err(message) => {
                super::exec::rollback(db).await;
                let (first, last) = (done + 1, done + chunk.len());
                return Err(Error::Db {
                    what: format!(
                        "loading {} into {table}: rows {first}..{last} of {total}{}; nothing was loaded",
                        file.display(),
                        csv_lines(file, first, last)
                    ),
                    message,
                });
            }
        }
        done += chunk.len();
    }
    super::exec::commit(db, "committing").await?;
    Ok(Loaded {
        rows: done as u64,
        inserted: (on_conflict == OnConflict::Skip).then_some(inserted),
    })
}

/// What [`load_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Rows in the file (all loaded: inserted, updated or skipped).
    pub rows: u64,
    /// With `on_conflict = skip`: the rows inserted (the others were
    /// already there).
    pub inserted: Option<u64>,
}

/// ` (lines a..b)`: where fixture rows `first..=last` (1-based) are in a
/// CSV file whose records each take one line after the header; empty for
/// JSON and for CSV with multi-line fields.
fn csv_lines(file: &Path, first: usize, last: usize) -> String {
    let lines = csv_record_lines(file);
    match (lines.get(first - 1), lines.get(last - 1)) {
        (Some(a), Some(b)) if *a > 0 => format!(" (lines {a}..{b})"),
        _ => String::new(),
    }
}

/// The line on which each record of a CSV file starts (empty for JSON or
/// an unreadable file).
fn csv_record_lines(file: &Path) -> Vec<u64> {
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let mut lines = Vec::new();
    let mut record = csv::StringRecord::new();
    while is_csv && matches!(reader.read_record(&mut record), Ok(true)) {
        lines.push(record.position().map_or(0, csv::Position::line));
    }
    lines
}

/// Output format of `data dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// CSV with a header row (NULL as an empty field).
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `retort data dump TABLE`: the table's rows in key order (primary key,
/// else the first column), as text.
///
/// # Errors
/// Database errors.
pub async fn dump(db: &mut Db, table: &str, format: DumpFormat) -> Result<String, Error> {
    let dialect = db.dialect();
    let quoted = sql::quote_ident(dialect, table).map_err(|message| Error::Db {
        what: "data dump".to_string(),
        message,
    })?;
    let key = primary_key(db, table).await.map_err(|message| Error::Db {
        what: format!("reading the primary key of {table}"),
        message,
    })?;
    let order = if key.is_empty() {
        "1".to_string()
    } else {
        key.iter()
            .map(|k| sql::quote_ident(dialect, k).unwrap_or_else(|_| k.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let q = format!("SELECT * FROM {quoted} ORDER BY {order}");
    let (names, rows) = fetch(db, &q, &[]).await.map_err(|message| Error::Db {
        what: format!("reading {table}"),
        message,
    })?;
    let names = if names.is_empty() {
        // An empty table: the prepared statement still names the columns.
        super::exec::column_names(db, &q)
            .await
            .map_err(|message| Error::Db {
                what: format!("reading the columns of {table}"),
                message,
            })?
    } else {
        names
    };
    Ok(match format {
        DumpFormat::Json => {
            let objects: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        names
                            .iter()
                            .zip(r)
                            .map(|(n, v)| (n.clone(), v.to_json()))
                            .collect(),
                    )
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&objects).unwrap_or_default();
            text.push('\n');
            text
        }
        DumpFormat::Csv => {
            let csv_err = |e: &dyn std::fmt::Display| Error::Db {
                what: format!("writing {table} as CSV"),
                message: e.to_string(),
            };
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&names).map_err(|e| csv_err(&e))?;
            for r in &rows {
                let fields: Vec<String> = r
                    .iter()
                    .map(|v| match v {
                        Val::Null => String::new(),
                        other => other.display(),
                    })
                    .collect();
                w.write_record(&fields).map_err(|e| csv_err(&e))?;
            }
            let bytes = w.into_inner().map_err(|e| csv_err(&e))?;
            String::from_utf8(bytes).map_err(|e| csv_err(&e))?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bytes_are_backslash_x_and_pairs_of_hex_digits() {
        assert!(is_hex_bytes("\\x"));
        assert!(is_hex_bytes("\\x00ff"));
        assert!(is_hex_bytes("\\xDEADbeef"));
        assert!(!is_hex_bytes("\\x123"));
        assert!(!is_hex_bytes("\\x0g"));
        assert!(!is_hex_bytes("\\X00"));
        assert!(!is_hex_bytes("00ff"));
        assert!(!is_hex_bytes("hello"));
        assert!(!is_hex_bytes("\\x00 ff"));
    }

    #[test]
    fn binary_columns_take_hex_or_null_only() {
        let columns = vec!["id".to_string(), "note".to_string(), "raw".to_string()];
        let rows: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"id": 1, "note": "hello", "raw": "\\x00ff"},
                {"id": 2, "note": "\\xzz", "raw": null},
                {"id": 3, "note": null},
                {"id": 4, "note": "x", "raw": 7},
                {"id": 5, "note": "x", "raw": "\\x1"}]"#,
        )
        .unwrap();
        // Text columns take anything.
        assert_eq!(
            check_binary(&columns, &rows, &[false, false, false]),
            Ok(())
        );
        assert_eq!(
            check_binary(&columns, &rows[..3], &[false, false, true]),
            Ok(())
        );
        assert_eq!(
            check_binary(&columns, &rows, &[false, false, true]),
            Err(BadBinary {
                row: 4,
                column: "raw".to_string(),
                value: "7".to_string()
            })
        );
        let bad = check_binary(&columns, &rows[4..], &[false, false, true]).unwrap_err();
        assert_eq!(bad.value, "\"\\\\x1\"");
        assert_eq!(
            check_binary(&columns, &rows, &[false, true, false])
                .unwrap_err()
                .row,
            1
        );
        let long = vec![serde_json::json!({"raw": "y".repeat(100)})];
        let bad = check_binary(&["raw".to_string()], &long, &[true]).unwrap_err();
        assert_eq!(bad.value, format!("\"{}…", "y".repeat(39)));
        assert!(bad
            .describe(Path::new("no/such/file.csv"))
            .starts_with("row 1, column raw: \"yyy"));
    }

    #[test]
    fn the_digest_covers_the_columns_and_the_rows_loaded() {
        let columns = vec!["id".to_string(), "name".to_string()];
        let rows: Vec<serde_json::Value> = (1..=4)
            .map(|i| serde_json::json!({"id": i.to_string(), "name": format!("n{i}")}))
            .collect();
        let mut fed = LoadedDigest::new(&columns);
        fed.add(&rows[..1]);
        fed.add(&rows[1..2]);
        assert_eq!(fed.hex(), LoadedDigest::of(&columns, &rows[..2]));
        assert_eq!(fed.hex().len(), 64);
        let mut cp = Checkpoint::start("upgrade", 0, 1, "load");
        cp.rows_done = 2;
        cp.loaded_sha256 = Some(fed.hex());
        assert_eq!(loaded_rows_changed(&cp, &columns, &rows), None);
        // A row after the checkpoint changed: still resumable.
        let mut later = rows.clone();
        later[3] = serde_json::json!({"id": "4", "name": "fixed"});
        later.push(serde_json::json!({"id": "5", "name": "n5"}));
        assert_eq!(loaded_rows_changed(&cp, &columns, &later), None);
        // A loaded row changed, a row before it removed, another column,
        // or the file now shorter than the rows loaded.
        let mut edited = rows.clone();
        edited[1] = serde_json::json!({"id": "2", "name": "other"});
        assert!(loaded_rows_changed(&cp, &columns, &edited).is_some());
        assert!(loaded_rows_changed(&cp, &columns, &rows[1..]).is_some());
        let renamed = vec!["id".to_string(), "label".to_string()];
        assert!(loaded_rows_changed(&cp, &renamed, &rows).is_some());
        assert!(loaded_rows_changed(&cp, &columns, &rows[..1]).is_some());
        // No digest (an older checkpoint) or nothing loaded: no check.
        cp.loaded_sha256 = None;
        assert_eq!(loaded_rows_changed(&cp, &columns, &edited), None);
        cp.loaded_sha256 = Some("ab".repeat(32));
        cp.rows_done = 0;
        assert_eq!(loaded_rows_changed(&cp, &columns, &edited), None);
    }

    #[test]
    fn a_fixture_that_is_not_utf8_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        std::fs::write(&path, [b'i', b'd', b'\n', 0xff, b'\n']).unwrap();
        assert!(read_fixture(&path)
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8"));
    }
}
