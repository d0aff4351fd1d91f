//! A revision whose second statement fails (issue #3, design §5.3, §7.3):
//! what the user sees, what the database holds afterwards, and how the run
//! continues once the file is fixed.
//!
//! - Every backend: exit 1; stderr names the revision id, its file, the
//!   failing statement and the database's own message; the revisions before
//!   it stay applied, the ones after it do not run; `_versions_log` has an
//!   `upgrade` row with outcome `failed` and the error; the lock is gone
//!   (PostgreSQL: no advisory lock left in the database; everywhere: the
//!   next `upgrade` after fixing the file finishes at once).
//! - SQLite and PostgreSQL (transactional DDL, one transaction per
//!   revision): nothing of the failing revision is applied or recorded.
//! - MariaDB (DDL commits implicitly): the statement journal. The row is
//!   `failed` with the error and the index of the failing statement in
//!   `progress`; `upgrade` after the fix resumes at that statement (the
//!   statement before it is not run again: it would fail on a duplicate key
//!   or an existing table), or `resolve REV --applied|--reverted` settles a
//!   hand repair.
//!
//! The failing revisions are in the SQL format, one `-- migrate:upgrade`
//! section with several statements, so the dialect's splitter decides the
//! statement boundaries (design §4.2, issue #3 item 5).

use std::time::Duration;

use crate::support::live::{per_backend, Backend, Live};
use crate::support::Run;

const A: &str = "aaaa00000001";
const B: &str = "bbbb00000002";
const C: &str = "cccc00000003";

per_backend!(second_statement_fails);

/// The database's message for a missing table, per backend.
fn missing_table_message(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "no such table: no_such_table",
        Backend::Postgres => "relation \"no_such_table\" does not exist",
        Backend::Mysql => "no_such_table' doesn't exist",
    }
}

/// A (toml, creates ta with a primary key), B (SQL format, `statements`),
/// C (creates tc). Returns B's path relative to the project.
fn write_project(live: &Live, statements: &[&str]) -> String {
    let p = &live.project;
    p.table_rev(A, "ta").write();
    let b = write_b(live, statements);
    p.table_rev(C, "tc").parent(B).write();
    b
}

/// (Re)writes B with these upgrade statements.
fn write_b(live: &Live, statements: &[&str]) -> String {
    let mut rev = live
        .project
        .rev(B)
        .parent(A)
        .message("two statements")
        .sql_format()
        .down("DROP TABLE IF EXISTS tb");
    for s in statements {
        rev = rev.up(s);
    }
    rev.write()
}

/// Asserts what every backend must say about the failure of B.
#[track_caller]
fn assert_reports_failure(live: &Live, run: &Run, b_file: &str, statement: &str) {
    let b_name = b_file.rsplit('/').next().unwrap();
    run.code(1);
    for needle in [B, b_name, statement, missing_table_message(live.backend)] {
        assert!(
            run.stderr.contains(needle),
            "{:?}: stderr lacks {needle:?}\n{}",
            live.backend,
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// A second `upgrade` with B's file unchanged. SQLite/PostgreSQL: B runs
/// again and fails the same way. MariaDB: design §5.3 lets the runner
/// either refuse up front (the `failed` row, same checksum) or retry the
/// failed statement; either way exit 1, naming B and the missing table, and
/// no earlier statement of B is repeated (it would say "Duplicate entry"
/// or "already exists").
#[track_caller]
fn assert_refuses_unfixed(live: &Live, run: &Run, b_file: &str, statement: &str) {
    if live.backend != Backend::Mysql {
        assert_reports_failure(live, run, b_file, statement);
        return;
    }
    run.code(1);
    for needle in [B, "no_such_table"] {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            run.stderr
        );
    }
    for repeated in ["Duplicate entry", "already exists"] {
        assert!(
            !run.stderr.contains(repeated),
            "re-ran a statement:\n{}",
            run.stderr
        );
    }
}

/// The `failed` log row of B exists and carries the error.
#[track_caller]
fn assert_failed_log_row(live: &Live) {
    let log = live.log();
    let row = log
        .iter()
        .find(|r| r.version == B && r.outcome == "failed")
        .unwrap_or_else(|| panic!("{:?}: no failed log row for B: {log:?}", live.backend));
    assert_eq!(row.action, "upgrade", "{:?}", live.backend);
    assert!(
        row.error.contains("no_such_table"),
        "{:?}: {row:?}",
        live.backend
    );
    assert!(
        !log.iter().any(|r| r.version == C),
        "{:?}: C never ran: {log:?}",
        live.backend
    );
}

/// MariaDB: retort's `GET_LOCK` name (`retort:` + SHA-1 of `<database>.<version
/// table>`, see `store/lock.rs`) is free after a failed run.
fn assert_no_get_lock(live: &Live) {
    let holder = live.query(
        "SELECT IFNULL(IS_USED_LOCK(CONCAT('retort:', SHA1(CONCAT(DATABASE(), '.', '_versions')))), 'free')",
    );
    assert_eq!(
        holder.trim(),
        "free",
        "GET_LOCK left held by connection {holder}"
    );
}

/// PostgreSQL: no advisory lock is held or awaited in the test's database.
#[track_caller]
fn assert_no_advisory_lock(live: &Live) {
    if live.backend == Backend::Postgres {
        assert_eq!(
            live.advisory_locks(),
            Vec::<Vec<String>>::new(),
            "advisory locks left"
        );
    }
}

/// The statement index in a `progress` JSON document: the value of the
/// first key named `statement` at any depth.
fn statement_index(progress: &str) -> Option<i64> {
    fn find(v: &serde_json::Value) -> Option<i64> {
        match v {
            serde_json::Value::Object(map) => map
                .get("statement")
                .and_then(serde_json::Value::as_i64)
                .or_else(|| map.values().find_map(find)),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    find(&serde_json::from_str(progress).ok()?)
}

/// B: `CREATE TABLE tb …; INSERT INTO no_such_table …;` — the second fails.
fn second_statement_fails(live: Live) {
    let bad = "INSERT INTO no_such_table (id) VALUES (1)";
    let b_file = write_project(&live, &["CREATE TABLE tb (id INTEGER PRIMARY KEY)", bad]);

    let run = live.retort(&["upgrade", "head"]);
    assert_reports_failure(&live, &run, &b_file, bad);
    assert!(
        run.stderr.contains(&format!("Running upgrade  -> {A}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&format!("-> {C}")), "{}", run.stderr);
    assert_failed_log_row(&live);
    assert_no_advisory_lock(&live);
    live.assert_tables(&["ta"], &["tc"]);

    let rows = live.version_rows();
    let a = rows
        .iter()
        .find(|r| r.version == A)
        .expect("A stays applied");
    assert_eq!(a.state, "applied");
    assert!(!rows.iter().any(|r| r.version == C), "{rows:?}");
    match live.backend {
        Backend::Sqlite | Backend::Postgres => {
            // Rolled back as a whole: nothing of B is applied or recorded.
            live.assert_applied(&[A]);
            live.assert_tables(&[], &["tb"]);
        }
        Backend::Mysql => {
            let b = rows
                .iter()
                .find(|r| r.version == B)
                .expect("B's journal row");
            assert_eq!(b.state, "failed", "{b:?}");
            assert!(b.error.contains("no_such_table"), "{b:?}");
            // The second statement: index 1 counting from 0, or 2 from 1.
            let index = statement_index(&b.progress);
            assert!(matches!(index, Some(1 | 2)), "statement index in {b:?}");
            // The CREATE TABLE committed implicitly.
            live.assert_tables(&["tb"], &[]);
        }
    }

    // Unfixed, the next run fails again: never a silent skip.
    let run = live.retort(&["upgrade", "head"]);
    assert_refuses_unfixed(&live, &run, &b_file, bad);
    live.assert_tables(&[], &["tc"]);
    assert_no_advisory_lock(&live);

    // Fixed: the next run goes through at once (no lock left behind). On
    // MariaDB it resumes at the INSERT; re-running the CREATE TABLE would
    // fail with "already exists".
    write_b(
        &live,
        &[
            "CREATE TABLE tb (id INTEGER PRIMARY KEY)",
            "INSERT INTO tb (id) VALUES (1)",
        ],
    );
    let run = live
        .retort_within(Duration::from_secs(30), &["upgrade", "head"])
        .unwrap_or_else(|| {
            panic!(
                "{:?}: upgrade after the fix hung (lock held?)",
                live.backend
            )
        });
    run.success();
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&["ta", "tb", "tc"], &[]);
    assert_eq!(live.count("SELECT count(*) FROM tb"), 1);
    assert_no_advisory_lock(&live);
    let log = live.log_since(0);
    assert!(
        log.contains(&("upgrade".into(), B.into(), "ok".into())),
        "{:?}: {log:?}",
        live.backend
    );
}

/// B on MariaDB: a non-idempotent INSERT (primary key), then the failing
/// statement, then one more INSERT.
const MYSQL_FIRST: &str = "INSERT INTO ta (id) VALUES (1)";
const MYSQL_BAD: &str = "INSERT INTO no_such_table (id) VALUES (2)";
const MYSQL_FIXED: &str = "INSERT INTO ta (id) VALUES (2)";
const MYSQL_THIRD: &str = "INSERT INTO ta (id) VALUES (3)";

/// A MariaDB project whose B failed at its second statement; `None` without
/// a server.
fn mysql_failed() -> Option<(Live, String)> {
    let live = Live::new(Backend::Mysql)?;
    let b_file = write_project(&live, &[MYSQL_FIRST, MYSQL_BAD, MYSQL_THIRD]);
    let run = live.retort(&["upgrade", "head"]);
    assert_reports_failure(&live, &run, &b_file, MYSQL_BAD);
    assert_no_get_lock(&live);
    assert_eq!(ta_ids(&live), ["1"], "the first statement committed");
    let b = b_row(&live);
    assert_eq!(b.state, "failed");
    assert!(matches!(statement_index(&b.progress), Some(1 | 2)), "{b:?}");
    Some((live, b_file))
}

fn ta_ids(live: &Live) -> Vec<String> {
    live.query("SELECT id FROM ta ORDER BY id")
        .lines()
        .map(str::to_string)
        .collect()
}

fn b_row(live: &Live) -> crate::support::live::VersionRow {
    live.version_rows()
        .into_iter()
        .find(|r| r.version == B)
        .expect("B's row")
}

/// Fix the file, `upgrade`: resumes at the failed statement (the first
/// INSERT is not repeated, or the primary key would refuse it).
#[test]
fn mysql_resumes_at_the_failed_statement() {
    let Some((live, b_file)) = mysql_failed() else {
        return;
    };
    // Still broken: fails again, and the first statement is not re-run.
    let run = live.retort(&["upgrade", "head"]);
    assert_refuses_unfixed(&live, &run, &b_file, MYSQL_BAD);
    assert_eq!(ta_ids(&live), ["1"]);
    assert_eq!(b_row(&live).state, "failed");

    write_b(&live, &[MYSQL_FIRST, MYSQL_FIXED, MYSQL_THIRD]);
    let run = live
        .retort_within(Duration::from_secs(30), &["upgrade", "head"])
        .expect("upgrade after the fix hung (GET_LOCK held?)");
    run.success();
    assert_eq!(ta_ids(&live), ["1", "2", "3"]);
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&["tc"], &[]);
    let log = live.log();
    let last_b = log.iter().rev().find(|r| r.version == B).unwrap();
    assert_eq!(
        (last_b.action.as_str(), last_b.outcome.as_str()),
        ("upgrade", "ok")
    );
}

/// The user finished B by hand: `resolve B --applied` marks it applied
/// (audited), and `upgrade` continues after it without touching B.
#[test]
fn mysql_resolve_applied() {
    let Some((live, _)) = mysql_failed() else {
        return;
    };
    live.query("INSERT INTO ta (id) VALUES (2), (3)");
    let before = live.log().len();
    live.retort(&["resolve", B, "--applied"]).success();
    live.assert_applied(&[A, B]);
    assert_eq!(
        live.log_since(before),
        [("resolve".to_string(), B.to_string(), "ok".to_string())]
    );
    // B's file still has the bad statement: it must not run again.
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B, C]);
    assert_eq!(ta_ids(&live), ["1", "2", "3"]);
}

/// The user undid B's first statement by hand: `resolve B --reverted`
/// drops the row (audited); after the fix, `upgrade` runs B from its first
/// statement.
#[test]
fn mysql_resolve_reverted() {
    let Some((live, _)) = mysql_failed() else {
        return;
    };
    live.query("DELETE FROM ta WHERE id = 1");
    let before = live.log().len();
    live.retort(&["resolve", B, "--reverted"]).success();
    live.assert_applied(&[A]);
    assert_eq!(
        live.log_since(before),
        [("resolve".to_string(), B.to_string(), "ok".to_string())]
    );
    write_b(&live, &[MYSQL_FIRST, MYSQL_FIXED, MYSQL_THIRD]);
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B, C]);
    assert_eq!(ta_ids(&live), ["1", "2", "3"]);
}

/// `resolve` needs a failed or running revision and one of its flags.
#[test]
fn mysql_resolve_refuses_an_applied_revision() {
    let Some((live, _)) = mysql_failed() else {
        return;
    };
    let run = live.retort(&["resolve", A, "--applied"]);
    run.code(1);
    assert!(run.stderr.contains(A), "{}", run.stderr);
    assert_eq!(b_row(&live).state, "failed", "B untouched");
}

/// A failing revision is not run a second time to find its failing
/// statement: what cannot be rolled back (a sequence's `nextval`, the time
/// a slow statement takes) happens once. PostgreSQL (sequences are not
/// transactional); the `--atomic` run is checked the same way.
#[test]
fn a_failing_revision_runs_once() {
    let Some(live) = Live::new(Backend::Postgres) else {
        return;
    };
    live.project.table_rev(A, "ta").write();
    live.project
        .rev(B)
        .parent(A)
        .message("sequence")
        .up("CREATE SEQUENCE s")
        .down("DROP SEQUENCE s")
        .write();
    live.retort(&["upgrade", B]).success();
    live.project
        .rev(C)
        .parent(B)
        .message("fails")
        .up("SELECT nextval('s');\nINSERT INTO no_such_table VALUES (1)")
        .down("SELECT 1")
        .write();
    for args in [
        &["upgrade", "head"][..],
        &["upgrade", "head", "--atomic"][..],
    ] {
        let run = live.retort(args);
        run.code(1);
        assert!(run.stderr.contains("statement 2"), "{}", run.stderr);
    }
    // Two runs, one nextval each: nothing was run again.
    assert_eq!(live.query("SELECT last_value FROM s"), "2");
}
