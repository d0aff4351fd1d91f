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
//!
//! Why it is built the way it is: revisions are stored in load order and
//! every relation is an index (`usize`) into that vector, so walks, label
//! propagation and the step-ordering sort stay linear on long chains (the
//! 5,000-revision projects users complain about in Alembic). The files are
//! split by concern: `build` validates and derives the structure,
//! `target` implements the grammar, `plan` the commands, `sort` Alembic's
//! head-following topological sort.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::revision::Revision;

mod build;
mod error;
mod plan;
mod sort;
mod target;

#[cfg(test)]
mod tests;

pub use error::{CrossLaneLink, Error, LabelOwner, Unlocated};

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

/// A range for `history -r` / offline scripts: `start:end`, either side may
/// be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Lower end (`None`: base).
    pub start: Option<String>,
    /// Upper end (`None`: heads).
    pub end: Option<String>,
}

impl Range {
    /// Parses `start:end` (surrounding whitespace is ignored; either side
    /// may be empty).
    ///
    /// # Errors
    /// `History range requires [start]:[end], [start]:, or :[end]` without
    /// a colon; a clear error with more than one (Alembic crashes there).
    pub fn parse(text: &str) -> Result<Range, Error> {
        let trimmed = text.trim();
        let mut parts = trimmed.split(':');
        let (Some(start), Some(end), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(if trimmed.contains(':') {
                Error::RangeTooManyColons {
                    range: text.to_string(),
                }
            } else {
                Error::RangeSyntax {
                    range: text.to_string(),
                }
            });
        };
        let side = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Ok(Range {
            start: side(start),
            end: side(end),
        })
    }
}

/// What `stamp` changes in the applied set.
#[derive(Debug, Clone, PartialEq)]
pub struct StampPlan<'g> {
    /// Revisions whose rows are deleted, in downgrade order.
    pub remove: Vec<&'g Revision>,
    /// Revisions whose rows are inserted, in upgrade order.
    pub add: Vec<&'g Revision>,
    /// The same change as Alembic's steps, in Alembic's order: one per
    /// destination that is not already a current head (a new branch, or
    /// the heads of its lineage collapsed into it), and for `base` one per
    /// head removed. The rows of all steps together are `remove` / `add`.
    pub steps: Vec<StampStep<'g>>,
}

/// One step of a stamp, printed `stamp_revision <from> -> <to>`.
#[derive(Debug, Clone, PartialEq)]
pub struct StampStep<'g> {
    /// The current heads this step replaces (empty: a new branch).
    pub from: Vec<String>,
    /// The destination (`None`: base, the heads are removed).
    pub to: Option<String>,
    /// Rows this step deletes, in downgrade order.
    pub remove: Vec<&'g Revision>,
    /// Rows this step inserts, in upgrade order.
    pub add: Vec<&'g Revision>,
}

/// Derived structure of one revision; every relation is an index into
/// [`Graph::revisions`].
#[derive(Debug, Clone, Default)]
struct Node {
    /// Versioned parents (`down_revision`), file order.
    down: Vec<usize>,
    /// Resolved `depends_on` (labels to their revision, lanes to the lane's
    /// bases), declaration order.
    deps: Vec<usize>,
    /// `deps` minus what a versioned ancestor already depends on.
    norm_deps: Vec<usize>,
    /// `down` followed by `norm_deps`: the edges the sort and the ancestor
    /// walks use (Alembic's normalized down revisions).
    norm_down: Vec<usize>,
    /// Reverse of `norm_down`.
    norm_next: Vec<usize>,
    /// Versioned children, load order.
    next: Vec<usize>,
    /// Children through `down_revision` or `depends_on`, load order.
    all_next: Vec<usize>,
    /// Index into [`Graph::lanes`].
    lane: usize,
    /// Branch labels after propagation: indices into `label_names`, sorted.
    labels: Vec<usize>,
}

/// The validated revision graph of a project (every lane).
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Vec<Revision>,
    lanes: Vec<String>,
    nodes: Vec<Node>,
    by_id: IdMap,
    lane_index: HashMap<String, usize>,
    /// Declared label -> the revision declaring it.
    label_owner: HashMap<String, usize>,
    /// Label name -> index into `label_names`.
    label_index: HashMap<String, usize>,
    label_names: Vec<String>,
    /// Keys for prefix matching (ids in load order, then labels), with the
    /// revision each names; only keys longer than three characters.
    prefix_keys: Vec<(String, usize)>,
    /// Versioned heads, load order.
    heads: Vec<usize>,
    /// Real heads (no child through down_revision or depends_on), load order.
    real_heads: Vec<usize>,
    /// Revisions without down_revision, load order.
    bases: Vec<usize>,
}

/// Revision id -> index. Ids are looked up several times per revision by
/// every command (graph build, labels, head and branch tests), so the map
/// uses a multiply-rotate hash (FxHash's) rather than SipHash: the keys are
/// the project's own file contents, not untrusted input.
pub(crate) type IdMap = HashMap<String, usize, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`].
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}
