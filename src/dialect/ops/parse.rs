//! A step's raw TOML table → [`Operation`].
//!
//! Strict like the file parser: an unknown key is an error listing the
//! valid keys, since a misspelt `nulable = false` silently ignored would
//! create the wrong schema. Identifiers are checked here once (no quotes,
//! no control characters, at most 63 bytes: PostgreSQL's limit) so the
//! renderers can quote them without escaping.

use toml::{Table, Value};

use super::model::{
    Check, Column, ColumnChange, ColumnType, ConstraintKind, DefaultValue, FkAction, ForeignKey,
    Index, Operation, TableShape, Unique,
};
use super::Problem;

const CREATE_TABLE: &[&str] = &[
    "table",
    "columns",
    "primary_key",
    "foreign_keys",
    "unique",
    "checks",
];
const COLUMN: &[&str] = &[
    "name",
    "type",
    "length",
    "precision",
    "scale",
    "nullable",
    "default",
    "default_sql",
    "primary_key",
    "autoincrement",
    "unique",
    "check",
    "references",
];
const REFERENCES: &[&str] = &["table", "column", "name", "on_delete", "on_update"];
const FOREIGN_KEY: &[&str] = &[
    "name",
    "columns",
    "ref_table",
    "ref_columns",
    "on_delete",
    "on_update",
];
const ADD_FOREIGN_KEY: &[&str] = &[
    "table",
    "name",
    "columns",
    "ref_table",
    "ref_columns",
    "on_delete",
    "on_update",
];
const UNIQUE: &[&str] = &["name", "columns"];
const CHECK: &[&str] = &["name", "sql"];
const TABLE: &[&str] = &["table"];
const RENAME_TABLE: &[&str] = &["table", "new_name"];
const ADD_COLUMN: &[&str] = &["table", "column"];
const DROP_COLUMN: &[&str] = &["table", "column"];
const ALTER_COLUMN: &[&str] = &[
    "table",
    "column",
    "type",
    "length",
    "precision",
    "scale",
    "nullable",
    "default",
    "default_sql",
    "drop_default",
    "new_name",
    "using",
];
const CREATE_INDEX: &[&str] = &[
    "table",
    "name",
    "columns",
    "unique",
    "where",
    "concurrently",
];
const DROP_INDEX: &[&str] = &["table", "name", "concurrently"];
const TABLE_NAME: &[&str] = &["table", "name"];
const ADD_UNIQUE: &[&str] = &["table", "name", "columns"];
const ADD_CHECK: &[&str] = &["table", "name", "sql"];
const DROP_CONSTRAINT: &[&str] = &["table", "name", "type"];

/// The valid keys of operation `op` (without `op`), or `None` for an
/// unknown operation.
pub fn valid_keys(op: &str) -> Option<&'static [&'static str]> {
    Some(match op {
        "create_table" => CREATE_TABLE,
        "drop_table" => TABLE,
        "rename_table" => RENAME_TABLE,
        "add_column" => ADD_COLUMN,
        "drop_column" => DROP_COLUMN,
        "alter_column" => ALTER_COLUMN,
        "create_index" => CREATE_INDEX,
        "drop_index" => DROP_INDEX,
        "add_foreign_key" => ADD_FOREIGN_KEY,
        "drop_foreign_key" => TABLE_NAME,
        "add_unique" => ADD_UNIQUE,
        "add_check" => ADD_CHECK,
        "drop_constraint" => DROP_CONSTRAINT,
        _ => return None,
    })
}

/// Parses operation `op` from the step's other keys.
///
/// # Errors
/// [`Problem::Invalid`] naming the key (with its path, e.g.
/// `columns[2].type`) and what was expected; [`Problem::UnknownOp`] for an
/// `op` that is not an operation.
pub fn parse_operation(op: &str, fields: &Table) -> Result<Operation, Problem> {
    let Some(valid) = valid_keys(op) else {
        return Err(Problem::UnknownOp(op.to_string()));
    };
    let t = Fields::new(fields, "", valid)?;
    Ok(match op {
        "create_table" => Operation::CreateTable(create_table(&t)?),
        "drop_table" => Operation::DropTable {
            table: t.ident("table")?,
        },
        "rename_table" => Operation::RenameTable {
            table: t.ident("table")?,
            new_name: t.ident("new_name")?,
        },
        "add_column" => add_column(&t)?,
        "drop_column" => Operation::DropColumn {
            table: t.ident("table")?,
            column: t.ident("column")?,
        },
        "alter_column" => alter_column(&t)?,
        "create_index" => Operation::CreateIndex {
            table: t.ident("table")?,
            index: Index {
                name: t.ident("name")?,
                columns: t.idents("columns")?,
                unique: t.opt_bool("unique")?.unwrap_or(false),
                r#where: t.opt_sql("where")?,
            },
            concurrently: t.opt_bool("concurrently")?.unwrap_or(false),
        },
        "drop_index" => Operation::DropIndex {
            table: t.ident("table")?,
            name: t.ident("name")?,
            concurrently: t.opt_bool("concurrently")?.unwrap_or(false),
        },
        "add_foreign_key" => Operation::AddForeignKey {
            table: t.ident("table")?,
            foreign_key: foreign_key(&t, true)?,
        },
        "drop_foreign_key" => Operation::DropForeignKey {
            table: t.ident("table")?,
            name: t.ident("name")?,
        },
        "add_unique" => Operation::AddUnique {
            table: t.ident("table")?,
            unique: Unique {
                name: Some(t.ident("name")?),
                columns: t.idents("columns")?,
            },
        },
        "add_check" => Operation::AddCheck {
            table: t.ident("table")?,
            check: Check {
                name: Some(t.ident("name")?),
                sql: t.sql("sql")?,
            },
        },
        "drop_constraint" => Operation::DropConstraint {
            table: t.ident("table")?,
            name: t.ident("name")?,
            kind: match t.opt_str("type")? {
                None => None,
                Some(s) => Some(ConstraintKind::from_name(&s).ok_or_else(|| {
                    t.invalid(
                        "type",
                        format!(
                            "`{s}` is not a constraint type; use one of: {}",
                            ConstraintKind::NAMES.join(", ")
                        ),
                    )
                })?),
            },
        },
        _ => return Err(Problem::UnknownOp(op.to_string())),
    })
}

fn create_table(t: &Fields<'_>) -> Result<TableShape, Problem> {
    let mut shape = TableShape::new(&t.ident("table")?);
    let columns = t.tables("columns")?;
    if columns.is_empty() {
        return Err(t.invalid("columns", "a table needs at least one column".into()));
    }
    for (i, table) in columns.iter().enumerate() {
        let c = Fields::new(table, &format!("columns[{}].", i + 1), COLUMN)?;
        let (column, fk, check) = column(&c)?;
        if shape.column(&column.name).is_some() {
            return Err(c.invalid("name", format!("column `{}` is defined twice", column.name)));
        }
        shape.foreign_keys.extend(fk);
        shape.checks.extend(check);
        shape.columns.push(column);
    }
    let inline_pk: Vec<String> = shape
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.clone())
        .collect();
    if t.has("primary_key") {
        if !inline_pk.is_empty() {
            return Err(t.invalid(
                "primary_key",
                "give the primary key either on the columns or as a table-level list, not both"
                    .into(),
            ));
        }
        shape.primary_key = t.idents("primary_key")?;
    } else if inline_pk.len() > 1 {
        // Several `primary_key = true` columns make one composite key.
        shape.primary_key = inline_pk;
        for c in &mut shape.columns {
            c.primary_key = false;
        }
    }
    for name in &shape.primary_key {
        if shape.column(name).is_none() {
            return Err(t.invalid("primary_key", format!("no column `{name}` in the table")));
        }
    }
    let pk = shape.primary_key.clone();
    for c in &mut shape.columns {
        if pk.iter().any(|p| p.eq_ignore_ascii_case(&c.name)) {
            c.nullable = false;
        }
        if c.autoincrement && !c.primary_key {
            return Err(t.invalid(
                "columns",
                format!(
                    "column `{}` has autoincrement but is not the table's only primary key column; autoincrement needs `primary_key = true` on that column alone",
                    c.name
                ),
            ));
        }
    }
    for (i, table) in t.opt_tables("foreign_keys")?.iter().enumerate() {
        let f = Fields::new(table, &format!("foreign_keys[{}].", i + 1), FOREIGN_KEY)?;
        shape.foreign_keys.push(foreign_key(&f, false)?);
    }
    for (i, table) in t.opt_tables("unique")?.iter().enumerate() {
        let u = Fields::new(table, &format!("unique[{}].", i + 1), UNIQUE)?;
        shape.uniques.push(Unique {
            name: u.opt_ident("name")?,
            columns: u.idents("columns")?,
        });
    }
    for (i, table) in t.opt_tables("checks")?.iter().enumerate() {
        let c = Fields::new(table, &format!("checks[{}].", i + 1), CHECK)?;
        shape.checks.push(Check {
            name: c.opt_ident("name")?,
            sql: c.sql("sql")?,
        });
    }
    Ok(shape)
}

fn add_column(t: &Fields<'_>) -> Result<Operation, Problem> {
    let table = t.ident("table")?;
    let Some(Value::Table(def)) = t.get("column") else {
        return Err(t.invalid(
            "column",
            "expected an inline table such as { name = \"email\", type = \"string\", length = 255 }"
                .into(),
        ));
    };
    let c = Fields::new(def, "column.", COLUMN)?;
    let (column, foreign_key, check) = column(&c)?;
    if column.autoincrement {
        return Err(c.invalid(
            "autoincrement",
            "add_column cannot add a generated key; create the table with it".into(),
        ));
    }
    Ok(Operation::AddColumn {
        table,
        column,
        foreign_key,
        check,
    })
}

type ColumnParts = (Column, Option<ForeignKey>, Option<Check>);

fn column(c: &Fields<'_>) -> Result<ColumnParts, Problem> {
    let name = c.ident("name")?;
    let ty = column_type(c)?.ok_or_else(|| c.missing("type"))?;
    let primary_key = c.opt_bool("primary_key")?.unwrap_or(false);
    let autoincrement = c.opt_bool("autoincrement")?.unwrap_or(false);
    if autoincrement && !ty.is_integer() {
        return Err(c.invalid(
            "autoincrement",
            "only integer, big_integer and small_integer columns can autoincrement".into(),
        ));
    }
    if autoincrement && !primary_key {
        return Err(c.invalid(
            "autoincrement",
            "an autoincrement column must have `primary_key = true`".into(),
        ));
    }
    let nullable = c.opt_bool("nullable")?;
    if primary_key && nullable == Some(true) {
        return Err(c.invalid("nullable", "a primary key column cannot be nullable".into()));
    }
    let column = Column {
        ty,
        nullable: nullable.unwrap_or(!primary_key),
        default: default(c)?,
        primary_key,
        autoincrement,
        unique: c.opt_bool("unique")?.unwrap_or(false),
        name: name.clone(),
    };
    let check = c.opt_sql("check")?.map(|sql| Check { name: None, sql });
    let fk = match c.get("references") {
        None => None,
        Some(Value::String(s)) => {
            let Some((table, col)) = s.split_once('.') else {
                return Err(c.invalid(
                    "references",
                    format!("`{s}` is not `table.column`; write e.g. \"account.id\" or an inline table {{ table = \"account\", column = \"id\", on_delete = \"cascade\" }}"),
                ));
            };
            Some(ForeignKey {
                name: None,
                columns: vec![name],
                ref_table: check_ident(c, "references", table)?,
                ref_columns: vec![check_ident(c, "references", col)?],
                on_delete: None,
                on_update: None,
            })
        }
        Some(Value::Table(r)) => {
            let r = Fields::new(r, &format!("{}references.", c.prefix), REFERENCES)?;
            Some(ForeignKey {
                name: r.opt_ident("name")?,
                columns: vec![name],
                ref_table: r.ident("table")?,
                ref_columns: vec![r.ident("column")?],
                on_delete: action(&r, "on_delete")?,
                on_update: action(&r, "on_update")?,
            })
        }
        Some(other) => {
            return Err(c.invalid(
                "references",
                format!(
                    "expected \"table.column\" or an inline table, found {}",
                    other.type_str()
                ),
            ))
        }
    };
    Ok((column, fk, check))
}

fn column_type(c: &Fields<'_>) -> Result<Option<ColumnType>, Problem> {
    let Some(name) = c.opt_str("type")? else {
        for key in ["length", "precision", "scale"] {
            if c.has(key) {
                return Err(c.invalid(key, "it needs a `type`".into()));
            }
        }
        return Ok(None);
    };
    let length = c.opt_u32("length")?;
    let precision = c.opt_u32("precision")?;
    let scale = c.opt_u32("scale")?;
    if length.is_some() && !matches!(name.as_str(), "string") {
        return Err(c.invalid(
            "length",
            format!("only `string` takes a length, not `{name}`"),
        ));
    }
    if (precision.is_some() || scale.is_some()) && name != "decimal" {
        let key = if precision.is_some() {
            "precision"
        } else {
            "scale"
        };
        return Err(c.invalid(
            key,
            format!("only `decimal` takes precision and scale, not `{name}`"),
        ));
    }
    if length == Some(0) {
        return Err(c.invalid("length", "must be at least 1".into()));
    }
    Ok(Some(match name.as_str() {
        "integer" => ColumnType::Integer,
        "big_integer" => ColumnType::BigInteger,
        "small_integer" => ColumnType::SmallInteger,
        "string" => ColumnType::String(length),
        "text" => ColumnType::Text,
        "boolean" => ColumnType::Boolean,
        "float" => ColumnType::Float,
        "double" => ColumnType::Double,
        "decimal" => {
            let (Some(p), s) = (precision, scale) else {
                return Err(c.missing("precision"));
            };
            let s = s.unwrap_or(0);
            if p == 0 || p > 65 || s > p {
                return Err(c.invalid(
                    "precision",
                    format!(
                        "decimal({p}, {s}) is not valid: precision 1..=65 and scale <= precision"
                    ),
                ));
            }
            ColumnType::Decimal(p, s)
        }
        "date" => ColumnType::Date,
        "time" => ColumnType::Time,
        "timestamp" => ColumnType::Timestamp,
        "timestamptz" => ColumnType::TimestampTz,
        "json" => ColumnType::Json,
        "uuid" => ColumnType::Uuid,
        "binary" => ColumnType::Binary,
        other => {
            return Err(c.invalid(
                "type",
                format!(
                    "unknown column type `{other}`; valid types are: {}",
                    ColumnType::NAMES.join(", ")
                ),
            ))
        }
    }))
}

fn default(c: &Fields<'_>) -> Result<Option<DefaultValue>, Problem> {
    let literal = match c.get("default") {
        None => None,
        Some(Value::String(s)) => Some(DefaultValue::String(s.clone())),
        Some(Value::Integer(i)) => Some(DefaultValue::Integer(*i)),
        Some(Value::Float(f)) if f.is_finite() => Some(DefaultValue::Float(*f)),
        Some(Value::Boolean(b)) => Some(DefaultValue::Boolean(*b)),
        Some(other) => {
            return Err(c.invalid(
                "default",
                format!("expected a string, number or boolean literal, found {}; for an SQL expression use `default_sql`", other.type_str()),
            ))
        }
    };
    let sql = c.opt_sql("default_sql")?.map(DefaultValue::Sql);
    match (literal, sql) {
        (Some(_), Some(_)) => Err(c.invalid(
            "default_sql",
            "give either `default` (a literal) or `default_sql` (an SQL expression), not both"
                .into(),
        )),
        (l, s) => Ok(l.or(s)),
    }
}

fn alter_column(t: &Fields<'_>) -> Result<Operation, Problem> {
    let table = t.ident("table")?;
    let column = t.ident("column")?;
    let mut default = default(t)?.map(Some);
    if t.opt_bool("drop_default")?.unwrap_or(false) {
        if default.is_some() {
            return Err(t.invalid(
                "drop_default",
                "give either a new default or `drop_default = true`, not both".into(),
            ));
        }
        default = Some(None);
    }
    let change = ColumnChange {
        ty: column_type(t)?,
        nullable: t.opt_bool("nullable")?,
        default,
        new_name: t.opt_ident("new_name")?,
        using: t.opt_sql("using")?,
    };
    if change.using.is_some() && change.ty.is_none() {
        return Err(t.invalid("using", "`using` goes with a new `type`".into()));
    }
    if change.ty.is_none()
        && change.nullable.is_none()
        && change.default.is_none()
        && change.new_name.is_none()
    {
        return Err(t.invalid(
            "type",
            "alter_column changes nothing: give at least one of type, nullable, default, default_sql, drop_default, new_name".into(),
        ));
    }
    Ok(Operation::AlterColumn {
        table,
        column,
        change,
    })
}

fn foreign_key(f: &Fields<'_>, named: bool) -> Result<ForeignKey, Problem> {
    let fk = ForeignKey {
        name: if named {
            Some(f.ident("name")?)
        } else {
            f.opt_ident("name")?
        },
        columns: f.idents("columns")?,
        ref_table: f.ident("ref_table")?,
        ref_columns: f.idents("ref_columns")?,
        on_delete: action(f, "on_delete")?,
        on_update: action(f, "on_update")?,
    };
    if fk.columns.len() != fk.ref_columns.len() {
        return Err(f.invalid(
            "ref_columns",
            format!(
                "{} columns reference {} columns; give as many `ref_columns` as `columns`",
                fk.columns.len(),
                fk.ref_columns.len()
            ),
        ));
    }
    Ok(fk)
}

fn action(f: &Fields<'_>, key: &str) -> Result<Option<FkAction>, Problem> {
    match f.opt_str(key)? {
        None => Ok(None),
        Some(s) => FkAction::from_name(&s).map(Some).ok_or_else(|| {
            f.invalid(
                key,
                format!(
                    "`{s}` is not an action; use one of: {}",
                    FkAction::NAMES.join(", ")
                ),
            )
        }),
    }
}

fn check_ident(f: &Fields<'_>, key: &str, name: &str) -> Result<String, Problem> {
    if name.is_empty() {
        return Err(f.invalid(key, "a name is empty".into()));
    }
    if name.len() > 63 {
        return Err(f.invalid(
            key,
            format!("`{name}` is longer than 63 bytes (PostgreSQL's limit)"),
        ));
    }
    if let Some(ch) = name
        .chars()
        .find(|ch| matches!(ch, '"' | '`' | '\'' | '\\' | '[' | ']') || ch.is_control())
    {
        return Err(f.invalid(
            key,
            format!(
                "`{}` contains {ch:?}, which names may not contain",
                name.escape_debug()
            ),
        ));
    }
    Ok(name.to_string())
}

/// A table of step fields with the key path prefix used in errors.
struct Fields<'a> {
    table: &'a Table,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn new(
        table: &'a Table,
        prefix: &str,
        valid: &'static [&'static str],
    ) -> Result<Self, Problem> {
        if let Some(key) = table.keys().find(|k| !valid.contains(&k.as_str())) {
            return Err(Problem::UnknownKey {
                key: format!("{prefix}{key}"),
                valid,
            });
        }
        Ok(Fields {
            table,
            prefix: prefix.to_string(),
        })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.table.get(key)
    }

    fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn invalid(&self, key: &str, message: String) -> Problem {
        Problem::Invalid {
            key: format!("{}{key}", self.prefix),
            message,
        }
    }

    fn missing(&self, key: &str) -> Problem {
        self.invalid(key, "is missing".into())
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> Problem {
        self.invalid(
            key,
            format!("must be {expected}, found {}", found.type_str()),
        )
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    fn opt_ident(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => Ok(Some(check_ident(self, key, &s)?)),
        }
    }

    fn ident(&self, key: &str) -> Result<String, Problem> {
        self.opt_ident(key)?.ok_or_else(|| self.missing(key))
    }

    /// A string or an array of strings, at least one.
    fn idents(&self, key: &str) -> Result<Vec<String>, Problem> {
        let names = match self.get(key) {
            None => return Err(self.missing(key)),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => names.push(s.clone()),
                        v => return Err(self.wrong(key, "an array of column names", v)),
                    }
                }
                names
            }
            Some(v) => return Err(self.wrong(key, "a name or an array of names", v)),
        };
        if names.is_empty() {
            return Err(self.invalid(key, "is empty; name at least one column".into()));
        }
        names.iter().map(|n| check_ident(self, key, n)).collect()
    }

    fn opt_sql(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.opt_str(key)? {
            Some(s) if s.trim().is_empty() => Err(self.invalid(key, "is empty".into())),
            other => Ok(other.map(|s| s.trim().to_string())),
        }
    }

    fn sql(&self, key: &str) -> Result<String, Problem> {
        self.opt_sql(key)?.ok_or_else(|| self.missing(key))
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "true or false", v)),
        }
    }

    fn opt_u32(&self, key: &str) -> Result<Option<u32>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => u32::try_from(*i)
                .map(Some)
                .map_err(|_| self.invalid(key, format!("{i} is out of range"))),
            Some(v) => Err(self.wrong(key, "a whole number", v)),
        }
    }

    fn opt_tables(&self, key: &str) -> Result<Vec<&'a Table>, Problem> {
        match self.get(key) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Table(t) => Ok(t),
                    v => Err(self.wrong(key, "an array of inline tables", v)),
                })
                .collect(),
            Some(v) => Err(self.wrong(key, "an array of inline tables", v)),
        }
    }

    fn tables(&self, key: &str) -> Result<Vec<&'a Table>, Problem> {
        if !self.has(key) {
            return Err(self.missing(key));
        }
        self.opt_tables(key)
    }
}
