//! The live runner: applies, reverts and records revisions on a database.
//!
//! Every command reads the version table, plans with the pure graph (the
//! same plans `--sql` uses) and renders each revision with
//! [`super::script::revision_script`], so what `--sql` shows is what runs.
//!
//! How a revision runs (design §5.3, §7.3):
//!
//! - **PostgreSQL, transactional revision**: `BEGIN; <statements>; <version
//!   row>; <log row>; COMMIT` in one round trip (simple-query protocol).
//!   `execution_ms` is measured by the server (`clock_timestamp() - now()`)
//!   because the row is written in the same round trip.
//! - **SQLite, transactional revision**: `BEGIN IMMEDIATE`, re-read the
//!   revision's row (another process may have applied it: skip), the
//!   statements, the bookkeeping, `COMMIT`.
//! - **MySQL/MariaDB, or `transactional = false`**: the statement journal:
//!   the row is `running` with `{"direction", "statement"}` progress,
//!   updated after each statement; a failure leaves it `failed` with the
//!   error and the index, and the next run in the same direction resumes
//!   there (after the user fixed the file; the checksum is refreshed).
//! - **`--atomic`**: one transaction around the whole run (PostgreSQL and
//!   SQLite only).
//!
//! A run that finds nothing to do takes no lock: read → plan → empty ⇒
//! done; otherwise lock → re-read → re-plan → run. On failure the
//! transaction is rolled back, the failing statement is found by
//! re-running the revision statement by statement in a transaction that is
//! rolled back, and a `failed` log row is written.
//!
//! The library never prints: progress goes to an [`Observer`], results come
//! back as reports.
//!
//! Files: `plan` (reading and planning), `step` (one revision: data hook,
//! transaction or journal, PostgreSQL's round trip), `sqlite` (`BEGIN
//! IMMEDIATE` + re-read, foreign keys around rebuilds), `journal` (the
//! statement journal and resumes), `atomic` (`--atomic`), `stamp` (`stamp`,
//! `amend`, `resolve`), `failure` (locating and reporting a failed
//! statement), `bookkeeping` (shared helpers), `report` (public events and
//! reports).

use std::collections::BTreeMap;

use crate::config::{DbUrl, TransactionMode};
use crate::dialect::versions::VersionTables;
use crate::dialect::Direction;
use crate::graph::Graph;
use crate::project::Project;
use crate::revision::Revision;
use crate::store::{Db, RunLock};

use super::error::Error;
use bookkeeping::{applied_by, ids, read_source, step_line};
use plan::read_state;

mod atomic;
mod bookkeeping;
mod failure;
mod journal;
mod plan;
mod report;
mod sqlite;
mod stamp;
mod step;

pub use plan::DbState;
pub use report::{
    AmendReport, CheckReport, Event, Observer, Resolution, RunReport, Silent, StepReport,
};

/// Whether a command may create a missing SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `upgrade`, `stamp`: the database is created when missing.
    Create,
    /// Everything else: a missing file is an error, nothing is created.
    Existing,
}

impl Open {
    /// An upgrade may create the database; a downgrade needs one.
    fn for_run(direction: Direction) -> Open {
        match direction {
            Direction::Upgrade => Open::Create,
            Direction::Downgrade => Open::Existing,
        }
    }
}

/// Runs revisions of a project against its database.
///
/// # Example
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use retort::config::{Config, Overrides};
/// use retort::project::Project;
/// use retort::runner::online::{Migrator, Silent};
///
/// let project = Project::load(Config::load(&Overrides::default())?)?;
/// let migrator = Migrator::new(&project)?;
/// let report = migrator.upgrade("head", &mut Silent).await?;
/// for step in &report.steps {
///     println!("{} ({} ms)", step.line, step.duration.as_millis());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator<'p> {
    graph: &'p Graph,
    url: DbUrl,
    tables: VersionTables,
    atomic: bool,
    vars: BTreeMap<String, String>,
    applied_by: String,
    /// DATA LANE: `--batch-size`, Ctrl-C flag.
    data: crate::data::DataOptions,
}

impl<'p> Migrator<'p> {
    /// A migrator for `project` and its configured URL, version table,
    /// transaction mode and `[vars]`.
    ///
    /// # Errors
    /// [`Error::NoUrl`] when no URL is configured.
    pub fn new(project: &'p Project) -> Result<Migrator<'p>, Error> {
        let config = &project.config;
        let url = config.url.clone().ok_or(Error::NoUrl)?;
        Ok(Migrator {
            graph: &project.graph,
            tables: VersionTables::new(&config.version_table, url.dialect()),
            url,
            atomic: config.transaction == TransactionMode::All,
            vars: config.vars.clone(),
            applied_by: applied_by(),
            data: crate::data::DataOptions::default(),
        })
    }

    /// DATA LANE: options of data revisions (`--batch-size`, the Ctrl-C
    /// flag).
    pub fn data_options(mut self, options: crate::data::DataOptions) -> Migrator<'p> {
        self.data = options;
        self
    }

    /// DATA LANE: `upgrade --dry-run` / `downgrade --dry-run`: the plan,
    /// and for each data revision the rows each step would touch. Changes
    /// nothing (no table is created, no lock taken).
    ///
    /// # Errors
    /// Connection, planning and step errors.
    pub async fn dry_run(
        &self,
        direction: Direction,
        target: &str,
    ) -> Result<Vec<(String, Vec<crate::data::DryRunCount>)>, Error> {
        self.with_connection(Open::Existing, async |db| {
            let state = read_state(db, &self.tables).await?;
            let plan = self.plan(db, &state, direction, target).await?;
            let checkpoints = crate::data::exec::checkpoints(db, &self.tables).await?;
            let mut out = Vec::new();
            for step in &plan {
                let counts = if crate::data::is_data_revision(step.rev) {
                    let checkpoint = checkpoints
                        .iter()
                        .find(|(id, _)| *id == step.rev.id)
                        .map(|(_, cp)| cp);
                    crate::data::exec::dry_run(db, step.rev, direction, &self.vars, checkpoint)
                        .await?
                } else {
                    Vec::new()
                };
                out.push((step_line(step.rev, direction), counts));
            }
            Ok(out)
        })
        .await
    }

    /// DATA LANE: the checkpoints of unfinished data revisions (`current
    /// -v`), read from another process while one runs.
    ///
    /// # Errors
    /// Connection and query errors.
    pub async fn data_checkpoints(&self) -> Result<Vec<(String, crate::data::Checkpoint)>, Error> {
        self.with_connection(Open::Existing, async |db| {
            Ok(crate::data::exec::checkpoints(db, &self.tables).await?)
        })
        .await
    }

    /// One transaction around the whole run (`--atomic`).
    pub fn atomic(mut self, atomic: bool) -> Migrator<'p> {
        self.atomic = self.atomic || atomic;
        self
    }

    /// The database URL (print it with `Display`, which redacts).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// `upgrade TARGET`.
    ///
    /// # Errors
    /// Connection, planning and rendering errors; [`Error::Changed`] when an
    /// applied file changed; [`Error::Unfinished`]; [`Error::Failed`] when a
    /// statement fails (carrying the report of what was applied).
    pub async fn upgrade(
        &self,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        self.run(Direction::Upgrade, target, observer).await
    }

    /// `downgrade TARGET`.
    ///
    /// # Errors
    /// As [`Migrator::upgrade`] (without the checksum check).
    pub async fn downgrade(
        &self,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        self.run(Direction::Downgrade, target, observer).await
    }

    /// The version table as it is (`current`, `history -i`); creates
    /// nothing.
    ///
    /// # Errors
    /// Connection and query errors.
    pub async fn state(&self) -> Result<DbState, Error> {
        self.with_connection(Open::Existing, async |db| {
            Ok(read_state(db, &self.tables).await?)
        })
        .await
    }

    /// `check`: compares the database with the project's heads.
    ///
    /// # Errors
    /// Connection, query and planning errors.
    pub async fn check(&self) -> Result<CheckReport, Error> {
        let state = self.state().await?;
        let applied = state.applied();
        let pending: Vec<String> = self
            .graph
            .plan_upgrade(&applied, "heads")?
            .iter()
            .map(|r| r.id.clone())
            .collect();
        let unfinished: Vec<String> = state
            .unfinished()
            .iter()
            .map(|r| r.version.clone())
            .collect();
        Ok(CheckReport {
            at_head: pending.is_empty() && unfinished.is_empty(),
            current: ids(&self.graph.current_heads(&applied)),
            heads: ids(&self.graph.heads()),
            pending,
            unfinished,
        })
    }

    /// `stamp TARGETS… [--purge]`: rewrites the rows without running
    /// anything.
    ///
    /// # Errors
    /// Connection, query and target errors.
    pub async fn stamp(
        &self,
        targets: &[String],
        purge: bool,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        self.with_connection(Open::Create, async |db| {
            self.with_run_lock(
                db,
                async |_, state| self.stamp_has_work(state, targets, purge),
                async |db| self.stamp_locked(db, targets, purge, observer).await,
            )
            .await
        })
        .await
    }

    /// `amend REV`: accepts the current content of an applied revision's
    /// file (new checksum and source, an `amend` log row).
    ///
    /// # Errors
    /// Target errors, [`Error::NotRecorded`], connection and query errors.
    pub async fn amend(&self, target: &str) -> Result<AmendReport, Error> {
        let rev = self.one_revision(target)?;
        let source = read_source(rev)?;
        self.with_connection(Open::Existing, async |db| {
            self.amend_on(db, rev, &source).await
        })
        .await
    }

    /// `resolve REV --applied|--reverted`: settles a `running` or `failed`
    /// revision that was repaired by hand.
    ///
    /// # Errors
    /// Target errors, [`Error::NotRecorded`], [`Error::NothingToResolve`],
    /// connection and query errors.
    pub async fn resolve(&self, target: &str, resolution: Resolution) -> Result<(), Error> {
        let rev = self.one_revision(target)?;
        let source = read_source(rev)?;
        self.with_connection(Open::Existing, async |db| {
            self.resolve_on(db, rev, &source, resolution).await
        })
        .await
    }

    /// Opens a connection, runs `f` on it, closes it on every path.
    async fn with_connection<T>(
        &self,
        open: Open,
        f: impl AsyncFnOnce(&mut Db) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut db = match open {
            Open::Create => Db::connect(&self.url).await?,
            Open::Existing => Db::connect_existing(&self.url).await?,
        };
        let result = f(&mut db).await;
        db.close().await;
        result
    }

    /// Read → decide → lock → run: reads the version table; when
    /// `has_work` finds nothing to do, returns without taking the run lock
    /// (a no-op run costs one read). Otherwise takes the run lock, runs
    /// `locked` (which re-reads and re-plans under it) and releases the
    /// lock whatever `locked` returned. If the future is dropped instead
    /// (cancellation) or panics, dropping the [`RunLock`] closes its
    /// dedicated connection, which frees the session lock server-side.
    async fn with_run_lock(
        &self,
        db: &mut Db,
        has_work: impl AsyncFnOnce(&mut Db, &DbState) -> Result<bool, Error>,
        locked: impl AsyncFnOnce(&mut Db) -> Result<RunReport, Error>,
    ) -> Result<RunReport, Error> {
        let state = read_state(db, &self.tables).await?;
        if !has_work(db, &state).await? {
            return Ok(RunReport::default());
        }
        let lock = RunLock::acquire(&self.url, &self.tables, &self.data.cancel)
            .await
            .map_err(|e| Error::lock_wait(e, &RunReport::default()).unwrap_or_else(Error::Store))?;
        let result = locked(db).await;
        lock.release().await;
        result
    }

    fn one_revision(&self, target: &str) -> Result<&'p Revision, Error> {
        match self.graph.resolve(target)?.as_slice() {
            [one] => Ok(one),
            many => Err(Error::NotOne {
                target: target.to_string(),
                count: many.len(),
            }),
        }
    }

    /// `upgrade` / `downgrade`.
    async fn run(
        &self,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let dialect = self.url.dialect();
        if self.atomic && !dialect.transactional_ddl() {
            return Err(Error::AtomicUnsupported { dialect });
        }
        self.with_connection(Open::for_run(direction), async |db| {
            self.with_run_lock(
                db,
                async |db, state| {
                    let plan = self.plan(db, state, direction, target).await?;
                    Ok(!plan.is_empty())
                },
                async |db| self.run_locked(db, direction, target, observer).await,
            )
            .await
        })
        .await
    }

    /// The run under the lock: re-read, re-plan, render, run each revision.
    async fn run_locked(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        if self.atomic {
            return self.run_atomic(db, direction, target, observer).await;
        }
        let state = self.ensure_tables(db).await?;
        let plan = self.planned(db, &state, direction, target).await?;
        let mut report = RunReport::default();
        let mut rest = plan.as_slice();
        while let Some((step, tail)) = rest.split_first() {
            // Ctrl-C: stop at the revision boundary.
            if crate::data::exec::cancelled(&self.data) {
                return Err(Error::Cancelled {
                    next: step.rev.id.clone(),
                    report,
                });
            }
            // Plain SQLite revisions in a row share one lock of the raw
            // handle (each still in its own transaction).
            let batch: Vec<_> = rest
                .iter()
                .map_while(|s| Some((s.rev, sqlite::batchable(db, s)?)))
                .collect();
            if batch.is_empty() {
                self.run_step(db, step, direction, observer, &mut report)
                    .await?;
                rest = tail;
            } else {
                rest = rest.get(batch.len()..).unwrap_or_default();
                self.sqlite_batch(db, &batch, direction, observer, &mut report)
                    .await?;
            }
        }
        Ok(report)
    }
}
