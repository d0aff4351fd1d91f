//! A revision's steps → the statements they run on one dialect.
//!
//! `sql` steps pick their dialect variant, go through minijinja when the
//! revision opts in (`template = true`), and are split into statements.
//! Portable operations are refused for now with an error that says what to
//! write instead. The online runner and the offline script both call
//! [`render_steps`], so the two cannot drift apart.
//!
//! Template scope (design §5.4): `dialect` (`sqlite`, `postgresql`,
//! `mysql`), `lane`, `revision` (the id) and `vars` (a map: `{{ vars.schema
//! }}`). `[vars]` stay under `vars` so that a var can never shadow the
//! three built-in names. Undefined names are errors (strict mode): a typo in
//! a var must not silently render as an empty string inside DDL.

use std::collections::BTreeMap;
use std::fmt;

use minijinja::{context, Environment, UndefinedBehavior};

use super::{split_statements, Dialect, Error};
use crate::revision::{Revision, Step, StepKind};

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

/// Every statement of `rev`'s steps in `direction`, in order.
///
/// # Errors
/// [`Error::NoDowngrade`] when downgrading a revision without a downgrade
/// section, and the errors of [`render_step`].
pub fn render_steps(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, Error> {
    let steps = match direction {
        Direction::Upgrade => &rev.upgrade,
        Direction::Downgrade => rev.downgrade.as_ref().ok_or_else(|| Error::NoDowngrade {
            revision: rev.id.clone(),
            file: rev.path.clone(),
        })?,
    };
    let mut out = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        out.extend(render_step(step, index + 1, direction, rev, dialect, vars)?);
    }
    Ok(out)
}

/// The statements of one step. `number` is the step's 1-based position in
/// its list (for error messages).
///
/// # Errors
/// [`Error::UnsupportedOperation`] for portable operations,
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
            let text = sql.text_for(dialect);
            if rev.template {
                let rendered =
                    render_template(text, rev, dialect, vars).map_err(|e| Error::Template {
                        revision: rev.id.clone(),
                        file: rev.path.clone(),
                        direction,
                        step: number,
                        line: step.line,
                        template_line: e.line(),
                        detail: template_detail(&e),
                    })?;
                Ok(split_statements(&rendered, dialect))
            } else {
                Ok(split_statements(text, dialect))
            }
        }
        StepKind::Operation { op, .. } => Err(Error::UnsupportedOperation {
            op: op.clone(),
            revision: rev.id.clone(),
            file: rev.path.clone(),
            direction,
            step: number,
            line: step.line,
            dialect,
        }),
    }
}

fn render_template(
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
fn template_detail(e: &minijinja::Error) -> String {
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
            lane: "schema".to_string(),
            path: PathBuf::from(format!("migrations/schema/{id}_x.toml")),
            checksum: "c".repeat(64),
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
    fn operations_are_refused_with_a_hint() {
        let op = Step {
            line: 14,
            kind: StepKind::Operation {
                op: "create_table".into(),
                fields: toml::Table::new(),
            },
        };
        let r = rev("a1", &[], vec![], Some(vec![sql(3, "SELECT 1"), op]));
        let e = render_steps(&r, Direction::Downgrade, Dialect::Mysql, &no_vars())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "revision a1 (migrations/schema/a1_x.toml), downgrade step 2 (line 14): operation `create_table` is not supported yet on mysql (portable operations come in a later release); use an `op = \"sql\"` step with the SQL for now"
        );
    }

    #[test]
    fn missing_downgrade_is_an_error() {
        let r = rev("a1", &[], vec![], None);
        let e = render_steps(&r, Direction::Downgrade, Dialect::Sqlite, &no_vars())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("revision a1 (migrations/schema/a1_x.toml) has no downgrade steps"),
            "{e}"
        );
    }
}
