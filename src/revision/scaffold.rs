//! New files from minijinja templates: `retort init` and `retort revision`.
//!
//! The templates are real files in the repository's `templates/` directory,
//! embedded in the binary with `include_str!`. A project can override any of
//! them by putting a file of the same name in the directory named by
//! `[revision] templates` in `alembic.toml`.
//!
//! Templates render with `trim_blocks` and `lstrip_blocks` (a block tag on its
//! own line leaves no blank line behind), keep their trailing newline, do no
//! auto-escaping, and fail on undefined variables so that a typo in an
//! overriding template is reported instead of rendering as nothing. Two
//! filters are registered: `toml` writes a value as a TOML literal (strings
//! are escaped, so a message with quotes or newlines round-trips) and
//! `split_lines` splits a string on line breaks, keeping empty lines.

use std::path::PathBuf;

use chrono::{DateTime, Datelike, Timelike, Utc};
use minijinja::value::ValueKind;
use minijinja::{context, AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};

use super::FileFormat;

/// File name of the template of new TOML revision files.
pub const REVISION_TOML: &str = "revision.toml.j2";
/// File name of the template of new TOML revisions in the data lane
/// (`revision.<lane>.toml.j2` is looked up for every lane first).
pub const REVISION_DATA_TOML: &str = "revision.data.toml.j2";
/// File name of the template of new SQL revision files.
pub const REVISION_SQL: &str = "revision.sql.j2";
/// File name of the template of the `alembic.toml` written by `retort init`.
pub const ALEMBIC_TOML: &str = "alembic.toml.j2";

/// The embedded templates, as (file name, content).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        REVISION_TOML,
        include_str!("../../templates/revision.toml.j2"),
    ),
    (
        REVISION_DATA_TOML,
        include_str!("../../templates/revision.data.toml.j2"),
    ),
    (
        REVISION_SQL,
        include_str!("../../templates/revision.sql.j2"),
    ),
    (
        ALEMBIC_TOML,
        include_str!("../../templates/alembic.toml.j2"),
    ),
];

/// The templates a project may override (the revision files); `init` copies
/// these into a new project's `templates/`.
pub const PROJECT_TEMPLATES: &[&str] = &[REVISION_TOML, REVISION_DATA_TOML, REVISION_SQL];

/// The default `[revision] file_template`, as in Alembic (`%(rev)s_%(slug)s`).
pub const DEFAULT_FILE_TEMPLATE: &str = "{{ rev }}_{{ slug }}";

/// Longest slug, in characters (Alembic's `truncate_slug_length`).
pub const SLUG_LENGTH: usize = 40;

/// Errors rendering templates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An overriding template file exists but cannot be read.
    #[error("cannot read template {}: {source}", path.display())]
    Read {
        /// The template file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template does not compile or render (the message has its line).
    #[error("template {origin}: {source}")]
    Render {
        /// The template: its override path or `embedded <name>`.
        origin: String,
        /// minijinja's error.
        source: minijinja::Error,
    },
    /// `file_template` renders to something that is not a plain file name.
    #[error(
        "[revision] file_template {template:?} gives {name:?}: {reason}; \
         fix file_template in alembic.toml"
    )]
    FileName {
        /// The configured template.
        template: String,
        /// What it rendered to.
        name: String,
        /// Why that is not a usable file name.
        reason: &'static str,
    },
}

/// What a new revision file says; the context of the revision templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSpec {
    /// The new revision id.
    pub id: String,
    /// Parents: empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    /// Branch labels of the new revision.
    pub branch_labels: Vec<String>,
    /// Dependencies (full ids or labels).
    pub depends_on: Vec<String>,
    /// The message (may contain quotes and newlines).
    pub message: String,
    /// Creation time; written with second precision.
    pub created: DateTime<Utc>,
    /// The lane the file goes to.
    pub lane: String,
}

impl RevisionSpec {
    /// `created` as written in files: RFC 3339, UTC, whole seconds
    /// (`2026-11-23T12:00:00Z`).
    pub fn created_text(&self) -> String {
        self.created.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    fn context(&self) -> Value {
        context! {
            rev => &self.id,
            down_revisions => &self.down_revisions,
            branch_labels => &self.branch_labels,
            depends_on => &self.depends_on,
            message => &self.message,
            created => self.created_text(),
            lane => &self.lane,
        }
    }
}

/// The template set of a project: the embedded templates, each overridable
/// by a file of the same name in an override directory.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    overrides: Option<PathBuf>,
}

impl Templates {
    /// Templates with an optional override directory (`[revision] templates`,
    /// already resolved against the project root). A missing file in the
    /// directory falls back to the embedded template.
    pub fn new(overrides: Option<PathBuf>) -> Templates {
        Templates { overrides }
    }

    /// The source of a template and where it comes from.
    ///
    /// # Errors
    /// An override file that exists but cannot be read.
    pub fn source(&self, name: &str) -> Result<(String, String), Error> {
        if let Some(dir) = &self.overrides {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok((text, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Read { path, source }),
            }
        }
        let text = embedded(name).unwrap_or_default();
        Ok((text.to_string(), format!("embedded {name}")))
    }

    /// Whether the override directory has a template of that name.
    fn overridden(&self, name: &str) -> bool {
        self.overrides
            .as_ref()
            .is_some_and(|dir| dir.join(name).is_file())
    }

    /// Renders a new revision file in `format`.
    ///
    /// # Errors
    /// A template that does not compile or render.
    pub fn render_revision(
        &self,
        spec: &RevisionSpec,
        format: FileFormat,
    ) -> Result<String, Error> {
        // A lane may have a TOML template of its own (`revision.data.toml.j2`
        // is embedded). Overrides come first: the lane's, then the general
        // one a project customised, then the embedded lane template.
        let lane_name = format!("revision.{}.toml.j2", spec.lane);
        let name = match format {
            FileFormat::Toml if self.overridden(&lane_name) => lane_name.as_str(),
            FileFormat::Toml if self.overridden(REVISION_TOML) => REVISION_TOML,
            FileFormat::Toml if embedded(&lane_name).is_some() => lane_name.as_str(),
            FileFormat::Toml => REVISION_TOML,
            FileFormat::Sql => REVISION_SQL,
        };
        let (source, origin) = self.source(name)?;
        render(&source, &origin, spec.context())
    }
}

/// The embedded template of that file name.
pub fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Renders the `alembic.toml` of `retort init`; `templates` is the
/// templates directory to write into it (uncommented), if any.
///
/// # Errors
/// Only if the embedded template is broken.
pub fn render_config(templates: Option<&str>) -> Result<String, Error> {
    let source = embedded(ALEMBIC_TOML).unwrap_or_default();
    render(
        source,
        &format!("embedded {ALEMBIC_TOML}"),
        context! { templates => templates },
    )
}

/// The file name (with extension) of a new revision: `file_template`
/// rendered with `rev`, `slug`, `lane` and the creation time's `year`,
/// `month`, `day`, `hour`, `minute`, `second` (zero-padded strings, so that
/// names sort by time) and `epoch` (seconds, a number).
///
/// # Errors
/// A template that does not render, or that renders to an empty name, a path
/// (`/`), a dotfile or a name with control characters.
pub fn file_name(
    file_template: &str,
    spec: &RevisionSpec,
    format: FileFormat,
) -> Result<String, Error> {
    let created = spec.created;
    let ctx = context! {
        rev => &spec.id,
        slug => slug(&spec.message),
        lane => &spec.lane,
        year => format!("{:04}", created.year()),
        month => format!("{:02}", created.month()),
        day => format!("{:02}", created.day()),
        hour => format!("{:02}", created.hour()),
        minute => format!("{:02}", created.minute()),
        second => format!("{:02}", created.second()),
        epoch => created.timestamp(),
    };
    let stem = render(file_template, "[revision] file_template", ctx)?;
    let stem = stem.trim();
    let bad = |reason| Error::FileName {
        template: file_template.to_string(),
        name: stem.to_string(),
        reason,
    };
    if stem.is_empty() {
        return Err(bad("the name is empty"));
    }
    if stem.contains(['/', '\\']) {
        return Err(bad(
            "lane directories are not searched recursively, so no `/`",
        ));
    }
    if stem.starts_with('.') {
        return Err(bad("names starting with `.` are ignored when loading"));
    }
    if stem.chars().any(char::is_control) {
        return Err(bad("the name contains control characters"));
    }
    Ok(format!("{stem}.{}", format.extension()))
}

/// Alembic's slug: the `\w+` words of the message, lowercased, joined with
/// `_`; when longer than [`SLUG_LENGTH`] characters, cut there, back to the
/// last `_`, and followed by `_` (so `a_very_long_…` reads as cut).
pub fn slug(message: &str) -> String {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let slug = words.join("_").to_lowercase();
    if slug.chars().count() <= SLUG_LENGTH {
        return slug;
    }
    let cut: String = slug.chars().take(SLUG_LENGTH).collect();
    let kept = cut.rsplit_once('_').map_or(cut.as_str(), |(head, _)| head);
    format!("{kept}_")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.add_filter("toml", toml_filter);
    env.add_filter("split_lines", split_lines);
    env
}

fn render(source: &str, origin: &str, ctx: Value) -> Result<String, Error> {
    let wrap = |source| Error::Render {
        origin: origin.to_string(),
        source,
    };
    let env = environment();
    let template = env.template_from_str(source).map_err(wrap)?;
    template.render(ctx).map_err(wrap)
}

/// `{{ value | toml }}`: the value as a TOML literal.
fn toml_filter(value: &Value) -> Result<Value, minijinja::Error> {
    let literal = to_toml(value)?.to_string();
    Ok(Value::from_safe_string(literal))
}

fn to_toml(value: &Value) -> Result<toml::Value, minijinja::Error> {
    let unsupported = || {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("the toml filter cannot write a {} value", value.kind()),
        )
    };
    Ok(match value.kind() {
        ValueKind::String => toml::Value::String(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Bool => toml::Value::Boolean(value.is_true()),
        ValueKind::Number => match i64::try_from(value.clone()) {
            Ok(i) => toml::Value::Integer(i),
            Err(_) => toml::Value::Float(f64::try_from(value.clone())?),
        },
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Result<Vec<_>, _> = value.try_iter()?.map(|v| to_toml(&v)).collect();
            toml::Value::Array(items?)
        }
        ValueKind::Map => {
            let mut table = toml::Table::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                table.insert(key.to_string(), to_toml(&item)?);
            }
            toml::Value::Table(table)
        }
        _ => return Err(unsupported()),
    })
}

/// `{{ text | split_lines }}`: lines of a string (`\n`, `\r\n` or `\r`),
/// keeping empty ones, so that joining them with `\n` gives the text back.
fn split_lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::{parse_str, StepKind};
    use chrono::TimeZone;
    use std::path::Path;

    fn spec(message: &str) -> RevisionSpec {
        RevisionSpec {
            id: "ae1027a6acf0".to_string(),
            down_revisions: vec!["1975ea83b712".to_string()],
            branch_labels: vec![],
            depends_on: vec![],
            message: message.to_string(),
            created: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap(),
            lane: "schema".to_string(),
        }
    }

    fn round_trip(spec: &RevisionSpec, format: FileFormat) -> crate::revision::Revision {
        let text = Templates::default().render_revision(spec, format).unwrap();
        let path = format!(
            "m/{}",
            file_name(DEFAULT_FILE_TEMPLATE, spec, format).unwrap()
        );
        let rev = parse_str(&text, Path::new(&path), &spec.lane)
            .unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        assert_eq!(rev.id, spec.id, "{text}");
        assert_eq!(rev.down_revisions, spec.down_revisions, "{text}");
        assert_eq!(rev.branch_labels, spec.branch_labels, "{text}");
        assert_eq!(rev.depends_on, spec.depends_on, "{text}");
        assert_eq!(rev.message, spec.message, "{text}");
        assert_eq!(rev.created, Some(spec.created), "{text}");
        assert!(rev.transactional && !rev.template, "{text}");
        assert!(rev.upgrade.is_empty(), "{text}");
        rev
    }

    #[test]
    fn generated_files_parse_back_in_both_formats() {
        let plain = spec("add account table");
        let mut merge = spec("merge \"a\" and 'b'\nsecond line\n\nfourth \\ line");
        merge.down_revisions = vec!["aaa".to_string(), "bbb".to_string()];
        merge.branch_labels = vec!["billing".to_string()];
        merge.depends_on = vec!["3f4e9a0b1c2d".to_string(), "data".to_string()];
        let mut base = spec("");
        base.down_revisions.clear();
        let mut tricky = spec("\"\"\" ''' \t tab -- migrate:upgrade");
        tricky.down_revisions.clear();
        for spec in [&plain, &merge, &base, &tricky] {
            let toml = round_trip(spec, FileFormat::Toml);
            assert_eq!(toml.downgrade, None);
            let sql = round_trip(spec, FileFormat::Sql);
            assert_eq!(sql.downgrade, Some(vec![]));
        }
    }

    #[test]
    fn sql_template_follows_the_design() {
        let text = Templates::default()
            .render_revision(&spec("add account table"), FileFormat::Sql)
            .unwrap();
        assert_eq!(
            text,
            "-- revision: ae1027a6acf0\n-- down_revision: 1975ea83b712\n\
             -- message: add account table\n-- created: 2026-11-23T12:00:00Z\n\
             -- depends_on:\n-- transactional: true\n\n-- migrate:upgrade\n\n\n\
             -- migrate:downgrade\n\n"
        );
    }

    #[test]
    fn toml_template_examples_are_valid_steps_when_uncommented() {
        let text = Templates::default()
            .render_revision(&spec("x"), FileFormat::Toml)
            .unwrap();
        assert!(text.starts_with("revision = \"ae1027a6acf0\"\n"), "{text}");
        assert!(text.contains("created = 2026-11-23T12:00:00Z\n"), "{text}");
        // Uncomment the example steps: `# [[...]]`, `# key = value`, and the
        // lines of the multi-line `columns` array.
        let examples = &text[text.find("# [[upgrade]]").unwrap()..];
        let is_key = |k: &str| k.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let uncommented: String = examples
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with("[[")
                    || l.starts_with("  {")
                    || l.starts_with(']')
                    || l.split_once(" = ").is_some_and(|(k, _)| is_key(k))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let full = format!("revision = \"a\"\n{uncommented}");
        let rev = parse_str(&full, Path::new("a.toml"), "schema")
            .unwrap_or_else(|e| panic!("{e}\n{full}"));
        let ops: Vec<String> = rev
            .upgrade
            .iter()
            .map(|s| match &s.kind {
                StepKind::Sql(_) => "sql".to_string(),
                StepKind::Operation { op, .. } => op.clone(),
            })
            .collect();
        assert_eq!(
            ops,
            [
                "sql",
                "create_table",
                "add_column",
                "alter_column",
                "create_index"
            ]
        );
        assert_eq!(rev.downgrade.map(|d| d.len()), Some(1));
    }

    #[test]
    fn slug_follows_alembic() {
        assert_eq!(slug("Add account table!"), "add_account_table");
        assert_eq!(slug("  it's a--test  "), "it_s_a_test");
        assert_eq!(slug(""), "");
        assert_eq!(slug("Ünïcode wörds"), "ünïcode_wörds");
        let long = "this is a rather long message that goes past forty characters";
        let s = slug(long);
        assert_eq!(s, "this_is_a_rather_long_message_that_goes_");
        assert!(s.chars().count() <= SLUG_LENGTH + 1);
        assert_eq!(slug(&"x".repeat(50)), format!("{}_", "x".repeat(40)));
    }

    #[test]
    fn file_names() {
        let s = spec("Add account");
        assert_eq!(
            file_name(DEFAULT_FILE_TEMPLATE, &s, FileFormat::Toml).unwrap(),
            "ae1027a6acf0_add_account.toml"
        );
        assert_eq!(
            file_name(
                "{{ year }}{{ month }}{{ day }}_{{ hour }}{{ minute }}_{{ rev }}",
                &s,
                FileFormat::Sql
            )
            .unwrap(),
            "20261123_1200_ae1027a6acf0.sql"
        );
        for bad in [
            "{{ lane }}/{{ rev }}",
            "",
            ".{{ rev }}",
            "{{ nope }}",
            "{{ rev",
        ] {
            assert!(file_name(bad, &s, FileFormat::Toml).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_replace_embedded_templates_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(REVISION_SQL),
            "-- revision: {{ rev }}\n-- migrate:upgrade\n-- custom\n",
        )
        .unwrap();
        let templates = Templates::new(Some(dir.path().to_path_buf()));
        let text = templates
            .render_revision(&spec("m"), FileFormat::Sql)
            .unwrap();
        assert_eq!(
            text,
            "-- revision: ae1027a6acf0\n-- migrate:upgrade\n-- custom\n"
        );
        let toml = templates
            .render_revision(&spec("m"), FileFormat::Toml)
            .unwrap();
        assert!(toml.contains("[[upgrade]]"));
        std::fs::write(dir.path().join(REVISION_TOML), "{{ undefined_thing }}").unwrap();
        let err = templates
            .render_revision(&spec("m"), FileFormat::Toml)
            .unwrap_err()
            .to_string();
        assert!(err.contains(REVISION_TOML), "{err}");
    }

    #[test]
    fn config_template_renders_valid_toml() {
        for templates in [None, Some("templates")] {
            let text = render_config(templates).unwrap();
            let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(table["database"]["url"].as_str(), Some("sqlite://app.db"));
            assert_eq!(
                table["revision"]["file_template"].as_str(),
                Some(DEFAULT_FILE_TEMPLATE)
            );
            assert_eq!(table["lanes"]["data"].as_str(), Some("migrations/data"));
            assert_eq!(
                table["revision"].get("templates").and_then(|v| v.as_str()),
                templates
            );
        }
    }
}
