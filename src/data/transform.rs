//! `transform`: row-level minijinja expressions computed in the process.
//!
//! A batch is fetched (`SELECT key, t.* … WHERE key range`), every `set`
//! template is evaluated over the row's columns, and the results are
//! written back in ONE statement per batch: the batch travels as one JSON
//! bind parameter and is joined back by key (`json_populate_recordset` on
//! PostgreSQL, `json_each` with `UPDATE … FROM` on SQLite, `JSON_TABLE` on
//! MySQL/MariaDB). Never row-by-row statements.
//!
//! A value that is exactly `{{ expression }}` is evaluated as an
//! expression, so `none` writes NULL and numbers stay numbers; anything
//! else renders to a string. Python-style methods (`.split(' ')`,
//! `.upper()`, `.strip()`) work through minijinja-contrib's pycompat.

use minijinja::{Environment, UndefinedBehavior, Value};

use super::exec::{exec, fetch, Val};
use super::model::Scan;
use super::{sql, Error, Site};
use crate::dialect::Dialect;
use crate::store::Db;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env
}

/// The expression inside `{{ … }}` when the template is only that.
fn expression_of(template: &str) -> Option<&str> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

/// Checks that `template` compiles.
///
/// # Errors
/// minijinja's message.
pub fn check(template: &str) -> Result<(), String> {
    let env = env();
    match expression_of(template) {
        Some(expr) => env.compile_expression(expr).map(drop),
        None => env.template_from_str(template).map(drop),
    }
    .map_err(|e| format!("invalid template: {e}"))
}

enum Compiled<'e> {
    Expr(minijinja::Expression<'e, 'e>),
    Template(minijinja::Template<'e, 'e>),
}

fn to_value(v: &Val) -> Value {
    match v {
        Val::Null => Value::from(()),
        Val::Int(i) => Value::from(*i),
        Val::Float(f) => Value::from(*f),
        Val::Text(s) => Value::from(s.as_str()),
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    if v.is_none() || v.is_undefined() {
        return serde_json::Value::Null;
    }
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Bool => serde_json::Value::Bool(v.is_true()),
        ValueKind::Number => i64::try_from(v.clone()).map_or_else(
            |_| {
                f64::try_from(v.clone())
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(
                        || serde_json::Value::String(v.to_string()),
                        serde_json::Value::Number,
                    )
            },
            |i| serde_json::json!(i),
        ),
        ValueKind::String => serde_json::Value::String(v.as_str().unwrap_or_default().to_string()),
        _ => serde_json::Value::String(v.to_string()),
    }
}

/// Evaluates `set` over rows (column names → values); one JSON object per
/// row with the key under `key_name` and each set column.
///
/// # Errors
/// The template error, naming the column and the row's key.
pub fn evaluate(
    set: &[(String, String)],
    names: &[String],
    rows: &[Vec<Val>],
    key_name: &str,
) -> Result<Vec<serde_json::Value>, String> {
    let env = env();
    let mut compiled = Vec::with_capacity(set.len());
    for (col, template) in set {
        let c = match expression_of(template) {
            Some(expr) => Compiled::Expr(
                env.compile_expression(expr)
                    .map_err(|e| format!("`set.{col}`: {e}"))?,
            ),
            None => Compiled::Template(
                env.template_from_str(template)
                    .map_err(|e| format!("`set.{col}`: {e}"))?,
            ),
        };
        compiled.push((col, c));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let key = row.first().cloned().unwrap_or(Val::Null);
        let ctx = Value::from(
            names
                .iter()
                .skip(1)
                .zip(row.iter().skip(1))
                .map(|(n, v)| (n.clone(), to_value(v)))
                .collect::<std::collections::BTreeMap<String, Value>>(),
        );
        let mut obj = serde_json::Map::new();
        obj.insert(key_name.to_string(), key.to_json());
        for (col, c) in &compiled {
            let value = match c {
                Compiled::Expr(e) => match e.eval(&ctx) {
                    Ok(v) if v.is_undefined() => Err(minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        "the expression is undefined (a misspelt column name?)",
                    )),
                    other => other.map(|v| to_json(&v)),
                },
                Compiled::Template(t) => t.render(&ctx).map(serde_json::Value::String),
            }
            .map_err(|e| format!("`set.{col}` for the row with key {}: {e}", key.display()))?;
            obj.insert((*col).clone(), value);
        }
        out.push(serde_json::Value::Object(obj));
    }
    Ok(out)
}

/// The write-back statement of one batch (one bind: the JSON array).
pub fn write_back_sql(
    dialect: Dialect,
    table: &str,
    key: &str,
    key_name: &str,
    cols: &[String],
) -> String {
    let path = |c: &str| format!("'$.\"{}\"'", c.replace(['"', '\''], ""));
    let qc = |c: &str| sql::quote_ident(dialect, c).unwrap_or_else(|_| c.to_string());
    match dialect {
        Dialect::Postgres => {
            let set: Vec<String> = cols
                .iter()
                .map(|c| format!("{q} = v.{q}", q = qc(c)))
                .collect();
            format!(
                "UPDATE {table} SET {} FROM json_populate_recordset(NULL::{table}, CAST($1 AS json)) AS v WHERE {table}.{key} = v.{key}",
                set.join(", ")
            )
        }
        Dialect::Sqlite => {
            let set: Vec<String> = cols
                .iter()
                .map(|c| format!("{} = json_extract(v.value, {})", qc(c), path(c)))
                .collect();
            format!(
                "UPDATE {table} SET {} FROM json_each(?) AS v WHERE {table}.{key} = json_extract(v.value, {})",
                set.join(", "),
                path(key_name)
            )
        }
        Dialect::Mysql => {
            let mut defs = vec![format!("k LONGTEXT PATH {}", path(key_name))];
            let mut set = Vec::new();
            for (i, c) in cols.iter().enumerate() {
                defs.push(format!("c{i} LONGTEXT PATH {}", path(c)));
                set.push(format!("{table}.{} = v.c{i}", qc(c)));
            }
            format!(
                "UPDATE {table} JOIN JSON_TABLE(?, '$[*]' COLUMNS ({})) AS v ON {table}.{key} = v.k SET {}",
                defs.join(", "),
                set.join(", ")
            )
        }
    }
}

/// Fetches, transforms and writes back one batch (inside the batch's
/// transaction). `binds`: the range's bounds.
///
/// # Errors
/// Query and template errors, naming the step.
pub async fn run_batch(
    db: &mut Db,
    site: &Site,
    scan: &Scan,
    key: &str,
    table: &str,
    set: &[(String, String)],
    binds: &[Val],
) -> Result<(), Error> {
    let dialect = db.dialect();
    let fetch_sql = sql::transform_fetch(dialect, scan, key, binds.len() == 2);
    let q_err = |sql: &str, message: String| Error::Query {
        site: Box::new(site.clone()),
        sql: sql.to_string(),
        message,
    };
    let (names, rows) = fetch(db, &fetch_sql, binds)
        .await
        .map_err(|m| q_err(&fetch_sql, m))?;
    if rows.is_empty() {
        return Ok(());
    }
    let key_name = sql::unquote(key);
    let objects = evaluate(set, &names, &rows, &key_name).map_err(|problem| Error::Invalid {
        site: Box::new(site.clone()),
        problem,
    })?;
    let cols: Vec<String> = set.iter().map(|(c, _)| c.clone()).collect();
    let write = write_back_sql(dialect, table, key, &key_name, &cols);
    let payload = serde_json::Value::Array(objects).to_string();
    exec(db, &write, &[Val::Text(payload)])
        .await
        .map_err(|m| q_err(&write, m))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_and_templates() {
        let names = vec!["id".to_string(), "id".to_string(), "full_name".to_string()];
        let rows = vec![vec![
            Val::Int(1),
            Val::Int(1),
            Val::Text("Ada Lovelace".into()),
        ]];
        let set = vec![
            (
                "first".to_string(),
                "{{ full_name.split(' ')[0] }}".to_string(),
            ),
            (
                "greeting".to_string(),
                "Hi {{ full_name|upper }}!".to_string(),
            ),
            ("nothing".to_string(), "{{ none }}".to_string()),
        ];
        let out = evaluate(&set, &names, &rows, "id").unwrap();
        assert_eq!(
            out[0],
            serde_json::json!({"id": 1, "first": "Ada", "greeting": "Hi ADA LOVELACE!", "nothing": null})
        );
        assert!(check("{{ x.").is_err());
        let err =
            evaluate(&[("a".into(), "{{ missing }}".into())], &names, &rows, "id").unwrap_err();
        assert!(err.contains("key 1"), "{err}");
    }
}
