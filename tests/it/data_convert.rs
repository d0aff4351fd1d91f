//! `convert_type` at the edges (issue #5: "with a default for values that
//! fail"): every value that does not convert gets the default, the same on
//! SQLite, PostgreSQL and MariaDB, online and through the `--sql` script;
//! a value that converts but does not fit a narrower target column is the
//! database's error, naming the step.
//!
//! Expected values by hand from the rule in `data::sql::convert`: an
//! integer is `-?[0-9]+` (spaces trimmed, leading zeros allowed) within the
//! signed 64-bit range; a float is `-?[0-9]+(.[0-9]+)?` with at most 308
//! integer digits.

use crate::support::live::{per_backend, Backend, Live};

use super::data_lane::data_rev;

/// The source values, in id order (`None`: NULL), with the expected
/// `integer` result (default -1) and the expected `float` result as an SQL
/// literal (default -1; `.0` makes SQLite compare the big ones as reals).
fn cases() -> Vec<(Option<String>, &'static str, &'static str)> {
    let s = |v: &str| Some(v.to_string());
    vec![
        (s("42"), "42", "42"),
        (s(" 7 "), "7", "7"),
        (s("007"), "7", "7"),
        (s("-0"), "0", "0"),
        (s("-12"), "-12", "-12"),
        (s("abc"), "-1", "-1"),
        (s(""), "-1", "-1"),
        (None, "-1", "-1"),
        (
            s("9223372036854775807"),
            "9223372036854775807",
            "9223372036854775807.0",
        ),
        (s("9223372036854775808.0"), "-1", "9223372036854775808"),
        (
            s("-9223372036854775808"),
            "-9223372036854775808",
            "-9223372036854775808.0",
        ),
        (s("-9223372036854775809.0"), "-1", "-9223372036854775809"),
        (
            s("99999999999999999999999"),
            "-1",
            "99999999999999999999999.0",
        ),
        (s("1.5"), "-1", "1.5"),
        (s("-0.25"), "-1", "-0.25"),
        // No exponents: the rule is plain decimal notation.
        (s("1e5"), "-1", "-1"),
        (s(".5"), "-1", "-1"),
        (s("5."), "-1", "-1"),
        (s("+5"), "-1", "-1"),
        (s("-"), "-1", "-1"),
        (
            s("00009223372036854775807"),
            "9223372036854775807",
            "9223372036854775807.0",
        ),
        // 400 digits: beyond any double.
        (Some("9".repeat(400)), "-1", "-1"),
        // 308 integer digits still convert; 309 do not.
        (Some(format!("1{}", "0".repeat(307))), "-1", "1e307"),
        (Some(format!("-1{}", "0".repeat(308))), "-1", "-1"),
        // Below 1e-308: 0 (PostgreSQL would refuse what rounds to zero).
        (Some(format!("0.{}1", "0".repeat(400))), "-1", "0"),
        (Some(format!("0.{}1", "0".repeat(306))), "-1", "1e-307"),
    ]
}

/// Revision a1: the table `conv` (the source column wide enough for 400
/// digits, 64-bit and double targets).
fn conv_schema(live: &Live) {
    live.project
        .rev("a1")
        .message("conv")
        .up("CREATE TABLE conv (id INTEGER PRIMARY KEY, src VARCHAR(1000), i BIGINT, f DOUBLE PRECISION, narrow INTEGER)")
        .down("DROP TABLE conv")
        .write();
}

fn insert_cases(live: &Live) {
    let values: Vec<String> = cases()
        .iter()
        .enumerate()
        .map(|(n, (v, _, _))| {
            let v = v
                .as_deref()
                .map_or("NULL".to_string(), |v| format!("'{v}'"));
            format!("({}, {v})", n + 1)
        })
        .collect();
    live.run_script(&format!(
        "INSERT INTO conv (id, src) VALUES {};\n",
        values.join(", ")
    ));
}

const CONVERT: &str = r#"
[[upgrade]]
op = "convert_type"
table = "conv"
from = "src"
to = "i"
type = "integer"
default = -1
batch_size = 7

[[upgrade]]
op = "convert_type"
table = "conv"
from = "src"
to = "f"
type = "float"
default = -1
"#;

/// Asserts the converted columns against [`cases`].
#[track_caller]
fn assert_converted(live: &Live, how: &str) {
    let cases = cases();
    let ints: Vec<Vec<String>> = cases
        .iter()
        .enumerate()
        .map(|(n, (_, i, _))| vec![(n + 1).to_string(), (*i).to_string()])
        .collect();
    assert_eq!(
        live.rows("SELECT id, i FROM conv ORDER BY id"),
        ints,
        "{:?} {how}: integer",
        live.backend
    );
    // Floats compared in SQL (clients print them differently): the ids
    // whose value is the expected one, which must be all of them.
    let whens: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(n, (_, _, f))| format!("WHEN {} THEN f = {f}", n + 1))
        .collect();
    let ok = live.rows(&format!(
        "SELECT id FROM conv WHERE CASE id {} END ORDER BY id",
        whens.join(" ")
    ));
    let all: Vec<Vec<String>> = (1..=cases.len()).map(|n| vec![n.to_string()]).collect();
    assert_eq!(
        ok,
        all,
        "{:?} {how}: ids whose float is as expected; values: {:?}",
        live.backend,
        live.rows("SELECT id, f FROM conv ORDER BY id")
    );
}

/// Every value of [`cases`] through the `--sql` script (run by the
/// database's client), then online from the same rows; `--dry-run`
/// before changes nothing.
fn convert_type_edges(live: Live) {
    conv_schema(&live);
    data_rev(&live, &format!("downgrade = []\n{CONVERT}"));
    // Offline: the script of a1, the rows, then the script of b1.
    let script = |range: &str| {
        let run = live.retort(&["upgrade", "--sql", range]);
        run.success();
        run.stdout()
    };
    live.run_script(&script("a1"));
    insert_cases(&live);
    let b1 = script("a1:b1");
    assert!(b1.contains("'9223372036854775807'"), "{b1}");
    live.run_script(&b1);
    assert_converted(&live, "--sql");

    // Online, from the same rows: a dry run first, which changes nothing.
    live.retort(&["stamp", "a1"]).success();
    live.run_script("UPDATE conv SET i = NULL, f = NULL;\n");
    let dry = live.retort(&["upgrade", "--dry-run"]);
    dry.success();
    assert!(
        dry.stdout().contains("nothing was changed"),
        "{}",
        dry.stdout()
    );
    assert_eq!(
        live.count("SELECT COUNT(*) FROM conv WHERE i IS NOT NULL OR f IS NOT NULL"),
        0
    );
    live.retort(&["upgrade", "head"]).success();
    assert_converted(&live, "online");
    live.assert_applied(&["a1", "b1"]);
}

/// A value that converts to a 64-bit integer but not into an `INT` column:
/// PostgreSQL and MariaDB refuse it with their own message, and the error
/// names the revision, the step and its line; nothing of the step stays.
/// SQLite's INTEGER is 64-bit: the value is stored.
fn narrow_target_is_the_database_error(live: Live) {
    conv_schema(&live);
    data_rev(
        &live,
        r#"downgrade = []

[[upgrade]]
op = "convert_type"
table = "conv"
from = "src"
to = "narrow"
type = "integer"
default = -1
"#,
    );
    live.retort(&["upgrade", "a1"]).success();
    live.run_script(
        "INSERT INTO conv (id, src) VALUES (1, '12'), (2, 'x'), (3, '9223372036854775807');\n",
    );
    let run = live.retort(&["upgrade", "head"]);
    if live.backend == Backend::Sqlite {
        run.success();
        assert_eq!(
            live.rows("SELECT narrow FROM conv ORDER BY id"),
            [["12"], ["-1"], ["9223372036854775807"]]
        );
        return;
    }
    run.fails_with("revision b1 (")
        .fails_with("upgrade step 1 (line 6, `convert_type`)");
    let said = match live.backend {
        Backend::Postgres => "integer out of range",
        _ => "Out of range value for column 'narrow'",
    };
    assert!(run.stderr.contains(said), "{}", run.stderr);
    assert_eq!(
        live.count("SELECT COUNT(*) FROM conv WHERE narrow IS NOT NULL"),
        0
    );
    let rows = live.version_rows();
    let b1 = rows.iter().find(|r| r.version == "b1").unwrap();
    assert_eq!(b1.state, "failed");
    assert!(b1.error.contains(said), "{}", b1.error);
}

per_backend!(convert_type_edges, narrow_target_is_the_database_error);
