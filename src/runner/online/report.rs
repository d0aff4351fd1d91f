//! What the live runner tells its caller: events while it runs
//! ([`Observer`], [`Event`]) and reports when it is done.

use std::time::Duration;

use crate::dialect::Direction;

/// Something that wants to know how a run is going (the CLI prints it).
pub trait Observer {
    /// Called for every event, in order.
    fn event(&mut self, event: &Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn event(&mut self, _: &Event<'_>) {}
}

/// What happens during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A revision starts: `line` is Alembic's `Running upgrade a -> b,
    /// message`.
    StepStarted {
        /// Revision id.
        revision: &'a str,
        /// The progress line.
        line: &'a str,
        /// 0-based statement a journaled revision resumes at.
        resume_at: Option<usize>,
    },
    /// The revision started last completed.
    StepFinished {
        /// Revision id.
        revision: &'a str,
        /// How long it took.
        duration: Duration,
    },
    /// The revision started last failed (an error follows).
    StepFailed {
        /// Revision id.
        revision: &'a str,
    },
    /// Ctrl-C stopped the revision started last: while it waited for
    /// another process's lock (not started), or a data revision at a batch
    /// boundary (checkpoint saved). An error follows.
    StepInterrupted {
        /// Revision id.
        revision: &'a str,
    },
    /// Another process applied (or reverted) the revision started last.
    StepSkipped {
        /// Revision id.
        revision: &'a str,
    },
    /// `stamp` changed the rows: `Running stamp_revision a -> b`.
    Stamped {
        /// The progress line.
        line: &'a str,
    },
    /// DATA LANE: progress of a data revision (steps, batches, verify).
    Data(&'a crate::data::DataEvent<'a>),
}

/// One revision a run applied or reverted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    /// Revision id.
    pub revision: String,
    /// `upgrade` or `downgrade`.
    #[serde(serialize_with = "direction_name")]
    pub direction: Direction,
    /// The progress line.
    pub line: String,
    /// How long it took.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
}

fn direction_name<S: serde::Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.name())
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Revisions applied or reverted, in order.
    pub steps: Vec<StepReport>,
    /// Revisions another process handled first (SQLite re-reads).
    pub skipped: Vec<String>,
}

/// `check`: whether the database is at head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// Whether nothing is pending and nothing is unfinished.
    pub at_head: bool,
    /// The current heads of the database.
    pub current: Vec<String>,
    /// The heads of the project.
    pub heads: Vec<String>,
    /// What `upgrade head` would run, in order.
    pub pending: Vec<String>,
    /// Rows that are `running` or `failed`.
    pub unfinished: Vec<String>,
}

/// `amend`: what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendReport {
    /// Revision id.
    pub revision: String,
    /// Whether the checksum changed (false: the file matched already).
    pub changed: bool,
    /// The recorded checksum before.
    pub old_checksum: String,
    /// The new checksum.
    pub new_checksum: String,
}

/// How `resolve` settles an unfinished revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The user completed it by hand: record it as applied.
    Applied,
    /// The user undid it by hand: remove its row.
    Reverted,
}
