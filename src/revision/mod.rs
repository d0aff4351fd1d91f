//! Revisions: the model every other module works on, the two file formats
//! that produce it (`parse`), the checksum of an applied file (`checksum`),
//! and the scaffolding of new revision files from templates (`scaffold`).
//!
//! A revision is data: ids, links, a message and a list of steps. Parsing
//! keeps the line of every step so that later errors (rendering, running) can
//! point back into the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::dialect::Dialect;

pub mod checksum;
pub mod lane;
pub mod parse;
pub mod scaffold;

pub use lane::read_lane;
pub use parse::{parse_file, parse_str, Location, ParseError};

/// The on-disk format of a revision file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// `<id>_<slug>.toml`: header keys plus `[[upgrade]]` / `[[downgrade]]` steps.
    Toml,
    /// `<id>_<slug>.sql`: `-- key: value` header plus `-- migrate:upgrade` /
    /// `-- migrate:downgrade` sections.
    Sql,
}

impl FileFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Toml => "toml",
            FileFormat::Sql => "sql",
        }
    }

    /// The format of a file name, judged by its extension.
    pub fn from_extension(ext: &str) -> Option<FileFormat> {
        match ext {
            "toml" => Some(FileFormat::Toml),
            "sql" => Some(FileFormat::Sql),
            _ => None,
        }
    }
}

/// One revision file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// The revision id (`[A-Za-z0-9_]+`).
    pub id: String,
    /// Parents: empty for a base, one id, or several for a merge. Order is the
    /// file's order (it matters for step ordering, as in Alembic).
    pub down_revisions: Vec<String>,
    /// Branch labels declared by this file (not the propagated ones).
    pub branch_labels: Vec<String>,
    /// Ids or branch labels this revision depends on (any lane).
    pub depends_on: Vec<String>,
    /// The message given to `retort revision -m`.
    pub message: String,
    /// When the file was created, if the file says.
    pub created: Option<DateTime<Utc>>,
    /// Whether the revision runs inside a transaction (default true).
    pub transactional: bool,
    /// Whether `sql` steps are rendered through minijinja first (default false).
    pub template: bool,
    /// The steps run by `upgrade`, in order.
    pub upgrade: Vec<Step>,
    /// The steps run by `downgrade`; `None` when the file has no downgrade
    /// section at all (an inverse may be derived later), `Some(vec![])` when
    /// it has an empty one (downgrade does nothing).
    pub downgrade: Option<Vec<Step>>,
    /// `[[verify]]` checks (data lane), run after the upgrade steps.
    pub verify: Vec<Verify>,
    /// The lane, i.e. the name of the configured directory the file lives in.
    pub lane: String,
    /// The file the revision was read from.
    pub path: PathBuf,
    /// The file's content; its checksum (SHA-256 hex of the normalised
    /// content, see [`checksum`]) is computed on first use.
    pub text: checksum::FileText,
    /// The file's format.
    pub format: FileFormat,
}

impl Revision {
    /// SHA-256 hex of the normalised file content (see [`checksum`]).
    pub fn checksum(&self) -> &str {
        self.text.checksum()
    }
}

/// One step of a revision, with the line of the file it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line in the revision file where the step starts.
    pub line: usize,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Plain SQL, possibly with per-dialect variants.
    Sql(SqlStep),
    /// A portable schema or data operation (`create_table`, `update`, …),
    /// kept as its raw TOML table: the schema renderer parses schema
    /// operations into `dialect::ops`, the data lane parses data operations
    /// into `data::model` (each refuses the other lane's operations).
    Operation {
        /// The `op` value, e.g. `create_table`.
        op: String,
        /// Every other key of the step.
        fields: toml::Table,
    },
}

/// A `[[verify]]` entry: a query returning one number and the value it
/// must equal (design §5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Verify {
    /// 1-based line of the `[[verify]]` header.
    pub line: usize,
    /// The check's name (`name = …`, else `check N`).
    pub name: String,
    /// The query; its first column of its first row is compared.
    pub sql: String,
    /// The expected value.
    pub expect: f64,
}

/// A `sql` step: the default text and optional per-dialect replacements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlStep {
    /// The SQL run on every dialect without a variant. May hold several
    /// statements separated by `;`.
    pub sql: String,
    /// Replacements keyed by dialect (`sqlite`, `postgresql`, `mysql` keys in
    /// the TOML file).
    pub variants: BTreeMap<Dialect, String>,
}

impl SqlStep {
    /// The text to run on `dialect`: its variant if there is one, else `sql`.
    pub fn text_for(&self, dialect: Dialect) -> &str {
        self.variants
            .get(&dialect)
            .map(String::as_str)
            .unwrap_or(&self.sql)
    }
}

/// Characters Alembic forbids in revision ids (they are target syntax).
pub const FORBIDDEN_ID_CHARS: [char; 4] = ['@', '-', '+', ':'];

/// Checks a revision id, returning Alembic's error text when it is not valid.
///
/// # Errors
/// `Character(s) '-' not allowed in revision identifier 'bad-id'` for the
/// target-syntax characters, and a plain message for anything else outside
/// `[A-Za-z0-9_]` or an empty id.
pub fn validate_id(id: &str) -> Result<(), String> {
    let bad: Vec<char> = FORBIDDEN_ID_CHARS
        .iter()
        .copied()
        .filter(|c| id.contains(*c))
        .collect();
    if !bad.is_empty() {
        let list: Vec<String> = bad.iter().map(|c| c.to_string()).collect();
        return Err(format!(
            "Character(s) '{}' not allowed in revision identifier '{}'",
            list.join(", "),
            id
        ));
    }
    if id.is_empty() {
        return Err("revision identifier is empty".to_string());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "Character '{c}' not allowed in revision identifier '{id}': use letters, digits and _"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_validation_uses_alembic_wording() {
        assert_eq!(
            validate_id("bad-id").unwrap_err(),
            "Character(s) '-' not allowed in revision identifier 'bad-id'"
        );
        assert!(validate_id("ae1027a6acf0").is_ok());
        assert!(validate_id("a b").is_err());
        assert!(validate_id("").is_err());
    }
}
