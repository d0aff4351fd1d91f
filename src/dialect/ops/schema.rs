//! [`SchemaModel`]: the shape of each table as far as retort knows it,
//! before a given step.
//!
//! Offline, the model is built by replaying the earlier revisions'
//! operations in upgrade order ([`crate::dialect::render::replay_schema`]).
//! Raw `sql` steps are read conservatively: `CREATE VIEW` / `CREATE
//! TRIGGER` statements become dependents of every known table they
//! mention (a rebuild recreates them), `DROP VIEW` / `DROP TRIGGER` remove
//! them, and any other statement that mentions a known table by name
//! (a whole-word match, case-insensitive) *taints* it: its definition is
//! no longer known, and an operation that needs it says which step did it
//! and what to do. The model is pluggable: the online runner can seed it
//! from the live database instead ([`SchemaModel::from_shapes`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::model::{Dependent, DependentKind, Operation, TableShape};
use super::Problem;
use crate::dialect::{split_statements, Dialect};

/// Where a raw `sql` step touched a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// Revision id.
    pub revision: String,
    /// Revision file.
    pub file: PathBuf,
    /// 1-based step number in `upgrade`.
    pub step: usize,
    /// Line of the step.
    pub line: usize,
}

/// What the model knows about one table.
#[derive(Debug, Clone, PartialEq)]
pub enum TableState {
    /// Its full definition.
    Known(TableShape),
    /// Raw SQL changed it; its definition is unknown from here on.
    Tainted(Taint),
    /// It exists in the live database, but its definition does not fit
    /// the portable model (the reason says what).
    Opaque(String),
}

/// The tables known before a step, keyed by lower-case name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaModel {
    tables: BTreeMap<String, TableState>,
}

impl SchemaModel {
    /// A model that knows no table.
    pub fn new() -> SchemaModel {
        SchemaModel::default()
    }

    /// A model seeded with `shapes` (e.g. introspected from a database).
    pub fn from_shapes(shapes: impl IntoIterator<Item = TableShape>) -> SchemaModel {
        SchemaModel {
            tables: shapes
                .into_iter()
                .map(|s| (s.name.to_ascii_lowercase(), TableState::Known(s)))
                .collect(),
        }
    }

    /// Sets what is known about `table`.
    pub fn set_state(&mut self, table: &str, state: TableState) {
        self.tables.insert(table.to_ascii_lowercase(), state);
    }

    /// What is known about `table`.
    pub fn state(&self, table: &str) -> Option<&TableState> {
        self.tables.get(&table.to_ascii_lowercase())
    }

    /// The known shape of `table`, if any.
    pub fn shape(&self, table: &str) -> Option<&TableShape> {
        match self.state(table) {
            Some(TableState::Known(shape)) => Some(shape),
            Some(TableState::Tainted(_) | TableState::Opaque(_)) | None => None,
        }
    }

    /// The shape of `table`, or a [`Problem::NeedShape`] saying why it is
    /// unknown and what to do; `why` says what needs it.
    ///
    /// # Errors
    /// When the table is unknown or tainted.
    pub fn require(&self, table: &str, why: &str) -> Result<&TableShape, Problem> {
        match self.state(table) {
            Some(TableState::Known(shape)) => Ok(shape),
            Some(TableState::Tainted(t)) => Err(Problem::NeedShape(format!(
                "{why} needs the current definition of table `{table}`, but raw SQL in revision {} ({}), upgrade step {} (line {}) changed it, so retort cannot know it; write this change as an `op = \"sql\"` step with the statements, or recreate the table with a `create_table` operation giving its full definition",
                t.revision,
                t.file.display(),
                t.step,
                t.line
            ))),
            Some(TableState::Opaque(reason)) => Err(Problem::NeedShape(format!(
                "{why} needs the current definition of table `{table}`, but in the database {reason}, which retort's table model cannot represent; write this change as an `op = \"sql\"` step with the statements"
            ))),
            None => Err(Problem::NeedShape(format!(
                "{why} needs the current definition of table `{table}`, but no earlier revision creates it with a `create_table` operation; write this change as an `op = \"sql\"` step with the statements, or give the table's full definition in a `create_table` operation"
            ))),
        }
    }

    /// Every known shape, by name.
    pub fn shapes(&self) -> impl Iterator<Item = &TableShape> {
        self.tables.values().filter_map(|s| match s {
            TableState::Known(shape) => Some(shape),
            TableState::Tainted(_) | TableState::Opaque(_) => None,
        })
    }

    fn known_mut(&mut self, table: &str) -> Option<&mut TableShape> {
        match self.tables.get_mut(&table.to_ascii_lowercase()) {
            Some(TableState::Known(shape)) => Some(shape),
            Some(TableState::Tainted(_) | TableState::Opaque(_)) | None => None,
        }
    }

    /// Records `op`'s effect. Operations on tables the model does not know
    /// leave it unchanged.
    pub fn apply(&mut self, op: &Operation) {
        match op {
            Operation::CreateTable(shape) => {
                self.tables.insert(
                    shape.name.to_ascii_lowercase(),
                    TableState::Known(shape.clone()),
                );
            }
            Operation::DropTable { table } => {
                self.tables.remove(&table.to_ascii_lowercase());
            }
            Operation::RenameTable { table, new_name } => self.rename_table(table, new_name),
            Operation::AddColumn {
                table,
                column,
                foreign_key,
                check,
            } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.columns.push(column.clone());
                    shape.foreign_keys.extend(foreign_key.clone());
                    shape.checks.extend(check.clone());
                }
            }
            Operation::DropColumn { table, column } => {
                if let Some(shape) = self.known_mut(table) {
                    drop_column(shape, column);
                }
            }
            Operation::AlterColumn {
                table,
                column,
                change,
            } => {
                if let Some(shape) = self.known_mut(table) {
                    if let Some(c) = shape
                        .columns
                        .iter_mut()
                        .find(|c| c.name.eq_ignore_ascii_case(column))
                    {
                        if let Some(ty) = &change.ty {
                            c.ty = ty.clone();
                        }
                        if let Some(nullable) = change.nullable {
                            c.nullable = nullable;
                        }
                        if let Some(default) = &change.default {
                            c.default = default.clone();
                        }
                    }
                }
                if let Some(new_name) = &change.new_name {
                    self.rename_column(table, column, new_name);
                }
            }
            Operation::CreateIndex { table, index, .. } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.indexes.push(index.clone());
                }
            }
            Operation::DropIndex { table, name, .. } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.indexes.retain(|i| !i.name.eq_ignore_ascii_case(name));
                }
            }
            Operation::AddForeignKey { table, foreign_key } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.foreign_keys.push(foreign_key.clone());
                }
            }
            Operation::AddUnique { table, unique } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.uniques.push(unique.clone());
                }
            }
            Operation::AddCheck { table, check } => {
                if let Some(shape) = self.known_mut(table) {
                    shape.checks.push(check.clone());
                }
            }
            Operation::DropForeignKey { table, name }
            | Operation::DropConstraint { table, name, .. } => {
                if let Some(shape) = self.known_mut(table) {
                    let other = |n: &Option<String>| {
                        !n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name))
                    };
                    shape.foreign_keys.retain(|f| other(&f.name));
                    shape.uniques.retain(|u| other(&u.name));
                    shape.checks.retain(|c| other(&c.name));
                }
            }
        }
    }

    fn rename_table(&mut self, table: &str, new_name: &str) {
        let Some(state) = self.tables.remove(&table.to_ascii_lowercase()) else {
            return;
        };
        let state = match state {
            TableState::Known(mut shape) => {
                shape.name = new_name.to_string();
                TableState::Known(shape)
            }
            other @ (TableState::Tainted(_) | TableState::Opaque(_)) => other,
        };
        self.tables.insert(new_name.to_ascii_lowercase(), state);
        // Foreign keys follow the table (SQLite rewrites them on RENAME;
        // PostgreSQL and MySQL refer to the table itself), and so do the
        // views and triggers SQLite rewrites.
        for state in self.tables.values_mut() {
            if let TableState::Known(shape) = state {
                for fk in &mut shape.foreign_keys {
                    if fk.ref_table.eq_ignore_ascii_case(table) {
                        fk.ref_table = new_name.to_string();
                    }
                }
                for d in &mut shape.dependents {
                    d.sql = replace_word(&d.sql, table, new_name);
                }
            }
        }
    }

    fn rename_column(&mut self, table: &str, column: &str, new_name: &str) {
        let rename = |names: &mut Vec<String>| {
            for n in names.iter_mut() {
                if n.eq_ignore_ascii_case(column) {
                    *n = new_name.to_string();
                }
            }
        };
        for state in self.tables.values_mut() {
            let TableState::Known(shape) = state else {
                continue;
            };
            if shape.name.eq_ignore_ascii_case(table) {
                for c in &mut shape.columns {
                    if c.name.eq_ignore_ascii_case(column) {
                        c.name = new_name.to_string();
                    }
                }
                rename(&mut shape.primary_key);
                shape
                    .indexes
                    .iter_mut()
                    .for_each(|i| rename(&mut i.columns));
                shape
                    .uniques
                    .iter_mut()
                    .for_each(|u| rename(&mut u.columns));
                shape
                    .foreign_keys
                    .iter_mut()
                    .for_each(|f| rename(&mut f.columns));
            }
            for fk in &mut shape.foreign_keys {
                if fk.ref_table.eq_ignore_ascii_case(table) {
                    rename(&mut fk.ref_columns);
                }
            }
        }
    }

    /// Records a raw `sql` step (the text for `dialect`): views and
    /// triggers become dependents, anything else that mentions a known
    /// table taints it.
    pub fn apply_sql(&mut self, text: &str, dialect: Dialect, taint: &Taint) {
        for statement in split_statements(text, dialect) {
            let words = words(&statement);
            match dependent_of(&statement) {
                Some(Effect::Create(dep)) => {
                    for state in self.tables.values_mut() {
                        if let TableState::Known(shape) = state {
                            if words.contains(&shape.name.to_ascii_lowercase()) {
                                shape.dependents.retain(|d| {
                                    !(d.kind == dep.kind && d.name.eq_ignore_ascii_case(&dep.name))
                                });
                                shape.dependents.push(dep.clone());
                            }
                        }
                    }
                }
                Some(Effect::Drop(kind, name)) => {
                    for state in self.tables.values_mut() {
                        if let TableState::Known(shape) = state {
                            shape.dependents.retain(|d| {
                                !(d.kind == kind && d.name.eq_ignore_ascii_case(&name))
                            });
                        }
                    }
                }
                None if is_dml(&statement) => {}
                None => {
                    for (name, state) in self.tables.iter_mut() {
                        if words.contains(name) {
                            *state = TableState::Tainted(taint.clone());
                        }
                    }
                }
            }
        }
    }
}

/// Whether `statement` only reads or writes rows (`SELECT`, `INSERT`,
/// `UPDATE`, `DELETE`, `WITH …`, `VALUES`): it cannot change a table's
/// definition, so it taints nothing (a data-lane backfill must not make a
/// later rebuild impossible offline). `REPLACE` and `MERGE` count too.
fn is_dml(statement: &str) -> bool {
    let first = statement
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        first.as_str(),
        "select" | "insert" | "update" | "delete" | "with" | "values" | "replace" | "merge"
    )
}

fn drop_column(shape: &mut TableShape, column: &str) {
    let is = |n: &String| n.eq_ignore_ascii_case(column);
    shape.columns.retain(|c| !is(&c.name));
    shape.primary_key.retain(|n| !is(n));
    shape.indexes.retain(|i| !i.columns.iter().any(is));
    shape.uniques.retain(|u| !u.columns.iter().any(is));
    shape.foreign_keys.retain(|f| !f.columns.iter().any(is));
    let lower = column.to_ascii_lowercase();
    shape.checks.retain(|c| !words(&c.sql).contains(&lower));
}

enum Effect {
    Create(Dependent),
    Drop(DependentKind, String),
}

/// `CREATE [TEMP] VIEW|TRIGGER [IF NOT EXISTS] name …` or `DROP
/// VIEW|TRIGGER [IF EXISTS] name`.
fn dependent_of(statement: &str) -> Option<Effect> {
    let tokens: Vec<String> = statement
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|t| !t.is_empty())
        .take(8)
        .map(|t| t.to_ascii_lowercase())
        .collect();
    let mut i = 0;
    let create = match tokens.first()?.as_str() {
        "create" => true,
        "drop" => false,
        _ => return None,
    };
    i += 1;
    if create
        && tokens
            .get(i)
            .is_some_and(|t| t == "temp" || t == "temporary")
    {
        i += 1;
    }
    let kind = match tokens.get(i)?.as_str() {
        "view" => DependentKind::View,
        "trigger" => DependentKind::Trigger,
        _ => return None,
    };
    i += 1;
    let skip: &[&str] = if create {
        &["if", "not", "exists"]
    } else {
        &["if", "exists"]
    };
    while tokens.get(i).is_some_and(|t| skip.contains(&t.as_str())) {
        i += 1;
    }
    let name = tokens
        .get(i)?
        .trim_matches(|c| c == '"' || c == '`')
        .to_string();
    Some(if create {
        Effect::Create(Dependent {
            kind,
            name,
            sql: statement.trim().to_string(),
        })
    } else {
        Effect::Drop(kind, name)
    })
}

/// The identifier-like words of `sql`, lower-cased.
pub(crate) fn words(sql: &str) -> BTreeSet<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// `sql` with whole-word occurrences of `from` replaced by `to`.
fn replace_word(sql: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.eq_ignore_ascii_case(from) {
            out.push_str(to);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in sql.chars() {
        if c.is_alphanumeric() || c == '_' || c == '$' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint() -> Taint {
        Taint {
            revision: "r1".into(),
            file: "migrations/schema/r1_x.toml".into(),
            step: 2,
            line: 9,
        }
    }

    #[test]
    fn raw_sql_views_and_triggers_are_dependents_other_statements_taint() {
        let mut m = SchemaModel::from_shapes([TableShape::new("parent"), TableShape::new("other")]);
        m.apply_sql(
            "CREATE VIEW v_parent AS SELECT * FROM parent; CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON \"parent\" BEGIN SELECT 1; END",
            Dialect::Sqlite,
            &taint(),
        );
        let deps = &m.shape("parent").unwrap().dependents;
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0].name, "v_parent");
        assert_eq!(deps[1].kind, DependentKind::Trigger);
        assert!(m.shape("other").unwrap().dependents.is_empty());
        m.apply_sql("DROP VIEW IF EXISTS v_parent", Dialect::Sqlite, &taint());
        assert_eq!(m.shape("parent").unwrap().dependents.len(), 1);
        m.apply_sql("UPDATE Other SET x = 1", Dialect::Sqlite, &taint());
        assert!(m.shape("other").is_some(), "DML changes no definition");
        m.apply_sql("ALTER TABLE Other ADD x int", Dialect::Sqlite, &taint());
        assert!(m.shape("other").is_none());
        let e = m.require("other", "alter_column").unwrap_err().to_string();
        assert!(
            e.contains(
                "raw SQL in revision r1 (migrations/schema/r1_x.toml), upgrade step 2 (line 9)"
            ),
            "{e}"
        );
        assert!(m
            .require("nope", "x")
            .unwrap_err()
            .to_string()
            .contains("no earlier revision creates it"));
    }

    #[test]
    fn rename_follows_foreign_keys_and_views() {
        let mut m = SchemaModel::from_shapes([TableShape::new("a")]);
        m.apply_sql(
            "CREATE VIEW va AS SELECT * FROM a",
            Dialect::Sqlite,
            &taint(),
        );
        m.apply(&Operation::RenameTable {
            table: "a".into(),
            new_name: "b".into(),
        });
        assert_eq!(
            m.shape("b").unwrap().dependents[0].sql,
            "CREATE VIEW va AS SELECT * FROM b"
        );
        assert!(m.shape("a").is_none());
    }
}
