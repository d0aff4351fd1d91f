//! The live runner's round trips (issue #3): `upgrade`/`downgrade` to every
//! kind of target over linear, branched and merged graphs, `current`,
//! `check`, `history -i`, `stamp`, checksums with `amend`, and passwords
//! that never show, each on SQLite, PostgreSQL and MariaDB (`per_backend!`,
//! see `support::live`).
//!
//! After every command the database itself is read back (not through
//! retort): `_versions` holds exactly one `applied` row per applied
//! revision (design §7.1: not Alembic's heads-only table), lane `schema`, a
//! 64-hex checksum; the tables the revisions create exist exactly for the
//! applied ones; `_versions_log` gains one row per revision and action
//! (design §7.2).
//!
//! Expected output is Alembic's (alembic-semantics §9): `current` prints
//! each tip of the applied set as `<rev>[ (head)][ (branchpoint)][
//! (mergepoint)]` (line order unspecified, so lines are compared sorted);
//! `history -i` puts ` (current)` after ` (head)` and before the tree
//! indicators. Progress lines go to stderr as `Running upgrade <from> ->
//! <rev>, <message>` (design §9; the base has two spaces before `->`).

use crate::support::live::{offline_checksum, per_backend, Backend, Live};
use std::time::Duration;

use crate::support::{assert_in_order, Run};

const A: &str = "aaaa00000001";
const B: &str = "bbbb00000002";
const C: &str = "cccc00000003";
const B1: &str = "b1b100000011";
const B2: &str = "b2b200000012";
const C1: &str = "c1c100000021";
const M: &str = "eeee00000099";

per_backend!(
    current_on_a_fresh_database_creates_nothing,
    linear,
    branched,
    merged,
    stamp,
    checksums_and_amend,
);

/// A ← B ← C, each creating its own table (ta, tb, tc).
fn write_linear(live: &Live) -> Vec<String> {
    let p = &live.project;
    vec![
        p.table_rev(A, "ta").write(),
        p.table_rev(B, "tb").parent(A).write(),
        p.table_rev(C, "tc").parent(B).write(),
    ]
}

/// ```text
/// A ← B1 [left] ← B2
///   ↖ C1 [right]
/// ```
fn write_branched(live: &Live) {
    let p = &live.project;
    p.table_rev(A, "ta").write();
    p.table_rev(B1, "tb1").parent(A).label("left").write();
    p.table_rev(B2, "tb2").parent(B1).write();
    p.table_rev(C1, "tc1").parent(A).label("right").write();
}

/// Stdout lines, sorted (the order of `current`'s lines comes from a set
/// in Alembic).
fn sorted_lines(run: &Run) -> Vec<String> {
    let mut lines: Vec<String> = run
        .stdout
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

/// Asserts `current` prints exactly `expected` (sorted) and exits 0.
#[track_caller]
fn assert_current(live: &Live, expected: &[&str]) {
    let run = live.retort(&["current"]);
    run.success();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(sorted_lines(&run), want, "{:?}: current", live.backend);
}

/// Asserts the log rows after the first `from` are exactly `expected`
/// (action, version), all `ok`, in any order; returns the new length.
#[track_caller]
fn assert_log_grew(live: &Live, from: usize, expected: &[(&str, &str)]) -> usize {
    let mut got: Vec<(String, String)> = live
        .log_since(from)
        .into_iter()
        .map(|(action, version, outcome)| {
            assert_eq!(outcome, "ok", "{:?}: {action} {version}", live.backend);
            (action, version)
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(a, v)| (a.to_string(), v.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want, "{:?}: new _versions_log rows", live.backend);
    from + expected.len()
}

/// The line of `history -i` output for `rev` (`… -> <rev> …, message`).
fn history_line(run: &Run, rev: &str) -> String {
    run.stdout
        .lines()
        .find(|l| l.contains(&format!("-> {rev}")))
        .unwrap_or_else(|| panic!("no history line for {rev}:\n{}", run.stdout))
        .trim_end()
        .to_string()
}

/// `current` reads the database and creates nothing (alembic-semantics §6:
/// `dont_mutate`; design §7.1); `check` and `history -i` only read too.
fn current_on_a_fresh_database_creates_nothing(live: Live) {
    write_linear(&live);
    let run = live.retort(&["current"]);
    run.success();
    assert_eq!(run.stdout.trim(), "", "{:?}: nothing applied", live.backend);
    assert!(!live.table_exists("_versions"));
    assert!(!live.table_exists("_versions_log"));

    let run = live.retort(&["current", "-v"]);
    run.success();
    assert!(
        run.stdout.contains("Current revision(s) for "),
        "{:?}: current -v header:\n{}",
        live.backend,
        run.stdout
    );

    live.retort(&["history", "-i"]).success();
    // Not at head: exit 1 (design §9).
    live.retort(&["check"]).code(1);
    assert!(!live.table_exists("_versions"), "{:?}", live.backend);
    assert!(!live.table_exists("_versions_log"), "{:?}", live.backend);
}

/// upgrade head, downgrade -1, downgrade base, upgrade +1, upgrade REV,
/// downgrade REV over A ← B ← C.
fn linear(live: Live) {
    write_linear(&live);
    let tables = ["ta", "tb", "tc"];

    live.retort(&["check"]).code(1);

    let run = live.retort(&["upgrade", "head"]);
    run.success();
    assert_in_order(
        &run.stderr,
        &[
            &format!("Running upgrade  -> {A}, create ta"),
            &format!("Running upgrade {A} -> {B}, create tb"),
            &format!("Running upgrade {B} -> {C}, create tc"),
        ],
    );
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&tables, &[]);
    let mut log = assert_log_grew(&live, 0, &[("upgrade", A), ("upgrade", B), ("upgrade", C)]);
    assert_eq!(live.count("SELECT count(*) FROM tc"), 0);

    live.retort(&["check"]).success();
    assert_current(&live, &[&format!("{C} (head)")]);
    let history = live.retort(&["history", "-i"]);
    history.success();
    assert_eq!(
        history_line(&history, C),
        format!("{B} -> {C} (head) (current), create tc")
    );
    assert_eq!(history_line(&history, B), format!("{A} -> {B}, create tb"));

    // --format json for current: valid JSON naming the head.
    let json = live.retort(&["current", "--format", "json"]);
    json.success();
    let value: serde_json::Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("current --format json: {e}\n{}", json.stdout));
    assert!(value.to_string().contains(C), "{value}");

    // A no-op upgrade changes nothing and logs nothing.
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B, C]);
    log = assert_log_grew(&live, log, &[]);

    let run = live.retort(&["downgrade", "-1"]);
    run.success();
    assert!(
        run.stderr
            .contains(&format!("Running downgrade {C} -> {B}, create tc")),
        "{}",
        run.stderr
    );
    live.assert_applied(&[A, B]);
    live.assert_tables(&["ta", "tb"], &["tc"]);
    log = assert_log_grew(&live, log, &[("downgrade", C)]);
    assert_current(&live, &[B]);
    let history = live.retort(&["history", "-i"]);
    assert_eq!(
        history_line(&history, B),
        format!("{A} -> {B} (current), create tb")
    );
    assert_eq!(
        history_line(&history, C),
        format!("{B} -> {C} (head), create tc")
    );
    live.retort(&["check"]).code(1);

    let run = live.retort(&["downgrade", "base"]);
    run.success();
    assert_in_order(
        &run.stderr,
        &[
            &format!("Running downgrade {B} -> {A}, create tb"),
            &format!("Running downgrade {A} -> , create ta"),
        ],
    );
    // Empty but present (alembic-semantics §6: never dropped).
    live.assert_applied(&[]);
    assert!(live.table_exists("_versions"));
    live.assert_tables(&[], &tables);
    log = assert_log_grew(&live, log, &[("downgrade", B), ("downgrade", A)]);
    assert_current(&live, &[]);

    live.retort(&["upgrade", "+1"]).success();
    live.assert_applied(&[A]);
    live.assert_tables(&["ta"], &["tb", "tc"]);
    log = assert_log_grew(&live, log, &[("upgrade", A)]);
    assert_current(&live, &[A]);

    live.retort(&["upgrade", C]).success();
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&tables, &[]);
    log = assert_log_grew(&live, log, &[("upgrade", B), ("upgrade", C)]);

    live.retort(&["downgrade", A]).success();
    live.assert_applied(&[A]);
    live.assert_tables(&["ta"], &["tb", "tc"]);
    assert_log_grew(&live, log, &[("downgrade", C), ("downgrade", B)]);
}

/// LABEL@head, LABEL@-1, downgrade to a branch point, `upgrade heads`.
fn branched(live: Live) {
    write_branched(&live);
    let all = ["ta", "tb1", "tb2", "tc1"];

    live.retort(&["upgrade", "left@head"]).success();
    live.assert_applied(&[A, B1, B2]);
    live.assert_tables(&["ta", "tb1", "tb2"], &["tc1"]);
    let mut log = assert_log_grew(
        &live,
        0,
        &[("upgrade", A), ("upgrade", B1), ("upgrade", B2)],
    );
    // A is a branch point, but not a tip of the applied set.
    assert_current(&live, &[&format!("{B2} (head)")]);

    live.retort(&["upgrade", "right@head"]).success();
    live.assert_applied(&[A, B1, B2, C1]);
    live.assert_tables(&all, &[]);
    log = assert_log_grew(&live, log, &[("upgrade", C1)]);
    assert_current(&live, &[&format!("{B2} (head)"), &format!("{C1} (head)")]);
    live.retort(&["check"]).success();

    live.retort(&["downgrade", "left@-1"]).success();
    live.assert_applied(&[A, B1, C1]);
    live.assert_tables(&["ta", "tb1", "tc1"], &["tb2"]);
    log = assert_log_grew(&live, log, &[("downgrade", B2)]);
    assert_current(&live, &[B1, &format!("{C1} (head)")]);

    // Down to the branch point: both branches go.
    live.retort(&["downgrade", A]).success();
    live.assert_applied(&[A]);
    live.assert_tables(&["ta"], &["tb1", "tb2", "tc1"]);
    log = assert_log_grew(&live, log, &[("downgrade", B1), ("downgrade", C1)]);
    assert_current(&live, &[&format!("{A} (branchpoint)")]);

    live.retort(&["upgrade", "heads"]).success();
    live.assert_applied(&[A, B1, B2, C1]);
    live.assert_tables(&all, &[]);
    log = assert_log_grew(
        &live,
        log,
        &[("upgrade", B1), ("upgrade", B2), ("upgrade", C1)],
    );

    live.retort(&["downgrade", "base"]).success();
    live.assert_applied(&[]);
    live.assert_tables(&[], &all);
    assert_log_grew(
        &live,
        log,
        &[
            ("downgrade", A),
            ("downgrade", B1),
            ("downgrade", B2),
            ("downgrade", C1),
        ],
    );
}

/// The branched graph plus M merging B2 and C1: `upgrade head` through the
/// merge, `downgrade -1` unmerges, `upgrade REV` on one side.
fn merged(live: Live) {
    write_branched(&live);
    live.project
        .rev(M)
        .parents(&[B2, C1])
        .message("merge left and right")
        .up("CREATE TABLE tm (id INTEGER PRIMARY KEY)")
        .down("DROP TABLE tm")
        .write();
    let all = ["ta", "tb1", "tb2", "tc1", "tm"];

    let run = live.retort(&["upgrade", "head"]);
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "Running upgrade {B2}, {C1} -> {M}, merge left and right"
        )),
        "{}",
        run.stderr
    );
    live.assert_applied(&[A, B1, B2, C1, M]);
    live.assert_tables(&all, &[]);
    let mut log = assert_log_grew(
        &live,
        0,
        &[
            ("upgrade", A),
            ("upgrade", B1),
            ("upgrade", B2),
            ("upgrade", C1),
            ("upgrade", M),
        ],
    );
    assert_current(&live, &[&format!("{M} (head) (mergepoint)")]);
    let history = live.retort(&["history", "-i"]);
    assert_eq!(
        history_line(&history, M),
        // Labels propagate through merges (alembic-semantics §1), and
        // `history` prints them (`current` does not).
        format!(
            "{B2}, {C1} -> {M} (left, right) (head) (current) (mergepoint), merge left and right"
        )
    );
    live.retort(&["check"]).success();

    // Walking down from a merge point has two ways to go: Alembic's
    // `Ambiguous walk` (alembic-semantics §2.2), and nothing changes.
    live.retort(&["downgrade", "-1"])
        .fails_with("Ambiguous walk");
    live.assert_applied(&[A, B1, B2, C1, M]);
    // Unmerging means naming the parent to go back to.
    live.retort(&["downgrade", B2]).success();
    live.assert_applied(&[A, B1, B2, C1]);
    live.assert_tables(&["ta", "tb1", "tb2", "tc1"], &["tm"]);
    log = assert_log_grew(&live, log, &[("downgrade", M)]);
    assert_current(&live, &[B2, C1]);
    live.retort(&["check"]).code(1);

    // Two heads are applied, so a bare `+1` is ambiguous (Alembic's
    // message); naming the branch walks up from its head to the merge.
    live.retort(&["upgrade", "+1"])
        .fails_with("Ambiguous upgrade from multiple current revisions");
    live.retort(&["upgrade", "left@+1"]).success();
    live.assert_applied(&[A, B1, B2, C1, M]);
    log = assert_log_grew(&live, log, &[("upgrade", M)]);

    // Down to B1: its descendants B2 and M go, the other side stays.
    live.retort(&["downgrade", B1]).success();
    live.assert_applied(&[A, B1, C1]);
    live.assert_tables(&["ta", "tb1", "tc1"], &["tb2", "tm"]);
    log = assert_log_grew(&live, log, &[("downgrade", M), ("downgrade", B2)]);
    assert_current(&live, &[B1, C1]);

    live.retort(&["upgrade", B2]).success();
    live.assert_applied(&[A, B1, B2, C1]);
    log = assert_log_grew(&live, log, &[("upgrade", B2)]);

    live.retort(&["downgrade", "base"]).success();
    live.assert_applied(&[]);
    live.assert_tables(&[], &all);
    assert_log_grew(
        &live,
        log,
        &[
            ("downgrade", A),
            ("downgrade", B1),
            ("downgrade", B2),
            ("downgrade", C1),
        ],
    );
}

/// `stamp REV` records REV and its ancestors without running their SQL;
/// `stamp base` empties; `--purge` (design §7.1).
fn stamp(live: Live) {
    write_linear(&live);

    let run = live.retort(&["stamp", B]);
    run.success();
    live.assert_applied(&[A, B]);
    live.assert_tables(&[], &["ta", "tb", "tc"]);
    let log = live.log();
    assert!(
        !log.is_empty(),
        "{:?}: stamp writes the audit log",
        live.backend
    );
    assert!(
        log.iter().all(|r| r.action == "stamp" && r.outcome == "ok"),
        "{:?}: {log:?}",
        live.backend
    );
    assert_current(&live, &[B]);

    // Only C runs.
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&["tc"], &["ta", "tb"]);

    live.retort(&["stamp", "base"]).success();
    live.assert_applied(&[]);
    assert!(live.table_exists("_versions"));
    live.assert_tables(&["tc"], &["ta", "tb"]);
    assert_current(&live, &[]);

    live.retort(&["stamp", A]).success();
    live.assert_applied(&[A]);
    live.retort(&["stamp", C, "--purge"]).success();
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&["tc"], &["ta", "tb"]);
    assert!(
        live.log().iter().all(|r| r.action != "downgrade"),
        "{:?}: stamp never runs a downgrade",
        live.backend
    );
}

/// Design §7.4: an applied file whose content changed stops `upgrade`
/// (naming the file, showing the line); line-end whitespace and CRLF do
/// not count; `amend` accepts the change and is audited. The live
/// checksum is the one `upgrade --sql` records (one renderer, design §8).
fn checksums_and_amend(live: Live) {
    let files = write_linear(&live);
    let (file_a, file_b) = (&files[0], &files[1]);
    let file_c = live.project.read(&files[2]);
    std::fs::remove_file(live.project.root().join(&files[2])).unwrap();

    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B]);
    let offline = live.retort(&["upgrade", "--sql"]);
    offline.success();
    let checksum_of = |rev: &str| {
        live.version_rows()
            .into_iter()
            .find(|r| r.version == rev)
            .unwrap_or_else(|| panic!("no row {rev}"))
            .checksum
    };
    for rev in [A, B] {
        assert_eq!(
            Some(checksum_of(rev)),
            offline_checksum(&offline, rev),
            "{:?}: checksum of {rev}, online vs offline",
            live.backend
        );
    }
    let before = checksum_of(B);

    // CRLF line ends and trailing blanks: not a change.
    let original_b = live.project.read(file_b);
    live.project
        .file(file_b, &original_b.replace('\n', " \t\r\n"));
    live.project
        .file(file_a, &live.project.read(file_a).replace('\n', "\r\n"));
    live.retort(&["upgrade", "head"]).success();
    live.retort(&["check"]).success();
    assert_eq!(checksum_of(B), before, "{:?}", live.backend);

    // A real change to B, and a new revision C after it.
    live.project.file(
        file_b,
        &original_b.replace(
            "(id INTEGER PRIMARY KEY)",
            "(id INTEGER PRIMARY KEY, extra INTEGER)",
        ),
    );
    live.project.file(&files[2], &file_c);
    let log_len = live.log().len();
    let run = live.retort(&["upgrade", "head"]);
    let b_name = file_b.rsplit('/').next().unwrap();
    run.fails_with(b_name);
    assert!(
        run.stderr.contains("extra INTEGER"),
        "{:?}: the changed line is shown:\n{}",
        live.backend,
        run.stderr
    );
    // Refused before running anything.
    live.assert_applied(&[A, B]);
    live.assert_tables(&["ta", "tb"], &["tc"]);
    assert_eq!(checksum_of(B), before);

    let run = live.retort(&["amend", B]);
    run.success();
    let after = checksum_of(B);
    assert_ne!(
        after, before,
        "{:?}: amend stores the new checksum",
        live.backend
    );
    let log = live.log_since(log_len);
    assert!(
        log.contains(&("amend".to_string(), B.to_string(), "ok".to_string())),
        "{:?}: amend is audited: {log:?}",
        live.backend
    );
    let offline = live.retort(&["upgrade", "--sql"]);
    assert_eq!(Some(after), offline_checksum(&offline, B));

    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&[A, B, C]);
    live.assert_tables(&["ta", "tb", "tc"], &[]);
    // amend touches no schema: tb still has only its original column.
    let cols = live.count(match live.backend {
        Backend::Sqlite => "SELECT count(*) FROM pragma_table_info('tb')",
        Backend::Postgres => {
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'tb'"
        }
        // information_schema spans every database of the server.
        Backend::Mysql => {
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'tb'"
        }
    });
    assert_eq!(cols, 1, "{:?}: tb columns", live.backend);
}

const SECRET: &str = "Sup3rS3cretPw";

/// A password in the URL is never printed, on the error path: servers
/// that do not listen (port 1), a malformed URL, an unknown scheme (which
/// lists the compiled-in ones). Exit 1, no panic, within a minute.
#[test]
fn password_never_shown_when_the_database_is_unreachable() {
    let live = Live::sqlite();
    write_linear(&live);
    let urls = [
        format!("postgres://retort:{SECRET}@127.0.0.1:1/nowhere?sslmode=disable"),
        format!("postgresql+psycopg2://retort:{SECRET}@127.0.0.1:1/nowhere"),
        format!("mysql://retort:{SECRET}@127.0.0.1:1/nowhere"),
        format!("mysql+pymysql://retort:{SECRET}@127.0.0.1:1/nowhere"),
        format!("postgres://retort:{SECRET}@127.0.0.1:notaport/nowhere"),
    ];
    let commands: [&[&str]; 8] = [
        &["upgrade", "head"],
        &["downgrade", "base"],
        &["current"],
        &["current", "-v"],
        &["check"],
        &["stamp", "head"],
        &["history", "-i"],
        &["amend", A],
    ];
    // Every command on the first URL, the two most common on the others.
    for (i, url) in urls.iter().enumerate() {
        for args in commands
            .iter()
            .filter(|a| i == 0 || a[0] == "upgrade" || a.len() == 2 && a[1] == "-v")
        {
            let run = live
                .spawn_url(url, args)
                .wait_within(Duration::from_secs(60))
                .unwrap_or_else(|| panic!("`retort {}` hung on {url}", args.join(" ")));
            run.never_shows(SECRET);
            run.code(1);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }

    let run = live.retort_url(
        &format!("oracle://scott:{SECRET}@db/orcl"),
        &["upgrade", "head"],
    );
    run.code(1).never_shows(SECRET);
    for scheme in ["sqlite", "postgres", "mysql"] {
        assert!(
            run.stderr.contains(scheme),
            "unknown scheme: the message lists {scheme}:\n{}",
            run.stderr
        );
    }
}

/// PostgreSQL accepts any password from 127.0.0.1 here (trust), so the
/// success path can carry one too: `current -v` prints the URL (redacted),
/// progress lines and errors never show it.
#[test]
fn password_never_shown_on_postgres_success() {
    let Some(live) = Live::new(Backend::Postgres) else {
        return;
    };
    write_linear(&live);
    let url = live
        .url
        .replacen("://postgres@", &format!("://postgres:{SECRET}@"), 1);
    assert!(url.contains(SECRET), "unexpected server URL {}", live.url);
    let commands: [&[&str]; 7] = [
        &["upgrade", "head"],
        &["current"],
        &["current", "-v"],
        &["history", "-i"],
        &["check"],
        &["downgrade", "-1"],
        &["stamp", "head"],
    ];
    for args in commands {
        live.retort_url(&url, args).success().never_shows(SECRET);
    }
    let verbose = live.retort_url(&url, &["current", "-v"]);
    assert!(
        verbose.stdout.contains("Current revision(s) for "),
        "{}",
        verbose.stdout
    );
    // A failing statement on the same URL: the error path with a live server.
    live.project
        .rev("dddd00000004")
        .parent(C)
        .message("boom")
        .up("SELECT no_such_column FROM no_such_table")
        .write();
    live.retort_url(&url, &["upgrade", "head"])
        .code(1)
        .never_shows(SECRET);
}
