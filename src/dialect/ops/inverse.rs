//! Derived downgrades: the inverse of one operation, given the schema
//! before it ran.
//!
//! Creating is undone by dropping and renaming by renaming back, with no
//! knowledge needed. Dropping and altering are undone only when the
//! schema model knows what was there before (the replayed definition);
//! otherwise the revision needs explicit `[[downgrade]]` steps.

use super::model::{ColumnChange, ConstraintKind, Operation};
use super::schema::SchemaModel;
use super::Problem;

/// The operations that undo `op`, in run order. `before` is the schema
/// just before `op`.
///
/// # Errors
/// [`Problem::NotInvertible`] when the previous definition is not known.
pub fn invert(op: &Operation, before: &SchemaModel) -> Result<Vec<Operation>, Problem> {
    let table = op.table().to_string();
    let unknown = |what: String| {
        Problem::NotInvertible(format!(
            "{} cannot be undone: {what} is not known from earlier revisions' operations",
            op.name()
        ))
    };
    let shape = || {
        before
            .shape(&table)
            .ok_or_else(|| unknown(format!("the definition of table `{table}`")))
    };
    Ok(match op {
        Operation::CreateTable(s) => vec![Operation::DropTable {
            table: s.name.clone(),
        }],
        Operation::DropTable { .. } => {
            let s = shape()?;
            let mut ops = vec![Operation::CreateTable(s.clone())];
            ops.extend(s.indexes.iter().map(|index| Operation::CreateIndex {
                table: table.clone(),
                index: index.clone(),
                concurrently: false,
            }));
            ops
        }
        Operation::RenameTable { table, new_name } => vec![Operation::RenameTable {
            table: new_name.clone(),
            new_name: table.clone(),
        }],
        Operation::AddColumn { column, .. } => vec![Operation::DropColumn {
            table,
            column: column.name.clone(),
        }],
        Operation::DropColumn { column, .. } => {
            let s = shape()?;
            let def = s
                .column(column)
                .ok_or_else(|| unknown(format!("column `{table}.{column}`")))?;
            let is = |n: &String| n.eq_ignore_ascii_case(column);
            let mut ops = vec![Operation::AddColumn {
                table: table.clone(),
                column: def.clone(),
                foreign_key: s
                    .foreign_keys
                    .iter()
                    .find(|f| f.columns.len() == 1 && f.columns.iter().any(is))
                    .cloned(),
                check: None,
            }];
            ops.extend(
                s.indexes
                    .iter()
                    .filter(|i| i.columns.iter().any(is))
                    .map(|index| Operation::CreateIndex {
                        table: table.clone(),
                        index: index.clone(),
                        concurrently: false,
                    }),
            );
            ops
        }
        Operation::AlterColumn { column, change, .. } => {
            let current = change.new_name.clone().unwrap_or_else(|| column.clone());
            let needs_old =
                change.ty.is_some() || change.nullable.is_some() || change.default.is_some();
            let old = if needs_old {
                Some(
                    shape()?
                        .column(column)
                        .ok_or_else(|| unknown(format!("column `{table}.{column}`")))?,
                )
            } else {
                None
            };
            vec![Operation::AlterColumn {
                table,
                column: current,
                change: ColumnChange {
                    ty: change.ty.as_ref().and(old.map(|c| c.ty.clone())),
                    nullable: change.nullable.and(old.map(|c| c.nullable)),
                    default: change.default.as_ref().and(old.map(|c| c.default.clone())),
                    new_name: change.new_name.as_ref().map(|_| column.clone()),
                    using: None,
                },
            }]
        }
        Operation::CreateIndex { index, .. } => vec![Operation::DropIndex {
            table,
            name: index.name.clone(),
            concurrently: false,
        }],
        Operation::DropIndex { name, .. } => {
            let index = shape()?
                .indexes
                .iter()
                .find(|i| i.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| unknown(format!("index `{name}`")))?;
            vec![Operation::CreateIndex {
                table,
                index: index.clone(),
                concurrently: false,
            }]
        }
        Operation::AddForeignKey { foreign_key, .. } => match &foreign_key.name {
            Some(name) => vec![Operation::DropForeignKey {
                table,
                name: name.clone(),
            }],
            None => return Err(unknown("the foreign key's name".into())),
        },
        Operation::AddUnique { unique, .. } => match &unique.name {
            Some(name) => vec![Operation::DropConstraint {
                table,
                name: name.clone(),
                kind: Some(ConstraintKind::Unique),
            }],
            None => return Err(unknown("the constraint's name".into())),
        },
        Operation::AddCheck { check, .. } => match &check.name {
            Some(name) => vec![Operation::DropConstraint {
                table,
                name: name.clone(),
                kind: Some(ConstraintKind::Check),
            }],
            None => return Err(unknown("the constraint's name".into())),
        },
        Operation::DropForeignKey { name, .. } | Operation::DropConstraint { name, .. } => {
            let s = shape()?;
            let is =
                |n: &Option<String>| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name));
            if let Some(fk) = s.foreign_keys.iter().find(|f| is(&f.name)) {
                vec![Operation::AddForeignKey {
                    table,
                    foreign_key: fk.clone(),
                }]
            } else if let Some(u) = s.uniques.iter().find(|u| is(&u.name)) {
                vec![Operation::AddUnique {
                    table,
                    unique: u.clone(),
                }]
            } else if let Some(c) = s.checks.iter().find(|c| is(&c.name)) {
                vec![Operation::AddCheck {
                    table,
                    check: c.clone(),
                }]
            } else {
                return Err(unknown(format!("constraint `{name}`")));
            }
        }
    })
}
