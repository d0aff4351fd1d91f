//! Reading a live SQLite schema: the catalog rows that
//! [`crate::dialect::ops::introspect`] turns into table shapes (what a
//! table rebuild must recreate), and `PRAGMA foreign_key_check`.
//!
//! PostgreSQL and MySQL need no introspection to run operations (their
//! ALTERs change a table in place), so they return `None` and the runner
//! uses the replayed model.

use super::{Db, Error};
use crate::dialect::ops::introspect::{
    SqliteColumn, SqliteForeignKey, SqliteIndex, SqliteObject, SqliteTable,
};
use crate::dialect::ops::DependentKind;

/// A row of `PRAGMA foreign_key_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkViolation {
    /// The table holding the violating row.
    pub table: String,
    /// Its rowid (`None` for a WITHOUT ROWID table).
    pub rowid: Option<i64>,
    /// The referenced table.
    pub parent: String,
}

impl std::fmt::Display for FkViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rowid {
            Some(r) => write!(
                f,
                "row {r} of `{}` references a missing row of `{}`",
                self.table, self.parent
            ),
            None => write!(
                f,
                "a row of `{}` references a missing row of `{}`",
                self.table, self.parent
            ),
        }
    }
}

/// Tables, views and triggers of a SQLite database.
pub type SqliteCatalog = (Vec<SqliteTable>, Vec<SqliteObject>);

impl Db {
    /// The SQLite catalog (`None` on other backends).
    ///
    /// # Errors
    /// [`Error::Query`].
    pub async fn sqlite_catalog(&mut self) -> Result<Option<SqliteCatalog>, Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(c) => sqlite_catalog(c)
                .await
                .map(Some)
                .map_err(|source| Error::Query {
                    what: "reading the schema (sqlite_master, PRAGMA table_info)".to_string(),
                    cause: source,
                }),
            #[allow(unreachable_patterns)]
            _ => Ok(None),
        }
    }

    /// The rows of `PRAGMA foreign_key_check` (empty on other backends).
    ///
    /// # Errors
    /// [`Error::Query`].
    pub async fn foreign_key_violations(&mut self) -> Result<Vec<FkViolation>, Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(c) => sqlx::query_as::<_, (String, Option<i64>, String)>(
                r#"SELECT "table", rowid, parent FROM pragma_foreign_key_check"#,
            )
            .fetch_all(&mut *c)
            .await
            .map(|rows| {
                rows.into_iter()
                    .map(|(table, rowid, parent)| FkViolation {
                        table,
                        rowid,
                        parent,
                    })
                    .collect()
            })
            .map_err(|source| Error::Query {
                what: "running PRAGMA foreign_key_check".to_string(),
                cause: source,
            }),
            #[allow(unreachable_patterns)]
            _ => Ok(Vec::new()),
        }
    }
}

#[cfg(feature = "sqlite")]
async fn sqlite_catalog(c: &mut sqlx::SqliteConnection) -> Result<SqliteCatalog, sqlx::Error> {
    let master = sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut tables = Vec::new();
    let mut objects = Vec::new();
    for (kind, name, table, sql) in &master {
        match kind.as_str() {
            "view" | "trigger" => objects.push(SqliteObject {
                kind: if kind == "view" {
                    DependentKind::View
                } else {
                    DependentKind::Trigger
                },
                name: name.clone(),
                table: table.clone(),
                sql: sql.clone(),
            }),
            "table" => tables.push((name.clone(), sql.clone())),
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(tables.len());
    for (name, sql) in tables {
        let columns = sqlx::query_as::<_, (String, String, i64, Option<String>, i64)>(
            r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid"#,
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(|(name, decl_type, nn, default, pk)| SqliteColumn {
            name,
            decl_type,
            not_null: nn != 0,
            default,
            pk,
        })
        .collect();
        let list = sqlx::query_as::<_, (String, i64, String)>(
            r#"SELECT name, "unique", origin FROM pragma_index_list(?1) ORDER BY seq DESC"#,
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
        let mut indexes = Vec::with_capacity(list.len());
        for (ix, unique, origin) in list {
            let columns = sqlx::query_scalar::<_, Option<String>>(
                "SELECT name FROM pragma_index_info(?1) ORDER BY seqno",
            )
            .bind(&ix)
            .fetch_all(&mut *c)
            .await?;
            let sql = master
                .iter()
                .find(|(k, n, _, _)| k == "index" && *n == ix)
                .map(|(_, _, _, s)| s.clone());
            indexes.push(SqliteIndex {
                name: ix,
                unique: unique != 0,
                origin,
                columns,
                sql,
            });
        }
        let fk_rows = sqlx::query_as::<_, (i64, String, String, Option<String>, String, String)>(
            r#"SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq"#,
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
        let mut foreign_keys: Vec<(i64, SqliteForeignKey)> = Vec::new();
        for (id, table, from, to, on_update, on_delete) in fk_rows {
            match foreign_keys.last_mut() {
                Some((last, fk)) if *last == id => {
                    fk.from.push(from);
                    fk.to.extend(to);
                }
                _ => foreign_keys.push((
                    id,
                    SqliteForeignKey {
                        table,
                        from: vec![from],
                        to: to.into_iter().collect(),
                        on_update,
                        on_delete,
                    },
                )),
            }
        }
        // `REFERENCES parent` without columns: the parent's primary key.
        for (_, fk) in &mut foreign_keys {
            if fk.to.is_empty() {
                fk.to = sqlx::query_scalar::<_, String>(
                    "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
                )
                .bind(&fk.table)
                .fetch_all(&mut *c)
                .await?;
            }
        }
        // pragma_foreign_key_list lists the last declared key first.
        foreign_keys.reverse();
        out.push(SqliteTable {
            name,
            sql,
            columns,
            indexes,
            foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        });
    }
    Ok((out, objects))
}
