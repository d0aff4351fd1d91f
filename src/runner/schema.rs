//! Rendering a plan's revisions for the online runner, all of them before
//! anything runs, against the schema the operations need.
//!
//! - The starting schema is the live one on SQLite (the catalog read into
//!   table shapes, [`crate::dialect::ops::introspect`]); a table that does
//!   not fit the portable model falls back to the replayed model (the
//!   earlier revisions' operations), as on PostgreSQL and MySQL, whose
//!   ALTERs need no table definitions beyond what the replay gives.
//! - Each revision is rendered against the schema left by the ones before
//!   it in the plan ([`crate::dialect::render_revision_on`]), so an error
//!   (an invalid operation, a downgrade that cannot be derived) refuses the
//!   whole run before the first statement.
//! - One exception: on SQLite, when a raw `sql` step earlier in the *same*
//!   plan touched a table that a later rebuild needs, its definition is
//!   unknown until that step ran. Such a revision is rendered right before
//!   it runs, from a fresh read of the catalog (`None` here).
//! - A plan of raw SQL only needs no model: nothing is read or replayed.

use std::collections::BTreeMap;

use super::error::Error;
use crate::dialect::ops::introspect::shape_of;
use crate::dialect::ops::{Problem, SchemaModel, TableShape, TableState};
use crate::dialect::{
    self, render_revision_on, replay_onto, replay_schema, Dialect, Direction, RenderedSteps,
};
use crate::graph::Graph;
use crate::revision::{Revision, StepKind};
use crate::store::Db;

/// Whether rendering `rev` in `direction` reads table definitions.
pub fn needs_model(rev: &Revision, direction: Direction) -> bool {
    let has_op = |steps: &[crate::revision::Step]| {
        steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Operation { .. }))
    };
    match direction {
        Direction::Upgrade => has_op(&rev.upgrade),
        Direction::Downgrade => match &rev.downgrade {
            Some(steps) => has_op(steps),
            None => true,
        },
    }
}

/// The schema before `rev`'s upgrade, replayed from its ancestors.
fn replayed_before(graph: &Graph, rev: &Revision, dialect: Dialect) -> Result<SchemaModel, Error> {
    let closure = graph.closure(&[rev.id.as_str()])?;
    let ancestors: Vec<&Revision> = closure
        .ids()
        .iter()
        .filter(|id| **id != rev.id)
        .filter_map(|id| graph.get(id))
        .collect();
    Ok(replay_schema(&ancestors, dialect)?)
}

/// The schema as it is now: the live catalog on SQLite, with the replayed
/// model of the applied revisions (`applied`, ids) for the tables the
/// catalog cannot describe; the replayed model alone elsewhere.
///
/// # Errors
/// Reading the catalog; replaying (an operation that does not parse).
pub async fn live_model(
    db: &mut Db,
    graph: &Graph,
    applied: &[String],
) -> Result<SchemaModel, Error> {
    let dialect = db.dialect();
    let ids: Vec<&str> = applied
        .iter()
        .filter(|id| graph.get(id).is_some())
        .map(String::as_str)
        .collect();
    let closure = graph.closure(&ids)?;
    let revs: Vec<&Revision> = closure
        .ids()
        .iter()
        .filter_map(|id| graph.get(id))
        .collect();
    let replayed = replay_schema(&revs, dialect)?;
    let Some((tables, objects)) = db.sqlite_catalog().await? else {
        return Ok(replayed);
    };
    let mut model = SchemaModel::new();
    for table in &tables {
        let state = match shape_of(table, &objects) {
            Ok(mut shape) => {
                if let Some(replayed) = replayed.shape(&table.name) {
                    names_from(&mut shape, replayed);
                }
                TableState::Known(shape)
            }
            Err(reason) => match replayed.state(&table.name) {
                Some(state) => state.clone(),
                None => TableState::Opaque(format!("table `{}`: {reason}", table.name)),
            },
        };
        model.set_state(&table.name, state);
    }
    Ok(model)
}

/// Renders every revision of a plan, in plan order. `None`: rendered at run
/// time (see the module documentation).
///
/// # Errors
/// The first revision that cannot be rendered.
pub fn prerender(
    plan: &[&Revision],
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    graph: &Graph,
    live: Option<SchemaModel>,
) -> Result<Vec<Option<RenderedSteps>>, Error> {
    let mut current = live;
    let mut raw_sql_before = false;
    let mut out = Vec::with_capacity(plan.len());
    for rev in plan {
        // Data revisions are validated and run by `crate::data`, batch by
        // batch; their raw `sql` steps may touch any table, so later
        // rebuilds read the catalog again. Their steps are parsed (and a
        // downgrade's reverses derived), their fixtures read and their
        // templated SQL rendered here, so an invalid step, a missing
        // reverse or fixture, or a template error refuses the whole run
        // before its first statement.
        if crate::data::is_data_revision(rev) {
            crate::data::check_revision(rev, direction, dialect)?;
            crate::data::template::check(rev, direction, dialect, vars)?;
            out.push(None);
            raw_sql_before = true;
            continue;
        }
        if !needs_model(rev, direction) {
            out.push(Some(dialect::render_revision(
                rev,
                direction,
                dialect,
                vars,
                &SchemaModel::new(),
            )?));
            if let Some(model) = &mut current {
                advance(model, rev, direction, dialect)?;
            }
            raw_sql_before = true;
            continue;
        }
        let before = match (direction, &current) {
            (Direction::Upgrade, Some(model)) => model.clone(),
            _ => replayed_before(graph, rev, dialect)?,
        };
        match render_revision_on(rev, direction, dialect, vars, &before, current.as_ref()) {
            Ok((rendered, after)) => {
                out.push(Some(rendered));
                if current.is_some() {
                    current = Some(after);
                }
            }
            Err(dialect::Error::CannotRender { problem, .. })
                if dialect == Dialect::Sqlite
                    && raw_sql_before
                    && matches!(*problem, Problem::NeedShape(_)) =>
            {
                out.push(None);
                match (&mut current, direction) {
                    (Some(model), Direction::Upgrade) => advance(model, rev, direction, dialect)?,
                    _ => current = None,
                }
            }
            Err(e) => return Err(e.into()),
        }
        raw_sql_before |= has_raw_sql(rev, direction);
    }
    Ok(out)
}

fn has_raw_sql(rev: &Revision, direction: Direction) -> bool {
    let steps = match direction {
        Direction::Upgrade => Some(&rev.upgrade),
        Direction::Downgrade => rev.downgrade.as_ref(),
    };
    steps.is_some_and(|s| s.iter().any(|s| matches!(s.kind, StepKind::Sql(_))))
}

/// Records `rev`'s effect on `model` without rendering it: operations as
/// they change the model, raw SQL tainting the tables it mentions.
fn advance(
    model: &mut SchemaModel,
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
) -> Result<(), Error> {
    Ok(replay_onto(model, rev, direction, dialect)?)
}

/// Renders `rev` now against `live` (a revision [`prerender`] left for run
/// time).
///
/// # Errors
/// As [`prerender`].
pub fn render_now(
    rev: &Revision,
    direction: Direction,
    vars: &BTreeMap<String, String>,
    graph: &Graph,
    dialect: Dialect,
    live: &SchemaModel,
) -> Result<RenderedSteps, Error> {
    let before = match direction {
        Direction::Upgrade => live.clone(),
        Direction::Downgrade => replayed_before(graph, rev, dialect)?,
    };
    Ok(render_revision_on(rev, direction, dialect, vars, &before, Some(live))?.0)
}

/// Constraint names SQLite does not keep (sea-query writes foreign keys and
/// inline checks without `CONSTRAINT name`): taken from the replayed shape
/// where the columns (or the expression) match, so that a later
/// `drop_foreign_key` / `drop_constraint` still finds them.
fn names_from(shape: &mut TableShape, replayed: &TableShape) {
    let same = |a: &[String], b: &[String]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
    };
    for fk in shape.foreign_keys.iter_mut().filter(|f| f.name.is_none()) {
        fk.name = replayed
            .foreign_keys
            .iter()
            .find(|r| {
                same(&r.columns, &fk.columns) && r.ref_table.eq_ignore_ascii_case(&fk.ref_table)
            })
            .and_then(|r| r.name.clone());
    }
    for u in shape.uniques.iter_mut().filter(|u| u.name.is_none()) {
        u.name = replayed
            .uniques
            .iter()
            .find(|r| same(&r.columns, &u.columns))
            .and_then(|r| r.name.clone());
    }
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<String>()
            .to_ascii_lowercase()
    };
    for c in shape.checks.iter_mut().filter(|c| c.name.is_none()) {
        c.name = replayed
            .checks
            .iter()
            .find(|r| squash(&r.sql) == squash(&c.sql))
            .and_then(|r| r.name.clone());
    }
}
