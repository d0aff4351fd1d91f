//! `transform`: row-level minijinja expressions computed in the process.
//!
//! A batch is fetched (`SELECT key, t.* … WHERE key range`), every `set`
//! template is evaluated over the row's columns, and the results are
//! written back in ONE statement per batch: the batch travels as one JSON
//! bind parameter and is joined back by key (`json_populate_recordset` on
//! PostgreSQL, `json_each` with `UPDATE … FROM` on SQLite, `JSON_TABLE` on
//! MySQL/MariaDB), never one statement per row over the network. SQLite is
//! the exception: it is in the process, so one prepared `UPDATE … WHERE key
//! = ?` re-run per row is cheaper than building and parsing a JSON payload
//! (see `sqlite_batch`).
//!
//! A value that is exactly `{{ expression }}` is evaluated as an
//! expression, so `none` writes NULL and numbers stay numbers; anything
//! else renders to a string. Python-style methods (`.split(' ')`,
//! `.upper()`, `.strip()`) work through minijinja-contrib's pycompat.

use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};

use super::exec::{fetch, Val};
use super::model::Scan;
use super::{sql, Error, Site};
use crate::dialect::Dialect;
use crate::store::Db;

/// The environment transforms are compiled in (strict undefined, Python
/// methods).
pub fn env() -> Environment<'static> {
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

/// A computed value, before it is bound or put in the JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// NULL (`none`).
    Null,
    /// A boolean (JSON `true`/`false`; SQLite stores 1/0, as `json_extract`
    /// did).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// Text (and anything else, as minijinja prints it).
    Text(String),
}

fn to_out(v: Value) -> Out {
    if v.is_none() || v.is_undefined() {
        return Out::Null;
    }
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Bool => Out::Bool(v.is_true()),
        ValueKind::Number => match i64::try_from(v.clone()) {
            Ok(i) => Out::Int(i),
            Err(_) => match f64::try_from(v.clone()) {
                Ok(f) if f.is_finite() => Out::Float(f),
                _ => Out::Text(v.to_string()),
            },
        },
        ValueKind::String => match v.as_str() {
            Some(s) => Out::Text(s.to_string()),
            None => Out::Text(v.to_string()),
        },
        _ => Out::Text(v.to_string()),
    }
}

impl Out {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Out::Null => serde_json::Value::Null,
            Out::Bool(b) => serde_json::Value::Bool(*b),
            Out::Int(i) => serde_json::json!(i),
            Out::Float(f) => serde_json::json!(f),
            Out::Text(s) => serde_json::Value::String(s.clone()),
        }
    }
}

/// The columns of a fetched row as the template context: a map from
/// column name to value, looked up by name (no per-row map is built).
#[derive(Debug)]
struct RowContext {
    /// Distinct column names (a later column of the same name wins, as
    /// when the row was collected into a map), with their row index.
    names: Arc<[(String, usize)]>,
    values: Vec<Value>,
}

impl minijinja::value::Object for RowContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let at = self
            .names
            .binary_search_by(|(n, _)| n.as_str().cmp(key))
            .ok()?;
        self.values.get(at).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        let names = self.names.clone();
        minijinja::value::Enumerator::Iter(Box::new(
            (0..names.len()).map(move |i| Value::from(names[i].0.as_str())),
        ))
    }
}

/// The context layout of rows with columns `names` (the first column, the
/// key, is not part of the context): distinct names in sorted order with
/// the index of the column each one reads.
fn layout(names: &[String]) -> Arc<[(String, usize)]> {
    let mut map = std::collections::BTreeMap::new();
    for (i, n) in names.iter().enumerate().skip(1) {
        map.insert(n.clone(), i);
    }
    map.into_iter().collect::<Vec<_>>().into()
}

/// A fetched row as the evaluator reads it (column 0 is the key).
pub trait Row {
    /// Column `i` when it is text.
    fn text(&self, i: usize) -> Option<&str>;
    /// Column `i` as a template value.
    fn value(&self, i: usize) -> Value;
    /// The key (for error messages).
    fn key(&self) -> Val;
}

impl Row for [Val] {
    fn text(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Some(Val::Text(s)) => Some(s),
            _ => None,
        }
    }
    fn value(&self, i: usize) -> Value {
        self.get(i).map_or(Value::from(()), to_value)
    }
    fn key(&self) -> Val {
        self.first().cloned().unwrap_or(Val::Null)
    }
}

#[cfg(feature = "sqlite")]
impl Row for [crate::store::raw::Cell<'_>] {
    fn text(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Some(crate::store::raw::Cell::Text(s)) => Some(s),
            _ => None,
        }
    }
    fn value(&self, i: usize) -> Value {
        use crate::store::raw::Cell;
        match self.get(i) {
            None | Some(Cell::Null) => Value::from(()),
            Some(Cell::Int(n)) => Value::from(*n),
            Some(Cell::Float(f)) => Value::from(*f),
            Some(Cell::Text(t)) => Value::from(t.as_ref()),
        }
    }
    fn key(&self) -> Val {
        self.first()
            .map_or(Val::Null, |c| super::exec::cell_val(c.clone()))
    }
}

/// A string filter evaluated natively on text values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Lower,
    Upper,
    Trim,
}

/// `{{ column|lower|trim|upper… }}` on a text value, computed without the
/// template engine: the same Rust calls minijinja's `lower`, `upper` and
/// `trim` (no arguments) make on a string. Anything else — another value
/// type, other filters, arguments — is evaluated by minijinja.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chain {
    /// Row column of the variable.
    column: usize,
    filters: Vec<Filter>,
}

impl Chain {
    fn parse(expr: &str, layout: &[(String, usize)]) -> Option<Chain> {
        let mut parts = expr.split('|').map(str::trim);
        let var = parts.next()?;
        let ident = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        const WORDS: &[&str] = &[
            "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
            "else", "loop", "self",
        ];
        if !ident || WORDS.contains(&var) {
            return None;
        }
        let at = layout.binary_search_by(|(n, _)| n.as_str().cmp(var)).ok()?;
        let filters = parts
            .map(|f| match f {
                "lower" => Some(Filter::Lower),
                "upper" => Some(Filter::Upper),
                "trim" => Some(Filter::Trim),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Chain {
            column: layout[at].1,
            filters,
        })
    }

    fn apply(&self, text: &str) -> String {
        let mut s: std::borrow::Cow<'_, str> = std::borrow::Cow::Borrowed(text);
        for f in &self.filters {
            s = match f {
                Filter::Lower => s.to_lowercase().into(),
                Filter::Upper => s.to_uppercase().into(),
                Filter::Trim => match s {
                    std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(b.trim()),
                    std::borrow::Cow::Owned(o) => o.trim().to_string().into(),
                },
            };
        }
        s.into_owned()
    }
}

/// The `set` templates of a transform compiled for rows of one shape.
pub struct Evaluator<'e> {
    compiled: Vec<(&'e str, Compiled<'e>, Option<Chain>)>,
    layout: Arc<[(String, usize)]>,
}

impl<'e> Evaluator<'e> {
    /// Compiles `set` in `env` for rows with columns `names` (column 0 is
    /// the key and not part of the context).
    ///
    /// # Errors
    /// A template that does not compile, naming its column.
    pub fn new(
        env: &'e Environment<'static>,
        set: &'e [(String, String)],
        names: &[String],
    ) -> Result<Evaluator<'e>, String> {
        let layout = layout(names);
        let mut compiled = Vec::with_capacity(set.len());
        for (col, template) in set {
            let (c, chain) = match expression_of(template) {
                Some(expr) => (
                    Compiled::Expr(
                        env.compile_expression(expr)
                            .map_err(|e| format!("`set.{col}`: {e}"))?,
                    ),
                    Chain::parse(expr, &layout),
                ),
                None => (
                    Compiled::Template(
                        env.template_from_str(template)
                            .map_err(|e| format!("`set.{col}`: {e}"))?,
                    ),
                    None,
                ),
            };
            compiled.push((col.as_str(), c, chain));
        }
        Ok(Evaluator { compiled, layout })
    }

    /// Evaluates every `set` template over one row.
    ///
    /// # Errors
    /// The template error, naming the column and the row's key.
    pub fn eval<R: Row + ?Sized>(&self, row: &R) -> Result<Vec<Out>, String> {
        let mut ctx: Option<Value> = None;
        let mut out = Vec::with_capacity(self.compiled.len());
        for (col, c, chain) in &self.compiled {
            if let Some(text) = chain.as_ref().and_then(|ch| row.text(ch.column)) {
                if let Some(ch) = chain {
                    out.push(Out::Text(ch.apply(text)));
                    continue;
                }
            }
            let ctx = ctx.get_or_insert_with(|| {
                Value::from_object(RowContext {
                    names: self.layout.clone(),
                    values: self.layout.iter().map(|(_, i)| row.value(*i)).collect(),
                })
            });
            let value = match c {
                Compiled::Expr(e) => match e.eval(ctx.clone()) {
                    Ok(v) if v.is_undefined() => Err(minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        "the expression is undefined (a misspelt column name?)",
                    )),
                    other => other.map(to_out),
                },
                Compiled::Template(t) => t.render(&*ctx).map(Out::Text),
            }
            .map_err(|e| {
                format!(
                    "`set.{col}` for the row with key {}: {e}",
                    row.key().display()
                )
            })?;
            out.push(value);
        }
        Ok(out)
    }
}

/// Evaluates `set` over rows (column names → values; column 0 is the key):
/// per row, the value of each `set` column in order. The templates are
/// compiled once per call.
///
/// # Errors
/// The template error, naming the column and the row's key.
pub fn evaluate_rows(
    set: &[(String, String)],
    names: &[String],
    rows: &[Vec<Val>],
) -> Result<Vec<Vec<Out>>, String> {
    let env = env();
    let ev = Evaluator::new(&env, set, names)?;
    rows.iter().map(|row| ev.eval(row.as_slice())).collect()
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
    let values = evaluate_rows(set, names, rows)?;
    Ok(rows
        .iter()
        .zip(values)
        .map(|(row, values)| {
            let mut obj = serde_json::Map::new();
            obj.insert(
                key_name.to_string(),
                row.first().map_or(serde_json::Value::Null, Val::to_json),
            );
            for ((col, _), v) in set.iter().zip(values) {
                obj.insert(col.clone(), v.to_json());
            }
            serde_json::Value::Object(obj)
        })
        .collect())
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

/// Fetches and transforms one batch (inside the batch's transaction);
/// returns the write-back statement and its one bind (the JSON payload),
/// `None` when the range holds no rows. `binds`: the range's bounds.
///
/// # Errors
/// Query and template errors, naming the step.
pub async fn prepare_batch(
    db: &mut Db,
    site: &Site,
    scan: &Scan,
    key: &str,
    table: &str,
    set: &[(String, String)],
    binds: &[Val],
) -> Result<Option<(String, Val)>, Error> {
    let dialect = db.dialect();
    let fetch_sql = sql::transform_fetch(dialect, scan, key, binds.len() == 2);
    let (names, rows) = fetch(db, &fetch_sql, binds)
        .await
        .map_err(|message| Error::Query {
            site: Box::new(site.clone()),
            sql: fetch_sql.clone(),
            message,
        })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let key_name = sql::unquote(key);
    let invalid = |problem: String| Error::Invalid {
        site: Box::new(site.clone()),
        problem,
    };
    let env = env();
    let ev = Evaluator::new(&env, set, &names).map_err(invalid)?;
    let payload = payload(&ev, set, &rows, &key_name).map_err(invalid)?;
    let cols: Vec<String> = set.iter().map(|(c, _)| c.clone()).collect();
    let write = write_back_sql(dialect, table, key, &key_name, &cols);
    Ok(Some((write, Val::Text(payload))))
}

/// The JSON payload of a batch: one object per row with the key under
/// `key_name` and each `set` column, written directly (no JSON tree per
/// row).
///
/// # Errors
/// The template error, naming the column and the row's key.
fn payload(
    ev: &Evaluator<'_>,
    set: &[(String, String)],
    rows: &[Vec<Val>],
    key_name: &str,
) -> Result<String, String> {
    let mut payload: Vec<u8> = Vec::with_capacity(rows.len() * 64);
    let json_err = |e: serde_json::Error| format!("building the batch payload: {e}");
    payload.push(b'[');
    let key_is_set = set.iter().any(|(c, _)| c == key_name);
    for (n, row) in rows.iter().enumerate() {
        let values = ev.eval(row.as_slice())?;
        if n > 0 {
            payload.push(b',');
        }
        payload.push(b'{');
        let mut first = true;
        if !key_is_set {
            serde_json::to_writer(&mut payload, key_name).map_err(json_err)?;
            payload.push(b':');
            let k = row.first().map_or(serde_json::Value::Null, Val::to_json);
            serde_json::to_writer(&mut payload, &k).map_err(json_err)?;
            first = false;
        }
        for ((col, _), v) in set.iter().zip(&values) {
            if !first {
                payload.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut payload, col).map_err(json_err)?;
            payload.push(b':');
            match v {
                Out::Text(t) => serde_json::to_writer(&mut payload, t),
                other => serde_json::to_writer(&mut payload, &other.to_json()),
            }
            .map_err(json_err)?;
        }
        payload.push(b'}');
    }
    payload.push(b']');
    String::from_utf8(payload).map_err(|e| format!("building the batch payload: {e}"))
}

/// `UPDATE table SET c1 = ?1, … WHERE key = ?n` (SQLite, one row).
#[cfg(feature = "sqlite")]
fn row_update_sql(table: &str, key: &str, cols: &[String]) -> String {
    let set: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let q = sql::quote_ident(Dialect::Sqlite, c).unwrap_or_else(|_| c.clone());
            format!("{q} = ?{}", i + 1)
        })
        .collect();
    format!(
        "UPDATE {table} SET {} WHERE {key} = ?{}",
        set.join(", "),
        cols.len() + 1
    )
}

/// Fetches, transforms and writes back one batch on SQLite, on the locked
/// handle inside the batch's transaction: the rows are read with one
/// prepared statement and written back by one prepared `UPDATE … WHERE key
/// = ?` re-run per row. No round trips to save there (SQLite is in the
/// process), and binding the values directly skips building a JSON
/// payload that SQLite would parse again.
///
/// # Errors
/// Query and template errors, naming the step.
#[cfg(feature = "sqlite")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sqlite_batch(
    conn: &crate::store::raw::Conn<'_>,
    site: &Site,
    scan: &Scan,
    key: &str,
    table: &str,
    set: &[(String, String)],
    binds: &[Val],
) -> Result<(), Error> {
    use super::exec::{bind_of, cell_val};
    let q_err = |sql: &str, e: sqlx::Error| Error::Query {
        site: Box::new(site.clone()),
        sql: sql.to_string(),
        message: crate::store::db_message(&e),
    };
    let fetch_sql = sql::transform_fetch(Dialect::Sqlite, scan, key, binds.len() == 2);
    let mut fetch = conn.prepare(&fetch_sql).map_err(|e| q_err(&fetch_sql, e))?;
    let values: Vec<_> = binds.iter().map(bind_of).collect();
    fetch.bind_all(&values).map_err(|e| q_err(&fetch_sql, e))?;
    let width = fetch.column_count();
    let names: Vec<String> = (0..width).map(|i| fetch.column_name(i)).collect();
    let env = env();
    let ev = Evaluator::new(&env, set, &names).map_err(|problem| Error::Invalid {
        site: Box::new(site.clone()),
        problem,
    })?;
    // Each row is evaluated as it is read; only keys and results are kept
    // until the write-back (SQLite leaves it undefined whether a scan sees
    // rows updated while it runs, so the writes wait for the end).
    let mut results = Vec::new();
    while fetch.step().map_err(|e| q_err(&fetch_sql, e))? {
        let cells: Vec<_> = (0..width).map(|i| fetch.column(i)).collect();
        let out = ev
            .eval(cells.as_slice())
            .map_err(|problem| Error::Invalid {
                site: Box::new(site.clone()),
                problem,
            })?;
        let key = cells.into_iter().next().map_or(Val::Null, cell_val);
        results.push((key, out));
    }
    drop(fetch);
    if results.is_empty() {
        return Ok(());
    }
    let cols: Vec<String> = set.iter().map(|(c, _)| c.clone()).collect();
    let write = row_update_sql(table, key, &cols);
    let mut update = conn.prepare(&write).map_err(|e| q_err(&write, e))?;
    for (k, values) in &results {
        for (i, v) in values.iter().enumerate() {
            let b = match v {
                Out::Null => crate::store::raw::Bind::Null,
                Out::Bool(b) => crate::store::raw::Bind::Int(i64::from(*b)),
                Out::Int(n) => crate::store::raw::Bind::Int(*n),
                Out::Float(f) => crate::store::raw::Bind::Float(*f),
                Out::Text(t) => crate::store::raw::Bind::Text(t),
            };
            update.bind(i + 1, b).map_err(|e| q_err(&write, e))?;
        }
        update
            .bind(values.len() + 1, bind_of(k))
            .map_err(|e| q_err(&write, e))?;
        update.step().map_err(|e| q_err(&write, e))?;
        update.reset();
    }
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
    /// The native filter chains give exactly what minijinja gives, and
    /// anything they do not cover goes through minijinja.
    #[test]
    fn filter_chains_match_minijinja() {
        let names = vec![
            "id".to_string(),
            "id".to_string(),
            "email".to_string(),
            "n".to_string(),
        ];
        let texts = [
            "  User1@Example.COM ",
            "\u{2003}ÀÉÎ straße\u{a0}",
            "",
            "   ",
            "ǅ İ ß ﬃ",
            "tab\tand\nnewline\r\n",
        ];
        let templates = [
            "{{ email|trim|lower }}",
            "{{ email | upper | trim }}",
            "{{ email }}",
            "{{ email|lower|lower|trim|upper }}",
            "{{ n|lower }}",
            "{{ email|trim(' ') }}",
            "{{ missing|lower }}",
        ];
        let env = env();
        for t in templates {
            let set = vec![("out".to_string(), t.to_string())];
            let ev = Evaluator::new(&env, &set, &names).unwrap();
            let expr = env.compile_expression(expression_of(t).unwrap()).unwrap();
            for text in texts {
                for n in [Val::Int(7), Val::Null, Val::Text("MiXed ".into())] {
                    let row = vec![Val::Int(1), Val::Int(1), Val::Text(text.into()), n];
                    let fast = ev.eval(row.as_slice());
                    let ctx = Value::from(
                        [
                            ("id", Value::from(1)),
                            ("email", Value::from(text)),
                            ("n", to_value(&row[3])),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<std::collections::BTreeMap<String, Value>>(),
                    );
                    let slow = match expr.eval(&ctx) {
                        Ok(v) if v.is_undefined() => None,
                        Ok(v) => Some(to_out(v)),
                        Err(_) => None,
                    };
                    assert_eq!(fast.ok(), slow.map(|v| vec![v]), "{t} over {text:?}");
                }
            }
        }
        let layout = layout(&names);
        assert!(Chain::parse("email|trim|lower", &layout).is_some());
        assert!(Chain::parse("none|lower", &layout).is_none());
        assert!(Chain::parse("email|title", &layout).is_none());
        assert!(Chain::parse("email.strip()", &layout).is_none());
        assert!(Chain::parse("nope|lower", &layout).is_none());
    }

    /// The directly written payload is the JSON the tree would give.
    #[test]
    fn payload_is_the_json_of_the_rows() {
        let names = vec!["id".to_string(), "id".to_string(), "name".to_string()];
        let rows = vec![
            vec![Val::Int(1), Val::Int(1), Val::Text("a \"q\" \\ é\n".into())],
            vec![Val::Int(2), Val::Int(2), Val::Null],
        ];
        let set = vec![
            ("name".to_string(), "{{ name|upper }}".to_string()),
            ("len".to_string(), "{{ (name or '')|length }}".to_string()),
            ("flag".to_string(), "{{ name is none }}".to_string()),
        ];
        let tree = serde_json::Value::Array(evaluate(&set, &names, &rows, "id").unwrap());
        let env = env();
        let ev = Evaluator::new(&env, &set, &names).unwrap();
        let direct: serde_json::Value =
            serde_json::from_str(&payload(&ev, &set, &rows, "id").unwrap()).unwrap();
        assert_eq!(tree, direct);
    }
}
