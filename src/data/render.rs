//! `--sql` for data revisions: every step as reviewable SQL.
//!
//! - `update`, `copy_rows` and the named operations: their single bulk
//!   statement, preceded by a comment saying that online it runs in
//!   batches of N by key;
//! - `load`: `INSERT … VALUES` statements (literals escaped per dialect);
//! - `transform`: a clearly marked comment block (it needs the online
//!   runner: the expressions are evaluated in the process);
//! - `[[verify]]`: a comment block with each check.
//!
//! The script always renders: nothing here needs a connection.

use std::collections::BTreeMap;

use super::fixture::{check_step_binary, read_fixture};
use super::model::{self, BatchAction, DataStep, OnConflict};
use super::{sql, template, Error};
use crate::dialect::ops::{ColumnType, SchemaModel};
use crate::dialect::{split_statements, Dialect, Direction};
use crate::revision::Revision;

/// Whether a statement is only comments (printed without `;`).
pub fn is_comment_only(statement: &str) -> bool {
    statement
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

fn comment_block(lines: &[String]) -> String {
    lines
        .iter()
        .flat_map(|l| l.lines())
        .map(|l| format!("-- {l}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a batched step's batches are sized, for the offline comment.
fn batches_text(pace: &model::Pace, transform: bool) -> String {
    match pace.batch_size {
        Some(n) => format!("batches of {n} rows"),
        None => {
            let ms = pace.batch_time_ms.unwrap_or(model::DEFAULT_BATCH_TIME_MS);
            let cap = if transform {
                format!(", at most {}", model::TRANSFORM_MAX_BATCH)
            } else {
                String::new()
            };
            format!(
                "batches sized to take about {ms} ms each (from {} rows{cap}; set batch_size to fix the size)",
                super::sizer::FIRST_BATCH
            )
        }
    }
}

/// The statements of a data revision for `direction` on `dialect`; with
/// `template = true`, `sql` steps and `[[verify]]` SQL rendered with
/// `vars` (`[vars]` and `-x`) as online.
///
/// # Errors
/// Invalid steps, unreadable fixtures, a downgrade without a reverse, a
/// template error.
pub fn render(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    before: &SchemaModel,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let steps = template::render_steps(
        rev,
        model::steps_of(rev, direction, dialect)?,
        dialect,
        vars,
    )?;
    let checks = template::verify_checks(rev, direction, dialect, vars)?;
    for located in steps {
        match &located.step {
            DataStep::Sql(step) => out.extend(split_statements(step.text_for(dialect), dialect)),
            DataStep::Batched { scan, action, pace } => {
                let batches = batches_text(pace, matches!(action, BatchAction::Transform { .. }));
                let key_text = scan
                    .key
                    .clone()
                    .unwrap_or_else(|| "the primary key".to_string());
                let key = scan.key.clone().or_else(|| {
                    scan.table
                        .as_deref()
                        .and_then(|t| known_key(before, t))
                        .and_then(|k| sql::quote_ident(dialect, &k).ok())
                });
                match (action, key) {
                    (BatchAction::Transform { table, set }, _) => {
                        let mut lines = vec![
                            format!("[retort transform] {} — needs the online runner (`retort upgrade`)", located.label),
                            format!("Row-level minijinja expressions on {table}, evaluated in the process in {batches} by {key_text}:"),
                        ];
                        for (c, t) in set {
                            lines.push(format!("  {c} = {t}"));
                        }
                        if let Some(f) = &scan.filter {
                            lines.push(format!("  where {f}"));
                        }
                        lines.push("[end transform]".to_string());
                        out.push(comment_block(&lines));
                    }
                    (BatchAction::Dedup { table, .. }, None) => {
                        out.push(comment_block(&[
                            format!("[retort dedup] {} — cannot be written offline", located.label),
                            format!("The primary key of {table} is not known here (no earlier revision creates the table with a portable operation): give `key = \"<unique column>\"` in the step to render its DELETE."),
                            "[end dedup]".to_string(),
                        ]));
                    }
                    (_, key) => {
                        let key = key.unwrap_or_else(|| "<primary key>".to_string());
                        let stmt = sql::bulk(dialect, scan, &key, action).unwrap_or_default();
                        out.push(format!(
                            "-- {}: online this runs in {batches} by {key_text} (keyset ranges, each batch committed with its checkpoint)\n{stmt}",
                            located.label
                        ));
                    }
                }
            }
            DataStep::Load(load) => {
                let (columns, rows) = read_fixture(&load.file)?;
                let cols: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        sql::quote_ident(dialect, c).map_err(|problem| Error::Invalid {
                            site: Box::new(located.site.clone()),
                            problem,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                // The conflict target: `key`, else the primary key the
                // earlier revisions give the table.
                let conflict_key: Vec<String> = if load.key.is_empty() {
                    known_key(before, &load.table).into_iter().collect()
                } else {
                    load.key.clone()
                };
                // Binary columns of a table the earlier revisions created
                // with portable operations: `\x` + hex becomes a binary
                // literal, as online. (A table from raw SQL is not known:
                // its values stay text literals.)
                let shape = before.shape(&sql::unquote(&load.table));
                let binary: Vec<bool> = columns
                    .iter()
                    .map(|c| {
                        shape.is_some_and(|s| {
                            s.columns.iter().any(|col| {
                                col.name.eq_ignore_ascii_case(c) && col.ty == ColumnType::Binary
                            })
                        })
                    })
                    .collect();
                check_step_binary(rev, &located, load, &columns, &rows, &binary)?;
                let n = usize::try_from(load.batch_size.unwrap_or(500))
                    .unwrap_or(500)
                    .max(1);
                for (i, chunk) in rows.chunks(n).enumerate() {
                    let values: Vec<String> = chunk
                        .iter()
                        .map(|row| {
                            let vals: Vec<String> = columns
                                .iter()
                                .zip(&binary)
                                .map(|(c, is_binary)| match (row.get(c), is_binary) {
                                    (Some(serde_json::Value::String(s)), true) => {
                                        bytes_literal(dialect, s)
                                    }
                                    (v, _) => json_literal(dialect, v),
                                })
                                .collect();
                            format!("({})", vals.join(", "))
                        })
                        .collect();
                    let ignore = matches!(
                        (dialect, load.on_conflict),
                        (Dialect::Mysql, OnConflict::Skip)
                    );
                    let mut stmt = format!(
                        "INSERT{} INTO {} ({}) VALUES {}",
                        if ignore { " IGNORE" } else { "" },
                        load.table,
                        cols.join(", "),
                        values.join(", ")
                    );
                    stmt.push_str(&conflict_clause(
                        dialect,
                        load.on_conflict,
                        &cols,
                        &conflict_key,
                    ));
                    if i == 0 {
                        stmt = format!(
                            "-- {}: {} rows from {}\n{stmt}",
                            located.label,
                            rows.len(),
                            // As written in the revision (relative to its
                            // file), not this machine's absolute path.
                            super::fixture::file_as_written(rev, load).display()
                        );
                    }
                    out.push(stmt);
                }
            }
        }
    }
    if !checks.is_empty() {
        let mut lines = vec![
            "[retort verify] run after the steps; each must return the expected value:".to_string(),
        ];
        for v in checks.iter() {
            lines.push(format!("  {} (expect {}): {}", v.name, v.expect, v.sql));
        }
        out.push(comment_block(&lines));
    }
    Ok(out)
}

/// The single-column primary key (unquoted) of `table` (quoted, as the
/// steps hold it) in the schema replayed from earlier revisions.
fn known_key(before: &SchemaModel, table: &str) -> Option<String> {
    let shape = before.shape(&sql::unquote(table))?;
    let column = match shape.primary_key.as_slice() {
        [one] => one.clone(),
        [] => {
            let mut inline = shape.columns.iter().filter(|c| c.primary_key);
            match (inline.next(), inline.next()) {
                (Some(c), None) => c.name.clone(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(column)
}

fn conflict_clause(
    dialect: Dialect,
    on_conflict: OnConflict,
    cols: &[String],
    key: &[String],
) -> String {
    let keys: Vec<String> = key
        .iter()
        .filter_map(|k| sql::quote_ident(dialect, k).ok())
        .collect();
    match (dialect, on_conflict) {
        (_, OnConflict::Fail) | (Dialect::Mysql, OnConflict::Skip) => String::new(),
        (Dialect::Sqlite | Dialect::Postgres, OnConflict::Skip) => {
            " ON CONFLICT DO NOTHING".to_string()
        }
        (Dialect::Sqlite | Dialect::Postgres, OnConflict::Update) => {
            // Offline the primary key is unknown: SQLite (3.35+) takes a
            // DO UPDATE without a conflict target; PostgreSQL needs one,
            // which `key` gives.
            let target = match (keys.is_empty(), dialect) {
                (true, Dialect::Sqlite) => String::new(),
                (true, _) => "(<primary key: give `key` in the revision>) ".to_string(),
                (false, _) => format!("({}) ", keys.join(", ")),
            };
            let set: Vec<String> = cols
                .iter()
                .filter(|c| !keys.contains(c))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!(" ON CONFLICT {target}DO UPDATE SET {}", set.join(", "))
        }
        (Dialect::Mysql, OnConflict::Update) => {
            let set: Vec<String> = cols.iter().map(|c| format!("{c} = VALUES({c})")).collect();
            format!(" ON DUPLICATE KEY UPDATE {}", set.join(", "))
        }
    }
}

/// A binary literal of `\x` + hex (checked before): `X'…'` on SQLite
/// and MySQL, the bytea text form on PostgreSQL.
fn bytes_literal(dialect: Dialect, text: &str) -> String {
    let hex = text.strip_prefix("\\x").unwrap_or(text);
    match dialect {
        Dialect::Sqlite | Dialect::Mysql => format!("X'{hex}'"),
        Dialect::Postgres => format!("'\\x{hex}'"),
    }
}

fn json_literal(dialect: Dialect, v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "NULL".to_string(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Some(serde_json::Value::String(s)) => sql::literal(dialect, s),
        Some(other) => sql::literal(dialect, &other.to_string()),
    }
}
