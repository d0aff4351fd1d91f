//! The SQLite table rebuild: how retort changes what SQLite's ALTER TABLE
//! cannot (column type, nullability or default; constraints; some column
//! drops). It follows "Making Other Kinds Of Table Schema Changes" in
//! SQLite's ALTER TABLE documentation:
//!
//! 1. drop the views and triggers that mention the table (a dangling view
//!    makes the later RENAME fail; triggers on the table go with it);
//! 2. `CREATE TABLE "_retort_new_<t>"` with the changed definition;
//! 3. `INSERT INTO "_retort_new_<t>" (kept columns) SELECT … FROM "<t>"`;
//! 4. `DROP TABLE "<t>"`, then rename the new table to `<t>`;
//! 5. recreate the indexes, then the views, then the triggers;
//! 6. `PRAGMA foreign_key_check`, whose rows (if any) must fail the
//!    revision before commit.
//!
//! Why foreign keys go off: with `PRAGMA foreign_keys=ON`, step 4's DROP
//! deletes every row first, and ON DELETE CASCADE children lose theirs
//! (Atlas lost child rows exactly so). The pragma is a no-op inside a
//! transaction, so it cannot be one of these statements:
//! [`super::Rendered::foreign_keys_off`] tells the runner to issue it
//! before `BEGIN`.

use super::model::{DependentKind, TableShape};
use super::render::{create_index, create_table, q, Rendered};
use crate::dialect::Dialect;

/// The statements rebuilding `old` as `new`. `renamed`: a column renamed
/// in the same change (old name, new name), so its values are copied.
pub fn rebuild(old: &TableShape, new: &TableShape, renamed: Option<(&str, &str)>) -> Rendered {
    let d = Dialect::Sqlite;
    let table = &old.name;
    let temp = format!("_retort_new_{}", new.name);
    let mut statements = Vec::new();
    for dep in &old.dependents {
        statements.push(match dep.kind {
            DependentKind::View => format!("DROP VIEW IF EXISTS {}", q(&dep.name, d)),
            DependentKind::Trigger => format!("DROP TRIGGER IF EXISTS {}", q(&dep.name, d)),
        });
    }
    statements.push(create_table(new, &temp, d));
    let (into, from): (Vec<String>, Vec<String>) = new
        .columns
        .iter()
        .filter_map(|c| {
            let source = match renamed {
                Some((was, now)) if c.name.eq_ignore_ascii_case(now) => was,
                _ => c.name.as_str(),
            };
            old.column(source).map(|o| (q(&c.name, d), q(&o.name, d)))
        })
        .unzip();
    if !into.is_empty() {
        statements.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            q(&temp, d),
            into.join(", "),
            from.join(", "),
            q(table, d)
        ));
    }
    statements.push(format!("DROP TABLE {}", q(table, d)));
    statements.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        q(&temp, d),
        q(&new.name, d)
    ));
    for index in &new.indexes {
        // SQLite supports every index the parser accepts, so this cannot
        // fail; an error would only drop the index from the list.
        if let Ok(sql) = create_index(&new.name, index, d, false) {
            statements.push(sql);
        }
    }
    for kind in [DependentKind::View, DependentKind::Trigger] {
        statements.extend(
            new.dependents
                .iter()
                .filter(|dep| dep.kind == kind)
                .map(|dep| dep.sql.clone()),
        );
    }
    statements.push("PRAGMA foreign_key_check".to_string());
    Rendered {
        statements,
        foreign_keys_off: true,
    }
}
