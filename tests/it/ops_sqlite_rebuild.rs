//! SQLite table rebuilds run by the binary on a real file (issue #4): the
//! live table's shape is read from the catalog, children with ON DELETE
//! CASCADE keep their rows, indexes, triggers and views survive, and a
//! rebuild that leaves a broken foreign key is rolled back naming the
//! revision and the row.

use crate::support::live::Live;

/// Revision 2 (`bbbb00000002`) as `02_alter.toml`, `body` after its header.
fn write_alter(live: &Live, message: &str, body: &str) {
    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message(message)
        .body(body)
        .named("02_alter.toml")
        .write();
}

/// Revision 2: `child.note` becomes NOT NULL (a SQLite rebuild), after
/// `leading` (more `[[upgrade]]` steps, or nothing).
fn write_note_not_null(live: &Live, leading: &str) {
    write_alter(
        live,
        "child note not null",
        &format!(
            r#"{leading}
[[upgrade]]
op = "alter_column"
table = "child"
column = "note"
nullable = false
"#
        ),
    );
}

/// A SQLite project with parent (created by raw SQL, so only the live
/// catalog knows it), child with ON DELETE CASCADE, an index, a trigger, a
/// view, rows.
fn setup() -> Live {
    let live = Live::sqlite();
    live.project
        .rev("aaaa00000001")
        .message("base")
        .up("CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50), score INTEGER DEFAULT 0);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE, note TEXT);
CREATE INDEX ix_parent_name ON parent (name);
CREATE TABLE audit (what TEXT);
CREATE TRIGGER tr_parent AFTER INSERT ON parent BEGIN INSERT INTO audit VALUES ('new ' || NEW.name); END;
CREATE VIEW v_parent AS SELECT p.name, count(c.id) AS children FROM parent p LEFT JOIN child c ON c.parent_id = p.id GROUP BY p.name;
INSERT INTO parent (name) VALUES ('a'), ('b');
INSERT INTO child (parent_id, note) VALUES (1, 'x'), (1, 'y'), (2, 'z')")
        .down("DROP VIEW v_parent; DROP TRIGGER tr_parent; DROP TABLE audit; DROP TABLE child; DROP TABLE parent")
        .write();
    write_alter(
        &live,
        "name not null",
        r#"
[[upgrade]]
op = "alter_column"
table = "parent"
column = "name"
nullable = false

# The table was created by raw SQL, so no inverse can be derived (its
# earlier definition is known nowhere); the explicit downgrade is another
# rebuild of the live table.
[[downgrade]]
op = "alter_column"
table = "parent"
column = "name"
nullable = true
"#,
    );
    live
}

fn check_intact(live: &Live) {
    assert_eq!(
        live.count("SELECT count(*) FROM child"),
        3,
        "child rows lost"
    );
    assert_eq!(live.count("SELECT count(*) FROM parent"), 2);
    assert_eq!(
        live.query("SELECT name, children FROM v_parent ORDER BY name"),
        "a\t2\nb\t1"
    );
    assert_eq!(
        live.count(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_parent_name'"
        ),
        1
    );
    assert!(live
        .query("PRAGMA foreign_key_list(child)")
        .to_ascii_uppercase()
        .contains("CASCADE"));
}

#[test]
fn rebuild_keeps_children_index_trigger_and_view() {
    let live = setup();
    live.retort(&["upgrade", "head"]).success();
    check_intact(&live);
    assert_eq!(
        live.query("SELECT \"notnull\" FROM pragma_table_info('parent') WHERE name = 'name'"),
        "1"
    );
    // The trigger still fires (one audit row per parent so far, then one
    // more), and cascades still work afterwards.
    live.query("INSERT INTO parent (name) VALUES ('c')");
    assert_eq!(live.count("SELECT count(*) FROM audit"), 3);
    // The downgrade: another rebuild, same guarantees.
    live.retort(&["downgrade", "-1"]).success();
    assert_eq!(
        live.query("SELECT \"notnull\" FROM pragma_table_info('parent') WHERE name = 'name'"),
        "0"
    );
    assert_eq!(
        live.count("SELECT count(*) FROM child"),
        3,
        "child rows lost"
    );
    assert_eq!(live.count("SELECT count(*) FROM parent"), 3);
    live.query("INSERT INTO parent (name) VALUES ('d')");
    assert_eq!(live.count("SELECT count(*) FROM audit"), 4);
    // And up again, then the whole way down.
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(live.count("SELECT count(*) FROM child"), 3);
    live.retort(&["downgrade", "base"]).success();
    assert!(!live.table_exists("parent"));
}

#[test]
fn rebuild_with_a_broken_foreign_key_is_rolled_back() {
    let live = setup();
    live.retort(&["upgrade", "aaaa00000001"]).success();
    // An orphan row (the sqlite3 shell runs with foreign keys off).
    live.query("INSERT INTO child (id, parent_id, note) VALUES (9, 42, 'orphan')");
    write_note_not_null(&live, "");
    live.retort(&["upgrade", "head"])
        .fails_with("upgrade of revision bbbb00000002")
        .fails_with("row 9 of `child` references a missing row of `parent`");
    // Nothing changed: the column is still nullable, the row is not
    // recorded, foreign keys are enforced again for the next connection.
    assert_eq!(
        live.query("SELECT \"notnull\" FROM pragma_table_info('child') WHERE name = 'note'"),
        "0"
    );
    assert_eq!(live.version_rows().len(), 1);
    assert_eq!(live.count("SELECT count(*) FROM child"), 4);
}

#[test]
fn raw_sql_earlier_in_the_same_run_is_read_from_the_live_table() {
    let live = setup();
    // Base (raw SQL) and the rebuild in one run: the rebuild is rendered
    // when it runs, from the catalog.
    live.retort(&["upgrade", "head"]).success();
    check_intact(&live);
    // Offline, the same rebuild needs the replayed model, which does not
    // know a table created by raw SQL: a clear error saying what to do.
    live.retort(&["upgrade", "head", "--sql"]).fails_with(
        "needs the current definition of table `parent`, but no earlier revision creates it",
    );
}

/// A rebuild statement that fails (existing NULLs under a new NOT NULL)
/// is reported with the line of the step that produced it, and nothing is
/// recorded.
#[test]
fn failing_rebuild_statement_names_its_step_line() {
    let live = setup();
    live.retort(&["upgrade", "aaaa00000001"]).success();
    live.query("INSERT INTO child (parent_id, note) VALUES (2, NULL)");
    write_note_not_null(&live, "\n[[upgrade]]\nop = \"sql\"\nsql = \"SELECT 1\"\n");
    live.retort(&["upgrade", "head"])
        .fails_with("upgrade of revision bbbb00000002")
        .fails_with("(step at line 9): NOT NULL constraint failed");
    assert_eq!(live.version_rows().len(), 1);
}

/// In a `transactional = false` revision the rebuild's statements commit
/// one by one, so a broken foreign key cannot be rolled back: the
/// revision is left `failed` at the check, naming the row, and a rerun
/// after the row is fixed finishes it.
#[test]
fn non_transactional_rebuild_with_a_broken_foreign_key_fails_at_the_check() {
    let live = setup();
    live.retort(&["upgrade", "aaaa00000001"]).success();
    live.query("INSERT INTO child (id, parent_id, note) VALUES (9, 42, 'orphan')");
    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("child note not null")
        .body(
            r#"transactional = false

[[upgrade]]
op = "alter_column"
table = "child"
column = "note"
nullable = false
"#,
        )
        .named("02_alter.toml")
        .write();
    live.retort(&["upgrade", "head"])
        .fails_with("upgrade of revision bbbb00000002")
        .fails_with("row 9 of `child` references a missing row of `parent`");
    let rows = live.version_rows();
    let row = rows.iter().find(|r| r.version == "bbbb00000002").unwrap();
    assert_eq!(row.state, "failed", "{row:?}");
    assert!(row.error.contains("foreign_key_check"), "{row:?}");
    // Fixed data: the rerun resumes at the check and finishes.
    live.query("DELETE FROM child WHERE id = 9");
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.query("SELECT \"notnull\" FROM pragma_table_info('child') WHERE name = 'note'"),
        "1"
    );
    live.assert_applied(&["aaaa00000001", "bbbb00000002"]);
}
