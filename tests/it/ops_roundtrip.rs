//! Portable operations (design §5.1, issue #4) on the three real databases,
//! through the binary: every operation is one revision; each is applied,
//! the schema is read back from the database's own catalog, then reverted
//! (explicit `[[downgrade]]` or derived) and read back again, which must
//! give the schema before it. The whole chain is then applied again and
//! must give the same schema as the first time.
//!
//! The catalog dumps are sorted lines (column order is not compared: a
//! derived `add_column` appends, as Alembic's does).

use crate::support::live::{per_backend, Backend, Live};

per_backend!(
    every_operation_round_trips,
    underivable_downgrade_is_refused_up_front
);

/// (message, upgrade TOML, explicit downgrade TOML if any).
const OPS: &[(&str, &str, Option<&str>)] = &[
    (
        "create parent",
        r#"op = "create_table"
table = "parent"
columns = [
  { name = "id", type = "integer", primary_key = true, autoincrement = true },
  { name = "name", type = "string", length = 50, nullable = false, default = "it's" },
  { name = "code", type = "string", length = 10, unique = true },
  { name = "created", type = "timestamptz", default_sql = "CURRENT_TIMESTAMP" },
  { name = "score", type = "integer", nullable = false, default = 0 },
]"#,
        None,
    ),
    (
        "create child",
        r#"op = "create_table"
table = "child"
columns = [
  { name = "id", type = "big_integer", primary_key = true, autoincrement = true },
  { name = "parent_id", type = "integer", nullable = false, references = { table = "parent", column = "id", on_delete = "cascade", name = "fk_child_parent" } },
  { name = "note", type = "text" },
  { name = "amount", type = "decimal", precision = 10, scale = 2, default = 0 },
]"#,
        None,
    ),
    (
        "create pair",
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
        None,
    ),
    (
        "view on parent",
        r#"op = "sql"
sql = "CREATE VIEW v_parent AS SELECT id, code FROM parent""#,
        Some(
            r#"op = "sql"
sql = "DROP VIEW v_parent""#,
        ),
    ),
    (
        "index child amount",
        r#"op = "create_index"
table = "child"
name = "ix_child_amount"
columns = ["amount", "id"]"#,
        None,
    ),
    (
        "unique index parent name",
        r#"op = "create_index"
table = "parent"
name = "ix_parent_name"
columns = ["name"]
unique = true"#,
        None,
    ),
    (
        "add email",
        r#"op = "add_column"
table = "parent"
column = { name = "email", type = "string", length = 255 }"#,
        None,
    ),
    (
        "score nullable",
        r#"op = "alter_column"
table = "parent"
column = "score"
nullable = true"#,
        None,
    ),
    (
        "score default",
        r#"op = "alter_column"
table = "parent"
column = "score"
default = 5"#,
        None,
    ),
    (
        "name type",
        r#"op = "alter_column"
table = "parent"
column = "name"
type = "string"
length = 100"#,
        None,
    ),
    (
        "rename email",
        r#"op = "alter_column"
table = "parent"
column = "email"
new_name = "mail""#,
        None,
    ),
    (
        "unique mail",
        r#"op = "add_unique"
table = "parent"
name = "uq_parent_mail"
columns = ["mail"]"#,
        None,
    ),
    (
        "check score",
        r#"op = "add_check"
table = "parent"
name = "ck_parent_score"
sql = "score >= 0""#,
        None,
    ),
    (
        "drop check",
        r#"op = "drop_constraint"
table = "parent"
name = "ck_parent_score"
type = "check""#,
        None,
    ),
    (
        "drop unique",
        r#"op = "drop_constraint"
table = "parent"
name = "uq_parent_mail"
type = "unique""#,
        None,
    ),
    (
        "create other",
        r#"op = "create_table"
table = "other"
columns = [{ name = "id", type = "integer", primary_key = true }]"#,
        None,
    ),
    (
        "add other_id",
        r#"op = "add_column"
table = "child"
column = { name = "other_id", type = "integer" }"#,
        None,
    ),
    (
        "fk other",
        r#"op = "add_foreign_key"
table = "child"
name = "fk_child_other"
columns = ["other_id"]
ref_table = "other"
ref_columns = ["id"]
on_delete = "restrict""#,
        None,
    ),
    (
        "drop fk other",
        r#"op = "drop_foreign_key"
table = "child"
name = "fk_child_other""#,
        None,
    ),
    (
        "drop other_id",
        r#"op = "drop_column"
table = "child"
column = "other_id""#,
        None,
    ),
    (
        "rename other",
        r#"op = "rename_table"
table = "other"
new_name = "other2""#,
        None,
    ),
    (
        "drop other2",
        r#"op = "drop_table"
table = "other2""#,
        None,
    ),
    (
        "drop index",
        r#"op = "drop_index"
table = "child"
name = "ix_child_amount""#,
        None,
    ),
    (
        "drop mail",
        r#"op = "drop_column"
table = "parent"
column = "mail""#,
        None,
    ),
];

fn id(n: usize) -> String {
    format!("0p{n:010}")
}

/// One revision per entry of [`OPS`], each after the one before.
fn write_ops(live: &Live) {
    for (n, (message, up, down)) in OPS.iter().enumerate() {
        let mut body = format!("\n[[upgrade]]\n{up}\n");
        if let Some(down) = down {
            body.push_str(&format!("\n[[downgrade]]\n{down}\n"));
        }
        let mut rev = live.project.rev(&id(n)).message(message).body(&body);
        if n > 0 {
            rev = rev.parent(&id(n - 1));
        }
        rev.write();
    }
}

/// The schema as the database's catalog describes it, as sorted lines.
pub(crate) fn schema_dump(live: &Live) -> Vec<String> {
    if live.backend == Backend::Sqlite && !live.sqlite_path().exists() {
        return Vec::new();
    }
    let mut lines: Vec<String> = Vec::new();
    let mut add = |prefix: &str, rows: Vec<Vec<String>>| {
        for r in rows {
            if r.iter().any(|f| f.starts_with("_versions")) {
                continue;
            }
            lines.push(format!("{prefix} {}", r.join(" | ")));
        }
    };
    match live.backend {
        Backend::Sqlite => {
            let tables = live.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_versions%' ESCAPE '\\' ORDER BY name",
            );
            for t in tables {
                let t = &t[0];
                add(
                    &format!("column {t}"),
                    live.rows(&format!(
                        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{t}')"
                    )),
                );
                add(
                    &format!("index {t}"),
                    live.rows(&format!(
                        "SELECT CASE WHEN l.origin = 'c' THEN l.name ELSE '-' END, l.\"unique\", l.origin, l.partial, \
                         (SELECT group_concat(name, ',') FROM pragma_index_info(l.name)) FROM pragma_index_list('{t}') l"
                    )),
                );
                add(
                    &format!("fk {t}"),
                    live.rows(&format!(
                        "SELECT \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list('{t}')"
                    )),
                );
                let sql = live.query(&format!(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{t}'"
                ));
                add(
                    &format!("check {t}"),
                    checks_of(&sql).into_iter().map(|c| vec![c]).collect(),
                );
            }
            add(
                "object",
                live.rows("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('view', 'trigger')"),
            );
        }
        Backend::Postgres => {
            add(
                "column",
                live.rows(
                    "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, is_nullable, column_default \
                     FROM information_schema.columns WHERE table_schema = 'public'",
                ),
            );
            add(
                "index",
                live.rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"),
            );
            add(
                "constraint",
                live.rows(
                    "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE connamespace = 'public'::regnamespace",
                ),
            );
            add(
                "view",
                live.rows("SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = 'public'"),
            );
        }
        Backend::Mysql => {
            add(
                "column",
                live.rows(
                    "SELECT table_name, column_name, column_type, is_nullable, column_default, extra \
                     FROM information_schema.columns WHERE table_schema = database()",
                ),
            );
            add(
                "index",
                live.rows(
                    "SELECT table_name, index_name, non_unique, seq_in_index, column_name \
                     FROM information_schema.statistics WHERE table_schema = database()",
                ),
            );
            add(
                "constraint",
                live.rows(
                    "SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints \
                     WHERE constraint_schema = database()",
                ),
            );
            add(
                "check",
                live.rows(
                    "SELECT table_name, constraint_name, check_clause FROM information_schema.check_constraints \
                     WHERE constraint_schema = database()",
                ),
            );
            add(
                "fk",
                live.rows(
                    "SELECT r.table_name, r.constraint_name, r.referenced_table_name, r.update_rule, r.delete_rule, k.column_name, k.referenced_column_name \
                     FROM information_schema.referential_constraints r JOIN information_schema.key_column_usage k \
                     ON k.constraint_schema = r.constraint_schema AND k.constraint_name = r.constraint_name AND k.table_name = r.table_name \
                     WHERE r.constraint_schema = database()",
                ),
            );
            add(
                "view",
                live.rows("SELECT table_name FROM information_schema.views WHERE table_schema = database()"),
            );
        }
    }
    // PostgreSQL names a primary key `<table>_pkey` when it is created and
    // keeps that name through `rename_table`; the derived inverse of a
    // `drop_table` recreates it under the table's current name. Compared
    // without the name.
    if live.backend == Backend::Postgres {
        for line in &mut lines {
            while let Some(at) = line.find("_pkey") {
                let start = line[..at].rfind(' ').map_or(0, |i| i + 1);
                line.replace_range(start..at + 5, "<pkey>");
            }
        }
    }
    // MySQL creates an index named after a foreign key whose columns have
    // none and keeps it when the foreign key is dropped (Alembic's
    // `drop_constraint` does the same); it goes with the column. Such a
    // leftover index is not compared.
    if live.backend == Backend::Mysql {
        let fks: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("fk "))
            .filter_map(|l| l.split(" | ").nth(1).map(String::from))
            .collect();
        lines.retain(|l| {
            !(l.starts_with("index ")
                && l.split(" | ")
                    .nth(1)
                    .is_some_and(|n| n.starts_with("fk_") && !fks.iter().any(|f| f == n)))
        });
    }
    lines.sort();
    lines
}

/// The CHECK expressions of a SQLite `CREATE TABLE` text.
fn checks_of(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let upper = sql.to_ascii_uppercase();
    let mut from = 0;
    while let Some(i) = upper[from..].find("CHECK (") {
        let start = from + i + "CHECK ".len();
        let mut depth = 0;
        let mut end = start;
        for (j, c) in sql[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(sql[start..end].to_string());
        from = end.max(start + 1);
    }
    out.sort();
    out
}

fn every_operation_round_trips(live: Live) {
    write_ops(&live);
    let mut before = Vec::new();
    for n in 0..OPS.len() {
        before.push(schema_dump(&live));
        live.retort(&["upgrade", "+1"]).success();
        let after = schema_dump(&live);
        assert_ne!(
            before[n], after,
            "{:?}: `{}` changed nothing in the catalog",
            live.backend, OPS[n].0
        );
        // Revert and compare, then apply again.
        live.retort(&["downgrade", "-1"]).success();
        assert_eq!(
            schema_dump(&live),
            before[n],
            "{:?}: reverting `{}` did not restore the schema",
            live.backend,
            OPS[n].0
        );
        live.retort(&["upgrade", "+1"]).success();
        assert_eq!(
            schema_dump(&live),
            after,
            "{:?}: re-applying `{}` differs",
            live.backend,
            OPS[n].0
        );
    }
    let top = schema_dump(&live);
    // All the way down, one revision at a time, each back to its start.
    for n in (0..OPS.len()).rev() {
        live.retort(&["downgrade", "-1"]).success();
        assert_eq!(
            schema_dump(&live),
            before[n],
            "{:?}: reverting `{}` (from the top) did not restore the schema",
            live.backend,
            OPS[n].0
        );
    }
    // And up again in one run: the same schema as the first time.
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        schema_dump(&live),
        top,
        "{:?}: second upgrade",
        live.backend
    );
    live.retort(&["downgrade", "base"]).success();
    assert_eq!(
        schema_dump(&live),
        before[0],
        "{:?}: downgrade base",
        live.backend
    );
}

/// A downgrade through a revision whose inverse cannot be derived is
/// refused before anything runs, naming the revision and the step.
fn underivable_downgrade_is_refused_up_front(live: Live) {
    let p = &live.project;
    let create = |table: &str| {
        format!(
            "\n[[upgrade]]\nop = \"create_table\"\ntable = \"{table}\"\ncolumns = [{{ name = \"id\", type = \"integer\", primary_key = true }}]\n"
        )
    };
    p.rev("aaaa00000001")
        .message("t1")
        .body(&create("t1"))
        .named("0a_a.toml")
        .write();
    p.rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("raw")
        .body("\n[[upgrade]]\nop = \"sql\"\nsql = \"CREATE TABLE t2 (id INTEGER)\"\n")
        .named("0b_b.toml")
        .write();
    p.rev("cccc00000003")
        .parent("bbbb00000002")
        .message("t3")
        .body(&create("t3"))
        .named("0c_c.toml")
        .write();
    live.retort(&["upgrade", "head"]).success();
    let schema = schema_dump(&live);
    live.retort(&["downgrade", "base"])
        .fails_with("revision bbbb00000002 (")
        .fails_with("0b_b.toml) has no [[downgrade]] steps and its downgrade cannot be derived: upgrade step 1 (line 5, `sql`) is raw SQL");
    assert_eq!(schema_dump(&live), schema, "nothing may change");
    assert!(live.table_exists("t3"));
    assert_eq!(live.version_rows().len(), 3);
    // One step down is fine: t3's inverse is derived.
    live.retort(&["downgrade", "-1"]).success();
    assert!(!live.table_exists("t3"));
}
