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

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::error::{Error, StatementFailure};
use super::schema;
use super::script::{downgrade_comment, VersionChange};
use super::script::{upgrade_comment, version_statements, Bookkeeping};
use crate::config::{DbUrl, TransactionMode};
use crate::dialect::ops::render::{FOREIGN_KEYS_OFF, FOREIGN_KEYS_ON};
use crate::dialect::versions::{
    At, Elapsed, LogAction, LogEntry, Outcome, RowChange, VersionRow, VersionState, VersionTables,
};
use crate::dialect::{render_step, Dialect, Direction, RenderedSteps};
use crate::graph::{Applied, Graph};
use crate::project::Project;
use crate::revision::Revision;
use crate::store::{self, Db, Progress, RunLock, VersionRecord};

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

/// The version table as read, without creating anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbState {
    /// Whether the version table exists.
    pub table_exists: bool,
    /// Its rows, oldest first.
    pub rows: Vec<VersionRecord>,
}

impl DbState {
    /// The applied set the graph plans from: `applied` rows, plus rows of
    /// an interrupted downgrade (still applied until it completes).
    pub fn applied(&self) -> Applied {
        Applied::from_ordered(
            self.rows
                .iter()
                .filter(|r| match r.state {
                    VersionState::Applied => true,
                    VersionState::Running | VersionState::Failed => {
                        progress_of(r).direction == Direction::Downgrade
                    }
                })
                .map(|r| r.version.clone())
                .collect(),
        )
    }

    /// Rows that are `running` or `failed`.
    pub fn unfinished(&self) -> Vec<&VersionRecord> {
        self.rows
            .iter()
            .filter(|r| r.state != VersionState::Applied)
            .collect()
    }

    /// Rows whose revision no file defines.
    pub fn unknown<'s>(&'s self, graph: &Graph) -> Vec<&'s VersionRecord> {
        self.rows
            .iter()
            .filter(|r| graph.get(&r.version).is_none())
            .collect()
    }
}

/// The progress of an unfinished row (a row without one counts as an
/// upgrade stopped before its first statement).
fn progress_of(row: &VersionRecord) -> Progress {
    row.progress.unwrap_or(Progress {
        direction: Direction::Upgrade,
        statement: 0,
    })
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

/// A planned revision.
struct PlanStep<'g> {
    rev: &'g Revision,
    /// 0-based statement to resume at (journaled revisions).
    resume: Option<usize>,
    /// The statements, rendered before the run starts
    /// ([`super::schema::prerender`]); `None`: rendered right before the
    /// revision runs, from the live schema.
    rendered: Option<RenderedSteps>,
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
        let mut db = self.connect().await?;
        let result = async {
            let state = read_state(&mut db, &self.tables).await?;
            let plan = self.plan(&mut db, &state, direction, target).await?;
            let mut out = Vec::new();
            for step in &plan {
                let counts = if crate::data::is_data_revision(step.rev) {
                    crate::data::exec::dry_run(&mut db, step.rev, direction).await?
                } else {
                    Vec::new()
                };
                out.push((step_line(step.rev, direction), counts));
            }
            Ok::<_, Error>(out)
        }
        .await;
        db.close().await;
        result
    }

    /// DATA LANE: the checkpoints of unfinished data revisions (`current
    /// -v`), read from another process while one runs.
    ///
    /// # Errors
    /// Connection and query errors.
    pub async fn data_checkpoints(&self) -> Result<Vec<(String, crate::data::Checkpoint)>, Error> {
        let mut db = self.connect().await?;
        let result = crate::data::exec::checkpoints(&mut db, &self.tables).await;
        db.close().await;
        Ok(result?)
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
        let mut db = self.connect().await?;
        let state = read_state(&mut db, &self.tables).await;
        db.close().await;
        Ok(state?)
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
        let mut db = self.connect().await?;
        let result = self.stamp_on(&mut db, targets, purge, observer).await;
        db.close().await;
        result
    }

    /// `amend REV`: accepts the current content of an applied revision's
    /// file (new checksum and source, an `amend` log row).
    ///
    /// # Errors
    /// Target errors, [`Error::NotRecorded`], connection and query errors.
    pub async fn amend(&self, target: &str) -> Result<AmendReport, Error> {
        let rev = self.one_revision(target)?;
        let source = read_source(rev)?;
        let mut db = self.connect().await?;
        let result = self.amend_on(&mut db, rev, &source).await;
        db.close().await;
        result
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
        let mut db = self.connect().await?;
        let result = self.resolve_on(&mut db, rev, &source, resolution).await;
        db.close().await;
        result
    }

    async fn connect(&self) -> Result<Db, Error> {
        Ok(Db::connect(&self.url).await?)
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
        let mut db = self.connect().await?;
        let result = self.run_on(&mut db, direction, target, observer).await;
        db.close().await;
        result
    }

    async fn run_on(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let state = read_state(db, &self.tables).await?;
        if self.plan(db, &state, direction, target).await?.is_empty() {
            return Ok(RunReport::default());
        }
        let lock = RunLock::acquire(&self.url, &self.tables).await?;
        let result = self.run_locked(db, direction, target, observer).await;
        lock.release().await;
        result
    }

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
        let plan = self.plan(db, &state, direction, target).await?;
        let plan = self.prerender(db, &state, plan, direction).await?;
        let mut report = RunReport::default();
        for step in &plan {
            if let Some(done) = self
                .run_step(db, step, direction, observer, &report)
                .await?
            {
                report.steps.push(done);
            } else {
                report.skipped.push(step.rev.id.clone());
            }
        }
        Ok(report)
    }

    /// Creates the version tables when missing and returns the rows.
    async fn ensure_tables(&self, db: &mut Db) -> Result<DbState, Error> {
        let state = read_state(db, &self.tables).await?;
        if state.table_exists {
            // A table of an older retort lacks `source` (checked only
            // when there is work, so a no-op run stays one query).
            db.ensure_source_column(&self.tables).await?;
            return Ok(state);
        }
        // Both tables at once: SQLite has no run lock, and a concurrent
        // process that saw `_versions` without `_versions_log` failed its
        // first revision. A savepoint is a transaction of its own outside
        // one, and nests inside `--atomic`'s.
        let mut script = self.tables.create_statements();
        if db.dialect() == Dialect::Sqlite {
            script.insert(0, "SAVEPOINT retort_create_tables".to_string());
            script.push("RELEASE retort_create_tables".to_string());
        }
        if let Err(e) = db
            .execute_script(&join(&script), "creating the version tables")
            .await
        {
            if db.dialect() == Dialect::Sqlite {
                rollback(db).await;
            }
            return Err(e.into());
        }
        Ok(DbState {
            table_exists: true,
            rows: Vec::new(),
        })
    }

    /// Checks the rows against the files, then plans; an unfinished
    /// revision of the same direction goes first, resumed.
    async fn plan(
        &self,
        db: &mut Db,
        state: &DbState,
        direction: Direction,
        target: &str,
    ) -> Result<Vec<PlanStep<'p>>, Error> {
        if let Some(row) = state.unknown(self.graph).first() {
            return Err(Error::MissingFile {
                revision: row.version.clone(),
                lane: row.lane.clone(),
                table: self.tables.name().to_string(),
            });
        }
        if direction == Direction::Upgrade {
            self.verify_checksums(db, state).await?;
        }
        let applied = state.applied();
        let revs = match direction {
            Direction::Upgrade => self.graph.plan_upgrade(&applied, target)?,
            Direction::Downgrade => self.graph.plan_downgrade(&applied, target)?,
        };
        let mut steps: Vec<PlanStep<'p>> = revs
            .into_iter()
            .map(|rev| PlanStep {
                rev,
                resume: None,
                rendered: None,
            })
            .collect();
        if steps.is_empty() {
            return Ok(steps);
        }
        for row in state.unfinished() {
            let progress = progress_of(row);
            let position = steps.iter().position(|s| s.rev.id == row.version);
            match position {
                Some(p) if progress.direction == direction => {
                    let mut step = steps.remove(p);
                    step.resume = Some(progress.statement);
                    steps.insert(0, step);
                }
                _ => {
                    return Err(Error::Unfinished {
                        revision: row.version.clone(),
                        state: row.state,
                        direction: progress.direction,
                        statement: progress.statement + 1,
                        error: row.error.clone(),
                    })
                }
            }
        }
        Ok(steps)
    }

    /// Refuses when an applied revision's file changed, showing the diff
    /// against the recorded content.
    async fn verify_checksums(&self, db: &mut Db, state: &DbState) -> Result<(), Error> {
        let changed = state.rows.iter().find_map(|row| {
            let rev = self.graph.get(&row.version)?;
            (row.state == VersionState::Applied && rev.checksum() != row.checksum).then_some(rev)
        });
        let Some(rev) = changed else {
            return Ok(());
        };
        db.ensure_source_column(&self.tables).await?;
        let recorded = db.read_source(&self.tables, &rev.id).await?;
        let current = read_source(rev)?;
        let diff = match recorded {
            Some(old) => similar::TextDiff::from_lines(old.as_str(), current.as_str())
                .unified_diff()
                .context_radius(2)
                .header("recorded", &rev.path.display().to_string())
                .to_string(),
            None => "  (the recorded content is not available: the row was written by an offline script or an older retort)\n".to_string(),
        };
        Err(Error::Changed {
            revision: rev.id.clone(),
            file: rev.path.clone(),
            diff,
        })
    }

    fn book<'b>(&'b self, at: At, elapsed: Elapsed, source: Option<&'b str>) -> Bookkeeping<'b> {
        Bookkeeping {
            tables: &self.tables,
            applied_by: &self.applied_by,
            at,
            duration_ms: elapsed,
            source,
        }
    }

    /// Runs one revision; `None` when another process handled it first.
    async fn run_step(
        &self,
        db: &mut Db,
        step: &PlanStep<'p>,
        direction: Direction,
        observer: &mut dyn Observer,
        report: &RunReport,
    ) -> Result<Option<StepReport>, Error> {
        let rev = step.rev;
        let source = read_source(rev)?;
        let line = step_line(rev, direction);
        let started = Instant::now();
        // DATA LANE HOOK: data revisions run in checkpointed batches.
        if crate::data::is_data_revision(rev) {
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: None,
            });
            let ctx = crate::data::exec::Ctx {
                tables: &self.tables,
                applied_by: &self.applied_by,
                options: &self.data,
            };
            let mut emit = |e: &crate::data::DataEvent<'_>| observer.event(&Event::Data(e));
            let ran =
                crate::data::exec::run_revision(db, &ctx, rev, direction, &source, &mut emit).await;
            return match ran {
                Ok(crate::data::exec::Ran::Done) => {
                    let duration = started.elapsed();
                    observer.event(&Event::StepFinished {
                        revision: &rev.id,
                        duration,
                    });
                    Ok(Some(StepReport {
                        revision: rev.id.clone(),
                        direction,
                        line,
                        duration,
                    }))
                }
                Ok(crate::data::exec::Ran::Skipped) => {
                    observer.event(&Event::StepSkipped { revision: &rev.id });
                    Ok(None)
                }
                Err(e) => {
                    observer.event(&Event::StepFailed { revision: &rev.id });
                    Err(e.into())
                }
            };
        }
        let rendered = self.rendered(db, step, direction).await?;
        let journaled = match db.dialect() {
            Dialect::Mysql => true,
            Dialect::Postgres | Dialect::Sqlite => !rev.transactional || step.resume.is_some(),
        };
        let ran = if journaled {
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: step.resume,
            });
            // A rebuild outside a transaction (`transactional = false` or a
            // resume on SQLite) still needs foreign keys off around it.
            let fk_off = rendered.foreign_keys_off && db.dialect() == Dialect::Sqlite;
            if fk_off {
                db.execute_script(FOREIGN_KEYS_OFF, "turning foreign keys off")
                    .await?;
            }
            let ran = self
                .run_journaled(db, step, &rendered, direction, &source, report)
                .await;
            if fk_off {
                if let Err(e) = db
                    .execute_script(FOREIGN_KEYS_ON, "turning foreign keys back on")
                    .await
                {
                    tracing::warn!("could not restore PRAGMA foreign_keys=ON: {e}");
                }
            }
            ran
        } else {
            self.run_transactional(
                db, rev, &rendered, direction, &source, &line, observer, report,
            )
            .await
        };
        match ran {
            Ok(true) => {
                let duration = started.elapsed();
                observer.event(&Event::StepFinished {
                    revision: &rev.id,
                    duration,
                });
                Ok(Some(StepReport {
                    revision: rev.id.clone(),
                    direction,
                    line,
                    duration,
                }))
            }
            Ok(false) => {
                observer.event(&Event::StepSkipped { revision: &rev.id });
                Ok(None)
            }
            Err(e) => {
                observer.event(&Event::StepFailed { revision: &rev.id });
                Err(e)
            }
        }
    }

    /// PostgreSQL / SQLite: the revision and its rows in one transaction.
    /// `false`: skipped (SQLite found it done by another process).
    #[allow(clippy::too_many_arguments)]
    async fn run_transactional(
        &self,
        db: &mut Db,
        rev: &Revision,
        rendered: &RenderedSteps,
        direction: Direction,
        source: &str,
        line: &str,
        observer: &mut dyn Observer,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let at = At::Value(Utc::now());
        let started = Instant::now();
        let recorded_source = (direction == Direction::Upgrade).then_some(source);
        let interrupted = |source| Error::Interrupted {
            source: Box::new(source),
            report: report.clone(),
        };
        match db.dialect() {
            Dialect::Postgres => {
                let book = self.book(at, Elapsed::SinceTransactionStart, recorded_source);
                let version_rows = version_statements(rev, change_of(direction), &book);
                observer.event(&Event::StepStarted {
                    revision: &rev.id,
                    line,
                    resume_at: None,
                });
                let mut sql = String::from("BEGIN;\n");
                for stmt in rendered.statements.iter().chain(&version_rows) {
                    sql.push_str(stmt);
                    sql.push_str(";\n");
                }
                sql.push_str("COMMIT;");
                if let Err(err) = db.execute_script(&sql, "running a revision").await {
                    rollback(db).await;
                    return Err(self
                        .fail(
                            db,
                            rev,
                            direction,
                            &rendered.statements,
                            err,
                            started,
                            report,
                        )
                        .await);
                }
                Ok(true)
            }
            Dialect::Sqlite | Dialect::Mysql => {
                let statements = &rendered.statements;
                observer.event(&Event::StepStarted {
                    revision: &rev.id,
                    line,
                    resume_at: None,
                });
                let fk_off = rendered.foreign_keys_off && db.dialect() == Dialect::Sqlite;
                if fk_off {
                    db.execute_script(FOREIGN_KEYS_OFF, "turning foreign keys off")
                        .await
                        .map_err(interrupted)?;
                }
                let ran = self
                    .sqlite_transaction(db, rev, statements, direction, at, recorded_source, report)
                    .await;
                if fk_off {
                    if let Err(e) = db
                        .execute_script(FOREIGN_KEYS_ON, "turning foreign keys back on")
                        .await
                    {
                        tracing::warn!("could not restore PRAGMA foreign_keys=ON: {e}");
                    }
                }
                ran
            }
        }
    }

    /// SQLite: `BEGIN IMMEDIATE` with the re-read of the row, then the
    /// statements, the bookkeeping and `COMMIT` in one call. After a table
    /// rebuild the foreign key check needs its own call between the
    /// statements and the bookkeeping.
    #[allow(clippy::too_many_arguments)]
    async fn sqlite_transaction(
        &self,
        db: &mut Db,
        rev: &Revision,
        statements: &[String],
        direction: Direction,
        at: At,
        recorded_source: Option<&str>,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let started = Instant::now();
        let interrupted = |source| Error::Interrupted {
            source: Box::new(source),
            report: report.clone(),
        };
        // Every call is a hand-off to the driver's thread, which costs more
        // than the work on a busy machine (issue #3); `execution_ms` is
        // therefore measured by SQLite, from the start taken here.
        let start_ms = Utc::now().timestamp_millis();
        let state = match db.begin_immediate_reading(&self.tables, &rev.id).await {
            Ok(state) => state,
            Err(e) => {
                rollback(db).await;
                return Err(interrupted(e));
            }
        };
        let done = match direction {
            Direction::Upgrade => state.is_some(),
            Direction::Downgrade => state.is_none(),
        };
        if done {
            rollback(db).await;
            return Ok(false);
        }
        let book = self.book(at, Elapsed::SinceEpochMs(start_ms), recorded_source);
        let rows = version_statements(rev, change_of(direction), &book);
        let fk_check = statements
            .iter()
            .any(|s| s.eq_ignore_ascii_case("PRAGMA foreign_key_check"));
        let mut script = statements.to_vec();
        if !fk_check {
            script.extend(rows.iter().cloned());
            script.push("COMMIT".to_string());
        }
        if let Err(err) = db
            .execute_script(&join(&script), "running a revision")
            .await
        {
            rollback(db).await;
            return Err(self
                .fail(db, rev, direction, statements, err, started, report)
                .await);
        }
        if fk_check {
            if let Some(failure) = self
                .check_foreign_keys(db, rev, direction, statements, started, report)
                .await
            {
                return Err(failure);
            }
            let mut tail = rows;
            tail.push("COMMIT".to_string());
            if let Err(err) = db
                .execute_script(&join(&tail), "recording a revision")
                .await
            {
                rollback(db).await;
                return Err(interrupted(err));
            }
        }
        Ok(true)
    }

    /// Builds the failure of a rolled-back revision: finds the failing
    /// statement, writes the `failed` log row.
    #[allow(clippy::too_many_arguments)]
    async fn fail(
        &self,
        db: &mut Db,
        rev: &Revision,
        direction: Direction,
        statements: &[String],
        err: store::Error,
        started: Instant,
        report: &RunReport,
    ) -> Error {
        let located = locate_failure(db, &[], statements, db.dialect()).await;
        let message = located
            .as_ref()
            .map_or_else(|| err.database_message(), |(_, m)| m.clone());
        self.log_failure(db, rev, direction, &message, started)
            .await;
        Error::Failed(Box::new(self.failure(
            rev,
            direction,
            statements,
            located.map(|(i, _)| i),
            message,
            false,
            false,
            report,
        )))
    }

    #[allow(clippy::too_many_arguments)]
    fn failure(
        &self,
        rev: &Revision,
        direction: Direction,
        statements: &[String],
        index: Option<usize>,
        message: String,
        journaled: bool,
        atomic: bool,
        report: &RunReport,
    ) -> StatementFailure {
        StatementFailure {
            revision: rev.id.clone(),
            file: rev.path.clone(),
            direction,
            statement: index.map(|i| i + 1),
            statements: statements.len(),
            sql: index.and_then(|i| statements.get(i).cloned()),
            line: index.and_then(|i| self.step_line_of(rev, direction, i)),
            message,
            journaled,
            atomic,
            report: report.clone(),
        }
    }

    /// The line of the step that produced statement `index`.
    fn step_line_of(&self, rev: &Revision, direction: Direction, index: usize) -> Option<usize> {
        let steps = match direction {
            Direction::Upgrade => &rev.upgrade,
            Direction::Downgrade => rev.downgrade.as_ref()?,
        };
        let mut seen = 0;
        for (n, step) in steps.iter().enumerate() {
            let count = render_step(step, n + 1, direction, rev, self.url.dialect(), &self.vars)
                .ok()?
                .len();
            if index < seen + count {
                return Some(step.line);
            }
            seen += count;
        }
        None
    }

    /// Writes a `failed` log row (best effort: the failure is reported
    /// either way).
    async fn log_failure(
        &self,
        db: &mut Db,
        rev: &Revision,
        direction: Direction,
        message: &str,
        started: Instant,
    ) {
        let entry = LogEntry {
            at: At::Value(Utc::now()),
            action: action_of(direction),
            version: &rev.id,
            lane: &rev.lane,
            duration_ms: Elapsed::Ms(ms(started)),
            outcome: Outcome::Failed,
            error: Some(message),
            applied_by: &self.applied_by,
        };
        if let Err(e) = db
            .execute_script(&self.tables.insert_log(&entry), "writing the log")
            .await
        {
            tracing::warn!("could not write the failed log row of {}: {e}", rev.id);
        }
    }

    /// The statement journal (MySQL/MariaDB, `transactional = false`,
    /// resumes). `false`: skipped (SQLite found it done by another process).
    async fn run_journaled(
        &self,
        db: &mut Db,
        step: &PlanStep<'p>,
        rendered: &RenderedSteps,
        direction: Direction,
        source: &str,
        report: &RunReport,
    ) -> Result<bool, Error> {
        let rev = step.rev;
        let started = Instant::now();
        let statements = &rendered.statements;
        let interrupted = |source| Error::Interrupted {
            source: Box::new(source),
            report: report.clone(),
        };
        // SQLite has no session lock: hold the database's file lock for the
        // whole revision and re-read its row under it, so that a second
        // process waits, then skips what the first one finished or resumes
        // where it stopped (never runs it twice at once).
        let mut resume = step.resume;
        let _file_lock = if db.dialect() == Dialect::Sqlite {
            let lock = db.lock_sqlite_file().await.map_err(interrupted)?;
            let rows = db.read_versions(&self.tables).await.map_err(interrupted)?;
            let row = rows
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.version == rev.id);
            match (direction, row) {
                (Direction::Upgrade, Some(r)) if r.state == VersionState::Applied => {
                    return Ok(false)
                }
                (Direction::Downgrade, None) => return Ok(false),
                (_, Some(r)) if r.state != VersionState::Applied => {
                    let now = progress_of(&r);
                    if now.direction != direction {
                        return Err(Error::Unfinished {
                            revision: r.version.clone(),
                            state: r.state,
                            direction: now.direction,
                            statement: now.statement + 1,
                            error: r.error.clone(),
                        });
                    }
                    resume = Some(now.statement);
                }
                (Direction::Upgrade, None) => resume = None,
                (_, Some(_)) => {} // applied, as a downgrade planned
            }
            lock
        } else {
            None
        };
        let first = resume.unwrap_or(0);
        let progress = |statement| {
            Progress {
                direction,
                statement,
            }
            .to_json()
        };
        let running = |p: &serde_json::Value| {
            self.tables.update_version(
                &rev.id,
                &RowChange::Progress {
                    state: VersionState::Running,
                    progress: p,
                    error: None,
                },
            )
        };
        let start_json = progress(first);
        let mut setup = Vec::new();
        match (direction, resume) {
            (Direction::Upgrade, None) => setup.push(self.tables.insert_version(&VersionRow {
                version: &rev.id,
                lane: &rev.lane,
                state: VersionState::Running,
                checksum: rev.checksum(),
                message: &rev.message,
                applied_at: At::Value(Utc::now()),
                execution_ms: Elapsed::Unknown,
                progress: Some(&start_json),
                error: None,
                applied_by: &self.applied_by,
                source: Some(source),
            })),
            (Direction::Upgrade, Some(_)) => {
                setup.push(self.tables.update_version(
                    &rev.id,
                    &RowChange::Content {
                        checksum: rev.checksum(),
                        source: Some(source),
                    },
                ));
                setup.push(running(&start_json));
            }
            (Direction::Downgrade, _) => setup.push(running(&start_json)),
        }
        for sql in &setup {
            db.execute_script(sql, "recording progress")
                .await
                .map_err(interrupted)?;
        }
        for (index, sql) in statements.iter().enumerate().skip(first) {
            if let Err(err) = db.execute_script(sql, "running a statement").await {
                let message = err.database_message();
                let failed = progress(index);
                let mark = self.tables.update_version(
                    &rev.id,
                    &RowChange::Progress {
                        state: VersionState::Failed,
                        progress: &failed,
                        error: Some(&message),
                    },
                );
                if let Err(e) = db.execute_script(&mark, "recording the failure").await {
                    tracing::warn!("could not mark {} failed: {e}", rev.id);
                }
                self.log_failure(db, rev, direction, &message, started)
                    .await;
                return Err(Error::Failed(Box::new(self.failure(
                    rev,
                    direction,
                    statements,
                    Some(index),
                    message,
                    true,
                    false,
                    report,
                ))));
            }
            db.execute_script(&running(&progress(index + 1)), "recording progress")
                .await
                .map_err(interrupted)?;
        }
        let elapsed = Elapsed::Ms(ms(started));
        let now = At::Value(Utc::now());
        let finish = match direction {
            Direction::Upgrade => self.tables.update_version(
                &rev.id,
                &RowChange::Finished {
                    checksum: rev.checksum(),
                    source: Some(source),
                    at: now,
                    execution_ms: elapsed,
                    applied_by: &self.applied_by,
                },
            ),
            Direction::Downgrade => self.tables.delete_version(&rev.id),
        };
        let log = self.tables.insert_log(&LogEntry {
            at: now,
            action: action_of(direction),
            version: &rev.id,
            lane: &rev.lane,
            duration_ms: elapsed,
            outcome: Outcome::Ok,
            error: None,
            applied_by: &self.applied_by,
        });
        db.execute_script(&join(&[finish, log]), "recording a revision")
            .await
            .map_err(interrupted)?;
        Ok(true)
    }

    /// `--atomic`: one transaction around everything (PostgreSQL, SQLite).
    async fn run_atomic(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let begin = match db.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres | Dialect::Mysql => "BEGIN",
        };
        let fk_off =
            db.dialect() == Dialect::Sqlite && self.atomic_rebuilds(db, direction, target).await?;
        if fk_off {
            db.execute_script(FOREIGN_KEYS_OFF, "turning foreign keys off")
                .await?;
        }
        let result = match db.execute_script(begin, "starting a transaction").await {
            Ok(()) => self.atomic_body(db, direction, target, observer).await,
            Err(e) => Err(e.into()),
        };
        let result = self.atomic_end(db, result).await;
        if fk_off {
            if let Err(e) = db
                .execute_script(FOREIGN_KEYS_ON, "turning foreign keys back on")
                .await
            {
                tracing::warn!("could not restore PRAGMA foreign_keys=ON: {e}");
            }
        }
        result
    }

    /// Whether an atomic run's plan holds a SQLite table rebuild (then
    /// `PRAGMA foreign_keys=OFF` must come before its one `BEGIN`).
    async fn atomic_rebuilds(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
    ) -> Result<bool, Error> {
        let state = read_state(db, &self.tables).await?;
        let plan = self.plan(db, &state, direction, target).await?;
        let plan = self.prerender(db, &state, plan, direction).await?;
        Ok(plan
            .iter()
            .any(|s| s.rendered.as_ref().is_none_or(|r| r.foreign_keys_off)))
    }

    async fn atomic_end(
        &self,
        db: &mut Db,
        result: Result<RunReport, Error>,
    ) -> Result<RunReport, Error> {
        match result {
            Ok(report) => {
                if let Err(e) = db.execute_script("COMMIT", "committing the run").await {
                    rollback(db).await;
                    return Err(e.into());
                }
                Ok(report)
            }
            Err(e) => {
                rollback(db).await;
                Err(e)
            }
        }
    }

    async fn atomic_body(
        &self,
        db: &mut Db,
        direction: Direction,
        target: &str,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let state = self.ensure_tables(db).await?;
        let plan = self.plan(db, &state, direction, target).await?;
        let plan = self.prerender(db, &state, plan, direction).await?;
        if let Some(step) = plan.iter().find(|s| !s.rev.transactional) {
            return Err(Error::NonTransactionalInAtomic {
                revision: step.rev.id.clone(),
                file: step.rev.path.clone(),
            });
        }
        let mut report = RunReport::default();
        let mut done: Vec<String> = Vec::new();
        for step in &plan {
            let rev = step.rev;
            let source = read_source(rev)?;
            let line = step_line(rev, direction);
            let started = Instant::now();
            let statements = self.rendered(db, step, direction).await?.statements;
            observer.event(&Event::StepStarted {
                revision: &rev.id,
                line: &line,
                resume_at: None,
            });
            // The statements and the rows in one call (the database
            // measures `execution_ms` from the start taken here).
            let recorded_source = (direction == Direction::Upgrade).then_some(source.as_str());
            let book = self.book(
                At::Value(Utc::now()),
                Elapsed::SinceEpochMs(Utc::now().timestamp_millis()),
                recorded_source,
            );
            let rows = version_statements(rev, change_of(direction), &book);
            let mut script = statements.clone();
            script.extend(rows.iter().cloned());
            if let Err(err) = db
                .execute_script(&join(&script), "running a revision")
                .await
            {
                observer.event(&Event::StepFailed { revision: &rev.id });
                rollback(db).await;
                let located = locate_failure(db, &done, &statements, db.dialect()).await;
                let message = located
                    .as_ref()
                    .map_or_else(|| err.database_message(), |(_, m)| m.clone());
                self.log_failure(db, rev, direction, &message, started)
                    .await;
                // Begin again so that the caller's ROLLBACK has a
                // transaction to end.
                let _ = db.execute_script("BEGIN", "restarting").await;
                return Err(Error::Failed(Box::new(self.failure(
                    rev,
                    direction,
                    &statements,
                    located.map(|(i, _)| i),
                    message,
                    false,
                    true,
                    &RunReport::default(),
                ))));
            }
            if let Some(failure) = self
                .check_foreign_keys(
                    db,
                    rev,
                    direction,
                    &statements,
                    started,
                    &RunReport::default(),
                )
                .await
            {
                observer.event(&Event::StepFailed { revision: &rev.id });
                let _ = db.execute_script("BEGIN", "restarting").await;
                return Err(failure);
            }
            done.extend(statements);
            done.extend(rows);
            let duration = started.elapsed();
            observer.event(&Event::StepFinished {
                revision: &rev.id,
                duration,
            });
            report.steps.push(StepReport {
                revision: rev.id.clone(),
                direction,
                line,
                duration,
            });
        }
        Ok(report)
    }

    async fn stamp_on(
        &self,
        db: &mut Db,
        targets: &[String],
        purge: bool,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        let state = read_state(db, &self.tables).await?;
        if !purge {
            let plan = self.graph.plan_stamp(&state.applied(), targets)?;
            if plan.add.is_empty() && plan.remove.is_empty() {
                return Ok(RunReport::default());
            }
        }
        let lock = RunLock::acquire(&self.url, &self.tables).await?;
        let result = self.stamp_locked(db, targets, purge, observer).await;
        lock.release().await;
        result
    }

    async fn stamp_locked(
        &self,
        db: &mut Db,
        targets: &[String],
        purge: bool,
        observer: &mut dyn Observer,
    ) -> Result<RunReport, Error> {
        self.ensure_tables(db).await?;
        let begin = match db.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres | Dialect::Mysql => "BEGIN",
        };
        db.execute_script(begin, "starting a transaction").await?;
        match self.stamp_body(db, targets, purge).await {
            Ok((line, statements)) => {
                let mut sql = statements;
                sql.push("COMMIT".to_string());
                if let Err(e) = db.execute_script(&join(&sql), "stamping").await {
                    rollback(db).await;
                    return Err(e.into());
                }
                if let Some(line) = line {
                    observer.event(&Event::Stamped { line: &line });
                }
                Ok(RunReport::default())
            }
            Err(e) => {
                rollback(db).await;
                Err(e)
            }
        }
    }

    /// The stamp's progress line and statements.
    async fn stamp_body(
        &self,
        db: &mut Db,
        targets: &[String],
        purge: bool,
    ) -> Result<(Option<String>, Vec<String>), Error> {
        let state = read_state(db, &self.tables).await?;
        let now = At::Value(Utc::now());
        let mut statements = Vec::new();
        let before = if purge {
            statements.push(self.tables.delete_all_versions());
            for row in &state.rows {
                statements.push(self.tables.insert_log(&LogEntry {
                    at: now,
                    action: LogAction::Stamp,
                    version: &row.version,
                    lane: &row.lane,
                    duration_ms: Elapsed::Unknown,
                    outcome: Outcome::Ok,
                    error: None,
                    applied_by: &self.applied_by,
                }));
            }
            Applied::default()
        } else {
            state.applied()
        };
        let plan = self.graph.plan_stamp(&before, targets)?;
        if plan.add.is_empty() && plan.remove.is_empty() && !purge {
            return Ok((None, statements));
        }
        let book = self.book(now, Elapsed::Unknown, None);
        for rev in &plan.remove {
            statements.extend(version_statements(rev, VersionChange::StampRemove, &book));
        }
        for rev in &plan.add {
            let source = read_source(rev)?;
            let book = self.book(now, Elapsed::Unknown, Some(&source));
            statements.extend(version_statements(rev, VersionChange::StampAdd, &book));
        }
        let from = ids(&self.graph.current_heads(&state.applied()));
        let mut after: Vec<String> = before
            .ids()
            .iter()
            .filter(|id| !plan.remove.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        after.extend(plan.add.iter().map(|r| r.id.clone()));
        let to = ids(&self.graph.current_heads(&Applied::from_ordered(after)));
        let line = format!(
            "Running stamp_revision {} -> {}",
            from.join(", "),
            to.join(", ")
        );
        Ok((Some(line), statements))
    }

    async fn amend_on(
        &self,
        db: &mut Db,
        rev: &Revision,
        source: &str,
    ) -> Result<AmendReport, Error> {
        let state = read_state(db, &self.tables).await?;
        let row = state
            .rows
            .iter()
            .find(|r| r.version == rev.id)
            .ok_or_else(|| Error::NotRecorded {
                revision: rev.id.clone(),
                table: self.tables.name().to_string(),
            })?;
        let report = AmendReport {
            revision: rev.id.clone(),
            changed: row.checksum != rev.checksum(),
            old_checksum: row.checksum.clone(),
            new_checksum: rev.checksum().to_string(),
        };
        if !report.changed {
            return Ok(report);
        }
        db.ensure_source_column(&self.tables).await?;
        let statements = [
            self.tables.update_version(
                &rev.id,
                &RowChange::Content {
                    checksum: rev.checksum(),
                    source: Some(source),
                },
            ),
            self.log_ok(rev, LogAction::Amend),
        ];
        self.in_transaction(db, &statements, "amending").await?;
        Ok(report)
    }

    async fn resolve_on(
        &self,
        db: &mut Db,
        rev: &Revision,
        source: &str,
        resolution: Resolution,
    ) -> Result<(), Error> {
        let state = read_state(db, &self.tables).await?;
        let row = state
            .rows
            .iter()
            .find(|r| r.version == rev.id)
            .ok_or_else(|| Error::NotRecorded {
                revision: rev.id.clone(),
                table: self.tables.name().to_string(),
            })?;
        if row.state == VersionState::Applied {
            return Err(Error::NothingToResolve {
                revision: rev.id.clone(),
            });
        }
        let settle = match resolution {
            Resolution::Applied => self.tables.update_version(
                &rev.id,
                &RowChange::Finished {
                    checksum: rev.checksum(),
                    source: Some(source),
                    at: At::Value(Utc::now()),
                    execution_ms: Elapsed::Unknown,
                    applied_by: &self.applied_by,
                },
            ),
            Resolution::Reverted => self.tables.delete_version(&rev.id),
        };
        db.ensure_source_column(&self.tables).await?;
        let statements = [settle, self.log_ok(rev, LogAction::Resolve)];
        self.in_transaction(db, &statements, "resolving").await
    }

    fn log_ok(&self, rev: &Revision, action: LogAction) -> String {
        self.tables.insert_log(&LogEntry {
            at: At::Value(Utc::now()),
            action,
            version: &rev.id,
            lane: &rev.lane,
            duration_ms: Elapsed::Unknown,
            outcome: Outcome::Ok,
            error: None,
            applied_by: &self.applied_by,
        })
    }

    /// Renders every revision of `plan` before anything runs, against the
    /// schema its operations need ([`schema::prerender`]).
    async fn prerender(
        &self,
        db: &mut Db,
        state: &DbState,
        mut plan: Vec<PlanStep<'p>>,
        direction: Direction,
    ) -> Result<Vec<PlanStep<'p>>, Error> {
        let revs: Vec<&Revision> = plan.iter().map(|s| s.rev).collect();
        let live = if revs.iter().any(|r| schema::needs_model(r, direction)) {
            Some(schema::live_model(db, self.graph, state.applied().ids()).await?)
        } else {
            None
        };
        let rendered =
            schema::prerender(&revs, direction, db.dialect(), &self.vars, self.graph, live)?;
        for (step, r) in plan.iter_mut().zip(rendered) {
            step.rendered = r;
        }
        Ok(plan)
    }

    /// The step's statements: pre-rendered, or rendered now from the live
    /// schema.
    async fn rendered(
        &self,
        db: &mut Db,
        step: &PlanStep<'p>,
        direction: Direction,
    ) -> Result<RenderedSteps, Error> {
        if let Some(r) = &step.rendered {
            return Ok(r.clone());
        }
        let state = read_state(db, &self.tables).await?;
        let live = schema::live_model(db, self.graph, state.applied().ids()).await?;
        schema::render_now(
            step.rev,
            direction,
            &self.vars,
            self.graph,
            db.dialect(),
            &live,
        )
    }

    /// After a SQLite rebuild: `PRAGMA foreign_key_check` inside the
    /// transaction; rows → roll back and fail naming them.
    async fn check_foreign_keys(
        &self,
        db: &mut Db,
        rev: &Revision,
        direction: Direction,
        statements: &[String],
        started: Instant,
        report: &RunReport,
    ) -> Option<Error> {
        let check = statements
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("PRAGMA foreign_key_check"))?;
        let violations = match db.foreign_key_violations().await {
            Ok(v) => v,
            Err(e) => {
                rollback(db).await;
                return Some(Error::Interrupted {
                    source: Box::new(e),
                    report: report.clone(),
                });
            }
        };
        if violations.is_empty() {
            return None;
        }
        rollback(db).await;
        let list: Vec<String> = violations
            .iter()
            .take(10)
            .map(ToString::to_string)
            .collect();
        let more = violations.len().saturating_sub(10);
        let message = format!(
            "PRAGMA foreign_key_check found {} row(s) breaking a foreign key: {}{}",
            violations.len(),
            list.join("; "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        );
        self.log_failure(db, rev, direction, &message, started)
            .await;
        Some(Error::Failed(Box::new(self.failure(
            rev,
            direction,
            statements,
            Some(check),
            message,
            false,
            false,
            report,
        ))))
    }

    async fn in_transaction(
        &self,
        db: &mut Db,
        statements: &[String],
        what: &str,
    ) -> Result<(), Error> {
        db.execute_script("BEGIN", what).await?;
        let mut sql = statements.to_vec();
        sql.push("COMMIT".to_string());
        if let Err(e) = db.execute_script(&join(&sql), what).await {
            rollback(db).await;
            return Err(e.into());
        }
        Ok(())
    }
}

/// The rows as they are; a missing table is an empty state.
async fn read_state(db: &mut Db, tables: &VersionTables) -> Result<DbState, store::Error> {
    Ok(match db.read_versions(tables).await? {
        Some(rows) => DbState {
            table_exists: true,
            rows,
        },
        None => DbState::default(),
    })
}

/// Ends a failed transaction; errors are ignored (SQLite may have rolled
/// back already).
async fn rollback(db: &mut Db) {
    if let Err(e) = db.execute_script("ROLLBACK", "rolling back").await {
        tracing::debug!("ROLLBACK: {e}");
    }
}

/// Re-runs `prefix` and then `statements` one by one inside a transaction
/// that is rolled back, to find which statement fails: its index and the
/// database's message.
async fn locate_failure(
    db: &mut Db,
    prefix: &[String],
    statements: &[String],
    dialect: Dialect,
) -> Option<(usize, String)> {
    let begin = match dialect {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres | Dialect::Mysql => "BEGIN",
    };
    db.execute_script(begin, "locating the failure")
        .await
        .ok()?;
    let found = if db.execute_each(prefix).await.is_err() {
        None
    } else {
        db.execute_each(statements)
            .await
            .err()
            .map(|(index, err)| (index, err.database_message()))
    };
    rollback(db).await;
    found
}

/// The normalised text of a revision file (what `source` records), from the
/// content loaded with the project: the file is not read a second time, and
/// the recorded source matches the checksum recorded beside it.
#[allow(clippy::unnecessary_wraps)] // kept fallible: callers treat it as I/O
fn read_source(rev: &Revision) -> Result<String, Error> {
    Ok(rev.text.normalised())
}

/// `Running upgrade a -> b, message` (Alembic's log line).
fn step_line(rev: &Revision, direction: Direction) -> String {
    let comment = match direction {
        Direction::Upgrade => upgrade_comment(rev),
        Direction::Downgrade => downgrade_comment(rev),
    };
    format!("{comment}, {}", rev.message.lines().next().unwrap_or(""))
}

fn change_of(direction: Direction) -> VersionChange {
    match direction {
        Direction::Upgrade => VersionChange::Upgrade,
        Direction::Downgrade => VersionChange::Downgrade,
    }
}

fn action_of(direction: Direction) -> LogAction {
    match direction {
        Direction::Upgrade => LogAction::Upgrade,
        Direction::Downgrade => LogAction::Downgrade,
    }
}

fn join(statements: &[String]) -> String {
    let mut sql = String::new();
    for s in statements {
        sql.push_str(s);
        sql.push_str(";\n");
    }
    sql
}

fn ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn ids(revs: &[&Revision]) -> Vec<String> {
    revs.iter().map(|r| r.id.clone()).collect()
}

/// `user@host` of this process.
fn applied_by() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".to_string());
    let host = whoami::hostname().unwrap_or_else(|_| "unknown".to_string());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: &str, state: VersionState, progress: Option<Progress>) -> VersionRecord {
        VersionRecord {
            version: version.to_string(),
            lane: "schema".to_string(),
            state,
            checksum: String::new(),
            progress,
            error: None,
        }
    }

    #[test]
    fn interrupted_downgrades_count_as_applied() {
        let state = DbState {
            table_exists: true,
            rows: vec![
                row("a", VersionState::Applied, None),
                row(
                    "b",
                    VersionState::Failed,
                    Some(Progress {
                        direction: Direction::Downgrade,
                        statement: 1,
                    }),
                ),
                row("c", VersionState::Running, None),
            ],
        };
        assert_eq!(state.applied().ids(), ["a", "b"]);
        assert_eq!(state.unfinished().len(), 2);
    }

    #[test]
    fn progress_round_trips_through_json() {
        let p = Progress {
            direction: Direction::Downgrade,
            statement: 3,
        };
        assert_eq!(Progress::from_json(&p.to_json().to_string()), Some(p));
        assert_eq!(Progress::from_json("{\"step\": 1}"), None);
        assert_eq!(Progress::from_json("not json"), None);
    }

    #[test]
    fn statements_join_with_semicolons() {
        assert_eq!(join(&["A".into(), "B".into()]), "A;\nB;\n");
    }
}
