//! Errors of the revision graph. `Display` is Alembic's literal wording
//! where Alembic has one (users search for these texts), with the files
//! named for load errors; [`Error::hint`] adds the command that helps.

use std::fmt;
use std::path::PathBuf;

/// Why an identifier could not be located. Alembic's command line shows one
/// text for all of these (`Can't locate revision identified by 'x'`); the
/// reason is kept for [`Error::hint`] and for callers that want detail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unlocated {
    /// No id or branch label is equal to the identifier or starts with it.
    NoMatch,
    /// Several ids or labels start with the identifier (the first three).
    Ambiguous {
        /// The first (at most three) matching keys, in map order.
        candidates: Vec<String>,
    },
    /// The identifier resolved, but not to a member of the named branch.
    NotInBranch {
        /// The revision the identifier resolved to.
        revision: String,
        /// The branch given before `@`.
        branch: String,
    },
    /// The part before `@` names no lane, label or revision.
    NoSuchBranch,
}

/// Who already uses a branch label name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOwner {
    /// A revision: its id is the name, or it declares the same label.
    Revision {
        /// The revision's id.
        id: String,
        /// The revision's file.
        path: PathBuf,
    },
    /// A lane of that name (lane names work as branch labels).
    Lane(String),
}

impl fmt::Display for LabelOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelOwner::Revision { id, .. } => write!(f, "revision {id}"),
            LabelOwner::Lane(lane) => write!(f, "lane '{lane}'"),
        }
    }
}

/// A `down_revision` link between lanes (boxed in [`Error`] to keep the
/// error small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossLaneLink {
    /// The child revision.
    pub id: String,
    /// Its lane.
    pub lane: String,
    /// Its file.
    pub path: PathBuf,
    /// The parent in the other lane.
    pub parent: String,
    /// The parent's lane.
    pub parent_lane: String,
    /// The parent's file.
    pub parent_path: PathBuf,
}

impl fmt::Display for CrossLaneLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Revision {} in lane '{}' has down_revision {} from lane '{}'; down_revision \
             links stay inside one lane, use depends_on across lanes (files: {}, {})",
            self.id,
            self.lane,
            self.parent,
            self.parent_lane,
            self.path.display(),
            self.parent_path.display()
        )
    }
}

/// Errors of graph loading, target resolution and planning. `Display`
/// gives Alembic's wording where Alembic has one; [`Error::hint`] gives the
/// command that fixes the situation, when one is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- loading -------------------------------------------------------
    /// A revision id with a character of `@ - + :` (or otherwise invalid).
    #[error("{message} (file: {})", path.display())]
    InvalidId {
        /// The id as written.
        id: String,
        /// The file declaring it.
        path: PathBuf,
        /// The validation message (`Character(s) '-' not allowed ...`).
        message: String,
    },
    /// Two files declare the same revision id.
    #[error(
        "Revision {id} is present more than once (files: {}, {})",
        first.display(),
        second.display()
    )]
    DuplicateId {
        /// The id.
        id: String,
        /// The file loaded first.
        first: PathBuf,
        /// The file loaded second.
        second: PathBuf,
    },
    /// A revision id equal to a lane name (lane names work as labels).
    #[error("Revision id '{id}' is also the name of a lane (file: {})", path.display())]
    IdIsLaneName {
        /// The id.
        id: String,
        /// The file declaring it.
        path: PathBuf,
    },
    /// A `down_revision` entry that no file declares.
    #[error(
        "Revision {missing} referenced from {id} is not present (file: {})",
        path.display()
    )]
    MissingDownRevision {
        /// The revision whose `down_revision` names the missing one.
        id: String,
        /// The missing id.
        missing: String,
        /// The file of `id`.
        path: PathBuf,
    },
    /// A `depends_on` entry that is no id, branch label or lane.
    #[error(
        "Revision {missing} referenced from {id} is not present (file: {})",
        path.display()
    )]
    MissingDependency {
        /// The revision whose `depends_on` names the missing one.
        id: String,
        /// The entry as written.
        missing: String,
        /// The file of `id`.
        path: PathBuf,
    },
    /// A `down_revision` that points into another lane.
    #[error("{0}")]
    CrossLaneDownRevision(Box<CrossLaneLink>),
    /// A branch label already used by a revision id, label or lane.
    #[error(
        "Branch name '{label}' in revision {revision} already used by {owner} (file: {})",
        path.display()
    )]
    LabelClash {
        /// The label.
        label: String,
        /// The revision declaring it a second time.
        revision: String,
        /// That revision's file.
        path: PathBuf,
        /// Who had the name first.
        owner: LabelOwner,
    },
    /// A revision whose `down_revision` names itself.
    #[error("Self-loop is detected in revisions ({id}) (file: {})", path.display())]
    SelfLoop {
        /// The revision.
        id: String,
        /// Its file.
        path: PathBuf,
    },
    /// A revision whose `depends_on` names itself.
    #[error("Dependency self-loop is detected in revisions ({id}) (file: {})", path.display())]
    DependencySelfLoop {
        /// The revision.
        id: String,
        /// Its file.
        path: PathBuf,
    },
    /// A cycle through `down_revision`.
    #[error("Cycle is detected in revisions ({}) (files: {})", ids.join(", "), paths_list(paths))]
    Cycle {
        /// The revisions not between a base and a head (sorted).
        ids: Vec<String>,
        /// Their files.
        paths: Vec<PathBuf>,
    },
    /// A cycle through `down_revision` and `depends_on`.
    #[error(
        "Dependency cycle is detected in revisions ({}) (files: {})",
        ids.join(", "),
        paths_list(paths)
    )]
    DependencyCycle {
        /// The revisions not between a real base and a real head (sorted).
        ids: Vec<String>,
        /// Their files.
        paths: Vec<PathBuf>,
    },

    // ----- resolution ----------------------------------------------------
    /// An identifier that names nothing, or several things.
    #[error("Can't locate revision identified by '{argument}'")]
    CantLocate {
        /// The identifier as Alembic reports it.
        argument: String,
        /// Why.
        reason: Unlocated,
    },
    /// `head` (or `LABEL@head`, `heads` where one revision is needed) with
    /// several heads.
    #[error(
        "Multiple head revisions are present for given argument '{argument}'; please \
         specify a specific target revision, '<branchname>@{argument}' to narrow to a \
         specific head, or 'heads' for all heads"
    )]
    MultipleHeads {
        /// The argument as given.
        argument: String,
        /// The heads it matched.
        heads: Vec<String>,
    },
    /// `stamp head` (or `LABEL@head`) with several heads in scope.
    #[error("Multiple heads are present; please specify a single target revision")]
    StampMultipleHeads {
        /// The heads it matched.
        heads: Vec<String>,
    },
    /// `revision` whose parent (`--head`, default `head`) is ambiguous.
    #[error(
        "Multiple heads are present; please specify the head revision on which the new \
         revision should be based, or perform a merge."
    )]
    NewRevisionMultipleHeads {
        /// The heads it matched.
        heads: Vec<String>,
    },
    /// A relative target that walked off the graph (no symbol), or a
    /// relative target in the wrong direction for the command.
    #[error("Relative revision {relative} didn't produce {count} migrations")]
    RelativeNotProduced {
        /// The relative part as Alembic prints it (`-1`, `+2`, `0`).
        relative: String,
        /// How many steps were asked for.
        count: u64,
    },
    /// A relative walk through a branch point (up) or merge point (down).
    #[error("Ambiguous walk")]
    AmbiguousWalk,
    /// `+N` from several current heads.
    #[error("Ambiguous upgrade from multiple current revisions")]
    AmbiguousUpgrade,
    /// Downgrade `SYM+N` / `SYM-N` past the end of the graph.
    #[error("Walked too far")]
    WalkedTooFar,
    /// Upgrade `REV+N` past the top (Alembic crashes here).
    #[error("Relative revision {target} walks past the head of its branch")]
    WalkPastHead {
        /// The target as given.
        target: String,
    },
    /// Upgrade `REV-N` reaching or passing base (Alembic crashes here).
    #[error("Relative revision {target} reaches base; there is nothing to upgrade to")]
    WalkToBase {
        /// The target as given.
        target: String,
    },
    /// `LABEL@-N` with several current heads on the label (Alembic crashes).
    #[error(
        "Ambiguous downgrade from multiple current revisions on branch '{branch}': {}",
        heads.join(", ")
    )]
    AmbiguousBranchDowngrade {
        /// The branch given.
        branch: String,
        /// The current heads on it.
        heads: Vec<String>,
    },
    /// Downgrade to a revision that is not below the current state.
    #[error("Destination {destination} is not a valid downgrade target from current head(s)")]
    NotBelowCurrent {
        /// The target as given.
        destination: String,
    },
    /// A branch filter that removed every revision to revert.
    #[error("Not a valid downgrade target from current heads")]
    NotValidDowngradeTarget,
    /// Targets of which one is an ancestor of another.
    #[error("Requested revision {revision} overlaps with other requested revisions {}", others.join(", "))]
    Overlap {
        /// The descendant.
        revision: String,
        /// Its ancestors among the targets.
        others: Vec<String>,
    },

    // ----- ranges and listings ------------------------------------------
    /// A history range without `:`.
    #[error("History range requires [start]:[end], [start]:, or :[end]")]
    RangeSyntax {
        /// The range as given.
        range: String,
    },
    /// A range with more than one `:` (Alembic crashes).
    #[error("Range '{range}' has more than one ':'; use [start]:[end]")]
    RangeTooManyColons {
        /// The range as given.
        range: String,
    },
    /// A range whose ends are not ancestor and descendant.
    #[error(
        "Requested range {start}:{end} does not refer to ancestor/descendant revisions \
         along the same branch"
    )]
    RangeNotAncestor {
        /// Lower end as given (`base` when empty).
        start: String,
        /// Upper end as given (`heads` when empty).
        end: String,
    },
    /// A history range whose revisions reach the upper end only through
    /// `depends_on` of revisions outside the range (Alembic crashes with an
    /// AssertionError). Alembic's range wording, with its own hint.
    #[error(
        "Requested range {start}:{end} does not refer to ancestor/descendant revisions \
         along the same branch"
    )]
    RangeThroughDependency {
        /// Lower end as given (`base` when empty).
        start: String,
        /// Upper end as given (`heads` when empty).
        end: String,
    },
    /// The start of an offline range that names no revision (`LABEL@base`;
    /// Alembic crashes with an AttributeError).
    #[error(
        "The start of an offline range must be one revision or 'base'; '{start}' names no \
         revision"
    )]
    StartNotARevision {
        /// The start as given.
        start: String,
    },
    /// A range endpoint `current` without the applied set.
    #[error("The range endpoint 'current' needs the database")]
    CurrentNeedsDatabase,

    // ----- new revisions -------------------------------------------------
    /// A parent that is not a head, without `--splice`.
    #[error(
        "Revision {revision} is not a head revision; please specify --splice to create a \
         new branch from this revision"
    )]
    NotAHead {
        /// The parent.
        revision: String,
    },
    /// The same parent twice in a merge.
    #[error("Duplicate head revisions specified")]
    DuplicateHeads,
    /// A lane name that is not configured.
    #[error("No lane named '{lane}'")]
    UnknownLane {
        /// The lane as given.
        lane: String,
    },
    /// A new revision's parent in another lane.
    #[error(
        "Revision {parent} is in lane '{parent_lane}', not in lane '{lane}'; down_revision \
         links stay inside one lane"
    )]
    ParentInOtherLane {
        /// The parent.
        parent: String,
        /// Its lane.
        parent_lane: String,
        /// The lane of the new revision.
        lane: String,
    },
    /// A merge whose parents span several lanes.
    #[error("Cannot merge revisions of different lanes ({}) into one revision", lanes.join(", "))]
    MergeAcrossLanes {
        /// The lanes involved.
        lanes: Vec<String>,
    },
}

fn paths_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

impl Error {
    /// The multiple-heads error as a command reports it: Alembic's
    /// `_catch_revision_errors(end=destination)` names the whole destination
    /// argument (`head-1`, `LABEL@head+1`), not just the symbol that had
    /// several heads. Other errors are unchanged.
    pub(super) fn with_head_argument(self, destination: &str) -> Error {
        match self {
            Error::MultipleHeads { heads, .. } => Error::MultipleHeads {
                argument: destination.to_string(),
                heads,
            },
            other => other,
        }
    }

    /// A line telling the user what to run next, if there is something.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            Error::InvalidId { .. } => {
                "revision ids use letters, digits and _; rename the id in the file (and \
                 every down_revision that names it)"
                    .to_string()
            }
            Error::DuplicateId { .. } => {
                "give one of the two files a new revision id (`retort revision` generates \
                 unique ids)"
                    .to_string()
            }
            Error::IdIsLaneName { .. } => "rename the revision id or the lane".to_string(),
            Error::MissingDownRevision { .. } | Error::MissingDependency { .. } => {
                "check the id in the file; `retort history` lists the revisions that exist"
                    .to_string()
            }
            Error::CrossLaneDownRevision(_) => {
                "move the file into the parent's lane, or replace down_revision by depends_on"
                    .to_string()
            }
            Error::LabelClash { .. } => {
                "choose another branch label; `retort branches` and `retort heads` show the \
                 labels in use"
                    .to_string()
            }
            Error::SelfLoop { .. }
            | Error::DependencySelfLoop { .. }
            | Error::Cycle { .. }
            | Error::DependencyCycle { .. } => {
                "fix down_revision / depends_on in the listed files so that every revision \
                 points to older ones"
                    .to_string()
            }
            Error::CantLocate { argument, reason } => match reason {
                Unlocated::NoMatch if argument.chars().count() < 4 => format!(
                    "no revision or branch starts with '{argument}'; use at least four \
                     characters of an id; `retort history` lists them"
                ),
                Unlocated::NoMatch => format!(
                    "no revision or branch starts with '{argument}'; `retort history` lists \
                     them"
                ),
                Unlocated::Ambiguous { candidates } => format!(
                    "several revisions start with '{argument}' ({}...); type more characters",
                    candidates.join(", ")
                ),
                Unlocated::NotInBranch { revision, branch } => format!(
                    "revision {revision} is not a member of branch '{branch}'; `retort \
                     branches` shows the branches"
                ),
                Unlocated::NoSuchBranch => format!(
                    "no lane, branch label or revision is named '{argument}'; `retort heads` \
                     shows the labels"
                ),
            },
            Error::MultipleHeads { .. } | Error::StampMultipleHeads { .. } => {
                "`retort heads` lists the heads; name one, or join them with `retort merge \
                 heads -m \"merge\"`"
                    .to_string()
            }
            Error::NewRevisionMultipleHeads { .. } => {
                "pass --head REV (see `retort heads`), or join the heads first with `retort \
                 merge heads -m \"merge\"`"
                    .to_string()
            }
            Error::RelativeNotProduced { .. } | Error::WalkedTooFar => {
                "`retort current` shows what is applied and `retort history` the revisions \
                 around it"
                    .to_string()
            }
            Error::AmbiguousWalk => {
                "the walk crosses a branch or merge point; name the branch (LABEL@+1) or a \
                 revision; `retort branches` shows them"
                    .to_string()
            }
            Error::AmbiguousUpgrade => {
                "several heads are applied; name one branch, e.g. `retort upgrade LABEL@+1` \
                 (`retort current` shows them)"
                    .to_string()
            }
            Error::WalkPastHead { .. } | Error::WalkToBase { .. } => {
                "`retort history` shows how many revisions there are".to_string()
            }
            Error::AmbiguousBranchDowngrade { heads, .. } => match heads.first() {
                Some(head) => {
                    format!("name the head to step down from, e.g. `retort downgrade {head}-1`")
                }
                None => "name the head to step down from".to_string(),
            },
            Error::NotBelowCurrent { .. } | Error::NotValidDowngradeTarget => {
                "downgrade targets must be below what is applied; `retort current` shows it"
                    .to_string()
            }
            Error::Overlap { revision, .. } => format!(
                "name only {revision}: its ancestors come with it; `retort current` shows \
                 the applied heads"
            ),
            Error::RangeSyntax { .. } | Error::RangeTooManyColons { .. } => {
                "write the range as START:END, e.g. `retort history -r base:head` or -r -3:"
                    .to_string()
            }
            Error::RangeNotAncestor { .. } => {
                "put the older revision first; `retort history` shows the order".to_string()
            }
            Error::RangeThroughDependency { start, .. } => format!(
                "revisions above {start} reach the heads only through depends_on; list \
                 `retort history` without -r, or a range along one branch"
            ),
            Error::StartNotARevision { .. } => {
                "start the range at the revision the database is at, or at base (`base:TO`)"
                    .to_string()
            }
            Error::CurrentNeedsDatabase => "configure the database URL (--url)".to_string(),
            Error::NotAHead { .. } => {
                "add --splice to branch from it, or pick a head (`retort heads`)".to_string()
            }
            Error::DuplicateHeads => "name each revision once".to_string(),
            Error::UnknownLane { .. } => "the lanes are listed in alembic.toml [lanes]".to_string(),
            Error::ParentInOtherLane { .. } => {
                "use --lane for the parent's lane, or --depends-on for a cross-lane link"
                    .to_string()
            }
            Error::MergeAcrossLanes { lanes } => match lanes.first() {
                Some(lane) => {
                    format!("merge one lane at a time: `retort merge {lane}@heads -m \"merge\"`")
                }
                None => "merge one lane at a time".to_string(),
            },
        };
        Some(text)
    }

    /// Whether the error comes from loading the files (as opposed to a
    /// command's arguments or the database state).
    pub fn is_load_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidId { .. }
                | Error::DuplicateId { .. }
                | Error::IdIsLaneName { .. }
                | Error::MissingDownRevision { .. }
                | Error::MissingDependency { .. }
                | Error::CrossLaneDownRevision(_)
                | Error::LabelClash { .. }
                | Error::SelfLoop { .. }
                | Error::DependencySelfLoop { .. }
                | Error::Cycle { .. }
                | Error::DependencyCycle { .. }
        )
    }
}
