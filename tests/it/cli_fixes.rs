//! Command-line fixes found in review: Ctrl-C during schema revisions,
//! `current --check-heads` with effective heads, slow-statement logs,
//! read-only commands on a missing SQLite file, `stamp` over an unfinished
//! row.

use std::time::{Duration, Instant};

use crate::support::live::{per_backend, Backend, Live};
use crate::support::Project;

/// A statement that takes about `secs` seconds on `backend` (SQLite has no
/// sleep: a recursive CTE that counts, about 4.5 million rows a second).
fn slow_statement(backend: Backend, secs: u32) -> String {
    match backend {
        Backend::Postgres => format!("SELECT pg_sleep({secs})"),
        Backend::Mysql => format!("SELECT SLEEP({secs})"),
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
             SELECT COUNT(*) FROM c",
            u64::from(secs) * 4_500_000
        ),
    }
}

/// Two Ctrl-C while a revision is stuck in a slow statement: the process
/// exits 130 at once (well before the statement would end), the revision
/// is not recorded as applied, and a rerun applies it.
fn second_ctrl_c_aborts_at_once(live: Live) {
    live.project.table_rev("a1", "first").write();
    live.project
        .rev("b2")
        .parent("a1")
        .message("slow")
        .up("CREATE TABLE second (id INTEGER PRIMARY KEY)")
        .up(&slow_statement(live.backend, 8))
        .down("DROP TABLE second")
        .write();
    live.retort(&["upgrade", "a1"]).success();
    let running = live.spawn(&["upgrade", "head"]);
    // Let it reach the slow statement (the handler is installed first).
    std::thread::sleep(Duration::from_millis(1500));
    let interrupted = Instant::now();
    running.interrupt();
    std::thread::sleep(Duration::from_millis(200));
    running.interrupt();
    let run = running
        .wait_within(Duration::from_secs(30))
        .expect("retort did not stop");
    let took = interrupted.elapsed();
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    assert!(
        took < Duration::from_secs(4),
        "the second Ctrl-C took {took:?} to stop the run\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    // The rerun applies it (MariaDB: resumes the journaled revision; the
    // server may still hold the old session's lock until its sleep ends).
    let rerun = live.retort(&["upgrade", "head"]);
    rerun.success();
    live.assert_applied(&["a1", "b2"]);
}

per_backend!(second_ctrl_c_aborts_at_once);

/// One Ctrl-C during a slow schema revision: that revision completes, the
/// next one does not start, exit 130 naming what was applied; a rerun
/// applies the rest.
fn first_ctrl_c_stops_at_a_revision_boundary(live: Live) {
    live.project
        .rev("a1")
        .message("slow")
        .up("CREATE TABLE first (id INTEGER PRIMARY KEY)")
        .up(&slow_statement(live.backend, 3))
        .down("DROP TABLE first")
        .write();
    live.project.table_rev("b2", "second").parent("a1").write();
    let running = live.spawn(&["upgrade", "head"]);
    std::thread::sleep(Duration::from_millis(1000));
    running.interrupt();
    let run = running
        .wait_within(Duration::from_secs(30))
        .expect("retort did not stop");
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("interrupted: the run stopped before revision b2; applied before: a1"),
        "{}",
        run.stderr
    );
    // The Ctrl-C note comes from another thread while a1's line is open:
    // it gets a line of its own, and a1's line is written again to end.
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: interrupted: stopping at the next")),
        "{}",
        run.stderr
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("Running upgrade  -> a1") && l.contains(" ms)")
                || l.starts_with("Running upgrade  -> a1") && l.contains(" s)")
        ),
        "a1's line ends with its duration: {}",
        run.stderr
    );
    live.assert_applied(&["a1"]);
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&["a1", "b2"]);
}

per_backend!(first_ctrl_c_stops_at_a_revision_boundary);

/// `current --check-heads` on the fully upgraded example project (it has
/// effective heads: a head another lane depends on) succeeds, as `check`
/// does; one revision down it fails.
#[test]
fn check_heads_on_the_upgraded_example() {
    let live = Live::with_project(Backend::Sqlite, Project::example()).unwrap();
    live.retort(&["upgrade", "head"]).success();
    live.retort(&["check"]).success();
    live.retort(&["current", "--check-heads"]).success();
    live.retort(&["downgrade", "data@-1"]).success();
    live.retort(&["check"]).code(1);
    live.retort(&["current", "--check-heads"])
        .fails_with("Database is not on all head revisions");
}

/// A statement slower than sqlx's one-second alert threshold prints no
/// statement text on stderr (sqlx's slow-statement warning is hidden
/// unless `RUST_LOG` asks for it).
#[test]
fn slow_statements_are_not_dumped() {
    let Some(live) = Live::new(Backend::Postgres) else {
        return;
    };
    live.project
        .rev("a1")
        .message("slow")
        .up("CREATE TABLE slow_one (id INTEGER PRIMARY KEY)")
        .up("SELECT pg_sleep(1.2)")
        .down("DROP TABLE slow_one")
        .write();
    let run = live.retort(&["upgrade", "head"]);
    run.success();
    for text in ["pg_sleep", "CREATE TABLE", "slow statement", "\u{1b}["] {
        assert!(!run.stderr.contains(text), "{text:?} in\n{}", run.stderr);
    }
    assert!(
        run.stderr.contains("Running upgrade  -> a1, slow"),
        "{}",
        run.stderr
    );
}

/// Read-only commands (and `downgrade`) on a SQLite URL whose file does not
/// exist leave no file behind: `current` and `history -i` answer for an
/// empty database with a warning naming the file, the others fail naming
/// it; `upgrade` creates it.
#[test]
fn read_only_commands_do_not_create_a_sqlite_file() {
    let live = Live::sqlite();
    live.project.table_rev("a1", "first").write();
    let url = "sqlite://typo.db";
    let typo = live.project.root().join("typo.db");
    for args in [&["current"][..], &["current", "-v"], &["history", "-i"]] {
        let run = live.retort_url(url, args);
        run.success();
        assert!(
            run.stderr
                .contains("typo.db does not exist: nothing is applied"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("(current)"), "{}", run.stdout);
        assert!(
            !typo.exists(),
            "`retort {}` created typo.db",
            args.join(" ")
        );
    }
    for args in [
        &["check"][..],
        &["current", "--check-heads"],
        &["upgrade", "--dry-run"],
        &["downgrade", "base"],
        &["data", "dump", "first"],
    ] {
        let run = live.retort_url(url, args);
        run.code(1);
        assert!(
            run.stderr.contains("typo.db does not exist"),
            "{}",
            run.stderr
        );
        assert!(
            !typo.exists(),
            "`retort {}` created typo.db",
            args.join(" ")
        );
    }
    live.retort_url(url, &["check"])
        .fails_with("`retort upgrade` creates the database");
    live.retort_url(url, &["upgrade", "head"]).success();
    assert!(typo.exists());
    live.retort_url(url, &["current"]).success();
}

/// `stamp` over a `failed` row (a `transactional = false` revision whose
/// second statement failed) is refused before anything changes, naming the
/// revision and its state once and pointing to `resolve`; the database's
/// own constraint error never shows.
#[test]
fn stamp_over_a_failed_row_is_refused() {
    let live = Live::sqlite();
    live.project.table_rev("a1", "first").write();
    live.project
        .rev("b2")
        .parent("a1")
        .message("breaks")
        .non_transactional()
        .up("CREATE TABLE second (id INTEGER PRIMARY KEY)")
        .up("INSERT INTO no_such_table VALUES (1)")
        .down("DROP TABLE second")
        .write();
    live.retort(&["upgrade", "head"]).code(1);
    let before = live.version_rows();
    assert!(before
        .iter()
        .any(|r| r.version == "b2" && r.state == "failed"));
    for target in ["head", "b2", "a1"] {
        let run = live.retort(&["stamp", target]);
        run.fails_with("revision b2 is failed (upgrade stopped before statement 2)")
            .fails_with("retort resolve b2 --applied");
        assert_eq!(
            run.stderr.matches("b2 is failed").count(),
            1,
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("UNIQUE"), "{}", run.stderr);
        assert_eq!(live.version_rows(), before);
    }
    // --purge replaces every row, the failed one included.
    live.retort(&["stamp", "head", "--purge"]).success();
    live.assert_applied(&["a1", "b2"]);
}

/// A database error from a failed connection is printed once, not once per
/// error in the chain.
#[test]
fn connection_errors_are_printed_once() {
    let live = Live::sqlite();
    let run = live.retort_url("postgres://u@127.0.0.1:1/x", &["current"]);
    run.fails_with("could not connect to postgres://u@127.0.0.1:1/x");
    let first_line = run.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first_line.matches("Connection refused").count(),
        1,
        "{}",
        run.stderr
    );
}

/// The hint after a journaled downgrade fails is a command that runs:
/// `downgrade` needs a target, so it names the revision's parent
/// (`REV-1`); following the hint after fixing the file finishes the
/// downgrade.
#[test]
fn failed_downgrade_hint_is_a_valid_command() {
    let live = Live::sqlite();
    live.project.table_rev("a1", "first").write();
    let rev = |down: &str| {
        live.project
            .rev("b2")
            .parent("a1")
            .message("second")
            .non_transactional()
            .up("CREATE TABLE second (id INTEGER PRIMARY KEY)")
            .down(down)
            .down("DROP TABLE second")
            .write()
    };
    rev("DELETE FROM no_such_table");
    live.retort(&["upgrade", "head"]).success();
    let run = live.retort(&["downgrade", "a1"]);
    run.fails_with("run `retort downgrade b2-1` to resume");
    rev("DELETE FROM second");
    live.retort(&["downgrade", "b2-1"]).success();
    live.assert_applied(&["a1"]);
}
