//! `template = true` in data revisions (design §5.4): the text of each
//! `sql` step, and of each `[[verify]]` check, goes through minijinja
//! before it runs, exactly as a schema revision's `sql` steps do: the same
//! function ([`crate::dialect::render`]'s `templated_sql`), the same scope
//! (`dialect`, `lane`, `revision`, `vars` from `[vars]` and `-x`), strict
//! undefined, no escaping, the same error naming file, step and line.
//!
//! Everything is rendered before the revision's first statement: the
//! online runner renders all of a revision's steps and checks up front
//! ([`render_steps`], [`verify_checks`]), and the plan renders every data
//! revision of a run before anything runs ([`check`]), as it does schema
//! revisions. `--sql` prints the rendered text.
//!
//! Only SQL *text* is templated: `sql` steps (per-dialect variant first,
//! then the template) and `[[verify]]` `sql`. The SQL fragments of
//! `update`, `copy_rows` and the named operations are not, and a
//! `transform`'s `set` values are its own per-row minijinja expressions.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::model::{DataStep, Located};
use super::{Error, Site};
use crate::dialect::render::{render_template, template_detail, templated_sql};
use crate::dialect::{Dialect, Direction};
use crate::revision::{Revision, SqlStep, StepKind, Verify};

/// `steps` (as [`super::model::steps_of`] parsed them for `dialect`) with
/// the text of every `sql` step rendered when `rev` has `template = true`:
/// the result holds the rendered text as its only variant-less SQL. Without
/// `template = true`, `steps` unchanged.
///
/// # Errors
/// [`Error::Template`] for the first step that does not render.
pub fn render_steps(
    rev: &Revision,
    mut steps: Vec<Located>,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<Located>, Error> {
    if !rev.template {
        return Ok(steps);
    }
    for located in &mut steps {
        if let DataStep::Sql(step) = &located.step {
            let site = &located.site;
            let text = render_sql(
                rev,
                step,
                site.direction,
                site.step,
                site.line,
                dialect,
                vars,
            )?;
            located.step = DataStep::Sql(SqlStep {
                sql: text,
                variants: BTreeMap::new(),
            });
        }
    }
    Ok(steps)
}

/// The `[[verify]]` checks an upgrade of `rev` runs, their SQL rendered
/// when `rev` has `template = true` (a downgrade runs none).
///
/// # Errors
/// [`Error::VerifyTemplate`] for the first check that does not render.
pub fn verify_checks<'r>(
    rev: &'r Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<Cow<'r, [Verify]>, Error> {
    if direction == Direction::Downgrade {
        return Ok(Cow::Borrowed(&[]));
    }
    if !rev.template {
        return Ok(Cow::Borrowed(&rev.verify));
    }
    rev.verify
        .iter()
        .map(|check| {
            let sql = render_template(&check.sql, rev, dialect, vars).map_err(|e| {
                Error::VerifyTemplate {
                    site: Box::new(Site {
                        revision: rev.id.clone(),
                        file: rev.path.clone(),
                        direction,
                        step: 0,
                        line: check.line,
                        op: format!("verify {}", check.name),
                    }),
                    name: check.name.clone(),
                    template_line: e.line(),
                    detail: template_detail(&e),
                }
            })?;
            Ok(Verify {
                sql,
                ..check.clone()
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Cow::Owned)
}

/// Renders every templated text `rev` runs in `direction` (its `sql`
/// steps; on upgrade its `[[verify]]` checks) and drops the result: the
/// runner calls this for each data revision of a plan before the plan's
/// first statement, so a template error changes nothing in the database.
///
/// # Errors
/// As [`render_steps`] and [`verify_checks`].
pub fn check(
    rev: &Revision,
    direction: Direction,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if !rev.template {
        return Ok(());
    }
    // The written steps (a derived downgrade has no `sql` steps).
    let steps = match direction {
        Direction::Upgrade => &rev.upgrade[..],
        Direction::Downgrade => rev.downgrade.as_deref().unwrap_or_default(),
    };
    for (index, step) in steps.iter().enumerate() {
        if let StepKind::Sql(sql) = &step.kind {
            render_sql(rev, sql, direction, index + 1, step.line, dialect, vars)?;
        }
    }
    verify_checks(rev, direction, dialect, vars).map(drop)
}

/// One `sql` step's text for `dialect`, rendered (the caller checked
/// `template = true`).
fn render_sql(
    rev: &Revision,
    step: &SqlStep,
    direction: Direction,
    number: usize,
    line: usize,
    dialect: Dialect,
    vars: &BTreeMap<String, String>,
) -> Result<String, Error> {
    templated_sql(
        step.text_for(dialect),
        rev,
        direction,
        number,
        line,
        dialect,
        vars,
    )
    .map(Cow::into_owned)
    .map_err(|e| Error::Template(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::model::steps_of;
    use crate::revision::{FileFormat, Step};

    /// A data-lane revision, `template = true`, with the given steps.
    fn rev(upgrade: Vec<Step>, downgrade: Option<Vec<Step>>, verify: Vec<Verify>) -> Revision {
        Revision {
            id: "d1".to_string(),
            down_revisions: vec![],
            branch_labels: vec![],
            depends_on: vec![],
            message: "data".to_string(),
            created: None,
            transactional: true,
            template: true,
            upgrade,
            downgrade,
            verify,
            lane: "data".to_string(),
            path: PathBuf::from("migrations/data/d1_fill.toml"),
            text: crate::revision::checksum::FileText::with_checksum("c".repeat(64)),
            format: FileFormat::Toml,
        }
    }

    fn sql(line: usize, text: &str, variants: &[(Dialect, &str)]) -> Step {
        Step {
            line,
            kind: StepKind::Sql(SqlStep {
                sql: text.to_string(),
                variants: variants.iter().map(|(d, t)| (*d, t.to_string())).collect(),
            }),
        }
    }

    fn update(line: usize) -> Step {
        let fields: toml::Table =
            toml::from_str("table = \"items\"\nkey = \"id\"\nset = { note = \"'{{ kept }}'\" }")
                .unwrap();
        Step {
            line,
            kind: StepKind::Operation {
                op: "update".to_string(),
                fields,
            },
        }
    }

    fn check_at(line: usize, name: &str, text: &str) -> Verify {
        Verify {
            line,
            name: name.to_string(),
            sql: text.to_string(),
            expect: 0.0,
        }
    }

    fn vars() -> BTreeMap<String, String> {
        [("region".to_string(), "eu".to_string())].into()
    }

    fn texts(steps: &[Located], dialect: Dialect) -> Vec<String> {
        steps
            .iter()
            .filter_map(|l| match &l.step {
                DataStep::Sql(s) => Some(s.text_for(dialect).to_string()),
                _ => None,
            })
            .collect()
    }

    fn rendered(
        r: &Revision,
        direction: Direction,
        dialect: Dialect,
    ) -> Result<Vec<String>, Error> {
        let steps = steps_of(r, direction, dialect)?;
        Ok(texts(&render_steps(r, steps, dialect, &vars())?, dialect))
    }

    #[test]
    fn sql_steps_see_vars_dialect_lane_and_revision() {
        let r = rev(
            vec![
                sql(
                    5,
                    "UPDATE items SET note = '{{ vars.region }}/{{ dialect }}/{{ lane }}/{{ revision }}'",
                    &[],
                ),
                update(9),
                sql(
                    14,
                    "SELECT 1",
                    &[(Dialect::Postgres, "SELECT '{{ vars.region }}'::text")],
                ),
            ],
            Some(vec![sql(20, "DELETE FROM t WHERE r = '{{ vars.region }}'", &[])]),
            vec![],
        );
        assert_eq!(
            rendered(&r, Direction::Upgrade, Dialect::Sqlite).unwrap(),
            ["UPDATE items SET note = 'eu/sqlite/data/d1'", "SELECT 1"]
        );
        // The dialect's variant is chosen first, then rendered.
        assert_eq!(
            rendered(&r, Direction::Upgrade, Dialect::Postgres).unwrap(),
            [
                "UPDATE items SET note = 'eu/postgresql/data/d1'",
                "SELECT 'eu'::text"
            ]
        );
        assert_eq!(
            rendered(&r, Direction::Downgrade, Dialect::Mysql).unwrap(),
            ["DELETE FROM t WHERE r = 'eu'"]
        );
        // Only `sql` steps: an `update`'s expressions are SQL as written.
        let steps = render_steps(
            &r,
            steps_of(&r, Direction::Upgrade, Dialect::Sqlite).unwrap(),
            Dialect::Sqlite,
            &vars(),
        )
        .unwrap();
        assert!(matches!(&steps[1].step, DataStep::Batched { .. }));
        assert_eq!(
            steps[1],
            steps_of(&r, Direction::Upgrade, Dialect::Sqlite).unwrap()[1]
        );
    }

    #[test]
    fn without_template_the_text_is_untouched() {
        let mut r = rev(
            vec![sql(5, "SELECT '{{1,2},{3,4}}'::int[]", &[])],
            None,
            vec![check_at(8, "c", "SELECT '{{ x }}'")],
        );
        r.template = false;
        assert_eq!(
            rendered(&r, Direction::Upgrade, Dialect::Postgres).unwrap(),
            ["SELECT '{{1,2},{3,4}}'::int[]"]
        );
        let checks = verify_checks(&r, Direction::Upgrade, Dialect::Postgres, &vars()).unwrap();
        assert!(matches!(checks, Cow::Borrowed(_)));
        assert_eq!(checks[0].sql, "SELECT '{{ x }}'");
        assert!(check(&r, Direction::Upgrade, Dialect::Postgres, &BTreeMap::new()).is_ok());
    }

    #[test]
    fn template_errors_name_file_step_and_line() {
        let r = rev(
            vec![
                sql(5, "SELECT 1", &[]),
                sql(11, "SELECT 1;\nUPDATE t SET r = '{{ vars.nope }}'", &[]),
            ],
            Some(vec![]),
            vec![],
        );
        let e = rendered(&r, Direction::Upgrade, Dialect::Sqlite).unwrap_err();
        assert!(matches!(e, Error::Template(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with("revision d1 (migrations/data/d1_fill.toml), upgrade step 2 (line 11): template error at line 2 of the step's SQL: undefined value"),
            "{text}"
        );
        assert!(text.ends_with("or set `template = false`)"), "{text}");
        // The plan-wide check finds the same error without parsing steps.
        assert_eq!(
            check(&r, Direction::Upgrade, Dialect::Sqlite, &vars())
                .unwrap_err()
                .to_string(),
            text
        );
        // A downgrade does not render the upgrade's steps.
        assert!(check(&r, Direction::Downgrade, Dialect::Sqlite, &vars()).is_ok());
        // `--sql` reports the schema lane's own error.
        assert!(matches!(
            crate::dialect::Error::from(e),
            crate::dialect::Error::Template {
                step: 2,
                line: 11,
                template_line: Some(2),
                ..
            }
        ));
    }

    #[test]
    fn verify_sql_is_rendered_and_its_errors_name_the_check() {
        let mut r = rev(
            vec![],
            Some(vec![]),
            vec![
                check_at(
                    7,
                    "in region",
                    "SELECT COUNT(*) FROM t WHERE r <> '{{ vars.region }}' -- {{ dialect }}",
                ),
                check_at(12, "typo", "SELECT COUNT(*)\nFROM {{ vars.tabel }}"),
            ],
        );
        let e = verify_checks(&r, Direction::Upgrade, Dialect::Mysql, &vars())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("revision d1 (migrations/data/d1_fill.toml): verify check `typo` (line 12): template error at line 2 of the check's SQL: undefined value"),
            "{e}"
        );
        assert!(
            e.contains("a literal `{{` is written `{{ '{{' }}`, or set `template = false`"),
            "{e}"
        );
        assert_eq!(
            check(&r, Direction::Upgrade, Dialect::Mysql, &vars())
                .unwrap_err()
                .to_string(),
            e
        );
        // A downgrade runs no checks, so renders none.
        assert!(
            verify_checks(&r, Direction::Downgrade, Dialect::Mysql, &vars())
                .unwrap()
                .is_empty()
        );
        r.verify.pop();
        let checks = verify_checks(&r, Direction::Upgrade, Dialect::Mysql, &vars()).unwrap();
        assert_eq!(
            checks[0].sql,
            "SELECT COUNT(*) FROM t WHERE r <> 'eu' -- mysql"
        );
        assert_eq!((checks[0].line, checks[0].name.as_str()), (7, "in region"));
    }

    #[test]
    fn offline_script_prints_the_rendered_text() {
        let r = rev(
            vec![sql(
                5,
                "UPDATE t SET r = '{{ vars.region }}' WHERE d = '{{ dialect }}'",
                &[],
            )],
            Some(vec![]),
            vec![check_at(
                9,
                "c",
                "SELECT COUNT(*) FROM t WHERE r <> '{{ vars.region }}'",
            )],
        );
        let out = crate::data::render::render(
            &r,
            Direction::Upgrade,
            Dialect::Postgres,
            &vars(),
            &crate::dialect::ops::SchemaModel::new(),
        )
        .unwrap();
        assert_eq!(out[0], "UPDATE t SET r = 'eu' WHERE d = 'postgresql'");
        assert!(
            out[1].contains("--   c (expect 0): SELECT COUNT(*) FROM t WHERE r <> 'eu'"),
            "{}",
            out[1]
        );
        let e = crate::data::render::render(
            &r,
            Direction::Upgrade,
            Dialect::Postgres,
            &BTreeMap::new(),
            &crate::dialect::ops::SchemaModel::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("upgrade step 1 (line 5): template error"), "{e}");
    }
}
