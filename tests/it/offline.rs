//! Offline scripts: `upgrade --sql [FROM:]TO` and `downgrade --sql FROM:TO`
//! (design §9; alembic-semantics §8). No connection is made: the dialect
//! comes from the URL, so a PostgreSQL URL to a server that does not exist
//! works.
//!
//! What the contract fixes, and these tests check:
//! - one `-- Running upgrade <parents joined by ", "> -> <id>` comment per
//!   step (a base: two spaces before `->`); downgrade `-- Running downgrade
//!   <id> -> <parents>`;
//! - the step's SQL after its comment, then the `_versions` INSERT (upgrade)
//!   or DELETE (downgrade) naming the revision;
//! - `BEGIN;`/`COMMIT;` around each revision on SQLite and PostgreSQL, none
//!   on MySQL (DDL commits implicitly there);
//! - `CREATE TABLE IF NOT EXISTS` for `_versions` before the first step when
//!   the plan starts from base;
//! - a password in the URL is never printed.
//!
//! The exact text of the version statements is retort's own (design §9), so
//! the whole scripts are pinned by snapshots that were reviewed once.

use crate::it::listings::{before_merge, branch_merge};
use crate::support::{assert_in_order, assert_snapshot, normalize_timestamps, Project};

const PG_URL: &str = "postgresql://u:secret@localhost/db";
const MYSQL_URL: &str = "mysql://u:secret@localhost/db";

/// a1a1… (create t1) ← b2b2… (add a column; PostgreSQL has a variant).
fn linear() -> Project {
    let p = Project::new();
    p.table_rev("a1a1a1a1a1a1", "t1").write();
    p.rev("b2b2b2b2b2b2")
        .parent("a1a1a1a1a1a1")
        .message("add t1 name")
        .up("ALTER TABLE t1 ADD COLUMN name TEXT")
        .variant("postgresql", "ALTER TABLE t1 ADD COLUMN name VARCHAR(50)")
        .down("ALTER TABLE t1 DROP COLUMN name")
        .write();
    p
}

fn count_lines(text: &str, line: &str) -> usize {
    text.lines().filter(|l| l.trim_end() == line).count()
}

/// Output that mentions the user and the time of the run (`applied_by`,
/// `applied_at`) made comparable.
fn stable(text: &str) -> String {
    let mut text = normalize_timestamps(text);
    if let (Ok(user), Ok(host)) = (
        std::env::var("USER"),
        std::fs::read_to_string("/etc/hostname"),
    ) {
        text = text.replace(&format!("{user}@{}", host.trim()), "[USER]@[HOST]");
    }
    text
}

#[test]
fn upgrade_sql_on_sqlite() {
    let p = linear();
    // The URL of alembic.toml is sqlite://app.db.
    let run = p.retort(&["upgrade", "--sql"]);
    run.success();
    let out = &run.stdout;

    assert_eq!(
        run.running_lines(),
        [
            "-- Running upgrade  -> a1a1a1a1a1a1",
            "-- Running upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2"
        ]
    );
    // From base: the version table is created before the first step.
    assert_in_order(
        out,
        &[
            "CREATE TABLE IF NOT EXISTS",
            "_versions",
            "-- Running upgrade  -> a1a1a1a1a1a1",
        ],
    );
    // SQLite is wrapped in transactions too (design §9's first difference
    // from Alembic): one pair per revision. (Whether the version table's
    // CREATE gets a pair of its own is not fixed by the contract.)
    run.each_step_in_its_own_transaction();
    // Step SQL and the version row come after their comment, in order; the
    // SQLite text is the default (no variant).
    assert_in_order(
        out,
        &[
            "BEGIN;",
            "-- Running upgrade  -> a1a1a1a1a1a1",
            "CREATE TABLE t1 (id INTEGER PRIMARY KEY);",
            "'a1a1a1a1a1a1'",
            "COMMIT;",
            "BEGIN;",
            "-- Running upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2",
            "ALTER TABLE t1 ADD COLUMN name TEXT;",
            "'b2b2b2b2b2b2'",
            "COMMIT;",
        ],
    );
    let versions = run.version_statements();
    assert_eq!(versions.len(), 2, "one INSERT per revision: {versions:#?}");
    assert!(
        versions[0].to_uppercase().starts_with("INSERT") && versions[0].contains("'a1a1a1a1a1a1'")
    );
    assert!(
        versions[1].to_uppercase().starts_with("INSERT") && versions[1].contains("'b2b2b2b2b2b2'")
    );
    // Offline makes no database.
    assert!(!p.root().join("app.db").exists());

    assert_snapshot("upgrade_sql_sqlite", &stable(&run.stdout()));
}

#[test]
fn upgrade_sql_on_postgresql_uses_the_variant_and_hides_the_password() {
    let p = linear();
    let run = p.retort(&["--url", PG_URL, "upgrade", "--sql"]);
    run.success().never_shows("secret");
    let out = &run.stdout;
    assert_eq!(
        run.running_lines(),
        [
            "-- Running upgrade  -> a1a1a1a1a1a1",
            "-- Running upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2"
        ]
    );
    run.each_step_in_its_own_transaction();
    assert!(
        out.contains("ALTER TABLE t1 ADD COLUMN name VARCHAR(50);"),
        "{out}"
    );
    assert!(!out.contains("ADD COLUMN name TEXT"), "{out}");
    assert_eq!(run.version_statements().len(), 2, "{out}");

    assert_snapshot("upgrade_sql_postgresql", &stable(&run.stdout()));
}

#[test]
fn upgrade_sql_on_mysql_has_no_transactions() {
    let p = linear();
    let run = p.retort(&["--url", MYSQL_URL, "upgrade", "--sql"]);
    run.success().never_shows("secret");
    let out = &run.stdout;
    assert_eq!(run.running_lines().len(), 2, "{out}");
    // MySQL commits DDL implicitly: no BEGIN/COMMIT (alembic-semantics §8).
    assert_eq!(count_lines(out, "BEGIN;"), 0, "{out}");
    assert_eq!(count_lines(out, "COMMIT;"), 0, "{out}");
    assert!(
        out.contains("ALTER TABLE t1 ADD COLUMN name TEXT;"),
        "{out}"
    );

    assert_snapshot("upgrade_sql_mysql", &stable(&run.stdout()));
}

#[test]
fn database_url_from_the_environment() {
    // Precedence (design §3): flag > DATABASE_URL > file.
    let p = linear();
    let run = p.retort_env(&["upgrade", "--sql"], &[("DATABASE_URL", PG_URL)]);
    run.success().never_shows("secret");
    assert!(run.stdout.contains("VARCHAR(50)"), "{}", run.stdout);
    let run = p.retort_env(
        &["--url", "sqlite://other.db", "upgrade", "--sql"],
        &[("DATABASE_URL", PG_URL)],
    );
    run.success();
    assert!(
        run.stdout.contains("ADD COLUMN name TEXT"),
        "{}",
        run.stdout
    );
}

#[test]
fn upgrade_sql_with_a_range() {
    // `FROM:TO`: only what TO needs beyond FROM; not from base, so no
    // CREATE TABLE for the version table.
    let run = linear().retort(&["upgrade", "--sql", "a1a1a1a1a1a1:b2b2b2b2b2b2"]);
    run.success();
    assert_eq!(
        run.running_lines(),
        ["-- Running upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2"]
    );
    assert!(
        !run.stdout.contains("CREATE TABLE IF NOT EXISTS"),
        "{}",
        run.stdout
    );
}

#[test]
fn downgrade_sql() {
    let run = linear().retort(&["downgrade", "--sql", "b2b2b2b2b2b2:base"]);
    run.success();
    let out = &run.stdout;
    // Downgrade order is top-down; a base ends in `-> ` (trimmed here).
    assert_eq!(
        run.running_lines(),
        [
            "-- Running downgrade b2b2b2b2b2b2 -> a1a1a1a1a1a1",
            "-- Running downgrade a1a1a1a1a1a1 ->"
        ]
    );
    assert_in_order(
        out,
        &[
            "-- Running downgrade b2b2b2b2b2b2 -> a1a1a1a1a1a1",
            "ALTER TABLE t1 DROP COLUMN name;",
            "'b2b2b2b2b2b2'",
            "-- Running downgrade a1a1a1a1a1a1",
            "DROP TABLE t1;",
            "'a1a1a1a1a1a1'",
        ],
    );
    let versions = run.version_statements();
    assert_eq!(versions.len(), 2, "one DELETE per revision: {versions:#?}");
    assert!(
        versions
            .iter()
            .all(|s| s.to_uppercase().starts_with("DELETE")),
        "{versions:#?}"
    );
    run.each_step_in_its_own_transaction();
    assert_eq!(count_lines(out, "BEGIN;"), 2, "{out}");
    // Not from base: the version table already exists (and is never dropped).
    assert!(!out.contains("CREATE TABLE IF NOT EXISTS"), "{out}");
    assert!(
        !out.to_uppercase().contains("DROP TABLE _VERSIONS"),
        "{out}"
    );

    assert_snapshot("downgrade_sql_sqlite", &stable(&run.stdout()));
}

#[test]
fn downgrade_sql_requires_a_range() {
    // alembic-semantics §8/§10.
    linear()
        .retort(&["downgrade", "--sql", "base"])
        .fails_with("downgrade with --sql requires <fromrev>:<torev>");
}

#[test]
fn upgrade_sql_across_a_branch_and_merge() {
    // Upgrade order = the §5 sort reversed (see listings.rs: top-down
    // eee555 ccc333 ddd444 bbb222 aaa111), so the last parent's line
    // (ddd444) runs before ccc333. The merge's comment joins both parents.
    let run = branch_merge().retort(&["upgrade", "--sql"]);
    run.success();
    assert_eq!(
        run.running_lines(),
        [
            "-- Running upgrade  -> aaa111",
            "-- Running upgrade aaa111 -> bbb222",
            "-- Running upgrade bbb222 -> ddd444",
            "-- Running upgrade bbb222 -> ccc333",
            "-- Running upgrade ccc333, ddd444 -> eee555",
        ]
    );
    // One row per applied revision: five INSERTs, no UPDATE/DELETE.
    let versions = run.version_statements();
    assert_eq!(versions.len(), 5, "{versions:#?}");
    assert!(
        versions
            .iter()
            .all(|s| s.to_uppercase().starts_with("INSERT")),
        "{versions:#?}"
    );
}

#[test]
fn downgrade_sql_across_a_merge() {
    // Downgrade uses the §5 order as is, from the explicit head eee555.
    let run = branch_merge().retort(&["downgrade", "--sql", "eee555:base"]);
    run.success();
    assert_eq!(
        run.running_lines(),
        [
            "-- Running downgrade eee555 -> ccc333, ddd444",
            "-- Running downgrade ccc333 -> bbb222",
            "-- Running downgrade ddd444 -> bbb222",
            "-- Running downgrade bbb222 -> aaa111",
            "-- Running downgrade aaa111 ->",
        ]
    );
}

#[test]
fn upgrade_sql_to_one_branch() {
    // `feature@head` before the merge exists is ddd444: it needs aaa111 and
    // bbb222, never ccc333 (semantics §3: required − applied).
    let run = before_merge().retort(&["upgrade", "--sql", "feature@head"]);
    run.success();
    assert_eq!(
        run.running_lines(),
        [
            "-- Running upgrade  -> aaa111",
            "-- Running upgrade aaa111 -> bbb222",
            "-- Running upgrade bbb222 -> ddd444",
        ]
    );
}

#[test]
fn upgrade_head_with_two_heads_is_ambiguous() {
    let p = Project::new();
    p.rev("aaa111").message("a").write();
    p.rev("bbb222").parent("aaa111").message("b").write();
    p.rev("ccc333").parent("aaa111").message("c").write();
    p.retort(&["upgrade", "--sql", "head"]).fails_with(
        "Multiple head revisions are present for given argument 'head'; please specify a \
         specific target revision, '<branchname>@head' to narrow to a specific head, or \
         'heads' for all heads",
    );
    // `heads` is every head. The §5 sort from [bbb222, ccc333] (load order):
    // emit bbb222, open [aaa111, ccc333]; aaa111 is an ancestor of ccc333,
    // so switch and emit ccc333, then aaa111. Top-down bbb222 ccc333 aaa111;
    // reversed, ccc333 runs before bbb222.
    let run = p.retort(&["upgrade", "--sql", "heads"]);
    run.success();
    assert_eq!(
        run.running_lines(),
        [
            "-- Running upgrade  -> aaa111",
            "-- Running upgrade aaa111 -> ccc333",
            "-- Running upgrade aaa111 -> bbb222",
        ]
    );
}

#[test]
fn errors_never_show_the_password() {
    let run = linear().retort(&["--url", PG_URL, "upgrade", "--sql", "zzzz"]);
    run.fails_with("Can't locate revision identified by 'zzzz'");
    run.never_shows("secret");
}
