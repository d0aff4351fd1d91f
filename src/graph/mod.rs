//! The revision graph (pure, no I/O): load and validate revisions of every
//! lane, answer structural questions (heads, branch points, labels), resolve
//! Alembic's target grammar and compute upgrade, downgrade and stamp plans
//! with Alembic's step order. See `alembic-semantics.md` for the rules this
//! module reproduces and `docs/design-notes.md` for where it deliberately
//! differs.
//!
//! The database side is represented by the *applied set*: every revision id
//! that has a row in `_versions` (retort records one row per applied
//! revision, not Alembic's heads-only rows).

use std::collections::HashSet;

use crate::revision::Revision;

/// The applied revisions (rows of `_versions`), in the order they were
/// applied (oldest first). The order decides which head `downgrade -1`
/// reverts when several are current (the most recently applied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    order: Vec<String>,
    set: HashSet<String>,
}

impl Applied {
    /// An applied set from ids in apply order (oldest first). Duplicates are
    /// kept once, at their first position.
    pub fn from_ordered(ids: Vec<String>) -> Applied {
        let mut set = HashSet::with_capacity(ids.len());
        let order = ids
            .into_iter()
            .filter(|id| set.insert(id.clone()))
            .collect();
        Applied { order, set }
    }

    /// Whether `id` is applied.
    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// Applied ids, oldest first.
    pub fn ids(&self) -> &[String] {
        &self.order
    }

    /// Whether nothing is applied.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Errors of graph loading, target resolution and planning. `Display` gives
/// Alembic's wording where Alembic has one; [`Error::hint`] gives the command
/// that fixes the situation, when one is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Placeholder while the module is being written.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
}

impl Error {
    /// A line telling the user what to run next, if there is something.
    pub fn hint(&self) -> Option<String> {
        None
    }
}

/// A range for `history -r` / offline scripts: `start:end`, either side may
/// be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Lower end (`None`: base).
    pub start: Option<String>,
    /// Upper end (`None`: heads).
    pub end: Option<String>,
}

/// What `stamp` changes in the applied set.
#[derive(Debug, Clone, PartialEq)]
pub struct StampPlan<'g> {
    /// Revisions whose rows are deleted, in downgrade order.
    pub remove: Vec<&'g Revision>,
    /// Revisions whose rows are inserted, in upgrade order.
    pub add: Vec<&'g Revision>,
}

/// The validated revision graph of a project (every lane).
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Vec<Revision>,
    lanes: Vec<String>,
}

impl Graph {
    /// Builds and validates the graph. `revisions` must be in load order:
    /// lanes in config order, files in file-name order within a lane.
    ///
    /// # Errors
    /// Duplicate ids, missing `down_revision`/`depends_on` targets, self
    /// loops, cycles, `down_revision` across lanes, duplicate branch labels
    /// (including a label equal to a lane name or an id), bad id characters;
    /// each error names the files involved.
    pub fn build(revisions: Vec<Revision>, lanes: &[String]) -> Result<Graph, Error> {
        let _ = (&revisions, lanes);
        todo!()
    }

    /// Every revision, in load order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The configured lanes, in config order.
    pub fn lanes(&self) -> &[String] {
        &self.lanes
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        let _ = id;
        todo!()
    }

    /// Versioned heads (no `down_revision` child), all lanes, load order.
    pub fn heads(&self) -> Vec<&Revision> {
        todo!()
    }

    /// Real heads (no child through `down_revision` or `depends_on`).
    pub fn real_heads(&self) -> Vec<&Revision> {
        todo!()
    }

    /// Whether `id` is a versioned head.
    pub fn is_head(&self, id: &str) -> bool {
        let _ = id;
        todo!()
    }

    /// Whether `id` is a versioned head that another revision depends on.
    pub fn is_effective_head(&self, id: &str) -> bool {
        let _ = id;
        todo!()
    }

    /// Whether `id` has more than one versioned child.
    pub fn is_branch_point(&self, id: &str) -> bool {
        let _ = id;
        todo!()
    }

    /// Whether `id` has more than one `down_revision`.
    pub fn is_merge_point(&self, id: &str) -> bool {
        let _ = id;
        todo!()
    }

    /// The branch labels of `id` after propagation (sorted).
    pub fn labels(&self, id: &str) -> Vec<String> {
        let _ = id;
        todo!()
    }

    /// Versioned children of `id`, load order.
    pub fn children(&self, id: &str) -> Vec<&Revision> {
        let _ = id;
        todo!()
    }

    /// Branch points in history order (as `branches` prints them).
    pub fn branch_points(&self) -> Vec<&Revision> {
        todo!()
    }

    /// Resolves target identifiers (`head`, `heads`, `base`, ids, prefixes,
    /// labels, `LABEL@head`, relative forms walking from a symbol) to
    /// revisions, as `show` does.
    ///
    /// # Errors
    /// Alembic's messages (`Can't locate revision identified by 'x'`, the
    /// multiple-heads message, …).
    pub fn resolve(&self, target: &str) -> Result<Vec<&Revision>, Error> {
        let _ = target;
        todo!()
    }

    /// Applied revisions none of whose descendants are applied (what
    /// `current` shows), load order.
    pub fn current_heads(&self, applied: &Applied) -> Vec<&Revision> {
        let _ = applied;
        todo!()
    }

    /// `ids` plus every ancestor through `down_revision` and `depends_on`:
    /// the applied set implied by having `ids` applied.
    ///
    /// # Errors
    /// An unknown id.
    pub fn closure(&self, ids: &[&str]) -> Result<Applied, Error> {
        let _ = ids;
        todo!()
    }

    /// The revisions `upgrade TARGET` runs from `applied`, in run order.
    ///
    /// # Errors
    /// Resolution and planning errors with Alembic's wording.
    pub fn plan_upgrade(&self, applied: &Applied, target: &str) -> Result<Vec<&Revision>, Error> {
        let _ = (applied, target);
        todo!()
    }

    /// The revisions `downgrade TARGET` reverts from `applied`, in run order.
    ///
    /// # Errors
    /// Resolution and planning errors with Alembic's wording.
    pub fn plan_downgrade(&self, applied: &Applied, target: &str) -> Result<Vec<&Revision>, Error> {
        let _ = (applied, target);
        todo!()
    }

    /// What `stamp TARGETS…` changes in `applied` (`base` empties it).
    ///
    /// # Errors
    /// Resolution errors; targets of one lineage.
    pub fn plan_stamp(
        &self,
        applied: &Applied,
        targets: &[String],
    ) -> Result<StampPlan<'_>, Error> {
        let _ = (applied, targets);
        todo!()
    }

    /// The revisions `history -r RANGE` lists, newest first. `applied` is
    /// needed only when an end of the range is `current`.
    ///
    /// # Errors
    /// Range errors with Alembic's wording.
    pub fn history(
        &self,
        range: Option<&Range>,
        applied: Option<&Applied>,
    ) -> Result<Vec<&Revision>, Error> {
        let _ = (range, applied);
        todo!()
    }

    /// Parents of a new revision in `lane` for `revision --head HEAD
    /// [--splice]` (`head` default, `base`, `LABEL@head`, `heads`, an id).
    ///
    /// # Errors
    /// Alembic's several-heads and not-a-head messages.
    pub fn new_revision_parents(
        &self,
        lane: &str,
        head: &str,
        splice: bool,
    ) -> Result<Vec<String>, Error> {
        let _ = (lane, head, splice);
        todo!()
    }

    /// Parents of a merge revision for `merge REVS… [--splice]` (`heads`
    /// expands to the real heads).
    ///
    /// # Errors
    /// `Duplicate head revisions specified`, not-a-head without splice.
    pub fn merge_parents(&self, revs: &[String], splice: bool) -> Result<Vec<String>, Error> {
        let _ = (revs, splice);
        todo!()
    }

    /// Expands a `--depends-on` token: a unique id prefix becomes the full
    /// id, a branch label (or lane name) stays as written.
    ///
    /// # Errors
    /// `Can't locate revision identified by 'x'`.
    pub fn expand_dependency(&self, token: &str) -> Result<String, Error> {
        let _ = token;
        todo!()
    }
}
