//! The operation model: what a portable step says, as typed data.
//!
//! Parsing ([`super::parse`]) turns a step's raw TOML table into an
//! [`Operation`]; rendering ([`super::render()`]) turns it into SQL per
//! dialect. Table-level pieces (composite primary keys, foreign keys,
//! unique and check constraints) are normalised into [`TableShape`], which
//! is also what the schema model ([`super::schema`]) keeps per table and
//! what a SQLite rebuild recreates.

use std::fmt;

/// A portable column type (design §5.1). The SQL type per dialect is in
/// [`super::types`] and the README's "Column types" table.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInteger,
    /// 16-bit integer.
    SmallInteger,
    /// Variable-length string, with an optional maximum length.
    String(Option<u32>),
    /// Unbounded text.
    Text,
    /// True or false.
    Boolean,
    /// Single-precision float.
    Float,
    /// Double-precision float.
    Double,
    /// Exact decimal with precision and scale.
    Decimal(u32, u32),
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time without time zone.
    Timestamp,
    /// A date and time with time zone (an instant).
    TimestampTz,
    /// JSON document.
    Json,
    /// UUID.
    Uuid,
    /// Binary data.
    Binary,
}

impl ColumnType {
    /// The names accepted in `type = "…"`.
    pub const NAMES: &'static [&'static str] = &[
        "integer",
        "big_integer",
        "small_integer",
        "string",
        "text",
        "boolean",
        "float",
        "double",
        "decimal",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "json",
        "uuid",
        "binary",
    ];

    /// Whether `autoincrement` is allowed on the type.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
        )
    }
}

/// A column default.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// `default = "text"`: a string literal, quoted by the renderer.
    String(String),
    /// `default = 3`.
    Integer(i64),
    /// `default = 1.5`.
    Float(f64),
    /// `default = true`.
    Boolean(bool),
    /// `default_sql = "CURRENT_TIMESTAMP"`: an SQL expression, written as
    /// given (in parentheses where the dialect needs them).
    Sql(String),
}

/// A column definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Portable type.
    pub ty: ColumnType,
    /// Whether NULL is allowed (default true; primary key columns are never
    /// nullable).
    pub nullable: bool,
    /// The default, if any.
    pub default: Option<DefaultValue>,
    /// Inline single-column primary key.
    pub primary_key: bool,
    /// Generated key (integer primary key only).
    pub autoincrement: bool,
    /// Inline unnamed UNIQUE.
    pub unique: bool,
}

/// What a foreign key does when the referenced row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FkAction {
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
    /// `RESTRICT`.
    Restrict,
    /// `NO ACTION`.
    NoAction,
}

impl FkAction {
    /// The names accepted in `on_delete` / `on_update`.
    pub const NAMES: &'static [&'static str] = &[
        "cascade",
        "set_null",
        "set_default",
        "restrict",
        "no_action",
    ];

    /// Parses `cascade`, `set_null` (or `set null`), … case-insensitively.
    pub fn from_name(name: &str) -> Option<FkAction> {
        match name.to_ascii_lowercase().replace(' ', "_").as_str() {
            "cascade" => Some(FkAction::Cascade),
            "set_null" => Some(FkAction::SetNull),
            "set_default" => Some(FkAction::SetDefault),
            "restrict" => Some(FkAction::Restrict),
            "no_action" => Some(FkAction::NoAction),
            _ => None,
        }
    }

    /// The TOML name.
    pub fn name(self) -> &'static str {
        match self {
            FkAction::Cascade => "cascade",
            FkAction::SetNull => "set_null",
            FkAction::SetDefault => "set_default",
            FkAction::Restrict => "restrict",
            FkAction::NoAction => "no_action",
        }
    }
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// Constraint name (needed to drop it later).
    pub name: Option<String>,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE`.
    pub on_delete: Option<FkAction>,
    /// `ON UPDATE`.
    pub on_update: Option<FkAction>,
}

/// A UNIQUE constraint over one or more columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    /// Constraint name.
    pub name: Option<String>,
    /// Columns.
    pub columns: Vec<String>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Constraint name.
    pub name: Option<String>,
    /// The boolean SQL expression, as written.
    pub sql: String,
}

/// An index (not a constraint).
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Indexed columns.
    pub columns: Vec<String>,
    /// `CREATE UNIQUE INDEX`.
    pub unique: bool,
    /// Partial index condition (PostgreSQL, SQLite).
    pub r#where: Option<String>,
}

/// A view or trigger that depends on a table. A SQLite rebuild drops it
/// before and recreates it from `sql` after.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependent {
    /// View or trigger.
    pub kind: DependentKind,
    /// Its name.
    pub name: String,
    /// The complete `CREATE VIEW` / `CREATE TRIGGER` statement.
    pub sql: String,
}

/// The kind of a [`Dependent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependentKind {
    /// `CREATE VIEW`.
    View,
    /// `CREATE TRIGGER`.
    Trigger,
}

/// Everything known about one table: what a rebuild must recreate.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShape {
    /// Table name.
    pub name: String,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// Table-level (usually composite) primary key; empty when a column
    /// says `primary_key = true` or there is none.
    pub primary_key: Vec<String>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Table-level UNIQUE constraints.
    pub uniques: Vec<Unique>,
    /// CHECK constraints.
    pub checks: Vec<Check>,
    /// Indexes on the table.
    pub indexes: Vec<Index>,
    /// Views and triggers that mention the table.
    pub dependents: Vec<Dependent>,
}

impl TableShape {
    /// An empty table called `name`.
    pub fn new(name: &str) -> TableShape {
        TableShape {
            name: name.to_string(),
            columns: vec![],
            primary_key: vec![],
            foreign_keys: vec![],
            uniques: vec![],
            checks: vec![],
            indexes: vec![],
            dependents: vec![],
        }
    }

    /// The column called `name` (case-insensitive, as in SQL).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The kind of the named constraint, if the table has one by that name.
    pub fn constraint_kind(&self, name: &str) -> Option<ConstraintKind> {
        let is = |n: &Option<String>| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name));
        if self.foreign_keys.iter().any(|f| is(&f.name)) {
            Some(ConstraintKind::ForeignKey)
        } else if self.uniques.iter().any(|u| is(&u.name)) {
            Some(ConstraintKind::Unique)
        } else if self.checks.iter().any(|c| is(&c.name)) {
            Some(ConstraintKind::Check)
        } else {
            None
        }
    }
}

/// The kind of a named constraint (`drop_constraint`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// UNIQUE.
    Unique,
    /// CHECK.
    Check,
    /// FOREIGN KEY.
    ForeignKey,
}

impl ConstraintKind {
    /// The names accepted in `type = "…"`.
    pub const NAMES: &'static [&'static str] = &["unique", "check", "foreign_key"];

    /// Parses a `type` value.
    pub fn from_name(name: &str) -> Option<ConstraintKind> {
        match name {
            "unique" => Some(ConstraintKind::Unique),
            "check" => Some(ConstraintKind::Check),
            "foreign_key" => Some(ConstraintKind::ForeignKey),
            _ => None,
        }
    }
}

/// What `alter_column` changes. Absent fields stay as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnChange {
    /// New type.
    pub ty: Option<ColumnType>,
    /// New nullability.
    pub nullable: Option<bool>,
    /// `Some(Some(d))`: set the default; `Some(None)`: drop it
    /// (`drop_default = true`).
    pub default: Option<Option<DefaultValue>>,
    /// New name.
    pub new_name: Option<String>,
    /// PostgreSQL `USING` expression for a type change.
    pub using: Option<String>,
}

/// One portable schema operation (design §5.1). `sql` steps are
/// [`crate::revision::StepKind::Sql`], not operations.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `create_table`.
    CreateTable(TableShape),
    /// `drop_table`.
    DropTable {
        /// Table.
        table: String,
    },
    /// `rename_table`.
    RenameTable {
        /// Current name.
        table: String,
        /// New name.
        new_name: String,
    },
    /// `add_column`; an inline `references` or `check` comes along.
    AddColumn {
        /// Table.
        table: String,
        /// The new column.
        column: Column,
        /// Inline `references`.
        foreign_key: Option<ForeignKey>,
        /// Inline `check`.
        check: Option<Check>,
    },
    /// `drop_column`.
    DropColumn {
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// `alter_column`.
    AlterColumn {
        /// Table.
        table: String,
        /// Column (its current name).
        column: String,
        /// What changes.
        change: ColumnChange,
    },
    /// `create_index`.
    CreateIndex {
        /// Table.
        table: String,
        /// The index.
        index: Index,
        /// `CONCURRENTLY` on PostgreSQL (plain elsewhere).
        concurrently: bool,
    },
    /// `drop_index`.
    DropIndex {
        /// Table (MySQL needs it).
        table: String,
        /// Index name.
        name: String,
        /// `CONCURRENTLY` on PostgreSQL.
        concurrently: bool,
    },
    /// `add_foreign_key`.
    AddForeignKey {
        /// Referencing table.
        table: String,
        /// The constraint (named).
        foreign_key: ForeignKey,
    },
    /// `drop_foreign_key`.
    DropForeignKey {
        /// Table.
        table: String,
        /// Constraint name.
        name: String,
    },
    /// `add_unique`.
    AddUnique {
        /// Table.
        table: String,
        /// The constraint (named).
        unique: Unique,
    },
    /// `add_check`.
    AddCheck {
        /// Table.
        table: String,
        /// The constraint (named).
        check: Check,
    },
    /// `drop_constraint`.
    DropConstraint {
        /// Table.
        table: String,
        /// Constraint name.
        name: String,
        /// Its kind, when given (MySQL needs it unless the schema model
        /// knows the constraint).
        kind: Option<ConstraintKind>,
    },
}

impl Operation {
    /// The `op` names of every operation (plus `sql`, which is a step of its
    /// own).
    pub const NAMES: &'static [&'static str] = &[
        "create_table",
        "drop_table",
        "rename_table",
        "add_column",
        "drop_column",
        "alter_column",
        "create_index",
        "drop_index",
        "add_foreign_key",
        "drop_foreign_key",
        "add_unique",
        "add_check",
        "drop_constraint",
        "sql",
    ];

    /// The `op` name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateTable(_) => "create_table",
            Operation::DropTable { .. } => "drop_table",
            Operation::RenameTable { .. } => "rename_table",
            Operation::AddColumn { .. } => "add_column",
            Operation::DropColumn { .. } => "drop_column",
            Operation::AlterColumn { .. } => "alter_column",
            Operation::CreateIndex { .. } => "create_index",
            Operation::DropIndex { .. } => "drop_index",
            Operation::AddForeignKey { .. } => "add_foreign_key",
            Operation::DropForeignKey { .. } => "drop_foreign_key",
            Operation::AddUnique { .. } => "add_unique",
            Operation::AddCheck { .. } => "add_check",
            Operation::DropConstraint { .. } => "drop_constraint",
        }
    }

    /// The table the operation works on.
    pub fn table(&self) -> &str {
        match self {
            Operation::CreateTable(shape) => &shape.name,
            Operation::DropTable { table }
            | Operation::RenameTable { table, .. }
            | Operation::AddColumn { table, .. }
            | Operation::DropColumn { table, .. }
            | Operation::AlterColumn { table, .. }
            | Operation::CreateIndex { table, .. }
            | Operation::DropIndex { table, .. }
            | Operation::AddForeignKey { table, .. }
            | Operation::DropForeignKey { table, .. }
            | Operation::AddUnique { table, .. }
            | Operation::AddCheck { table, .. }
            | Operation::DropConstraint { table, .. } => table,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on table {}", self.name(), self.table())
    }
}
