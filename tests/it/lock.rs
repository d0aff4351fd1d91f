//! Concurrent deploys (design §7.3, issue #3 item 6): several `retort
//! upgrade head` processes started at once apply each revision exactly once
//! and all exit 0, on every backend; a run with nothing to do takes no lock.
//!
//! The revisions are non-idempotent on purpose: the first creates a table
//! `counter` without any key, and every revision (the first included)
//! inserts one row naming itself. A revision applied twice shows as a
//! duplicate row; one skipped shows as a missing row.
//!
//! How "takes no lock" is observed (PostgreSQL only): a revision that sleeps
//! lets the test see the runner's advisory lock in `pg_locks` (its key is
//! retort's business, so the test learns it rather than assuming it). A
//! `psql` session then holds that same lock: an `upgrade head` with work to
//! do must wait for it, one with nothing to do must finish at once.
//! MariaDB's `GET_LOCK` names are not listed without the metadata-lock
//! plugin, and SQLite has no lock to hold across processes, so those two
//! backends only check that a no-op run succeeds next to a busy one.
//!
//! Ctrl-C while a run waits for another run's lock (the run lock, or
//! SQLite's file lock) stops the waiting run at once, exit 130, with
//! nothing applied, while the other run goes on undisturbed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::data_lane::{data_rev, items_table};
use crate::support::live::{per_backend, Backend, Live};

/// How many revisions, and how many processes race.
const REVISIONS: usize = 30;
const PROCESSES: usize = 5;

per_backend!(concurrent_upgrades_apply_each_revision_once);

fn rev_id(i: usize) -> String {
    format!("{i:04}aaaabbbb")
}

/// `REVISIONS` revisions in a chain; each inserts its id into `counter`.
fn write_counter_project(live: &Live) {
    for i in 0..REVISIONS {
        let id = rev_id(i);
        let mut rev = live
            .project
            .rev(&id)
            .message(&format!("count {i}"))
            .down(&format!("DELETE FROM counter WHERE rev = '{id}'"));
        if i == 0 {
            rev = rev.up("CREATE TABLE counter (rev VARCHAR(32) NOT NULL)");
        } else {
            rev = rev.parent(&rev_id(i - 1));
        }
        rev.up(&format!("INSERT INTO counter (rev) VALUES ('{id}')"))
            .write();
    }
}

fn concurrent_upgrades_apply_each_revision_once(live: Live) {
    write_counter_project(&live);
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| live.spawn(&["upgrade", "head"]))
        .collect();
    for child in children {
        let run = child
            .wait_within(Duration::from_secs(300))
            .unwrap_or_else(|| panic!("{:?}: an upgrade ran for five minutes", live.backend));
        run.success();
    }

    let counted = live.rows("SELECT rev, count(*) FROM counter GROUP BY rev ORDER BY rev");
    let counted: BTreeMap<String, String> = counted
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let expected: BTreeMap<String, String> = (0..REVISIONS)
        .map(|i| (rev_id(i), "1".to_string()))
        .collect();
    assert_eq!(
        counted, expected,
        "{:?}: rows per revision in counter",
        live.backend
    );

    let ids: Vec<String> = (0..REVISIONS).map(rev_id).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    live.assert_applied(&ids);
    let log = live.log();
    let upgrades: Vec<_> = log.iter().filter(|r| r.action == "upgrade").collect();
    assert_eq!(
        upgrades.len(),
        REVISIONS,
        "{:?}: upgrade log rows: {log:?}",
        live.backend
    );
    assert!(upgrades.iter().all(|r| r.outcome == "ok"), "{log:?}");
    if live.backend == Backend::Postgres {
        assert!(live.advisory_locks().is_empty(), "advisory locks left");
    }

    // Nothing to do, several at once: all succeed, nothing changes.
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| live.spawn(&["upgrade", "head"]))
        .collect();
    for child in children {
        child.finish().success();
    }
    assert_eq!(live.count("SELECT count(*) FROM counter"), REVISIONS as i64);
    assert_eq!(
        live.log().len(),
        log.len(),
        "{:?}: a no-op logs nothing",
        live.backend
    );
}

/// A `psql` session holding a session-level advisory lock until dropped.
struct LockHolder {
    child: Child,
}

impl LockHolder {
    /// Takes `pg_advisory_lock(<key expression>)` in a new session and
    /// waits until `pg_locks` shows it granted.
    fn take(live: &Live, key_sql: &str) -> LockHolder {
        let mut child = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &live.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start psql");
        writeln!(
            child.stdin.as_mut().unwrap(),
            "SELECT pg_advisory_lock({key_sql});"
        )
        .unwrap();
        child.stdin.as_mut().unwrap().flush().unwrap();
        let holder = LockHolder { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !live
            .advisory_locks()
            .iter()
            .any(|l| l.get(3).is_some_and(|g| g == "t"))
        {
            assert!(
                Instant::now() < deadline,
                "psql did not get the advisory lock"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        holder
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        // Closing stdin ends psql, which ends the session and its lock.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Learns the runner's advisory lock key from `pg_locks` while a revision
/// sleeps, then holds it from another session: a run with work waits, a
/// run with nothing to do does not (design §7.3).
#[test]
fn postgres_noop_upgrade_takes_no_lock() {
    let Some(live) = Live::new(Backend::Postgres) else {
        return;
    };
    live.project
        .rev("aaaa00000001")
        .message("sleep")
        .up("SELECT pg_sleep(2)")
        .write();
    let mut run = live.spawn(&["upgrade", "head"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let lock = loop {
        if let Some(l) = live.advisory_locks().into_iter().find(|l| l[3] == "t") {
            break l;
        }
        assert!(
            run.running() && Instant::now() < deadline,
            "no advisory lock seen in pg_locks while the revision ran"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    run.finish().success();
    // pg_locks splits a bigint key into classid (high) and objid (low)
    // with objsubid 1; two int4 keys have objsubid 2.
    let (classid, objid, subid) = (&lock[0], &lock[1], &lock[2]);
    let key_sql = if subid == "1" {
        format!("({classid}::bigint << 32) | {objid}::bigint")
    } else {
        let int4 = |oid: &str| format!("(({oid}::bigint << 32) >> 32)::int");
        format!("{}, {}", int4(classid), int4(objid))
    };

    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("more")
        .up("CREATE TABLE more (id INTEGER)")
        .write();
    let holder = LockHolder::take(&live, &key_sql);

    // aaaa00000001 is applied already: nothing to do, so no lock and no
    // wait. Taking the lock would block until the limit kills it.
    let noop = live
        .retort_within(Duration::from_secs(15), &["upgrade", "aaaa00000001"])
        .expect("a no-op upgrade waited for the advisory lock");
    noop.success();

    // Work to do: waits for the lock.
    let mut busy = live.spawn(&["upgrade", "head"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        busy.running(),
        "an upgrade with work to do did not wait for the advisory lock"
    );
    assert!(!live.table_exists("more"));
    drop(holder);
    busy.finish().success();
    live.assert_tables(&["more"], &[]);
    assert!(live.advisory_locks().is_empty());
}

/// SQLite and MariaDB: a no-op `upgrade head` succeeds while another
/// process is applying a slow revision that holds the lock (SQLite: the
/// write transaction; MariaDB: GET_LOCK). The no-op may read a stale
/// applied set; it must neither wait for the whole slow run nor fail.
#[test]
fn noop_next_to_a_busy_run_sqlite() {
    noop_next_to_a_busy_run(Backend::Sqlite);
}

/// See [`noop_next_to_a_busy_run_sqlite`].
#[test]
fn noop_next_to_a_busy_run_mysql() {
    noop_next_to_a_busy_run(Backend::Mysql);
}

fn noop_next_to_a_busy_run(backend: Backend) {
    let Some(live) = Live::new(backend) else {
        return;
    };
    live.project
        .rev("aaaa00000001")
        .message("first")
        .up("CREATE TABLE first_t (id INTEGER)")
        .write();
    live.retort(&["upgrade", "head"]).success();
    // A slow second revision: a recursive count on SQLite, SLEEP on MariaDB.
    let slow = match backend {
        Backend::Sqlite => {
            "CREATE TABLE slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL \
             SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS c FROM n"
        }
        _ => "CREATE TABLE slow AS SELECT SLEEP(3) AS c",
    };
    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("slow")
        .up(slow)
        .write();
    let busy = live.spawn(&["upgrade", "head"]);
    std::thread::sleep(Duration::from_millis(300));
    let noop = live
        .retort_within(Duration::from_secs(60), &["upgrade", "aaaa00000001"])
        .expect("a no-op upgrade hung next to a busy one");
    noop.success();
    busy.finish().success();
    live.assert_applied(&["aaaa00000001", "bbbb00000002"]);
}

/// SQLite, `transactional = false` (issue #3, loose end): such a revision
/// runs outside a transaction, so `BEGIN IMMEDIATE` cannot keep a second
/// process out. Several processes race over a slow, non-idempotent one;
/// it must run once (the others wait for its file lock, then skip it) and
/// every process exits 0.
#[test]
fn sqlite_non_transactional_revision_runs_once() {
    let live = Live::sqlite();
    live.project
        .rev("aaaa00000001")
        .message("counter")
        .up("CREATE TABLE counter (rev VARCHAR(32) NOT NULL)")
        .write();
    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("no tx")
        .non_transactional()
        .up(
            "INSERT INTO counter (rev) VALUES ('b'); CREATE TABLE slow AS WITH RECURSIVE \
             n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT count(*) \
             AS c FROM n",
        )
        .down("DROP TABLE slow")
        .write();
    live.project
        .rev("cccc00000003")
        .parent("bbbb00000002")
        .message("after")
        .up("INSERT INTO counter (rev) VALUES ('c')")
        .write();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| live.spawn(&["upgrade", "head"]))
        .collect();
    for child in children {
        child
            .wait_within(Duration::from_secs(120))
            .expect("an upgrade hung")
            .success();
    }
    assert_eq!(
        live.rows("SELECT rev, count(*) FROM counter GROUP BY rev ORDER BY rev"),
        [["b", "1"], ["c", "1"]]
    );
    live.assert_applied(&["aaaa00000001", "bbbb00000002", "cccc00000003"]);
}

per_backend!(ctrl_c_while_waiting_for_the_lock);

/// How the waiting run names the lock it was waiting for.
fn lock_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "interrupted while waiting for the lock file ",
        _ => "interrupted while waiting for the migration lock on ",
    }
}

/// A slow data revision holds the lock (PostgreSQL and MariaDB: the run
/// lock of the whole run; SQLite: the file lock of the data revision); a
/// second `upgrade head` waits for it. SIGINT to the second exits 130
/// before the first finishes, saying nothing was applied; the first then
/// finishes alone, every row processed once, nothing logged by the second.
fn ctrl_c_while_waiting_for_the_lock(live: Live) {
    items_table(&live, 100);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
name = "slow"
table = "items"
set = { counter = "counter + 1" }
batch_size = 5
sleep_ms = 600

downgrade = []
"#,
    );
    let log_before = live.log().len();
    let mut first = live.spawn(&["upgrade", "head"]);
    // The first run holds the lock once its first batch is in.
    let deadline = Instant::now() + Duration::from_secs(30);
    while live.count("SELECT COUNT(*) FROM items WHERE counter = 1") == 0 {
        assert!(
            first.running() && Instant::now() < deadline,
            "the first run did not start its batches"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = live.spawn(&["upgrade", "head"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(second.running(), "the second run did not wait for the lock");
    second.interrupt();
    let run = second
        .wait_within(Duration::from_secs(120))
        .expect("the second run did not stop after SIGINT");
    assert!(
        first.running(),
        "{:?}: the second run stopped only after the first finished",
        live.backend
    );
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains(lock_name(live.backend))
            && run.stderr.contains("nothing was applied by this run"),
        "{}",
        run.stderr
    );
    first.finish().success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        100
    );
    live.assert_applied(&["a1", "b1"]);
    assert_eq!(
        live.log_since(log_before),
        [("upgrade".to_string(), "b1".to_string(), "ok".to_string())]
    );
    if live.backend == Backend::Postgres {
        assert!(live.advisory_locks().is_empty(), "advisory locks left");
    }
}

/// `flock FILE cat`: holds an exclusive `flock` on `file` until dropped
/// (closing `cat`'s stdin ends both); `None` without the `flock` tool.
struct FlockHolder {
    child: Child,
}

impl FlockHolder {
    fn take(file: &std::path::Path) -> Option<FlockHolder> {
        let child = Command::new("flock")
            .arg(file)
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let holder = FlockHolder { child };
        // Held once a non-blocking attempt fails.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let free = Command::new("flock")
                .args(["-n", "-E", "99"])
                .arg(file)
                .arg("true")
                .status()
                .ok()?;
            if free.code() == Some(99) {
                return Some(holder);
            }
            assert!(Instant::now() < deadline, "flock did not take {file:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FlockHolder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// SQLite, `transactional = false`: the revision waits for the database's
/// file lock (held here by `flock`); SIGINT ends the wait with exit 130,
/// the revision not started.
#[test]
fn sqlite_ctrl_c_while_a_non_transactional_revision_waits() {
    let live = Live::sqlite();
    live.project
        .rev("aaaa00000001")
        .message("counter")
        .up("CREATE TABLE counter (rev VARCHAR(32) NOT NULL)")
        .write();
    live.project
        .rev("bbbb00000002")
        .parent("aaaa00000001")
        .message("no tx")
        .non_transactional()
        .up("INSERT INTO counter (rev) VALUES ('b')")
        .write();
    live.retort(&["upgrade", "aaaa00000001"]).success();
    let mut lock = live.sqlite_path().into_os_string();
    lock.push("-retort-lock");
    let Some(holder) = FlockHolder::take(std::path::Path::new(&lock)) else {
        eprintln!("skipped: no `flock` tool");
        return;
    };
    let mut waiting = live.spawn(&["upgrade", "head"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(waiting.running(), "the run did not wait for the file lock");
    waiting.interrupt();
    let run = waiting
        .wait_within(Duration::from_secs(60))
        .expect("the run did not stop after SIGINT");
    drop(holder);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains(lock_name(Backend::Sqlite))
            && run.stderr.contains("nothing was applied by this run"),
        "{}",
        run.stderr
    );
    assert_eq!(live.count("SELECT COUNT(*) FROM counter"), 0);
    live.assert_applied(&["aaaa00000001"]);
    // With the lock free, the same command applies it.
    live.retort(&["upgrade", "head"]).success();
    live.assert_applied(&["aaaa00000001", "bbbb00000002"]);
}
