//! The SQL revision format (design §4.2): a `-- key: value` header and
//! `-- migrate:upgrade` / `-- migrate:downgrade` sections.

use std::path::Path;

use super::{parse_created, Location, ParseError, Parsed, SQL_HEADER_KEYS};
use crate::revision::{SqlStep, Step, StepKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Upgrade,
    Downgrade,
}

impl Section {
    fn marker(self) -> &'static str {
        match self {
            Section::Upgrade => "-- migrate:upgrade",
            Section::Downgrade => "-- migrate:downgrade",
        }
    }
}

/// A section marker line: `-- migrate:<name>`. `Some(Err(name))` for an
/// unknown section name.
fn section_marker(trimmed: &str) -> Option<Result<Section, &str>> {
    let rest = trimmed.strip_prefix("--")?.trim_start();
    let name = rest.strip_prefix("migrate:")?.trim();
    Some(match name {
        "upgrade" => Ok(Section::Upgrade),
        "downgrade" => Ok(Section::Downgrade),
        other => Err(other),
    })
}

/// A header line's `key: value`, when the comment text has that shape.
fn header_pair(comment: &str) -> Option<(&str, &str)> {
    let (key, value) = comment.split_once(':')?;
    let is_key = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    is_key.then(|| (key, value.trim()))
}

/// One section's body lines with their numbers.
struct Body<'c> {
    marker_line: usize,
    lines: Vec<(usize, &'c str)>,
}

impl Body<'_> {
    /// The section as steps: none when it holds only blank lines and
    /// comments, else one `sql` step.
    fn into_steps(self) -> Vec<Step> {
        let has_sql = self.lines.iter().any(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("--")
        });
        if !has_sql {
            return Vec::new();
        }
        let first = self.lines.iter().position(|(_, l)| !l.trim().is_empty());
        let last = self.lines.iter().rposition(|(_, l)| !l.trim().is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        let sql: Vec<&str> = self.lines[first..=last].iter().map(|(_, l)| *l).collect();
        vec![Step {
            line: self.lines[first].0,
            kind: StepKind::Sql(SqlStep {
                sql: sql.join("\n"),
                variants: Default::default(),
            }),
        }]
    }
}

pub(super) fn parse_sql(content: &str, path: &Path) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let mut message_lines: Vec<&str> = Vec::new();
    let mut upgrade: Option<Body> = None;
    let mut downgrade: Option<Body> = None;
    let mut current: Option<Section> = None;
    for (index, raw) in content.split('\n').enumerate() {
        let line_no = index + 1;
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = text.trim();
        if let Some(marker) = section_marker(trimmed) {
            let section = marker.map_err(|name| ParseError::Section {
                at: Location::new(path, line_no),
                message: format!(
                    "unknown section `-- migrate:{name}`; expected `-- migrate:upgrade` \
                     or `-- migrate:downgrade`"
                ),
            })?;
            let slot = match section {
                Section::Upgrade => &mut upgrade,
                Section::Downgrade => &mut downgrade,
            };
            if let Some(first) = slot {
                return Err(ParseError::Section {
                    at: Location::new(path, line_no),
                    message: format!(
                        "duplicate `{}` section (first on line {}); put all of its SQL in one section",
                        section.marker(),
                        first.marker_line
                    ),
                });
            }
            *slot = Some(Body {
                marker_line: line_no,
                lines: Vec::new(),
            });
            current = Some(section);
            continue;
        }
        match current {
            Some(section) => {
                let slot = match section {
                    Section::Upgrade => &mut upgrade,
                    Section::Downgrade => &mut downgrade,
                };
                if let Some(body) = slot {
                    body.lines.push((line_no, text));
                }
            }
            None => sql_header_line(
                trimmed,
                path,
                line_no,
                &mut parsed,
                &mut seen,
                &mut message_lines,
            )?,
        }
    }
    let Some(upgrade) = upgrade else {
        return Err(ParseError::Section {
            at: Location::file(path),
            message: "no `-- migrate:upgrade` section; add that line after the header, \
                      followed by the upgrade SQL"
                .to_string(),
        });
    };
    parsed.message = message_lines.join("\n");
    parsed.upgrade = upgrade.into_steps();
    parsed.downgrade = downgrade.map(Body::into_steps);
    Ok(parsed)
}

fn sql_header_line<'c>(
    trimmed: &'c str,
    path: &Path,
    line_no: usize,
    parsed: &mut Parsed,
    seen: &mut Vec<(&'c str, usize)>,
    message_lines: &mut Vec<&'c str>,
) -> Result<(), ParseError> {
    if trimmed.is_empty() {
        return Ok(());
    }
    let at = || Location::new(path, line_no);
    let Some(comment) = trimmed.strip_prefix("--") else {
        return Err(ParseError::Section {
            at: at(),
            message: "SQL before the `-- migrate:upgrade` line; the header holds only \
                      `-- key: value` comments, the SQL goes after `-- migrate:upgrade`"
                .to_string(),
        });
    };
    let Some((key, value)) = header_pair(comment.trim()) else {
        return Ok(()); // a free comment
    };
    if key == "message" {
        message_lines.push(value);
        return Ok(());
    }
    if !SQL_HEADER_KEYS.contains(&key) {
        return Err(ParseError::UnknownKey {
            at: at(),
            key: key.to_string(),
            context: "the revision header".to_string(),
            valid: SQL_HEADER_KEYS,
        });
    }
    if let Some((_, first_line)) = seen.iter().find(|(k, _)| *k == key) {
        return Err(ParseError::Duplicate {
            at: at(),
            key: key.to_string(),
            first_line: *first_line,
        });
    }
    seen.push((key, line_no));
    let invalid = |message: String| ParseError::InvalidValue {
        at: at(),
        key: key.to_string(),
        message,
    };
    match key {
        "revision" => {
            if value.is_empty() {
                return Err(invalid("it is empty; write the revision id".to_string()));
            }
            parsed.revision = Some((value.to_string(), line_no));
        }
        "down_revision" => {
            parsed.down_revisions = split_list(value)
                .into_iter()
                .map(|id| (id, line_no))
                .collect();
        }
        "created" if value.is_empty() => {}
        "created" => parsed.created = Some(parse_created(value).map_err(invalid)?),
        "branch_labels" => parsed.branch_labels = split_list(value),
        "depends_on" => parsed.depends_on = split_list(value),
        "transactional" => parsed.transactional = parse_bool(value).map_err(invalid)?,
        "template" => parsed.template = parse_bool(value).map_err(invalid)?,
        _ => {}
    }
    Ok(())
}

/// A comma- and/or space-separated list; empty means none.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `true`/`false` (any case); empty means the default.
fn parse_bool(value: &str) -> Result<Option<bool>, String> {
    match value.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(format!("'{value}' is not a boolean; write true or false")),
    }
}
