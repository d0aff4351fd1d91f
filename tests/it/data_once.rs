//! Exactly-once in the data lane beyond a single killed run: two deploys
//! at once (SQLite takes a lock file for a data revision), a `sql` step
//! that commits together with the checkpoint that moves past it, and
//! `data load` as one transaction.

use super::data_lane::{data_rev, items_table};
use crate::support::live::{per_backend, Backend, Live};

/// Rows of the concurrency test: 150 batches of 10 per step.
const ROWS: i64 = 1500;

/// A non-idempotent `update` then a `copy_rows` into a table without a
/// key (a row copied twice shows), both in small batches.
const TWO_STEPS: &str = r#"
downgrade = []

[[upgrade]]
op = "update"
name = "bump"
table = "items"
set = { counter = "counter + 1" }
batch_size = 10

[[upgrade]]
op = "copy_rows"
name = "copy"
target = "dst"
columns = ["id", "counter"]
select = ["i.id", "i.counter"]
from = "items i"
key = "i.id"
batch_size = 10
"#;

/// Two `upgrade head` at once on a multi-step data revision: both exit 0,
/// every row is bumped once and copied once (the second process waits for
/// or adopts the first's progress, never redoes it).
fn concurrent_upgrades_process_rows_once(live: Live) {
    items_table(&live, ROWS as usize);
    live.run_script("CREATE TABLE dst (id INTEGER, counter INTEGER);\n");
    data_rev(&live, TWO_STEPS);
    let first = live.spawn(&["-q", "upgrade", "head"]);
    let second = live.spawn(&["-q", "upgrade", "head"]);
    let (a, b) = (first.finish(), second.finish());
    a.success();
    b.success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter <> 1"),
        0,
        "rows bumped twice (or never): {:?}",
        live.rows("SELECT counter, COUNT(*) FROM items GROUP BY counter ORDER BY counter")
    );
    assert_eq!(live.count("SELECT COUNT(*) FROM dst"), ROWS, "rows copied");
    assert_eq!(live.count("SELECT COUNT(DISTINCT id) FROM dst"), ROWS);
    assert_eq!(live.count("SELECT COUNT(*) FROM dst WHERE counter <> 1"), 0);
    live.assert_applied(&["a1", "b1"]);
}

/// Step 1 bumps every row (non-idempotent), step 2 is `second`; the
/// `[[verify]]` makes it a data revision.
fn bump_then(second: &str) -> String {
    format!(
        r#"
downgrade = []

[[upgrade]]
op = "sql"
sql = "UPDATE items SET counter = counter + 1"

[[upgrade]]
op = "sql"
sql = "{second}"

[[verify]]
name = "bumped once"
sql = "SELECT COUNT(*) FROM items WHERE counter <> 1"
expect = 0
"#
    )
}

/// The stored checkpoint of b1: `(state, step)`.
fn checkpoint(live: &Live) -> (String, i64) {
    let rows = live.version_rows();
    let row = rows
        .iter()
        .find(|r| r.version == "b1")
        .unwrap_or_else(|| panic!("no b1 row: {rows:?}"));
    let cp: serde_json::Value = serde_json::from_str(&row.progress)
        .unwrap_or_else(|e| panic!("progress {:?}: {e}", row.progress));
    (row.state.clone(), cp["step"].as_i64().expect("a step"))
}

/// A failing second step leaves the checkpoint past the first `sql` step;
/// the run after the fix does not run the first step again.
fn failed_sql_step_resumes_after_the_committed_one(live: Live) {
    items_table(&live, 20);
    data_rev(&live, &bump_then("UPDATE items SET no_such_column = 1"));
    let run = live.retort(&["upgrade", "head"]);
    run.code(1);
    assert_eq!(
        checkpoint(&live),
        ("failed".to_string(), 1),
        "{}",
        run.stderr()
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        20
    );
    data_rev(&live, &bump_then("UPDATE items SET status = 'done'"));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        20
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status = 'done'"),
        20
    );
    live.assert_applied(&["a1", "b1"]);
}

/// A `sql` step and the checkpoint that moves past it commit together
/// (SQLite, PostgreSQL): a step whose checkpoint cannot be written (here it
/// renames the version table away) is rolled back with it, as a kill
/// between the two would leave it. MySQL/MariaDB commit the DDL
/// implicitly, so there the step can run again (design notes).
fn sql_step_commits_with_its_checkpoint(live: Live) {
    if live.backend == Backend::Mysql {
        return;
    }
    items_table(&live, 20);
    let rename =
        "UPDATE items SET counter = counter + 1; ALTER TABLE _versions RENAME TO _versions_gone";
    data_rev(&live, &bump_then(rename));
    // Step 1 is the rename itself: bump in step 0, then a step whose own
    // checkpoint cannot be saved.
    let run = live.retort(&["upgrade", "head"]);
    run.code(1);
    assert!(
        live.table_exists("_versions") && !live.table_exists("_versions_gone"),
        "the step committed without its checkpoint: {}",
        run.stderr()
    );
    assert_eq!(
        checkpoint(&live),
        ("failed".to_string(), 1),
        "{}",
        run.stderr()
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        20,
        "step 1 ran once, step 2 not at all"
    );
    data_rev(&live, &bump_then("UPDATE items SET status = 'done'"));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        20
    );
    live.assert_applied(&["a1", "b1"]);
}

/// `data load` is all or nothing: a 21-row CSV whose last row breaks NOT
/// NULL, loaded in batches of 5, exits 1, names the file and leaves the
/// table as it was.
fn data_load_is_all_or_nothing(live: Live) {
    items_table(&live, 2);
    let mut csv = String::from("id,counter,email\n");
    for i in 10..30 {
        csv.push_str(&format!("{i},0,u{i}@example.com\n"));
    }
    csv.push_str("30,,broken@example.com\n");
    std::fs::write(live.project.root().join("rows.csv"), csv).unwrap();
    let run = live.retort(&[
        "data",
        "load",
        "rows.csv",
        "--table",
        "items",
        "--batch-size",
        "5",
    ]);
    run.code(1);
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items"),
        2,
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("rows.csv"), "{}", run.stderr());
    assert!(
        run.stderr().contains("rows 21..21 of 21 (lines 22..22)"),
        "{}",
        run.stderr()
    );
    // The same file without the broken row loads.
    let text = std::fs::read_to_string(live.project.root().join("rows.csv")).unwrap();
    let good: String = text.lines().take(21).map(|l| format!("{l}\n")).collect();
    std::fs::write(live.project.root().join("rows.csv"), good).unwrap();
    live.retort(&[
        "data",
        "load",
        "rows.csv",
        "--table",
        "items",
        "--batch-size",
        "5",
    ])
    .success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 22);
}

/// `data dump` of a table that does not exist fails naming it.
fn dump_reports_database_errors(live: Live) {
    items_table(&live, 1);
    let run = live.retort(&["data", "dump", "no_such_table"]);
    run.code(1);
    assert!(run.stderr().contains("no_such_table"), "{}", run.stderr());
}

per_backend!(
    concurrent_upgrades_process_rows_once,
    failed_sql_step_resumes_after_the_committed_one,
    sql_step_commits_with_its_checkpoint,
    data_load_is_all_or_nothing,
    dump_reports_database_errors,
);
