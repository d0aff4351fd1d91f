//! Fixtures of the data lane: a resumed `load` step refuses a fixture whose
//! rows loaded so far changed (the checkpoint records the SHA-256 of the
//! columns and those rows) and takes a fix to the rows after them, and binary values written by `data dump` (`\x` +
//! hex) load back into the same bytes through `data load` and `load` steps
//! on every backend, while any other value in a binary column is refused
//! naming the file, the row and the column.

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
        cp["loaded_sha256"].as_str().is_some_and(is_sha256_hex),
        "the checkpoint records the loaded rows' digest: {cp}"
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
            .contains("the first 20 rows of fixtures/rows.csv changed since they were loaded: the run will refuse to resume"),
        "{}",
        dry.stdout()
    );

    let run = live.retort(&["upgrade", "head"]);
    run.code(1)
        .fails_with("revision b1 (")
        .fails_with("upgrade step 1 (line ")
        .fails_with(
            "the first 20 rows of the fixture fixtures/rows.csv changed since they were loaded",
        )
        .fails_with("so nothing was loaded")
        .fails_with("Restore those rows and the columns as they were to resume")
        .fails_with("undo the 20 rows loaded so far and run `retort resolve b1 --reverted`");
    assert_eq!(
        live.rows("SELECT id, email FROM items ORDER BY id"),
        items_without_blocker
    );
    let (state, after) = checkpoint(&live);
    assert_eq!(state, "failed");
    for field in ["step", "rows_done", "last_key", "loaded_sha256"] {
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
        Backend::Sqlite => "json_remove(progress, '$.loaded_sha256')",
        Backend::Postgres => "progress - 'loaded_sha256'",
        Backend::Mysql => "JSON_REMOVE(progress, '$.loaded_sha256')",
    };
    live.run_script(&format!(
        "UPDATE _versions SET progress = {strip} WHERE version = 'b1';\n\
         DELETE FROM items WHERE id = 23;\n"
    ));
    let (_, cp) = checkpoint(&live);
    assert!(cp.get("loaded_sha256").is_none(), "{cp}");
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

/// The usual reason a load stops is a bad row it had not loaded yet:
/// fixing the file there (here row 23's id clashes; the fix gives it
/// another id, and row 28 another address) does not touch the rows
/// loaded, so the resume goes on and takes the fixed rows.
fn a_fix_after_the_loaded_rows_resumes(live: Live) {
    load_stopped_after_20_rows(&live);
    let fixed = rows_csv(&[], &[(28, "fixed@example.com")]).replace("\n23,", "\n123,");
    live.project.file(FIXTURE, &fixed);
    let run = live.retort(&["upgrade", "head"]);
    run.success();
    assert_eq!(live.count("SELECT COUNT(*) FROM items"), 31);
    assert_eq!(
        live.rows("SELECT id, email FROM items WHERE id IN (23, 28, 123) ORDER BY id"),
        [
            ["23", "blocker"],
            ["28", "fixed@example.com"],
            ["123", "u23@example.com"]
        ]
    );
    live.assert_applied(&["a1", "b1"]);
}

per_backend!(
    resumed_load_refuses_a_changed_fixture,
    load_checkpoint_without_a_digest_resumes,
    a_fix_after_the_loaded_rows_resumes,
);

/// `CREATE TABLE name` with an id, a text column and two binary columns
/// (the BLOB family and a short VARBINARY where the backend has one).
fn binary_table(live: &Live, name: &str) -> String {
    let (blob, varbinary) = match live.backend {
        Backend::Sqlite => ("BLOB", "VARBINARY(8)"),
        Backend::Postgres => ("BYTEA", "BYTEA"),
        Backend::Mysql => ("BLOB", "VARBINARY(8)"),
    };
    format!(
        "CREATE TABLE {name} (id INTEGER PRIMARY KEY, label TEXT NULL, raw {blob} NULL, small {varbinary} NULL);\n"
    )
}

/// A binary literal of `hex` (upper-case digits, maybe empty).
fn bytes_literal(live: &Live, hex: &str) -> String {
    match live.backend {
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
        Backend::Sqlite | Backend::Mysql => format!("X'{hex}'"),
    }
}

/// Every row of `table` with its binary columns as upper-case hex (`null`
/// for NULL, so that an empty value shows as "").
fn read_back(live: &Live, table: &str) -> Vec<Vec<String>> {
    let hex = |c: &str| match live.backend {
        Backend::Sqlite => format!("CASE WHEN {c} IS NULL THEN 'null' ELSE hex({c}) END"),
        Backend::Postgres => {
            format!("CASE WHEN {c} IS NULL THEN 'null' ELSE upper(encode({c}, 'hex')) END")
        }
        Backend::Mysql => format!("CASE WHEN {c} IS NULL THEN 'null' ELSE HEX({c}) END"),
    };
    let mut rows = live.rows(&format!(
        "SELECT id, label, {}, {} FROM {table} ORDER BY id",
        hex("raw"),
        hex("small")
    ));
    if live.backend == Backend::Mysql {
        // `mariadb --batch` prints a backslash as `\\`.
        for row in &mut rows {
            row[1] = row[1].replace("\\\\", "\\");
        }
    }
    rows
}

/// Bytes 0x00..0xff (and an empty value, a NULL, a short one) go out
/// through `data dump` as `\x` + hex, in CSV and JSON, and come back
/// identical through `data load` and through `load` steps; a `\x…` string
/// in a text column stays text. A value in a binary column that is not
/// `\x` + an even number of hex digits is refused (exit 1) naming the
/// file, the row and the column, with nothing loaded.
fn binary_values_round_trip_through_fixtures(live: Live) {
    let all: String = (0..=255u8).map(|b| format!("{b:02X}")).collect();
    // MySQL reads backslash escapes in string literals.
    let text_x = match live.backend {
        Backend::Mysql => "'\\\\x00ff'",
        Backend::Sqlite | Backend::Postgres => "'\\x00ff'",
    };
    live.run_script(&format!(
        "{}{}{}INSERT INTO bin (id, label, raw, small) VALUES \
         (1, {text_x}, {}, {}), (2, 'plain', {}, NULL), (3, NULL, NULL, {});\n",
        binary_table(&live, "bin"),
        binary_table(&live, "bin_csv"),
        binary_table(&live, "bin_json"),
        bytes_literal(&live, &all),
        bytes_literal(&live, "0001"),
        bytes_literal(&live, ""),
        bytes_literal(&live, "FF"),
    ));
    let expected = vec![
        vec![
            "1".to_string(),
            "\\x00ff".to_string(),
            all.clone(),
            "0001".to_string(),
        ],
        vec!["2".into(), "plain".into(), String::new(), "null".into()],
        vec!["3".into(), String::new(), "null".into(), "FF".into()],
    ];
    assert_eq!(read_back(&live, "bin"), expected);

    let dir = "migrations/schema";
    live.retort(&["data", "dump", "bin", "-o", &format!("{dir}/bin.csv")])
        .success();
    live.retort(&[
        "data",
        "dump",
        "bin",
        "--format",
        "json",
        "-o",
        &format!("{dir}/bin.json"),
    ])
    .success();
    let csv = live.project.read(&format!("{dir}/bin.csv"));
    assert!(
        csv.starts_with(&format!(
            "id,label,raw,small\n1,\\x00ff,\\x{},\\x0001\n2,plain,\\x,\n3,,,\\xff\n",
            all.to_lowercase()
        )),
        "{csv}"
    );
    let json = live.project.read(&format!("{dir}/bin.json"));
    assert!(json.contains("\"small\": \"\\\\x0001\""), "{json}");

    for file in ["bin.csv", "bin.json"] {
        live.run_script("DELETE FROM bin;\n");
        live.retort(&["data", "load", &format!("{dir}/{file}"), "--table", "bin"])
            .success();
        assert_eq!(read_back(&live, "bin"), expected, "{file}");
    }

    // The same files through `load` steps of a revision.
    live.project
        .rev("b1")
        .message("load bytes")
        .body(
            r#"downgrade = []

[[upgrade]]
op = "load"
table = "bin_csv"
file = "bin.csv"
batch_size = 2

[[upgrade]]
op = "load"
table = "bin_json"
file = "bin.json"
on_conflict = "update"
"#,
        )
        .write();
    live.retort(&["upgrade", "b1"]).success();
    assert_eq!(read_back(&live, "bin_csv"), expected);
    assert_eq!(read_back(&live, "bin_json"), expected);

    // Not `\x` + hex in a binary column: refused, nothing loaded.
    live.project.file(
        &format!("{dir}/bad.csv"),
        "id,label,raw\n7,a,\\x00\n8,b,hello\n",
    );
    live.project.file(
        &format!("{dir}/bad.json"),
        "[{\"id\": 7, \"small\": \"\\\\x00\"}, {\"id\": 8, \"small\": \"\\\\x123\"}]",
    );
    live.retort(&["data", "load", &format!("{dir}/bad.csv"), "--table", "bin"])
        .code(1)
        .fails_with("bad.csv: row 2 (line 3), column raw: \"hello\" is not a binary value")
        .fails_with("a binary column takes \\x followed by an even number of hex digits")
        .fails_with("nothing was loaded");
    live.retort(&["data", "load", &format!("{dir}/bad.json"), "--table", "bin"])
        .code(1)
        .fails_with("bad.json: row 2, column small: \"\\\\x123\" is not a binary value");
    assert_eq!(read_back(&live, "bin"), expected);
    live.project
        .rev("b2")
        .parent("b1")
        .message("bad bytes")
        .body(
            r#"downgrade = []

[[upgrade]]
op = "load"
table = "bin"
file = "bad.csv"
"#,
        )
        .write();
    live.retort(&["upgrade", "head"])
        .code(1)
        .fails_with("revision b2 (")
        .fails_with("upgrade step 1 (line ")
        .fails_with("fixture bad.csv: row 2 (line 3), column raw: \"hello\"");
    assert_eq!(read_back(&live, "bin"), expected);
}

per_backend!(binary_values_round_trip_through_fixtures);

/// `upgrade --sql` writes a `load`'s `\x` values in a binary column of a
/// table an earlier revision created with portable operations as binary
/// literals, so the script stores the bytes too; a bad value refuses the
/// script naming the file, the row and the column.
fn offline_load_writes_binary_literals(live: Live) {
    live.project
        .rev("a1")
        .message("blobs")
        .body(
            r#"
[[upgrade]]
op = "create_table"
table = "blobs"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "label", type = "text" },
  { name = "raw", type = "binary" },
]
"#,
        )
        .write();
    live.project.file(
        "migrations/schema/blobs.csv",
        "id,label,raw\n1,\\x00ff,\\x00ff\n2,b,\\x\n3,c,\n",
    );
    live.project
        .rev("b1")
        .parent("a1")
        .message("load blobs")
        .body(
            r#"downgrade = []

[[upgrade]]
op = "load"
table = "blobs"
file = "blobs.csv"
"#,
        )
        .write();
    let run = live.retort(&["upgrade", "--sql"]);
    run.success();
    live.run_script(&run.stdout());
    let hex = match live.backend {
        Backend::Sqlite | Backend::Mysql => "HEX(raw)",
        Backend::Postgres => "upper(encode(raw, 'hex'))",
    };
    let mut rows = live.rows(&format!(
        "SELECT id, label, CASE WHEN raw IS NULL THEN 'null' ELSE {hex} END FROM blobs ORDER BY id"
    ));
    if live.backend == Backend::Mysql {
        rows[0][1] = rows[0][1].replace("\\\\", "\\");
    }
    assert_eq!(
        rows,
        [["1", "\\x00ff", "00FF"], ["2", "b", ""], ["3", "c", "null"]]
    );
    live.project.file(
        "migrations/schema/blobs.csv",
        "id,label,raw\n1,a,\\x00\n2,b,0g\n",
    );
    live.retort(&["upgrade", "--sql"])
        .code(1)
        .fails_with("revision b1 (")
        .fails_with("fixture blobs.csv: row 2 (line 3), column raw: \"0g\" is not a binary value");
}

per_backend!(offline_load_writes_binary_literals);
