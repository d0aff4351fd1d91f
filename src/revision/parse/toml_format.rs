//! The TOML revision format (design §4.1), read with `toml`'s spanned
//! document model so that every key and step keeps its line.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{line_at, parse_created, Location, ParseError, Parsed, SQL_STEP_KEYS, TOML_KEYS};
use crate::dialect::Dialect;
use crate::revision::{SqlStep, Step, StepKind};

/// Parsing context of one TOML file: the content (for lines) and the path.
struct TomlCtx<'a> {
    content: &'a str,
    path: &'a Path,
}

impl TomlCtx<'_> {
    fn at(&self, offset: usize) -> Location {
        Location::new(self.path, line_at(self.content, offset))
    }

    fn wrong_type<T>(
        &self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        expected: &'static str,
    ) -> Result<T, ParseError> {
        Err(ParseError::WrongType {
            at: self.at(value.span().start),
            key: key.to_string(),
            expected,
            found: value.get_ref().type_str().to_string(),
        })
    }

    fn string(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<String, ParseError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => self.wrong_type(key, value, "a string"),
        }
    }

    fn boolean(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<bool, ParseError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => self.wrong_type(key, value, "true or false"),
        }
    }

    /// A string or an array of strings; each with its line.
    fn strings(
        &self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<(String, usize)>, ParseError> {
        const EXPECTED: &str = "a string or an array of strings";
        match value.get_ref() {
            DeValue::String(s) => Ok(vec![(
                s.to_string(),
                line_at(self.content, value.span().start),
            )]),
            DeValue::Array(items) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => {
                        Ok((s.to_string(), line_at(self.content, item.span().start)))
                    }
                    _ => self.wrong_type(key, item, EXPECTED),
                })
                .collect(),
            _ => self.wrong_type(key, value, EXPECTED),
        }
    }

    fn created(&self, value: &Spanned<DeValue<'_>>) -> Result<DateTime<Utc>, ParseError> {
        let invalid = |message: String| ParseError::InvalidValue {
            at: self.at(value.span().start),
            key: "created".to_string(),
            message,
        };
        match value.get_ref() {
            DeValue::Datetime(dt) => toml_datetime_to_utc(dt).ok_or_else(|| {
                invalid(format!(
                    "{dt} is not a date-time; write a UTC timestamp such as 2026-11-23T12:00:00Z"
                ))
            }),
            DeValue::String(s) => parse_created(s).map_err(invalid),
            _ => self.wrong_type("created", value, "a date-time such as 2026-11-23T12:00:00Z"),
        }
    }

    fn to_value(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<toml::Value, ParseError> {
        toml::Value::deserialize(value.clone().into_deserializer()).map_err(|e| {
            ParseError::InvalidValue {
                at: self.at(e.span().map_or(value.span().start, |s| s.start)),
                key: key.to_string(),
                message: e.message().to_string(),
            }
        })
    }
}

pub(super) fn parse_toml(content: &str, path: &Path) -> Result<Parsed, ParseError> {
    let ctx = TomlCtx { content, path };
    let doc = DeTable::parse(content).map_err(|e| ParseError::Syntax {
        at: Location {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_at(content, s.start)),
        },
        message: e.message().trim_end().to_string(),
    })?;
    let mut parsed = Parsed::default();
    // Keys in file order, so that the first problem reported is the first in
    // the file.
    let mut entries: Vec<_> = doc.get_ref().iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        let name: &str = key.get_ref();
        let key_line = line_at(content, key.span().start);
        match name {
            "revision" => {
                parsed.revision = Some((ctx.string(name, value)?, key_line));
            }
            "down_revision" => parsed.down_revisions = ctx.strings(name, value)?,
            "message" => parsed.message = ctx.string(name, value)?,
            "created" => parsed.created = Some(ctx.created(value)?),
            "branch_labels" => {
                parsed.branch_labels = names(ctx.strings(name, value)?);
            }
            "depends_on" => parsed.depends_on = names(ctx.strings(name, value)?),
            "transactional" => parsed.transactional = Some(ctx.boolean(name, value)?),
            "template" => parsed.template = Some(ctx.boolean(name, value)?),
            "upgrade" => parsed.upgrade = toml_steps(&ctx, name, value)?,
            "downgrade" => parsed.downgrade = Some(toml_steps(&ctx, name, value)?),
            // DATA LANE: `[[verify]]` checks (src/data/).
            "verify" => parsed.verify = toml_verify(&ctx, value)?,
            _ => {
                return Err(ParseError::UnknownKey {
                    at: Location::new(path, key_line),
                    key: name.to_string(),
                    context: "the revision header".to_string(),
                    valid: TOML_KEYS,
                })
            }
        }
    }
    Ok(parsed)
}

pub(super) fn names(items: Vec<(String, usize)>) -> Vec<String> {
    items.into_iter().map(|(name, _)| name).collect()
}

fn toml_steps(
    ctx: &TomlCtx<'_>,
    section: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<Step>, ParseError> {
    let DeValue::Array(items) = value.get_ref() else {
        return ctx.wrong_type(
            section,
            value,
            "an array of tables, one `[[...]]` entry per step",
        );
    };
    let mut steps = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let DeValue::Table(table) = item.get_ref() else {
            return ctx.wrong_type(section, item, "a table (a [[...]] entry)");
        };
        let line = line_at(ctx.content, item.span().start);
        let context = format!("[[{section}]] step {}", index + 1);
        steps.push(Step {
            line,
            kind: toml_step(ctx, table, line, &context)?,
        });
    }
    Ok(steps)
}

/// `[[verify]]` entries: `sql` (required), `expect` (a number, required),
/// `name` (optional).
fn toml_verify(
    ctx: &TomlCtx<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<crate::revision::Verify>, ParseError> {
    const KEYS: &[&str] = &["name", "sql", "expect"];
    let DeValue::Array(items) = value.get_ref() else {
        return ctx.wrong_type(
            "verify",
            value,
            "an array of tables, one `[[verify]]` per check",
        );
    };
    let mut checks = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let DeValue::Table(table) = item.get_ref() else {
            return ctx.wrong_type("verify", item, "a table (a [[verify]] entry)");
        };
        let line = line_at(ctx.content, item.span().start);
        let context = format!("[[verify]] check {}", index + 1);
        let (mut name, mut sql, mut expect) = (None, None, None);
        for (key, value) in table.iter() {
            match key.get_ref().as_ref() {
                "name" => name = Some(ctx.string("name", value)?),
                "sql" => sql = Some(ctx.string("sql", value)?),
                "expect" => {
                    expect = Some(match value.get_ref() {
                        DeValue::Integer(_) | DeValue::Float(_) => {
                            match ctx.to_value("expect", value)? {
                                toml::Value::Integer(i) => i as f64,
                                toml::Value::Float(f) => f,
                                _ => return ctx.wrong_type("expect", value, "a number"),
                            }
                        }
                        _ => return ctx.wrong_type("expect", value, "a number"),
                    })
                }
                other => {
                    return Err(ParseError::UnknownKey {
                        at: ctx.at(key.span().start),
                        key: other.to_string(),
                        context: context.clone(),
                        valid: KEYS,
                    })
                }
            }
        }
        let missing = |key: &'static str, hint: &'static str| ParseError::MissingKey {
            at: Location::new(ctx.path, line),
            key,
            context: context.clone(),
            hint,
        };
        checks.push(crate::revision::Verify {
            line,
            name: name.unwrap_or_else(|| format!("check {}", index + 1)),
            sql: sql.ok_or_else(|| {
                missing(
                    "sql",
                    "add `sql = \"SELECT count(*) FROM …\"` returning one number",
                )
            })?,
            expect: expect.ok_or_else(|| {
                missing(
                    "expect",
                    "add `expect = 0` (the value the query must return)",
                )
            })?,
        });
    }
    Ok(checks)
}

fn toml_step(
    ctx: &TomlCtx<'_>,
    table: &DeTable<'_>,
    line: usize,
    context: &str,
) -> Result<StepKind, ParseError> {
    let Some(op_value) = table.get("op") else {
        return Err(ParseError::MissingKey {
            at: Location::new(ctx.path, line),
            key: "op",
            context: context.to_string(),
            hint: "add `op = \"sql\"` (or an operation such as `op = \"create_table\"`)",
        });
    };
    let op = ctx.string("op", op_value)?;
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    if op != "sql" {
        let mut fields = toml::Table::new();
        for (key, value) in entries {
            if key.get_ref() != "op" {
                fields.insert(
                    key.get_ref().to_string(),
                    ctx.to_value(key.get_ref(), value)?,
                );
            }
        }
        return Ok(StepKind::Operation { op, fields });
    }
    let mut step = SqlStep::default();
    let mut sql = None;
    let mut seen: Vec<(Dialect, usize)> = Vec::new();
    for (key, value) in entries {
        let name: &str = key.get_ref();
        let key_line = line_at(ctx.content, key.span().start);
        if name == "op" {
            continue;
        }
        if name == "sql" {
            sql = Some((ctx.string(name, value)?, value.span().start));
            continue;
        }
        let Some(dialect) = Dialect::from_name(name) else {
            return Err(ParseError::UnknownKey {
                at: Location::new(ctx.path, key_line),
                key: name.to_string(),
                context: format!("{context} (op = \"sql\")"),
                valid: SQL_STEP_KEYS,
            });
        };
        if let Some((_, first_line)) = seen.iter().find(|(d, _)| *d == dialect) {
            return Err(ParseError::Duplicate {
                at: Location::new(ctx.path, key_line),
                key: format!("{name} (a {dialect} variant)"),
                first_line: *first_line,
            });
        }
        seen.push((dialect, key_line));
        step.variants.insert(dialect, ctx.string(name, value)?);
    }
    let Some((text, offset)) = sql else {
        return Err(ParseError::MissingKey {
            at: Location::new(ctx.path, line),
            key: "sql",
            context: context.to_string(),
            hint: "add `sql = \"...\"` with the statement(s) to run",
        });
    };
    if text.trim().is_empty() {
        return Err(ParseError::InvalidValue {
            at: ctx.at(offset),
            key: "sql".to_string(),
            message: "it is empty; write the SQL to run or remove the step".to_string(),
        });
    }
    step.sql = text;
    Ok(StepKind::Sql(step))
}

/// A TOML date-time as UTC: offset date-times are converted, local
/// date-times are read as UTC; a date or a time alone is `None`.
pub(super) fn toml_datetime_to_utc(dt: &toml::value::Datetime) -> Option<DateTime<Utc>> {
    let date = dt.date?;
    let time = dt.time?;
    let naive = NaiveDate::from_ymd_opt(i32::from(date.year), date.month.into(), date.day.into())?
        .and_hms_nano_opt(
            time.hour.into(),
            time.minute.into(),
            time.second.unwrap_or(0).into(),
            time.nanosecond.unwrap_or(0),
        )?;
    let offset_minutes = match dt.offset {
        None | Some(toml::value::Offset::Z) => 0,
        Some(toml::value::Offset::Custom { minutes }) => i64::from(minutes),
    };
    let utc = naive.checked_sub_signed(chrono::Duration::minutes(offset_minutes))?;
    Some(utc.and_utc())
}
