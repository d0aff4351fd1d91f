//! `alembic.toml` → [`Config`]: environment expansion (`${VAR}`,
//! `${VAR:-default}`), URL normalisation (SQLAlchemy forms accepted),
//! password redaction, and precedence (flag > `DATABASE_URL` > file).
//!
//! Why it looks like this:
//! - The file is deserialised into private, span-carrying structs with
//!   `deny_unknown_fields`, so a typo is an error naming the key, the file
//!   and the line, and listing the valid keys, instead of being ignored.
//! - `[lanes]` order matters (it is the apply order on ties), but a TOML table
//!   has no order once deserialised: each lane value keeps its span and the
//!   lanes are sorted by position in the file. This avoids toml's
//!   `preserve_order` feature (and a Cargo change).
//! - Relative paths (lane directories, `templates`, SQLite database files)
//!   are resolved against the directory of the config file, the *project
//!   root*, so `retort -c other/alembic.toml` works from anywhere. This holds
//!   for SQLite URLs from `--url` and `DATABASE_URL` too: one rule, not three.
//! - A password never appears in `Debug`, `Display` of errors, or
//!   [`DbUrl::redacted`]: malformed URLs are redacted on a best-effort basis
//!   before being echoed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::dialect::Dialect;
use crate::revision::FileFormat;

/// The file looked for when `-c/--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "alembic.toml";

/// The default version table name.
pub const DEFAULT_VERSION_TABLE: &str = "_versions";

/// The default `[revision] file_template`.
pub const DEFAULT_FILE_TEMPLATE: &str = "{{ rev }}_{{ slug }}";

/// Longest accepted version table name: PostgreSQL truncates identifiers at
/// 63 bytes and the log table appends `_log`.
const MAX_VERSION_TABLE_LEN: usize = 59;

/// Lane names that would read as target keywords (`head@head`).
const RESERVED_LANE_NAMES: [&str; 4] = ["head", "heads", "base", "current"];

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file does not exist.
    #[error(
        "config file {} not found: run `retort init` to create one, or pass `-c FILE`",
        .path.display()
    )]
    NotFound {
        /// The path looked for.
        path: PathBuf,
    },
    /// The config file exists but cannot be read.
    #[error("while reading config file {}: {cause}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, not the `source()`: a printed
        /// chain says it once).
        cause: std::io::Error,
    },
    /// TOML syntax, an unknown key or a value of the wrong type.
    #[error("{}:{line}: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// What is wrong (toml's message, listing valid keys for unknown ones).
        message: String,
    },
    /// A value that parses as TOML but is not acceptable.
    #[error("{}:{line}: invalid `{key}`: {message}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
        /// The key, e.g. `database.version_table`.
        key: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// `${VAR}` without a default names an unset environment variable, or
    /// the `${...}` syntax is broken.
    #[error("{}:{line}: in `{key}`: {message}", .path.display())]
    Expand {
        /// The file.
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
        /// The key whose value was being expanded.
        key: String,
        /// What is wrong (names the variable).
        message: String,
    },
    /// A database URL that cannot be used. The URL in `url` is redacted.
    #[error("invalid database URL `{url}` ({source_name}): {message}")]
    Url {
        /// The URL, password replaced by `***`.
        url: String,
        /// Where it came from: `from --url`, `from DATABASE_URL`, `from <file>:<line>`.
        source_name: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A `-x KEY=VALUE` override with an empty key.
    #[error("invalid `-x {0}`: expected KEY=VALUE with a non-empty KEY")]
    BadVar(String),
}

/// What the command line says about configuration (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-c/--config FILE`; default `./alembic.toml`.
    pub config: Option<PathBuf>,
    /// `--url URL`.
    pub url: Option<String>,
    /// `-x KEY=VALUE` pairs, added to `[vars]`.
    pub vars: Vec<(String, String)>,
}

/// How revisions are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// One transaction per revision (default).
    #[default]
    PerRevision,
    /// The whole run in one transaction (`--atomic`, `transaction = "all"`).
    All,
}

/// One lane: a name and the directory of its revision files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// Lane name (the `[lanes]` key).
    pub name: String,
    /// Directory, resolved against the config file's directory.
    pub dir: PathBuf,
}

/// `[revision]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSettings {
    /// Default file format of `retort revision`.
    pub format: FileFormat,
    /// minijinja template of the file name (without extension).
    pub file_template: String,
    /// A directory whose templates override the embedded ones.
    pub templates: Option<PathBuf>,
}

impl Default for RevisionSettings {
    fn default() -> Self {
        RevisionSettings {
            format: FileFormat::Toml,
            file_template: DEFAULT_FILE_TEMPLATE.to_string(),
            templates: None,
        }
    }
}

/// A database URL: its dialect, the URL sqlx connects with, and a redacted
/// form for printing.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    dialect: Dialect,
    url: String,
}

/// Accepted URL schemes, per dialect, as listed in error messages.
const SCHEMES: [(Dialect, &str); 3] = [
    (
        Dialect::Sqlite,
        "sqlite://PATH, sqlite::memory:, sqlite:///REL, sqlite:////ABS",
    ),
    (
        Dialect::Postgres,
        "postgres://, postgresql://, postgresql+DRIVER://",
    ),
    (
        Dialect::Mysql,
        "mysql://, mariadb://, mysql+DRIVER://, mariadb+DRIVER://",
    ),
];

/// Whether the driver of `dialect` is compiled into this build.
fn driver_compiled(dialect: Dialect) -> bool {
    match dialect {
        Dialect::Sqlite => cfg!(feature = "sqlite"),
        Dialect::Postgres => cfg!(feature = "postgres"),
        Dialect::Mysql => cfg!(feature = "mysql"),
    }
}

/// The accepted schemes, marking those whose driver is not compiled in.
fn schemes_help() -> String {
    let parts: Vec<String> = SCHEMES
        .iter()
        .map(|(d, s)| {
            if driver_compiled(*d) {
                s.to_string()
            } else {
                format!(
                    "{s} (--sql only: built without feature `{}`)",
                    feature_of(*d)
                )
            }
        })
        .collect();
    parts.join("; ")
}

fn feature_of(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
    }
}

impl DbUrl {
    /// Parses and normalises a URL (`sqlite://path`, `sqlite::memory:`,
    /// `postgres://`, `postgresql://`, `mysql://`, `mariadb://`, and the
    /// SQLAlchemy forms `sqlite:///path`, `postgresql+psycopg2://…`,
    /// `mysql+pymysql://…`).
    ///
    /// SQLite paths follow SQLAlchemy: `sqlite:///app.db` is the relative
    /// path `app.db`, `sqlite:////var/app.db` the absolute `/var/app.db`;
    /// `sqlite://app.db` is relative too. The result uses sqlx's form
    /// (`sqlite://app.db`, `sqlite:///var/app.db`). A relative path is kept
    /// relative here; [`Config::load`] resolves it against the project root
    /// (see [`DbUrl::resolve_against`]). PostgreSQL forms become
    /// `postgres://…`, MySQL/MariaDB forms `mysql://…`.
    ///
    /// Every scheme is accepted even when its driver is not compiled in, so
    /// that `--sql` works for any dialect; connecting checks the feature.
    ///
    /// # Errors
    /// An unknown scheme (the message lists the accepted ones) or a malformed
    /// URL. The URL in the error is redacted.
    pub fn parse(url: &str) -> Result<DbUrl, Error> {
        Self::parse_from(url, "as given")
    }

    fn parse_from(url: &str, source_name: &str) -> Result<DbUrl, Error> {
        let err = |message: String| Error::Url {
            url: redact_str(url),
            source_name: source_name.to_string(),
            message,
        };
        let url = url.trim();
        if url == "sqlite::memory:" {
            return Ok(DbUrl::sqlite(":memory:", ""));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(err(format!(
                "expected SCHEME://…; accepted: {}",
                schemes_help()
            )));
        };
        let base = scheme.split_once('+').map_or(scheme, |(b, _)| b);
        match base.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::parse_sqlite(rest)),
            "postgres" | "postgresql" => Ok(DbUrl {
                dialect: Dialect::Postgres,
                url: format!("postgres://{rest}"),
            }),
            "mysql" | "mariadb" => Ok(DbUrl {
                dialect: Dialect::Mysql,
                url: format!("mysql://{rest}"),
            }),
            _ => Err(err(format!(
                "unknown scheme `{scheme}`; accepted: {}",
                schemes_help()
            ))),
        }
    }

    /// `rest` is everything after `sqlite://`.
    fn parse_sqlite(rest: &str) -> DbUrl {
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        let path = if let Some(abs) = path.strip_prefix("//") {
            // SQLAlchemy `sqlite:////abs` → `/abs`.
            format!("/{abs}")
        } else if let Some(rel) = path.strip_prefix('/') {
            // SQLAlchemy `sqlite:///rel` → `rel`.
            rel.to_string()
        } else {
            path.to_string()
        };
        if path.is_empty() || path == ":memory:" {
            // SQLAlchemy's `sqlite://` is an in-memory database.
            return DbUrl::sqlite(":memory:", query);
        }
        DbUrl::sqlite(&path, query)
    }

    fn sqlite(path: &str, query: &str) -> DbUrl {
        let mut url = if path == ":memory:" {
            "sqlite::memory:".to_string()
        } else {
            format!("sqlite://{path}")
        };
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        DbUrl {
            dialect: Dialect::Sqlite,
            url,
        }
    }

    /// For a SQLite file URL with a relative path, the same URL with the
    /// path joined onto `root`; any other URL unchanged.
    pub fn resolve_against(&self, root: &Path) -> DbUrl {
        let Some(path) = self.sqlite_path() else {
            return self.clone();
        };
        if path.is_absolute() {
            return self.clone();
        }
        let query = self.url.split_once('?').map_or("", |(_, q)| q);
        let joined = root.join(path);
        DbUrl::sqlite(&joined.to_string_lossy(), query)
    }

    /// The database file of a SQLite URL (`None` for in-memory databases and
    /// other dialects).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.url.strip_prefix("sqlite://")?;
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        Some(PathBuf::from(path))
    }

    /// The dialect of this URL.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether this build can connect to this URL (its driver feature is
    /// compiled in). `--sql` works regardless.
    pub fn driver_compiled(&self) -> bool {
        driver_compiled(self.dialect)
    }

    /// The normalised URL to connect with. Contains the password: never print it.
    pub fn dangerous_connect_str(&self) -> &str {
        &self.url
    }

    /// The URL with any password replaced by `***`, safe to print.
    pub fn redacted(&self) -> String {
        // An absolute SQLite path is shown in the SQLAlchemy form this
        // parser reads back (`sqlite:////abs`), so a URL printed by one
        // command can be pasted into `--url` of the next.
        if let Some(abs) = self.url.strip_prefix("sqlite:///") {
            return format!("sqlite:////{abs}");
        }
        redact_str(&self.url)
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbUrl")
            .field("dialect", &self.dialect)
            .field("url", &self.redacted())
            .finish()
    }
}

impl std::fmt::Display for DbUrl {
    /// The redacted URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of anything URL-like with `***`: the part after
/// the first `:` of the user info (before the last `@` of the authority),
/// and the value of any query parameter whose name contains `password`.
/// Works on malformed input too, so errors can echo what the user gave.
pub fn redact_str(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    // The user info ends at the *last* `@`: an unencoded password may hold
    // `@`, `/` or `?`. Over-redacting a rare `@` in a path is the safe side.
    let mut out = String::with_capacity(url.len());
    let rest = match url[scheme_end..].rfind('@') {
        Some(i) => {
            let at = scheme_end + i;
            match url[scheme_end..at].find(':') {
                Some(colon) => {
                    out.push_str(&url[..scheme_end + colon + 1]);
                    out.push_str("***");
                }
                None => out.push_str(&url[..at]),
            }
            &url[at..]
        }
        None => url,
    };
    match rest.split_once('?') {
        Some((head, query)) => {
            out.push_str(head);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("password") => {
                        format!("{k}=***")
                    }
                    _ => p.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

/// The resolved configuration of a project.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// The project root (the config file's directory).
    pub root: PathBuf,
    /// The database URL after precedence, if any was given anywhere.
    pub url: Option<DbUrl>,
    /// Name of the version table (default `_versions`; the log is `<name>_log`).
    pub version_table: String,
    /// Transaction grouping.
    pub transaction: TransactionMode,
    /// Lanes in config order (default: one lane `schema` = `migrations/schema`).
    pub lanes: Vec<Lane>,
    /// `[revision]` settings.
    pub revision: RevisionSettings,
    /// `[vars]` plus `-x` values.
    pub vars: BTreeMap<String, String>,
}

// ---- the file, as deserialised -------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database: Option<DatabaseSection>,
    lanes: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    revision: Option<RevisionSection>,
    vars: Option<BTreeMap<String, Spanned<toml::Value>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    url: Option<Spanned<String>>,
    version_table: Option<Spanned<String>>,
    transaction: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionSection {
    format: Option<Spanned<String>>,
    file_template: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
}

/// Where the process environment comes from (a closure in tests).
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads values out of the file: knows the path and the source text, so
/// every error can name file and line.
struct FileCtx<'a> {
    path: &'a Path,
    text: &'a str,
    env: EnvLookup<'a>,
}

impl FileCtx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// A string value with `${VAR}` expanded.
    fn string(&self, key: &str, value: &Spanned<String>) -> Result<String, Error> {
        expand_env(value.get_ref(), self.env).map_err(|message| Error::Expand {
            path: self.path.to_path_buf(),
            line: self.line_of(value.span().start),
            key: key.to_string(),
            message,
        })
    }

    fn invalid(&self, key: &str, offset: usize, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of(offset),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Expands `${VAR}` and `${VAR:-default}` (default used when VAR is unset
/// or empty, as in the shell). `$${` writes a literal `${`; any other `$` is
/// literal.
///
/// # Errors
/// An unset variable without default (the message names it), an unclosed
/// `${`, or a name outside `[A-Za-z0-9_]`.
fn expand_env(input: &str, env: EnvLookup<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(close) = tail.find('}') else {
                return Err(format!(
                    "unclosed `${{` in `{}`: write ${{VAR}} or ${{VAR:-default}} (`$${{` for a literal `${{`)",
                    redact_str(input)
                ));
            };
            let inner = &tail[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                if in_url_password(input, input.len() - after.len()) {
                    return Err(
                        "a `${` in the URL's password is not a variable reference (the password is not shown): write `$${` for a literal `${`, or `${VAR}` to take the password from the environment"
                            .to_string(),
                    );
                }
                return Err(format!(
                    "`${{{inner}}}` is not a variable reference: names use letters, digits and _"
                ));
            }
            let value = env(name).filter(|v| !(default.is_some() && v.is_empty()));
            match (value, default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set: set it, or write `${{{name}:-default}}`"
                    ))
                }
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether byte `offset` of `input` lies in the password of a
/// `scheme://user:password@host` URL (after the first `:` of the user
/// info, before the last `@`).
fn in_url_password(input: &str, offset: usize) -> bool {
    let Some(scheme_end) = input.find("://").map(|i| i + 3) else {
        return false;
    };
    let Some(at) = input[scheme_end..].rfind('@').map(|i| scheme_end + i) else {
        return false;
    };
    input[scheme_end..at]
        .find(':')
        .is_some_and(|colon| (scheme_end + colon + 1..at).contains(&offset))
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Config {
    /// Reads the config file and applies the environment and `overrides`.
    ///
    /// The file is `overrides.config` or `./alembic.toml`. The URL comes from
    /// `--url`, else `DATABASE_URL`, else `[database] url`; relative SQLite
    /// paths are resolved against the project root (the file's directory).
    ///
    /// # Errors
    /// A missing or malformed file (named, with line), unknown keys, a bad URL.
    pub fn load(overrides: &Overrides) -> Result<Config, Error> {
        let cwd = std::env::current_dir().map_err(|source| Error::Io {
            path: PathBuf::from("."),
            cause: source,
        })?;
        let env = |name: &str| std::env::var(name).ok();
        Self::load_with(overrides, &cwd, &env)
    }

    /// [`Config::load`] with the working directory and environment given.
    fn load_with(overrides: &Overrides, cwd: &Path, env: EnvLookup<'_>) -> Result<Config, Error> {
        let path = cwd.join(
            overrides
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE)),
        );
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { path })
            }
            Err(source) => {
                return Err(Error::Io {
                    path,
                    cause: source,
                })
            }
        };
        let root = path
            .parent()
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
        let ctx = FileCtx {
            path: &path,
            text: &text,
            env,
        };
        let mut config = Self::from_toml(&ctx, &root)?;
        config.file = Some(path.clone());
        config.apply_overrides(overrides, env)?;
        Ok(config)
    }

    fn from_toml(ctx: &FileCtx<'_>, root: &Path) -> Result<Config, Error> {
        let file: FileConfig = toml::from_str(ctx.text).map_err(|e| Error::Syntax {
            path: ctx.path.to_path_buf(),
            line: e.span().map_or(0, |s| ctx.line_of(s.start)),
            message: e.message().trim().to_string(),
        })?;
        let db = file.database.unwrap_or_default();
        let url = match &db.url {
            Some(v) => {
                let raw = ctx.string("database.url", v)?;
                let source = format!(
                    "from {}:{}",
                    ctx.path.display(),
                    ctx.line_of(v.span().start)
                );
                Some(DbUrl::parse_from(&raw, &source)?.resolve_against(root))
            }
            None => None,
        };
        Ok(Config {
            file: None,
            root: root.to_path_buf(),
            url,
            version_table: version_table(ctx, db.version_table.as_ref())?,
            transaction: transaction_mode(ctx, db.transaction.as_ref())?,
            lanes: lanes(ctx, root, file.lanes.as_ref())?,
            revision: revision_settings(ctx, root, file.revision.unwrap_or_default())?,
            vars: vars(ctx, file.vars.unwrap_or_default())?,
        })
    }

    fn apply_overrides(&mut self, overrides: &Overrides, env: EnvLookup<'_>) -> Result<(), Error> {
        let from_flag = overrides.url.as_ref().map(|u| (u.clone(), "from --url"));
        let from_env = env("DATABASE_URL")
            .filter(|u| !u.is_empty())
            .map(|u| (u, "from DATABASE_URL"));
        if let Some((raw, source)) = from_flag.or(from_env) {
            self.url = Some(DbUrl::parse_from(&raw, source)?.resolve_against(&self.root));
        }
        for (key, value) in &overrides.vars {
            if key.is_empty() {
                return Err(Error::BadVar(format!("{key}={value}")));
            }
            self.vars.insert(key.clone(), value.clone());
        }
        Ok(())
    }
}

fn version_table(ctx: &FileCtx<'_>, value: Option<&Spanned<String>>) -> Result<String, Error> {
    let Some(v) = value else {
        return Ok(DEFAULT_VERSION_TABLE.to_string());
    };
    let name = ctx.string("database.version_table", v)?;
    if !is_identifier(&name) || name.len() > MAX_VERSION_TABLE_LEN {
        return Err(ctx.invalid(
            "database.version_table",
            v.span().start,
            format!(
                "`{name}` is not a plain identifier: use letters, digits and _, not starting with a digit, at most {MAX_VERSION_TABLE_LEN} characters (no schema prefix, no quotes)"
            ),
        ));
    }
    Ok(name)
}

fn transaction_mode(
    ctx: &FileCtx<'_>,
    value: Option<&Spanned<String>>,
) -> Result<TransactionMode, Error> {
    let Some(v) = value else {
        return Ok(TransactionMode::default());
    };
    match ctx.string("database.transaction", v)?.as_str() {
        "revision" => Ok(TransactionMode::PerRevision),
        "all" => Ok(TransactionMode::All),
        other => Err(ctx.invalid(
            "database.transaction",
            v.span().start,
            format!("`{other}`: expected \"revision\" (one transaction per revision) or \"all\" (one for the whole run)"),
        )),
    }
}

fn lanes(
    ctx: &FileCtx<'_>,
    root: &Path,
    table: Option<&Spanned<BTreeMap<String, Spanned<String>>>>,
) -> Result<Vec<Lane>, Error> {
    let Some(table) = table else {
        return Ok(vec![Lane {
            name: "schema".to_string(),
            dir: root.join("migrations/schema"),
        }]);
    };
    if table.get_ref().is_empty() {
        return Err(ctx.invalid(
            "lanes",
            table.span().start,
            "no lanes: add one, e.g. `schema = \"migrations/schema\"`, or remove the [lanes] table for that default",
        ));
    }
    // File order: sort by position of the value in the file.
    let mut entries: Vec<(&String, &Spanned<String>)> = table.get_ref().iter().collect();
    entries.sort_by_key(|(_, v)| v.span().start);
    let mut lanes: Vec<Lane> = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        let key = format!("lanes.{name}");
        let offset = value.span().start;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
            return Err(ctx.invalid(&key, offset, "a lane name uses letters, digits and _ only (it is used as a branch label, e.g. `data@head`)"));
        }
        if RESERVED_LANE_NAMES.contains(&name.as_str()) {
            return Err(ctx.invalid(
                &key,
                offset,
                format!("`{name}` is a target keyword and cannot name a lane: choose another name"),
            ));
        }
        let dir_text = ctx.string(&key, value)?;
        if dir_text.is_empty() {
            return Err(ctx.invalid(
                &key,
                offset,
                "the directory is empty: give a path such as \"migrations/schema\"",
            ));
        }
        let dir = root.join(&dir_text);
        if let Some(other) = lanes.iter().find(|l| l.dir == dir) {
            return Err(ctx.invalid(&key, offset, format!("directory `{dir_text}` is already the directory of lane `{}`: each lane needs its own", other.name)));
        }
        lanes.push(Lane {
            name: name.clone(),
            dir,
        });
    }
    Ok(lanes)
}

fn revision_settings(
    ctx: &FileCtx<'_>,
    root: &Path,
    section: RevisionSection,
) -> Result<RevisionSettings, Error> {
    let mut settings = RevisionSettings::default();
    if let Some(v) = &section.format {
        let text = ctx.string("revision.format", v)?;
        settings.format = FileFormat::from_extension(&text).ok_or_else(|| {
            ctx.invalid(
                "revision.format",
                v.span().start,
                format!("`{text}`: expected \"toml\" or \"sql\""),
            )
        })?;
    }
    if let Some(v) = &section.file_template {
        let text = ctx.string("revision.file_template", v)?;
        if text.trim().is_empty() {
            return Err(ctx.invalid(
                "revision.file_template",
                v.span().start,
                format!("the template is empty: the default is \"{DEFAULT_FILE_TEMPLATE}\""),
            ));
        }
        settings.file_template = text;
    }
    if let Some(v) = &section.templates {
        settings.templates = Some(root.join(ctx.string("revision.templates", v)?));
    }
    Ok(settings)
}

fn vars(
    ctx: &FileCtx<'_>,
    table: BTreeMap<String, Spanned<toml::Value>>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (name, value) in table {
        let key = format!("vars.{name}");
        let span = value.span();
        let text = match value.into_inner() {
            toml::Value::String(s) => ctx.string(&key, &Spanned::new(span, s))?,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ctx.invalid(
                    &key,
                    span.start,
                    "a var is a string, number or boolean (templates see it as a string)",
                ))
            }
        };
        out.insert(name, text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    /// Writes `text` as `alembic.toml` in a temp dir and loads it.
    fn load(
        text: &str,
        overrides: &Overrides,
        env: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<Config, Error>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alembic.toml"), text).unwrap();
        let env = env_of(env);
        let result = Config::load_with(overrides, dir.path(), &env);
        (dir, result)
    }

    fn load_ok(text: &str) -> (tempfile::TempDir, Config) {
        let (dir, result) = load(text, &Overrides::default(), &[]);
        (dir, result.unwrap())
    }

    fn load_err(text: &str, env: &[(&str, &str)]) -> String {
        let (_dir, result) = load(text, &Overrides::default(), env);
        result.unwrap_err().to_string()
    }

    #[test]
    fn empty_file_gives_defaults() {
        let (dir, c) = load_ok("");
        assert_eq!(c.root, dir.path());
        assert_eq!(c.file, Some(dir.path().join("alembic.toml")));
        assert_eq!(c.url, None);
        assert_eq!(c.version_table, "_versions");
        assert_eq!(c.transaction, TransactionMode::PerRevision);
        assert_eq!(
            c.lanes,
            vec![Lane {
                name: "schema".into(),
                dir: dir.path().join("migrations/schema")
            }]
        );
        assert_eq!(c.revision, RevisionSettings::default());
        assert_eq!(c.revision.file_template, "{{ rev }}_{{ slug }}");
        assert!(c.vars.is_empty());
    }

    #[test]
    fn full_file() {
        let (dir, c) = load_ok(
            r#"
[database]
url = "sqlite://app.db"
version_table = "my_versions"
transaction = "all"

[lanes]
zeta = "migrations/schema"
alpha = "migrations/data"

[revision]
format = "sql"
file_template = "{{ year }}_{{ rev }}"
templates = "tpl"

[vars]
schema = "public"
n = 3
flag = true
"#,
        );
        let root = dir.path();
        assert_eq!(
            c.url.unwrap().dangerous_connect_str(),
            format!("sqlite://{}", root.join("app.db").display())
        );
        assert_eq!(c.version_table, "my_versions");
        assert_eq!(c.transaction, TransactionMode::All);
        let names: Vec<&str> = c.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"], "file order, not sorted");
        assert_eq!(c.lanes[1].dir, root.join("migrations/data"));
        assert_eq!(c.revision.format, FileFormat::Sql);
        assert_eq!(c.revision.file_template, "{{ year }}_{{ rev }}");
        assert_eq!(c.revision.templates, Some(root.join("tpl")));
        assert_eq!(c.vars["schema"], "public");
        assert_eq!(c.vars["n"], "3");
        assert_eq!(c.vars["flag"], "true");
    }

    #[test]
    fn lane_order_follows_file_with_many_lanes() {
        let (_d, c) = load_ok("[lanes]\nc = \"c\"\na = \"a\"\nd = \"d\"\nb = \"b\"\n");
        let names: Vec<&str> = c.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "d", "b"]);
    }

    #[test]
    fn absolute_lane_dir_is_kept() {
        let (_d, c) = load_ok("[lanes]\nschema = \"/srv/m\"\n");
        assert_eq!(c.lanes[0].dir, PathBuf::from("/srv/m"));
    }

    #[test]
    fn unknown_key_names_key_line_and_valid_keys() {
        let e = load_err("[database]\nurll = \"x\"\n", &[]);
        assert!(e.contains("alembic.toml:2:"), "{e}");
        assert!(e.contains("unknown field `urll`"), "{e}");
        assert!(
            e.contains("`url`") && e.contains("`version_table`") && e.contains("`transaction`"),
            "{e}"
        );
        let e = load_err("[database]\n\n[lane]\n", &[]);
        assert!(
            e.contains(":3:") && e.contains("unknown field `lane`"),
            "{e}"
        );
        assert!(e.contains("`lanes`"), "{e}");
    }

    #[test]
    fn syntax_error_has_line() {
        let e = load_err("[database]\nurl = \n", &[]);
        assert!(e.contains("alembic.toml:2:"), "{e}");
    }

    #[test]
    fn wrong_type_has_line() {
        let e = load_err("[database]\nurl = 3\n", &[]);
        assert!(e.contains("alembic.toml:2:"), "{e}");
    }

    #[test]
    fn missing_file_says_run_init() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load_with(&Overrides::default(), dir.path(), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&dir.path().join("alembic.toml").display().to_string()),
            "{e}"
        );
        assert!(e.contains("retort init"), "{e}");
        let o = Overrides {
            config: Some("sub/x.toml".into()),
            ..Default::default()
        };
        let e = Config::load_with(&o, dir.path(), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sub/x.toml") && e.contains("retort init"), "{e}");
    }

    #[test]
    fn config_flag_sets_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("proj")).unwrap();
        std::fs::write(
            dir.path().join("proj/r.toml"),
            "[database]\nurl = \"sqlite:///db.sqlite\"\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some("proj/r.toml".into()),
            ..Default::default()
        };
        let c = Config::load_with(&o, dir.path(), &env_of(&[])).unwrap();
        assert_eq!(c.root, dir.path().join("proj"));
        assert_eq!(c.lanes[0].dir, dir.path().join("proj/migrations/schema"));
        assert_eq!(
            c.url.unwrap().sqlite_path(),
            Some(dir.path().join("proj/db.sqlite"))
        );
    }

    #[test]
    fn env_expansion() {
        let text = "[database]\nurl = \"postgres://${USER}:${PW:-x}@${HOST:-localhost}/db\"\n";
        let (_d, r) = load(
            text,
            &Overrides::default(),
            &[("USER", "bob"), ("PW", "s3cret")],
        );
        assert_eq!(
            r.unwrap().url.unwrap().dangerous_connect_str(),
            "postgres://bob:s3cret@localhost/db"
        );
    }

    #[test]
    fn env_expansion_unset_names_variable_and_key() {
        let e = load_err("[vars]\na = 1\nschema = \"${SCHEMA}\"\n", &[]);
        assert!(e.contains(":3:"), "{e}");
        assert!(e.contains("`vars.schema`"), "{e}");
        assert!(e.contains("`SCHEMA` is not set"), "{e}");
    }

    #[test]
    fn expand_env_cases() {
        let env = env_of(&[("A", "1"), ("EMPTY", "")]);
        let ex = |s: &str| expand_env(s, &env);
        assert_eq!(ex("x${A}y").unwrap(), "x1y");
        assert_eq!(ex("${B:-def}").unwrap(), "def");
        assert_eq!(ex("${EMPTY:-def}").unwrap(), "def");
        assert_eq!(ex("${EMPTY}").unwrap(), "");
        assert_eq!(ex("${B:-}").unwrap(), "");
        assert_eq!(ex("${A:-x}${A}").unwrap(), "11");
        assert_eq!(ex("$A $ $$ $${A}").unwrap(), "$A $ $$ ${A}");
        assert_eq!(ex("pa$$word").unwrap(), "pa$$word");
        assert_eq!(ex("é${A}é").unwrap(), "é1é");
        assert!(ex("${A").unwrap_err().contains("unclosed"));
        assert!(ex("${}").unwrap_err().contains("not a variable"));
        assert!(ex("${A B}").unwrap_err().contains("not a variable"));
        assert!(ex("${NOPE}").unwrap_err().contains("`NOPE`"));
    }

    #[test]
    fn bad_reference_in_a_password_is_not_echoed() {
        let e = load_err(
            "[database]\nurl = \"postgres://app:S3cr${et!}Pw@db/x\"\n",
            &[],
        );
        assert!(!e.contains("et!") && !e.contains("S3cr"), "{e}");
        assert!(e.contains("`database.url`"), "{e}");
        assert!(e.contains("URL's password"), "{e}");
        assert!(e.contains("`$${`"), "{e}");
        // Outside the password the fragment is still shown.
        let e = load_err("[database]\nurl = \"postgres://app@db/${x y}\"\n", &[]);
        assert!(e.contains("`${x y}` is not a variable reference"), "{e}");
        // A valid reference in the password is expanded as before.
        let env = |name: &str| (name == "PW").then(|| "pw".to_string());
        assert_eq!(
            expand_env("postgres://u:${PW}@h/db", &env).unwrap(),
            "postgres://u:pw@h/db"
        );
    }

    #[test]
    fn unclosed_expansion_does_not_echo_password() {
        let e = load_err("[database]\nurl = \"postgres://u:hunter2@h/${DB\"\n", &[]);
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("unclosed"), "{e}");
    }

    #[test]
    fn version_table_validation() {
        let (_d, c) = load_ok("[database]\nversion_table = \"_v2\"\n");
        assert_eq!(c.version_table, "_v2");
        for bad in ["public.v", "1v", "", "a-b", "\\\"q\\\"", &"x".repeat(60)] {
            let e = load_err(&format!("[database]\nversion_table = \"{bad}\"\n"), &[]);
            assert!(
                e.contains(":2: invalid `database.version_table`"),
                "{bad}: {e}"
            );
            assert!(e.contains("plain identifier"), "{e}");
        }
    }

    #[test]
    fn transaction_validation() {
        let (_d, c) = load_ok("[database]\ntransaction = \"revision\"\n");
        assert_eq!(c.transaction, TransactionMode::PerRevision);
        let e = load_err("[database]\ntransaction = \"each\"\n", &[]);
        assert!(
            e.contains("`database.transaction`") && e.contains("\"all\""),
            "{e}"
        );
    }

    #[test]
    fn lane_validation() {
        let e = load_err("[lanes]\n\"my-lane\" = \"m\"\n", &[]);
        assert!(e.contains(":2: invalid `lanes.my-lane`"), "{e}");
        let e = load_err("[lanes]\nhead = \"m\"\n", &[]);
        assert!(e.contains("target keyword"), "{e}");
        let e = load_err("[lanes]\n", &[]);
        assert!(e.contains("no lanes"), "{e}");
        let e = load_err("[lanes]\na = \"m\"\nb = \"m\"\n", &[]);
        assert!(e.contains(":3:") && e.contains("lane `a`"), "{e}");
        let e = load_err("[lanes]\na = \"\"\n", &[]);
        assert!(e.contains("directory is empty"), "{e}");
        let e = load_err("[lanes]\na = 3\n", &[]);
        assert!(e.contains(":2:"), "{e}");
    }

    #[test]
    fn revision_validation() {
        let e = load_err("[revision]\nformat = \"yaml\"\n", &[]);
        assert!(
            e.contains("`revision.format`") && e.contains("\"toml\""),
            "{e}"
        );
        let e = load_err("[revision]\nfile_template = \" \"\n", &[]);
        assert!(e.contains("empty"), "{e}");
        let e = load_err("[vars]\nx = [1]\n", &[]);
        assert!(e.contains("`vars.x`"), "{e}");
    }

    #[test]
    fn url_precedence_flag_env_file() {
        let text = "[database]\nurl = \"sqlite://file.db\"\n";
        let (_d, r) = load(text, &Overrides::default(), &[]);
        assert!(r
            .unwrap()
            .url
            .unwrap()
            .dangerous_connect_str()
            .ends_with("/file.db"));
        let (_d, r) = load(
            text,
            &Overrides::default(),
            &[("DATABASE_URL", "postgres://env/db")],
        );
        assert_eq!(
            r.unwrap().url.unwrap().dangerous_connect_str(),
            "postgres://env/db"
        );
        let o = Overrides {
            url: Some("mysql://flag/db".into()),
            ..Default::default()
        };
        let (_d, r) = load(text, &o, &[("DATABASE_URL", "postgres://env/db")]);
        assert_eq!(
            r.unwrap().url.unwrap().dangerous_connect_str(),
            "mysql://flag/db"
        );
        // An empty DATABASE_URL does not hide the file's URL.
        let (_d, r) = load(text, &Overrides::default(), &[("DATABASE_URL", "")]);
        assert_eq!(r.unwrap().url.unwrap().dialect(), Dialect::Sqlite);
        // The file URL is still validated (and expanded) even when overridden.
        let (_d, r) = load("[database]\nurl = \"${NOPE}\"\n", &o, &[]);
        assert!(r.is_err());
    }

    #[test]
    fn flag_url_error_names_source_and_redacts() {
        let o = Overrides {
            url: Some("oracle://scott:tiger@h/db".into()),
            ..Default::default()
        };
        let (_d, r) = load("", &o, &[]);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("--url") && e.contains("scott:***@h"), "{e}");
        assert!(!e.contains("tiger"), "{e}");
        let e = load_err("\n[database]\nurl = \"oracle://scott:tiger@h/db\"\n", &[]);
        assert!(e.contains("alembic.toml:3") && !e.contains("tiger"), "{e}");
    }

    #[test]
    fn x_vars_override_file_vars() {
        let o = Overrides {
            vars: vec![("a".into(), "flag".into()), ("c".into(), "new".into())],
            ..Default::default()
        };
        let (_d, r) = load("[vars]\na = \"file\"\nb = \"keep\"\n", &o, &[]);
        let v = r.unwrap().vars;
        assert_eq!(
            (v["a"].as_str(), v["b"].as_str(), v["c"].as_str()),
            ("flag", "keep", "new")
        );
        let o = Overrides {
            vars: vec![(String::new(), "v".into())],
            ..Default::default()
        };
        let (_d, r) = load("", &o, &[]);
        assert!(r.unwrap_err().to_string().contains("KEY=VALUE"));
    }

    fn url(s: &str) -> DbUrl {
        DbUrl::parse(s).unwrap()
    }

    #[test]
    fn url_sqlite_forms() {
        let cases = [
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite://", "sqlite::memory:"),
            ("sqlite://:memory:", "sqlite::memory:"),
            ("sqlite://app.db", "sqlite://app.db"),
            ("sqlite:///app.db", "sqlite://app.db"),
            ("sqlite:///rel/path.db", "sqlite://rel/path.db"),
            ("sqlite:////abs/path.db", "sqlite:///abs/path.db"),
            ("sqlite+pysqlite:///x.db", "sqlite://x.db"),
            ("sqlite://app.db?mode=rwc", "sqlite://app.db?mode=rwc"),
            ("  sqlite://app.db  ", "sqlite://app.db"),
        ];
        for (input, want) in cases {
            let u = url(input);
            assert_eq!(u.dialect(), Dialect::Sqlite, "{input}");
            assert_eq!(u.dangerous_connect_str(), want, "{input}");
            // What is printed parses back to the same database.
            assert_eq!(
                url(&u.redacted()).dangerous_connect_str(),
                want,
                "{input} shown as {}",
                u.redacted()
            );
        }
    }

    #[test]
    fn url_sqlite_resolution() {
        let root = Path::new("/proj");
        assert_eq!(
            url("sqlite://app.db")
                .resolve_against(root)
                .dangerous_connect_str(),
            "sqlite:///proj/app.db"
        );
        assert_eq!(
            url("sqlite:///d/app.db?mode=rwc")
                .resolve_against(root)
                .dangerous_connect_str(),
            "sqlite:///proj/d/app.db?mode=rwc"
        );
        assert_eq!(
            url("sqlite:////abs.db")
                .resolve_against(root)
                .dangerous_connect_str(),
            "sqlite:///abs.db"
        );
        assert_eq!(
            url("sqlite::memory:")
                .resolve_against(root)
                .dangerous_connect_str(),
            "sqlite::memory:"
        );
        assert_eq!(
            url("postgres://h/d")
                .resolve_against(root)
                .dangerous_connect_str(),
            "postgres://h/d"
        );
        assert_eq!(url("sqlite::memory:").sqlite_path(), None);
    }

    #[test]
    fn url_server_forms() {
        let cases = [
            (
                "postgres://u:p@h:5432/d",
                Dialect::Postgres,
                "postgres://u:p@h:5432/d",
            ),
            ("postgresql://h/d", Dialect::Postgres, "postgres://h/d"),
            (
                "postgresql+psycopg2://u@h/d",
                Dialect::Postgres,
                "postgres://u@h/d",
            ),
            (
                "postgresql+asyncpg://h/d?sslmode=disable",
                Dialect::Postgres,
                "postgres://h/d?sslmode=disable",
            ),
            ("mysql://u:p@h/d", Dialect::Mysql, "mysql://u:p@h/d"),
            ("mysql+pymysql://u:p@h/d", Dialect::Mysql, "mysql://u:p@h/d"),
            ("mariadb://h/d", Dialect::Mysql, "mysql://h/d"),
            (
                "mariadb+mariadbconnector://h/d",
                Dialect::Mysql,
                "mysql://h/d",
            ),
            ("MySQL://h/d", Dialect::Mysql, "mysql://h/d"),
        ];
        for (input, dialect, want) in cases {
            let u = url(input);
            assert_eq!(u.dialect(), dialect, "{input}");
            assert_eq!(u.dangerous_connect_str(), want, "{input}");
        }
    }

    #[test]
    fn url_errors_list_schemes_and_redact() {
        for bad in [
            "oracle://u:hunter2@h/d",
            "postgres:u:hunter2@h",
            "u:hunter2@h",
            "",
            "postgre+x://u:hunter2@h",
        ] {
            let e = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
            assert!(
                e.contains("sqlite://") && e.contains("postgres://") && e.contains("mysql://"),
                "{e}"
            );
        }
        let e = DbUrl::parse("oracle://h/d").unwrap_err().to_string();
        assert!(e.contains("unknown scheme `oracle`"), "{e}");
    }

    #[test]
    fn redaction() {
        let cases = [
            ("postgres://u:secret@h:5432/d", "postgres://u:***@h:5432/d"),
            ("postgres://u@h/d", "postgres://u@h/d"),
            ("postgres://h/d", "postgres://h/d"),
            ("postgres://u:p@ss@h/d", "postgres://u:***@h/d"),
            ("postgres://u:p/x?y@h/d", "postgres://u:***@h/d"),
            (
                "postgres://u:pw@h/d?password=x&sslmode=disable",
                "postgres://u:***@h/d?password=***&sslmode=disable",
            ),
            ("mysql://h/d?sslpassword=x", "mysql://h/d?sslpassword=***"),
            ("u:pw@h", "u:***@h"),
            ("sqlite:///a@b.db", "sqlite:///a@b.db"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(redact_str(input), want, "{input}");
        }
        let u = url("postgres://u:secret@h/d");
        assert_eq!(u.redacted(), "postgres://u:***@h/d");
        assert_eq!(u.to_string(), "postgres://u:***@h/d");
        assert!(!format!("{u:?}").contains("secret"));
    }
}
