//! The raw command line: clap derive definitions, exactly what the user
//! typed and nothing resolved (ripgrep's "low args"). [`super::settings`]
//! turns these into what each command needs.
//!
//! Targets and ranges are values even when they start with `-`:
//! `retort downgrade -1`, `retort history -r -3:`. Every argument that takes
//! a target sets `allow_hyphen_values`, which makes clap read a
//! hyphen-leading word as the value while still recognising the flags the
//! command defines.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::revision::FileFormat;

/// Accepts a target or range value. `allow_hyphen_values` lets `-1` and
/// `-3:` through, but it would also take a mistyped flag such as `--sq` as
/// a target; no target starts with `--`, so those stay usage errors (exit 2).
fn target_value(value: &str) -> Result<String, String> {
    if value.starts_with("--") {
        Err(format!(
            "unexpected argument '{value}': not a flag of this command, and targets never start with `--`"
        ))
    } else {
        Ok(value.to_string())
    }
}

/// Alembic-style versioned database migrations.
#[derive(Debug, Parser)]
#[command(name = "retort", version, about, propagate_version = true)]
pub struct Cli {
    /// Options accepted by every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// `-x` given before the command.
    #[command(flatten)]
    pub vars: VarArgs,

    /// Output format of listings (may also be given after the command).
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any command.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// The config file (default: ./alembic.toml).
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The database URL (overrides DATABASE_URL and the config file).
    #[arg(long = "url", global = true, value_name = "URL")]
    pub url: Option<String>,

    /// Do not print informational lines.
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
}

/// `-x KEY=VALUE`, repeatable, before or after the command.
///
/// Not a clap `global` argument: clap replaces a global's values from
/// before the subcommand with those after it instead of appending, which
/// would drop `-x` pairs silently. So every command flattens its own copy
/// and [`Command::take_vars`] joins them with the top-level ones.
#[derive(Debug, Args, Default, Clone)]
pub struct VarArgs {
    /// A variable for templated SQL, added to [vars] (repeatable).
    #[arg(short = 'x', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub vars: Vec<(String, String)>,
}

/// The output format of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Alembic's text lines.
    #[default]
    Text,
    /// A JSON array of revision objects.
    Json,
}

impl OutputFormat {
    /// The name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
        }
    }
}

/// `--format text|json` of a listing command.
#[derive(Debug, Args, Default, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
}

/// The file format of a new revision (`revision --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevisionFormat {
    /// `<id>_<slug>.toml`.
    Toml,
    /// `<id>_<slug>.sql`.
    Sql,
}

impl From<RevisionFormat> for FileFormat {
    fn from(format: RevisionFormat) -> FileFormat {
        match format {
            RevisionFormat::Toml => FileFormat::Toml,
            RevisionFormat::Sql => FileFormat::Sql,
        }
    }
}

/// Every command of design §9.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold alembic.toml, migrations/<lane>/ and templates.
    Init {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// The project directory (default: the current directory).
        dir: Option<PathBuf>,
        /// Also copy the embedded templates into the project, for editing.
        #[arg(long)]
        templates: bool,
    },
    /// Create a new revision file.
    Revision(RevisionArgs),
    /// Create a revision that merges several heads.
    Merge(MergeArgs),
    /// Upgrade to a later revision (default: head).
    Upgrade {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Target: head, heads, +N, an id, LABEL@head, …; with --sql also FROM:TO.
        #[arg(allow_hyphen_values = true, value_parser = target_value, value_name = "TARGET")]
        target: Option<String>,
        /// Print the SQL script instead of running it (no connection).
        #[arg(long)]
        sql: bool,
        /// Count what would change, change nothing.
        #[arg(long, conflicts_with = "sql")]
        dry_run: bool,
        /// One transaction around the whole run instead of one per revision.
        #[arg(long)]
        atomic: bool,
        /// Rows per batch of data steps (overrides each step's batch_size; without either, batches are sized by time, batch_time_ms).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        batch_size: Option<u64>,
    },
    /// Revert to an earlier revision.
    Downgrade {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Target: -1, base, an id, LABEL@-1, …; with --sql FROM:TO.
        #[arg(allow_hyphen_values = true, value_parser = target_value, value_name = "TARGET")]
        target: String,
        /// Print the SQL script instead of running it (no connection).
        #[arg(long)]
        sql: bool,
        /// Count what would change, change nothing.
        #[arg(long, conflicts_with = "sql")]
        dry_run: bool,
        /// One transaction around the whole run instead of one per revision.
        #[arg(long)]
        atomic: bool,
        /// Rows per batch of data steps (overrides each step's batch_size; without either, batches are sized by time, batch_time_ms).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        batch_size: Option<u64>,
    },
    /// Show the current revision(s) of the database.
    Current {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Verbose entries.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Fail unless the database is on all head revisions.
        #[arg(long)]
        check_heads: bool,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List revisions, newest first.
    History {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Range [start]:[end]; either side may be empty (e.g. -3:, base:head).
        #[arg(
            short = 'r',
            long = "rev-range",
            allow_hyphen_values = true,
            value_parser = target_value,
            value_name = "RANGE"
        )]
        rev_range: Option<String>,
        /// Verbose entries.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Mark the revisions the database is at (needs the database).
        #[arg(short = 'i', long)]
        indicate_current: bool,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show the head revisions.
    Heads {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Verbose entries.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Treat depends_on as parents: list only the real heads.
        #[arg(long)]
        resolve_dependencies: bool,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show the branch points.
    Branches {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Verbose entries.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show the revision(s) a target denotes.
    Show {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// A revision id, prefix, head, LABEL@head, current, …
        #[arg(allow_hyphen_values = true, value_parser = target_value, value_name = "REV")]
        rev: String,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Set the database's applied revisions without running migrations.
    Stamp {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Target revision(s); base empties the table.
        #[arg(required = true, allow_negative_numbers = true, value_name = "REV")]
        revisions: Vec<String>,
        /// Delete every row of the version table first.
        #[arg(long)]
        purge: bool,
        /// Print the SQL instead of running it (no connection).
        #[arg(long)]
        sql: bool,
    },
    /// Accept the changed content of an applied revision file.
    Amend {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// The revision whose checksum is updated.
        #[arg(allow_hyphen_values = true, value_parser = target_value, value_name = "REV")]
        rev: String,
    },
    /// Settle a failed or interrupted revision by hand.
    Resolve(ResolveArgs),
    /// Exit 1 when the database is not at head.
    Check {
        /// `-x KEY=VALUE` after the command.
        #[command(flatten)]
        vars: VarArgs,
        /// Output format.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Fixtures outside revisions: dump a table, load a file (data lane).
    #[command(subcommand)]
    Data(DataCommand),
}

/// `retort data …` (DATA LANE).
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write a table's rows (primary-key order) as CSV or JSON.
    Dump {
        /// The table.
        table: String,
        /// csv or json.
        #[arg(long = "format", value_enum, default_value = "csv")]
        format: FixtureFormat,
        /// The output file (default: stdout).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Insert the rows of a CSV or JSON file into a table.
    Load {
        /// The file (`.csv` or `.json`).
        file: PathBuf,
        /// The table.
        #[arg(long)]
        table: String,
        /// What to do with rows whose key exists: fail, skip or update.
        #[arg(long, value_enum, default_value = "fail")]
        on_conflict: ConflictArg,
        /// Rows per statement.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        batch_size: usize,
    },
}

/// Fixture file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixtureFormat {
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `--on-conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConflictArg {
    /// Fail on a duplicate key.
    Fail,
    /// Keep the existing row.
    Skip,
    /// Overwrite the existing row.
    Update,
}

/// `retort revision`.
#[derive(Debug, Args)]
pub struct RevisionArgs {
    /// `-x KEY=VALUE` after the command.
    #[command(flatten)]
    pub vars: VarArgs,
    /// The revision message.
    #[arg(short = 'm', long = "message", value_name = "MSG")]
    pub message: Option<String>,
    /// The lane to write into (default: the first configured lane).
    #[arg(long, value_name = "LANE")]
    pub lane: Option<String>,
    /// The parent: head (default), base, LABEL@head, heads, or a revision.
    #[arg(long, allow_hyphen_values = true, value_parser = target_value, value_name = "REV")]
    pub head: Option<String>,
    /// A branch label for the new revision (repeatable).
    #[arg(long = "branch-label", value_name = "LABEL")]
    pub branch_labels: Vec<String>,
    /// A revision or label the new revision depends on (repeatable).
    #[arg(long, value_name = "REV")]
    pub depends_on: Vec<String>,
    /// Use this id instead of a generated one.
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
    /// Allow a parent that is not a head (starts a new branch).
    #[arg(long)]
    pub splice: bool,
    /// File format of the new revision (default: [revision] format).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<RevisionFormat>,
}

/// `retort merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// `-x KEY=VALUE` after the command.
    #[command(flatten)]
    pub vars: VarArgs,
    /// The revisions to merge, or `heads`.
    #[arg(required = true, allow_negative_numbers = true, value_name = "REV")]
    pub revisions: Vec<String>,
    /// The revision message.
    #[arg(short = 'm', long = "message", value_name = "MSG")]
    pub message: Option<String>,
    /// A branch label for the merge revision (repeatable).
    #[arg(long = "branch-label", value_name = "LABEL")]
    pub branch_labels: Vec<String>,
    /// Use this id instead of a generated one.
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
    /// Allow revisions that are not heads.
    #[arg(long)]
    pub splice: bool,
    /// File format of the merge revision (default: [revision] format).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<RevisionFormat>,
}

/// `retort resolve`.
#[derive(Debug, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("outcome").required(true).args(["applied", "reverted"])))]
pub struct ResolveArgs {
    /// `-x KEY=VALUE` after the command.
    #[command(flatten)]
    pub vars: VarArgs,
    /// The failed or interrupted revision.
    #[arg(allow_hyphen_values = true, value_parser = target_value, value_name = "REV")]
    pub rev: String,
    /// Record it as applied (you finished it by hand).
    #[arg(
        long,
        required_unless_present = "reverted",
        conflicts_with = "reverted"
    )]
    pub applied: bool,
    /// Record it as not applied (you undid it by hand).
    #[arg(long)]
    pub reverted: bool,
}

impl Command {
    /// Takes the `-x` pairs given after the command.
    pub fn take_batch_size(&self) -> Option<u64> {
        match self {
            Command::Upgrade { batch_size, .. } | Command::Downgrade { batch_size, .. } => {
                *batch_size
            }
            _ => None,
        }
    }

    /// Takes the `-x` pairs given after the command.
    pub fn take_vars(&mut self) -> Vec<(String, String)> {
        let vars = match self {
            Command::Init { vars, .. }
            | Command::Upgrade { vars, .. }
            | Command::Downgrade { vars, .. }
            | Command::Current { vars, .. }
            | Command::History { vars, .. }
            | Command::Heads { vars, .. }
            | Command::Branches { vars, .. }
            | Command::Show { vars, .. }
            | Command::Stamp { vars, .. }
            | Command::Amend { vars, .. }
            | Command::Check { vars, .. } => vars,
            Command::Revision(args) => &mut args.vars,
            Command::Merge(args) => &mut args.vars,
            Command::Resolve(args) => &mut args.vars,
            Command::Data(_) => return Vec::new(),
        };
        std::mem::take(&mut vars.vars)
    }
}

/// Parses `-x KEY=VALUE`.
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got '{text}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        let mut full = vec!["retort"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full) {
            Ok(cli) => cli,
            Err(err) => panic!("{args:?} did not parse: {err}"),
        }
    }

    fn parse_err(args: &[&str]) -> clap::Error {
        let mut full = vec!["retort"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn downgrade_minus_one_is_a_target() {
        match parse(&["downgrade", "-1"]).command {
            Command::Downgrade { target, sql, .. } => {
                assert_eq!(target, "-1");
                assert!(!sql);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn downgrade_target_then_flag() {
        match parse(&["downgrade", "-2", "--sql"]).command {
            Command::Downgrade { target, sql, .. } => {
                assert_eq!(target, "-2");
                assert!(sql);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["downgrade", "--sql", "head:-1"]).command {
            Command::Downgrade { target, sql, .. } => {
                assert_eq!(target, "head:-1");
                assert!(sql);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upgrade_plus_two_and_default() {
        match parse(&["upgrade", "+2"]).command {
            Command::Upgrade { target, .. } => assert_eq!(target.as_deref(), Some("+2")),
            other => panic!("{other:?}"),
        }
        match parse(&["upgrade"]).command {
            Command::Upgrade { target, .. } => assert_eq!(target, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn history_relative_range() {
        for args in [
            &["history", "-r", "-3:"][..],
            &["history", "-r-3:"][..],
            &["history", "--rev-range", "-3:"][..],
            &["history", "--rev-range=-3:"][..],
        ] {
            match parse(args).command {
                Command::History { rev_range, .. } => {
                    assert_eq!(rev_range.as_deref(), Some("-3:"), "{args:?}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn history_flags_after_range() {
        match parse(&["history", "-r", "-3:", "-v"]).command {
            Command::History {
                rev_range, verbose, ..
            } => {
                assert_eq!(rev_range.as_deref(), Some("-3:"));
                assert!(verbose);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vars_repeat_and_split_on_first_equals() {
        let mut cli = parse(&["-x", "a=b", "upgrade", "-x", "c=d=e", "--sql"]);
        let mut vars = cli.vars.vars.clone();
        vars.extend(cli.command.take_vars());
        assert_eq!(
            vars,
            vec![
                ("a".to_string(), "b".to_string()),
                ("c".to_string(), "d=e".to_string())
            ]
        );
    }

    #[test]
    fn var_without_equals_is_a_usage_error() {
        let err = parse_err(&["-x", "ab", "heads"]);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn globals_before_and_after_the_command() {
        let cli = parse(&["-q", "--url", "sqlite://a.db", "heads", "-c", "x.toml"]);
        assert!(cli.global.quiet);
        assert_eq!(cli.global.url.as_deref(), Some("sqlite://a.db"));
        assert_eq!(cli.global.config, Some(PathBuf::from("x.toml")));
    }

    #[test]
    fn format_before_or_after_a_listing_command() {
        let cli = parse(&["--format", "json", "heads"]);
        assert_eq!(cli.format, Some(OutputFormat::Json));
        match parse(&["heads", "--format", "json"]).command {
            Command::Heads { output, .. } => assert_eq!(output.format, Some(OutputFormat::Json)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn revision_format_is_the_file_format() {
        match parse(&["revision", "-m", "add account", "--format", "sql"]).command {
            Command::Revision(args) => {
                assert_eq!(args.format, Some(RevisionFormat::Sql));
                assert_eq!(args.message.as_deref(), Some("add account"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_err(&["revision", "--format", "json"]).exit_code(), 2);
    }

    #[test]
    fn revision_depends_on_repeats() {
        match parse(&["revision", "--depends-on", "a1", "--depends-on", "b2"]).command {
            Command::Revision(args) => assert_eq!(args.depends_on, vec!["a1", "b2"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn merge_needs_revisions() {
        assert_eq!(parse_err(&["merge", "-m", "x"]).exit_code(), 2);
        match parse(&["merge", "heads", "-m", "merge"]).command {
            Command::Merge(args) => assert_eq!(args.revisions, vec!["heads"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resolve_needs_exactly_one_outcome() {
        assert_eq!(parse_err(&["resolve", "abc"]).exit_code(), 2);
        assert_eq!(
            parse_err(&["resolve", "abc", "--applied", "--reverted"]).exit_code(),
            2
        );
        assert!(matches!(
            parse(&["resolve", "abc", "--reverted"]).command,
            Command::Resolve(ResolveArgs { reverted: true, .. })
        ));
        assert!(matches!(
            parse(&["resolve", "--applied", "abc"]).command,
            Command::Resolve(ResolveArgs { applied: true, .. })
        ));
    }

    #[test]
    fn dry_run_conflicts_with_sql() {
        assert_eq!(parse_err(&["upgrade", "--sql", "--dry-run"]).exit_code(), 2);
    }

    #[test]
    fn unknown_flag_is_still_a_usage_error() {
        assert_eq!(parse_err(&["heads", "--bogus"]).exit_code(), 2);
    }

    #[test]
    fn minus_one_in_multi_value_positionals() {
        match parse(&["stamp", "-1", "--sql"]).command {
            Command::Stamp { revisions, sql, .. } => {
                assert_eq!(revisions, vec!["-1"]);
                assert!(sql);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stamp_takes_several_targets() {
        match parse(&["stamp", "a1", "b2", "--sql"]).command {
            Command::Stamp { revisions, sql, .. } => {
                assert_eq!(revisions, vec!["a1", "b2"]);
                assert!(sql);
            }
            other => panic!("{other:?}"),
        }
    }
}
