//! A revision's steps → the statements they run on one dialect.
//!
//! `sql` steps pick their dialect variant, go through minijinja when the
//! revision opts in (`template = true`), and are split into statements.
//! Portable operations are parsed and rendered by [`super::ops`] against a
//! schema model (the definitions known before each step); a revision
//! without a downgrade section gets its upgrade's inverse. The online
//! runner and the offline script both call [`render_revision`], so the two
//! cannot drift apart.
//!
//! Template scope (design §5.4): `dialect` (`sqlite`, `postgresql`,
//! `mysql`), `lane`, `revision` (the id) and `vars` (a map: `{{ vars.schema
//! }}`). `[vars]` stay under `vars` so that a var can never shadow the
//! three built-in names. Undefined names are errors (strict mode): a typo in
//! a var must not silently render as an empty string inside DDL.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use minijinja::{context, Environment, UndefinedBehavior};

use super::ops::{self, OpContext, Operation, Problem, Rendered, SchemaModel, Taint};
use super::{split_statements, Dialect, Error};
use crate::revision::{FileFormat, Revision, Step, StepKind};

/// Which list of steps is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The `upgrade` steps.
    Upgrade,
    /// The `downgrade` steps.
    Downgrade,
}

impl Direction {
    /// `upgrade` or `downgrade`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A revision's statements in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderedSteps {
    /// Statements, in order, without trailing `;`.
    pub statements: Vec<String>,
    /// For each statement, the line of the step that produced it (empty
    /// where steps have no lines, e.g. data-lane renderings).
    pub lines: Vec<usize>,
    /// A SQLite table rebuild is among them: run
    /// [`ops::render::FOREIGN_KEYS_OFF`] before the revision's transaction
    /// and [`ops::render::FOREIGN_KEYS_ON`] after it, and fail the revision
    /// if a `PRAGMA foreign_key_check` statement returns rows.
    pub foreign_keys_off: bool,
}

/// Every statement of `rev`'s steps in `direction`, in order, knowing no
/// table definitions (see [`render_revision`]).
///
/// # Errors
/// As [`render_revision`].
pub fn render_steps(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, Error> {
    Ok(render_revision(rev, direction, dialect, vars, &SchemaModel::new())?.statements)
}

/// Every statement of `rev`'s steps in `direction`. `before` is the schema
/// before `rev`'s upgrade (from [`replay_schema`] over its ancestors, or
/// introspected): SQLite rebuilds, MySQL `MODIFY COLUMN` and derived
/// downgrades read table definitions from it. A revision without a
/// downgrade section gets the inverse of its upgrade, steps in reverse
/// order.
///
/// # Errors
/// [`Error::InvalidOperation`], [`Error::CannotRender`],
/// [`Error::UnsupportedOperation`] (data-lane operations),
/// [`Error::Template`]; for a downgrade without steps,
/// [`Error::NotInvertible`] (TOML) or [`Error::NoDowngrade`] (SQL format).
pub fn render_revision(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    before: &SchemaModel,
) -> Result<RenderedSteps, Error> {
    // The schema after the revision is not returned here, so a revision of
    // plain `sql` steps need not record their effect (reading every
    // statement for table names was a fifth of `upgrade --sql` at 5,000
    // revisions); operations read the schema, so then it is tracked.
    let track = rev
        .upgrade
        .iter()
        .chain(rev.downgrade.iter().flatten())
        .any(|step| matches!(step.kind, StepKind::Operation { .. }));
    Ok(render_with(rev, direction, dialect, vars, before, None, track)?.0)
}

/// [`render_revision`] for the online runner, which knows the live schema:
/// `current` is the schema as it is when `rev` runs (introspected, then
/// advanced through the earlier revisions of the plan). An upgrade renders
/// against `current` when given (else `before`); a downgrade derives its
/// inverse from `before` (the replayed schema before `rev`'s upgrade: a
/// dropped table's definition exists nowhere else) and renders against
/// `current` when given (else `before` replayed through the upgrade).
/// Also returns the schema after the rendered steps, for the next revision.
///
/// # Errors
/// As [`render_revision`].
pub fn render_revision_on(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    before: &SchemaModel,
    current: Option<&SchemaModel>,
) -> Result<(RenderedSteps, SchemaModel), Error> {
    render_with(rev, direction, dialect, vars, before, current, true)
}

/// [`render_revision_on`]; with `track` false, raw `sql` steps are not
/// recorded in the returned schema (only for a caller that discards it and
/// a revision without operations).
fn render_with(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
    before: &SchemaModel,
    current: Option<&SchemaModel>,
    track: bool,
) -> Result<(RenderedSteps, SchemaModel), Error> {
    let mut model = match (direction, current) {
        (Direction::Upgrade, Some(current)) => current.clone(),
        _ => before.clone(),
    };
    let mut out = RenderedSteps::default();
    let mut push = |r: Rendered, line: usize| {
        out.lines
            .extend(std::iter::repeat_n(line, r.statements.len()));
        out.statements.extend(r.statements);
        out.foreign_keys_off |= r.foreign_keys_off;
    };
    match direction {
        Direction::Upgrade => {
            for (index, step) in rev.upgrade.iter().enumerate() {
                let site = Site::new(rev, direction, index + 1, step.line, dialect);
                push(
                    render_in(step, &site, rev, vars, &mut model, track)?,
                    step.line,
                );
            }
        }
        Direction::Downgrade => {
            // Rendered against the schema after the upgrade.
            for (index, step) in rev.upgrade.iter().enumerate().filter(|_| track) {
                let site = Site::new(rev, Direction::Upgrade, index + 1, step.line, dialect);
                apply_step(step, &site, &mut model)?;
            }
            if let Some(current) = current {
                model = current.clone();
            }
            match &rev.downgrade {
                Some(steps) => {
                    for (index, step) in steps.iter().enumerate() {
                        let site = Site::new(rev, direction, index + 1, step.line, dialect);
                        push(
                            render_in(step, &site, rev, vars, &mut model, track)?,
                            step.line,
                        );
                    }
                }
                None => {
                    for (index, (line, op)) in
                        derive_downgrade(rev, before, dialect)?.iter().enumerate()
                    {
                        let site = Site::new(rev, direction, index + 1, *line, dialect);
                        let ctx = OpContext {
                            schema: &model,
                            transactional: rev.transactional,
                        };
                        push(
                            ops::render(op, dialect, &ctx)
                                .map_err(|p| site.cannot(op.name(), p))?,
                            *line,
                        );
                        model.apply(op);
                    }
                }
            }
        }
    }
    Ok((out, model))
}

/// The inverse of `rev`'s upgrade as operations in run order, each with
/// the line of the upgrade step it undoes.
fn derive_downgrade(
    rev: &Revision,
    before: &SchemaModel,
    dialect: Dialect,
) -> Result<Vec<(usize, Operation)>, Error> {
    let mut model = before.clone();
    let mut inverse: Vec<(usize, Vec<Operation>)> = Vec::new();
    for (index, step) in rev.upgrade.iter().enumerate() {
        let site = Site::new(rev, Direction::Upgrade, index + 1, step.line, dialect);
        let not_invertible = |op: &str, reason: String| match rev.format {
            FileFormat::Sql => Error::NoDowngrade {
                revision: rev.id.clone(),
                file: rev.path.clone(),
            },
            FileFormat::Toml => Error::NotInvertible {
                op: op.to_string(),
                revision: rev.id.clone(),
                file: rev.path.clone(),
                step: index + 1,
                line: step.line,
                reason,
            },
        };
        let op = match &step.kind {
            StepKind::Sql(_) => {
                return Err(not_invertible(
                    "sql",
                    "is raw SQL, which has no derivable inverse".to_string(),
                ))
            }
            StepKind::Operation { op, fields } => site.parse(op, fields)?,
        };
        let undo =
            ops::invert(&op, &model).map_err(|p| not_invertible(op.name(), p.to_string()))?;
        model.apply(&op);
        inverse.push((step.line, undo));
    }
    Ok(inverse
        .into_iter()
        .rev()
        .flat_map(|(line, ops)| ops.into_iter().map(move |op| (line, op)))
        .collect())
}

/// The schema after replaying the upgrade steps of `revs` (in upgrade
/// order): what [`render_revision`] needs as `before` offline. Raw `sql`
/// steps are read as [`SchemaModel::apply_sql`] describes.
///
/// # Errors
/// [`Error::InvalidOperation`] for an operation that does not parse, and
/// [`Error::UnsupportedOperation`] for data-lane operations.
pub fn replay_schema(revs: &[&Revision], dialect: Dialect) -> Result<SchemaModel, Error> {
    let mut model = SchemaModel::new();
    for rev in revs {
        replay_onto(&mut model, rev, Direction::Upgrade, dialect)?;
    }
    Ok(model)
}

/// Records the effect of `rev`'s steps in `direction` on `model` without
/// rendering them (a downgrade without steps records nothing).
///
/// # Errors
/// As [`replay_schema`].
pub fn replay_onto(
    model: &mut SchemaModel,
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
) -> Result<(), Error> {
    let steps = match direction {
        Direction::Upgrade => &rev.upgrade[..],
        Direction::Downgrade => rev.downgrade.as_deref().unwrap_or_default(),
    };
    for (index, step) in steps.iter().enumerate() {
        let site = Site::new(rev, direction, index + 1, step.line, dialect);
        apply_step(step, &site, model)?;
    }
    Ok(())
}

/// Records `step`'s effect on `model` without rendering it.
fn apply_step(step: &Step, site: &Site<'_>, model: &mut SchemaModel) -> Result<(), Error> {
    match &step.kind {
        StepKind::Sql(sql) => {
            model.apply_sql(sql.text_for(site.dialect), site.dialect, &site.taint())
        }
        // DATA LANE HOOK: data operations change rows, not the schema.
        StepKind::Operation { op, .. } if crate::data::model::is_data_op(op) => {}
        StepKind::Operation { op, fields } => model.apply(&site.parse(op, fields)?),
    }
    Ok(())
}

/// Renders `step` against `model` and records its effect (a raw `sql`
/// step's only when `track`).
fn render_in(
    step: &Step,
    site: &Site<'_>,
    rev: &Revision,
    vars: &BTreeMap<String, String>,
    model: &mut SchemaModel,
    track: bool,
) -> Result<Rendered, Error> {
    match &step.kind {
        StepKind::Sql(_) => {
            let statements = render_step(step, site.step, site.direction, rev, site.dialect, vars)?;
            if track {
                apply_step(step, site, model)?;
            }
            Ok(Rendered {
                statements,
                foreign_keys_off: false,
            })
        }
        StepKind::Operation { op, fields } => {
            let op = site.parse(op, fields)?;
            let ctx = OpContext {
                schema: model,
                transactional: rev.transactional,
            };
            let rendered =
                ops::render(&op, site.dialect, &ctx).map_err(|p| site.cannot(op.name(), p))?;
            model.apply(&op);
            Ok(rendered)
        }
    }
}

/// Where a step is, for errors.
struct Site<'a> {
    rev: &'a Revision,
    direction: Direction,
    step: usize,
    line: usize,
    dialect: Dialect,
}

impl<'a> Site<'a> {
    fn new(
        rev: &'a Revision,
        direction: Direction,
        step: usize,
        line: usize,
        dialect: Dialect,
    ) -> Self {
        Site {
            rev,
            direction,
            step,
            line,
            dialect,
        }
    }

    fn parse(&self, op: &str, fields: &toml::Table) -> Result<Operation, Error> {
        // Data-lane operations (design §5.2) run in data revisions only.
        if crate::data::model::is_data_op(op) {
            return Err(Error::UnsupportedOperation {
                op: op.to_string(),
                revision: self.rev.id.clone(),
                file: self.rev.path.clone(),
                direction: self.direction,
                step: self.step,
                line: self.line,
                dialect: self.dialect,
            });
        }
        ops::parse_operation(op, fields).map_err(|problem| Error::InvalidOperation {
            op: op.to_string(),
            revision: self.rev.id.clone(),
            file: self.rev.path.clone(),
            direction: self.direction,
            step: self.step,
            line: self.line,
            problem: Box::new(problem),
        })
    }

    fn cannot(&self, op: &str, problem: Problem) -> Error {
        Error::CannotRender {
            op: op.to_string(),
            revision: self.rev.id.clone(),
            file: self.rev.path.clone(),
            direction: self.direction,
            step: self.step,
            line: self.line,
            dialect: self.dialect,
            problem: Box::new(problem),
        }
    }

    fn taint(&self) -> Taint {
        Taint {
            revision: self.rev.id.clone(),
            file: self.rev.path.clone(),
            step: self.step,
            line: self.line,
        }
    }
}

/// The statements of one step, knowing no table definitions. `number` is
/// the step's 1-based position in its list (for error messages).
///
/// # Errors
/// [`Error::InvalidOperation`] and [`Error::CannotRender`] for operations,
/// [`Error::UnsupportedOperation`] for data-lane operations,
/// [`Error::Template`] when a templated step fails to render.
pub fn render_step(
    step: &Step,
    number: usize,
    direction: Direction,
    rev: &Revision,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, Error> {
    match &step.kind {
        StepKind::Sql(sql) => {
            let text = templated_sql(
                sql.text_for(dialect),
                rev,
                direction,
                number,
                step.line,
                dialect,
                vars,
            )?;
            Ok(split_statements(&text, dialect))
        }
        StepKind::Operation { .. } => {
            let site = Site::new(rev, direction, number, step.line, dialect);
            let mut model = SchemaModel::new();
            Ok(render_in(step, &site, rev, vars, &mut model, true)?.statements)
        }
    }
}

/// The text of a `sql` step as it runs: unchanged when `rev` has no
/// `template = true`, else rendered through minijinja with the template
/// scope (module documentation). `number` is the step's 1-based position
/// in its `direction`'s list and `line` its line in the file, for the
/// error. The schema lane ([`render_step`]) and the data lane's `sql`
/// steps (`crate::data::template`) both render through here.
///
/// # Errors
/// [`Error::Template`] naming the revision, its file, the step, its line
/// and the line within the step's SQL.
pub(crate) fn templated_sql<'t>(
    text: &'t str,
    rev: &Revision,
    direction: Direction,
    number: usize,
    line: usize,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Cow<'t, str>, Error> {
    if !rev.template {
        return Ok(Cow::Borrowed(text));
    }
    render_template(text, rev, dialect, vars)
        .map(Cow::Owned)
        .map_err(|e| Error::Template {
            revision: rev.id.clone(),
            file: rev.path.clone(),
            direction,
            step: number,
            line,
            template_line: e.line(),
            detail: template_detail(&e),
        })
}

/// `text` through minijinja with `rev`'s template scope: `dialect`,
/// `lane`, `revision`, `vars`; strict undefined, no escaping. Used by
/// [`templated_sql`] and for the data lane's `[[verify]]` SQL, whose
/// errors name the check instead of a step.
pub(crate) fn render_template(
    text: &str,
    rev: &Revision,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // SQL, not HTML: never escape.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.render_str(
        text,
        context! {
            dialect => dialect.name(),
            lane => rev.lane.as_str(),
            revision => rev.id.as_str(),
            vars => vars,
        },
    )
}

/// minijinja's message without its own "(in <string>:N)" location suffix,
/// which would name an internal template instead of the revision file.
pub(crate) fn template_detail(e: &minijinja::Error) -> String {
    let mut detail = e.kind().to_string();
    if let Some(d) = e.detail() {
        detail.push_str(": ");
        detail.push_str(d);
    }
    detail
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::revision::{FileFormat, SqlStep};

    /// A revision with the given steps, for tests here and in the runner.
    pub(crate) fn rev(
        id: &str,
        down: &[&str],
        upgrade: Vec<Step>,
        downgrade: Option<Vec<Step>>,
    ) -> Revision {
        Revision {
            id: id.to_string(),
            down_revisions: down.iter().map(|s| s.to_string()).collect(),
            branch_labels: vec![],
            depends_on: vec![],
            message: format!("message of {id}"),
            created: None,
            transactional: true,
            template: false,
            upgrade,
            downgrade,
            verify: Vec::new(),
            lane: "schema".to_string(),
            path: PathBuf::from(format!("migrations/schema/{id}_x.toml")),
            text: crate::revision::checksum::FileText::with_checksum("c".repeat(64)),
            format: FileFormat::Toml,
        }
    }

    /// A `sql` step at `line`.
    pub(crate) fn sql(line: usize, text: &str) -> Step {
        Step {
            line,
            kind: StepKind::Sql(SqlStep {
                sql: text.to_string(),
                variants: BTreeMap::new(),
            }),
        }
    }

    fn no_vars() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn sql_steps_are_split_and_variants_chosen() {
        let mut step = sql(8, "CREATE INDEX ix ON t (a); SELECT 1;");
        if let StepKind::Sql(s) = &mut step.kind {
            s.variants.insert(
                Dialect::Postgres,
                "CREATE INDEX CONCURRENTLY ix ON t (a)".into(),
            );
        }
        let r = rev("a1", &[], vec![step, sql(12, "DROP TABLE x")], Some(vec![]));
        assert_eq!(
            render_steps(&r, Direction::Upgrade, Dialect::Sqlite, &no_vars()).unwrap(),
            ["CREATE INDEX ix ON t (a)", "SELECT 1", "DROP TABLE x"]
        );
        assert_eq!(
            render_steps(&r, Direction::Upgrade, Dialect::Postgres, &no_vars()).unwrap(),
            ["CREATE INDEX CONCURRENTLY ix ON t (a)", "DROP TABLE x"]
        );
        assert!(
            render_steps(&r, Direction::Downgrade, Dialect::Mysql, &no_vars())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn template_off_leaves_braces_alone() {
        let r = rev(
            "a1",
            &[],
            vec![sql(3, "SELECT '{{1,2},{3,4}}'::int[]")],
            None,
        );
        assert_eq!(
            render_steps(&r, Direction::Upgrade, Dialect::Postgres, &no_vars()).unwrap(),
            ["SELECT '{{1,2},{3,4}}'::int[]"]
        );
    }

    #[test]
    fn template_scope() {
        let mut r = rev(
            "a1",
            &[],
            vec![sql(
                3,
                "-- {{ revision }} in {{ lane }}\nCREATE TABLE {{ vars.schema }}.t (x {% if dialect == 'postgresql' %}jsonb{% else %}text{% endif %}); SELECT '<&>'",
            )],
            None,
        );
        r.template = true;
        let vars: BTreeMap<String, String> = [("schema".to_string(), "app".to_string())].into();
        assert_eq!(
            render_steps(&r, Direction::Upgrade, Dialect::Postgres, &vars).unwrap(),
            [
                "-- a1 in schema\nCREATE TABLE app.t (x jsonb)",
                "SELECT '<&>'"
            ]
        );
        assert_eq!(
            render_steps(&r, Direction::Upgrade, Dialect::Sqlite, &vars).unwrap(),
            [
                "-- a1 in schema\nCREATE TABLE app.t (x text)",
                "SELECT '<&>'"
            ]
        );
    }

    #[test]
    fn template_errors_name_file_step_and_line() {
        let mut r = rev(
            "a1",
            &[],
            vec![
                sql(3, "SELECT 1"),
                sql(9, "SELECT 1;\nSELECT {{ vars.nope }}"),
            ],
            None,
        );
        r.template = true;
        let e = render_steps(&r, Direction::Upgrade, Dialect::Sqlite, &no_vars())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("revision a1 (migrations/schema/a1_x.toml), upgrade step 2 (line 9): template error at line 2 of the step's SQL: undefined value"), "{e}");
        assert!(e.contains("template = false"), "{e}");
        r.upgrade = vec![sql(4, "SELECT {% if %}")];
        let e = render_steps(&r, Direction::Upgrade, Dialect::Sqlite, &no_vars())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("step 1 (line 4): template error at line 1"),
            "{e}"
        );
        assert!(e.contains("syntax error"), "{e}");
    }

    #[test]
    fn data_operations_are_refused_with_a_hint() {
        let op = Step {
            line: 14,
            kind: StepKind::Operation {
                op: "update".into(),
                fields: toml::Table::new(),
            },
        };
        let r = rev("a1", &[], vec![], Some(vec![sql(3, "SELECT 1"), op]));
        let e = render_steps(&r, Direction::Downgrade, Dialect::Mysql, &no_vars())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "revision a1 (migrations/schema/a1_x.toml), downgrade step 2 (line 14): `update` is a data operation, which runs only in a data revision's batches, not as a schema statement on mysql; put it in a data revision (`retort revision --lane data`) or write it as an `op = \"sql\"` step"
        );
    }

    #[test]
    fn missing_downgrade_of_raw_sql_is_an_error() {
        let r = rev("a1", &[], vec![sql(3, "SELECT 1")], None);
        let e = render_steps(&r, Direction::Downgrade, Dialect::Sqlite, &no_vars())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("revision a1 (migrations/schema/a1_x.toml) has no [[downgrade]] steps and its downgrade cannot be derived: upgrade step 1 (line 3, `sql`) is raw SQL"),
            "{e}"
        );
        let mut r = r;
        r.format = FileFormat::Sql;
        let e = render_steps(&r, Direction::Downgrade, Dialect::Sqlite, &no_vars())
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no downgrade steps"), "{e}");
        r.upgrade.clear();
        assert!(
            render_steps(&r, Direction::Downgrade, Dialect::Sqlite, &no_vars())
                .unwrap()
                .is_empty()
        );
    }
}
