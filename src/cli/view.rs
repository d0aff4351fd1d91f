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

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::graph::Graph;
use crate::revision::Revision;

/// One revision as listings see it: the file's fields plus its place in the
/// graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionView {
    /// The id.
    pub revision: String,
    /// Parents, in file order (empty for a base).
    pub down_revisions: Vec<String>,
    /// Branch labels after propagation, sorted.
    pub branch_labels: Vec<String>,
    /// `depends_on` as written in the file.
    pub depends_on: Vec<String>,
    /// The lane.
    pub lane: String,
    /// The message.
    pub message: String,
    /// The revision file, as the graph holds it.
    pub path: String,
    /// Versioned head.
    pub is_head: bool,
    /// Versioned head that another revision depends on.
    pub is_effective_head: bool,
    /// More than one versioned child.
    pub is_branch_point: bool,
    /// More than one parent.
    pub is_merge_point: bool,
    /// Versioned children, load order.
    pub children: Vec<String>,
    /// Creation time, when the file says.
    pub created: Option<DateTime<Utc>>,
    /// Whether the database is at this revision (`history -i`); not in JSON.
    #[serde(skip)]
    pub current: bool,
}

impl RevisionView {
    /// Fills a view from the graph.
    pub fn from_graph(graph: &Graph, rev: &Revision) -> RevisionView {
        let id = rev.id.as_str();
        // Sorted and distinct already (see `Graph::labels`).
        let labels = graph.labels(id);
        RevisionView {
            revision: rev.id.clone(),
            down_revisions: rev.down_revisions.clone(),
            branch_labels: labels,
            depends_on: rev.depends_on.clone(),
            lane: rev.lane.clone(),
            message: rev.message.clone(),
            path: rev.path.display().to_string(),
            is_head: graph.is_head(id),
            is_effective_head: graph.is_effective_head(id),
            is_branch_point: graph.is_branch_point(id),
            is_merge_point: graph.is_merge_point(id),
            children: graph
                .children(id)
                .into_iter()
                .map(|child| child.id.clone())
                .collect(),
            created: rev.created,
            current: false,
        }
    }

    /// Views of several revisions, in the given order.
    pub fn many(graph: &Graph, revs: &[&Revision]) -> Vec<RevisionView> {
        revs.iter()
            .map(|rev| RevisionView::from_graph(graph, rev))
            .collect()
    }

    /// The doc Alembic prints on short lines: the message's first paragraph.
    fn doc(&self) -> &str {
        let message = self.message.trim();
        message.split("\n\n").next().unwrap_or(message)
    }

    /// `<parents joined by ", ">` or `<base>`.
    fn parents(&self) -> String {
        if self.down_revisions.is_empty() {
            "<base>".to_string()
        } else {
            self.down_revisions.join(", ")
        }
    }

    /// A real head: versioned head that nothing depends on.
    fn is_real_head(&self) -> bool {
        self.is_head && !self.is_effective_head
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

/// One short line (Alembic's `cmd_format(False, …)`), without newline.
pub fn short_line(view: &RevisionView, parts: LineParts) -> String {
    let mut text = String::new();
    if parts.parents {
        text.push_str(&view.parents());
        if !view.depends_on.is_empty() {
            text.push_str(&format!(" ({})", view.depends_on.join(", ")));
        }
        text.push_str(" -> ");
    }
    text.push_str(&view.revision);
    if parts.labels && !view.branch_labels.is_empty() {
        text.push_str(&format!(" ({})", view.branch_labels.join(", ")));
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
        push_tree_markers(&mut text, view);
    }
    if parts.doc {
        text.push_str(", ");
        text.push_str(view.doc());
    }
    text
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
    let mut entry = format!("Rev: {}", view.revision);
    if view.is_head {
        entry.push_str(" (head)");
    }
    push_tree_markers(&mut entry, view);
    if view.current {
        entry.push_str(" (current)");
    }
    entry.push('\n');
    let parent_key = if view.is_merge_point {
        "Merges"
    } else {
        "Parent"
    };
    entry.push_str(&format!("{parent_key}: {}\n", view.parents()));
    if !view.depends_on.is_empty() {
        entry.push_str(&format!(
            "Also depends on: {}\n",
            view.depends_on.join(", ")
        ));
    }
    if view.is_branch_point {
        entry.push_str(&format!("Branches into: {}\n", view.children.join(", ")));
    }
    if !view.branch_labels.is_empty() {
        entry.push_str(&format!(
            "Branch names: {}\n",
            view.branch_labels.join(", ")
        ));
    }
    entry.push_str(&format!("Lane: {}\n", view.lane));
    entry.push_str(&format!("Path: {}\n", view.path));
    let body: Vec<String> = long_doc(view)
        .lines()
        .map(|line| format!("    {line}"))
        .collect();
    entry.push_str(&format!("\n{}\n", body.join("\n")));
    entry
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
        doc.push_str(&format!(
            "\nCreate Date: {}",
            created.format("%Y-%m-%d %H:%M:%S%.f")
        ));
    }
    doc
}

/// A short line or, when `verbose`, the verbose entry; ends in a newline.
fn line_or_entry(view: &RevisionView, verbose: bool, parts: LineParts) -> String {
    if verbose {
        format!("{}\n", log_entry(view))
    } else {
        format!("{}\n", short_line(view, parts))
    }
}

/// `retort heads [-v]`: `<rev> (<labels>) (head)` per head.
pub fn format_heads(heads: &[RevisionView], verbose: bool) -> String {
    let parts = LineParts {
        labels: true,
        ..LineParts::default()
    };
    heads
        .iter()
        .map(|view| line_or_entry(view, verbose, parts))
        .collect()
}

/// One branch point with its children, as `branches` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchView {
    /// The branch point.
    pub point: RevisionView,
    /// Its versioned children, load order.
    pub children: Vec<RevisionView>,
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
        let head = if verbose {
            log_entry(&branch.point)
        } else {
            short_line(&branch.point, head_parts)
        };
        let indent = " ".repeat(branch.point.revision.chars().count());
        let children: Vec<String> = branch
            .children
            .iter()
            .map(|child| format!("{indent} -> {}", short_line(child, child_parts)))
            .collect();
        out.push_str(&format!("{head}\n{}\n\n", children.join("\n")));
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
        if verbose {
            out.push_str(&log_entry(view));
        } else {
            out.push_str(&short_line(view, parts));
        }
        out.push('\n');
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
        out.push_str(&format!("Current revision(s) for {url}:\n"));
    }
    for view in revisions {
        out.push_str(&line_or_entry(view, verbose, parts));
    }
    out
}

/// `retort show REV`: the verbose entry of each revision.
pub fn format_show(revisions: &[RevisionView]) -> String {
    revisions
        .iter()
        .map(|view| format!("{}\n", log_entry(view)))
        .collect()
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
    fn view(id: &str, parents: &[&str], message: &str) -> RevisionView {
        RevisionView {
            revision: id.to_string(),
            down_revisions: parents.iter().map(|p| p.to_string()).collect(),
            branch_labels: vec![],
            depends_on: vec![],
            lane: "schema".to_string(),
            message: message.to_string(),
            path: format!("migrations/schema/{id}_x.toml"),
            is_head: false,
            is_effective_head: false,
            is_branch_point: false,
            is_merge_point: parents.len() > 1,
            children: vec![],
            created: None,
            current: false,
        }
    }

    fn head(mut v: RevisionView) -> RevisionView {
        v.is_head = true;
        v
    }

    #[test]
    fn heads_line_has_labels_and_head_marker() {
        let mut a = head(view("ae1027a6acf0", &["1975ea83b712"], "add account"));
        a.branch_labels = vec!["billing".into(), "accounts".into()];
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
        c.depends_on = vec!["d9".into(), "billing".into()];
        let mut b = view("b2", &["a1"], "second");
        b.is_branch_point = true;
        b.children = vec!["c3".into(), "c4".into()];
        let mut m = head(view("m5", &["c3", "c4"], "merge\n\nmore text"));
        m.branch_labels = vec!["x".into()];
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
        b.depends_on = vec!["d9".into()];
        b.branch_labels = vec!["billing".into()];
        b.lane = "data".into();
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
        m.children = vec!["x1".into(), "y2".into()];
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
        a.children = vec!["b2".into(), "c3".into()];
        a.branch_labels = vec!["main".into()];
        let b = head(view("b2", &["a1"], "left"));
        let mut c = view("c3", &["a1"], "right");
        c.branch_labels = vec!["side".into()];
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
