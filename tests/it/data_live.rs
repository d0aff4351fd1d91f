//! The data lane seen from outside the process: Ctrl-C (SIGINT) at a batch
//! boundary, the non-terminal progress log lines, `current -v` from another
//! process, and `copy_rows` / `populate_field` on every live backend.

use std::time::{Duration, Instant};

use super::data_lane::{batches, data_rev, fill, items_table, schema, stamping_rev, BUMP};
use crate::support::live::{per_backend, Live};

const ROWS: i64 = 3000;

/// Whether `line` is `label: done/total (pct%) - N rows/s - ETA h:mm:ss`.
fn is_progress_line(line: &str, label: &str, total: i64) -> bool {
    let Some(rest) = line.strip_prefix(&format!("{label}: ")) else {
        return false;
    };
    let Some((counts, rest)) = rest.split_once(" (") else {
        return false;
    };
    let Some((done, tot)) = counts.split_once('/') else {
        return false;
    };
    let Some((pct, rest)) = rest.split_once("%) - ") else {
        return false;
    };
    let Some((rate, eta)) = rest.split_once(" rows/s - ETA ") else {
        return false;
    };
    let eta_ok = {
        let parts: Vec<&str> = eta.split(':').collect();
        parts.len() == 3
            && parts[0].chars().all(|c| c.is_ascii_digit())
            && parts[1..]
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    };
    done.parse::<i64>().is_ok_and(|d| (0..=total).contains(&d))
        && tot == total.to_string()
        && pct.parse::<f64>().is_ok()
        && pct.split_once('.').is_some_and(|(_, f)| f.len() == 1)
        && rate.parse::<u64>().is_ok()
        && eta_ok
}

#[test]
fn progress_line_shape() {
    assert!(is_progress_line(
        "normalize_emails: 20000/50000 (40.0%) - 98050 rows/s - ETA 0:00:01",
        "normalize_emails",
        50000
    ));
    assert!(!is_progress_line(
        "normalize_emails: 20000/50000 (40%) - 98050 rows/s",
        "normalize_emails",
        50000
    ));
}

/// Waits until 400 rows (16 batches: a progress line is out) are done.
fn wait_for_partial(live: &Live) -> i64 {
    let start = Instant::now();
    loop {
        let done = live
            .try_query("SELECT COUNT(*) FROM items WHERE counter = 1")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if done >= 400 || start.elapsed() > Duration::from_secs(20) {
            return done;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ctrl-C mid-run: exit 130 at a batch boundary with the checkpoint saved
/// (`current -v` from another process shows it, during the run and after),
/// and a rerun finishes with every row processed exactly once. The run's
/// stderr (not a terminal) has the progress log lines.
fn ctrl_c_stops_at_a_batch_and_resumes(live: Live) {
    items_table(&live, ROWS as usize);
    data_rev(&live, BUMP);
    let running = live.spawn(&["upgrade", "head"]);
    let done = wait_for_partial(&live);
    assert!(done > 0 && done < ROWS, "no partial state seen: {done}");
    // Another process sees the running data revision.
    let current = live.retort(&["current", "-v"]);
    current.success();
    assert!(
        current
            .stdout
            .contains("Data revision b1 in progress: step 1/1")
            && current.stdout.contains("bump: "),
        "{}",
        current.stdout
    );
    running.interrupt();
    let run = running
        .wait_within(Duration::from_secs(30))
        .expect("retort did not stop after SIGINT");
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    // The log lines of a non-terminal stderr (every 10 batches or 2 s).
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("bump: ") && l.contains('%'))
        .collect();
    assert!(!lines.is_empty(), "no progress line: {}", run.stderr);
    for line in &lines {
        assert!(is_progress_line(line, "bump", ROWS), "{line:?}");
    }
    // The Ctrl-C note has a line of its own, and the data revision's
    // block ends with an indented `interrupted` (as `done` is).
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning: interrupted: stopping at the next")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.lines().any(|l| l == "  interrupted"),
        "{}",
        run.stderr
    );
    // Stopped between batches: the checkpoint and the data agree.
    let done = live.count("SELECT COUNT(*) FROM items WHERE counter = 1");
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter > 1"),
        0
    );
    assert!(done > 0 && done < ROWS, "{done} rows done at the interrupt");
    let rows = live.version_rows();
    let row = rows.iter().find(|r| r.version == "b1").unwrap();
    assert_eq!(row.state, "running");
    let cp: serde_json::Value = serde_json::from_str(&row.progress).unwrap();
    assert_eq!(cp["rows_done"].as_i64(), Some(done), "{}", row.progress);
    // 0-based step; keys 1..=done are behind the checkpoint.
    assert_eq!(cp["step"].as_i64(), Some(0), "{}", row.progress);
    assert_eq!(cp["last_key"].as_i64(), Some(done), "{}", row.progress);
    // --dry-run counts what the resumed run would still do.
    let dry = live.retort(&["upgrade", "--dry-run"]);
    dry.success();
    assert!(
        dry.stdout().contains(&format!(
            "bump: {} rows (resumes after {done} rows done)",
            ROWS - done
        )),
        "{}",
        dry.stdout()
    );
    let current = live.retort(&["current", "-v"]);
    current.success();
    assert!(
        current.stdout.contains(&format!("bump: {done}/{ROWS} (")),
        "{}",
        current.stdout
    );
    // The rerun resumes after the last committed batch.
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        ROWS
    );
    live.assert_applied(&["a1", "b1"]);
}

/// `copy_rows` (a join, keyed batches, verify) and `populate_field`
/// (value and expression; only where NULL by default).
fn copy_rows_and_populate_field(live: Live) {
    schema(&live);
    live.project
        .rev("a2")
        .parent("a1")
        .message("flat")
        .up("CREATE TABLE tags (item_id INTEGER PRIMARY KEY, tag VARCHAR(20) NOT NULL)")
        .up("CREATE TABLE flat (id INTEGER PRIMARY KEY, email VARCHAR(100), tag VARCHAR(20))")
        .down("DROP TABLE flat")
        .down("DROP TABLE tags")
        .write();
    live.retort(&["upgrade", "a2"]).success();
    fill(&live, 100);
    // Every third item has a tag: the join keeps 33 rows.
    let tags: Vec<String> = (1..=100)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("({i}, 't{i}')"))
        .collect();
    live.run_script(&format!(
        "INSERT INTO tags (item_id, tag) VALUES {};\nUPDATE items SET status = NULL WHERE id > 90;\n",
        tags.join(", ")
    ));
    live.project
        .rev("b1")
        .parent("a2")
        .message("data")
        .body(
            r#"
[[upgrade]]
op = "copy_rows"
target = "flat"
columns = ["id", "email", "tag"]
select = ["i.id", "i.email", "t.tag"]
from = "items i JOIN tags t ON t.item_id = i.id"
key = "i.id"
batch_size = 7

[[upgrade]]
op = "populate_field"
table = "items"
column = "status"
value = "filled"
batch_size = 4

[[upgrade]]
op = "populate_field"
table = "items"
column = "first_name"
expr = "full_name"
where = "id <= 10"
batch_size = 3

[[verify]]
name = "every tagged item copied"
sql = "SELECT (SELECT COUNT(*) FROM tags) - (SELECT COUNT(*) FROM flat)"
expect = 0

[[downgrade]]
op = "sql"
sql = "DELETE FROM flat"
"#,
        )
        .write();
    let run = live.retort(&["upgrade", "head"]);
    run.success();
    assert_eq!(live.count("SELECT COUNT(*) FROM flat"), 33);
    assert_eq!(
        live.rows("SELECT id, tag FROM flat WHERE id = 99"),
        vec![vec!["99", "t99"]]
    );
    // Only the ten NULL statuses were filled; the others kept theirs.
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status = 'filled'"),
        10
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE status IS NULL"),
        0
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE first_name IS NOT NULL"),
        10
    );
    assert_eq!(
        live.rows("SELECT first_name FROM items WHERE id = 4"),
        vec![vec!["Ada4 Love"]]
    );
    live.retort(&["downgrade", "a2"]).success();
    assert_eq!(live.count("SELECT COUNT(*) FROM flat"), 0);
}

per_backend!(
    ctrl_c_stops_at_a_batch_and_resumes,
    copy_rows_and_populate_field
);

/// Without `batch_size`, batches are sized by time: from 1,000 rows, at
/// most doubling (towards a 5 s target that these batches never reach),
/// each committed with its checkpoint. Every row records the checkpoint's
/// `rows_done` that its batch started from, so the data shows the batches.
/// `--batch-size` then overrides the step's pace.
fn batches_sized_by_time(live: Live) {
    items_table(&live, 31_000);
    stamping_rev(&live);
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        batches(&live),
        [
            (0, 1000),
            (1000, 2000),
            (3000, 4000),
            (7000, 8000),
            (15000, 16000)
        ]
    );
    live.retort(&["downgrade", "a1"]).success();
    live.retort(&["upgrade", "head", "--batch-size", "12000"])
        .success();
    assert_eq!(batches(&live), [(0, 12000), (12000, 12000), (24000, 7000)]);
}

per_backend!(batches_sized_by_time);

/// `data dump` of an empty table still names its columns (the CSV header;
/// JSON is `[]`); a missing table is an error naming it.
fn dump_of_an_empty_table(live: Live) {
    schema(&live);
    live.retort(&["upgrade", "a1"]).success();
    let csv = live.retort(&["data", "dump", "items"]);
    csv.success();
    assert_eq!(
        csv.stdout().trim_end(),
        "id,counter,email,status,full_name,first_name,last_name,age_text,age,copy"
    );
    let json = live.retort(&["data", "dump", "items", "--format", "json"]);
    json.success();
    assert_eq!(json.stdout().trim(), "[]");
    let missing = live.retort(&["data", "dump", "nosuch"]);
    missing.code(1);
    assert!(missing.stderr.contains("nosuch"), "{}", missing.stderr);
}

per_backend!(dump_of_an_empty_table);

/// `dedup` keeps the first or last duplicate by `order` (a value beats
/// NULL, ties go by key), online and as the `--sql` script, whose DELETE
/// (the key read from the revision that created the table) runs as is.
fn dedup_by_order_online_and_offline(live: Live) {
    live.project
        .rev("a1")
        .message("people")
        .body(
            r#"
[[upgrade]]
op = "create_table"
table = "people"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "email", type = "string", length = 50 },
  { name = "seen", type = "integer" },
]
"#,
        )
        .write();
    live.project
        .rev("d1")
        .parent("a1")
        .message("dedup")
        .body(
            r#"downgrade = []

[[upgrade]]
op = "dedup"
table = "people"
by = ["email"]
keep = "last"
order = "seen"
"#,
        )
        .write();
    let rows = "INSERT INTO people (id, email, seen) VALUES (1, 'a', 5), (2, 'a', NULL), (3, 'a', 9), (4, 'b', NULL), (5, 'b', NULL), (6, 'c', 1);\n";
    let kept = vec![vec!["3"], vec!["5"], vec!["6"]];
    // Offline: the script of a1, the rows, then the script of d1.
    let script = |range: &str| {
        let run = live.retort(&["upgrade", "--sql", range]);
        run.success();
        run.stdout()
    };
    live.run_script(&script("a1"));
    live.run_script(rows);
    let d1 = script("a1:d1");
    assert!(!d1.contains("<primary key>"), "{d1}");
    live.run_script(&d1);
    assert_eq!(live.rows("SELECT id FROM people ORDER BY id"), kept);
    // Online, from the same rows.
    live.retort(&["stamp", "a1"]).success();
    live.run_script(&format!("DELETE FROM people;\n{rows}"));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(live.rows("SELECT id FROM people ORDER BY id"), kept);
}

per_backend!(dedup_by_order_online_and_offline);

/// Ctrl-C during a long `sleep_ms` stops at once, not when the pause ends.
fn ctrl_c_cuts_the_pause_between_batches(live: Live) {
    items_table(&live, 100);
    data_rev(
        &live,
        r#"
[[upgrade]]
op = "update"
name = "slow"
table = "items"
set = { counter = "counter + 1" }
batch_size = 10
sleep_ms = 20000

downgrade = []
"#,
    );
    let running = live.spawn(&["upgrade", "head"]);
    let start = Instant::now();
    while live.count("SELECT COUNT(*) FROM items WHERE counter = 1") == 0
        && start.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    running.interrupt();
    let interrupted = Instant::now();
    let run = running
        .wait_within(Duration::from_secs(15))
        .expect("retort did not stop after SIGINT");
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        interrupted.elapsed() < Duration::from_secs(5),
        "waited {:?} for the pause",
        interrupted.elapsed()
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        10
    );
}

per_backend!(ctrl_c_cuts_the_pause_between_batches);
