//! Exact SQL per dialect for every operation, SQLite rebuilds, inverses,
//! error texts, and a no-panic sweep.

use super::*;
use crate::dialect::Dialect;

/// Parses one `[[upgrade]]` step written as TOML (with `op`).
pub(crate) fn op(text: &str) -> Operation {
    try_op(text).unwrap_or_else(|p| panic!("{p}"))
}

fn try_op(text: &str) -> Result<Operation, Problem> {
    let mut table: toml::Table = text.parse().expect("valid TOML");
    let name = match table.remove("op") {
        Some(toml::Value::String(s)) => s,
        _ => panic!("no op"),
    };
    parse_operation(&name, &table)
}

fn sql(o: &Operation, d: Dialect, schema: &SchemaModel) -> Result<Vec<String>, Problem> {
    let ctx = OpContext {
        schema,
        transactional: true,
    };
    render(o, d, &ctx).map(|r| r.statements)
}

/// Every operation in sequence, the schema model evolving as it goes.
pub(crate) const SCENARIO: &[&str] = &[
    r#"op = "create_table"
table = "parent"
columns = [
  { name = "id", type = "integer", primary_key = true, autoincrement = true },
  { name = "name", type = "string", length = 50, nullable = false, default = "it's" },
  { name = "code", type = "string", length = 10, unique = true },
  { name = "created", type = "timestamptz", default_sql = "CURRENT_TIMESTAMP" },
]"#,
    r#"op = "create_table"
table = "child"
columns = [
  { name = "id", type = "big_integer", primary_key = true, autoincrement = true },
  { name = "parent_id", type = "integer", nullable = false, references = { table = "parent", column = "id", on_delete = "cascade", name = "fk_child_parent" } },
  { name = "note", type = "text" },
  { name = "amount", type = "decimal", precision = 10, scale = 2, default = 0, check = "amount >= 0" },
]"#,
    r#"op = "create_table"
table = "pair"
columns = [
  { name = "a", type = "small_integer" },
  { name = "b", type = "uuid" },
  { name = "doc", type = "json" },
  { name = "raw", type = "binary" },
  { name = "f", type = "float" },
  { name = "g", type = "double" },
  { name = "d", type = "date" },
  { name = "t", type = "time" },
  { name = "ts", type = "timestamp" },
  { name = "ok", type = "boolean", nullable = false, default = false },
]
primary_key = ["a", "b"]
unique = [{ name = "uq_pair_d_t", columns = ["d", "t"] }]
checks = [{ name = "ck_pair_f", sql = "f > 0" }]"#,
    r#"op = "create_index"
table = "child"
name = "ix_child_amount"
columns = ["amount", "id"]"#,
    r#"op = "add_column"
table = "parent"
column = { name = "email", type = "string", length = 255 }"#,
    r#"op = "add_column"
table = "parent"
column = { name = "score", type = "integer", nullable = false, default = 0 }"#,
    r#"op = "alter_column"
table = "parent"
column = "score"
type = "big_integer""#,
    r#"op = "alter_column"
table = "parent"
column = "score"
nullable = true
default = 5"#,
    r#"op = "alter_column"
table = "parent"
column = "score"
drop_default = true"#,
    r#"op = "alter_column"
table = "parent"
column = "email"
new_name = "mail""#,
    r#"op = "add_unique"
table = "parent"
name = "uq_parent_mail"
columns = ["mail"]"#,
    r#"op = "add_check"
table = "parent"
name = "ck_parent_score"
sql = "score >= 0""#,
    r#"op = "drop_constraint"
table = "parent"
name = "ck_parent_score""#,
    r#"op = "drop_constraint"
table = "parent"
name = "uq_parent_mail""#,
    r#"op = "create_table"
table = "other"
columns = [{ name = "id", type = "integer", primary_key = true }]"#,
    r#"op = "add_column"
table = "child"
column = { name = "other_id", type = "integer" }"#,
    r#"op = "add_foreign_key"
table = "child"
name = "fk_child_other"
columns = ["other_id"]
ref_table = "other"
ref_columns = ["id"]
on_delete = "restrict"
on_update = "no_action""#,
    r#"op = "drop_foreign_key"
table = "child"
name = "fk_child_other""#,
    r#"op = "drop_column"
table = "child"
column = "other_id""#,
    r#"op = "rename_table"
table = "other"
new_name = "other2""#,
    r#"op = "drop_table"
table = "other2""#,
    r#"op = "drop_index"
table = "child"
name = "ix_child_amount""#,
    r#"op = "create_index"
table = "parent"
name = "ix_parent_name"
columns = ["name"]
unique = true"#,
    r#"op = "drop_column"
table = "parent"
column = "mail""#,
    r#"op = "drop_column"
table = "parent"
column = "name""#,
];

/// The scenario's statements on `d`, then the derived inverse of the whole
/// scenario (in reverse), as a script.
pub(crate) fn scenario_script(d: Dialect) -> String {
    let mut model = SchemaModel::new();
    let mut out = String::new();
    let mut undo = Vec::new();
    for (i, text) in SCENARIO.iter().enumerate() {
        let o = op(text);
        let rendered = sql(&o, d, &model).unwrap_or_else(|p| panic!("step {}: {p}", i + 1));
        out.push_str(&format!("-- step {}: {}\n", i + 1, o.name()));
        for s in rendered {
            out.push_str(&s);
            out.push_str(";\n");
        }
        undo.push(invert(&o, &model).unwrap_or_else(|p| panic!("step {}: {p}", i + 1)));
        model.apply(&o);
    }
    for (i, ops) in undo.iter().enumerate().rev() {
        for o in ops {
            let rendered =
                sql(o, d, &model).unwrap_or_else(|p| panic!("inverse of step {}: {p}", i + 1));
            out.push_str(&format!("-- inverse of step {}: {}\n", i + 1, o.name()));
            for s in rendered {
                out.push_str(&s);
                out.push_str(";\n");
            }
            model.apply(o);
        }
    }
    out
}

/// Pins the scenario per dialect in `tests/snapshots/ops/scenario.<d>.sql`
/// (a mismatch writes `<file>.new` for review).
#[test]
fn scenario_sql_is_pinned_per_dialect() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/ops");
    let mut failed = vec![];
    for d in Dialect::ALL {
        let actual = scenario_script(d);
        let path = dir.join(format!("scenario.{}.sql", d.name()));
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(path.with_extension("sql.new"), &actual);
            failed.push(d.name());
        }
    }
    assert!(
        failed.is_empty(),
        "scenario SQL changed for {failed:?}: review the .new files"
    );
}

mod sqlite_rebuild_with_dependents {
    use std::collections::BTreeMap;

    use sqlx::{AssertSqlSafe, Connection, Row, SqliteConnection};

    use crate::dialect::render::tests::{rev, sql as sql_step};
    use crate::dialect::{render_revision, replay_schema, Dialect, Direction};
    use crate::revision::{Revision, Step, StepKind};

    fn op_step(line: usize, text: &str) -> Step {
        let mut fields: toml::Table = text.parse().unwrap();
        let Some(toml::Value::String(op)) = fields.remove("op") else {
            panic!("no op")
        };
        Step {
            line,
            kind: StepKind::Operation { op, fields },
        }
    }

    /// parent (indexed, with a trigger and a view) and a child with ON
    /// DELETE CASCADE holding rows; then a change that needs a rebuild.
    fn revisions() -> (Revision, Revision) {
        let base = rev(
            "a1",
            &[],
            vec![
                op_step(
                    3,
                    r#"op = "create_table"
table = "parent"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "name", type = "string", length = 20 },
]"#,
                ),
                op_step(
                    10,
                    r#"op = "create_index"
table = "parent"
name = "ix_parent_name"
columns = ["name"]"#,
                ),
                op_step(
                    15,
                    r#"op = "create_table"
table = "child"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "parent_id", type = "integer", references = { table = "parent", column = "id", on_delete = "cascade" } },
]"#,
                ),
                sql_step(
                    22,
                    "CREATE VIEW v_parent AS SELECT id, name FROM parent;\nCREATE TRIGGER tr_parent AFTER INSERT ON parent BEGIN UPDATE parent SET name = upper(new.name) WHERE id = new.id; END",
                ),
            ],
            None,
        );
        let change = rev(
            "b2",
            &["a1"],
            vec![op_step(
                30,
                r#"op = "alter_column"
table = "parent"
column = "name"
nullable = false
default = "none""#,
            )],
            None,
        );
        (base, change)
    }

    #[test]
    fn statements_are_pinned() {
        let (a, b) = revisions();
        let before = replay_schema(&[&a], Dialect::Sqlite).unwrap();
        let out = render_revision(
            &b,
            Direction::Upgrade,
            Dialect::Sqlite,
            &BTreeMap::new(),
            &before,
        )
        .unwrap();
        assert!(out.foreign_keys_off);
        assert_eq!(
            out.statements,
            [
                r#"DROP VIEW IF EXISTS "v_parent""#,
                r#"DROP TRIGGER IF EXISTS "tr_parent""#,
                r#"CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY, "name" varchar(20) NOT NULL DEFAULT 'none' )"#,
                r#"INSERT INTO "_retort_new_parent" ("id", "name") SELECT "id", "name" FROM "parent""#,
                r#"DROP TABLE "parent""#,
                r#"ALTER TABLE "_retort_new_parent" RENAME TO "parent""#,
                r#"CREATE INDEX "ix_parent_name" ON "parent" ("name")"#,
                "CREATE VIEW v_parent AS SELECT id, name FROM parent",
                "CREATE TRIGGER tr_parent AFTER INSERT ON parent BEGIN UPDATE parent SET name = upper(new.name) WHERE id = new.id; END",
                "PRAGMA foreign_key_check",
            ]
        );
        // The derived downgrade is a rebuild back to the nullable column.
        let down = render_revision(
            &b,
            Direction::Downgrade,
            Dialect::Sqlite,
            &BTreeMap::new(),
            &before,
        )
        .unwrap();
        assert!(
            down.statements[2].contains(r#""name" varchar(20) NULL )"#),
            "{:?}",
            down.statements
        );
    }

    async fn exec(conn: &mut SqliteConnection, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn count(conn: &mut SqliteConnection, sql: &str) -> i64 {
        sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get::<i64, _>(0)
    }

    /// Runs the rendering on an in-memory SQLite as the online runner
    /// would: foreign keys on, the pragma off outside the transaction.
    #[test]
    fn child_rows_survive_and_dependents_come_back() {
        let (a, b) = revisions();
        let vars = BTreeMap::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            exec(&mut conn, "PRAGMA foreign_keys=ON").await;
            let empty = crate::dialect::ops::SchemaModel::new();
            for s in render_revision(&a, Direction::Upgrade, Dialect::Sqlite, &vars, &empty)
                .unwrap()
                .statements
            {
                exec(&mut conn, &s).await;
            }
            exec(&mut conn, "INSERT INTO parent (id, name) VALUES (1, 'a'), (2, 'b')").await;
            exec(&mut conn, "INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (12, 2)").await;

            let before = replay_schema(&[&a], Dialect::Sqlite).unwrap();
            for direction in [Direction::Upgrade, Direction::Downgrade] {
                let out = render_revision(&b, direction, Dialect::Sqlite, &vars, &before).unwrap();
                assert!(out.foreign_keys_off);
                exec(&mut conn, super::FOREIGN_KEYS_OFF).await;
                exec(&mut conn, "BEGIN").await;
                for s in &out.statements {
                    if s == "PRAGMA foreign_key_check" {
                        let rows = sqlx::query(AssertSqlSafe(s.clone()))
                            .fetch_all(&mut conn)
                            .await
                            .unwrap();
                        assert!(rows.is_empty());
                    } else {
                        exec(&mut conn, s).await;
                    }
                }
                exec(&mut conn, "COMMIT").await;
                exec(&mut conn, super::FOREIGN_KEYS_ON).await;
                assert_eq!(count(&mut conn, "SELECT count(*) FROM child").await, 3);
                assert_eq!(count(&mut conn, "SELECT count(*) FROM v_parent").await, 2);
                assert_eq!(
                    count(&mut conn, "SELECT count(*) FROM sqlite_master WHERE name IN ('ix_parent_name', 'tr_parent', 'v_parent')").await,
                    3
                );
            }
            // The trigger works again, and the cascade still does.
            exec(&mut conn, "INSERT INTO parent (id, name) VALUES (3, 'c')").await;
            assert_eq!(count(&mut conn, "SELECT count(*) FROM parent WHERE name = 'C'").await, 1);
            exec(&mut conn, "DELETE FROM parent WHERE id = 1").await;
            assert_eq!(count(&mut conn, "SELECT count(*) FROM child").await, 1);
        });
    }
}

/// Odd values for every key of every operation, on every dialect, with and
/// without known tables: parsing and rendering return errors, never panic.
#[test]
fn no_panic_on_odd_inputs() {
    use toml::Value;
    let odd: Vec<Value> = vec![
        Value::String("x".into()),
        Value::String(String::new()),
        Value::String("a\"b".into()),
        Value::String("ünï cödé".into()),
        Value::String("x".repeat(100)),
        Value::String("parent.id".into()),
        Value::String("cascade".into()),
        Value::Integer(-1),
        Value::Integer(0),
        Value::Integer(i64::MAX),
        Value::Float(f64::NAN),
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Array(vec![]),
        Value::Array(vec![Value::String("id".into()), Value::String("name".into())]),
        Value::Array(vec![Value::Integer(1)]),
        "t = { name = \"c\", type = \"integer\" }".parse::<toml::Table>().unwrap()["t"].clone(),
        Value::Table(toml::Table::new()),
        "t = [{ name = \"c\", type = \"string\", length = 0 }, { name = \"id\", type = \"decimal\", precision = 70 }]"
            .parse::<toml::Table>()
            .unwrap()["t"]
            .clone(),
    ];
    let mut known = SchemaModel::new();
    for text in SCENARIO.iter().take(3) {
        known.apply(&op(text));
    }
    let schemas = [SchemaModel::new(), known];
    let mut rendered = 0;
    for name in Operation::NAMES.iter().filter(|n| **n != "sql") {
        let keys = parse::valid_keys(name).unwrap();
        let base: toml::Table = keys
            .iter()
            .map(|k| (k.to_string(), Value::String("parent".into())))
            .collect();
        let mut cases = vec![toml::Table::new(), base.clone()];
        for key in keys {
            for value in &odd {
                let mut t = base.clone();
                t.insert(key.to_string(), value.clone());
                cases.push(t);
                let mut only = toml::Table::new();
                only.insert("table".into(), Value::String("child".into()));
                only.insert(key.to_string(), value.clone());
                cases.push(only);
            }
        }
        for case in &cases {
            let Ok(o) = parse_operation(name, case) else {
                continue;
            };
            for schema in &schemas {
                for d in Dialect::ALL {
                    for transactional in [true, false] {
                        let ctx = OpContext {
                            schema,
                            transactional,
                        };
                        if render(&o, d, &ctx).is_ok() {
                            rendered += 1;
                        }
                    }
                }
                let _ = invert(&o, schema);
            }
        }
    }
    assert!(rendered > 100, "only {rendered} renderings succeeded");
}

#[test]
fn error_texts() {
    let e = |text: &str| try_op(text).unwrap_err().to_string();
    assert_eq!(
        e("op = \"drop_table\"\ntabel = \"x\""),
        "unknown key `tabel`; valid keys are: table"
    );
    assert_eq!(
        e("op = \"create_table\"\ntable = \"t\"\ncolumns = [{ name = \"a\", type = \"integer\", nulable = true }]"),
        "unknown key `columns[1].nulable`; valid keys are: name, type, length, precision, scale, nullable, default, default_sql, primary_key, autoincrement, unique, check, references"
    );
    assert_eq!(
        e("op = \"add_column\"\ntable = \"t\"\ncolumn = { name = \"a\", type = \"int\" }"),
        "`column.type`: unknown column type `int`; valid types are: integer, big_integer, small_integer, string, text, boolean, float, double, decimal, date, time, timestamp, timestamptz, json, uuid, binary"
    );
    assert_eq!(
        e("op = \"create_index\"\ntable = \"t\"\nname = \"ix\"\ncolumns = []"),
        "`columns`: is empty; name at least one column"
    );
    assert_eq!(
        e("op = \"drop_column\"\ntable = \"t\""),
        "`column`: is missing"
    );
    let partial = op(
        "op = \"create_index\"\ntable = \"t\"\nname = \"ix\"\ncolumns = \"a\"\nwhere = \"a > 0\"",
    );
    assert_eq!(
        sql(&partial, Dialect::Mysql, &SchemaModel::new()).unwrap_err().to_string(),
        "mysql has no partial indexes (`where`): drop `where`, or give a mysql-specific `op = \"sql\"` step"
    );
    assert_eq!(
        sql(&partial, Dialect::Postgres, &SchemaModel::new()).unwrap(),
        [r#"CREATE INDEX "ix" ON "t" ("a") WHERE a > 0"#]
    );
    let concurrent = op(
        "op = \"create_index\"\ntable = \"t\"\nname = \"ix\"\ncolumns = \"a\"\nconcurrently = true",
    );
    assert!(sql(&concurrent, Dialect::Postgres, &SchemaModel::new())
        .unwrap_err()
        .to_string()
        .contains("set `transactional = false`"));
    let ctx = OpContext {
        schema: &SchemaModel::new(),
        transactional: false,
    };
    assert_eq!(
        render(&concurrent, Dialect::Postgres, &ctx)
            .unwrap()
            .statements,
        [r#"CREATE INDEX CONCURRENTLY "ix" ON "t" ("a")"#]
    );
    assert_eq!(
        render(&concurrent, Dialect::Sqlite, &ctx)
            .unwrap()
            .statements,
        [r#"CREATE INDEX "ix" ON "t" ("a")"#]
    );
    let alter = op("op = \"alter_column\"\ntable = \"t\"\ncolumn = \"a\"\ntype = \"text\"");
    assert_eq!(
        sql(&alter, Dialect::Sqlite, &SchemaModel::new()).unwrap_err().to_string(),
        "alter_column on sqlite (a table rebuild, as SQLite's ALTER TABLE cannot do it) needs the current definition of table `t`, but no earlier revision creates it with a `create_table` operation; write this change as an `op = \"sql\"` step with the statements, or give the table's full definition in a `create_table` operation"
    );
    assert!(sql(&alter, Dialect::Mysql, &SchemaModel::new())
        .unwrap_err()
        .to_string()
        .starts_with("alter_column on mysql is a MODIFY COLUMN"));
    assert_eq!(
        sql(&alter, Dialect::Postgres, &SchemaModel::new()).unwrap(),
        [r#"ALTER TABLE "t" ALTER COLUMN "a" TYPE text"#]
    );
    let drop = op("op = \"drop_table\"\ntable = \"t\"");
    assert_eq!(
        invert(&drop, &SchemaModel::new()).unwrap_err().to_string(),
        "drop_table cannot be undone: the definition of table `t` is not known from earlier revisions' operations"
    );
}

/// The commented operation examples of the revision template parse and
/// render on every dialect (uncommented, in order).
#[test]
fn template_examples_render() {
    let template = include_str!("../../../templates/revision.toml.j2");
    let start = template
        .find("# Portable operations")
        .expect("examples section");
    let end = template[start..]
        .find("# Also:")
        .map(|i| start + i)
        .expect("end of examples");
    let toml_text: String = template[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            !l.starts_with('#')
                && (l.starts_with('[')
                    || l.contains('=')
                    || l.starts_with(' ')
                    || l.starts_with(']'))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let doc: toml::Table = toml_text
        .parse()
        .unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
    let steps = doc["upgrade"].as_array().expect("upgrade steps");
    assert_eq!(steps.len(), 4);
    for d in Dialect::ALL {
        let mut model = SchemaModel::new();
        for step in steps {
            let mut fields = step.as_table().unwrap().clone();
            let name = fields.remove("op").unwrap();
            let o =
                parse_operation(name.as_str().unwrap(), &fields).unwrap_or_else(|p| panic!("{p}"));
            let statements = sql(&o, d, &model).unwrap_or_else(|p| panic!("{d}: {p}"));
            assert!(!statements.is_empty());
            model.apply(&o);
        }
    }
}
