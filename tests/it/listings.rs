//! `heads`, `history`, `branches` and `show` on a branch + merge graph, in
//! Alembic's formats (alembic-semantics §9; `Script.cmd_format` and
//! `Script.log_entry`). Single lane, so retort must print exactly what
//! Alembic prints (design §6).
//!
//! The graph, files loaded in this order:
//!
//! ```text
//! aaa111 ← bbb222 ← ccc333 ←──────── eee555 (merge of ccc333, ddd444)
//!                 ↖ ddd444 [feature] ↙
//! ```
//!
//! Derivations used below:
//! - heads: eee555 is the only versioned head. Its labels: `feature` is
//!   declared on ddd444 and propagates to its descendants (eee555); the
//!   walk back down from the last descendant stops at once because eee555 is
//!   a merge point, so bbb222 and aaa111 get no label (semantics §1).
//! - history order: the §5 sort from heads [eee555]: emit eee555; open
//!   heads become [ccc333, ddd444]; ccc333 is no ancestor of ddd444, emit
//!   it, open [bbb222, ddd444]; bbb222 is an ancestor of ddd444, so switch
//!   to ddd444 and emit it; then bbb222, aaa111. Newest first:
//!   eee555, ccc333, ddd444, bbb222, aaa111.

use crate::support::{assert_snapshot, Project};

/// aaa111 ← bbb222 ← ccc333, and ddd444 [feature] on bbb222: two heads.
pub fn before_merge() -> Project {
    let p = Project::new();
    p.rev("aaa111")
        .message("create accounts")
        .up("CREATE TABLE account (id INTEGER PRIMARY KEY)")
        .down("DROP TABLE account")
        .write();
    p.rev("bbb222")
        .parent("aaa111")
        .message("add email")
        .up("ALTER TABLE account ADD COLUMN email TEXT")
        .down("ALTER TABLE account DROP COLUMN email")
        .write();
    p.rev("ccc333")
        .parent("bbb222")
        .message("left branch")
        .up("CREATE TABLE l (id INTEGER)")
        .down("DROP TABLE l")
        .write();
    p.rev("ddd444")
        .parent("bbb222")
        .label("feature")
        .message("right branch")
        .up("CREATE TABLE r (id INTEGER)")
        .down("DROP TABLE r")
        .write();
    p
}

/// The graph of this module: [`before_merge`] plus the merge eee555.
pub fn branch_merge() -> Project {
    let p = before_merge();
    p.rev("eee555")
        .parents(&["ccc333", "ddd444"])
        .message("merge branches")
        .write();
    p
}

#[test]
fn heads_with_two_heads() {
    // Load order; labels in parentheses; both are real heads.
    let run = before_merge().retort(&["heads"]);
    run.success();
    assert_eq!(run.stdout, "ccc333 (head)\nddd444 (feature) (head)\n");
}

#[test]
fn heads_after_the_merge() {
    let run = branch_merge().retort(&["heads"]);
    run.success();
    // `heads` prints no tree indicators (no `(mergepoint)`).
    assert_eq!(run.stdout, "eee555 (feature) (head)\n");
}

#[test]
fn history_of_branch_and_merge() {
    // Line format: `<parents or <base>> -> <rev>[ (labels)][ (head)]
    // [ (branchpoint)][ (mergepoint)], <message>`; order derived above.
    let run = branch_merge().retort(&["history"]);
    run.success();
    assert_snapshot("history_branch_merge", &run.stdout());
}

#[test]
fn history_range_from_the_branch_point() {
    // `-r bbb222:` = bbb222 and everything above it up to the heads,
    // inclusive; same order as the full history.
    let run = branch_merge().retort(&["history", "-r", "bbb222:"]);
    run.success();
    assert_eq!(
        run.stdout,
        "ccc333, ddd444 -> eee555 (feature) (head) (mergepoint), merge branches\n\
         bbb222 -> ccc333, left branch\n\
         bbb222 -> ddd444 (feature), right branch\n\
         aaa111 -> bbb222 (branchpoint), add email\n"
    );
}

#[test]
fn branches_lists_the_branch_point_and_its_children() {
    // `<rev> (branchpoint)`, then per child `' ' * len(rev) + ' -> ' +
    // summary`, then a blank line (Alembic prints "%s\n%s\n" + newline).
    let run = branch_merge().retort(&["branches"]);
    run.success();
    assert_snapshot("branches_branch_merge", &run.stdout());
}

#[test]
fn show_a_merge_point() {
    // log_entry: `Rev:` with (head)/(mergepoint), `Merges:` for a merge,
    // `Branch names:`, `Path:`, a blank line, the message indented by 4,
    // and the blank line print_stdout adds.
    let run = branch_merge().retort(&["show", "eee555"]);
    run.success();
    assert_snapshot("show_merge_point", &run.stdout());
}

#[test]
fn show_a_branch_point() {
    // `Parent:` for one parent; `Branches into:` the versioned children.
    let run = branch_merge().retort(&["show", "bbb222"]);
    run.success();
    assert_snapshot("show_branch_point", &run.stdout());
}

#[test]
fn show_resolves_prefixes_and_labels() {
    // `show feature@head` = the head of the label's lineage = eee555; a
    // unique prefix of 4 characters resolves too (semantics §2.1).
    let p = branch_merge();
    let by_label = p.retort(&["show", "feature@head"]);
    by_label.success();
    let by_prefix = p.retort(&["show", "eee5"]);
    by_prefix.success();
    assert_eq!(by_label.stdout, by_prefix.stdout);
    assert!(
        by_label
            .stdout
            .starts_with("Rev: eee555 (head) (mergepoint)\n"),
        "{}",
        by_label.stdout
    );
}

#[test]
fn show_head_with_two_heads_is_ambiguous() {
    before_merge().retort(&["show", "head"]).fails_with(
        "Multiple head revisions are present for given argument 'head'; please specify a \
         specific target revision, '<branchname>@head' to narrow to a specific head, or \
         'heads' for all heads",
    );
}
