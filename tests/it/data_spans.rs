//! Batches of an `update` as key spans on PostgreSQL (the keys after the
//! last one up to the last one plus n, without a boundary scan, while
//! integer keys are dense): the rows of each batch, gaps and sparse keys,
//! keys near the end of the 64-bit range, and `kill -9` with time-sized
//! batches. The same tests run on SQLite and MariaDB, where every batch
//! finds its end by the boundary.

use super::data_lane::{batches, data_rev, items_table, kill_until_done, schema, stamping_rev};
use crate::support::live::{per_backend, Backend, Live};

/// Inserts rows with these `id`s into `table` (the other columns take
/// their defaults), 1,000 a statement.
fn insert_ids(live: &Live, table: &str, ids: &[i64]) {
    for chunk in ids.chunks(1000) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i})")).collect();
        live.run_script(&format!(
            "INSERT INTO {table} (id) VALUES {};\n",
            values.join(", ")
        ));
    }
}

/// The check that every row of `items` was bumped once, and no
/// downgrade steps.
const EVERY_ROW_ONCE: &str = r#"
[[verify]]
name = "every row once"
sql = "SELECT COUNT(*) FROM items WHERE counter <> 1"
expect = 0

downgrade = []
"#;

/// A non-idempotent `update` of `table` (`counter + 1`) sized by time.
fn bump(table: &str) -> String {
    format!(
        r#"
[[upgrade]]
op = "update"
name = "bump"
table = "{table}"
set = {{ counter = "counter + 1" }}
"#
    )
}

/// Keys 1..=3000 and 3500..=20000, batches sized by time (doubling from
/// 1,000 towards a target they never reach). Each row records the rows
/// done before its batch, so the data shows the batches. On PostgreSQL,
/// after the second batch (a dense key range), batches are spans of n
/// keys: (3000, 7000] holds 3,501 rows, not 4,000; the span (15000,
/// 31000] finds 5,000 rows and the next batch finds the end by the
/// boundary. Elsewhere each batch takes exactly n rows.
fn span_batches_take_the_keys_of_their_range(live: Live) {
    items_table(&live, 20_000);
    live.run_script("DELETE FROM items WHERE id > 3000 AND id < 3500;\n");
    stamping_rev(&live);
    live.retort(&["upgrade", "head"]).success();
    let expected: &[(i64, i64)] = match live.backend {
        Backend::Postgres => &[
            (0, 1000),
            (1000, 2000),
            (3000, 3501),
            (6501, 8000),
            (14501, 5000),
        ],
        Backend::Sqlite | Backend::Mysql => &[
            (0, 1000),
            (1000, 2000),
            (3000, 4000),
            (7000, 8000),
            (15000, 4501),
        ],
    };
    assert_eq!(batches(&live), expected);
}

per_backend!(span_batches_take_the_keys_of_their_range);

/// Dense keys, a gap of a million, sparse keys (every 10th), dense again:
/// a non-idempotent `counter + 1` touches every row exactly once, and the
/// step reports every row done.
fn gaps_and_sparse_keys_each_row_once(live: Live) {
    schema(&live);
    live.retort(&["upgrade", "a1"]).success();
    let mut ids: Vec<i64> = (1..=2500).collect();
    ids.extend(1_000_000..1_000_700);
    ids.extend((2_000_000..2_030_000).step_by(10));
    ids.extend(5_000_000..5_004_000);
    insert_ids(&live, "items", &ids);
    data_rev(&live, &format!("{}{EVERY_ROW_ONCE}", bump("items")));
    let run = live.retort(&["upgrade", "head"]);
    run.success();
    let total = ids.len();
    assert!(
        run.stderr.contains(&format!("{total}/{total}"))
            || run.stderr.contains(&format!("{total} rows")),
        "the step reports every row: {}",
        run.stderr
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM items WHERE counter = 1"),
        total as i64
    );
    live.assert_applied(&["a1", "b1"]);
}

per_backend!(gaps_and_sparse_keys_each_row_once);

/// Keys at the top of the 64-bit range: a span past it cannot be
/// computed, so those batches find their end by the boundary.
fn keys_at_the_end_of_the_64_bit_range(live: Live) {
    live.project
        .rev("a1")
        .message("big")
        .up("CREATE TABLE big (id BIGINT PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0)")
        .down("DROP TABLE big")
        .write();
    live.retort(&["upgrade", "a1"]).success();
    let ids: Vec<i64> = (i64::MAX - 2999..=i64::MAX).chain(1..=2000).collect();
    insert_ids(&live, "big", &ids);
    data_rev(&live, &format!("{}\ndowngrade = []\n", bump("big")));
    live.retort(&["upgrade", "head"]).success();
    assert_eq!(
        live.count("SELECT COUNT(*) FROM big WHERE counter = 1"),
        5000
    );
    assert_eq!(live.count("SELECT COUNT(*) FROM big WHERE counter <> 1"), 0);
}

per_backend!(keys_at_the_end_of_the_64_bit_range);

/// `kill -9` at growing delays while an `update` sized by time (small
/// batches, a pause between them) runs over keys with a gap and a sparse
/// stretch: no row is bumped twice, the checkpoint agrees with the data
/// after every kill, and the last run finishes the rest.
fn kill_and_resume_with_batches_sized_by_time(live: Live) {
    items_table(&live, 12_000);
    live.run_script(
        "DELETE FROM items WHERE (id > 1000 AND id <= 1200) OR (id > 2000 AND id % 3 <> 0);\n",
    );
    let rows = live.count("SELECT COUNT(*) FROM items");
    data_rev(
        &live,
        &format!(
            "{}batch_time_ms = 1\nsleep_ms = 15\n{EVERY_ROW_ONCE}",
            bump("items")
        ),
    );
    kill_until_done(&live, rows);
}

per_backend!(kill_and_resume_with_batches_sized_by_time);
