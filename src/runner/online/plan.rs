//! Reading the version table and planning: the rows as they are, the
//! checks against the files (unknown ids, changed checksums, unfinished
//! rows), the plan, and its statements rendered before anything runs.

use crate::dialect::versions::{VersionState, VersionTables};
use crate::dialect::{Dialect, Direction, RenderedSteps};
use crate::graph::{Applied, Graph};
use crate::revision::Revision;
use crate::store::{self, Db, Progress, VersionRecord};

use super::super::error::Error;
use super::super::schema;
use super::bookkeeping::{join, read_source, rollback};
use super::Migrator;

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
pub(super) fn progress_of(row: &VersionRecord) -> Progress {
    row.progress.unwrap_or(Progress {
        direction: Direction::Upgrade,
        statement: 0,
    })
}

/// The refusal for an unfinished row that this run cannot resume.
pub(super) fn unfinished_error(row: &VersionRecord) -> Error {
    let progress = progress_of(row);
    Error::Unfinished {
        revision: row.version.clone(),
        state: row.state,
        direction: progress.direction,
        statement: progress.statement + 1,
        error: row.error.clone(),
    }
}

/// A planned revision.
pub(super) struct PlanStep<'g> {
    pub(super) rev: &'g Revision,
    /// 0-based statement to resume at (journaled revisions).
    pub(super) resume: Option<usize>,
    /// The statements, rendered before the run starts
    /// ([`super::super::schema::prerender`]); `None`: rendered right
    /// before the revision runs, from the live schema.
    pub(super) rendered: Option<RenderedSteps>,
}

/// The rows as they are; a missing table is an empty state.
pub(super) async fn read_state(
    db: &mut Db,
    tables: &VersionTables,
) -> Result<DbState, store::Error> {
    Ok(match db.read_versions(tables).await? {
        Some(rows) => DbState {
            table_exists: true,
            rows,
        },
        None => DbState::default(),
    })
}

impl<'p> Migrator<'p> {
    /// Creates the version tables when missing and returns the rows.
    pub(super) async fn ensure_tables(&self, db: &mut Db) -> Result<DbState, Error> {
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
    pub(super) async fn plan(
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
                _ => return Err(unfinished_error(row)),
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

    /// Renders every revision of `plan` before anything runs, against the
    /// schema its operations need ([`schema::prerender`]).
    pub(super) async fn prerender(
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

    /// Plans and renders (the first thing a locked run does).
    pub(super) async fn planned(
        &self,
        db: &mut Db,
        state: &DbState,
        direction: Direction,
        target: &str,
    ) -> Result<Vec<PlanStep<'p>>, Error> {
        let plan = self.plan(db, state, direction, target).await?;
        self.prerender(db, state, plan, direction).await
    }

    /// The step's statements: pre-rendered, or rendered now from the live
    /// schema.
    pub(super) async fn rendered(
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
}
