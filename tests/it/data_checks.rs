//! Checks of the data lane found in review: derived downgrades touch only
//! the rows their upgrade touched (`where`), data revisions are checked
//! before a run starts, `--atomic` refuses data revisions up front, and
//! `data dump` / `transform` read NUMERIC/DECIMAL, UUID and JSON columns.

use super::data_lane::{data_rev, items_table, schema};
use crate::support::live::{per_backend, Backend, Live};
use crate::support::Project;

/// `copy_field` and `split_field` with `where`, reversed without
/// `[[downgrade]]`: rows outside `where` keep their values.
fn derived_reverses_keep_rows_outside_where(live: Live) {
    items_table(&live, 20);
    // Values the upgrade never touches.
    live.run_script("UPDATE items SET copy = 'kept' WHERE id > 2;\n");
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "copy_field"
table = "items"
from = "email"
to = "copy"
where = "id <= 2"

[[upgrade]]
op = "split_field"
table = "items"
from = "full_name"
into = ["first_name", "last_name"]
where = "id > 15"
"#,
    );
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.rows(
            "SELECT id, copy, first_name, last_name FROM items WHERE id IN (2, 3, 16) ORDER BY id"
        ),
        [
            ["2", "  User2@Example.COM ", "", ""],
            ["3", "kept", "", ""],
            ["16", "kept", "Ada16", "Love"],
        ]
    );
    live.retort(&["downgrade", "a1"]).success();
    // copy_field's reverse cleared only the rows it had copied.
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE copy IS NULL"),
        2
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE copy = 'kept'"),
        18
    );
    // split_field's reverse rebuilt full_name only where it had split it.
    let names = live.rows("SELECT id, full_name FROM items ORDER BY id");
    assert_eq!(names.len(), 20);
    for row in names {
        assert_eq!(row[1], format!("Ada{} Love", row[0]), "{row:?}");
    }
}

per_backend!(derived_reverses_keep_rows_outside_where);

/// An invalid data step after a schema revision refuses the whole run
/// before anything runs: the message names file, step and line, nothing
/// is recorded, the schema revision's table is not created. The same for
/// a missing fixture.
fn invalid_data_steps_refuse_the_run_up_front(live: Live) {
    schema(&live);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
table = "items"
sett = { counter = "counter + 1" }
downgrade = []
"#,
    );
    let run = live.retort(&["upgrade", "head"]);
    run.code(1)
        .fails_with("b1_data.toml")
        .fails_with("upgrade step 1 (line ")
        .fails_with("unknown key `sett`");
    assert!(live.version_rows().is_empty(), "{:?}", live.version_rows());
    assert!(!live.table_exists("items"));
    // `--sql` refuses it too.
    live.retort(&["upgrade", "--sql"])
        .code(1)
        .fails_with("unknown key `sett`");

    data_rev(
        &live,
        r#"
[[upgrade]]
op = "load"
table = "items"
file = "missing.csv"
downgrade = []
"#,
    );
    live.retort(&["upgrade", "head"])
        .code(1)
        .fails_with("upgrade step 1 (line ")
        .fails_with("missing.csv");
    assert!(live.version_rows().is_empty());
    assert!(!live.table_exists("items"));
}

/// A downgrade through a data revision without a reverse is refused
/// before the schema revision above it is reverted.
fn missing_reverse_refuses_the_downgrade_up_front(live: Live) {
    items_table(&live, 5);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
table = "items"
set = { counter = "counter + 1" }
"#,
    );
    live.project
        .rev("c1")
        .parent("b1")
        .message("other")
        .up("CREATE TABLE other (id INTEGER PRIMARY KEY)")
        .down("DROP TABLE other")
        .write();
    live.retort(&["upgrade", "head"]).success();
    live.retort(&["downgrade", "base"])
        .code(1)
        .fails_with("b1_data.toml")
        .fails_with("upgrade step 1 (line ")
        .fails_with("`update`) has no reverse");
    live.assert_applied(&["a1", "b1", "c1"]);
    assert!(live.table_exists("other"));
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        5
    );
}

per_backend!(
    invalid_data_steps_refuse_the_run_up_front,
    missing_reverse_refuses_the_downgrade_up_front
);

/// `--atomic` on the example project (whose data lane has data
/// revisions): refused before anything runs, naming the data revisions;
/// the advice given (the revisions before the first one atomically, then
/// the rest without `--atomic`) works.
fn atomic_refuses_data_revisions(backend: Backend) {
    let Some(live) = Live::with_project(backend, Project::example()) else {
        return;
    };
    let run = live.retort(&["upgrade", "--atomic"]);
    run.code(1)
        .fails_with("is a data revision, whose batches commit one by one")
        .fails_with("2dfd05a87553")
        .fails_with("without --atomic");
    // Nothing at all: the version tables went with the rollback.
    live.assert_tables(
        &[],
        &["_versions", "customer", "orders", "country", "person"],
    );
    // `transaction = "all"` says the same.
    let config = live.project.read("alembic.toml");
    live.project.file(
        "alembic.toml",
        &config.replace("[database]", "[database]\ntransaction = \"all\""),
    );
    live.retort(&["upgrade", "head"])
        .code(1)
        .fails_with("is a data revision");
    live.assert_tables(&[], &["_versions", "customer"]);
    live.project.file("alembic.toml", &config);
    // The advice: `retort upgrade --atomic <before>`, then the rest.
    let stderr = run.stderr();
    let before = stderr
        .split("retort upgrade --atomic ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("{stderr}"))
        .to_string();
    live.retort(&["upgrade", "--atomic", &before]).success();
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(live.count("SELECT COUNT(*) FROM country"), 7);
}

#[test]
fn atomic_refuses_data_revisions_sqlite() {
    atomic_refuses_data_revisions(Backend::Sqlite);
}

#[test]
fn atomic_refuses_data_revisions_postgres() {
    atomic_refuses_data_revisions(Backend::Postgres);
}

/// `data dump` (CSV and JSON) and a `transform` on a table with
/// NUMERIC/DECIMAL columns (and UUID, JSONB on PostgreSQL; JSON on
/// MariaDB), which `transform` reads although it does not use them.
fn dump_and_transform_read_every_column_type(live: Live) {
    let (create, insert, expect_csv) = match live.backend {
        Backend::Sqlite => (
            "CREATE TABLE prices (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), label VARCHAR(20))",
            "INSERT INTO prices VALUES (1, 12.5, 'a'), (2, -3.75, 'b'), (3, NULL, 'c');",
            "id,amount,label\n1,12.5,A\n2,-3.75,B\n3,,C\n",
        ),
        Backend::Postgres => (
            "CREATE TABLE prices (id INTEGER PRIMARY KEY, amount NUMERIC(10,2), big NUMERIC, ref UUID, doc JSONB, label VARCHAR(20))",
            "INSERT INTO prices VALUES \
             (1, 12.50, 123456789012345678901234.000001, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": 1}', 'a'), \
             (2, -3.75, 0.00012, '00000000-0000-0000-0000-000000000000', '[1, \"x\"]', 'b'), \
             (3, NULL, NULL, NULL, NULL, 'c');",
            "id,amount,big,ref,doc,label\n\
             1,12.50,123456789012345678901234.000001,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,\"{\"\"a\"\": 1}\",A\n\
             2,-3.75,0.00012,00000000-0000-0000-0000-000000000000,\"[1, \"\"x\"\"]\",B\n\
             3,,,,,C\n",
        ),
        Backend::Mysql => (
            "CREATE TABLE prices (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), doc JSON, label VARCHAR(20))",
            "INSERT INTO prices VALUES (1, 12.50, '{\"a\": 1}', 'a'), (2, -3.75, '[1]', 'b'), (3, NULL, NULL, 'c');",
            "id,amount,doc,label\n1,12.50,\"{\"\"a\"\": 1}\",A\n2,-3.75,[1],B\n3,,,C\n",
        ),
    };
    live.project
        .rev("a1")
        .message("prices")
        .up(create)
        .down("DROP TABLE prices")
        .write();
    live.retort(&["upgrade", "a1"]).success();
    live.run_script(&format!("{insert}\n"));
    live.project
        .rev("b1")
        .parent("a1")
        .message("data")
        .body(
            r#"downgrade = []

[[upgrade]]
op = "transform"
table = "prices"
set = { label = "{{ label|upper }}" }
batch_size = 2
"#,
        )
        .write();
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.rows("SELECT label FROM prices ORDER BY id"),
        [["A"], ["B"], ["C"]]
    );
    let csv = live.retort(&["data", "dump", "prices"]);
    csv.success();
    assert_eq!(csv.stdout(), expect_csv, "{:?}", live.backend);
    let json = live.retort(&["data", "dump", "prices", "--format", "json"]);
    json.success();
    let rows: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    let amount = &rows[1]["amount"];
    assert!(
        amount == "-3.75" || amount == -3.75,
        "{:?}: {}",
        live.backend,
        json.stdout()
    );
    assert_eq!(rows[2]["amount"], serde_json::Value::Null);
    assert_eq!(rows[0]["label"], "A");
}

per_backend!(dump_and_transform_read_every_column_type);

/// `data dump` then `data load` gives back the same timestamps (MySQL's
/// TIMESTAMP is written without an offset, which it reads back), JSON keys
/// come in column order, and binary values are written as `\x` + hex
/// (`data_fixtures` loads them back into bytes on every backend).
fn dump_load_round_trip_of_times_and_bytes(live: Live) {
    let (ts, bin, hi) = match live.backend {
        Backend::Sqlite => ("TEXT", "BLOB", "X'6869'"),
        Backend::Postgres => ("TIMESTAMPTZ", "BYTEA", "'\\x6869'::bytea"),
        Backend::Mysql => ("TIMESTAMP(6)", "BLOB", "X'6869'"),
    };
    live.run_script(&format!(
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, at {ts} NULL, raw {bin} NULL);\n\
         INSERT INTO ev (id, at, raw) VALUES (1, '2024-01-02 03:04:05.250000', {hi}), (2, NULL, NULL);\n"
    ));
    let before = live.rows("SELECT id, at FROM ev ORDER BY id");
    let dump = live.retort(&["data", "dump", "ev", "--format", "json", "-o", "ev.json"]);
    dump.success();
    let text = live.project.read("ev.json");
    assert!(text.contains("\"raw\": \"\\\\x6869\""), "{text}");
    let (id, at, raw) = (
        text.find("\"id\"").unwrap(),
        text.find("\"at\"").unwrap(),
        text.find("\"raw\"").unwrap(),
    );
    assert!(id < at && at < raw, "keys in column order: {text}");
    live.run_script("DELETE FROM ev;\n");
    live.retort(&["data", "load", "ev.json", "--table", "ev"])
        .success();
    assert_eq!(live.rows("SELECT id, at FROM ev ORDER BY id"), before);
    if live.backend == Backend::Postgres {
        assert_eq!(
            live.rows("SELECT encode(raw, 'escape') FROM ev WHERE id = 1"),
            vec![vec!["hi"]]
        );
    }
}

per_backend!(dump_load_round_trip_of_times_and_bytes);
