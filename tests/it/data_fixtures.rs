//! Fixtures of the data lane: a resumed `load` step refuses a fixture file
//! that changed since its rows so far were loaded (the checkpoint records
//! the file's SHA-256).

use super::data_lane::{data_rev, schema};
use crate::support::live::{is_sha256_hex, per_backend, Backend, Live};

/// Where the fixture of [`LOAD`] is, from the project root.
const FIXTURE: &str = "migrations/schema/fixtures/rows.csv";

/// A `load` of [`FIXTURE`] into `items` in batches of 5.
const LOAD: &str = r#"
downgrade = []

[[upgrade]]
op = "load"
name = "rows"
table = "items"
file = "fixtures/rows.csv"
batch_size = 5
"#;

/// Items 1..=30 as CSV, each with `u{id}@example.com`, except the ids in
/// `skip` and the e-mail addresses in `emails`.
fn rows_csv(skip: &[i64], emails: &[(i64, &str)]) -> String {
    let mut csv = String::from("id,email\n");
    for i in (1..=30).filter(|i| !skip.contains(i)) {
        let email = emails
            .iter()
            .find(|(id, _)| *id == i)
            .map_or(format!("u{i}@example.com"), |(_, e)| e.to_string());
        csv.push_str(&format!("{i},{email}\n"));
    }
    csv
}

/// The stored checkpoint of b1 and its state.
fn checkpoint(live: &Live) -> (String, serde_json::Value) {
    let rows = live.version_rows();
    let row = rows
        .iter()
        .find(|r| r.version == "b1")
        .unwrap_or_else(|| panic!("no b1 row: {rows:?}"));
    let cp = serde_json::from_str(&row.progress)
        .unwrap_or_else(|e| panic!("progress {:?}: {e}", row.progress));
    (row.state.clone(), cp)
}

/// Table `items` (revision a1), the [`LOAD`] revision b1 and a run of it
/// that stops after 20 rows: row 23 of the fixture is already in the
/// table, so the fifth batch (rows 21..25) fails and the four before it
/// stay committed with their checkpoint.
fn load_stopped_after_20_rows(live: &Live) {
    schema(live);
    live.retort(&["upgrade", "a1"]).success();
    live.run_script("INSERT INTO items (id, email) VALUES (23, 'blocker');\n");
    live.project.file(FIXTURE, &rows_csv(&[], &[]));
    data_rev(live, LOAD);
    let run = live.retort(&["upgrade", "head"]);
    run.code(1);
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items"),
        21,
        "{}",
        run.stderr()
    );
    let (state, cp) = checkpoint(live);
    assert_eq!(state, "failed");
    assert_eq!(cp["rows_done"], 20, "{cp}");
    assert!(
        cp["fixture_sha256"].as_str().is_some_and(is_sha256_hex),
        "the checkpoint records the fixture's digest: {cp}"
    );
}

/// After the fixture loses row 2 (every later row moves up one position)
/// a resume would skip row 22: it is refused with exit 1 naming the
/// revision, the step, the file as written, the rows loaded and both ways
/// out, and nothing changes in the table or the checkpoint. With the file
/// restored (and the blocking row gone) it resumes and every row is there
/// once.
fn resumed_load_refuses_a_changed_fixture(live: Live) {
    load_stopped_after_20_rows(&live);
    let items = live.rows("SELECT id, email FROM items ORDER BY id");
    let (_, cp) = checkpoint(&live);
    live.project
        .file(FIXTURE, &rows_csv(&[2], &[(28, "changed@example.com")]));
    live.run_script("DELETE FROM items WHERE id = 23;\n");
    let items_without_blocker = live.rows("SELECT id, email FROM items ORDER BY id");
    assert_eq!(items_without_blocker.len(), 20);

    let dry = live.retort(&["upgrade", "--dry-run"]);
    dry.success();
    assert!(
        dry.stdout()
            .contains("changed after 20 of its rows were loaded: the run will refuse to resume"),
        "{}",
        dry.stdout()
    );

    let run = live.retort(&["upgrade", "head"]);
    run.code(1)
        .fails_with("revision b1 (")
        .fails_with("upgrade step 1 (line ")
        .fails_with("the fixture fixtures/rows.csv changed after 20 of its rows were loaded")
        .fails_with("so nothing was loaded")
        .fails_with("Restore the file as it was to resume")
        .fails_with("undo the 20 rows loaded so far and run `retort resolve b1 --reverted`");
    assert_eq!(
        live.rows("SELECT id, email FROM items ORDER BY id"),
        items_without_blocker
    );
    let (state, after) = checkpoint(&live);
    assert_eq!(state, "failed");
    for field in ["step", "rows_done", "last_key", "fixture_sha256"] {
        assert_eq!(after[field], cp[field], "{field}: {after} vs {cp}");
    }

    // Restored: the resume loads rows 21..30 (22 and 23 included) once.
    live.project.file(FIXTURE, &rows_csv(&[], &[]));
    live.retort(&["upgrade", "head"]).success();
    let mut expected: Vec<Vec<String>> = items[..items.len()].to_vec();
    expected.retain(|r| r[0] != "23");
    expected.extend((21..=30).map(|i| vec![i.to_string(), format!("u{i}@example.com")]));
    expected.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert_eq!(
        live.rows("SELECT id, email FROM items ORDER BY id"),
        expected
    );
    assert_eq!(expected.len(), 30);
    live.assert_applied(&["a1", "b1"]);
}

/// A checkpoint written before the digest was recorded (none in its JSON)
/// resumes by position as before: here the file changed only after the
/// rows loaded, so the resume is right and takes the new row 28.
fn load_checkpoint_without_a_digest_resumes(live: Live) {
    load_stopped_after_20_rows(&live);
    let strip = match live.backend {
        Backend::Sqlite => "json_remove(progress, '$.fixture_sha256')",
        Backend::Postgres => "progress - 'fixture_sha256'",
        Backend::Mysql => "JSON_REMOVE(progress, '$.fixture_sha256')",
    };
    live.run_script(&format!(
        "UPDATE _versions SET progress = {strip} WHERE version = 'b1';\n\
         DELETE FROM items WHERE id = 23;\n"
    ));
    let (_, cp) = checkpoint(&live);
    assert!(cp.get("fixture_sha256").is_none(), "{cp}");
    live.project
        .file(FIXTURE, &rows_csv(&[], &[(28, "changed@example.com")]));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 30);
    assert_eq!(live.count("SELECT COUNT(DISTINCT id) FROM items"), 30);
    assert_eq!(
        live.rows("SELECT email FROM items WHERE id IN (22, 28) ORDER BY id"),
        [["u22@example.com"], ["changed@example.com"]]
    );
    live.assert_applied(&["a1", "b1"]);
}

per_backend!(
    resumed_load_refuses_a_changed_fixture,
    load_checkpoint_without_a_digest_resumes,
);
