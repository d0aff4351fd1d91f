//! [`render()`]: one [`Operation`] → the statements that perform it on one
//! dialect, through sea-query's builders.
//!
//! Routing happens before any builder is called, so that no sea-query
//! panic path is reachable: on SQLite, what `ALTER TABLE` cannot do goes
//! to [`super::sqlite_rebuild`]; MySQL's `MODIFY COLUMN` gets the full
//! column from the schema model; what a dialect cannot say at all is a
//! [`Problem::Unsupported`]. The few clauses sea-query has no builder for
//! (`ADD CONSTRAINT … UNIQUE/CHECK`, `DROP DEFAULT`, `USING`) are written
//! here with identifiers quoted per dialect (names were checked by the
//! parser: they hold no quote characters).

use sea_query::{
    Check as SqCheck, ColumnDef, ConditionalStatement, Expr, ForeignKey as SqForeignKey,
    ForeignKeyAction, ForeignKeyCreateStatement, Index as SqIndex, MysqlQueryBuilder,
    PostgresQueryBuilder, Query, SchemaStatementBuilder, SqliteQueryBuilder, Table,
};

use super::model::{
    Column, ColumnChange, ConstraintKind, DefaultValue, FkAction, ForeignKey, Index, Operation,
    TableShape,
};
use super::schema::SchemaModel;
use super::sqlite_rebuild::rebuild;
use super::types::sea_type;
use super::Problem;
use crate::dialect::Dialect;

/// What rendering needs besides the operation.
#[derive(Debug, Clone, Copy)]
pub struct OpContext<'a> {
    /// The schema before the operation (for rebuilds, MySQL MODIFY, and
    /// named constraints).
    pub schema: &'a SchemaModel,
    /// Whether the revision runs in a transaction (`CONCURRENTLY` cannot).
    pub transactional: bool,
}

/// The statements of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// Statements, in order, without trailing `;`.
    pub statements: Vec<String>,
    /// A SQLite table rebuild is among them: the runner must run
    /// [`FOREIGN_KEYS_OFF`] *before* the transaction begins (SQLite ignores
    /// the pragma inside one) and [`FOREIGN_KEYS_ON`] after it ends, and
    /// fail the revision if `PRAGMA foreign_key_check` (the last statement
    /// of the rebuild) returns any row.
    pub foreign_keys_off: bool,
}

/// Run before the transaction of a revision with a SQLite rebuild.
pub const FOREIGN_KEYS_OFF: &str = "PRAGMA foreign_keys=OFF";
/// Run after the transaction of a revision with a SQLite rebuild.
pub const FOREIGN_KEYS_ON: &str = "PRAGMA foreign_keys=ON";

impl Rendered {
    fn plain(statements: Vec<String>) -> Rendered {
        Rendered {
            statements,
            foreign_keys_off: false,
        }
    }
}

/// The statements that perform `op` on `dialect`.
///
/// # Errors
/// [`Problem::Unsupported`] for what the dialect cannot express (e.g. a
/// partial index on MySQL), [`Problem::NeedShape`] when a SQLite rebuild or
/// a MySQL `MODIFY COLUMN` needs a table definition the schema model does
/// not have.
pub fn render(op: &Operation, dialect: Dialect, ctx: &OpContext<'_>) -> Result<Rendered, Problem> {
    match op {
        Operation::CreateTable(shape) => Ok(Rendered::plain(vec![create_table(
            shape,
            &shape.name,
            dialect,
        )])),
        Operation::DropTable { table } => Ok(Rendered::plain(vec![build(
            &Table::drop().table(table.clone()).to_owned(),
            dialect,
        )])),
        Operation::RenameTable { table, new_name } => Ok(Rendered::plain(vec![build(
            &Table::rename()
                .table(table.clone(), new_name.clone())
                .to_owned(),
            dialect,
        )])),
        Operation::AddColumn {
            table,
            column,
            foreign_key,
            check,
        } => add_column(op, table, column, foreign_key, check, dialect, ctx),
        Operation::DropColumn { table, column } => drop_column(op, table, column, dialect, ctx),
        Operation::AlterColumn {
            table,
            column,
            change,
        } => alter_column(op, table, column, change, dialect, ctx),
        Operation::CreateIndex {
            table,
            index,
            concurrently,
        } => {
            if *concurrently && dialect == Dialect::Postgres && ctx.transactional {
                return Err(concurrently_in_transaction("create_index"));
            }
            Ok(Rendered::plain(vec![create_index(
                table,
                index,
                dialect,
                *concurrently,
            )?]))
        }
        Operation::DropIndex {
            table,
            name,
            concurrently,
        } => {
            let mut stmt = SqIndex::drop();
            stmt.name(name.clone());
            match dialect {
                Dialect::Mysql => {
                    stmt.table(table.clone());
                }
                Dialect::Postgres if *concurrently => {
                    if ctx.transactional {
                        return Err(concurrently_in_transaction("drop_index"));
                    }
                    stmt.concurrently();
                }
                Dialect::Postgres | Dialect::Sqlite => {}
            }
            Ok(Rendered::plain(vec![build(&stmt, dialect)]))
        }
        Operation::AddForeignKey { table, foreign_key } => match dialect {
            Dialect::Sqlite => rebuild_for(op, table, ctx),
            Dialect::Postgres | Dialect::Mysql => Ok(Rendered::plain(vec![build(
                &fk_statement(table, foreign_key),
                dialect,
            )])),
        },
        Operation::DropForeignKey { table, name } => match dialect {
            Dialect::Sqlite => {
                require_constraint(ctx, table, name, op)?;
                rebuild_for(op, table, ctx)
            }
            Dialect::Postgres | Dialect::Mysql => Ok(Rendered::plain(vec![build(
                &SqForeignKey::drop()
                    .name(name.clone())
                    .table(table.clone())
                    .to_owned(),
                dialect,
            )])),
        },
        Operation::AddUnique { table, unique } => match dialect {
            Dialect::Sqlite => rebuild_for(op, table, ctx),
            Dialect::Postgres | Dialect::Mysql => Ok(Rendered::plain(vec![format!(
                "ALTER TABLE {} ADD {}UNIQUE ({})",
                q(table, dialect),
                constraint_name(&unique.name, dialect),
                q_list(&unique.columns, dialect)
            )])),
        },
        Operation::AddCheck { table, check } => match dialect {
            Dialect::Sqlite => rebuild_for(op, table, ctx),
            Dialect::Postgres | Dialect::Mysql => Ok(Rendered::plain(vec![format!(
                "ALTER TABLE {} ADD {}CHECK ({})",
                q(table, dialect),
                constraint_name(&check.name, dialect),
                check.sql
            )])),
        },
        Operation::DropConstraint { table, name, kind } => {
            drop_constraint(op, table, name, *kind, dialect, ctx)
        }
    }
}

fn concurrently_in_transaction(op: &str) -> Problem {
    Problem::Unsupported(format!(
        "{op} with `concurrently = true` cannot run inside a transaction on postgresql: set `transactional = false` at the top of the revision"
    ))
}

fn require_constraint(
    ctx: &OpContext<'_>,
    table: &str,
    name: &str,
    op: &Operation,
) -> Result<ConstraintKind, Problem> {
    let shape = ctx.schema.require(table, &sqlite_why(op))?;
    shape.constraint_kind(name).ok_or_else(|| {
        Problem::Unsupported(format!(
            "table `{table}` has no named constraint `{name}` in the definition replayed from earlier revisions, so the rebuild cannot remove it; check the name, or write the change as an `op = \"sql\"` step"
        ))
    })
}

fn sqlite_why(op: &Operation) -> String {
    format!(
        "{} on sqlite (a table rebuild, as SQLite's ALTER TABLE cannot do it)",
        op.name()
    )
}

/// A SQLite rebuild of `table` applying `op`.
fn rebuild_for(op: &Operation, table: &str, ctx: &OpContext<'_>) -> Result<Rendered, Problem> {
    let old = ctx.schema.require(table, &sqlite_why(op))?;
    let mut after = SchemaModel::from_shapes([old.clone()]);
    after.apply(op);
    let Some(new) = after.shape(table) else {
        return Err(Problem::Unsupported(format!(
            "{} leaves no table `{table}` to rebuild",
            op.name()
        )));
    };
    let renamed = match op {
        Operation::AlterColumn {
            column,
            change: ColumnChange {
                new_name: Some(n), ..
            },
            ..
        } => Some((column.as_str(), n.as_str())),
        _ => None,
    };
    Ok(rebuild(old, new, renamed))
}

fn add_column(
    op: &Operation,
    table: &str,
    column: &Column,
    foreign_key: &Option<ForeignKey>,
    check: &Option<super::model::Check>,
    dialect: Dialect,
    ctx: &OpContext<'_>,
) -> Result<Rendered, Problem> {
    if dialect == Dialect::Sqlite {
        // SQLite's ADD COLUMN refuses PRIMARY KEY and UNIQUE columns, NOT
        // NULL without a default, and non-constant defaults; constraints
        // are added with the column by a rebuild.
        let plain = !column.primary_key
            && !column.unique
            && (column.nullable || column.default.is_some())
            && !matches!(column.default, Some(DefaultValue::Sql(_)))
            && foreign_key.is_none()
            && check.is_none();
        if !plain {
            return rebuild_for(op, table, ctx);
        }
    }
    let mut statements = vec![build(
        &Table::alter()
            .table(table.to_string())
            .add_column(column_def(column, dialect, true))
            .to_owned(),
        dialect,
    )];
    if let Some(fk) = foreign_key {
        statements.push(build(&fk_statement(table, fk), dialect));
    }
    if let Some(check) = check {
        statements.push(format!(
            "ALTER TABLE {} ADD {}CHECK ({})",
            q(table, dialect),
            constraint_name(&check.name, dialect),
            check.sql
        ));
    }
    Ok(Rendered::plain(statements))
}

fn drop_column(
    op: &Operation,
    table: &str,
    column: &str,
    dialect: Dialect,
    ctx: &OpContext<'_>,
) -> Result<Rendered, Problem> {
    if dialect == Dialect::Sqlite {
        if let Some(shape) = ctx.schema.shape(table) {
            if sqlite_cannot_drop(shape, column) {
                return rebuild_for(op, table, ctx);
            }
        }
        // Unknown shape: SQLite refuses a DROP COLUMN it cannot do, with
        // its own message, and changes nothing.
    }
    Ok(Rendered::plain(vec![build(
        &Table::alter()
            .table(table.to_string())
            .drop_column(column.to_string())
            .to_owned(),
        dialect,
    )]))
}

/// SQLite's DROP COLUMN fails for key, unique, indexed, foreign-key and
/// checked columns, and for columns used by views and triggers.
fn sqlite_cannot_drop(shape: &TableShape, column: &str) -> bool {
    let is = |n: &String| n.eq_ignore_ascii_case(column);
    let word = column.to_ascii_lowercase();
    let mentions = |sql: &str| super::schema::words(sql).contains(&word);
    shape
        .column(column)
        .is_some_and(|c| c.primary_key || c.unique)
        || shape.primary_key.iter().any(is)
        || shape.uniques.iter().any(|u| u.columns.iter().any(is))
        || shape.foreign_keys.iter().any(|f| f.columns.iter().any(is))
        || shape
            .indexes
            .iter()
            .any(|i| i.columns.iter().any(is) || i.r#where.as_deref().is_some_and(mentions))
        || shape.checks.iter().any(|c| mentions(&c.sql))
        || shape.dependents.iter().any(|d| mentions(&d.sql))
}

fn alter_column(
    op: &Operation,
    table: &str,
    column: &str,
    change: &ColumnChange,
    dialect: Dialect,
    ctx: &OpContext<'_>,
) -> Result<Rendered, Problem> {
    let rename_only = change.ty.is_none() && change.nullable.is_none() && change.default.is_none();
    let rename = change.new_name.as_ref().map(|new_name| {
        build(
            &Table::alter()
                .table(table.to_string())
                .rename_column(column.to_string(), new_name.clone())
                .to_owned(),
            dialect,
        )
    });
    if rename_only {
        return Ok(Rendered::plain(rename.into_iter().collect()));
    }
    if change.using.is_some() && dialect != Dialect::Postgres {
        return Err(Problem::Unsupported(format!(
            "`using` is PostgreSQL syntax; {dialect} converts values itself: remove `using` or give a postgresql-only `op = \"sql\"` step"
        )));
    }
    let mut statements = match dialect {
        Dialect::Sqlite => return rebuild_for(op, table, ctx),
        Dialect::Postgres => alter_postgres(table, column, change),
        Dialect::Mysql => alter_mysql(table, column, change, ctx)?,
    };
    statements.extend(rename);
    Ok(Rendered::plain(statements))
}

fn alter_postgres(table: &str, column: &str, change: &ColumnChange) -> Vec<String> {
    let dialect = Dialect::Postgres;
    let mut statements = Vec::new();
    let mut def = ColumnDef::new(column.to_string());
    let mut any = false;
    if let Some(ty) = &change.ty {
        if let Some(using) = &change.using {
            let mut probe = ColumnDef::new_with_type(column.to_string(), sea_type(ty, dialect));
            let typed = build(
                &Table::alter()
                    .table(table.to_string())
                    .modify_column(&mut probe)
                    .to_owned(),
                dialect,
            );
            statements.push(format!("{typed} USING {using}"));
        } else {
            def = ColumnDef::new_with_type(column.to_string(), sea_type(ty, dialect));
            any = true;
        }
    }
    if let Some(nullable) = change.nullable {
        if nullable {
            def.null();
        } else {
            def.not_null();
        }
        any = true;
    }
    match &change.default {
        Some(Some(d)) => {
            def.default(default_expr(d));
            any = true;
        }
        Some(None) => {}
        None => {}
    }
    if any {
        statements.push(build(
            &Table::alter()
                .table(table.to_string())
                .modify_column(&mut def)
                .to_owned(),
            dialect,
        ));
    }
    if let Some(None) = change.default {
        statements.push(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            q(table, dialect),
            q(column, dialect)
        ));
    }
    statements
}

fn alter_mysql(
    table: &str,
    column: &str,
    change: &ColumnChange,
    ctx: &OpContext<'_>,
) -> Result<Vec<String>, Problem> {
    let dialect = Dialect::Mysql;
    if change.ty.is_none() && change.nullable.is_none() {
        // Only the default changes: no full definition needed.
        return Ok(vec![match &change.default {
            Some(Some(d)) => format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                q(table, dialect),
                q(column, dialect),
                default_sql(d, dialect)
            ),
            Some(None) | None => format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                q(table, dialect),
                q(column, dialect)
            ),
        }]);
    }
    // MODIFY COLUMN restates the whole column: what is not said is lost.
    let current = match ctx.schema.shape(table).and_then(|s| s.column(column)) {
        Some(c) => c.clone(),
        None => match (&change.ty, change.nullable, &change.default) {
            (Some(ty), Some(nullable), Some(_)) => Column {
                name: column.to_string(),
                ty: ty.clone(),
                nullable,
                default: None,
                primary_key: false,
                autoincrement: false,
                unique: false,
            },
            _ => {
                return Err(Problem::NeedShape(format!(
                    "alter_column on mysql is a MODIFY COLUMN, which restates the whole column, but the current definition of `{table}.{column}` is not known from earlier revisions' operations; give all of `type`, `nullable` and `default` (or `drop_default = true`), or write the change as an `op = \"sql\"` step"
                )))
            }
        },
    };
    let mut new = current;
    if let Some(ty) = &change.ty {
        new.ty = ty.clone();
    }
    if let Some(nullable) = change.nullable {
        new.nullable = nullable;
    }
    if let Some(default) = &change.default {
        new.default = default.clone();
    }
    // The key and UNIQUE stay as they are (restating them is an error).
    new.primary_key = false;
    new.unique = false;
    Ok(vec![build(
        &Table::alter()
            .table(table.to_string())
            .modify_column(column_def(&new, dialect, false))
            .to_owned(),
        dialect,
    )])
}

fn drop_constraint(
    op: &Operation,
    table: &str,
    name: &str,
    kind: Option<ConstraintKind>,
    dialect: Dialect,
    ctx: &OpContext<'_>,
) -> Result<Rendered, Problem> {
    let kind = kind.or_else(|| {
        ctx.schema
            .shape(table)
            .and_then(|s| s.constraint_kind(name))
    });
    let what = match dialect {
        Dialect::Sqlite => {
            require_constraint(ctx, table, name, op)?;
            return rebuild_for(op, table, ctx);
        }
        Dialect::Postgres => "CONSTRAINT",
        Dialect::Mysql => match kind {
            Some(ConstraintKind::ForeignKey) => "FOREIGN KEY",
            Some(ConstraintKind::Unique) => "INDEX",
            // MySQL 8.0.19+ and MariaDB both drop a CHECK (and, on MySQL,
            // any constraint) by name with DROP CONSTRAINT.
            Some(ConstraintKind::Check) | None => "CONSTRAINT",
        },
    };
    Ok(Rendered::plain(vec![format!(
        "ALTER TABLE {} DROP {what} {}",
        q(table, dialect),
        q(name, dialect)
    )]))
}

/// `CREATE TABLE <name> (…)` for `shape` (indexes are separate).
pub(crate) fn create_table(shape: &TableShape, name: &str, dialect: Dialect) -> String {
    let mut stmt = Table::create();
    stmt.table(name.to_string());
    for c in &shape.columns {
        stmt.col(column_def(c, dialect, true));
    }
    if !shape.primary_key.is_empty() {
        let mut pk = SqIndex::create();
        for c in &shape.primary_key {
            pk.col(c.clone());
        }
        stmt.primary_key(&mut pk);
    }
    for u in &shape.uniques {
        let mut idx = SqIndex::create();
        idx.unique();
        if let Some(n) = &u.name {
            idx.name(n.clone());
        }
        for c in &u.columns {
            idx.col(c.clone());
        }
        stmt.index(&mut idx);
    }
    for fk in &shape.foreign_keys {
        stmt.foreign_key(&mut fk_statement(name, fk));
    }
    for check in &shape.checks {
        let expr = Expr::cust(check.sql.clone());
        stmt.check(match &check.name {
            Some(n) => SqCheck::named(n.clone(), expr),
            None => SqCheck::unnamed(expr),
        });
    }
    build(&stmt, dialect)
}

/// `CREATE [UNIQUE] INDEX …`.
pub(crate) fn create_index(
    table: &str,
    index: &Index,
    dialect: Dialect,
    concurrently: bool,
) -> Result<String, Problem> {
    let mut stmt = SqIndex::create();
    stmt.name(index.name.clone()).table(table.to_string());
    for c in &index.columns {
        stmt.col(c.clone());
    }
    if index.unique {
        stmt.unique();
    }
    if let Some(cond) = &index.r#where {
        if dialect == Dialect::Mysql {
            return Err(Problem::Unsupported(
                "mysql has no partial indexes (`where`): drop `where`, or give a mysql-specific `op = \"sql\"` step".to_string(),
            ));
        }
        stmt.and_where(Expr::cust(cond.clone()));
    }
    if concurrently && dialect == Dialect::Postgres {
        stmt.concurrently();
    }
    Ok(build(&stmt, dialect))
}

/// A sea-query column definition. `with_keys`: include inline PRIMARY KEY
/// and UNIQUE (not in MySQL's MODIFY).
fn column_def(c: &Column, dialect: Dialect, with_keys: bool) -> ColumnDef {
    let mut def = ColumnDef::new_with_type(c.name.clone(), sea_type(&c.ty, dialect));
    if c.nullable {
        def.null();
    } else {
        def.not_null();
    }
    if let Some(d) = &c.default {
        def.default(default_expr(d));
    }
    if with_keys && c.primary_key {
        def.primary_key();
    }
    // Parsing allows autoincrement only on integer primary key columns,
    // the only case sea-query renders on every backend without panicking.
    if c.autoincrement && c.ty.is_integer() {
        def.auto_increment();
    }
    if with_keys && c.unique {
        def.unique_key();
    }
    def
}

fn default_expr(d: &DefaultValue) -> Expr {
    match d {
        DefaultValue::String(s) => Expr::val(s.clone()),
        DefaultValue::Integer(i) => Expr::val(*i),
        DefaultValue::Float(f) => Expr::val(*f),
        DefaultValue::Boolean(b) => Expr::val(*b),
        DefaultValue::Sql(s) => Expr::cust(s.clone()),
    }
}

/// A default as SQL text, escaped by sea-query's backend.
fn default_sql(d: &DefaultValue, dialect: Dialect) -> String {
    if let DefaultValue::Sql(s) = d {
        return format!("({s})");
    }
    let select = Query::select().expr(default_expr(d)).to_owned();
    let sql = match dialect {
        Dialect::Sqlite => select.to_string(SqliteQueryBuilder),
        Dialect::Postgres => select.to_string(PostgresQueryBuilder),
        Dialect::Mysql => select.to_string(MysqlQueryBuilder),
    };
    sql.strip_prefix("SELECT ").unwrap_or(&sql).to_string()
}

fn fk_statement(table: &str, fk: &ForeignKey) -> ForeignKeyCreateStatement {
    let mut stmt = SqForeignKey::create();
    if let Some(n) = &fk.name {
        stmt.name(n.clone());
    }
    stmt.from_tbl(table.to_string())
        .to_tbl(fk.ref_table.clone());
    for c in &fk.columns {
        stmt.from_col(c.clone());
    }
    for c in &fk.ref_columns {
        stmt.to_col(c.clone());
    }
    if let Some(a) = fk.on_delete {
        stmt.on_delete(action(a));
    }
    if let Some(a) = fk.on_update {
        stmt.on_update(action(a));
    }
    stmt
}

fn action(a: FkAction) -> ForeignKeyAction {
    match a {
        FkAction::Cascade => ForeignKeyAction::Cascade,
        FkAction::SetNull => ForeignKeyAction::SetNull,
        FkAction::SetDefault => ForeignKeyAction::SetDefault,
        FkAction::Restrict => ForeignKeyAction::Restrict,
        FkAction::NoAction => ForeignKeyAction::NoAction,
    }
}

/// A statement rendered by the dialect's sea-query backend.
pub(crate) fn build(stmt: &impl SchemaStatementBuilder, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => stmt.to_string(SqliteQueryBuilder),
        Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
        Dialect::Mysql => stmt.to_string(MysqlQueryBuilder),
    }
}

/// An identifier quoted for `dialect` (the parser rejects names with
/// quote characters, so no escaping is needed).
pub(crate) fn q(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite | Dialect::Postgres => format!("\"{name}\""),
        Dialect::Mysql => format!("`{name}`"),
    }
}

fn q_list(names: &[String], dialect: Dialect) -> String {
    names
        .iter()
        .map(|n| q(n, dialect))
        .collect::<Vec<_>>()
        .join(", ")
}

fn constraint_name(name: &Option<String>, dialect: Dialect) -> String {
    name.as_ref()
        .map(|n| format!("CONSTRAINT {} ", q(n, dialect)))
        .unwrap_or_default()
}
