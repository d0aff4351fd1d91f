//! Parsing of the TOML (§4.1) and SQL (§4.2) revision formats into
//! [`Revision`].
//!
//! Both parsers are strict: an unknown key is an error (it is most often a
//! typo, and a silently ignored `transactinal = false` is worse than a failed
//! load), and every error names the file and the line and says what was
//! expected. Every step keeps the 1-based line it starts on so that later
//! errors (rendering, running) can point back into the file.
//!
//! Decisions where the design is silent:
//! - A UTF-8 byte-order mark at the start of a file is ignored.
//! - TOML: `created` may be an offset date-time, a local date-time (read as
//!   UTC) or an RFC 3339 string. `message` may be omitted (empty message).
//!   `upgrade` may be omitted (no steps, e.g. a merge revision). An `sql`
//!   step with empty `sql` is an error.
//! - SQL: `message` may be repeated; the lines are joined with `\n`, which is
//!   how a multi-line message is written (the scaffold does this). Other
//!   header keys may appear once. A `--` comment line in the header that is
//!   not `key: value` is a free comment. A section whose body holds only
//!   blank lines and `--` comments has no step. The step's line is the first
//!   non-blank line of the body and its SQL runs from there to the last
//!   non-blank line.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::checksum::FileText;
use super::{validate_id, FileFormat, Revision, Step};

mod sql_format;
mod toml_fast;
mod toml_format;

use sql_format::parse_sql;
use toml_format::parse_toml;

/// Where in a revision file something is: the file and, when known, the
/// 1-based line. Displays as `path:line` (or `path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The revision file.
    pub path: PathBuf,
    /// The 1-based line, when the error has one.
    pub line: Option<usize>,
}

impl Location {
    pub(super) fn new(path: &Path, line: usize) -> Location {
        Location {
            path: path.to_path_buf(),
            line: Some(line),
        }
    }

    pub(super) fn file(path: &Path) -> Location {
        Location {
            path: path.to_path_buf(),
            line: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// A parse error: always names the file and, when known, the line, and says
/// what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The file or lane directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not valid UTF-8 text; save the revision file as UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file name has neither a `.toml` nor a `.sql` extension.
    #[error("{}: unknown revision file type; expected a .toml or .sql file", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The TOML is malformed.
    #[error("{at}: invalid TOML: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// The TOML parser's message.
        message: String,
    },
    /// A key that the format does not know (usually a typo).
    #[error("{at}: unknown key `{key}` in {context}; valid keys are: {}", valid.join(", "))]
    UnknownKey {
        /// Where the key is.
        at: Location,
        /// The key as written.
        key: String,
        /// Where it appeared, e.g. `the revision header`.
        context: String,
        /// The keys that are accepted there.
        valid: &'static [&'static str],
    },
    /// A value of the wrong type.
    #[error("{at}: `{key}` must be {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        at: Location,
        /// The key.
        key: String,
        /// What was expected, e.g. `a string`.
        expected: &'static str,
        /// What was found, e.g. `integer`.
        found: String,
    },
    /// A required key is missing.
    #[error("{at}: missing `{key}` in {context}; {hint}")]
    MissingKey {
        /// The file, and the line of the table that lacks the key.
        at: Location,
        /// The key.
        key: &'static str,
        /// Where it is missing, e.g. `[[upgrade]] step 1`.
        context: String,
        /// What to write.
        hint: &'static str,
    },
    /// A value of the right type that is still not acceptable (a bad date,
    /// a bad boolean, an empty `sql`, an invalid revision id).
    #[error("{at}: invalid `{key}`: {message}")]
    InvalidValue {
        /// Where the value is.
        at: Location,
        /// The key.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A key given twice (SQL header, or two names for one dialect variant).
    #[error("{at}: duplicate `{key}` (first given on line {first_line}); keep only one")]
    Duplicate {
        /// The second occurrence.
        at: Location,
        /// The key.
        key: String,
        /// The line of the first occurrence.
        first_line: usize,
    },
    /// A structural problem of the SQL format (sections).
    #[error("{at}: {message}")]
    Section {
        /// Where.
        at: Location,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl ParseError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ParseError::Io { path, .. }
            | ParseError::NotUtf8 { path }
            | ParseError::UnknownFormat { path } => path,
            ParseError::Syntax { at, .. }
            | ParseError::UnknownKey { at, .. }
            | ParseError::WrongType { at, .. }
            | ParseError::MissingKey { at, .. }
            | ParseError::InvalidValue { at, .. }
            | ParseError::Duplicate { at, .. }
            | ParseError::Section { at, .. } => &at.path,
        }
    }

    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::Io { .. }
            | ParseError::NotUtf8 { .. }
            | ParseError::UnknownFormat { .. } => None,
            ParseError::Syntax { at, .. }
            | ParseError::UnknownKey { at, .. }
            | ParseError::WrongType { at, .. }
            | ParseError::MissingKey { at, .. }
            | ParseError::InvalidValue { at, .. }
            | ParseError::Duplicate { at, .. }
            | ParseError::Section { at, .. } => at.line,
        }
    }
}

/// Keys of the TOML revision header.
pub const TOML_KEYS: &[&str] = &[
    "revision",
    "down_revision",
    "message",
    "created",
    "branch_labels",
    "depends_on",
    "transactional",
    "template",
    "upgrade",
    "downgrade",
    "verify",
];

/// Keys of an `op = "sql"` step.
pub const SQL_STEP_KEYS: &[&str] = &[
    "op",
    "sql",
    "sqlite",
    "postgresql",
    "postgres",
    "mysql",
    "mariadb",
];

/// Keys of the SQL format's `-- key: value` header.
pub const SQL_HEADER_KEYS: &[&str] = &[
    "revision",
    "down_revision",
    "message",
    "created",
    "branch_labels",
    "depends_on",
    "transactional",
    "template",
];

/// Reads and parses one revision file; the lane is given by the caller.
///
/// # Errors
/// I/O and format errors naming the file and line.
pub fn parse_file(path: &Path, lane: &str) -> Result<Revision, ParseError> {
    let bytes = std::fs::read(path).map_err(|source| ParseError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_bytes(bytes, path, lane)
}

/// Parses the bytes of a revision file read by the caller (the lane reader
/// reads through a directory handle); the bytes become the revision's
/// [`FileText`] without a copy.
///
/// # Errors
/// Not UTF-8; format errors naming the file and line.
pub fn parse_bytes(bytes: Vec<u8>, path: &Path, lane: &str) -> Result<Revision, ParseError> {
    let content = String::from_utf8(bytes).map_err(|_| ParseError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    parse_text(FileText::new(content), path, lane)
}

/// Parses revision file content; `path` is used for the format (extension)
/// and in messages.
///
/// # Errors
/// Format errors naming the file and line.
pub fn parse_str(content: &str, path: &Path, lane: &str) -> Result<Revision, ParseError> {
    parse_text(FileText::new(content.to_owned()), path, lane)
}

fn parse_text(text: FileText, path: &Path, lane: &str) -> Result<Revision, ParseError> {
    let content = text.raw();
    let format = path
        .extension()
        .and_then(|ext| ext.to_str())
        .and_then(FileFormat::from_extension)
        .ok_or_else(|| ParseError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    let body = content.strip_prefix('\u{feff}').unwrap_or(content);
    let parsed = match format {
        FileFormat::Toml => match toml_fast::parse(body) {
            Some(parsed) => parsed,
            None => parse_toml(body, path)?,
        },
        FileFormat::Sql => parse_sql(body, path)?,
    };
    parsed.finish(path, lane, format, text)
}

/// What both parsers produce before the common checks.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Parsed {
    pub(super) revision: Option<(String, usize)>,
    pub(super) down_revisions: Vec<(String, usize)>,
    pub(super) branch_labels: Vec<String>,
    pub(super) depends_on: Vec<String>,
    pub(super) message: String,
    pub(super) created: Option<DateTime<Utc>>,
    pub(super) transactional: Option<bool>,
    pub(super) template: Option<bool>,
    pub(super) upgrade: Vec<Step>,
    pub(super) downgrade: Option<Vec<Step>>,
    pub(super) verify: Vec<super::Verify>,
}

impl Parsed {
    fn finish(
        self,
        path: &Path,
        lane: &str,
        format: FileFormat,
        text: FileText,
    ) -> Result<Revision, ParseError> {
        let Some((id, line)) = self.revision else {
            return Err(ParseError::MissingKey {
                at: Location::file(path),
                key: "revision",
                context: "the revision header".to_string(),
                hint: match format {
                    FileFormat::Toml => "add `revision = \"<id>\"` at the top of the file",
                    FileFormat::Sql => "add a `-- revision: <id>` line at the top of the file",
                },
            });
        };
        check_id(&id, "revision", path, line)?;
        let mut down_revisions = Vec::with_capacity(self.down_revisions.len());
        for (down, line) in self.down_revisions {
            if down.is_empty() {
                return Err(ParseError::InvalidValue {
                    at: Location::new(path, line),
                    key: "down_revision".to_string(),
                    message: "it is empty; leave `down_revision` out for a base revision"
                        .to_string(),
                });
            }
            check_id(&down, "down_revision", path, line)?;
            down_revisions.push(down);
        }
        Ok(Revision {
            id,
            down_revisions,
            branch_labels: self.branch_labels,
            depends_on: self.depends_on,
            message: self.message,
            created: self.created,
            transactional: self.transactional.unwrap_or(true),
            template: self.template.unwrap_or(false),
            upgrade: self.upgrade,
            downgrade: self.downgrade,
            verify: self.verify,
            lane: lane.to_string(),
            path: path.to_path_buf(),
            text,
            format,
        })
    }
}

fn check_id(id: &str, key: &str, path: &Path, line: usize) -> Result<(), ParseError> {
    validate_id(id).map_err(|message| ParseError::InvalidValue {
        at: Location::new(path, line),
        key: key.to_string(),
        message,
    })
}

/// The 1-based line of a byte offset.
pub(super) fn line_at(content: &str, offset: usize) -> usize {
    let end = offset.min(content.len());
    content.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses a `created` string: RFC 3339, or a date-time without offset (read
/// as UTC).
pub(super) fn parse_created(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc());
        }
    }
    Err(format!(
        "'{text}' is not a date-time; write a UTC timestamp such as 2026-11-23T12:00:00Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;
    use crate::revision::StepKind;

    fn toml(content: &str) -> Result<Revision, ParseError> {
        parse_str(content, Path::new("m/ae1_x.toml"), "schema")
    }

    fn sql(content: &str) -> Result<Revision, ParseError> {
        parse_str(content, Path::new("m/ae1_x.sql"), "schema")
    }

    fn sql_text(step: &Step) -> &str {
        match &step.kind {
            StepKind::Sql(s) => &s.sql,
            StepKind::Operation { op, .. } => panic!("expected sql, got {op}"),
        }
    }

    const DESIGN_TOML: &str = r#"revision = "ae1027a6acf0"
down_revision = "1975ea83b712"        # omit for a base; an array for a merge
message = "add account table"
created = 2026-11-23T12:00:00Z
# branch_labels = ["billing"]

[[upgrade]]
op = "create_table"
table = "account"
columns = [
  { name = "id", type = "integer", primary_key = true, autoincrement = true },
  { name = "name", type = "string", length = 50, nullable = false },
]

[[upgrade]]
op = "sql"
sql = "CREATE INDEX ix_account_name ON account (name)"
postgresql = "CREATE INDEX CONCURRENTLY ix_account_name ON account (name)"   # per-dialect variant

[[downgrade]]
op = "drop_table"
table = "account"
"#;

    #[test]
    fn toml_design_example() {
        let rev = toml(DESIGN_TOML).unwrap();
        assert_eq!(rev.id, "ae1027a6acf0");
        assert_eq!(rev.down_revisions, vec!["1975ea83b712"]);
        assert_eq!(rev.message, "add account table");
        assert_eq!(
            rev.created.unwrap().to_rfc3339(),
            "2026-11-23T12:00:00+00:00"
        );
        assert!(rev.transactional);
        assert!(!rev.template);
        assert_eq!(rev.lane, "schema");
        assert_eq!(rev.format, FileFormat::Toml);
        assert_eq!(rev.upgrade.len(), 2);
        assert_eq!(rev.upgrade[0].line, 7);
        match &rev.upgrade[0].kind {
            StepKind::Operation { op, fields } => {
                assert_eq!(op, "create_table");
                assert_eq!(fields["table"].as_str(), Some("account"));
                assert_eq!(fields["columns"].as_array().map(Vec::len), Some(2));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rev.upgrade[1].line, 15);
        match &rev.upgrade[1].kind {
            StepKind::Sql(step) => {
                assert_eq!(step.text_for(Dialect::Sqlite), step.sql);
                assert!(step.text_for(Dialect::Postgres).contains("CONCURRENTLY"));
            }
            other => panic!("{other:?}"),
        }
        let down = rev.downgrade.unwrap();
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].line, 20);
    }

    #[test]
    fn toml_base_merge_and_lists() {
        let rev = toml(
            "revision = \"m1\"\ndown_revision = [\"a\", \"b\"]\ndepends_on = \"c\"\n\
             branch_labels = \"x\"\ntransactional = false\ntemplate = true\n",
        )
        .unwrap();
        assert_eq!(rev.down_revisions, vec!["a", "b"]);
        assert_eq!(rev.depends_on, vec!["c"]);
        assert_eq!(rev.branch_labels, vec!["x"]);
        assert!(!rev.transactional && rev.template);
        assert!(rev.upgrade.is_empty());
        assert_eq!(rev.downgrade, None);
        let base = toml("revision = \"b\"\n[[downgrade]]\nop = \"sql\"\nsql = \"x\"\n").unwrap();
        assert!(base.down_revisions.is_empty());
        assert_eq!(base.downgrade.unwrap()[0].line, 2);
    }

    #[test]
    fn toml_inline_steps_and_created_forms() {
        let rev = toml(
            "revision = \"a\"\ncreated = \"2026-11-23T13:00:00+01:00\"\n\
             upgrade = [\n  { op = \"sql\", sql = \"x\", mariadb = \"y\" },\n]\n",
        )
        .unwrap();
        assert_eq!(rev.upgrade[0].line, 4);
        assert_eq!(
            rev.created.unwrap().to_rfc3339(),
            "2026-11-23T12:00:00+00:00"
        );
        match &rev.upgrade[0].kind {
            StepKind::Sql(s) => assert_eq!(s.text_for(Dialect::Mysql), "y"),
            other => panic!("{other:?}"),
        }
        let local = toml("revision = \"a\"\ncreated = 2026-11-23T12:00:00\n").unwrap();
        assert_eq!(
            local.created.unwrap().to_rfc3339(),
            "2026-11-23T12:00:00+00:00"
        );
        let err = toml("revision = \"a\"\ncreated = 2026-11-23\n").unwrap_err();
        assert!(err.to_string().contains("m/ae1_x.toml:2"), "{err}");
        assert!(err.to_string().contains("2026-11-23T12:00:00Z"), "{err}");
    }

    #[test]
    fn toml_unknown_key_names_key_line_and_valid_keys() {
        let err = toml("revision = \"a\"\ntransactinal = false\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("m/ae1_x.toml:2: unknown key `transactinal`"),
            "{text}"
        );
        assert!(text.contains("transactional"), "{text}");
        assert_eq!(err.line(), Some(2));
        let err =
            toml("revision = \"a\"\n[[upgrade]]\nop = \"sql\"\nsql = \"x\"\npostgress = \"y\"\n")
                .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(":5: unknown key `postgress`"), "{text}");
        assert!(text.contains("[[upgrade]] step 1"), "{text}");
        assert!(text.contains("postgresql"), "{text}");
    }

    #[test]
    fn toml_wrong_types_and_missing_keys() {
        let err = toml("revision = 12\n").unwrap_err();
        assert!(
            err.to_string()
                .contains(":1: `revision` must be a string, found integer"),
            "{err}"
        );
        let err = toml("message = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("missing `revision`"), "{err}");
        let err = toml("revision = \"a\"\n\n[[upgrade]]\nsql = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains(":3: missing `op`"), "{err}");
        let err = toml("revision = \"a\"\n[[upgrade]]\nop = \"sql\"\n").unwrap_err();
        assert!(err.to_string().contains(":2: missing `sql`"), "{err}");
        let err = toml("revision = \"a\"\n[[upgrade]]\nop = \"sql\"\nsql = \" \"\n").unwrap_err();
        assert!(err.to_string().contains(":4: invalid `sql`"), "{err}");
        let err = toml("revision = \"a\"\nupgrade = \"x\"\n").unwrap_err();
        assert!(
            err.to_string().contains("must be an array of tables"),
            "{err}"
        );
        let err = toml("revision = \"a\"\ndown_revision = [1]\n").unwrap_err();
        assert!(
            err.to_string().contains(":2: `down_revision` must be"),
            "{err}"
        );
        let err = toml("revision = \"a\"\ntransactional = \"no\"\n").unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn toml_duplicate_dialect_variant() {
        let err = toml(
            "revision = \"a\"\n[[upgrade]]\nop = \"sql\"\nsql = \"x\"\n\
             postgres = \"y\"\npostgresql = \"z\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(":6: duplicate `postgresql"),
            "{err}"
        );
    }

    #[test]
    fn toml_syntax_error_and_bad_ids() {
        let err = toml("revision = \"a\"\nmessage = \n").unwrap_err();
        assert!(matches!(err, ParseError::Syntax { .. }), "{err}");
        assert_eq!(err.line(), Some(2), "{err}");
        let err = toml("revision = \"bad-id\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("Character(s) '-' not allowed in revision identifier 'bad-id'"),
            "{err}"
        );
        let err = toml("revision = \"a\"\ndown_revision = \"\"\n").unwrap_err();
        assert!(
            err.to_string().contains("leave `down_revision` out"),
            "{err}"
        );
        let err = toml("revision = \"a\"\ndown_revision = [\"ok\", \"x@y\"]\n").unwrap_err();
        assert!(
            err.to_string().contains(":2: invalid `down_revision`"),
            "{err}"
        );
    }

    #[test]
    fn toml_verify_checks() {
        let rev = toml(
            "revision = \"a\"\n[[verify]]\nsql = \"select 1\"\nexpect = 1\n\n[[verify]]\nname = \"n\"\nsql = \"s\"\nexpect = 2.5\n",
        )
        .unwrap();
        assert_eq!(rev.verify.len(), 2);
        assert_eq!(rev.verify[0].name, "check 1");
        assert_eq!(rev.verify[0].line, 2);
        assert_eq!(rev.verify[0].expect, 1.0);
        assert_eq!(rev.verify[1].name, "n");
        assert_eq!(rev.verify[1].expect, 2.5);
        let err = toml("revision = \"a\"\n[[verify]]\nsql = \"s\"\n").unwrap_err();
        assert!(err.to_string().contains(":2:"), "{err}");
        assert!(err.to_string().contains("expect"), "{err}");
        let err =
            toml("revision = \"a\"\n[[verify]]\nsql = \"s\"\nexpect = 1\nbad = 2\n").unwrap_err();
        assert!(err.to_string().contains("unknown key `bad`"), "{err}");
    }

    #[test]
    fn toml_operation_keeps_fields() {
        let rev =
            toml("revision = \"a\"\n[[upgrade]]\nop = \"add_column\"\ntable = \"t\"\nn = 3\n")
                .unwrap();
        match &rev.upgrade[0].kind {
            StepKind::Operation { op, fields } => {
                assert_eq!(op, "add_column");
                assert_eq!(fields.len(), 2);
                assert_eq!(fields["n"].as_integer(), Some(3));
            }
            other => panic!("{other:?}"),
        }
    }

    const DESIGN_SQL: &str = "-- revision: ae1027a6acf0
-- down_revision: 1975ea83b712
-- message: add account table
-- created: 2026-11-23T12:00:00Z
-- depends_on:
-- transactional: true

-- migrate:upgrade
CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);

-- migrate:downgrade
DROP TABLE account;
";

    #[test]
    fn sql_design_example() {
        let rev = sql(DESIGN_SQL).unwrap();
        assert_eq!(rev.id, "ae1027a6acf0");
        assert_eq!(rev.down_revisions, vec!["1975ea83b712"]);
        assert_eq!(rev.message, "add account table");
        assert!(rev.depends_on.is_empty());
        assert!(rev.transactional);
        assert_eq!(rev.format, FileFormat::Sql);
        assert_eq!(rev.upgrade.len(), 1);
        assert_eq!(rev.upgrade[0].line, 9);
        assert!(sql_text(&rev.upgrade[0]).starts_with("CREATE TABLE account"));
        let down = rev.downgrade.unwrap();
        assert_eq!(down[0].line, 12);
        assert_eq!(sql_text(&down[0]), "DROP TABLE account;");
    }

    #[test]
    fn sql_sections_absent_empty_and_comment_only() {
        let rev = sql("-- revision: a\n\n-- migrate:upgrade\nSELECT 1;\n").unwrap();
        assert_eq!(rev.downgrade, None);
        assert!(rev.down_revisions.is_empty());
        let rev = sql("-- revision: a\n-- migrate:upgrade\n-- nothing\n\n-- migrate:downgrade\n\n")
            .unwrap();
        assert!(rev.upgrade.is_empty());
        assert_eq!(rev.downgrade, Some(vec![]));
        let rev = sql("-- revision: a\n-- migrate:upgrade\n\n-- why\nSELECT 1;\n\nSELECT 2;\n\n")
            .unwrap();
        assert_eq!(rev.upgrade[0].line, 4);
        assert_eq!(sql_text(&rev.upgrade[0]), "-- why\nSELECT 1;\n\nSELECT 2;");
    }

    #[test]
    fn sql_header_lists_booleans_and_messages() {
        let rev = sql(
            "-- Free comment without a key\n-- revision: m\n-- down_revision: a, b c\n\
             -- branch_labels: billing\n-- depends_on: x,y\n-- transactional: FALSE\n\
             -- template: true\n-- message: it's \"quoted\"\n-- message: second line\n\
             -- migrate:upgrade\r\nSELECT 1;\r\n",
        )
        .unwrap();
        assert_eq!(rev.down_revisions, vec!["a", "b", "c"]);
        assert_eq!(rev.branch_labels, vec!["billing"]);
        assert_eq!(rev.depends_on, vec!["x", "y"]);
        assert!(!rev.transactional && rev.template);
        assert_eq!(rev.message, "it's \"quoted\"\nsecond line");
        assert_eq!(sql_text(&rev.upgrade[0]), "SELECT 1;");
    }

    #[test]
    fn sql_errors_name_file_and_line() {
        let cases = [
            (
                "-- revision: a\n-- revison: b\n-- migrate:upgrade\n",
                ":2: unknown key `revison`",
            ),
            ("-- revision: a\n", "no `-- migrate:upgrade` section"),
            (
                "-- revision: a\n-- migrate:upgrade\n-- migrate:upgrade\n",
                ":3: duplicate `-- migrate:upgrade` section (first on line 2)",
            ),
            (
                "-- revision: a\n-- transactional: maybe\n-- migrate:upgrade\n",
                ":2: invalid `transactional`: 'maybe' is not a boolean",
            ),
            (
                "-- revision: a\n-- migrate:up\n",
                ":2: unknown section `-- migrate:up`",
            ),
            (
                "-- revision: a\nSELECT 1;\n-- migrate:upgrade\n",
                ":2: SQL before",
            ),
            ("-- message: x\n-- migrate:upgrade\n", "missing `revision`"),
            (
                "-- revision: a\n-- revision: b\n-- migrate:upgrade\n",
                ":2: duplicate `revision` (first given on line 1)",
            ),
            (
                "-- revision: a\n-- created: yesterday\n-- migrate:upgrade\n",
                ":2: invalid `created`",
            ),
            (
                "-- revision: a:b\n-- migrate:upgrade\n",
                ":1: invalid `revision`",
            ),
        ];
        for (content, expected) in cases {
            let err = sql(content).unwrap_err().to_string();
            assert!(err.starts_with("m/ae1_x.sql"), "{err}");
            assert!(err.contains(expected), "{content:?}: {err}");
        }
    }

    #[test]
    fn unknown_extension_bom_and_files() {
        let err = parse_str("x", Path::new("README.md"), "schema").unwrap_err();
        assert!(matches!(err, ParseError::UnknownFormat { .. }));
        let rev = toml("\u{feff}revision = \"a\"\n").unwrap();
        assert_eq!(rev.id, "a");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a_x.sql");
        std::fs::write(&path, "-- revision: a\n-- migrate:upgrade\nSELECT 1;\n").unwrap();
        let rev = parse_file(&path, "data").unwrap();
        assert_eq!(
            (rev.lane.as_str(), rev.path.as_path()),
            ("data", path.as_path())
        );
        assert_eq!(
            rev.checksum(),
            crate::revision::checksum::checksum("-- revision: a\n-- migrate:upgrade\nSELECT 1;\n")
        );
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            parse_file(&path, "data"),
            Err(ParseError::NotUtf8 { .. })
        ));
        assert!(matches!(
            parse_file(&dir.path().join("missing.sql"), "data"),
            Err(ParseError::Io { .. })
        ));
    }

    #[test]
    fn odd_input_gives_errors_not_panics() {
        let deep = format!(
            "revision = \"a\"\n[[upgrade]]\nop = \"x\"\nv = {}1{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(toml(&deep).is_err());
        for input in [
            "",
            "\r",
            "--",
            "-- :",
            "-- migrate:",
            "\u{feff}",
            "é = 1",
            "-- é: x",
            "\0",
        ] {
            let _ = toml(input);
            let _ = sql(input);
        }
        assert!(sql("-- revision: ü\n-- migrate:upgrade\n").is_err());
    }
}
