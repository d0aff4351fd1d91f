//! A loaded project: the configuration plus the validated revision graph of
//! every lane, and the library functions behind the file-writing commands
//! (`init`, `revision`, `merge`).
//!
//! Each command is one call: [`init_project`], [`Project::new_revision`],
//! [`Project::merge`]. They return what they wrote; the CLI prints it
//! (`Generating <path> ...  done`).
//!
//! Writing is careful: a new revision file is rendered, parsed back (so that
//! a broken override template cannot write a file that breaks the project)
//! and created with `create_new`, so an existing file is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::{self, Config, Lane, RevisionSettings};
use crate::graph::{self, Graph};
use crate::revision::scaffold::{self, RevisionSpec, Templates};
use crate::revision::{parse_str, read_lane, validate_id, FileFormat, ParseError, Revision};

/// Errors loading a project or writing revision files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A revision file does not parse (the error names file and line).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The graph is invalid, or a target does not resolve.
    #[error(transparent)]
    Graph(#[from] graph::Error),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// A template does not render.
    #[error(transparent)]
    Template(#[from] scaffold::Error),
    /// `--lane` names a lane that is not configured.
    #[error("unknown lane '{lane}'; configured lanes: {}", configured.join(", "))]
    UnknownLane {
        /// The lane asked for.
        lane: String,
        /// The configured lanes, in config order.
        configured: Vec<String>,
    },
    /// `--rev-id` is not a valid revision id (Alembic's wording).
    #[error("{message}")]
    InvalidRevisionId {
        /// The id asked for.
        id: String,
        /// What is wrong with it.
        message: String,
    },
    /// `--rev-id` names a revision that already exists.
    #[error("revision '{id}' already exists in {}", path.display())]
    DuplicateRevisionId {
        /// The id.
        id: String,
        /// The file that has it.
        path: PathBuf,
    },
    /// A new branch label is not usable.
    #[error("invalid branch label '{label}' for revision {id}: {reason}")]
    InvalidBranchLabel {
        /// The label.
        label: String,
        /// The new revision.
        id: String,
        /// Why.
        reason: String,
    },
    /// `merge` without revisions, or with nothing to merge.
    #[error("nothing to merge: give the revisions to merge, or `heads`")]
    NothingToMerge,
    /// `merge` of revisions that live in different lanes.
    #[error(
        "cannot merge revisions of different lanes ({}); down_revision links stay \
         inside one lane",
        parents.iter().map(|(id, lane)| format!("{id} in {lane}")).collect::<Vec<_>>().join(", ")
    )]
    MergeAcrossLanes {
        /// Each parent with its lane.
        parents: Vec<(String, String)>,
    },
    /// A rendered revision file does not parse back to the intended revision
    /// (a broken override template).
    #[error("the template for {} produced an invalid revision file: {reason}", path.display())]
    GeneratedInvalid {
        /// Where the file would have gone (nothing was written).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `init` found an `alembic.toml` already.
    #[error("{} already exists; retort init does not overwrite it", path.display())]
    ConfigExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file that would be written exists already.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file or directory could not be created or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// A line telling the user what to run or change next, if there is
    /// something (forwarded from graph errors).
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Graph(e) => e.hint(),
            Error::UnknownLane { .. } => Some(
                "pass --lane with a configured lane, or add the lane under [lanes] in alembic.toml"
                    .to_string(),
            ),
            Error::InvalidRevisionId { .. } => {
                Some("use letters, digits and _ in --rev-id".to_string())
            }
            Error::DuplicateRevisionId { .. } => {
                Some("choose another --rev-id, or leave it out for a random one".to_string())
            }
            Error::GeneratedInvalid { .. } => Some(
                "fix the template in the directory named by [revision] templates, \
                 or delete it to use the built-in one"
                    .to_string(),
            ),
            Error::ConfigExists { .. } => Some(
                "edit the existing alembic.toml, or run `retort init` in another directory"
                    .to_string(),
            ),
            Error::MergeAcrossLanes { .. } => Some(
                "merge heads of one lane (e.g. `retort merge <rev> <rev>`); across lanes use \
                 --depends-on"
                    .to_string(),
            ),
            Error::Parse(_)
            | Error::Config(_)
            | Error::Template(_)
            | Error::InvalidBranchLabel { .. }
            | Error::NothingToMerge
            | Error::FileExists { .. }
            | Error::Io { .. } => None,
        }
    }
}

/// Options of [`Project::new_revision`] (`retort revision`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRevisionOptions {
    /// `-m`: the message (also gives the file name's slug).
    pub message: String,
    /// `--lane`: where the file goes; default the first configured lane.
    pub lane: Option<String>,
    /// `--head`: the parent(s); default `head` (the lane's head). Also
    /// `base`, `heads`, `LABEL@head`, an id.
    pub head: Option<String>,
    /// `--splice`: allow a parent that is not a head (a new branch).
    pub splice: bool,
    /// `--branch-label`: labels of the new revision.
    pub branch_labels: Vec<String>,
    /// `--depends-on`: ids (prefixes are expanded) or branch labels.
    pub depends_on: Vec<String>,
    /// `--rev-id`: the id; default 12 random lowercase hex characters.
    pub rev_id: Option<String>,
    /// `--format`: default `[revision] format`.
    pub format: Option<FileFormat>,
}

/// Options of [`Project::merge`] (`retort merge`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeOptions {
    /// The revisions to merge, in argument order; `heads` expands to the
    /// real heads.
    pub revs: Vec<String>,
    /// `-m`: the message.
    pub message: String,
    /// `--branch-label`: labels of the merge revision.
    pub branch_labels: Vec<String>,
    /// `--rev-id`: the id; default 12 random lowercase hex characters.
    pub rev_id: Option<String>,
    /// `--splice`: allow parents that are not heads.
    pub splice: bool,
    /// `--format`: default `[revision] format`.
    pub format: Option<FileFormat>,
}

/// A project: its configuration and its revision graph.
#[derive(Debug, Clone)]
pub struct Project {
    /// The resolved configuration.
    pub config: Config,
    /// Every lane's revisions, validated.
    pub graph: Graph,
}

impl Project {
    /// Reads every lane directory (files in file-name order, lanes in config
    /// order), parses the revision files and builds the graph. A lane
    /// directory that does not exist is an empty lane.
    ///
    /// # Errors
    /// Parse errors (file and line) and graph validation errors.
    pub fn load(config: Config) -> Result<Project, Error> {
        let mut revisions = Vec::new();
        for lane in &config.lanes {
            revisions.extend(read_lane(&lane.dir, &lane.name)?);
        }
        let names = lane_names(&config.lanes);
        let graph = Graph::build(revisions, &names)?;
        Ok(Project { config, graph })
    }

    /// Writes a new revision file (`retort revision`) and returns its path.
    ///
    /// The lane is `opts.lane`; without it, the lane of the revisions
    /// `opts.head` resolves to (when they are all in one lane), else the
    /// first configured lane. The file goes into the lane's directory
    /// (created if missing); its parents come from
    /// `graph.new_revision_parents(lane, head, splice)`, with Alembic's rules
    /// and messages.
    ///
    /// ```no_run
    /// # fn demo(config: retort::Config) -> Result<(), retort::project::Error> {
    /// use retort::project::{NewRevisionOptions, Project};
    ///
    /// let project = Project::load(config)?;
    /// let path = project.new_revision(&NewRevisionOptions {
    ///     message: "add account table".to_string(),
    ///     ..Default::default()
    /// })?;
    /// println!("Generating {} ...  done", path.display());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown lane, a head that does not resolve (several heads, not a
    /// head without `--splice`), an unknown dependency, an invalid or existing
    /// `--rev-id`, an unusable branch label, a template error, an existing
    /// file, I/O.
    pub fn new_revision(&self, opts: &NewRevisionOptions) -> Result<PathBuf, Error> {
        let head = opts.head.as_deref().unwrap_or("head");
        let lane_name = match (&opts.lane, &opts.head) {
            (Some(lane), _) => Some(lane.clone()),
            (None, Some(head)) => self.lane_of_target(head),
            (None, None) => None,
        };
        let lane = find_lane(&self.config.lanes, lane_name.as_deref())?;
        let down_revisions = self
            .graph
            .new_revision_parents(&lane.name, head, opts.splice)?;
        let depends_on = opts
            .depends_on
            .iter()
            .map(|token| self.graph.expand_dependency(token))
            .collect::<Result<Vec<_>, _>>()?;
        let spec = self.spec(
            opts.rev_id.as_deref(),
            down_revisions,
            &opts.branch_labels,
            depends_on,
            &opts.message,
            lane,
        )?;
        let format = opts.format.unwrap_or(self.config.revision.format);
        write_revision(&self.config.revision, lane, &spec, format)
    }

    /// Writes a merge revision (`retort merge`) whose `down_revision` is the
    /// resolved `revs` (from `graph.merge_parents`), in the lane of those
    /// revisions, and returns its path.
    ///
    /// # Errors
    /// No revisions, parents in different lanes, Alembic's merge errors
    /// (duplicates, not a head without `--splice`), an invalid or existing
    /// `--rev-id`, an unusable branch label, a template error, I/O.
    pub fn merge(&self, opts: &MergeOptions) -> Result<PathBuf, Error> {
        if opts.revs.is_empty() {
            return Err(Error::NothingToMerge);
        }
        let parents = self.graph.merge_parents(&opts.revs, opts.splice)?;
        let lane_name = merge_lane(&parents, self.graph.revisions())?;
        let lane = find_lane(&self.config.lanes, Some(&lane_name))?;
        let spec = self.spec(
            opts.rev_id.as_deref(),
            parents,
            &opts.branch_labels,
            Vec::new(),
            &opts.message,
            lane,
        )?;
        let format = opts.format.unwrap_or(self.config.revision.format);
        write_revision(&self.config.revision, lane, &spec, format)
    }

    /// The lane of what `target` resolves to, when it resolves to revisions
    /// of exactly one lane (`--head data@head` without `--lane` writes into
    /// `data`, as Alembic writes into the head's version location).
    fn lane_of_target(&self, target: &str) -> Option<String> {
        let revs = self.graph.resolve(target).ok()?;
        let first = revs.first()?;
        revs.iter()
            .all(|rev| rev.lane == first.lane)
            .then(|| first.lane.clone())
    }

    /// The checked description of a new revision.
    fn spec(
        &self,
        rev_id: Option<&str>,
        down_revisions: Vec<String>,
        branch_labels: &[String],
        depends_on: Vec<String>,
        message: &str,
        lane: &Lane,
    ) -> Result<RevisionSpec, Error> {
        let revisions = self.graph.revisions();
        let id = new_id(rev_id, revisions)?;
        check_branch_labels(branch_labels, &id, revisions, &self.config.lanes)?;
        Ok(RevisionSpec {
            id,
            down_revisions,
            branch_labels: branch_labels.to_vec(),
            depends_on,
            message: message.to_string(),
            created: now(),
            lane: lane.name.clone(),
        })
    }
}

fn lane_names(lanes: &[Lane]) -> Vec<String> {
    lanes.iter().map(|lane| lane.name.clone()).collect()
}

/// The lane named `name`, or the first configured lane.
fn find_lane<'a>(lanes: &'a [Lane], name: Option<&str>) -> Result<&'a Lane, Error> {
    let found = match name {
        Some(name) => lanes.iter().find(|lane| lane.name == name),
        None => lanes.first(),
    };
    found.ok_or_else(|| Error::UnknownLane {
        lane: name.unwrap_or_default().to_string(),
        configured: lane_names(lanes),
    })
}

/// The one lane of a merge's parents.
fn merge_lane(parents: &[String], revisions: &[Revision]) -> Result<String, Error> {
    let with_lanes: Vec<(String, String)> = parents
        .iter()
        .filter_map(|id| revisions.iter().find(|rev| &rev.id == id))
        .map(|rev| (rev.id.clone(), rev.lane.clone()))
        .collect();
    let Some((_, first)) = with_lanes.first() else {
        return Err(Error::NothingToMerge);
    };
    if with_lanes.iter().any(|(_, lane)| lane != first) {
        return Err(Error::MergeAcrossLanes {
            parents: with_lanes,
        });
    }
    Ok(first.clone())
}

/// The id of a new revision: `rev_id` checked, or a fresh random one.
fn new_id(rev_id: Option<&str>, revisions: &[Revision]) -> Result<String, Error> {
    let existing = |id: &str| revisions.iter().find(|rev| rev.id == id);
    let Some(id) = rev_id else {
        // 48 random bits; a collision is astronomically unlikely, but cheap
        // to rule out.
        loop {
            let id = random_id();
            if existing(&id).is_none() {
                return Ok(id);
            }
        }
    };
    validate_id(id).map_err(|message| Error::InvalidRevisionId {
        id: id.to_string(),
        message,
    })?;
    if let Some(rev) = existing(id) {
        return Err(Error::DuplicateRevisionId {
            id: id.to_string(),
            path: rev.path.clone(),
        });
    }
    Ok(id.to_string())
}

/// 12 random lowercase hex characters, like Alembic's `uuid4().hex[-12:]`.
pub fn random_id() -> String {
    let bytes: [u8; 6] = rand::random();
    hex::encode(bytes)
}

/// New branch labels must be usable as targets (`LABEL@head`) and in both
/// file formats, and must not collide with existing labels, ids or lane
/// names (which work as labels).
fn check_branch_labels(
    labels: &[String],
    id: &str,
    revisions: &[Revision],
    lanes: &[Lane],
) -> Result<(), Error> {
    let invalid = |label: &str, reason: String| Error::InvalidBranchLabel {
        label: label.to_string(),
        id: id.to_string(),
        reason,
    };
    for (index, label) in labels.iter().enumerate() {
        if label.is_empty() {
            return Err(invalid(label, "it is empty".to_string()));
        }
        if let Some(c) = label
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || [',', '@', ':'].contains(c))
        {
            return Err(invalid(
                label,
                format!("the character {c:?} is not allowed"),
            ));
        }
        if labels[..index].contains(label) {
            return Err(invalid(label, "it is given twice".to_string()));
        }
        if lanes.iter().any(|lane| &lane.name == label) {
            return Err(invalid(label, "it is the name of a lane".to_string()));
        }
        if let Some(rev) = revisions.iter().find(|rev| &rev.id == label) {
            return Err(invalid(
                label,
                format!("it is the id of revision {}", rev.id),
            ));
        }
        if let Some(rev) = revisions
            .iter()
            .find(|rev| rev.branch_labels.contains(label))
        {
            // Alembic's wording.
            return Err(invalid(
                label,
                format!(
                    "Branch name '{label}' in revision {id} already used by revision {}",
                    rev.id
                ),
            ));
        }
    }
    Ok(())
}

/// Now, to the second (files record whole seconds).
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// Renders, checks and writes a new revision file into `lane`'s directory.
fn write_revision(
    settings: &RevisionSettings,
    lane: &Lane,
    spec: &RevisionSpec,
    format: FileFormat,
) -> Result<PathBuf, Error> {
    let name = scaffold::file_name(&settings.file_template, spec, format)?;
    let path = lane.dir.join(name);
    let text = Templates::new(settings.templates.clone()).render_revision(spec, format)?;
    check_generated(&text, &path, spec)?;
    create_dir_all(&lane.dir)?;
    write_new(&path, &text)?;
    Ok(path)
}

/// The rendered file must parse back to the intended links.
fn check_generated(text: &str, path: &Path, spec: &RevisionSpec) -> Result<(), Error> {
    let invalid = |reason: String| Error::GeneratedInvalid {
        path: path.to_path_buf(),
        reason,
    };
    let rev = parse_str(text, path, &spec.lane).map_err(|e| invalid(e.to_string()))?;
    let checks = [
        ("revision", rev.id == spec.id),
        ("down_revision", rev.down_revisions == spec.down_revisions),
        ("branch_labels", rev.branch_labels == spec.branch_labels),
        ("depends_on", rev.depends_on == spec.depends_on),
    ];
    if let Some((key, _)) = checks.iter().find(|(_, ok)| !ok) {
        return Err(invalid(format!("`{key}` does not say what was asked for")));
    }
    Ok(())
}

fn create_dir_all(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates `path` with `text`; never overwrites.
fn write_new(path: &Path, text: &str) -> Result<(), Error> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::FileExists {
                path: path.to_path_buf(),
            },
            _ => Error::Io {
                action: "create",
                path: path.to_path_buf(),
                source,
            },
        })?;
    file.write_all(text.as_bytes()).map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// The lane directories `retort init` creates, relative to the project.
pub const INIT_LANES: &[&str] = &["migrations/schema", "migrations/data"];

/// Scaffolds a project in `dir` (`retort init [DIR]`): `alembic.toml`, the
/// lane directories `migrations/schema/` and `migrations/data/` (each with a
/// `.gitkeep`), and with `copy_templates` the revision templates in
/// `templates/` (and `[revision] templates = "templates"` in the config).
///
/// `dir` may exist (it is created if not) as long as it has no
/// `alembic.toml`. Existing lane directories and `.gitkeep` files are kept.
/// Returns every directory created and file written, in that order, for the
/// CLI to print.
///
/// ```no_run
/// let created = retort::project::init_project(std::path::Path::new("."), false)?;
/// for path in created {
///     println!("Creating {} ...  done", path.display());
/// }
/// # Ok::<(), retort::project::Error>(())
/// ```
///
/// # Errors
/// An existing `alembic.toml` (or template file, with `copy_templates`;
/// checked before anything is written), I/O.
pub fn init_project(dir: &Path, copy_templates: bool) -> Result<Vec<PathBuf>, Error> {
    let config_path = dir.join("alembic.toml");
    if config_path.exists() {
        return Err(Error::ConfigExists { path: config_path });
    }
    let templates_dir = dir.join("templates");
    let templates: &[&str] = if copy_templates {
        scaffold::PROJECT_TEMPLATES
    } else {
        &[]
    };
    if let Some(path) = templates
        .iter()
        .map(|name| templates_dir.join(name))
        .find(|path| path.exists())
    {
        return Err(Error::FileExists { path });
    }
    let mut created = Vec::new();
    make_dir(dir, &mut created)?;
    let config = scaffold::render_config(copy_templates.then_some("templates"))?;
    write_new(&config_path, &config)?;
    created.push(config_path);
    for lane in INIT_LANES {
        let lane_dir = dir.join(lane);
        make_dir(&lane_dir, &mut created)?;
        let keep = lane_dir.join(".gitkeep");
        if !keep.exists() {
            write_new(&keep, "")?;
            created.push(keep);
        }
    }
    if copy_templates {
        make_dir(&templates_dir, &mut created)?;
    }
    for name in templates {
        let path = templates_dir.join(name);
        write_new(&path, scaffold::embedded(name).unwrap_or_default())?;
        created.push(path);
    }
    Ok(created)
}

/// Creates `dir` and its missing parents, recording the ones created.
fn make_dir(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), Error> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .map(Path::to_path_buf)
        .collect();
    create_dir_all(dir)?;
    created.extend(missing.into_iter().rev());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::{parse_file, FileFormat};

    fn lanes(dir: &Path) -> Vec<Lane> {
        ["schema", "data"]
            .iter()
            .map(|name| Lane {
                name: name.to_string(),
                dir: dir.join("migrations").join(name),
            })
            .collect()
    }

    fn rev(id: &str, labels: &[&str]) -> Revision {
        let text = format!("revision = \"{id}\"\n");
        let mut rev = parse_str(&text, Path::new(&format!("m/{id}.toml")), "schema").unwrap();
        rev.branch_labels = labels.iter().map(|l| l.to_string()).collect();
        rev
    }

    fn spec(id: &str, message: &str) -> RevisionSpec {
        RevisionSpec {
            id: id.to_string(),
            down_revisions: vec!["a1".to_string()],
            branch_labels: vec!["billing".to_string()],
            depends_on: vec!["d1".to_string()],
            message: message.to_string(),
            created: now(),
            lane: "data".to_string(),
        }
    }

    fn settings(templates: Option<PathBuf>) -> RevisionSettings {
        RevisionSettings {
            format: FileFormat::Toml,
            file_template: scaffold::DEFAULT_FILE_TEMPLATE.to_string(),
            templates,
        }
    }

    #[test]
    fn lanes_default_to_the_first_and_unknown_ones_are_listed() {
        let lanes = lanes(Path::new("/p"));
        assert_eq!(find_lane(&lanes, None).unwrap().name, "schema");
        assert_eq!(find_lane(&lanes, Some("data")).unwrap().name, "data");
        let err = find_lane(&lanes, Some("dta")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown lane 'dta'; configured lanes: schema, data"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn ids_are_random_hex_or_checked() {
        let id = random_id();
        assert_eq!(id.len(), 12);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(random_id(), id);
        let existing = [rev("abc", &[])];
        assert_eq!(new_id(Some("new_1"), &existing).unwrap(), "new_1");
        assert_eq!(new_id(None, &existing).unwrap().len(), 12);
        let err = new_id(Some("bad-id"), &existing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Character(s) '-' not allowed in revision identifier 'bad-id'"
        );
        let err = new_id(Some("abc"), &existing).unwrap_err();
        assert!(err
            .to_string()
            .contains("revision 'abc' already exists in m/abc.toml"));
    }

    #[test]
    fn branch_labels_are_checked() {
        let lanes = lanes(Path::new("/p"));
        let existing = [rev("abc", &["billing"])];
        let check = |labels: &[&str]| {
            let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            check_branch_labels(&labels, "new1", &existing, &lanes).map_err(|e| e.to_string())
        };
        assert!(check(&["feature_x", "v2.1"]).is_ok());
        assert!(check(&["a b"]).unwrap_err().contains("not allowed"));
        assert!(check(&["x@y"]).unwrap_err().contains("not allowed"));
        assert!(check(&[""]).unwrap_err().contains("empty"));
        assert!(check(&["x", "x"]).unwrap_err().contains("twice"));
        assert!(check(&["data"]).unwrap_err().contains("name of a lane"));
        assert!(check(&["abc"]).unwrap_err().contains("id of revision abc"));
        assert!(check(&["billing"])
            .unwrap_err()
            .contains("Branch name 'billing' in revision new1 already used by revision abc"));
    }

    #[test]
    fn merge_lane_is_the_parents_lane() {
        let mut a = rev("a", &[]);
        let mut b = rev("b", &[]);
        assert_eq!(
            merge_lane(&["a".into(), "b".into()], &[a.clone(), b.clone()]).unwrap(),
            "schema"
        );
        a.lane = "data".to_string();
        b.lane = "schema".to_string();
        let err = merge_lane(&["a".into(), "b".into()], &[a, b]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot merge revisions of different lanes (a in data, b in schema); \
             down_revision links stay inside one lane"
        );
        assert!(matches!(merge_lane(&[], &[]), Err(Error::NothingToMerge)));
    }

    #[test]
    fn write_revision_creates_the_lane_dir_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let lane = &lanes(dir.path())[1];
        let spec = spec("f00d", "Add \"quoted\" thing\nline two");
        for format in [FileFormat::Toml, FileFormat::Sql] {
            let path = write_revision(&settings(None), lane, &spec, format).unwrap();
            assert_eq!(
                path,
                lane.dir.join(format!(
                    "f00d_add_quoted_thing_line_two.{}",
                    format.extension()
                ))
            );
            let rev = parse_file(&path, "data").unwrap();
            assert_eq!(rev.id, "f00d");
            assert_eq!(rev.message, spec.message);
            assert_eq!(rev.down_revisions, ["a1"]);
            assert_eq!(rev.depends_on, ["d1"]);
            assert_eq!(rev.branch_labels, ["billing"]);
            let again = write_revision(&settings(None), lane, &spec, format).unwrap_err();
            assert!(matches!(again, Error::FileExists { .. }), "{again}");
        }
        let loaded = read_lane(&lane.dir, "data").unwrap();
        assert_eq!(loaded.len(), 2);
    }

    #[test]
    fn a_broken_override_template_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir(&templates).unwrap();
        std::fs::write(
            templates.join(scaffold::REVISION_TOML),
            "revision = \"{{ rev }}\"\n",
        )
        .unwrap();
        let lane = &lanes(dir.path())[0];
        let err = write_revision(
            &settings(Some(templates)),
            lane,
            &spec("f00d", "m"),
            FileFormat::Toml,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`down_revision` does not say"),
            "{err}"
        );
        assert!(err.hint().is_some());
        assert!(!lane.dir.exists());
    }

    #[test]
    fn init_scaffolds_a_project_once() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("proj");
        let created = init_project(&dir, true).unwrap();
        let rel: Vec<String> = created
            .iter()
            .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "proj",
                "proj/alembic.toml",
                "proj/migrations",
                "proj/migrations/schema",
                "proj/migrations/schema/.gitkeep",
                "proj/migrations/data",
                "proj/migrations/data/.gitkeep",
                "proj/templates",
                "proj/templates/revision.toml.j2",
                "proj/templates/revision.data.toml.j2",
                "proj/templates/revision.sql.j2",
            ]
        );
        let config = std::fs::read_to_string(dir.join("alembic.toml")).unwrap();
        assert!(config.contains("\ntemplates = \"templates\""), "{config}");
        let err = init_project(&dir, false).unwrap_err();
        assert!(matches!(err, Error::ConfigExists { .. }), "{err}");
        assert!(err.hint().is_some());
    }

    #[test]
    fn init_in_an_existing_directory_keeps_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("migrations/schema")).unwrap();
        std::fs::write(dir.path().join("migrations/schema/a.sql"), "x").unwrap();
        let created = init_project(dir.path(), false).unwrap();
        assert!(!created.contains(&dir.path().to_path_buf()));
        assert!(!dir.path().join("templates").exists());
        let config = std::fs::read_to_string(dir.path().join("alembic.toml")).unwrap();
        assert!(config.contains("# templates = \"templates\""), "{config}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("migrations/schema/a.sql")).unwrap(),
            "x"
        );
    }

    #[test]
    fn init_refuses_to_overwrite_templates_before_writing_anything() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/revision.sql.j2"), "mine").unwrap();
        let err = init_project(dir.path(), true).unwrap_err();
        assert!(matches!(err, Error::FileExists { .. }), "{err}");
        assert!(!dir.path().join("alembic.toml").exists());
    }
}
