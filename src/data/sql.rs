//! SQL text of the data lane, per dialect. Pure.
//!
//! Identifiers from revision files are quoted (and must be plain
//! identifiers, optionally dotted); expressions, `where` and `from` are
//! the user's SQL and pasted as written (the runner wraps them in
//! `AssertSqlSafe`); key values and fixture data are always bind
//! parameters. The only literals rendered here come from revision files
//! (`rename_values` mappings, `separator`, `populate_field.value`) and are
//! escaped for the dialect.

use super::model::{BatchAction, Scan};
use crate::dialect::Dialect;

/// Quotes `name` (`a` or `schema.table` / `alias.column`) for `dialect`.
///
/// # Errors
/// A message when a part is not a plain identifier.
pub fn quote_ident(dialect: Dialect, name: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in name.split('.') {
        let ok = !part.is_empty()
            && part
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(format!(
                "`{name}` is not an identifier: use letters, digits and _ (optionally `schema.table`)"
            ));
        }
        parts.push(match dialect {
            Dialect::Sqlite | Dialect::Postgres => format!("\"{part}\""),
            Dialect::Mysql => format!("`{part}`"),
        });
    }
    Ok(parts.join("."))
}

/// A string literal from a revision file, escaped for `dialect`.
pub fn literal(dialect: Dialect, text: &str) -> String {
    let escaped = text.replace('\'', "''");
    match dialect {
        Dialect::Mysql => format!("'{}'", escaped.replace('\\', "\\\\")),
        Dialect::Sqlite | Dialect::Postgres => format!("'{escaped}'"),
    }
}

/// Bind-parameter markers: `?` (SQLite, MySQL) or `$n` (PostgreSQL).
#[derive(Debug)]
pub struct Params {
    dialect: Dialect,
    count: usize,
}

impl Params {
    /// Numbering from 1.
    pub fn new(dialect: Dialect) -> Params {
        Params { dialect, count: 0 }
    }

    /// The next marker.
    pub fn marker(&mut self) -> String {
        self.count += 1;
        match self.dialect {
            Dialect::Postgres => format!("${}", self.count),
            Dialect::Sqlite | Dialect::Mysql => "?".to_string(),
        }
    }
}

/// `CONCAT_WS(sep, a, b, …)`: the parts joined by `sep`, NULL parts
/// skipped. SQLite has `concat_ws` only from 3.44, older than many
/// `sqlite3` shells a `--sql` script is piped into, so there each part
/// is `COALESCE(sep || part, '')` and the leading separator is cut off.
pub fn concat_ws(dialect: Dialect, sep: &str, parts: &[String]) -> String {
    match dialect {
        Dialect::Sqlite => {
            let joined: Vec<String> = parts
                .iter()
                .map(|p| format!("COALESCE({sep} || {p}, '')"))
                .collect();
            format!("substr({}, length({sep}) + 1)", joined.join(" || "))
        }
        Dialect::Postgres | Dialect::Mysql => {
            format!("CONCAT_WS({sep}, {})", parts.join(", "))
        }
    }
}

/// The part of `col` before the first `sep`, and the rest after it (NULL
/// when there is no separator).
pub fn split_first(dialect: Dialect, col: &str, sep: &str) -> (String, String) {
    let (pos, len) = match dialect {
        Dialect::Sqlite => (format!("instr({col}, {sep})"), format!("length({sep})")),
        Dialect::Postgres => (format!("strpos({col}, {sep})"), format!("length({sep})")),
        Dialect::Mysql => (
            format!("LOCATE({sep}, {col})"),
            format!("CHAR_LENGTH({sep})"),
        ),
    };
    (
        format!("CASE WHEN {pos} > 0 THEN substr({col}, 1, {pos} - 1) ELSE {col} END"),
        format!("CASE WHEN {pos} > 0 THEN substr({col}, {pos} + {len}) ELSE NULL END"),
    )
}

/// The greatest signed 64-bit integer, as digits.
const I64_MAX: &str = "9223372036854775807";
/// The magnitude of the least signed 64-bit integer, as digits.
const I64_MIN_ABS: &str = "9223372036854775808";

/// How many integer digits (leading zeros not counted) a `float` may
/// have: below 1e308 every decimal number converts to a finite double on
/// every backend; from 1e308 on it gets the default (a double ends at
/// about 1.8e308, and PostgreSQL refuses what overflows it where SQLite
/// gives infinity). Symmetrically, a number with this many zeros or more
/// after the decimal point before its first significant digit (below
/// 1e-308, about where the normal doubles end) becomes 0, where
/// PostgreSQL would refuse what rounds to zero.
const FLOAT_DIGITS: usize = 308;

/// The functions the checks of [`convert`] are made of, per dialect.
struct Text(Dialect);

impl Text {
    /// `s` without the leading characters of `chars` (`'-0'`: the sign
    /// and the leading zeros of a valid number).
    fn ltrim(&self, s: &str, chars: &str) -> String {
        match self.0 {
            Dialect::Sqlite | Dialect::Postgres => format!("ltrim({s}, '{chars}')"),
            // TRIM removes a string, not a set: one character at a time,
            // in the order given (a valid number's sign comes first).
            Dialect::Mysql => chars.chars().fold(s.to_string(), |acc, c| {
                format!("TRIM(LEADING '{c}' FROM {acc})")
            }),
        }
    }

    /// The length of `s` in characters.
    fn len(&self, s: &str) -> String {
        match self.0 {
            Dialect::Sqlite | Dialect::Postgres => format!("length({s})"),
            Dialect::Mysql => format!("CHAR_LENGTH({s})"),
        }
    }

    /// `a <= b` for two strings of digits of the same length (byte
    /// order: PostgreSQL's default collation may be a locale's).
    fn le(&self, a: &str, b: &str) -> String {
        match self.0 {
            Dialect::Postgres => format!("{a} COLLATE \"C\" <= {b}"),
            Dialect::Sqlite | Dialect::Mysql => format!("{a} <= {b}"),
        }
    }

    /// 1-based position of the first `.` in `s` (0: none).
    fn dot(&self, s: &str) -> String {
        match self.0 {
            Dialect::Sqlite => format!("instr({s}, '.')"),
            Dialect::Postgres => format!("strpos({s}, '.')"),
            Dialect::Mysql => format!("LOCATE('.', {s})"),
        }
    }

    /// Whether `t` (trimmed, not NULL) is `-?[0-9]+`, or with `fraction`
    /// `-?[0-9]+([.][0-9]+)?`.
    fn is_number(&self, t: &str, fraction: bool) -> String {
        let re = if fraction {
            "'^-?[0-9]+([.][0-9]+)?$'"
        } else {
            "'^-?[0-9]+$'"
        };
        match self.0 {
            Dialect::Postgres => format!("{t} ~ {re}"),
            Dialect::Mysql => format!("{t} REGEXP {re}"),
            // No regular expressions in SQLite's core: GLOB on the part
            // after the sign, which starts with a digit, holds only
            // digits (and with a fraction: dots, at most one, not last).
            Dialect::Sqlite => {
                let d = format!("substr({t}, 1 + ({t} GLOB '-*'))");
                if fraction {
                    format!("{d} GLOB '[0-9]*' AND {d} NOT GLOB '*[^0-9.]*' AND {d} NOT GLOB '*.*.*' AND {d} NOT GLOB '*.'")
                } else {
                    format!("{d} GLOB '[0-9]*' AND {d} NOT GLOB '*[^0-9]*'")
                }
            }
        }
    }
}

/// `col` converted to `ty` (`integer`, `float`, `text`), `default` where
/// the value does not convert — the same values on every dialect:
///
/// - `integer`: after trimming spaces, an optional `-` and digits
///   (leading zeros allowed) within the signed 64-bit range; anything
///   else (a fraction, an exponent, a `+`, out of range) gets `default`.
///   The range is checked on the digits as text, before the cast, so
///   PostgreSQL and MySQL never raise an out-of-range error and SQLite
///   never saturates.
/// - `float`: an optional `-`, digits and an optional fraction (`1.5`,
///   not `.5`, `5.` or `1e5`) with at most 308 integer digits (leading
///   zeros not counted; more would overflow a double or come near its
///   end); a magnitude below 1e-308 becomes 0.
/// - `text`: a plain cast.
///
/// NULL and the empty string get `default` too. A value that converts
/// but does not fit a narrower target column (`int`, `real`) is the
/// database's error, raised by the step.
///
/// # Errors
/// An unknown type.
pub fn convert(dialect: Dialect, col: &str, ty: &str, default: &str) -> Result<String, String> {
    let t = match dialect {
        Dialect::Sqlite => format!("trim({col})"),
        Dialect::Postgres => format!("trim(CAST({col} AS text))"),
        Dialect::Mysql => format!("TRIM({col})"),
    };
    let x = Text(dialect);
    Ok(match ty {
        "text" | "string" => match dialect {
            Dialect::Mysql => format!("CAST({col} AS CHAR)"),
            Dialect::Sqlite | Dialect::Postgres => format!("CAST({col} AS TEXT)"),
        },
        "integer" => {
            let cast = match dialect {
                Dialect::Sqlite => format!("CAST({t} AS INTEGER)"),
                Dialect::Postgres => format!("CAST({t} AS bigint)"),
                Dialect::Mysql => format!("CAST({t} AS SIGNED)"),
            };
            // The digits without sign and leading zeros: fewer than 19,
            // or 19 up to the limit (one more for a negative number).
            let digits = x.ltrim(&t, "-0");
            let len = x.len(&digits);
            format!(
                "CASE WHEN {} AND ({len} < 19 OR ({len} = 19 AND {}) OR (substr({t}, 1, 1) = '-' AND {digits} = '{I64_MIN_ABS}')) THEN {cast} ELSE {default} END",
                x.is_number(&t, false),
                x.le(&digits, &format!("'{I64_MAX}'")),
            )
        }
        "float" => {
            let cast = match dialect {
                Dialect::Sqlite => format!("CAST({t} AS REAL)"),
                Dialect::Postgres => format!("CAST({t} AS double precision)"),
                Dialect::Mysql => format!("CAST({t} AS DOUBLE)"),
            };
            let int_part = match dialect {
                Dialect::Sqlite => format!("substr({t}, 1, instr({t} || '.', '.') - 1)"),
                Dialect::Postgres => format!("split_part({t}, '.', 1)"),
                Dialect::Mysql => format!("SUBSTRING_INDEX({t}, '.', 1)"),
            };
            let int_digits = x.ltrim(&int_part, "-0");
            // After the dot (the whole value when there is none: then it
            // is zero whenever the integer digits are empty).
            let fraction = format!("substr({t}, {} + 1)", x.dot(&t));
            let zeros = format!("{} - {}", x.len(&fraction), x.len(&x.ltrim(&fraction, "0")));
            format!(
                "CASE WHEN {} AND {} <= {FLOAT_DIGITS} THEN CASE WHEN {int_digits} = '' AND {zeros} >= {FLOAT_DIGITS} THEN 0.0 ELSE {cast} END ELSE {default} END",
                x.is_number(&t, true),
                x.len(&int_digits),
            )
        }
        other => {
            return Err(format!(
                "`type = \"{other}\"`: expected integer, float or text"
            ))
        }
    })
}

/// `a IS NOT DISTINCT FROM b`, per dialect.
fn null_safe_eq(dialect: Dialect, a: &str, b: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("{a} IS {b}"),
        Dialect::Postgres => format!("{a} IS NOT DISTINCT FROM {b}"),
        Dialect::Mysql => format!("{a} <=> {b}"),
    }
}

/// The key condition of a batch: `key > ? AND key <= ?` (without the
/// lower bound for the first batch).
fn range(key: &str, has_lo: bool, p: &mut Params) -> String {
    if has_lo {
        let lo = p.marker();
        format!("{key} > {lo} AND {key} <= {}", p.marker())
    } else {
        format!("{key} <= {}", p.marker())
    }
}

fn with_filter(cond: String, filter: Option<&str>) -> String {
    match filter {
        Some(f) => format!("{cond} AND ({f})"),
        None => cond,
    }
}

/// ` WHERE key > ? [AND (filter)]` (no lower bound unless `has_lo`).
fn after_lo(dialect: Dialect, scan: &Scan, key: &str, has_lo: bool) -> String {
    let mut p = Params::new(dialect);
    let lo = has_lo.then(|| format!("{key} > {}", p.marker()));
    match (lo, scan.filter.as_deref()) {
        (Some(lo), Some(f)) => format!(" WHERE {lo} AND ({f})"),
        (Some(lo), None) => format!(" WHERE {lo}"),
        (None, Some(f)) => format!(" WHERE ({f})"),
        (None, None) => String::new(),
    }
}

/// The batch boundary: one row, the key of the `n`-th row after the last
/// key and `n` — or NULL when fewer rows are left (then [`boundary_tail`]
/// gives the rest). The batch itself is the keyset range `key > last AND
/// key <= boundary`; the `OFFSET` here only finds its end, stepping over
/// `n` index entries from the last key (an index range scan like `LIMIT
/// n`, not OFFSET pagination from the table's start), and costs a fifth
/// of `MAX/COUNT` over a `LIMIT n` subquery on SQLite. One bind (the last
/// key) unless `has_lo` is false.
pub fn boundary(dialect: Dialect, scan: &Scan, key: &str, has_lo: bool, n: u64) -> String {
    let cond = after_lo(dialect, scan, key, has_lo);
    format!(
        "SELECT (SELECT {key} FROM {}{cond} ORDER BY {key} LIMIT 1 OFFSET {}) AS hi, {n} AS n",
        scan.from,
        n.saturating_sub(1)
    )
}

/// The last batch's boundary: the greatest key after the last one and how
/// many rows that is (`MAX, COUNT(*)`; fewer than a batch). Binds as
/// [`boundary`].
pub fn boundary_tail(dialect: Dialect, scan: &Scan, key: &str, has_lo: bool) -> String {
    let cond = after_lo(dialect, scan, key, has_lo);
    format!("SELECT MAX({key}), COUNT(*) FROM {}{cond}", scan.from)
}

/// The rows the step would touch from the last key on (`COUNT(*)`).
pub fn count(dialect: Dialect, scan: &Scan, key: &str, has_lo: bool) -> String {
    let cond = after_lo(dialect, scan, key, has_lo);
    format!("SELECT COUNT(*) FROM {}{cond}", scan.from)
}

/// The statement of one batch of an `update`, `copy_rows` or `dedup`
/// (binds: the last key unless `has_lo` is false, then the batch's last
/// key). `None` for a transform (which fetches and writes back).
pub fn batch(
    dialect: Dialect,
    scan: &Scan,
    key: &str,
    action: &BatchAction,
    has_lo: bool,
) -> Option<String> {
    let mut p = Params::new(dialect);
    let cond = with_filter(range(key, has_lo, &mut p), scan.filter.as_deref());
    statement(dialect, scan, key, action, Some(&cond))
}

/// The single bulk statement (`--sql`): the same as one batch over every
/// row.
pub fn bulk(dialect: Dialect, scan: &Scan, key: &str, action: &BatchAction) -> Option<String> {
    let cond = scan.filter.as_deref().map(|f| format!("({f})"));
    statement(dialect, scan, key, action, cond.as_deref())
}

fn statement(
    dialect: Dialect,
    scan: &Scan,
    key: &str,
    action: &BatchAction,
    cond: Option<&str>,
) -> Option<String> {
    let where_ = cond.map_or_else(String::new, |c| format!(" WHERE {c}"));
    Some(match action {
        BatchAction::Update { table, set } => {
            let set: Vec<String> = set.iter().map(|(c, e)| format!("{c} = {e}")).collect();
            format!("UPDATE {table} SET {}{where_}", set.join(", "))
        }
        BatchAction::Insert {
            target,
            columns,
            exprs,
        } => format!(
            "INSERT INTO {target} ({}) SELECT {} FROM {}{where_}",
            columns.join(", "),
            exprs.join(", "),
            scan.from
        ),
        BatchAction::Dedup { table, .. } => format!(
            "DELETE FROM {table} WHERE {key} IN (SELECT k FROM ({}) AS dup)",
            dedup_victims(dialect, action, key, cond)?
        ),
        BatchAction::Transform { .. } => return None,
    })
}

/// `SELECT d1.key AS k FROM table AS d1 WHERE [cond AND] EXISTS (a
/// duplicate kept over it)`: the rows a `dedup` deletes (`None` for other
/// actions).
fn dedup_victims(
    dialect: Dialect,
    action: &BatchAction,
    key: &str,
    cond: Option<&str>,
) -> Option<String> {
    let BatchAction::Dedup {
        table,
        by,
        keep_first,
        order,
    } = action
    else {
        return None;
    };
    let same: Vec<String> = by
        .iter()
        .map(|c| null_safe_eq(dialect, &format!("d2.{c}"), &format!("d1.{c}")))
        .collect();
    let cmp = if *keep_first { "<" } else { ">" };
    // d2 is kept over d1: it comes before d1 (keep first) or after it
    // (keep last) by `order`, a value beating NULL, then by key.
    let by_key = format!("d2.{key} {cmp} d1.{key}");
    let precedes = match order {
        None => by_key,
        Some(o) => {
            let (d1, d2) = (format!("d1.{o}"), format!("d2.{o}"));
            // A NULL `order` never wins over a value.
            let nulls = format!("{d2} IS NOT NULL AND {d1} IS NULL");
            format!(
                "({d2} {cmp} {d1} OR ({nulls}) OR ({} AND {by_key}))",
                null_safe_eq(dialect, &d2, &d1)
            )
        }
    };
    let exists = format!(
        "EXISTS (SELECT 1 FROM {table} AS d2 WHERE {} AND {precedes})",
        same.join(" AND ")
    );
    // `cond` (the key range and the user's filter) stands at d1's level,
    // where its unqualified names resolve to d1: no rewriting needed.
    let conds: Vec<&str> = cond.into_iter().chain([exists.as_str()]).collect();
    Some(format!(
        "SELECT d1.{key} AS k FROM {table} AS d1 WHERE {}",
        conds.join(" AND ")
    ))
}

/// What `--dry-run` counts for a batched step from the last key on (one
/// bind unless `has_lo` is false): the rows it walks, or for a `dedup`
/// the rows it would delete.
pub fn dry_count(
    dialect: Dialect,
    scan: &Scan,
    key: &str,
    action: &BatchAction,
    has_lo: bool,
) -> String {
    if matches!(action, BatchAction::Dedup { .. }) {
        let cond = after_lo(dialect, scan, key, has_lo);
        let cond = cond.strip_prefix(" WHERE ");
        if let Some(victims) = dedup_victims(dialect, action, key, cond) {
            return format!("SELECT COUNT(*) FROM ({victims}) AS dup");
        }
    }
    count(dialect, scan, key, has_lo)
}

/// The query that fetches a transform batch: key first, then every column.
pub fn transform_fetch(dialect: Dialect, scan: &Scan, key: &str, has_lo: bool) -> String {
    let mut p = Params::new(dialect);
    let cond = with_filter(range(key, has_lo, &mut p), scan.filter.as_deref());
    format!(
        "SELECT {key}, {}.* FROM {} WHERE {cond} ORDER BY {key}",
        scan.from, scan.from
    )
}

/// The primary-key lookup: one bind (the table name as written); returns
/// the key columns in order.
pub fn primary_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
        Dialect::Postgres => "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST($1 AS regclass) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        Dialect::Mysql => "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
    }
}

/// Removes identifier quotes (`"a"."b"` → `a.b`).
pub fn unquote(name: &str) -> String {
    name.replace(['"', '`'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan() -> Scan {
        Scan {
            from: "\"users\"".into(),
            table: Some("\"users\"".into()),
            key: Some("\"id\"".into()),
            filter: Some("email IS NOT NULL".into()),
        }
    }

    #[test]
    fn concat_ws_without_the_function_on_sqlite() {
        let parts = ["a".to_string(), "b".to_string()];
        assert_eq!(
            concat_ws(Dialect::Sqlite, "' '", &parts),
            "substr(COALESCE(' ' || a, '') || COALESCE(' ' || b, ''), length(' ') + 1)"
        );
        assert_eq!(
            concat_ws(Dialect::Postgres, "' '", &parts),
            "CONCAT_WS(' ', a, b)"
        );
    }

    #[test]
    fn dedup_statements() {
        let dedup = |order: Option<&str>, keep_first| BatchAction::Dedup {
            table: "\"p\"".into(),
            by: vec!["\"email\"".into()],
            keep_first,
            order: order.map(Into::into),
        };
        let plain = Scan {
            from: "\"p\"".into(),
            table: Some("\"p\"".into()),
            key: None,
            filter: None,
        };
        // The bulk statement of --sql: one WHERE, no placeholder.
        assert_eq!(
            bulk(Dialect::Sqlite, &plain, "\"id\"", &dedup(None, true)).unwrap(),
            "DELETE FROM \"p\" WHERE \"id\" IN (SELECT k FROM (SELECT d1.\"id\" AS k FROM \"p\" AS d1 WHERE EXISTS (SELECT 1 FROM \"p\" AS d2 WHERE d2.\"email\" IS d1.\"email\" AND d2.\"id\" < d1.\"id\")) AS dup)"
        );
        assert_eq!(
            batch(Dialect::Postgres, &plain, "\"id\"", &dedup(Some("\"seen\""), false), true).unwrap(),
            "DELETE FROM \"p\" WHERE \"id\" IN (SELECT k FROM (SELECT d1.\"id\" AS k FROM \"p\" AS d1 WHERE \"id\" > $1 AND \"id\" <= $2 AND EXISTS (SELECT 1 FROM \"p\" AS d2 WHERE d2.\"email\" IS NOT DISTINCT FROM d1.\"email\" AND (d2.\"seen\" > d1.\"seen\" OR (d2.\"seen\" IS NOT NULL AND d1.\"seen\" IS NULL) OR (d2.\"seen\" IS NOT DISTINCT FROM d1.\"seen\" AND d2.\"id\" > d1.\"id\")))) AS dup)"
        );
        let update = BatchAction::Update {
            table: "\"p\"".into(),
            set: vec![("\"x\"".into(), "1".into())],
        };
        assert_eq!(
            bulk(Dialect::Mysql, &plain, "`id`", &update).unwrap(),
            "UPDATE \"p\" SET \"x\" = 1"
        );
        assert_eq!(
            bulk(Dialect::Mysql, &scan(), "`id`", &update).unwrap(),
            "UPDATE \"p\" SET \"x\" = 1 WHERE (email IS NOT NULL)"
        );
    }

    #[test]
    fn batches_are_keyset_ranges() {
        let update = BatchAction::Update {
            table: "\"users\"".into(),
            set: vec![("\"email\"".into(), "lower(email)".into())],
        };
        assert_eq!(
            batch(Dialect::Postgres, &scan(), "\"id\"", &update, true).unwrap(),
            "UPDATE \"users\" SET \"email\" = lower(email) WHERE \"id\" > $1 AND \"id\" <= $2 AND (email IS NOT NULL)"
        );
        assert_eq!(
            batch(Dialect::Sqlite, &scan(), "\"id\"", &update, false).unwrap(),
            "UPDATE \"users\" SET \"email\" = lower(email) WHERE \"id\" <= ? AND (email IS NOT NULL)"
        );
        // The end of a batch: the 100th key after the last one (an index
        // range scan from the last key), or NULL near the end, where the
        // tail query gives the rest.
        assert_eq!(
            boundary(Dialect::Mysql, &scan(), "`id`", true, 100),
            "SELECT (SELECT `id` FROM \"users\" WHERE `id` > ? AND (email IS NOT NULL) ORDER BY `id` LIMIT 1 OFFSET 99) AS hi, 100 AS n"
        );
        assert_eq!(
            boundary_tail(Dialect::Postgres, &scan(), "\"id\"", false),
            "SELECT MAX(\"id\"), COUNT(*) FROM \"users\" WHERE (email IS NOT NULL)"
        );
    }

    /// Pins `convert_type`'s expressions per dialect in
    /// `tests/snapshots/data/convert_type.<d>.sql` (a mismatch writes
    /// `<file>.new` for review; the integration test `convert_type_edges`
    /// runs them).
    #[test]
    fn convert_sql_is_pinned_per_dialect() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/data");
        let mut failed = vec![];
        for d in Dialect::ALL {
            let col = quote_ident(d, "age_text").unwrap();
            let mut actual = String::new();
            for (ty, default) in [("integer", "-1"), ("float", "NULL"), ("text", "NULL")] {
                let expr = convert(d, &col, ty, default).unwrap();
                actual.push_str(&format!(
                    "-- type = \"{ty}\", default = {default}\nSELECT {expr};\n"
                ));
            }
            let path = dir.join(format!("convert_type.{}.sql", d.name()));
            let expected = std::fs::read_to_string(&path).unwrap_or_default();
            if actual != expected {
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(path.with_extension("sql.new"), &actual);
                failed.push(d.name());
            }
        }
        assert!(
            failed.is_empty(),
            "convert_type SQL changed for {failed:?}: review the .new files"
        );
        assert!(convert(Dialect::Sqlite, "c", "date", "NULL")
            .unwrap_err()
            .contains("expected integer, float or text"));
    }

    #[test]
    fn identifiers_and_literals() {
        assert_eq!(quote_ident(Dialect::Mysql, "a.b").unwrap(), "`a`.`b`");
        assert!(quote_ident(Dialect::Sqlite, "a; drop").is_err());
        assert_eq!(literal(Dialect::Mysql, "it's \\"), "'it''s \\\\'");
        assert_eq!(literal(Dialect::Postgres, "it's"), "'it''s'");
    }
}
