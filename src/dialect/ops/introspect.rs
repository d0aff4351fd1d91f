//! SQLite's catalog → [`TableShape`]: what the online runner reads from a
//! live database (`PRAGMA table_info`, `index_list`, `index_info`,
//! `foreign_key_list`, `sqlite_master`) turned into the shape a table
//! rebuild recreates. Pure: the rows come from `store::introspect`.
//!
//! What the pragmas do not say is read from the `CREATE TABLE` text:
//! constraint names (needed to drop them later), CHECK expressions,
//! `AUTOINCREMENT`, and the `WHERE` of partial indexes. A table that does
//! not fit the portable model (a declared type with no portable
//! equivalent, an index on an expression, a generated column) gives an
//! `Err` with the reason; the runner then falls back to the replayed
//! model for it.

use super::model::{
    Check, Column, ColumnType, DefaultValue, Dependent, DependentKind, FkAction, ForeignKey, Index,
    TableShape, Unique,
};
use super::schema::words;

/// One row of `PRAGMA table_info` (`table_xinfo` without hidden columns).
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteColumn {
    /// Column name.
    pub name: String,
    /// Declared type, as written.
    pub decl_type: String,
    /// `notnull`.
    pub not_null: bool,
    /// `dflt_value`: the default as SQL text.
    pub default: Option<String>,
    /// 1-based position in the primary key, 0 when not in it.
    pub pk: i64,
}

/// One row of `PRAGMA index_list` with its `index_info` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteIndex {
    /// Index name (`sqlite_autoindex_…` for constraints).
    pub name: String,
    /// UNIQUE.
    pub unique: bool,
    /// `c` (CREATE INDEX), `u` (UNIQUE constraint) or `pk`.
    pub origin: String,
    /// Indexed columns; `None` for an expression.
    pub columns: Vec<Option<String>>,
    /// The `CREATE INDEX` text (`None` for automatic indexes).
    pub sql: Option<String>,
}

/// One foreign key of `PRAGMA foreign_key_list` (its rows grouped by id).
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteForeignKey {
    /// Referenced table.
    pub table: String,
    /// Referencing columns.
    pub from: Vec<String>,
    /// Referenced columns (empty: the referenced table's primary key,
    /// resolved by the caller).
    pub to: Vec<String>,
    /// `on_update` as SQLite reports it (`NO ACTION`, `CASCADE`, …).
    pub on_update: String,
    /// `on_delete`.
    pub on_delete: String,
}

/// Everything the catalog says about one table.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteTable {
    /// Table name.
    pub name: String,
    /// Its `CREATE TABLE` text from `sqlite_master`.
    pub sql: String,
    /// Columns in order.
    pub columns: Vec<SqliteColumn>,
    /// Indexes.
    pub indexes: Vec<SqliteIndex>,
    /// Foreign keys.
    pub foreign_keys: Vec<SqliteForeignKey>,
}

/// A view or trigger from `sqlite_master`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteObject {
    /// View or trigger.
    pub kind: DependentKind,
    /// Its name.
    pub name: String,
    /// `tbl_name` (the table a trigger is on; the view itself for views).
    pub table: String,
    /// Its `CREATE` text.
    pub sql: String,
}

/// The portable type of a SQLite declared type, as retort (or a person)
/// writes it; `None` when there is no portable equivalent.
pub fn portable_type(decl: &str) -> Option<ColumnType> {
    let d = decl.trim().to_ascii_lowercase();
    let (base, args) = match d.find('(') {
        Some(i) => (
            d[..i].trim().to_string(),
            d[i + 1..].trim_end_matches(')').to_string(),
        ),
        None => (d.clone(), String::new()),
    };
    let nums: Vec<u32> = args
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(match (base.as_str(), nums.as_slice()) {
        ("integer" | "int", []) => ColumnType::Integer,
        ("bigint", []) => ColumnType::BigInteger,
        ("smallint", []) => ColumnType::SmallInteger,
        ("varchar" | "character varying", [n]) => ColumnType::String(Some(*n)),
        ("varchar" | "character varying", []) => ColumnType::String(None),
        ("char" | "character", [36]) => ColumnType::Uuid,
        ("text", []) => ColumnType::Text,
        ("boolean" | "bool", []) => ColumnType::Boolean,
        ("real" | "float", []) => ColumnType::Float,
        ("double" | "double precision", []) => ColumnType::Double,
        ("numeric" | "decimal", [p, s]) => ColumnType::Decimal(*p, *s),
        ("date", []) => ColumnType::Date,
        ("time", []) => ColumnType::Time,
        ("timestamp" | "datetime", []) => ColumnType::Timestamp,
        ("timestamptz", []) => ColumnType::TimestampTz,
        ("json" | "jsonb", []) => ColumnType::Json,
        ("uuid", []) => ColumnType::Uuid,
        ("blob", []) => ColumnType::Binary,
        _ => return None,
    })
}

/// A `dflt_value` as a default: plain literals become typed values (so
/// that a rebuild writes them as retort would), anything else SQL.
pub fn portable_default(text: &str) -> DefaultValue {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
        let inner = &t[1..t.len() - 1];
        if !inner.replace("''", "").contains('\'') {
            return DefaultValue::String(inner.replace("''", "'"));
        }
    }
    if let Ok(i) = t.parse::<i64>() {
        return DefaultValue::Integer(i);
    }
    if t.contains('.') {
        if let Ok(f) = t.parse::<f64>() {
            return DefaultValue::Float(f);
        }
    }
    match t.to_ascii_uppercase().as_str() {
        "TRUE" => return DefaultValue::Boolean(true),
        "FALSE" => return DefaultValue::Boolean(false),
        _ => {}
    }
    let inner = strip_parens(t);
    DefaultValue::Sql(inner.to_string())
}

fn strip_parens(t: &str) -> &str {
    let t = t.trim();
    if t.starts_with('(') && t.ends_with(')') && matching_close(t, 0) == Some(t.len() - 1) {
        strip_parens(&t[1..t.len() - 1])
    } else {
        t
    }
}

fn fk_action(s: &str) -> Option<FkAction> {
    match FkAction::from_name(s) {
        // SQLite reports NO ACTION for an unspecified action.
        Some(FkAction::NoAction) | None => None,
        other => other,
    }
}

/// The shape of `table`, with the views and triggers among `objects` that
/// depend on it. `Err` says why the table does not fit the portable model.
///
/// # Errors
/// A reason, for the runner's fallback.
pub fn shape_of(table: &SqliteTable, objects: &[SqliteObject]) -> Result<TableShape, String> {
    let text = parse_create_table(&table.sql)?;
    let mut shape = TableShape::new(&table.name);
    let mut pk: Vec<(i64, String)> = table
        .columns
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.clone()))
        .collect();
    pk.sort();
    let single_pk = pk.len() == 1;
    for c in &table.columns {
        let ty = portable_type(&c.decl_type).ok_or_else(|| {
            format!(
                "column `{}` has type `{}`, which has no portable equivalent",
                c.name, c.decl_type
            )
        })?;
        let in_pk = c.pk > 0;
        shape.columns.push(Column {
            name: c.name.clone(),
            ty,
            nullable: !c.not_null && !in_pk,
            default: c.default.as_deref().map(portable_default),
            primary_key: in_pk && single_pk,
            autoincrement: in_pk && single_pk && text.autoincrement,
            unique: false,
        });
    }
    if !single_pk {
        shape.primary_key = pk.into_iter().map(|(_, n)| n).collect();
    }
    for ix in &table.indexes {
        let mut columns = Vec::new();
        for c in &ix.columns {
            match c {
                Some(c) => columns.push(c.clone()),
                None => return Err(format!("index `{}` is on an expression", ix.name)),
            }
        }
        match ix.origin.as_str() {
            "pk" => {}
            "u" => {
                let name = text.named_unique(&columns);
                match (&name, columns.as_slice()) {
                    (None, [one]) if text.inline_unique(one) => {
                        if let Some(col) = shape
                            .columns
                            .iter_mut()
                            .find(|c| c.name.eq_ignore_ascii_case(one))
                        {
                            col.unique = true;
                        }
                    }
                    _ => shape.uniques.push(Unique { name, columns }),
                }
            }
            _ => shape.indexes.push(Index {
                name: ix.name.clone(),
                columns,
                unique: ix.unique,
                r#where: ix.sql.as_deref().and_then(index_where),
            }),
        }
    }
    for fk in &table.foreign_keys {
        shape.foreign_keys.push(ForeignKey {
            name: text.fk_name(&fk.from),
            columns: fk.from.clone(),
            ref_table: fk.table.clone(),
            ref_columns: fk.to.clone(),
            on_delete: fk_action(&fk.on_delete),
            on_update: fk_action(&fk.on_update),
        });
    }
    shape.checks = text.checks;
    let lower = table.name.to_ascii_lowercase();
    for kind in [DependentKind::View, DependentKind::Trigger] {
        for o in objects.iter().filter(|o| o.kind == kind) {
            let on_table = o.table.eq_ignore_ascii_case(&table.name);
            if on_table || words(&o.sql).contains(&lower) {
                shape.dependents.push(Dependent {
                    kind,
                    name: o.name.clone(),
                    sql: o.sql.clone(),
                });
            }
        }
    }
    Ok(shape)
}

/// What the `CREATE TABLE` text adds to the pragmas.
#[derive(Debug, Default)]
struct TableText {
    autoincrement: bool,
    checks: Vec<Check>,
    /// Named FOREIGN KEY constraints: (columns, name).
    fk_names: Vec<(Vec<String>, String)>,
    /// UNIQUE constraints: (columns, name), name `None` when unnamed.
    uniques: Vec<(Vec<String>, Option<String>)>,
    /// Columns declared `UNIQUE` inline.
    inline_unique: Vec<String>,
}

impl TableText {
    fn fk_name(&self, columns: &[String]) -> Option<String> {
        self.fk_names
            .iter()
            .find(|(c, _)| same(c, columns))
            .map(|(_, n)| n.clone())
    }
    fn named_unique(&self, columns: &[String]) -> Option<String> {
        self.uniques
            .iter()
            .find(|(c, _)| same(c, columns))
            .and_then(|(_, n)| n.clone())
    }
    fn inline_unique(&self, column: &str) -> bool {
        self.inline_unique
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column))
    }
}

fn same(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// A token of a `CREATE TABLE` body.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A keyword or identifier (quotes removed; `quoted` when it was).
    Word(String, bool),
    /// A parenthesised group: its inner text.
    Group(String),
    /// A string literal or another character.
    Other,
}

fn tokens(s: &str) -> Vec<Tok> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            let mut word = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == close {
                    if close != ']' && b.get(i + 1) == Some(&close) {
                        word.push(close);
                        i += 2;
                        continue;
                    }
                    break;
                }
                word.push(b[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Word(word, true));
        } else if c == '\'' {
            i += 1;
            while i < b.len() {
                if b[i] == '\'' {
                    if b.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Other);
        } else if c == '(' {
            let text: String = b[i..].iter().collect();
            match matching_close(&text, 0) {
                Some(end) => {
                    let inner: String = text.chars().skip(1).take(end - 1).collect();
                    out.push(Tok::Group(inner));
                    i += end + 1;
                }
                None => {
                    out.push(Tok::Other);
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut word = String::new();
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$') {
                word.push(b[i]);
                i += 1;
            }
            out.push(Tok::Word(word, false));
        } else {
            out.push(Tok::Other);
            i += 1;
        }
    }
    out
}

/// The char index of the `)` closing the `(` at char index `open`
/// (quotes respected).
fn matching_close(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.chars().enumerate().skip(open) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// Splits at top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some(']'),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            },
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        parts.push(cur);
    }
    parts
}

fn kw(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Word(w, false)) if w.eq_ignore_ascii_case(word))
}

fn group_columns(t: Option<&Tok>) -> Vec<String> {
    match t {
        Some(Tok::Group(inner)) => split_top(inner)
            .iter()
            .filter_map(|c| match tokens(c).first() {
                Some(Tok::Word(w, _)) => Some(w.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

fn parse_create_table(sql: &str) -> Result<TableText, String> {
    let open = sql
        .find('(')
        .ok_or("its CREATE TABLE text has no column list")?;
    let close = matching_close(sql, sql[..open].chars().count())
        .ok_or("its CREATE TABLE text is not balanced")?;
    let body: String = sql
        .chars()
        .skip(sql[..open].chars().count() + 1)
        .take(close - sql[..open].chars().count() - 1)
        .collect();
    let mut text = TableText::default();
    for part in split_top(&body) {
        let toks = tokens(&part);
        let mut i = 0;
        let mut name: Option<String> = None;
        let table_constraint = ["constraint", "primary", "unique", "check", "foreign"]
            .iter()
            .any(|k| kw(toks.first(), k));
        let column = if table_constraint {
            None
        } else {
            match toks.first() {
                Some(Tok::Word(w, _)) => {
                    i = 1;
                    Some(w.clone())
                }
                _ => continue,
            }
        };
        while i < toks.len() {
            if kw(toks.get(i), "constraint") {
                if let Some(Tok::Word(n, _)) = toks.get(i + 1) {
                    name = Some(n.clone());
                }
                i += 2;
                continue;
            }
            if kw(toks.get(i), "check") {
                if let Some(Tok::Group(expr)) = toks.get(i + 1) {
                    text.checks.push(Check {
                        name: name.take(),
                        sql: expr.trim().to_string(),
                    });
                }
                i += 2;
                continue;
            }
            if kw(toks.get(i), "autoincrement") {
                text.autoincrement = true;
            }
            if kw(toks.get(i), "generated") || kw(toks.get(i), "as") && column.is_some() {
                return Err(format!(
                    "column `{}` is generated",
                    column.clone().unwrap_or_default()
                ));
            }
            match &column {
                None if kw(toks.get(i), "unique") => {
                    text.uniques
                        .push((group_columns(toks.get(i + 1)), name.take()));
                    i += 2;
                    continue;
                }
                None if kw(toks.get(i), "foreign") => {
                    let cols = group_columns(toks.get(i + 2));
                    if let Some(n) = name.take() {
                        text.fk_names.push((cols, n));
                    }
                    i += 3;
                    continue;
                }
                Some(col) if kw(toks.get(i), "unique") => match name.take() {
                    Some(n) => text.uniques.push((vec![col.clone()], Some(n))),
                    None => text.inline_unique.push(col.clone()),
                },
                Some(col) if kw(toks.get(i), "references") => {
                    if let Some(n) = name.take() {
                        text.fk_names.push((vec![col.clone()], n));
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    Ok(text)
}

/// The condition of a partial index: the text after its top-level
/// `WHERE`.
pub fn index_where(sql: &str) -> Option<String> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let chars: Vec<char> = sql.chars().collect();
    for i in 0..chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                'w' | 'W' if depth == 0 => {
                    let word: String = chars[i..].iter().take(5).collect();
                    let before = i == 0 || !chars[i - 1].is_alphanumeric();
                    let after = chars
                        .get(i + 5)
                        .is_none_or(|c| !(c.is_alphanumeric() || *c == '_'));
                    if before && after && word.eq_ignore_ascii_case("where") {
                        let rest: String = chars[i + 5..].iter().collect();
                        return Some(rest.trim().to_string());
                    }
                }
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str, not_null: bool, default: Option<&str>, pk: i64) -> SqliteColumn {
        SqliteColumn {
            name: name.into(),
            decl_type: ty.into(),
            not_null,
            default: default.map(String::from),
            pk,
        }
    }

    #[test]
    fn create_table_text_gives_names_checks_and_autoincrement() {
        let table = SqliteTable {
            name: "child".into(),
            sql: r#"CREATE TABLE "child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "code" varchar(10) NULL UNIQUE, "amount" numeric(10, 2) NULL DEFAULT 0, "note" text DEFAULT 'it''s, (x)', CONSTRAINT "fk_child_parent" FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, CONSTRAINT "uq_child_note" UNIQUE ("note", "amount"), CHECK (amount >= 0), CONSTRAINT "ck_n" CHECK (note <> ',') )"#.into(),
            columns: vec![
                col("id", "integer", true, None, 1),
                col("parent_id", "integer", true, None, 0),
                col("code", "varchar(10)", false, None, 0),
                col("amount", "numeric(10, 2)", false, Some("0"), 0),
                col("note", "text", false, Some("'it''s, (x)'"), 0),
            ],
            indexes: vec![
                SqliteIndex {
                    name: "ix_child_amount".into(),
                    unique: false,
                    origin: "c".into(),
                    columns: vec![Some("amount".into())],
                    sql: Some(r#"CREATE INDEX "ix_child_amount" ON "child" ("amount") WHERE amount > 0"#.into()),
                },
                SqliteIndex {
                    name: "sqlite_autoindex_child_1".into(),
                    unique: true,
                    origin: "u".into(),
                    columns: vec![Some("code".into())],
                    sql: None,
                },
                SqliteIndex {
                    name: "sqlite_autoindex_child_2".into(),
                    unique: true,
                    origin: "u".into(),
                    columns: vec![Some("note".into()), Some("amount".into())],
                    sql: None,
                },
            ],
            foreign_keys: vec![SqliteForeignKey {
                table: "parent".into(),
                from: vec!["parent_id".into()],
                to: vec!["id".into()],
                on_update: "NO ACTION".into(),
                on_delete: "CASCADE".into(),
            }],
        };
        let objects = vec![SqliteObject {
            kind: DependentKind::View,
            name: "v".into(),
            table: "v".into(),
            sql: "CREATE VIEW v AS SELECT * FROM child".into(),
        }];
        let s = shape_of(&table, &objects).unwrap();
        assert!(s.columns[0].autoincrement && s.columns[0].primary_key);
        assert!(s.columns[2].unique);
        assert_eq!(s.columns[3].default, Some(DefaultValue::Integer(0)));
        assert_eq!(
            s.columns[4].default,
            Some(DefaultValue::String("it's, (x)".into()))
        );
        assert_eq!(s.foreign_keys[0].name.as_deref(), Some("fk_child_parent"));
        assert_eq!(s.foreign_keys[0].on_delete, Some(FkAction::Cascade));
        assert_eq!(s.uniques[0].name.as_deref(), Some("uq_child_note"));
        assert_eq!(s.checks.len(), 2);
        assert_eq!(s.checks[0].sql, "amount >= 0");
        assert_eq!(s.checks[1].name.as_deref(), Some("ck_n"));
        assert_eq!(s.indexes[0].r#where.as_deref(), Some("amount > 0"));
        assert_eq!(s.dependents.len(), 1);
    }

    #[test]
    fn unknown_types_and_defaults() {
        assert_eq!(portable_type("GEOMETRY"), None);
        assert_eq!(
            portable_type("VARCHAR(20)"),
            Some(ColumnType::String(Some(20)))
        );
        assert_eq!(
            portable_default("(CURRENT_TIMESTAMP)"),
            DefaultValue::Sql("CURRENT_TIMESTAMP".into())
        );
        assert_eq!(portable_default("FALSE"), DefaultValue::Boolean(false));
        assert_eq!(index_where("CREATE INDEX i ON t (a)"), None);
    }
}
