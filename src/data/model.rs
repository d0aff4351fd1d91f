//! Data steps: the model, parsed from a step's raw TOML table, and the
//! named operations (`copy_field`, `rename_values`, …) lowered onto the
//! three batched shapes (`update`, `insert … select`, `delete`) or onto a
//! `transform`. Lowering is per dialect because the portable expressions
//! (concatenation, splitting, casts) are spelled differently.

use std::path::PathBuf;

use super::sql::quote_ident;
use super::{Error, Site};
use crate::dialect::{Dialect, Direction};
use crate::revision::{Revision, SqlStep, Step, StepKind};

/// Default rows per batch of a `load` step.
pub const DEFAULT_BATCH_SIZE: u64 = 5_000;

/// The most rows a `transform` batch sized by time takes: a transform holds
/// its batch's results in memory until the write-back.
pub const TRANSFORM_MAX_BATCH: u64 = 10_000;

/// Default time a batch of a step without `batch_size` aims to take.
pub const DEFAULT_BATCH_TIME_MS: u64 = 200;

/// Every data `op`.
pub const DATA_OPS: &[&str] = &[
    "update",
    "copy_rows",
    "transform",
    "load",
    "copy_field",
    "populate_field",
    "split_field",
    "merge_fields",
    "convert_type",
    "rename_values",
    "dedup",
];

/// Whether `op` is a data operation.
pub fn is_data_op(op: &str) -> bool {
    DATA_OPS.contains(&op)
}

/// Which rows a batched step walks: `FROM <from> WHERE <where>` in order
/// of `key` (an identifier, quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The FROM clause (a quoted table, or user SQL for `copy_rows`).
    pub from: String,
    /// The table the key belongs to, when it is one table (for the
    /// primary-key lookup); `None` for `copy_rows`.
    pub table: Option<String>,
    /// The key column, quoted; `None`: the table's primary key (looked up
    /// online, required offline).
    pub key: Option<String>,
    /// Extra condition (user SQL).
    pub filter: Option<String>,
}

/// What one batch does with the rows of its key range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAction {
    /// `UPDATE <table> SET <assignments> WHERE <range> [AND filter]`.
    Update {
        /// The table, quoted.
        table: String,
        /// `col = expr` pairs, column quoted, expression as written.
        set: Vec<(String, String)>,
    },
    /// `INSERT INTO <target> (<columns>) SELECT <exprs> FROM <from> WHERE <range>`.
    Insert {
        /// Target table, quoted.
        target: String,
        /// Target columns, quoted.
        columns: Vec<String>,
        /// Select expressions (user SQL).
        exprs: Vec<String>,
    },
    /// Deletes the rows of the range that have an earlier duplicate.
    Dedup {
        /// The table, quoted.
        table: String,
        /// The columns that define a duplicate, quoted.
        by: Vec<String>,
        /// Keep the first or the last by `order`, then the key.
        keep_first: bool,
        /// The column that orders duplicates (quoted; `None`: the key). A
        /// row whose `order` is NULL loses to any duplicate with a value.
        order: Option<String>,
    },
    /// Row-level minijinja expressions computed in the process.
    Transform {
        /// The table, quoted.
        table: String,
        /// Column (unquoted) → template.
        set: Vec<(String, String)>,
    },
}

/// `on_conflict` of `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// A duplicate key fails the step.
    Fail,
    /// Duplicates are left as they are.
    Skip,
    /// Duplicates are overwritten with the fixture's values.
    Update,
}

/// A `load` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// The table, quoted.
    pub table: String,
    /// The table as written (PostgreSQL's row type).
    pub table_raw: String,
    /// The fixture file (resolved against the revision's directory).
    pub file: PathBuf,
    /// What to do with duplicates.
    pub on_conflict: OnConflict,
    /// The conflict columns (unquoted); empty: the primary key.
    pub key: Vec<String>,
    /// Rows per batch.
    pub batch_size: Option<u64>,
}

/// One data step, ready to run or render.
#[derive(Debug, Clone, PartialEq)]
pub enum DataStep {
    /// Plain SQL, run once (with the checkpoint moving past it).
    Sql(SqlStep),
    /// A keyset-batched step.
    Batched {
        /// The rows walked.
        scan: Scan,
        /// What each batch does.
        action: BatchAction,
        /// How big the batches are and how fast they come.
        pace: Pace,
    },
    /// A fixture load.
    Load(Load),
}

/// The pace of a batched step: `batch_size`, `batch_time_ms`, `sleep_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pace {
    /// Rows per batch (`batch_size`); `None`: sized by time.
    pub batch_size: Option<u64>,
    /// What a batch aims to take when `batch_size` is not given
    /// (`batch_time_ms`, default [`DEFAULT_BATCH_TIME_MS`]).
    pub batch_time_ms: Option<u64>,
    /// Pause between batches.
    pub sleep_ms: u64,
}

impl Pace {
    fn parse(f: &Fields<'_>) -> Result<Pace, Error> {
        let pace = Pace {
            batch_size: f.opt_u64("batch_size")?,
            batch_time_ms: f.opt_u64("batch_time_ms")?,
            sleep_ms: f.opt_u64("sleep_ms")?.unwrap_or(0),
        };
        if pace.batch_size.is_some() && pace.batch_time_ms.is_some() {
            return Err(f.err(
                "give `batch_size` (rows per batch) or `batch_time_ms` (a time per batch, \
                 the size follows), not both"
                    .to_string(),
            ));
        }
        Ok(pace)
    }
}

/// A parsed step with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Where (for errors).
    pub site: Site,
    /// A short label for progress lines: the step's `name`, else
    /// `<op> <table>`.
    pub label: String,
    /// The step.
    pub step: DataStep,
}

/// The steps of `rev` for `direction` on `dialect`: the written ones, or
/// for a downgrade without `[[downgrade]]` the reverses of the upgrade's
/// named operations (in reverse order).
///
/// # Errors
/// [`Error::Invalid`] for a bad step, [`Error::NoReverse`].
pub fn steps_of(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
) -> Result<Vec<Located>, Error> {
    match (direction, &rev.downgrade) {
        (Direction::Upgrade, _) => parse_list(rev, &rev.upgrade, direction, dialect),
        (Direction::Downgrade, Some(steps)) => parse_list(rev, steps, direction, dialect),
        (Direction::Downgrade, None) => {
            let mut out = Vec::new();
            for (index, step) in rev.upgrade.iter().enumerate().rev() {
                let no_reverse = |op: &str| Error::NoReverse {
                    revision: rev.id.clone(),
                    file: rev.path.clone(),
                    step: index + 1,
                    line: step.line,
                    op: op.to_string(),
                };
                let StepKind::Operation { op, fields } = &step.kind else {
                    return Err(no_reverse("sql"));
                };
                let reversed = reverse(op, fields).ok_or_else(|| no_reverse(op))?;
                let site = site(rev, direction, index + 1, step.line, op);
                let (op, fields) = reversed;
                out.push(parse_op(rev, site, &op, &fields, dialect)?);
            }
            Ok(out)
        }
    }
}

fn site(rev: &Revision, direction: Direction, step: usize, line: usize, op: &str) -> Site {
    Site {
        revision: rev.id.clone(),
        file: rev.path.clone(),
        direction,
        step,
        line,
        op: op.to_string(),
    }
}

fn parse_list(
    rev: &Revision,
    steps: &[Step],
    direction: Direction,
    dialect: Dialect,
) -> Result<Vec<Located>, Error> {
    steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let op = match &step.kind {
                StepKind::Sql(_) => "sql",
                StepKind::Operation { op, .. } => op.as_str(),
            };
            let site = site(rev, direction, index + 1, step.line, op);
            match &step.kind {
                StepKind::Sql(sql) => Ok(Located {
                    label: format!("sql step {}", index + 1),
                    site,
                    step: DataStep::Sql(sql.clone()),
                }),
                StepKind::Operation { op, fields } => parse_op(rev, site, op, fields, dialect),
            }
        })
        .collect()
}

/// The reverse of a named operation, as another operation's fields.
///
/// A reverse touches exactly the rows its upgrade touched: the scoping
/// keys (`where`, `key`) and the pace keys are copied into it, so rows
/// outside the upgrade's `where` keep their values.
///
/// - `copy_field`, `convert_type`: the target column back to NULL (the
///   target is assumed to have held nothing before the upgrade, e.g. it
///   was added by the schema revision the data revision depends on);
/// - `rename_values`: the inverse mapping; `None` (no derived reverse)
///   when two old values map to the same new one. Rows that already held
///   a new value before the upgrade are renamed back too;
/// - `split_field` ↔ `merge_fields`: the source column(s) rebuilt from the
///   target(s).
pub fn reverse(op: &str, fields: &toml::Table) -> Option<(String, toml::Table)> {
    // The reverse runs with the upgrade's `where`, evaluated after the
    // upgrade: a `where` that reads a column the step writes would select
    // other rows then (`where = "backup IS NULL"` matches none of the
    // copied ones), so such a step has no derived reverse.
    if let Some(filter) = fields.get("where").and_then(|v| v.as_str()) {
        let written = ["to", "into", "column"]
            .iter()
            .filter_map(|k| fields.get(*k))
            .flat_map(|v| match v {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                _ => vec![],
            });
        let words: Vec<String> = filter
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(str::to_ascii_lowercase)
            .collect();
        for column in written {
            if words.contains(&column.to_ascii_lowercase()) {
                return None;
            }
        }
    }
    let mut out = toml::Table::new();
    let copy = |out: &mut toml::Table, from: &str, to: &str| {
        if let Some(v) = fields.get(from) {
            out.insert(to.to_string(), v.clone());
        }
    };
    for key in [
        "table",
        "where",
        "key",
        "batch_size",
        "batch_time_ms",
        "sleep_ms",
        "separator",
    ] {
        copy(&mut out, key, key);
    }
    match op {
        "copy_field" | "convert_type" => {
            // The copy goes away: the target column back to NULL.
            let to = fields.get("to")?.as_str()?.to_string();
            let mut set = toml::Table::new();
            set.insert(to, toml::Value::String("NULL".to_string()));
            out.insert("set".to_string(), toml::Value::Table(set));
            Some(("update".to_string(), out))
        }
        "rename_values" => {
            copy(&mut out, "column", "column");
            let mapping = fields.get("mapping")?.as_table()?;
            let mut inverse = toml::Table::new();
            for (k, v) in mapping {
                let v = v.as_str()?;
                if inverse
                    .insert(v.to_string(), toml::Value::String(k.clone()))
                    .is_some()
                {
                    // Two old values became one: no inverse.
                    return None;
                }
            }
            out.insert("mapping".to_string(), toml::Value::Table(inverse));
            Some(("rename_values".to_string(), out))
        }
        "split_field" => {
            copy(&mut out, "from", "into");
            copy(&mut out, "into", "from");
            Some(("merge_fields".to_string(), out))
        }
        "merge_fields" => {
            copy(&mut out, "from", "into");
            copy(&mut out, "into", "from");
            Some(("split_field".to_string(), out))
        }
        _ => None,
    }
}

/// Reads the fields of one step, failing on keys it does not know.
struct Fields<'a> {
    site: &'a Site,
    fields: &'a toml::Table,
    valid: &'static [&'static str],
}

impl<'a> Fields<'a> {
    fn new(
        site: &'a Site,
        fields: &'a toml::Table,
        valid: &'static [&'static str],
    ) -> Result<Self, Error> {
        if let Some(key) = fields
            .keys()
            .find(|k| !valid.contains(&k.as_str()) && k.as_str() != "name")
        {
            return Err(invalid(
                site,
                format!(
                    "unknown key `{key}`; valid keys are: {}, name",
                    valid.join(", ")
                ),
            ));
        }
        Ok(Fields {
            site,
            fields,
            valid,
        })
    }

    fn err(&self, message: String) -> Error {
        let _ = self.valid;
        invalid(self.site, message)
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, Error> {
        match self.fields.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(format!(
                "`{key}` must be a string, found {}",
                other.type_str()
            ))),
        }
    }

    fn str(&self, key: &str, example: &str) -> Result<String, Error> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(format!("missing `{key}`, e.g. `{key} = {example}`")))
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, Error> {
        match self.fields.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) if *i > 0 || (key == "sleep_ms" && *i == 0) => {
                Ok(Some(u64::try_from(*i).unwrap_or(0)))
            }
            Some(other) => {
                Err(self.err(format!("`{key}` must be a positive integer, found {other}")))
            }
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        match self.fields.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err(format!("`{key}` must be an array of strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.err(format!(
                "`{key}` must be a string or an array of strings, found {}",
                other.type_str()
            ))),
        }
    }

    fn table(&self, key: &str, example: &str) -> Result<Vec<(String, String)>, Error> {
        match self.fields.get(key) {
            Some(toml::Value::Table(t)) if !t.is_empty() => t
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => Ok((k.clone(), s.clone())),
                    toml::Value::Integer(i) => Ok((k.clone(), i.to_string())),
                    toml::Value::Float(f) => Ok((k.clone(), f.to_string())),
                    toml::Value::Boolean(b) => Ok((k.clone(), b.to_string())),
                    other => Err(self.err(format!(
                        "`{key}.{k}` must be a string, found {}",
                        other.type_str()
                    ))),
                })
                .collect(),
            _ => Err(self.err(format!("missing `{key}`, e.g. `{key} = {example}`"))),
        }
    }

    fn ident(&self, key: &str, dialect: Dialect, example: &str) -> Result<String, Error> {
        let raw = self.str(key, example)?;
        quote_ident(dialect, &raw).map_err(|m| self.err(format!("`{key}`: {m}")))
    }

    fn opt_ident(&self, key: &str, dialect: Dialect) -> Result<Option<String>, Error> {
        self.opt_str(key)?
            .map(|raw| quote_ident(dialect, &raw).map_err(|m| self.err(format!("`{key}`: {m}"))))
            .transpose()
    }
}

fn invalid(site: &Site, problem: String) -> Error {
    Error::Invalid {
        site: Box::new(site.clone()),
        problem,
    }
}

macro_rules! keys {
    ($($k:literal),* $(,)?) => {
        &[$($k,)* "key", "batch_size", "batch_time_ms", "sleep_ms"]
    };
}

fn parse_op(
    rev: &Revision,
    site: Site,
    op: &str,
    fields: &toml::Table,
    dialect: Dialect,
) -> Result<Located, Error> {
    let step = parse_fields(rev, &site, op, fields, dialect)?;
    let label = match fields.get("name").and_then(|v| v.as_str()) {
        Some(name) => name.to_string(),
        None => {
            let table = fields
                .get("table")
                .or_else(|| fields.get("target"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            format!("{op} {table}").trim().to_string()
        }
    };
    Ok(Located { site, label, step })
}

fn batched(
    f: &Fields<'_>,
    dialect: Dialect,
    table: &str,
    action: BatchAction,
    filter: Option<String>,
) -> Result<DataStep, Error> {
    Ok(DataStep::Batched {
        scan: Scan {
            from: table.to_string(),
            table: Some(table.to_string()),
            key: f.opt_ident("key", dialect)?,
            filter,
        },
        action,
        pace: Pace::parse(f)?,
    })
}

/// A batched `UPDATE table SET … [WHERE filter]` (the named operations
/// that rewrite columns in place).
fn batched_update(
    f: &Fields<'_>,
    dialect: Dialect,
    table: String,
    set: Vec<(String, String)>,
    filter: Option<String>,
) -> Result<DataStep, Error> {
    let scanned = table.clone();
    batched(
        f,
        dialect,
        &scanned,
        BatchAction::Update { table, set },
        filter,
    )
}

fn and(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
        (a, b) => a.or(b),
    }
}

#[allow(clippy::too_many_lines)]
fn parse_fields(
    rev: &Revision,
    site: &Site,
    op: &str,
    fields: &toml::Table,
    dialect: Dialect,
) -> Result<DataStep, Error> {
    let q = |name: &str| quote_ident(dialect, name).map_err(|m| invalid(site, m));
    let literal = |s: &str| super::sql::literal(dialect, s);
    match op {
        "update" => {
            let f = Fields::new(site, fields, keys!["table", "set", "where"])?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let set = f
                .table("set", "{ email = \"lower(email)\" }")?
                .into_iter()
                .map(|(c, e)| Ok((q(&c)?, e)))
                .collect::<Result<Vec<_>, Error>>()?;
            let filter = f.opt_str("where")?;
            batched_update(&f, dialect, table, set, filter)
        }
        "transform" => {
            let f = Fields::new(site, fields, keys!["table", "set", "where"])?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let set = f.table("set", "{ first_name = \"{{ full_name.split(' ')[0] }}\" }")?;
            for (col, template) in &set {
                q(col)?;
                super::transform::check(template)
                    .map_err(|m| invalid(site, format!("`set.{col}`: {m}")))?;
            }
            let filter = f.opt_str("where")?;
            batched(
                &f,
                dialect,
                &table.clone(),
                BatchAction::Transform { table, set },
                filter,
            )
        }
        "copy_rows" => {
            let f = Fields::new(
                site,
                fields,
                keys!["target", "columns", "select", "from", "where"],
            )?;
            let target = f.ident("target", dialect, "\"employee_flat\"")?;
            let columns_raw = f.strings("columns")?.ok_or_else(|| {
                f.err("missing `columns`, e.g. `columns = [\"id\", \"name\"]`".to_string())
            })?;
            let columns = columns_raw
                .iter()
                .map(|c| q(c))
                .collect::<Result<Vec<_>, _>>()?;
            let exprs = f.strings("select")?.unwrap_or_else(|| columns.clone());
            if exprs.len() != columns.len() {
                return Err(f.err(format!(
                    "`select` has {} expressions but `columns` has {} columns",
                    exprs.len(),
                    columns.len()
                )));
            }
            let from = f.str("from", "\"person p JOIN employee e ON e.id = p.id\"")?;
            let key = f.opt_ident("key", dialect)?.ok_or_else(|| {
                f.err(
                    "missing `key`: the column (of `from`) the batches walk, e.g. `key = \"p.id\"`"
                        .to_string(),
                )
            })?;
            Ok(DataStep::Batched {
                scan: Scan {
                    from,
                    table: None,
                    key: Some(key),
                    filter: f.opt_str("where")?,
                },
                action: BatchAction::Insert {
                    target,
                    columns,
                    exprs,
                },
                pace: Pace::parse(&f)?,
            })
        }
        "load" => {
            let f = Fields::new(
                site,
                fields,
                &["table", "file", "on_conflict", "key", "batch_size"],
            )?;
            let table_raw = f.str("table", "\"country\"")?;
            let table = q(&table_raw)?;
            let file = f.str("file", "\"fixtures/countries.csv\"")?;
            let dir = rev.path.parent().map(PathBuf::from).unwrap_or_default();
            let on_conflict = match f.opt_str("on_conflict")?.as_deref() {
                None | Some("fail") => OnConflict::Fail,
                Some("skip") => OnConflict::Skip,
                Some("update") => OnConflict::Update,
                Some(other) => {
                    return Err(f.err(format!(
                        "`on_conflict = \"{other}\"`: expected fail, skip or update"
                    )))
                }
            };
            let key = f.strings("key")?.unwrap_or_default();
            for k in &key {
                q(k)?;
            }
            Ok(DataStep::Load(Load {
                table,
                table_raw,
                file: dir.join(file),
                on_conflict,
                key,
                batch_size: f.opt_u64("batch_size")?,
            }))
        }
        "copy_field" => {
            let f = Fields::new(site, fields, keys!["table", "from", "to", "where"])?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let from = f.ident("from", dialect, "\"email\"")?;
            let to = f.ident("to", dialect, "\"email_address\"")?;
            let filter = f.opt_str("where")?;
            batched_update(&f, dialect, table, vec![(to, from)], filter)
        }
        "populate_field" => {
            let f = Fields::new(
                site,
                fields,
                keys!["table", "column", "value", "expr", "only_null", "where"],
            )?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let column = f.ident("column", dialect, "\"status\"")?;
            let expr = match (fields.get("value"), f.opt_str("expr")?) {
                (Some(v), None) => toml_literal(dialect, v).ok_or_else(|| {
                    f.err("`value` must be a string, number or boolean".to_string())
                })?,
                (None, Some(e)) => e,
                _ => {
                    return Err(f.err(
                        "give exactly one of `value` (a literal) or `expr` (an SQL expression)"
                            .to_string(),
                    ))
                }
            };
            let expr = match fields.get("value") {
                Some(toml::Value::String(s)) => literal(s),
                _ => expr,
            };
            let only_null = match fields.get("only_null") {
                None => true,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => return Err(f.err("`only_null` must be true or false".to_string())),
            };
            let filter = and(
                only_null.then(|| format!("{column} IS NULL")),
                f.opt_str("where")?,
            );
            batched_update(&f, dialect, table, vec![(column, expr)], filter)
        }
        "merge_fields" => {
            let f = Fields::new(
                site,
                fields,
                keys!["table", "from", "into", "separator", "where"],
            )?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let from = f.strings("from")?.ok_or_else(|| {
                f.err("missing `from`, e.g. `from = [\"first_name\", \"last_name\"]`".to_string())
            })?;
            if from.len() < 2 {
                return Err(f.err("`from` needs at least two columns".to_string()));
            }
            let from = from.iter().map(|c| q(c)).collect::<Result<Vec<_>, _>>()?;
            let into = f.ident("into", dialect, "\"full_name\"")?;
            let sep = f.opt_str("separator")?.unwrap_or_else(|| " ".to_string());
            let expr = super::sql::concat_ws(dialect, &literal(&sep), &from);
            let filter = f.opt_str("where")?;
            batched_update(&f, dialect, table, vec![(into, expr)], filter)
        }
        "split_field" => {
            let f = Fields::new(
                site,
                fields,
                keys!["table", "from", "into", "separator", "where"],
            )?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let from = f.ident("from", dialect, "\"full_name\"")?;
            let into = f.strings("into")?.ok_or_else(|| {
                f.err("missing `into`, e.g. `into = [\"first_name\", \"last_name\"]`".to_string())
            })?;
            if into.len() != 2 {
                return Err(f.err("`into` must name two columns: the part before the first separator and the rest".to_string()));
            }
            let sep = f.opt_str("separator")?.unwrap_or_else(|| " ".to_string());
            if sep.is_empty() {
                return Err(f.err("`separator` must not be empty".to_string()));
            }
            let (head, tail) = super::sql::split_first(dialect, &from, &literal(&sep));
            let set = vec![(q(&into[0])?, head), (q(&into[1])?, tail)];
            let filter = f.opt_str("where")?;
            batched_update(&f, dialect, table, set, filter)
        }
        "convert_type" => {
            let f = Fields::new(
                site,
                fields,
                keys!["table", "from", "to", "type", "default", "where"],
            )?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let from = f.ident("from", dialect, "\"age_text\"")?;
            let to = f.ident("to", dialect, "\"age\"")?;
            let ty = f.str("type", "\"integer\"")?;
            let default = match fields.get("default") {
                None => "NULL".to_string(),
                Some(toml::Value::String(s)) => literal(s),
                Some(v) => toml_literal(dialect, v).ok_or_else(|| {
                    f.err("`default` must be a string, number or boolean".to_string())
                })?,
            };
            let expr = super::sql::convert(dialect, &from, &ty, &default).map_err(|m| f.err(m))?;
            let filter = f.opt_str("where")?;
            batched_update(&f, dialect, table, vec![(to, expr)], filter)
        }
        "rename_values" => {
            let f = Fields::new(site, fields, keys!["table", "column", "mapping", "where"])?;
            let table = f.ident("table", dialect, "\"orders\"")?;
            let column = f.ident("column", dialect, "\"status\"")?;
            let mapping = f.table("mapping", "{ old = \"new\" }")?;
            let mut case = format!("CASE {column}");
            let mut olds = Vec::new();
            for (old, new) in &mapping {
                case.push_str(&format!(" WHEN {} THEN {}", literal(old), literal(new)));
                olds.push(literal(old));
            }
            case.push_str(&format!(" ELSE {column} END"));
            let filter = and(
                Some(format!("{column} IN ({})", olds.join(", "))),
                f.opt_str("where")?,
            );
            batched_update(&f, dialect, table, vec![(column, case)], filter)
        }
        "dedup" => {
            let f = Fields::new(site, fields, keys!["table", "by", "keep", "order"])?;
            let table = f.ident("table", dialect, "\"users\"")?;
            let by = f
                .strings("by")?
                .ok_or_else(|| f.err("missing `by`, e.g. `by = [\"email\"]`".to_string()))?;
            let by = by.iter().map(|c| q(c)).collect::<Result<Vec<_>, _>>()?;
            let keep_first = match f.opt_str("keep")?.as_deref() {
                None | Some("first") => true,
                Some("last") => false,
                Some(other) => {
                    return Err(f.err(format!(
                        "`keep = \"{other}\"`: expected first or last (by `order`, default the key)"
                    )))
                }
            };
            batched(
                &f,
                dialect,
                &table.clone(),
                BatchAction::Dedup {
                    table,
                    by,
                    keep_first,
                    order: f.opt_ident("order", dialect)?,
                },
                None,
            )
        }
        other if crate::dialect::ops::parse::valid_keys(other).is_some() => Err(invalid(
            site,
            format!(
                "`{other}` is a schema operation, but this revision has data steps or \
                 `[[verify]]` checks, so it runs as a data revision (batches and \
                 checkpoints), which does not run schema operations: put the schema \
                 operations in their own revision and the data steps in a data revision \
                 that depends on it (`retort revision --lane data -m \"…\" --depends-on \
                 <schema revision>`)"
            ),
        )),
        other => Err(invalid(
            site,
            format!(
                "`{other}` is not a data operation; valid: {}",
                DATA_OPS.join(", ")
            ),
        )),
    }
}

fn toml_literal(dialect: Dialect, v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(super::sql::literal(dialect, s)),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::parse_str;
    use crate::revision::scaffold::{RevisionSpec, Templates};
    use crate::revision::FileFormat;
    use chrono::TimeZone;
    use std::path::Path;

    fn data_spec(depends_on: &[&str]) -> RevisionSpec {
        RevisionSpec {
            id: "ae1027a6acf0".to_string(),
            down_revisions: vec!["1975ea83b712".to_string()],
            branch_labels: vec![],
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            message: "normalize emails".to_string(),
            created: chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
                .unwrap(),
            lane: "data".to_string(),
        }
    }

    #[test]
    fn data_template_parses_as_written() {
        let text = Templates::default()
            .render_revision(&data_spec(&["3f4e9a0b1c2d"]), FileFormat::Toml)
            .unwrap();
        let rev = parse_str(&text, Path::new("m/ae1027a6acf0_x.toml"), "data")
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(rev.depends_on, ["3f4e9a0b1c2d"]);
        assert!(rev.upgrade.is_empty() && rev.verify.is_empty(), "{text}");
        assert!(text.contains("# op = \"copy_rows\""), "{text}");
        // The schema lane keeps its own template.
        let mut schema = data_spec(&[]);
        schema.lane = "schema".to_string();
        let text = Templates::default()
            .render_revision(&schema, FileFormat::Toml)
            .unwrap();
        assert!(!text.contains("copy_rows"), "{text}");
    }

    #[test]
    fn data_template_examples_are_valid_steps_when_uncommented() {
        let text = Templates::default()
            .render_revision(&data_spec(&[]), FileFormat::Toml)
            .unwrap();
        assert!(
            text.contains(r#"set = { first_name = "{{ full_name.split(' ')[0] }}" }"#),
            "the transform example renders its braces: {text}"
        );
        let examples = &text[text.find("# [[upgrade]]").unwrap()..];
        let is_key = |k: &str| k.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let uncommented: String = examples
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with("[[") || l.split_once(" = ").is_some_and(|(k, _)| is_key(k)))
            .map(|l| format!("{l}\n"))
            .collect();
        let full = format!("revision = \"a\"\n{uncommented}");
        let rev = parse_str(&full, Path::new("m/a.toml"), "data")
            .unwrap_or_else(|e| panic!("{e}\n{full}"));
        let ops: Vec<String> = rev
            .upgrade
            .iter()
            .map(|s| match &s.kind {
                StepKind::Sql(_) => "sql".to_string(),
                StepKind::Operation { op, .. } => op.clone(),
            })
            .collect();
        assert_eq!(
            ops,
            [
                "update",
                "copy_rows",
                "transform",
                "load",
                "copy_field",
                "populate_field",
                "split_field",
                "merge_fields",
                "convert_type",
                "rename_values",
                "dedup",
                "sql"
            ]
        );
        assert_eq!(rev.verify.len(), 1, "{full}");
        assert_eq!(rev.downgrade.as_ref().map(Vec::len), Some(1));
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let up = steps_of(&rev, Direction::Upgrade, dialect)
                .unwrap_or_else(|e| panic!("{dialect:?}: {e}\n{full}"));
            assert_eq!(up.len(), ops.len());
            steps_of(&rev, Direction::Downgrade, dialect)
                .unwrap_or_else(|e| panic!("{dialect:?}: {e}\n{full}"));
        }
    }

    fn pace_of(body: &str) -> Result<Pace, String> {
        let text = format!(
            "revision = \"a\"\n[[upgrade]]\nop = \"update\"\ntable = \"t\"\nset = {{ x = \"1\" }}\n{body}"
        );
        let rev = parse_str(&text, Path::new("m/a_x.toml"), "data").map_err(|e| e.to_string())?;
        let steps =
            steps_of(&rev, Direction::Upgrade, Dialect::Sqlite).map_err(|e| e.to_string())?;
        match &steps[0].step {
            DataStep::Batched { pace, .. } => Ok(*pace),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn pace_keys() {
        assert_eq!(pace_of("").unwrap(), Pace::default());
        assert_eq!(
            pace_of("batch_time_ms = 50\nsleep_ms = 0").unwrap(),
            Pace {
                batch_size: None,
                batch_time_ms: Some(50),
                sleep_ms: 0
            }
        );
        assert_eq!(pace_of("batch_size = 7").unwrap().batch_size, Some(7));
        let both = pace_of("batch_size = 7\nbatch_time_ms = 50").unwrap_err();
        assert!(
            both.contains("m/a_x.toml") && both.contains("not both"),
            "{both}"
        );
        let zero = pace_of("batch_time_ms = 0").unwrap_err();
        assert!(
            zero.contains("`batch_time_ms` must be a positive integer"),
            "{zero}"
        );
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn reverses_keep_the_upgrades_where() {
        let cases = [
            (
                "copy_field",
                "table = \"t\"\nfrom = \"email\"\nto = \"backup\"",
                "update",
            ),
            (
                "convert_type",
                "table = \"t\"\nfrom = \"a\"\nto = \"b\"\ntype = \"integer\"",
                "update",
            ),
            (
                "split_field",
                "table = \"t\"\nfrom = \"full\"\ninto = [\"a\", \"b\"]",
                "merge_fields",
            ),
            (
                "merge_fields",
                "table = \"t\"\nfrom = [\"a\", \"b\"]\ninto = \"full\"",
                "split_field",
            ),
            (
                "rename_values",
                "table = \"t\"\ncolumn = \"s\"\nmapping = { old = \"new\" }",
                "rename_values",
            ),
        ];
        for (op, body, reverse_op) in cases {
            let fields = table(&format!(
                "{body}\nwhere = \"id <= 2\"\nkey = \"id\"\nbatch_size = 3"
            ));
            let (got_op, got) = reverse(op, &fields).unwrap_or_else(|| panic!("{op}"));
            assert_eq!(got_op, reverse_op, "{op}");
            assert_eq!(
                got.get("where").and_then(|v| v.as_str()),
                Some("id <= 2"),
                "{op}: {got:?}"
            );
            assert_eq!(got.get("key").and_then(|v| v.as_str()), Some("id"), "{op}");
            assert_eq!(
                got.get("batch_size").and_then(toml::Value::as_integer),
                Some(3),
                "{op}"
            );
        }
        // A `where` on a column the step writes selects other rows after
        // the upgrade: no derived reverse (write [[downgrade]]).
        for (op, body) in [
            (
                "copy_field",
                "from = \"email\"\nto = \"backup\"\nwhere = \"Backup IS NULL\"",
            ),
            (
                "merge_fields",
                "from = [\"a\", \"b\"]\ninto = \"full\"\nwhere = \"full = ''\"",
            ),
            (
                "split_field",
                "from = \"full\"\ninto = [\"a\", \"b\"]\nwhere = \"b IS NULL\"",
            ),
        ] {
            let fields = table(&format!("table = \"t\"\n{body}"));
            assert_eq!(reverse(op, &fields), None, "{op}");
        }
        assert!(reverse(
            "copy_field",
            &table(
                "table = \"t\"\nfrom = \"email\"\nto = \"backup\"\nwhere = \"backups_done = 0\""
            )
        )
        .is_some());
        // Without `where`, none is invented.
        let (_, got) = reverse(
            "copy_field",
            &table("table = \"t\"\nfrom = \"a\"\nto = \"b\""),
        )
        .unwrap();
        assert!(!got.contains_key("where"), "{got:?}");
        // The exact reverses.
        let (_, got) = reverse(
            "copy_field",
            &table("table = \"t\"\nfrom = \"a\"\nto = \"b\"\nwhere = \"id <= 2\""),
        )
        .unwrap();
        assert_eq!(
            got,
            table("table = \"t\"\nwhere = \"id <= 2\"\nset = { b = \"NULL\" }")
        );
        let (_, got) = reverse(
            "rename_values",
            &table("table = \"t\"\ncolumn = \"s\"\nmapping = { a = \"x\", b = \"y\" }"),
        )
        .unwrap();
        assert_eq!(
            got.get("mapping"),
            Some(&toml::Value::Table(table("x = \"a\"\ny = \"b\"")))
        );
        // Two old values onto one: no inverse.
        assert!(reverse(
            "rename_values",
            &table("table = \"t\"\ncolumn = \"s\"\nmapping = { a = \"x\", b = \"x\" }"),
        )
        .is_none());
    }

    #[test]
    fn derived_downgrades_filter_like_their_upgrade() {
        let text = "revision = \"a\"\n\
                    [[upgrade]]\nop = \"copy_field\"\ntable = \"t\"\nfrom = \"email\"\nto = \"backup\"\nwhere = \"id <= 2\"\n\
                    [[upgrade]]\nop = \"split_field\"\ntable = \"t\"\nfrom = \"full\"\ninto = [\"a\", \"b\"]\nwhere = \"id > 5\"\n";
        let rev = parse_str(text, Path::new("m/a_x.toml"), "data").unwrap();
        let down = steps_of(&rev, Direction::Downgrade, Dialect::Postgres).unwrap();
        let filters: Vec<Option<String>> = down
            .iter()
            .map(|s| match &s.step {
                DataStep::Batched { scan, .. } => scan.filter.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        // In reverse order: the split's reverse first.
        assert_eq!(
            filters,
            [Some("id > 5".to_string()), Some("id <= 2".to_string())]
        );
    }

    #[test]
    fn schema_operations_in_a_data_revision_say_to_split_it() {
        let text = "revision = \"a\"\n[[upgrade]]\nop = \"create_table\"\nname = \"t\"\n\
                    [[upgrade]]\nop = \"update\"\ntable = \"t\"\nset = { x = \"1\" }\n";
        let rev = parse_str(text, Path::new("m/a_x.toml"), "schema").unwrap();
        let e = steps_of(&rev, Direction::Upgrade, Dialect::Sqlite)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m/a_x.toml")
                && e.contains("step 1 (line 2")
                && e.contains("`create_table` is a schema operation")
                && e.contains("--lane data"),
            "{e}"
        );
        let unknown = text.replace("create_table", "create_tabel");
        let rev = parse_str(&unknown, Path::new("m/a_x.toml"), "schema").unwrap();
        let e = steps_of(&rev, Direction::Upgrade, Dialect::Sqlite)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`create_tabel` is not a data operation; valid: update"),
            "{e}"
        );
    }
}
