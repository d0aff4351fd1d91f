//! `upgrade --sql`, `downgrade --sql`, `stamp --sql`: the script of a plan,
//! for the dialect of the configured URL, without a connection.
//!
//! The three entry points parse `[FROM:]TO`, ask the graph for the plan
//! (from the applied set implied by FROM, or from base) and hand it to
//! [`render_script`], a pure function pinned by unit tests. Each revision's
//! statements come from [`super::script::revision_script`], the same
//! function the online runner uses.
//!
//! Output follows Alembic's offline mode (alembic-semantics §8): every
//! statement ends with `;` and is followed by a blank line; a comment line
//! `-- Running upgrade <downs> -> <id>` precedes each revision; the version
//! tables are created (`IF NOT EXISTS`) at the start of the first revision
//! when the plan starts from base. Differences (design §9): SQLite is
//! wrapped in `BEGIN;`/`COMMIT;` like PostgreSQL, one pair per revision
//! (one around everything with `atomic`); MySQL gets none, as its DDL
//! commits implicitly; the version statements are retort's INSERT/DELETE of
//! one `_versions` row per revision plus a `_versions_log` row. Rows
//! written by a script record `applied_by = 'offline'` and the database's
//! current time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::script::{revision_script_in, version_statements, Bookkeeping, VersionChange};
use crate::dialect::ops::render::{FOREIGN_KEYS_OFF, FOREIGN_KEYS_ON};
use crate::dialect::ops::SchemaModel;
use crate::dialect::versions::VersionTables;
use crate::dialect::{self, replay_schema, Dialect, Direction};
use crate::graph::{self, Applied, Graph};
use crate::revision::{Revision, StepKind};

/// Errors building a script.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Target resolution or planning failed.
    #[error(transparent)]
    Graph(#[from] graph::Error),
    /// A revision's steps could not be rendered.
    #[error(transparent)]
    Render(#[from] dialect::Error),
    /// `downgrade --sql` without `FROM:` (Alembic's wording).
    #[error("downgrade with --sql requires <fromrev>:<torev>")]
    DowngradeNeedsRange,
    /// A range with more than one `:` or an empty end.
    #[error(
        "`{0}` is not a valid range: expected [FROM:]TO with one `:`, e.g. `ae1027a6acf0:head`"
    )]
    BadRange(String),
    /// FROM names no revision or several (e.g. `heads` with two heads).
    #[error("the start of an offline range must be one revision, but `{from}` names {}: give one revision id as FROM", describe(.found))]
    StartNotSingle {
        /// The FROM as written.
        from: String,
        /// The ids it resolved to.
        found: Vec<String>,
    },
    /// Stamp targets with different starts (Alembic's wording).
    #[error("Stamp operation with --sql only supports a single starting revision at a time")]
    StampStarts,
    /// `transactional = false` inside a single-transaction (`atomic`) script.
    #[error(
        "revision {revision} ({}) has `transactional = false` (it cannot run inside a transaction block, e.g. CREATE INDEX CONCURRENTLY), but --atomic / transaction = \"all\" puts the whole {dialect} script in one transaction: run without --atomic",
        .file.display()
    )]
    NonTransactionalInAtomic {
        /// Revision id.
        revision: String,
        /// Revision file.
        file: PathBuf,
        /// Target dialect.
        dialect: Dialect,
    },
}

fn describe(found: &[String]) -> String {
    match found {
        [] => "no revision".to_string(),
        ids => format!("{} revisions ({})", ids.len(), ids.join(", ")),
    }
}

impl Error {
    /// A line telling the user what to run next, if there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Graph(e) => e.hint(),
            Error::DowngradeNeedsRange => {
                Some("e.g. `retort downgrade --sql ae1027a6acf0:-1`".to_string())
            }
            Error::Render(_)
            | Error::BadRange(_)
            | Error::StartNotSingle { .. }
            | Error::StampStarts
            | Error::NonTransactionalInAtomic { .. } => None,
        }
    }
}

/// What a script is rendered for.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// Target dialect (from the URL).
    pub dialect: Dialect,
    /// Version table name; the log is `<name>_log`.
    pub version_table: String,
    /// One transaction around everything instead of one per revision.
    pub atomic: bool,
    /// Values for templated SQL (`[vars]` and `-x`).
    pub vars: BTreeMap<String, String>,
}

/// One unit of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptStep<'a> {
    /// Run the revision's upgrade steps and insert its row.
    Upgrade(&'a Revision),
    /// Run the revision's downgrade steps and delete its row.
    Downgrade(&'a Revision),
    /// Change rows only: `-- Running stamp_revision <from> -> <to>`.
    Stamp {
        /// Heads before the stamp (ids; empty: base).
        from: Vec<String>,
        /// Heads after the stamp (ids; empty: base).
        to: Vec<String>,
        /// Rows deleted, in this order.
        remove: Vec<&'a Revision>,
        /// Rows inserted, in this order.
        add: Vec<&'a Revision>,
    },
}

/// The script of `upgrade --sql [FROM:]TO`. With no FROM the plan starts
/// at base. A TO at or below FROM gives an empty script, as in Alembic.
///
/// # Errors
/// Target and planning errors; steps that cannot be rendered.
pub fn upgrade_script(graph: &Graph, opts: &ScriptOptions, range: &str) -> Result<String, Error> {
    let (from, to) = split_range(range)?;
    let applied = start_applied(graph, from)?;
    let plan = graph.plan_upgrade(&applied, to)?;
    let steps: Vec<ScriptStep<'_>> = plan.into_iter().map(ScriptStep::Upgrade).collect();
    render_script_in(&steps, opts, applied.is_empty(), Some(graph))
}

/// The script of `downgrade --sql FROM:TO`.
///
/// # Errors
/// `downgrade with --sql requires <fromrev>:<torev>`, target and planning errors.
pub fn downgrade_script(graph: &Graph, opts: &ScriptOptions, range: &str) -> Result<String, Error> {
    let (from, to) = split_range(range)?;
    let from = from.ok_or(Error::DowngradeNeedsRange)?;
    let applied = start_applied(graph, Some(from))?;
    let plan = graph.plan_downgrade(&applied, to)?;
    let steps: Vec<ScriptStep<'_>> = plan.into_iter().map(ScriptStep::Downgrade).collect();
    render_script_in(&steps, opts, applied.is_empty(), Some(graph))
}

/// The script of `stamp --sql [FROM:]REV…`. Every target must have the same
/// FROM (or none).
///
/// # Errors
/// `Stamp operation with --sql only supports a single starting revision at
/// a time`; target errors.
pub fn stamp_script(
    graph: &Graph,
    opts: &ScriptOptions,
    targets: &[String],
) -> Result<String, Error> {
    let mut start: Option<Option<&str>> = None;
    let mut revs: Vec<String> = Vec::with_capacity(targets.len());
    for target in targets {
        let (from, to) = split_range(target)?;
        match start {
            Some(s) if s != from => return Err(Error::StampStarts),
            _ => start = Some(from),
        }
        revs.push(to.to_string());
    }
    let applied = start_applied(graph, start.flatten())?;
    let plan = graph.plan_stamp(&applied, &revs)?;
    // One `stamp_revision` step per Alembic step (per destination; per
    // head for `base`); nothing when every target is already current.
    let steps: Vec<ScriptStep<'_>> = plan
        .steps
        .into_iter()
        .map(|step| ScriptStep::Stamp {
            from: step.from,
            to: step.to.into_iter().collect(),
            remove: step.remove,
            add: step.add,
        })
        .collect();
    render_script_in(&steps, opts, applied.is_empty(), Some(graph))
}

/// `[FROM:]TO` → (FROM, TO). An empty FROM (`:TO`) counts as none.
fn split_range(range: &str) -> Result<(Option<&str>, &str), Error> {
    let (from, to) = match range.split_once(':') {
        Some((from, to)) => (Some(from).filter(|f| !f.is_empty()), to),
        None => (None, range),
    };
    if to.is_empty() || to.contains(':') {
        return Err(Error::BadRange(range.to_string()));
    }
    Ok((from, to))
}

/// The applied set an offline run starts from: FROM (exactly one revision)
/// and its ancestors, or nothing for no FROM and `base`.
fn start_applied(graph: &Graph, from: Option<&str>) -> Result<Applied, Error> {
    match from {
        None => Ok(Applied::default()),
        Some(from) => Ok(graph.start_state(from)?),
    }
}

/// A script under construction: statements end with `;` and every item is
/// followed by a blank line.
#[derive(Default)]
struct Script {
    text: String,
}

impl Script {
    fn statement(&mut self, sql: &str) {
        // DATA LANE HOOK: comment-only blocks (transform, verify) get no `;`.
        if crate::data::render::is_comment_only(sql) {
            let _ = write!(self.text, "{sql}\n\n");
            return;
        }
        let _ = write!(self.text, "{sql};\n\n");
    }

    fn comment(&mut self, line: &str) {
        let _ = write!(self.text, "-- {line}\n\n");
    }
}

/// One revision or stamp, ready to print.
struct Unit {
    comment: String,
    transactional: bool,
    statements: Vec<String>,
    revision: Option<(String, PathBuf)>,
    foreign_keys_off: bool,
}

/// [`render_script_in`] without a graph: operations are rendered knowing no
/// table definitions.
///
/// # Errors
/// As [`render_script_in`].
pub fn render_script(
    steps: &[ScriptStep<'_>],
    opts: &ScriptOptions,
    from_base: bool,
) -> Result<String, Error> {
    render_script_in(steps, opts, from_base, None)
}

/// Renders `steps` as a SQL script for `opts.dialect`. `from_base`: the
/// version tables may not exist yet, so their `CREATE TABLE IF NOT EXISTS`
/// come first (inside the first revision's transaction). No steps: an empty
/// script.
///
/// # Errors
/// Rendering errors (a downgrade through a revision without downgrade
/// steps, unsupported operations, templates), and a non-transactional
/// revision in an `atomic` script on PostgreSQL or SQLite.
///
/// With `graph`, each revision's operations are rendered against the
/// schema replayed from its ancestors' upgrade steps
/// ([`dialect::replay_schema`]): SQLite rebuilds, MySQL `MODIFY COLUMN`
/// and derived downgrades need it. A revision with a SQLite rebuild gets
/// `PRAGMA foreign_keys=OFF` before its `BEGIN` and `=ON` after its
/// `COMMIT` (SQLite ignores the pragma inside a transaction).
pub fn render_script_in(
    steps: &[ScriptStep<'_>],
    opts: &ScriptOptions,
    from_base: bool,
    graph: Option<&Graph>,
) -> Result<String, Error> {
    if steps.is_empty() {
        return Ok(String::new());
    }
    let tables = VersionTables::new(&opts.version_table, opts.dialect);
    let book = Bookkeeping::offline(&tables);
    let units = units_of(steps, opts, &book, graph)?;
    let wraps = opts.dialect.transactional_ddl();
    if opts.atomic && wraps {
        if let Some((revision, file)) = units
            .iter()
            .find(|u| !u.transactional)
            .and_then(|u| u.revision.clone())
        {
            return Err(Error::NonTransactionalInAtomic {
                revision,
                file,
                dialect: opts.dialect,
            });
        }
    }
    let mut script = Script::default();
    let any_fk_off = units.iter().any(|u| u.foreign_keys_off);
    if opts.atomic && wraps {
        if any_fk_off {
            script.statement(FOREIGN_KEYS_OFF);
        }
        script.statement("BEGIN");
    }
    for (index, unit) in units.iter().enumerate() {
        let own_transaction = wraps && !opts.atomic && unit.transactional;
        let fk_off = unit.foreign_keys_off && !opts.atomic;
        if fk_off {
            script.statement(FOREIGN_KEYS_OFF);
        }
        if own_transaction {
            script.statement("BEGIN");
        }
        if index == 0 && from_base {
            for sql in tables.create_statements() {
                script.statement(&sql);
            }
        }
        script.comment(&unit.comment);
        for sql in &unit.statements {
            script.statement(sql);
        }
        if own_transaction {
            script.statement("COMMIT");
        }
        if fk_off {
            script.statement(FOREIGN_KEYS_ON);
        }
    }
    if opts.atomic && wraps {
        script.statement("COMMIT");
        if any_fk_off {
            script.statement(FOREIGN_KEYS_ON);
        }
    }
    Ok(script.text)
}

/// The schema before `rev`'s upgrade: its ancestors' upgrades replayed.
fn schema_before(
    rev: &Revision,
    graph: Option<&Graph>,
    dialect: Dialect,
) -> Result<SchemaModel, Error> {
    let Some(graph) = graph else {
        return Ok(SchemaModel::new());
    };
    // Only operations read the schema (SQLite rebuilds, MySQL `MODIFY
    // COLUMN`, derived downgrades); a revision of plain `sql` steps renders
    // the same against any schema. Skipping the replay there keeps
    // `upgrade --sql` linear: replaying every revision's ancestors is
    // quadratic (minutes at 5,000 revisions, issue #2).
    let has_operations = rev
        .upgrade
        .iter()
        .chain(rev.downgrade.iter().flatten())
        .any(|step| matches!(step.kind, StepKind::Operation { .. }));
    if !has_operations {
        return Ok(SchemaModel::new());
    }
    let closure = graph.closure(&[rev.id.as_str()])?;
    let ancestors: Vec<&Revision> = closure
        .ids()
        .iter()
        .filter(|id| **id != rev.id)
        .filter_map(|id| graph.get(id))
        .collect();
    Ok(replay_schema(&ancestors, dialect)?)
}

/// The units of `steps`, in order. Each unit depends only on its own step
/// (and the graph), so long scripts are rendered on all cores in contiguous
/// chunks; the first error in step order is returned, as a sequential
/// render would.
fn units_of(
    steps: &[ScriptStep<'_>],
    opts: &ScriptOptions,
    book: &Bookkeeping<'_>,
    graph: Option<&Graph>,
) -> Result<Vec<Unit>, Error> {
    /// Below this many steps per thread, spawning costs more than it saves.
    const MIN_PER_THREAD: usize = 512;
    let render = |part: &[ScriptStep<'_>]| {
        part.iter()
            .map(|step| unit(step, opts, book, graph))
            .collect::<Result<Vec<Unit>, Error>>()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(steps.len() / MIN_PER_THREAD);
    if threads < 2 {
        return render(steps);
    }
    let chunk = steps.len().div_ceil(threads);
    let parts: Vec<Result<Vec<Unit>, Error>> = std::thread::scope(|scope| {
        let rest: Vec<_> = steps
            .chunks(chunk)
            .skip(1)
            .map(|part| scope.spawn(move || render(part)))
            .collect();
        let mut parts = vec![render(&steps[..chunk.min(steps.len())])];
        for worker in rest {
            parts.push(
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        parts
    });
    let mut units = Vec::with_capacity(steps.len());
    for part in parts {
        units.extend(part?);
    }
    Ok(units)
}

fn unit(
    step: &ScriptStep<'_>,
    opts: &ScriptOptions,
    book: &Bookkeeping<'_>,
    graph: Option<&Graph>,
) -> Result<Unit, Error> {
    let (rev, direction) = match step {
        ScriptStep::Upgrade(rev) => (*rev, Direction::Upgrade),
        ScriptStep::Downgrade(rev) => (*rev, Direction::Downgrade),
        ScriptStep::Stamp {
            from,
            to,
            remove,
            add,
        } => {
            let mut statements = Vec::new();
            for rev in remove {
                statements.extend(version_statements(rev, VersionChange::StampRemove, book));
            }
            for rev in add {
                statements.extend(version_statements(rev, VersionChange::StampAdd, book));
            }
            return Ok(Unit {
                comment: format!(
                    "Running stamp_revision {} -> {}",
                    from.join(", "),
                    to.join(", ")
                ),
                transactional: true,
                statements,
                revision: None,
                foreign_keys_off: false,
            });
        }
    };
    let before = schema_before(rev, graph, opts.dialect)?;
    let script = revision_script_in(rev, direction, opts.dialect, &opts.vars, book, &before)?;
    let mut statements = script.statements;
    statements.extend(script.version_statements);
    Ok(Unit {
        comment: script.comment,
        transactional: script.transactional,
        statements,
        revision: Some((rev.id.clone(), rev.path.clone())),
        foreign_keys_off: script.foreign_keys_off,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::render::tests::{rev, sql};

    fn opts(dialect: Dialect, atomic: bool) -> ScriptOptions {
        ScriptOptions {
            dialect,
            version_table: "_versions".to_string(),
            atomic,
            vars: BTreeMap::new(),
        }
    }

    /// Long scripts render on several threads: same units, same order, and
    /// the first error in step order, as a sequential render gives.
    #[test]
    fn long_scripts_render_in_order_and_report_the_first_error() {
        let broken = |id: &str| {
            let mut r = rev(id, &[], vec![], None);
            r.upgrade.push(crate::revision::Step {
                line: 7,
                kind: StepKind::Operation {
                    op: "frobnicate".to_string(),
                    fields: toml::Table::new(),
                },
            });
            r
        };
        let mut revs: Vec<Revision> = (0..1500)
            .map(|i| {
                rev(
                    &format!("r{i}"),
                    &[],
                    vec![sql(3, &format!("SELECT {i}"))],
                    None,
                )
            })
            .collect();
        let opts = opts(Dialect::Sqlite, false);
        let tables = VersionTables::new(&opts.version_table, opts.dialect);
        let book = Bookkeeping::offline(&tables);
        let steps: Vec<ScriptStep<'_>> = revs.iter().map(ScriptStep::Upgrade).collect();
        let units = units_of(&steps, &opts, &book, None).unwrap();
        let sequential: Vec<Unit> = steps
            .iter()
            .map(|s| unit(s, &opts, &book, None).unwrap())
            .collect();
        assert_eq!(units.len(), 1500);
        for (a, b) in units.iter().zip(&sequential) {
            assert_eq!((&a.comment, &a.statements), (&b.comment, &b.statements));
        }
        revs[1400] = broken("late");
        revs[900] = broken("early");
        let steps: Vec<ScriptStep<'_>> = revs.iter().map(ScriptStep::Upgrade).collect();
        let err = units_of(&steps, &opts, &book, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("revision early") && !err.contains("revision late"),
            "{err}"
        );
    }

    fn two() -> (Revision, Revision) {
        let a = rev(
            "a1",
            &[],
            vec![sql(
                10,
                "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);",
            )],
            Some(vec![sql(14, "DROP TABLE t")]),
        );
        let mut b = rev(
            "b2",
            &["a1"],
            vec![sql(9, "ALTER TABLE t ADD x INT")],
            Some(vec![]),
        );
        b.message = "add x's column".to_string();
        (a, b)
    }

    /// Asserts a script equal to `expected` with `{v}` standing for the
    /// tool version.
    fn check(actual: Result<String, Error>, expected: &str) {
        let expected = expected.replace("{v}", crate::dialect::versions::TOOL_VERSION);
        assert_eq!(actual.unwrap(), expected);
    }

    fn up_both<'a>(a: &'a Revision, b: &'a Revision) -> Vec<ScriptStep<'a>> {
        vec![ScriptStep::Upgrade(a), ScriptStep::Upgrade(b)]
    }

    const SQLITE_UP: &str = r##"BEGIN;

CREATE TABLE IF NOT EXISTS "_versions" ( "version" text NOT NULL PRIMARY KEY, "lane" text NOT NULL, "state" text NOT NULL, "checksum" text NOT NULL, "message" text NOT NULL, "applied_at" text NOT NULL, "execution_ms" integer NULL, "progress" text NULL, "error" text NULL, "applied_by" text NOT NULL, "source" text NULL );

CREATE TABLE IF NOT EXISTS "_versions_log" ( "id" integer NOT NULL PRIMARY KEY, "at" text NOT NULL, "action" text NOT NULL, "version" text NOT NULL, "lane" text NOT NULL, "duration_ms" integer NULL, "outcome" text NOT NULL, "error" text NULL, "applied_by" text NOT NULL, "tool_version" text NOT NULL );

-- Running upgrade  -> a1

CREATE TABLE t (id INT);

INSERT INTO t VALUES (1);

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('a1', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'message of a1', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

BEGIN;

-- Running upgrade a1 -> b2

ALTER TABLE t ADD x INT;

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('b2', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'add x''s column', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

"##;

    const PG_UP: &str = r##"BEGIN;

CREATE TABLE IF NOT EXISTS "_versions" ( "version" varchar(255) NOT NULL PRIMARY KEY, "lane" varchar(255) NOT NULL, "state" varchar(16) NOT NULL, "checksum" varchar(64) NOT NULL, "message" text NOT NULL, "applied_at" timestamp with time zone NOT NULL, "execution_ms" bigint NULL, "progress" jsonb NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "source" text NULL );

CREATE TABLE IF NOT EXISTS "_versions_log" ( "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY, "at" timestamp with time zone NOT NULL, "action" varchar(16) NOT NULL, "version" varchar(255) NOT NULL, "lane" varchar(255) NOT NULL, "duration_ms" bigint NULL, "outcome" varchar(16) NOT NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "tool_version" varchar(64) NOT NULL );

-- Running upgrade  -> a1

CREATE TABLE t (id INT);

INSERT INTO t VALUES (1);

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('a1', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'message of a1', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'upgrade', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

BEGIN;

-- Running upgrade a1 -> b2

ALTER TABLE t ADD x INT;

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('b2', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', E'add x\'s column', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'upgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

"##;

    const MYSQL_UP: &str = r##"CREATE TABLE IF NOT EXISTS `_versions` ( `version` varchar(255) NOT NULL PRIMARY KEY, `lane` varchar(255) NOT NULL, `state` varchar(16) NOT NULL, `checksum` varchar(64) NOT NULL, `message` text NOT NULL, `applied_at` DATETIME(6) NOT NULL, `execution_ms` bigint NULL, `progress` json NULL, `error` text NULL, `applied_by` varchar(255) NOT NULL, `source` text NULL );

CREATE TABLE IF NOT EXISTS `_versions_log` ( `id` bigint NOT NULL PRIMARY KEY AUTO_INCREMENT, `at` DATETIME(6) NOT NULL, `action` varchar(16) NOT NULL, `version` varchar(255) NOT NULL, `lane` varchar(255) NOT NULL, `duration_ms` bigint NULL, `outcome` varchar(16) NOT NULL, `error` text NULL, `applied_by` varchar(255) NOT NULL, `tool_version` varchar(64) NOT NULL );

-- Running upgrade  -> a1

CREATE TABLE t (id INT);

INSERT INTO t VALUES (1);

INSERT INTO `_versions` (`version`, `lane`, `state`, `checksum`, `message`, `applied_at`, `execution_ms`, `progress`, `error`, `applied_by`) VALUES ('a1', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'message of a1', UTC_TIMESTAMP(6), NULL, NULL, NULL, 'offline');

INSERT INTO `_versions_log` (`at`, `action`, `version`, `lane`, `duration_ms`, `outcome`, `error`, `applied_by`, `tool_version`) VALUES (UTC_TIMESTAMP(6), 'upgrade', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

-- Running upgrade a1 -> b2

ALTER TABLE t ADD x INT;

INSERT INTO `_versions` (`version`, `lane`, `state`, `checksum`, `message`, `applied_at`, `execution_ms`, `progress`, `error`, `applied_by`) VALUES ('b2', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'add x\'s column', UTC_TIMESTAMP(6), NULL, NULL, NULL, 'offline');

INSERT INTO `_versions_log` (`at`, `action`, `version`, `lane`, `duration_ms`, `outcome`, `error`, `applied_by`, `tool_version`) VALUES (UTC_TIMESTAMP(6), 'upgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

"##;

    const PG_UP_ATOMIC: &str = r##"BEGIN;

CREATE TABLE IF NOT EXISTS "_versions" ( "version" varchar(255) NOT NULL PRIMARY KEY, "lane" varchar(255) NOT NULL, "state" varchar(16) NOT NULL, "checksum" varchar(64) NOT NULL, "message" text NOT NULL, "applied_at" timestamp with time zone NOT NULL, "execution_ms" bigint NULL, "progress" jsonb NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "source" text NULL );

CREATE TABLE IF NOT EXISTS "_versions_log" ( "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY, "at" timestamp with time zone NOT NULL, "action" varchar(16) NOT NULL, "version" varchar(255) NOT NULL, "lane" varchar(255) NOT NULL, "duration_ms" bigint NULL, "outcome" varchar(16) NOT NULL, "error" text NULL, "applied_by" varchar(255) NOT NULL, "tool_version" varchar(64) NOT NULL );

-- Running upgrade  -> a1

CREATE TABLE t (id INT);

INSERT INTO t VALUES (1);

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('a1', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', 'message of a1', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'upgrade', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

-- Running upgrade a1 -> b2

ALTER TABLE t ADD x INT;

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('b2', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', E'add x\'s column', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'upgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

"##;

    const SQLITE_DOWN: &str = r##"BEGIN;

-- Running downgrade b2 -> a1

DELETE FROM "_versions" WHERE "version" = 'b2';

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'downgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

BEGIN;

-- Running downgrade a1 -> 

DROP TABLE t;

DELETE FROM "_versions" WHERE "version" = 'a1';

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'downgrade', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

"##;

    const PG_STAMP: &str = r##"BEGIN;

-- Running stamp_revision a1 -> b2

DELETE FROM "_versions" WHERE "version" = 'a1';

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'stamp', 'a1', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

INSERT INTO "_versions" ("version", "lane", "state", "checksum", "message", "applied_at", "execution_ms", "progress", "error", "applied_by") VALUES ('b2', 'schema', 'applied', 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', E'add x\'s column', CURRENT_TIMESTAMP, NULL, NULL, NULL, 'offline');

INSERT INTO "_versions_log" ("at", "action", "version", "lane", "duration_ms", "outcome", "error", "applied_by", "tool_version") VALUES (CURRENT_TIMESTAMP, 'stamp', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '{v}');

COMMIT;

"##;

    #[test]
    fn upgrade_from_base_sqlite() {
        let (a, b) = two();
        check(
            render_script(&up_both(&a, &b), &opts(Dialect::Sqlite, false), true),
            SQLITE_UP,
        );
    }

    #[test]
    fn upgrade_from_base_postgres() {
        let (a, b) = two();
        check(
            render_script(&up_both(&a, &b), &opts(Dialect::Postgres, false), true),
            PG_UP,
        );
    }

    #[test]
    fn upgrade_from_base_mysql_has_no_transactions() {
        let (a, b) = two();
        check(
            render_script(&up_both(&a, &b), &opts(Dialect::Mysql, false), true),
            MYSQL_UP,
        );
        // --atomic changes nothing on MySQL: its DDL commits implicitly.
        check(
            render_script(&up_both(&a, &b), &opts(Dialect::Mysql, true), true),
            MYSQL_UP,
        );
    }

    #[test]
    fn upgrade_atomic_postgres() {
        let (a, b) = two();
        check(
            render_script(&up_both(&a, &b), &opts(Dialect::Postgres, true), true),
            PG_UP_ATOMIC,
        );
    }

    #[test]
    fn downgrade_sqlite() {
        let (a, b) = two();
        let steps = [ScriptStep::Downgrade(&b), ScriptStep::Downgrade(&a)];
        check(
            render_script(&steps, &opts(Dialect::Sqlite, false), false),
            SQLITE_DOWN,
        );
    }

    #[test]
    fn stamp_postgres() {
        let (a, b) = two();
        let steps = [ScriptStep::Stamp {
            from: vec!["a1".into()],
            to: vec!["b2".into()],
            remove: vec![&a],
            add: vec![&b],
        }];
        check(
            render_script(&steps, &opts(Dialect::Postgres, false), false),
            PG_STAMP,
        );
    }

    #[test]
    fn stamp_from_base_creates_tables_and_has_two_spaces() {
        let (a, _) = two();
        let steps = [ScriptStep::Stamp {
            from: vec![],
            to: vec!["a1".into()],
            remove: vec![],
            add: vec![&a],
        }];
        let out = render_script(&steps, &opts(Dialect::Sqlite, false), true).unwrap();
        assert!(
            out.starts_with("BEGIN;\n\nCREATE TABLE IF NOT EXISTS \"_versions\" ("),
            "{out}"
        );
        assert!(
            out.contains("\n\n-- Running stamp_revision  -> a1\n\nINSERT INTO \"_versions\" "),
            "{out}"
        );
        assert!(!out.contains("DELETE"), "{out}");
    }

    #[test]
    fn not_from_base_has_no_create_table() {
        let (a, b) = two();
        let out = render_script(
            &[ScriptStep::Upgrade(&b)],
            &opts(Dialect::Postgres, false),
            false,
        )
        .unwrap();
        assert!(!out.contains("CREATE TABLE"), "{out}");
        assert!(
            out.starts_with(
                "BEGIN;\n\n-- Running upgrade a1 -> b2\n\nALTER TABLE t ADD x INT;\n\n"
            ),
            "{out}"
        );
        let _ = a;
    }

    #[test]
    fn merge_comment_joins_down_revisions() {
        let m = rev("m3", &["a1", "b2"], vec![], Some(vec![]));
        let out = render_script(
            &[ScriptStep::Upgrade(&m)],
            &opts(Dialect::Mysql, false),
            false,
        )
        .unwrap();
        assert!(
            out.starts_with("-- Running upgrade a1, b2 -> m3\n\nINSERT INTO `_versions`"),
            "{out}"
        );
        let out = render_script(
            &[ScriptStep::Downgrade(&m)],
            &opts(Dialect::Mysql, false),
            false,
        )
        .unwrap();
        assert!(
            out.starts_with("-- Running downgrade m3 -> a1, b2\n\nDELETE FROM `_versions`"),
            "{out}"
        );
    }

    #[test]
    fn empty_plan_is_an_empty_script() {
        for d in Dialect::ALL {
            for atomic in [false, true] {
                assert_eq!(render_script(&[], &opts(d, atomic), true).unwrap(), "");
            }
        }
    }

    #[test]
    fn non_transactional_revision_is_not_wrapped() {
        let (a, mut b) = two();
        b.transactional = false;
        b.upgrade = vec![sql(9, "CREATE INDEX CONCURRENTLY ix ON t (x)")];
        let out = render_script(&up_both(&a, &b), &opts(Dialect::Postgres, false), false).unwrap();
        assert!(out.contains("COMMIT;\n\n-- Running upgrade a1 -> b2\n\nCREATE INDEX CONCURRENTLY ix ON t (x);\n\n"), "{out}");
        assert!(
            out.ends_with(
                "'upgrade', 'b2', 'schema', NULL, 'ok', NULL, 'offline', '0.1.0');\n\n"
                    .replace("0.1.0", crate::dialect::versions::TOOL_VERSION)
                    .as_str()
            ),
            "{out}"
        );
        assert_eq!(out.matches("BEGIN;").count(), 1, "{out}");
    }

    #[test]
    fn non_transactional_revision_refuses_atomic() {
        let (a, mut b) = two();
        b.transactional = false;
        for d in [Dialect::Postgres, Dialect::Sqlite] {
            let e = render_script(&up_both(&a, &b), &opts(d, true), false)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(
                    "revision b2 (migrations/schema/b2_x.toml) has `transactional = false`"
                ),
                "{e}"
            );
            assert!(
                e.contains(&format!("whole {d} script")) && e.contains("run without --atomic"),
                "{e}"
            );
        }
        assert!(render_script(&up_both(&a, &b), &opts(Dialect::Mysql, true), false).is_ok());
    }

    #[test]
    fn downgrade_without_downgrade_section_names_the_revision() {
        let (mut a, b) = two();
        a.downgrade = None;
        let steps = [ScriptStep::Downgrade(&b), ScriptStep::Downgrade(&a)];
        let e = render_script(&steps, &opts(Dialect::Sqlite, false), false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "revision a1 (migrations/schema/a1_x.toml) has no [[downgrade]] steps and its downgrade cannot be derived: upgrade step 1 (line 10, `sql`) is raw SQL, which has no derivable inverse; add [[downgrade]] steps (an empty `[[downgrade]]` list is written `downgrade = []`)"
        );
    }

    #[test]
    fn render_errors_surface() {
        let (mut a, _) = two();
        a.template = true;
        a.upgrade = vec![sql(5, "SELECT {{ vars.missing }}")];
        let e = render_script(
            &[ScriptStep::Upgrade(&a)],
            &opts(Dialect::Sqlite, false),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Render(dialect::Error::Template {
                    step: 1,
                    line: 5,
                    ..
                })
            ),
            "{e}"
        );
        let mut o = opts(Dialect::Sqlite, false);
        o.vars.insert("missing".into(), "42".into());
        let out = render_script(&[ScriptStep::Upgrade(&a)], &o, false).unwrap();
        assert!(out.contains("\n\nSELECT 42;\n\n"), "{out}");
    }

    #[test]
    fn custom_version_table() {
        let (a, _) = two();
        let mut o = opts(Dialect::Postgres, false);
        o.version_table = "hist".into();
        let out = render_script(&[ScriptStep::Upgrade(&a)], &o, true).unwrap();
        assert!(
            out.contains("CREATE TABLE IF NOT EXISTS \"hist\" (")
                && out.contains("CREATE TABLE IF NOT EXISTS \"hist_log\" ("),
            "{out}"
        );
        assert!(
            out.contains("INSERT INTO \"hist\" (") && out.contains("INSERT INTO \"hist_log\" ("),
            "{out}"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(split_range("head").unwrap(), (None, "head"));
        assert_eq!(split_range("a1:head").unwrap(), (Some("a1"), "head"));
        assert_eq!(split_range(":head").unwrap(), (None, "head"));
        assert_eq!(split_range("a1:-1").unwrap(), (Some("a1"), "-1"));
        for bad in ["", "a1:", "a:b:c", ":"] {
            let e = split_range(bad).unwrap_err().to_string();
            assert!(e.contains("expected [FROM:]TO"), "{bad}: {e}");
        }
        assert_eq!(
            Error::DowngradeNeedsRange.to_string(),
            "downgrade with --sql requires <fromrev>:<torev>"
        );
        assert!(Error::DowngradeNeedsRange.hint().is_some());
        let e = Error::StartNotSingle {
            from: "heads".into(),
            found: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "the start of an offline range must be one revision, but `heads` names 2 revisions (a, b): give one revision id as FROM");
    }
}
