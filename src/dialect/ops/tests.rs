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

fn all(o: &Operation, schema: &SchemaModel) -> [Vec<String>; 3] {
    Dialect::ALL.map(|d| sql(o, d, schema).unwrap_or_else(|p| vec![format!("ERROR: {p}")]))
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
    assert!(failed.is_empty(), "scenario SQL changed for {failed:?}: review the .new files");
}
