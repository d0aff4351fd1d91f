//! The live runner against real databases: a SQLite file, and PostgreSQL and
//! MariaDB databases from `support::servers` (skipped when unreachable,
//! unless `RETORT_REQUIRE_SERVERS=1`). Each scenario runs on every backend.
//!
//! Expected values come from design §5.3, §7 and §9 and Alembic's `current`
//! format (alembic-semantics §9): `current` prints `<rev> (head)` for a head;
//! each step logs `Running upgrade <from> -> <rev>, <message>` to stderr,
//! completed with its duration ` (N ms)`.

use std::process::Command;

use crate::support::servers::{self, TestDb};
use crate::support::{Project, Run};

/// A backend under test: its URL and a way to query it.
enum Backend {
    Sqlite,
    Server(Box<TestDb>),
}

impl Backend {
    /// Every backend available here.
    fn all() -> Vec<Backend> {
        let mut all = vec![Backend::Sqlite];
        all.extend(servers::postgres().map(|db| Backend::Server(Box::new(db))));
        all.extend(servers::mysql().map(|db| Backend::Server(Box::new(db))));
        all
    }

    fn name(&self) -> String {
        match self {
            Backend::Sqlite => "sqlite".to_string(),
            Backend::Server(db) => db.url.split(':').next().unwrap_or("").to_string(),
        }
    }

    fn is_mysql(&self) -> bool {
        matches!(self, Backend::Server(db) if db.url.starts_with("mysql"))
    }

    /// Runs retort with this backend's URL.
    fn retort(&self, p: &Project, args: &[&str]) -> Run {
        match self {
            Backend::Sqlite => p.retort(args),
            Backend::Server(db) => {
                let mut full = vec!["--url", db.url.as_str()];
                full.extend_from_slice(args);
                p.retort(&full)
            }
        }
    }

    /// Runs `sql`; rows as tab-separated lines.
    fn query(&self, p: &Project, sql: &str) -> String {
        match self {
            Backend::Sqlite => {
                let out = Command::new("sqlite3")
                    .arg("-separator")
                    .arg("\t")
                    .arg(p.root().join("app.db"))
                    .arg(sql)
                    .output()
                    .expect("run sqlite3");
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr)
            }
            Backend::Server(db) => db.query(sql),
        }
    }
}

/// a ← b ← c, each creating a table.
fn linear() -> Project {
    let p = Project::new();
    p.table_rev("aaaa00000001", "ta").write();
    p.table_rev("bbbb00000002", "tb")
        .parent("aaaa00000001")
        .write();
    p.table_rev("cccc00000003", "tc")
        .parent("bbbb00000002")
        .write();
    p
}

fn current(b: &Backend, p: &Project) -> String {
    b.retort(p, &["current"]).success().stdout()
}

#[test]
fn round_trips_over_targets() {
    for b in Backend::all() {
        let p = linear();
        let name = b.name();
        assert_eq!(current(&b, &p), "", "{name}: empty database");
        let run = b.retort(&p, &["upgrade", "head"]);
        run.success();
        let lines: Vec<String> = run.stderr().lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 3, "{name}: {lines:?}");
        assert!(lines[0].starts_with("Running upgrade  -> aaaa00000001, create ta ("));
        assert!(lines[2].starts_with("Running upgrade bbbb00000002 -> cccc00000003, create tc ("));
        assert!(lines[2].ends_with(" ms)"), "{name}: {lines:?}");
        assert_eq!(current(&b, &p), "cccc00000003 (head)\n", "{name}");
        b.retort(&p, &["check"]).success();

        let down = b.retort(&p, &["downgrade", "-1"]);
        down.success();
        assert!(down
            .stderr()
            .starts_with("Running downgrade cccc00000003 -> bbbb00000002, create tc ("));
        assert_eq!(current(&b, &p), "bbbb00000002\n", "{name}");
        b.retort(&p, &["check"])
            .fails_with("1 revision(s) to apply (cccc00000003)");

        b.retort(&p, &["upgrade", "+1"]).success();
        assert_eq!(current(&b, &p), "cccc00000003 (head)\n", "{name}");
        b.retort(&p, &["downgrade", "aaaa00000001"]).success();
        assert_eq!(current(&b, &p), "aaaa00000001\n", "{name}");
        b.retort(&p, &["downgrade", "base"]).success();
        assert_eq!(current(&b, &p), "", "{name}");
        // the tables were dropped, the version table stays (empty)
        assert!(
            b.query(&p, "SELECT count(*) FROM _versions").trim() == "0",
            "{name}"
        );
        b.retort(&p, &["upgrade", "bbbb00000002"]).success();
        assert_eq!(current(&b, &p), "bbbb00000002\n", "{name}");
        // nothing to do: no output, exit 0
        let noop = b.retort(&p, &["upgrade", "bbbb00000002"]);
        noop.success();
        assert_eq!(noop.stderr(), "", "{name}");
        b.retort(&p, &["-q", "upgrade"]).success();
        let log = b.query(
            &p,
            "SELECT count(*) FROM _versions_log WHERE outcome = 'ok'",
        );
        // 3 up, 1 down, 1 up, 2 down, 1 down, 2 up, 1 up
        assert_eq!(log.trim(), "11", "{name}");
    }
}

#[test]
fn current_verbose_json_and_history_markers() {
    for b in Backend::all() {
        let p = linear();
        b.retort(&p, &["upgrade", "bbbb00000002"]).success();
        let verbose = b.retort(&p, &["current", "-v"]).success().stdout();
        assert!(verbose.starts_with("Current revision(s) for "), "{verbose}");
        assert!(verbose.contains("Rev: bbbb00000002\n"), "{verbose}");
        let json = b
            .retort(&p, &["current", "--format", "json"])
            .success()
            .stdout();
        assert!(json.contains("\"revision\": \"bbbb00000002\""), "{json}");
        let history = b.retort(&p, &["history", "-i"]).success().stdout();
        assert!(
            history.contains("aaaa00000001 -> bbbb00000002 (current), create tb"),
            "{history}"
        );
        b.retort(&p, &["current", "--check-heads"])
            .fails_with("Database is not on all head revisions");
        let check = b.retort(&p, &["check", "--format", "json"]);
        check.code(1);
        assert!(check.stdout().contains("\"at_head\": false"));
        assert!(check.stdout().contains("\"cccc00000003\""));
    }
}

#[test]
fn current_creates_nothing() {
    for b in Backend::all() {
        let p = linear();
        b.retort(&p, &["current"]).success();
        let sql = match &b {
            Backend::Sqlite => "SELECT count(*) FROM sqlite_master WHERE name LIKE '_versions%'",
            Backend::Server(_) if b.is_mysql() => "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '_versions%'",
            Backend::Server(_) => "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '_versions%'",
        };
        assert_eq!(b.query(&p, sql).trim(), "0", "{}", b.name());
    }
}

#[test]
fn stamp_and_purge() {
    for b in Backend::all() {
        let p = linear();
        let name = b.name();
        let run = b.retort(&p, &["stamp", "bbbb00000002"]);
        run.success();
        assert_eq!(
            run.stderr(),
            "Running stamp_revision  -> bbbb00000002\n",
            "{name}"
        );
        assert_eq!(current(&b, &p), "bbbb00000002\n", "{name}");
        // stamping records rows only: upgrading runs c alone
        let up = b.retort(&p, &["upgrade", "head"]);
        up.success();
        assert_eq!(up.stderr().lines().count(), 1, "{name}");
        b.retort(&p, &["stamp", "base"]).success();
        assert_eq!(current(&b, &p), "", "{name}");
        b.retort(&p, &["stamp", "aaaa00000001"]).success();
        b.retort(&p, &["stamp", "--purge", "cccc00000003"])
            .success();
        assert_eq!(current(&b, &p), "cccc00000003 (head)\n", "{name}");
        let stamps = b.query(
            &p,
            "SELECT count(*) FROM _versions_log WHERE action = 'stamp'",
        );
        assert!(
            stamps.trim().parse::<i32>().unwrap_or(0) >= 5,
            "{name}: {stamps}"
        );
    }
}

#[test]
fn changed_file_is_refused_until_amended() {
    for b in Backend::all() {
        let p = linear();
        let name = b.name();
        b.retort(&p, &["upgrade", "bbbb00000002"]).success();
        let rel = "migrations/schema/aaaa00000001_create_ta.toml";
        let original = p.read(rel);
        // line-end whitespace and CRLF do not count
        p.file(rel, &original.replace('\n', "  \r\n"));
        b.retort(&p, &["upgrade", "bbbb00000002"]).success();
        // a real change does
        p.file(rel, &original.replace("create ta", "create table ta"));
        let refused = b.retort(&p, &["upgrade", "head"]);
        refused.fails_with("revision aaaa00000001 was applied, but its file");
        let err = refused.stderr();
        assert!(err.contains("aaaa00000001_create_ta.toml"), "{name}: {err}");
        assert!(err.contains("-message = \"create ta\""), "{name}: {err}");
        assert!(
            err.contains("+message = \"create table ta\""),
            "{name}: {err}"
        );
        assert!(err.contains("retort amend aaaa00000001"), "{name}: {err}");
        assert_eq!(current(&b, &p), "bbbb00000002\n", "{name}: nothing ran");
        let amend = b.retort(&p, &["amend", "aaaa00000001"]);
        amend.success();
        assert!(amend
            .stdout()
            .starts_with("Amended aaaa00000001: checksum "));
        b.retort(&p, &["upgrade", "head"]).success();
        let audit = b.query(
            &p,
            "SELECT count(*) FROM _versions_log WHERE action = 'amend'",
        );
        assert_eq!(audit.trim(), "1", "{name}");
    }
}

#[test]
fn missing_file_is_named() {
    for b in Backend::all() {
        let p = linear();
        b.retort(&p, &["upgrade", "head"]).success();
        std::fs::remove_file(
            p.root()
                .join("migrations/schema/cccc00000003_create_tc.toml"),
        )
        .unwrap();
        b.retort(&p, &["upgrade", "head"])
            .fails_with("revision cccc00000003 (lane schema) is recorded in _versions but no revision file defines it");
    }
}

/// a, then b whose second statement fails.
fn failing() -> Project {
    let p = Project::new();
    p.table_rev("aaaa00000001", "ta").write();
    p.rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("two statements")
        .up("CREATE TABLE tb (id INTEGER PRIMARY KEY);\nINSERT INTO missing_table VALUES (1)")
        .down("DROP TABLE tb")
        .write();
    p
}

#[test]
fn failing_revision_reports_and_leaves_state_consistent() {
    for b in Backend::all() {
        let p = failing();
        let name = b.name();
        let run = b.retort(&p, &["upgrade", "head"]);
        run.fails_with("upgrade of revision bbbb00000002");
        let err = run.stderr();
        assert!(
            err.contains("bbbb00000002_two_statements.toml"),
            "{name}: {err}"
        );
        assert!(err.contains("at statement 2 of 2"), "{name}: {err}");
        assert!(
            err.contains("INSERT INTO missing_table VALUES (1)"),
            "{name}: {err}"
        );
        assert!(err.contains("missing_table"), "{name}: {err}");
        assert!(
            err.contains("applied before the failure: aaaa00000001"),
            "{name}: {err}"
        );
        assert!(err.contains(" FAILED\n"), "{name}: {err}");
        let failed_log = b.query(
            &p,
            "SELECT count(*) FROM _versions_log WHERE outcome = 'failed'",
        );
        assert_eq!(failed_log.trim(), "1", "{name}");
        let rel = "migrations/schema/bbbb00000002_two_statements.toml";
        let fixed = p.read(rel).replace(
            "INSERT INTO missing_table VALUES (1)",
            "INSERT INTO tb VALUES (1)",
        );
        if b.is_mysql() {
            // the journal: b is `failed` at statement 2 and blocks, the
            // first statement stays committed
            assert!(b
                .query(
                    &p,
                    "SELECT state FROM _versions WHERE version = 'bbbb00000002'"
                )
                .contains("failed"));
            p.file(rel, &fixed);
            let resumed = b.retort(&p, &["upgrade", "head"]);
            resumed.success();
            assert!(
                resumed.stderr().contains("(resuming at statement 2)"),
                "{}",
                resumed.stderr()
            );
        } else {
            // rolled back: no row for b, and tb does not exist (else the
            // fixed file would fail on CREATE TABLE tb)
            assert_eq!(current(&b, &p), "aaaa00000001\n", "{name}");
            p.file(rel, &fixed);
            b.retort(&p, &["upgrade", "head"]).success();
        }
        assert_eq!(current(&b, &p), "bbbb00000002 (head)\n", "{name}");
        assert_eq!(b.query(&p, "SELECT count(*) FROM tb").trim(), "1", "{name}");
    }
}

#[test]
fn mysql_failed_row_blocks_until_resolved() {
    let Some(db) = servers::mysql() else { return };
    let b = Backend::Server(Box::new(db));
    let p = failing();
    b.retort(&p, &["upgrade", "head"]).code(1);
    let blocked = b.retort(&p, &["downgrade", "base"]);
    blocked.fails_with("revision bbbb00000002 is failed (upgrade stopped before statement 2");
    assert!(blocked.stderr().contains("retort resolve bbbb00000002"));
    // the user finished it by hand
    b.query(&p, "INSERT INTO tb VALUES (1)");
    b.retort(&p, &["resolve", "bbbb00000002", "--applied"])
        .success();
    assert_eq!(current(&b, &p), "bbbb00000002 (head)\n");
    b.retort(&p, &["downgrade", "base"]).success();
    assert_eq!(current(&b, &p), "");
}

#[test]
fn non_transactional_revision_is_journaled() {
    for b in Backend::all() {
        let p = Project::new();
        p.table_rev("aaaa00000001", "ta")
            .message("plain")
            .non_transactional()
            .write();
        b.retort(&p, &["upgrade", "head"]).success();
        assert_eq!(current(&b, &p), "aaaa00000001 (head)\n", "{}", b.name());
        // one transaction cannot hold it (nor anything on MySQL)
        b.retort(&p, &["downgrade", "base", "--atomic"]).code(1);
        b.retort(&p, &["downgrade", "base"]).success();
    }
}

#[test]
fn atomic_runs_everything_or_nothing() {
    for b in Backend::all() {
        let p = failing();
        let name = b.name();
        let run = b.retort(&p, &["upgrade", "head", "--atomic"]);
        run.code(1);
        if b.is_mysql() {
            assert!(run.stderr().contains("needs transactional DDL"), "{name}");
            continue;
        }
        assert!(
            run.stderr().contains("nothing was applied"),
            "{name}: {}",
            run.stderr()
        );
        assert_eq!(current(&b, &p), "", "{name}: a was rolled back too");
        let linear = linear();
        b.retort(&linear, &["upgrade", "head", "--atomic"])
            .success();
        assert_eq!(current(&b, &linear), "cccc00000003 (head)\n", "{name}");
    }
}

#[test]
fn connection_errors_are_clear_and_redacted() {
    let p = linear();
    p.retort(&[
        "--url",
        "postgres://u:s3cret@127.0.0.1:1/x?sslmode=disable",
        "upgrade",
        "head",
    ])
    .fails_with("could not connect to postgres://u:***@127.0.0.1:1/x")
    .never_shows("s3cret");
    p.retort(&["--url", "oracle://u:s3cret@db/x", "current"])
        .code(1)
        .never_shows("s3cret");
}

/// A version table of an older retort, without the `source` column: the
/// next `upgrade` adds the column and records sources from then on.
#[test]
fn upgrade_adds_a_missing_source_column() {
    use crate::support::live::Live;
    let live = Live::sqlite();
    live.project
        .rev("aaaa00000001")
        .message("first")
        .up("CREATE TABLE first_t (id INTEGER)")
        .write();
    live.run_script(
        "CREATE TABLE \"_versions\" ( \"version\" text NOT NULL PRIMARY KEY, \"lane\" text NOT NULL, \
         \"state\" text NOT NULL, \"checksum\" text NOT NULL, \"message\" text NOT NULL, \
         \"applied_at\" text NOT NULL, \"execution_ms\" integer NULL, \"progress\" text NULL, \
         \"error\" text NULL, \"applied_by\" text NOT NULL ); \
         CREATE TABLE \"_versions_log\" ( \"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
         \"at\" text NOT NULL, \"action\" text NOT NULL, \"version\" text NOT NULL, \
         \"lane\" text NOT NULL, \"duration_ms\" integer NULL, \"outcome\" text NOT NULL, \
         \"error\" text NULL, \"applied_by\" text NOT NULL, \"tool_version\" text NOT NULL );",
    );
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&["aaaa00000001"]);
    assert_eq!(
        live.count("SELECT count(*) FROM _versions WHERE source LIKE '%CREATE TABLE first_t%'"),
        1
    );
}
