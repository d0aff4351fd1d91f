//! What listing commands print, as pure functions over small "view" structs
//! filled from the graph. The text forms are Alembic's (`Script.cmd_format`,
//! `Script.log_entry`, the `heads`/`branches`/`history`/`show` commands),
//! plus a `Lane:` line in verbose entries (design §6: verbose forms name each
//! revision's lane).
//!
//! # Text forms
//!
//! - short line: `<rev>[ (<labels>)][ (head)| (effective head)][ (current)]
//!   [ (branchpoint)][ (mergepoint)]`, preceded by `<parents or <base>>[
//!   (<depends_on>)] -> ` in `history` and followed by `, <message>` where
//!   Alembic includes the doc; labels are sorted and joined with `, `;
//! - verbose entry:
//!   ```text
//!   Rev: <rev>[ (head)][ (branchpoint)][ (mergepoint)][ (current)]
//!   Parent: <parents or <base>>        (Merges: for a merge point)
//!   Also depends on: <depends_on>      (if any)
//!   Branches into: <children>          (branch points)
//!   Branch names: <labels>             (if any)
//!   Lane: <lane>
//!   Path: <path>
//!
//!       <message lines>
//!
//!       Revision ID: <rev>
//!       Revises: <parents>
//!       Create Date: <created>         (if known)
//!   ```
//!   followed by a blank line (Alembic prints the entry, which ends in a
//!   newline, with `print`). retort files have no docstring, so the indented
//!   block is what Alembic's revision template would have put there.
//!
//! # JSON (`--format json`)
//!
//! Every listing prints one JSON array (followed by a newline) of revision
//! objects; `branches` lists the branch points, `show base` prints `[]`:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `revision` | string | the id |
//! | `down_revisions` | array of strings | parents (empty for a base) |
//! | `branch_labels` | array of strings | labels after propagation, sorted |
//! | `depends_on` | array of strings | as written in the file |
//! | `lane` | string | the lane |
//! | `message` | string | the full message |
//! | `path` | string | the revision file |
//! | `is_head` | bool | versioned head (no `down_revision` child) |
//! | `is_effective_head` | bool | a versioned head that another revision depends on |
//! | `is_branch_point` | bool | more than one versioned child |
//! | `is_merge_point` | bool | more than one parent |
//! | `children` | array of strings | versioned children, load order |
//! | `created` | string or null | RFC 3339 UTC timestamp |

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::graph::Graph;
use crate::revision::Revision;

/// One revision as listings see it: the file's fields plus its place in the
/// graph. Borrows from the graph (listings of 5,000 revisions otherwise spend
/// much of their time copying strings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionView<'a> {
    /// The id.
    pub revision: &'a str,
    /// Parents, in file order (empty for a base).
    pub down_revisions: Vec<&'a str>,
    /// Branch labels after propagation, sorted.
    pub branch_labels: Vec<&'a str>,
    /// `depends_on` as written in the file.
    pub depends_on: Vec<&'a str>,
    /// The lane.
    pub lane: &'a str,
    /// The message.
    pub message: &'a str,
    /// The revision file, as the graph holds it.
    pub path: Cow<'a, str>,
    /// Versioned head.
    pub is_head: bool,
    /// Versioned head that another revision depends on.
    pub is_effective_head: bool,
    /// More than one versioned child.
    pub is_branch_point: bool,
    /// More than one parent.
    pub is_merge_point: bool,
    /// Versioned children, load order.
    pub children: Vec<&'a str>,
    /// Creation time, when the file says.
    pub created: Option<DateTime<Utc>>,
    /// Whether the database is at this revision (`history -i`); not in JSON.
    #[serde(skip)]
    pub current: bool,
}

impl<'a> RevisionView<'a> {
    /// The view of `rev`, a revision of `graph`.
    pub fn from_graph(graph: &'a Graph, rev: &'a Revision) -> RevisionView<'a> {
        let id = rev.id.as_str();
        RevisionView {
            revision: id,
            down_revisions: rev.down_revisions.iter().map(String::as_str).collect(),
            // Sorted and distinct already (see `Graph::label_names`).
            branch_labels: graph.label_names(id).collect(),
            depends_on: rev.depends_on.iter().map(String::as_str).collect(),
            lane: &rev.lane,
            message: &rev.message,
            path: rev.path.to_string_lossy(),
            is_head: graph.is_head(id),
            is_effective_head: graph.is_effective_head(id),
            is_branch_point: graph.is_branch_point(id),
            is_merge_point: graph.is_merge_point(id),
            children: graph
                .children(id)
                .into_iter()
                .map(|child| child.id.as_str())
                .collect(),
            created: rev.created,
            current: false,
        }
    }

    /// Views of several revisions, in the given order.
    pub fn many(graph: &'a Graph, revs: &[&'a Revision]) -> Vec<RevisionView<'a>> {
        revs.iter()
            .map(|rev| RevisionView::from_graph(graph, rev))
            .collect()
    }

    /// The doc Alembic prints on short lines: the message's first paragraph.
    fn doc(&self) -> &'a str {
        let message = self.message.trim();
        message.split("\n\n").next().unwrap_or(message)
    }

    /// Appends `<parents joined by ", ">` or `<base>`.
    fn push_parents(&self, out: &mut String) {
        if self.down_revisions.is_empty() {
            out.push_str("<base>");
        } else {
            push_joined(out, &self.down_revisions);
        }
    }

    /// A real head: versioned head that nothing depends on.
    fn is_real_head(&self) -> bool {
        self.is_head && !self.is_effective_head
    }
}

/// Appends `items` joined by `, `.
fn push_joined(out: &mut String, items: &[&str]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
}

/// What a short line includes (Alembic's `_head_only` switches).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineParts {
    /// `(labels)` after the id.
    pub labels: bool,
    /// `, <message>` at the end.
    pub doc: bool,
    /// `<parents> -> ` before the id.
    pub parents: bool,
    /// `(branchpoint)` / `(mergepoint)`.
    pub tree: bool,
}

/// Appends the short line of `view` (Alembic's `cmd_format(False, …)`)
/// to `text`, without newline.
fn push_short_line(text: &mut String, view: &RevisionView, parts: LineParts) {
    if parts.parents {
        view.push_parents(text);
        if !view.depends_on.is_empty() {
            text.push_str(" (");
            push_joined(text, &view.depends_on);
            text.push(')');
        }
        text.push_str(" -> ");
    }
    text.push_str(view.revision);
    if parts.labels && !view.branch_labels.is_empty() {
        text.push_str(" (");
        push_joined(text, &view.branch_labels);
        text.push(')');
    }
    if view.is_real_head() {
        text.push_str(" (head)");
    }
    if view.is_effective_head {
        text.push_str(" (effective head)");
    }
    if view.current {
        text.push_str(" (current)");
    }
    if parts.tree {
        push_tree_markers(text, view);
    }
    if parts.doc {
        text.push_str(", ");
        text.push_str(view.doc());
    }
}

fn push_tree_markers(text: &mut String, view: &RevisionView) {
    if view.is_branch_point {
        text.push_str(" (branchpoint)");
    }
    if view.is_merge_point {
        text.push_str(" (mergepoint)");
    }
}

/// The verbose entry (Alembic's `log_entry` plus `Lane:`), ending in a
/// newline.
pub fn log_entry(view: &RevisionView) -> String {
    let mut entry = String::new();
    push_log_entry(&mut entry, view);
    entry
}

/// Appends the verbose entry of `view` to `entry`.
fn push_log_entry(entry: &mut String, view: &RevisionView) {
    entry.push_str("Rev: ");
    entry.push_str(view.revision);
    if view.is_head {
        entry.push_str(" (head)");
    }
    push_tree_markers(entry, view);
    if view.current {
        entry.push_str(" (current)");
    }
    entry.push('\n');
    entry.push_str(if view.is_merge_point {
        "Merges: "
    } else {
        "Parent: "
    });
    view.push_parents(entry);
    entry.push('\n');
    if !view.depends_on.is_empty() {
        entry.push_str("Also depends on: ");
        push_joined(entry, &view.depends_on);
        entry.push('\n');
    }
    if view.is_branch_point {
        entry.push_str("Branches into: ");
        push_joined(entry, &view.children);
        entry.push('\n');
    }
    if !view.branch_labels.is_empty() {
        entry.push_str("Branch names: ");
        push_joined(entry, &view.branch_labels);
        entry.push('\n');
    }
    let _ = writeln!(entry, "Lane: {}", view.lane);
    let _ = writeln!(entry, "Path: {}", view.path);
    entry.push('\n');
    for (i, line) in long_doc(view).lines().enumerate() {
        if i > 0 {
            entry.push('\n');
        }
        entry.push_str("    ");
        entry.push_str(line);
    }
    entry.push('\n');
}

/// The text Alembic's revision template puts in the docstring: message,
/// blank line, `Revision ID`, `Revises`, `Create Date`.
fn long_doc(view: &RevisionView) -> String {
    let mut doc = format!(
        "{}\n\nRevision ID: {}\nRevises: {}",
        view.message.trim(),
        view.revision,
        view.down_revisions.join(", ")
    );
    if let Some(created) = view.created {
        let _ = write!(
            doc,
            "\nCreate Date: {}",
            created.format("%Y-%m-%d %H:%M:%S%.f")
        );
    }
    doc
}

/// Appends a short line or, when `verbose`, the verbose entry; then a
/// newline.
fn push_line_or_entry(out: &mut String, view: &RevisionView, verbose: bool, parts: LineParts) {
    if verbose {
        push_log_entry(out, view);
    } else {
        push_short_line(out, view, parts);
    }
    out.push('\n');
}

/// `retort heads [-v]`: `<rev> (<labels>) (head)` per head.
pub fn format_heads(heads: &[RevisionView], verbose: bool) -> String {
    let parts = LineParts {
        labels: true,
        ..LineParts::default()
    };
    let mut out = String::new();
    for view in heads {
        push_line_or_entry(&mut out, view, verbose, parts);
    }
    out
}

/// One branch point with its children, as `branches` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchView<'a> {
    /// The branch point.
    pub point: RevisionView<'a>,
    /// Its versioned children, load order.
    pub children: Vec<RevisionView<'a>>,
}

/// `retort branches [-v]`: the branch point, one `   -> child` line per
/// child, then a blank line.
pub fn format_branches(points: &[BranchView], verbose: bool) -> String {
    let head_parts = LineParts {
        labels: true,
        tree: true,
        ..LineParts::default()
    };
    let child_parts = LineParts {
        labels: true,
        doc: verbose,
        tree: true,
        ..LineParts::default()
    };
    let mut out = String::new();
    for branch in points {
        if verbose {
            push_log_entry(&mut out, &branch.point);
        } else {
            push_short_line(&mut out, &branch.point, head_parts);
        }
        out.push('\n');
        let indent = " ".repeat(branch.point.revision.chars().count());
        for (i, child) in branch.children.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&indent);
            out.push_str(" -> ");
            push_short_line(&mut out, child, child_parts);
        }
        out.push_str("\n\n");
    }
    out
}

/// `retort history [-v]`: one line (or entry) per revision, in the order
/// given (newest first).
pub fn format_history(revisions: &[RevisionView], verbose: bool) -> String {
    let parts = LineParts {
        labels: true,
        doc: true,
        parents: true,
        tree: true,
    };
    let mut out = String::with_capacity(revisions.len() * 64);
    for view in revisions {
        push_line_or_entry(&mut out, view, verbose, parts);
    }
    out
}

/// `retort current [-v]`: one line per current head, `<rev>[ (head)|
/// (effective head)][ (branchpoint)][ (mergepoint)]`; with `-v` the header
/// `Current revision(s) for <url>:` and the verbose entries (Alembic's
/// `current`). `url` must be redacted.
pub fn format_current(revisions: &[RevisionView], verbose: bool, url: &str) -> String {
    let parts = LineParts {
        tree: true,
        ..LineParts::default()
    };
    let mut out = String::new();
    if verbose {
        let _ = writeln!(out, "Current revision(s) for {url}:");
    }
    for view in revisions {
        push_line_or_entry(&mut out, view, verbose, parts);
    }
    out
}

/// `retort show REV`: the verbose entry of each revision.
pub fn format_show(revisions: &[RevisionView]) -> String {
    let mut out = String::new();
    for view in revisions {
        push_log_entry(&mut out, view);
        out.push('\n');
    }
    out
}

/// The JSON array of revision objects (schema in the module docs), with a
/// trailing newline.
///
/// # Errors
/// Only if serialisation fails, which plain data cannot make it do.
pub fn format_json(revisions: &[RevisionView]) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(revisions)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A hand-built view: a base unless parents are given.
    fn view(
        id: &'static str,
        parents: &[&'static str],
        message: &'static str,
    ) -> RevisionView<'static> {
        RevisionView {
            revision: id,
            down_revisions: parents.to_vec(),
            branch_labels: vec![],
            depends_on: vec![],
            lane: "schema",
            message,
            path: Cow::Owned(format!("migrations/schema/{id}_x.toml")),
            is_head: false,
            is_effective_head: false,
            is_branch_point: false,
            is_merge_point: parents.len() > 1,
            children: vec![],
            created: None,
            current: false,
        }
    }

    fn head(mut v: RevisionView<'static>) -> RevisionView<'static> {
        v.is_head = true;
        v
    }

    #[test]
    fn heads_line_has_labels_and_head_marker() {
        let mut a = head(view("ae1027a6acf0", &["1975ea83b712"], "add account"));
        a.branch_labels = vec!["billing", "accounts"];
        a.branch_labels.sort();
        // tree markers are not part of `heads` lines, even on a merge point
        a.is_merge_point = true;
        let mut e = head(view("27c6a30d7c24", &[], "x"));
        e.is_effective_head = true;
        assert_eq!(
            format_heads(&[a, e], false),
            "ae1027a6acf0 (accounts, billing) (head)\n27c6a30d7c24 (effective head)\n"
        );
    }

    #[test]
    fn history_lines_alembic_form() {
        let mut c = head(view("c3", &["b2"], "third"));
        c.depends_on = vec!["d9", "billing"];
        let mut b = view("b2", &["a1"], "second");
        b.is_branch_point = true;
        b.children = vec!["c3", "c4"];
        let mut m = head(view("m5", &["c3", "c4"], "merge\n\nmore text"));
        m.branch_labels = vec!["x"];
        let a = view("a1", &[], "first");
        assert_eq!(
            format_history(&[m, c, b, a], false),
            "c3, c4 -> m5 (x) (head) (mergepoint), merge\n\
             b2 (d9, billing) -> c3 (head), third\n\
             a1 -> b2 (branchpoint), second\n\
             <base> -> a1, first\n"
        );
    }

    #[test]
    fn history_current_marker_sits_after_head() {
        let mut a = head(view("a1", &[], "first"));
        a.current = true;
        a.is_branch_point = true;
        assert_eq!(
            format_history(&[a], false),
            "<base> -> a1 (head) (current) (branchpoint), first\n"
        );
    }

    #[test]
    fn verbose_entry_names_lane_and_synthesises_docstring() {
        let mut b = head(view("b2", &["a1"], "add account"));
        b.depends_on = vec!["d9"];
        b.branch_labels = vec!["billing"];
        b.lane = "data";
        b.created = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single();
        assert_eq!(
            format_show(&[b]),
            "Rev: b2 (head)\n\
             Parent: a1\n\
             Also depends on: d9\n\
             Branch names: billing\n\
             Lane: data\n\
             Path: migrations/schema/b2_x.toml\n\
             \n\
             \x20   add account\n\
             \x20   \n\
             \x20   Revision ID: b2\n\
             \x20   Revises: a1\n\
             \x20   Create Date: 2026-11-23 12:00:00\n\
             \n"
        );
    }

    #[test]
    fn verbose_entry_of_merge_and_branch_point() {
        let mut m = view("m5", &["c3", "c4"], "merge");
        m.is_branch_point = true;
        m.children = vec!["x1", "y2"];
        let entry = log_entry(&m);
        assert!(entry.starts_with(
            "Rev: m5 (branchpoint) (mergepoint)\nMerges: c3, c4\nBranches into: x1, y2\nLane: schema\n"
        ));
        assert!(entry.ends_with("    Revision ID: m5\n    Revises: c3, c4\n"));
    }

    #[test]
    fn verbose_head_marker_uses_versioned_heads() {
        let mut e = head(view("e1", &[], "x"));
        e.is_effective_head = true;
        assert!(log_entry(&e).starts_with("Rev: e1 (head)\nParent: <base>\n"));
    }

    #[test]
    fn branches_block() {
        let mut a = view("a1", &[], "first");
        a.is_branch_point = true;
        a.children = vec!["b2", "c3"];
        a.branch_labels = vec!["main"];
        let b = head(view("b2", &["a1"], "left"));
        let mut c = view("c3", &["a1"], "right");
        c.branch_labels = vec!["side"];
        let branch = BranchView {
            point: a,
            children: vec![b, c],
        };
        assert_eq!(
            format_branches(std::slice::from_ref(&branch), false),
            "a1 (main) (branchpoint)\n   -> b2 (head)\n   -> c3 (side)\n\n"
        );
        assert_eq!(
            format_branches(&[branch], true)
                .lines()
                .filter(|l| l.starts_with("   -> "))
                .collect::<Vec<_>>(),
            vec!["   -> b2 (head), left", "   -> c3 (side), right"]
        );
    }

    #[test]
    fn empty_listings_print_nothing() {
        assert_eq!(format_heads(&[], false), "");
        assert_eq!(format_history(&[], true), "");
        assert_eq!(format_show(&[]), "");
        assert_eq!(format_branches(&[], false), "");
    }

    #[test]
    fn json_schema() {
        let mut b = head(view("b2", &["a1"], "add account"));
        b.created = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single();
        b.current = true;
        let text = format_json(&[b]).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let object = &value[0];
        let mut keys: Vec<&str> = object
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "branch_labels",
                "children",
                "created",
                "depends_on",
                "down_revisions",
                "is_branch_point",
                "is_effective_head",
                "is_head",
                "is_merge_point",
                "lane",
                "message",
                "path",
                "revision",
            ]
        );
        assert_eq!(object["created"], "2026-11-23T12:00:00Z");
        assert_eq!(object["down_revisions"][0], "a1");
        assert_eq!(object["is_head"], true);
        assert_eq!(format_json(&[]).unwrap_or_default(), "[]\n");
    }
}
