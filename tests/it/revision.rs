//! `retort revision` and `retort merge` write revision files that load back
//! (design §4, §9; alembic-semantics §9 "revision", "merge").

use crate::support::Project;

/// The one file of `dir` that is not in `before`.
fn new_file(p: &Project, dir: &str, before: &[String]) -> String {
    let added: Vec<String> = p
        .files_in(dir)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(
        added.len(),
        1,
        "expected one new file in {dir}, got {added:?}"
    );
    added.into_iter().next().unwrap()
}

/// The id of a file named `<id>_<slug>.<ext>`.
fn id_of(file: &str) -> &str {
    file.split('_').next().unwrap()
}

/// Lines of a TOML file that start with `key` (so commented ones are not).
fn toml_lines<'a>(content: &'a str, key: &str) -> Vec<&'a str> {
    content
        .lines()
        .filter(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with('='))
        .collect()
}

#[test]
fn revision_writes_a_parsable_file_and_heads_shows_it() {
    let p = Project::new();
    p.retort(&["revision", "-m", "add account table"]).success();

    // Id: 12 lowercase hex (Alembic's `uuid4().hex[-12:]`); name
    // `<id>_<slug>.toml` (the config's default format is toml).
    let file = new_file(&p, "migrations/schema", &[]);
    let id = id_of(&file).to_string();
    assert_eq!(id.len(), 12, "{file}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{file}"
    );
    assert_eq!(file, format!("{id}_add_account_table.toml"));

    let content = p.read(&format!("migrations/schema/{file}"));
    assert_eq!(
        toml_lines(&content, "revision"),
        [format!("revision = \"{id}\"")]
    );
    assert!(
        toml_lines(&content, "down_revision").is_empty(),
        "a base has no parent:\n{content}"
    );
    assert!(content.contains("add account table"), "{content}");

    // `heads`: `<rev> (head)` (cmd_format with head indicators).
    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, format!("{id} (head)\n"));
}

#[test]
fn the_next_revision_follows_the_head() {
    let p = Project::new();
    p.retort(&[
        "revision",
        "-m",
        "add account table",
        "--rev-id",
        "a1a1a1a1a1a1",
    ])
    .success();
    p.retort(&["revision", "-m", "second", "--rev-id", "b2b2b2b2b2b2"])
        .success();

    let content = p.read("migrations/schema/b2b2b2b2b2b2_second.toml");
    assert_eq!(
        toml_lines(&content, "down_revision"),
        ["down_revision = \"a1a1a1a1a1a1\""]
    );

    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, "b2b2b2b2b2b2 (head)\n");

    // history, newest first: `<parents> -> <rev>[ (head)], <message>`.
    let history = p.retort(&["history"]);
    history.success();
    assert_eq!(
        history.stdout,
        "a1a1a1a1a1a1 -> b2b2b2b2b2b2 (head), second\n\
         <base> -> a1a1a1a1a1a1, add account table\n"
    );
}

#[test]
fn revision_in_sql_format() {
    let p = Project::new();
    p.retort(&[
        "revision",
        "-m",
        "raw sql",
        "--rev-id",
        "c3c3c3c3c3c3",
        "--format",
        "sql",
    ])
    .success();
    assert_eq!(
        p.files_in("migrations/schema"),
        ["c3c3c3c3c3c3_raw_sql.sql"]
    );
    let content = p.read("migrations/schema/c3c3c3c3c3c3_raw_sql.sql");
    // The header and section markers of design §4.2.
    assert!(content.contains("-- revision: c3c3c3c3c3c3"), "{content}");
    assert!(content.contains("-- migrate:upgrade"), "{content}");
    assert!(content.contains("-- migrate:downgrade"), "{content}");
    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, "c3c3c3c3c3c3 (head)\n");
}

#[test]
fn rev_id_with_a_dash_is_refused() {
    let p = Project::new();
    // alembic-semantics §10: the exact Alembic text; exit 1 (design §9).
    p.retort(&["revision", "-m", "x", "--rev-id", "bad-id"])
        .fails_with("Character(s) '-' not allowed in revision identifier 'bad-id'");
    assert!(
        p.files_in("migrations/schema").is_empty(),
        "no file is written"
    );
}

/// aaa111 ← bbb222 ← {ccc333, ddd444}: two heads.
fn two_heads() -> Project {
    let p = Project::new();
    p.rev("aaa111").message("first").write();
    p.rev("bbb222").parent("aaa111").message("second").write();
    p.rev("ccc333").parent("bbb222").message("left").write();
    p.rev("ddd444").parent("bbb222").message("right").write();
    p
}

#[test]
fn revision_with_several_heads_is_refused() {
    let p = two_heads();
    let before = p.files_in("migrations/schema");
    // alembic-semantics §9/§10: `--head` defaults to `head`, which is
    // ambiguous with two heads.
    p.retort(&["revision", "-m", "third"]).fails_with(
        "Multiple heads are present; please specify the head revision on which the new \
         revision should be based, or perform a merge.",
    );
    assert_eq!(p.files_in("migrations/schema"), before);

    // Naming the head works.
    p.retort(&[
        "revision", "-m", "third", "--head", "ddd444", "--rev-id", "eee555",
    ])
    .success();
    let content = p.read("migrations/schema/eee555_third.toml");
    assert_eq!(
        toml_lines(&content, "down_revision"),
        ["down_revision = \"ddd444\""]
    );
}

#[test]
fn revision_on_a_non_head_needs_splice() {
    let p = two_heads();
    p.retort(&["revision", "-m", "x", "--head", "aaa111"])
        .fails_with(
            "Revision aaa111 is not a head revision; please specify --splice to create a new \
         branch from this revision",
        );
}

#[test]
fn merge_heads_joins_the_heads() {
    let p = two_heads();
    let before = p.files_in("migrations/schema");
    p.retort(&["merge", "heads", "-m", "merge branches"])
        .success();

    let file = new_file(&p, "migrations/schema", &before);
    let id = id_of(&file).to_string();
    assert!(file.ends_with("_merge_branches.toml"), "{file}");
    // down_revision is the heads in load order (alembic-semantics §9
    // "merge"): ccc333 before ddd444.
    let content = p.read(&format!("migrations/schema/{file}"));
    let down = toml_lines(&content, "down_revision");
    assert_eq!(down.len(), 1, "{content}");
    let (c, d) = (down[0].find("\"ccc333\""), down[0].find("\"ddd444\""));
    assert!(c.is_some() && d.is_some() && c < d, "{content}");

    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, format!("{id} (head)\n"));

    // Now `revision` has one parent again: the merge.
    p.retort(&["revision", "-m", "after", "--rev-id", "fff666"])
        .success();
    let content = p.read("migrations/schema/fff666_after.toml");
    assert_eq!(
        toml_lines(&content, "down_revision"),
        [format!("down_revision = \"{id}\"")]
    );
}

#[test]
fn merge_of_the_same_head_twice_is_refused() {
    let p = two_heads();
    p.retort(&["merge", "ccc333", "ccc333", "-m", "m"])
        .fails_with("Duplicate head revisions specified");
}

#[test]
fn revision_in_another_lane_with_depends_on() {
    let p = Project::with_lanes(&[("schema", "migrations/schema"), ("data", "migrations/data")]);
    p.rev("5c5c5c5c5c5c").message("add status").write();
    // `--lane data` writes into migrations/data; the data lane is empty, so
    // the new revision is its base. `--depends-on 5c5c` is a unique prefix:
    // it is expanded to the full id (alembic-semantics §9 "revision").
    p.retort(&[
        "revision",
        "-m",
        "backfill status",
        "--lane",
        "data",
        "--depends-on",
        "5c5c",
        "--rev-id",
        "d7d7d7d7d7d7",
    ])
    .success();
    assert_eq!(
        p.files_in("migrations/data"),
        ["d7d7d7d7d7d7_backfill_status.toml"]
    );
    let content = p.read("migrations/data/d7d7d7d7d7d7_backfill_status.toml");
    assert!(
        toml_lines(&content, "down_revision").is_empty(),
        "{content}"
    );
    let deps = toml_lines(&content, "depends_on");
    assert_eq!(deps.len(), 1, "{content}");
    assert!(deps[0].contains("\"5c5c5c5c5c5c\""), "{content}");

    // heads: one per lane, load order (schema lane first). 5c5c… is a
    // versioned head that d7d7… depends on: `(effective head)`.
    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(
        heads.stdout,
        "5c5c5c5c5c5c (effective head)\nd7d7d7d7d7d7 (head)\n"
    );
}
