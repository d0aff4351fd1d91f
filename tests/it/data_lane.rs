//! The data lane (issue #5): keyset batches committed with their
//! checkpoint, `kill -9` and resume exactly once, verify, dry-run, named
//! operations forward and backward, `--sql` rendering, fixtures.

use std::time::Duration;

use crate::support::live::{per_backend, Backend, Live};
use crate::support::Run;

const ROWS: usize = 3000;

/// Revision a1: the `items` table every data-lane test works on.
pub(super) fn schema(live: &Live) {
    live.project
        .rev("a1")
        .message("items")
        .up("CREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0, email VARCHAR(100), status VARCHAR(20), full_name VARCHAR(100), first_name VARCHAR(50), last_name VARCHAR(50), age_text VARCHAR(20), age INTEGER, copy VARCHAR(100))")
        .down("DROP TABLE items")
        .write();
}

/// Inserts items 1..=`rows` (every third `old`, every fifth `age_text` not a number).
pub(super) fn fill(live: &Live, rows: usize) {
    let values: Vec<String> = (1..=rows)
        .map(|i| {
            format!(
                "({i}, '  User{i}@Example.COM ', '{}', 'Ada{i} Love', '{}')",
                if i % 3 == 0 { "old" } else { "new" },
                if i % 5 == 0 {
                    "x".to_string()
                } else {
                    i.to_string()
                }
            )
        })
        .collect();
    live.run_script(&format!(
        "INSERT INTO items (id, email, status, full_name, age_text) VALUES {};\n",
        values.join(", ")
    ));
}

/// Revision b1 after a1, with `body` (TOML steps) after its header.
pub(super) fn data_rev(live: &Live, body: &str) {
    // `downgrade = []` must come before the first [[table]].
    let (top, rest): (Vec<&str>, Vec<&str>) =
        body.lines().partition(|l| l.trim() == "downgrade = []");
    let body = format!("{}\n{}", top.join("\n"), rest.join("\n"));
    live.project
        .rev("b1")
        .parent("a1")
        .message("data")
        .body(&body)
        .write();
}

/// Revision b1: an `update` sized by time (towards a 5 s target these
/// batches never reach, so sizes double from 1,000) that sets each row's
/// `counter` to the checkpoint's `rows_done` read from inside its batch:
/// the rows done before it. [`batches`] then shows the batches.
pub(super) fn stamping_rev(live: &Live) {
    let rows_done = match live.backend {
        Backend::Sqlite => "json_extract(progress, '$.rows_done')",
        Backend::Postgres => "CAST(CAST(progress AS jsonb)->>'rows_done' AS INTEGER)",
        Backend::Mysql => "CAST(JSON_EXTRACT(progress, '$.rows_done') AS SIGNED)",
    };
    data_rev(
        live,
        &format!(
            r#"
[[upgrade]]
op = "update"
name = "stamp"
table = "items"
set = {{ counter = "(SELECT {rows_done} FROM _versions WHERE version = 'b1')" }}
batch_time_ms = 5000

downgrade = []
"#
        ),
    );
}

/// The batches a [`stamping_rev`] run made: (rows done before, rows) each.
pub(super) fn batches(live: &Live) -> Vec<(i64, i64)> {
    live.rows("SELECT counter, COUNT(*) FROM items GROUP BY counter ORDER BY counter")
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect()
}

/// [`schema`] applied (revision a1) and [`fill`]ed with `rows` rows.
pub(super) fn items_table(live: &Live, rows: usize) {
    schema(live);
    live.retort(&["upgrade", "a1"]).success();
    fill(live, rows);
}

/// A slow, non-idempotent step: 120 batches of 25 with 5 ms between.
pub(super) const BUMP: &str = r#"
[[upgrade]]
op = "update"
name = "bump"
table = "items"
set = { counter = "counter + 1" }
batch_size = 25
sleep_ms = 5

[[verify]]
name = "every row once"
sql = "SELECT COUNT(*) FROM items WHERE counter <> 1"
expect = 0

downgrade = []
"#;

fn kill_and_resume_exactly_once(live: Live) {
    items_table(&live, ROWS);
    data_rev(&live, BUMP);
    kill_until_done(&live, ROWS as i64);
}

/// Starts `upgrade head` and `kill -9`s it after a growing delay until a
/// run finishes; after each kill no row of `items` has `counter > 1` and
/// a checkpoint taken mid-step agrees with the rows done. `rows`: the
/// rows the step bumps.
pub(super) fn kill_until_done(live: &Live, rows: i64) {
    let mut kills = 0;
    let mut partial_seen = false;
    let mut finished = false;
    for attempt in 0..40u64 {
        let limit = Duration::from_millis(700 + attempt * 100);
        match live.spawn(&["upgrade", "head"]).wait_within(limit) {
            Some(run) => {
                run.success();
                finished = true;
                break;
            }
            None => {
                kills += 1;
                let done = live.count("SELECT COUNT(*) FROM items WHERE counter = 1");
                let twice = live.count("SELECT COUNT(*) FROM items WHERE counter > 1");
                assert_eq!(twice, 0, "a row was processed twice after kill {kills}");
                if done > 0 && done < rows {
                    partial_seen = true;
                    let rows = live.version_rows();
                    let row = rows.iter().find(|r| r.version == "b1").unwrap();
                    assert_eq!(row.state, "running");
                    assert!(row.progress.contains("\"kind\""), "{}", row.progress);
                    // The checkpoint and the data always agree.
                    let cp: serde_json::Value = serde_json::from_str(&row.progress).unwrap();
                    assert_eq!(cp["rows_done"].as_i64().unwrap(), done, "{}", row.progress);
                }
            }
        }
    }
    assert!(finished, "upgrade never finished");
    assert!(
        kills > 0 && partial_seen,
        "the run was never killed mid-step ({kills} kills)"
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        rows
    );
    live.assert_applied(&["a1", "b1"]);
}

fn verify_failure_names_the_check(live: Live) {
    items_table(&live, 50);
    let body = |expect: i64| {
        format!(
            r#"
[[upgrade]]
op = "update"
table = "items"
set = {{ counter = "counter + 1" }}
batch_size = 7

[[verify]]
name = "all bumped"
sql = "SELECT COUNT(*) FROM items WHERE counter = 1"
expect = {expect}

downgrade = []
"#
        )
    };
    data_rev(&live, &body(49));
    let run = live.retort(&["upgrade", "head"]);
    run.code(1)
        .fails_with("verify check `all bumped` (line")
        .fails_with("returned 50, expected 49");
    let row = live
        .version_rows()
        .into_iter()
        .find(|r| r.version == "b1")
        .unwrap();
    assert_eq!(row.state, "failed");
    // Fix the check: only the checks run again (counters stay at 1).
    data_rev(&live, &body(50));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        50
    );
    live.assert_applied(&["a1", "b1"]);
}

fn dry_run_changes_nothing(live: Live) {
    items_table(&live, 30);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
name = "only old"
table = "items"
set = { status = "'new'" }
where = "status = 'old'"
downgrade = []
"#,
    );
    let before = live.rows("SELECT id, status, counter FROM items ORDER BY id");
    let versions = live.version_rows();
    let run = live.retort(&["upgrade", "--dry-run"]);
    run.success();
    assert!(
        run.stdout().contains("only old: 10 rows"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("nothing was changed"));
    assert_eq!(
        live.rows("SELECT id, status, counter FROM items ORDER BY id"),
        before
    );
    assert_eq!(live.version_rows(), versions);
}

/// Every named operation, forward then backward.
fn named_operations_round_trip(live: Live) {
    items_table(&live, 40);
    live.project.file(
        "migrations/schema/fixture.csv",
        "id,email,status\n1001,a@b.c,loaded\n1002,,loaded\n",
    );
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "copy_field"
table = "items"
from = "email"
to = "copy"
batch_size = 9

[[upgrade]]
op = "rename_values"
table = "items"
column = "status"
mapping = { old = "legacy" }
batch_size = 9

[[upgrade]]
op = "split_field"
table = "items"
from = "full_name"
into = ["first_name", "last_name"]
batch_size = 9

[[upgrade]]
op = "convert_type"
table = "items"
from = "age_text"
to = "age"
type = "integer"
default = -1
batch_size = 9

[[upgrade]]
op = "transform"
table = "items"
set = { email = "{{ email.strip().lower() }}" }
batch_size = 9

[[upgrade]]
op = "load"
table = "items"
file = "fixture.csv"
on_conflict = "skip"
"#,
    );
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.rows("SELECT copy, status, first_name, last_name, age, email FROM items WHERE id = 3"),
        vec![vec![
            "  User3@Example.COM ",
            "legacy",
            "Ada3",
            "Love",
            "3",
            "user3@example.com"
        ]]
    );
    assert_eq!(live.count("SELECT age FROM items WHERE id = 5"), -1);
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status = 'old'"),
        0
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status = 'loaded'"),
        2
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE id = 1002 AND email IS NULL"),
        1
    );
    // Backward: the derived reverses need no [[downgrade]] except for the
    // transform and load, so this revision spells its downgrade out.
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "copy_field"
table = "items"
from = "email"
to = "copy"

[[downgrade]]
op = "sql"
sql = "DELETE FROM items WHERE id > 1000"

[[downgrade]]
op = "merge_fields"
table = "items"
from = ["first_name", "last_name"]
into = "full_name"
batch_size = 9

[[downgrade]]
op = "rename_values"
table = "items"
column = "status"
mapping = { legacy = "old" }
batch_size = 9

[[downgrade]]
op = "update"
table = "items"
set = { copy = "NULL", age = "NULL" }
batch_size = 9
"#,
    );
    live.retort(&["amend", "b1"]).success();
    live.retort(&["downgrade", "a1"]).success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 40);
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status = 'old'"),
        13
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE copy IS NOT NULL OR age IS NOT NULL"),
        0
    );
    assert_eq!(
        live.rows("SELECT full_name FROM items WHERE id = 7"),
        vec![vec!["Ada7 Love"]]
    );
}

/// Derived reverses: copy_field, rename_values and split_field undo
/// themselves without [[downgrade]].
fn derived_reverses(live: Live) {
    items_table(&live, 20);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "copy_field"
table = "items"
from = "email"
to = "copy"

[[upgrade]]
op = "rename_values"
table = "items"
column = "status"
mapping = { old = "legacy", new = "current" }

[[upgrade]]
op = "dedup"
table = "items"
by = ["status"]
keep = "first"
"#,
    );
    // --dry-run counts the duplicates dedup would delete, not the rows it
    // walks (it counts before the steps before it run: 20 rows, 2 kept).
    let dry = live.retort(&["upgrade", "--dry-run"]);
    dry.success();
    assert!(
        dry.stdout().contains("dedup items: 18 rows"),
        "{}",
        dry.stdout()
    );
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 2);
    assert_eq!(
        live.rows("SELECT id, status FROM items ORDER BY id"),
        vec![vec!["1", "current"], vec!["3", "legacy"]]
    );
    // dedup has no reverse: downgrade is refused, naming the step.
    live.retort(&["downgrade", "a1"])
        .code(1)
        .fails_with("upgrade step 3")
        .fails_with("`dedup`) has no reverse");
}

/// A transform writes the same values on every backend, whether a value
/// is computed by a native filter chain (text input), by minijinja (a
/// NULL input, other expressions), or is a number or NULL (SQLite binds
/// each row's values; the others send one JSON payload per batch).
fn transform_values(live: Live) {
    items_table(&live, 20);
    live.run_script("UPDATE items SET email = NULL, full_name = NULL WHERE id = 7;\n");
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "transform"
table = "items"
set = { email = "{{ email|trim|lower }}", first_name = "{{ full_name|upper }}", age = "{{ id * 2 }}", status = "{{ none if id % 2 else 'even' }}", copy = "n{{ id }}-{{ status|upper }}" }
batch_size = 3
downgrade = []
"#,
    );
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.rows(
            "SELECT email, first_name, age, status, copy FROM items WHERE id IN (3, 4) ORDER BY id"
        ),
        vec![
            vec!["user3@example.com", "ADA3 LOVE", "6", "", "n3-OLD"],
            vec!["user4@example.com", "ADA4 LOVE", "8", "even", "n4-NEW"],
        ]
    );
    // minijinja prints `none` through string filters.
    assert_eq!(
        live.rows("SELECT email, first_name, age, copy FROM items WHERE id = 7"),
        vec![vec!["none", "NONE", "14", "n7-NEW"]]
    );
}

per_backend!(
    kill_and_resume_exactly_once,
    verify_failure_names_the_check,
    dry_run_changes_nothing,
    named_operations_round_trip,
    derived_reverses,
    transform_values,
);

#[test]
fn offline_script_renders_data_steps() {
    let Some(live) = Live::new(Backend::Sqlite) else {
        return;
    };
    schema(&live);
    live.project.file(
        "migrations/schema/f.json",
        "[{\"id\": 1, \"email\": \"o'k\"}]",
    );
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
name = "normalize"
table = "items"
set = { email = "lower(trim(email))" }
batch_size = 500

[[upgrade]]
op = "transform"
table = "items"
set = { first_name = "{{ full_name.split(' ')[0] }}" }

[[upgrade]]
op = "load"
table = "items"
file = "f.json"

[[verify]]
sql = "SELECT COUNT(*) FROM items WHERE email <> lower(email)"
expect = 0
downgrade = []
"#,
    );
    let run = live.retort(&["upgrade", "--sql", "a1:b1"]);
    run.success();
    let out = run.stdout();
    assert!(
        out.contains("-- normalize: online this runs in batches of 500 rows by the primary key"),
        "{out}"
    );
    assert!(
        out.contains("UPDATE \"items\" SET \"email\" = lower(trim(email));"),
        "{out}"
    );
    assert!(out.contains("-- [retort transform]"), "{out}");
    // No batch_size: batches sized by time, capped for a transform.
    assert!(
        out.contains("evaluated in the process in batches sized to take about 200 ms each (from 1000 rows, at most 10000; set batch_size to fix the size) by the primary key:"),
        "{out}"
    );
    assert!(
        out.contains("--   first_name = {{ full_name.split(' ')[0] }}"),
        "{out}"
    );
    assert!(
        out.contains("INSERT INTO \"items\" (\"id\", \"email\") VALUES (1, 'o''k');"),
        "{out}"
    );
    assert!(out.contains("-- [retort verify]"), "{out}");
}

#[test]
fn data_dump_and_load_round_trip() {
    let Some(live) = Live::new(Backend::Sqlite) else {
        return;
    };
    items_table(&live, 5);
    let dump = live.retort(&[
        "data",
        "dump",
        "items",
        "--format",
        "json",
        "-o",
        "items.json",
    ]);
    dump.success();
    live.run_script("DELETE FROM items;");
    live.retort(&["data", "load", "items.json", "--table", "items"])
        .success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 5);
    let csv = live.retort(&["data", "dump", "items"]);
    csv.success();
    assert!(
        csv.stdout().starts_with("id,counter,email"),
        "{}",
        csv.stdout()
    );
    live.retort(&["data", "load", "items.json", "--table", "items"])
        .code(1);
    let skip = live.retort(&[
        "data",
        "load",
        "items.json",
        "--table",
        "items",
        "--on-conflict",
        "skip",
    ]);
    skip.success();
    assert!(
        skip.stdout().contains(
            "Loaded 5 rows from items.json into items (0 inserted, 5 already there and skipped)"
        ),
        "{}",
        skip.stdout()
    );
    live.retort(&[
        "data",
        "load",
        "items.json",
        "--table",
        "items",
        "--on-conflict",
        "update",
    ])
    .success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 5);
}

/// `template = true` in a data revision: its `sql` steps (upgrade and
/// downgrade) and `[[verify]]` SQL see `vars` (`-x`) and `dialect`, online
/// and in `--sql`; a template error (a var not given) fails with exit 1
/// naming the file and line before anything runs.
fn templated_sql_steps(live: Live) {
    let dialect = match live.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
    };
    schema(&live);
    data_rev(
        &live,
        r#"template = true

[[upgrade]]
op = "sql"
sql = "UPDATE items SET status = '{{ vars.region }}-{{ dialect }}' WHERE id <= 10"

[[upgrade]]
op = "update"
table = "items"
set = { counter = "counter + 1" }
batch_size = 7

[[downgrade]]
op = "sql"
sql = "UPDATE items SET status = 'new' WHERE status = '{{ vars.region }}-{{ dialect }}'"

[[verify]]
name = "tagged"
sql = "SELECT COUNT(*) FROM items WHERE status = '{{ vars.region }}-{{ dialect }}'"
expect = 10
"#,
    );
    let file = live.project.read("migrations/schema/b1_data.toml");
    let line = 1 + file
        .lines()
        .position(|l| l == "[[upgrade]]")
        .expect("an [[upgrade]] step");
    let error = format!(
        "revision b1 ([ROOT]/migrations/schema/b1_data.toml), upgrade step 1 (line {line}): template error at line 1 of the step's SQL: undefined value"
    );
    let hint = "(the revision has `template = true`; a literal `{{` is written `{{ '{{' }}`, or set `template = false`)";

    let refused = |run: &Run| {
        run.code(1);
        let stderr = run.stderr();
        assert!(
            stderr.contains(&error) && stderr.contains(hint),
            "`retort {}`: stderr lacks {error:?}\n{stderr}",
            run.args.join(" ")
        );
    };

    // A var not given: the whole run is refused, even the schema revision
    // before it, and nothing is created.
    refused(&live.retort(&["upgrade", "head"]));
    assert!(!live.table_exists("items"));
    live.assert_applied(&[]);

    live.retort(&["upgrade", "a1"]).success();
    fill(&live, 30);
    let before = live.rows("SELECT id, status, counter FROM items ORDER BY id");
    refused(&live.retort(&["upgrade", "head", "-x", "other=1"]));
    assert_eq!(
        live.rows("SELECT id, status, counter FROM items ORDER BY id"),
        before
    );
    live.assert_applied(&["a1"]);
    // `--sql` fails the same way.
    refused(&live.retort(&["upgrade", "--sql", "a1:b1"]));

    // `--sql` shows the rendered text.
    let tag = format!("eu-{dialect}");
    let script = live.retort(&["upgrade", "--sql", "a1:b1", "-x", "region=eu"]);
    script.success();
    let out = script.stdout();
    assert!(
        out.contains(&format!(
            "UPDATE items SET status = '{tag}' WHERE id <= 10;"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "--   tagged (expect 10): SELECT COUNT(*) FROM items WHERE status = '{tag}'"
        )),
        "{out}"
    );
    assert!(!out.contains("{{"), "{out}");
    // So does `--dry-run`, which changes nothing.
    let dry = live.retort(&["upgrade", "--dry-run", "-x", "region=eu"]);
    dry.success();
    assert!(
        dry.stdout()
            .contains(&format!("runs once: UPDATE items SET status = '{tag}'")),
        "{}",
        dry.stdout()
    );
    live.assert_applied(&["a1"]);

    // Online: the data changed as rendered, and the rendered check passed.
    live.retort(&["upgrade", "head", "-x", "region=eu"])
        .success();
    live.assert_applied(&["a1", "b1"]);
    assert_eq!(
        live.count(&format!(
            "SELECT COUNT(*) FROM items WHERE status = '{tag}'"
        )),
        10
    );
    assert_eq!(
        live.count(&format!(
            "SELECT COUNT(*) FROM items WHERE status = '{tag}' AND id > 10"
        )),
        0
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        30
    );

    // The downgrade's sql step is rendered too.
    live.retort(&["downgrade", "a1", "-x", "region=eu"])
        .success();
    live.assert_applied(&["a1"]);
    assert_eq!(
        live.count(&format!(
            "SELECT COUNT(*) FROM items WHERE status = '{tag}'"
        )),
        0
    );
}

per_backend!(templated_sql_steps);
