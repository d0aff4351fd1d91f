//! Errors: parse and validation errors name the file (and line), Alembic's
//! texts are kept (alembic-semantics §10), and exit codes are 1 for a
//! reported failure, 2 for usage errors (design §9).

use crate::support::Project;

#[test]
fn a_toml_syntax_error_names_file_and_line() {
    let p = Project::new();
    // Line 3 has no value.
    p.file(
        "migrations/schema/aaa111_broken.toml",
        "revision = \"aaa111\"\nmessage = \"broken\"\ndown_revision =\n",
    );
    let run = p.retort(&["heads"]);
    run.code(1);
    let err = run.stderr();
    assert!(err.contains("aaa111_broken.toml"), "{err}");
    assert!(
        err.contains("line 3") || err.contains(":3"),
        "names line 3: {err}"
    );
}

#[test]
fn a_toml_step_without_op_names_file_and_line() {
    let p = Project::new();
    // The [[upgrade]] table on line 4 lacks `op`.
    p.file(
        "migrations/schema/aaa111_no_op.toml",
        "revision = \"aaa111\"\nmessage = \"no op\"\n\n[[upgrade]]\nsql = \"SELECT 1\"\n",
    );
    let run = p.retort(&["heads"]);
    run.code(1);
    let err = run.stderr();
    assert!(err.contains("aaa111_no_op.toml"), "{err}");
    assert!(err.contains("op"), "says what was expected: {err}");
}

#[test]
fn a_sql_header_error_names_file_and_line() {
    let p = Project::new();
    // Line 3: `transactional` must be true or false.
    p.file(
        "migrations/schema/aaa111_bad_header.sql",
        "-- revision: aaa111\n-- message: bad header\n-- transactional: maybe\n\n\
         -- migrate:upgrade\nSELECT 1;\n\n-- migrate:downgrade\n",
    );
    let run = p.retort(&["heads"]);
    run.code(1);
    let err = run.stderr();
    assert!(err.contains("aaa111_bad_header.sql"), "{err}");
    assert!(
        err.contains("line 3") || err.contains(":3"),
        "names line 3: {err}"
    );
}

#[test]
fn a_missing_parent_names_the_file() {
    let p = Project::new();
    p.rev("aaa111").parent("nothere").message("orphan").write();
    let run = p.retort(&["heads"]);
    run.code(1);
    let err = run.stderr();
    assert!(
        err.contains("aaa111_orphan.toml") && err.contains("nothere"),
        "{err}"
    );
}

#[test]
fn duplicate_ids_name_both_files() {
    let p = Project::new();
    p.rev("aaa111").message("one").write();
    p.rev("aaa111").message("two").write();
    let run = p.retort(&["heads"]);
    run.code(1);
    let err = run.stderr();
    assert!(
        err.contains("aaa111_one.toml") && err.contains("aaa111_two.toml"),
        "{err}"
    );
}

#[test]
fn a_down_revision_across_lanes_is_refused() {
    // design §4: down_revision links stay inside one lane.
    let p = Project::with_lanes(&[("schema", "migrations/schema"), ("data", "migrations/data")]);
    p.rev("aaa111").message("schema base").write();
    p.rev("bbb222")
        .lane("data")
        .parent("aaa111")
        .message("crosses")
        .write();
    let run = p.retort(&["heads"]);
    run.code(1);
    assert!(run.stderr.contains("bbb222_crosses.toml"), "{}", run.stderr);
}

#[test]
fn an_unknown_target() {
    let p = Project::new();
    p.rev("aaa111").message("a").write();
    // The CLI text for unknown ids, prefixes and labels (semantics §2.1).
    p.retort(&["upgrade", "--sql", "zzzz"])
        .fails_with("Can't locate revision identified by 'zzzz'");
    p.retort(&["show", "zzzz"])
        .fails_with("Can't locate revision identified by 'zzzz'");
}

#[test]
fn history_range_needs_a_colon() {
    let p = Project::new();
    p.rev("aaa111").message("a").write();
    p.retort(&["history", "-r", "aaa111"])
        .fails_with("History range requires [start]:[end], [start]:, or :[end]");
}

#[test]
fn relative_past_the_end() {
    let p = Project::new();
    p.rev("aaa111").message("a").write();
    // Offline, `upgrade --sql +2` starts from base: one revision only.
    p.retort(&["upgrade", "--sql", "+2"])
        .fails_with("Relative revision +2 didn't produce 2 migrations");
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.retort(&["frobnicate"]).code(2);
    p.retort(&["upgrade", "--no-such-flag"]).code(2);
    // downgrade's TARGET is required (design §9).
    p.retort(&["downgrade"]).code(2);
}

#[test]
fn a_missing_config_file_is_named() {
    // `-c FILE` that does not exist: exit 1, naming the file.
    let p = Project::new();
    let run = p.retort(&["-c", "nowhere.toml", "heads"]);
    run.code(1);
    assert!(run.stderr.contains("nowhere.toml"), "{}", run.stderr);
}

#[test]
fn help_and_version_succeed() {
    let p = Project::empty();
    let help = p.retort(&["--help"]);
    help.success();
    for command in [
        "init",
        "revision",
        "merge",
        "upgrade",
        "downgrade",
        "heads",
        "history",
        "show",
    ] {
        assert!(
            help.stdout.contains(command),
            "--help lists {command}:\n{}",
            help.stdout
        );
    }
    let version = p.retort(&["--version"]);
    version.success();
    assert!(version.stdout.starts_with("retort "), "{}", version.stdout);
}
