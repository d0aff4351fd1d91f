//! Raw arguments → resolved settings (ripgrep's "high args", uv's
//! `*Settings::resolve`). Everything here is pure: option combinations are
//! checked, defaults are filled in, ranges are split, and commands that need
//! a part not built yet (the live runner) are refused, before any file is
//! read.

use std::path::PathBuf;

use crate::config::Overrides;
use crate::graph::Range;
use crate::revision::FileFormat;

use super::args::{
    Cli, Command, ConflictArg, DataCommand, FixtureFormat, MergeArgs, OutputFormat, RevisionArgs,
};
use super::error::Error;

/// Everything a command run needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Config precedence inputs (`-c`, `--url`, `-x`).
    pub overrides: Overrides,
    /// `-q`: no informational lines.
    pub quiet: bool,
    /// What to do.
    pub action: Action,
    /// DATA LANE: `--batch-size` of upgrade/downgrade.
    pub batch_size: Option<u64>,
}

/// A command, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `init [DIR] [--templates]`.
    Init {
        /// The project directory.
        dir: PathBuf,
        /// Copy the embedded templates into the project.
        templates: bool,
    },
    /// `revision`.
    Revision(RevisionRequest),
    /// `merge`.
    Merge(MergeRequest),
    /// `heads`.
    Heads {
        /// `-v`.
        verbose: bool,
        /// `--resolve-dependencies`: real heads instead of versioned heads.
        resolve_dependencies: bool,
        /// Output format.
        format: OutputFormat,
    },
    /// `branches`.
    Branches {
        /// `-v`.
        verbose: bool,
        /// Output format.
        format: OutputFormat,
    },
    /// `history`.
    History {
        /// `-r`, split.
        range: Option<Range>,
        /// `-v`.
        verbose: bool,
        /// `-i`: mark the current revisions (reads the database; so does a
        /// `current` end of the range).
        indicate_current: bool,
        /// Output format.
        format: OutputFormat,
    },
    /// `show REV` (`show current` reads the database).
    Show {
        /// The target.
        rev: String,
        /// Output format.
        format: OutputFormat,
    },
    /// DATA LANE: `upgrade --dry-run` / `downgrade --dry-run`.
    DryRun {
        /// Downgrade instead of upgrade.
        downgrade: bool,
        /// The target.
        target: String,
    },
    /// DATA LANE: `data dump TABLE`.
    DataDump {
        /// The table.
        table: String,
        /// JSON instead of CSV.
        json: bool,
        /// `-o FILE`.
        output: Option<PathBuf>,
    },
    /// DATA LANE: `data load FILE --table T`.
    DataLoad {
        /// The fixture.
        file: PathBuf,
        /// The table.
        table: String,
        /// `--on-conflict`.
        on_conflict: crate::data::model::OnConflict,
        /// Rows per statement.
        batch_size: usize,
    },
    /// `upgrade --sql [FROM:]TO`.
    UpgradeSql {
        /// The target or range, as typed (default `head`).
        range: String,
        /// `--atomic`.
        atomic: bool,
    },
    /// `downgrade --sql FROM:TO`.
    DowngradeSql {
        /// The range, as typed.
        range: String,
        /// `--atomic`.
        atomic: bool,
    },
    /// `stamp --sql REV…`.
    StampSql {
        /// The targets, as typed.
        revisions: Vec<String>,
    },
    /// `upgrade [TARGET]` on the database.
    Upgrade {
        /// The target, as typed (default `head`).
        target: String,
        /// `--atomic`.
        atomic: bool,
    },
    /// `downgrade TARGET` on the database.
    Downgrade {
        /// The target, as typed.
        target: String,
        /// `--atomic`.
        atomic: bool,
    },
    /// `stamp REV… [--purge]` on the database.
    Stamp {
        /// The targets, as typed.
        revisions: Vec<String>,
        /// `--purge`.
        purge: bool,
    },
    /// `current [-v] [--check-heads]`.
    Current {
        /// `-v`.
        verbose: bool,
        /// `--check-heads`.
        check_heads: bool,
        /// Output format.
        format: OutputFormat,
    },
    /// `check`.
    Check {
        /// Output format.
        format: OutputFormat,
    },
    /// `amend REV`.
    Amend {
        /// The target, as typed.
        rev: String,
    },
    /// `resolve REV --applied|--reverted`.
    Resolve {
        /// The target, as typed.
        rev: String,
        /// `--applied` (true) or `--reverted` (false).
        applied: bool,
    },
}

/// What `retort revision` asks the project to write: the project's own
/// options, so the two cannot drift apart.
pub use crate::project::NewRevisionOptions as RevisionRequest;

/// What `retort merge` asks the project to write.
pub use crate::project::MergeOptions as MergeRequest;

impl Settings {
    /// Resolves parsed arguments.
    ///
    /// # Errors
    /// Option combinations clap cannot check (a range without `--sql`, a
    /// malformed history range, `--purge --sql`, `--format json` on a
    /// command without a listing).
    pub fn resolve(cli: Cli) -> Result<Settings, Error> {
        let Cli {
            global,
            vars,
            format: top_format,
            mut command,
        } = cli;
        let mut all_vars = vars.vars;
        all_vars.extend(command.take_vars());
        let batch_size = command.take_batch_size();
        let action = resolve_action(command, top_format)?;
        Ok(Settings {
            batch_size,
            quiet: global.quiet,
            overrides: Overrides {
                config: global.config,
                url: global.url,
                vars: all_vars,
            },
            action,
        })
    }

    /// Whether the action reads the project (config and revision files).
    pub fn needs_project(&self) -> bool {
        !matches!(self.action, Action::Init { .. })
    }
}

/// The output format: the command's `--format`, else the top-level one.
fn listing_format(own: Option<OutputFormat>, top: Option<OutputFormat>) -> OutputFormat {
    own.or(top).unwrap_or_default()
}

/// Refuses a top-level `--format json` on a command that prints no listing.
fn no_listing(top: Option<OutputFormat>, command: &'static str) -> Result<(), Error> {
    match top {
        Some(OutputFormat::Json) => Err(Error::FormatNotApplicable {
            format: OutputFormat::Json.name(),
            command,
        }),
        Some(OutputFormat::Text) | None => Ok(()),
    }
}

fn resolve_action(command: Command, top: Option<OutputFormat>) -> Result<Action, Error> {
    match command {
        Command::Init { dir, templates, .. } => {
            no_listing(top, "init")?;
            Ok(Action::Init {
                dir: dir.unwrap_or_else(|| PathBuf::from(".")),
                templates,
            })
        }
        Command::Revision(args) => {
            no_listing(top, "revision")?;
            Ok(Action::Revision(revision_request(args)))
        }
        Command::Merge(args) => {
            no_listing(top, "merge")?;
            Ok(Action::Merge(merge_request(args)))
        }
        Command::Upgrade {
            target,
            sql,
            dry_run,
            atomic,
            ..
        } => {
            no_listing(top, "upgrade")?;
            let range = target.unwrap_or_else(|| "head".to_string());
            run_action("upgrade", range, sql, dry_run, atomic)
        }
        Command::Downgrade {
            target,
            sql,
            dry_run,
            atomic,
            ..
        } => {
            no_listing(top, "downgrade")?;
            run_action("downgrade", target, sql, dry_run, atomic)
        }
        Command::Current {
            verbose,
            check_heads,
            output,
            ..
        } => Ok(Action::Current {
            verbose,
            check_heads,
            format: listing_format(output.format, top),
        }),
        Command::History {
            rev_range,
            verbose,
            indicate_current,
            output,
            ..
        } => {
            let range = rev_range.as_deref().map(parse_history_range).transpose()?;
            Ok(Action::History {
                range,
                verbose,
                indicate_current,
                format: listing_format(output.format, top),
            })
        }
        Command::Heads {
            verbose,
            resolve_dependencies,
            output,
            ..
        } => Ok(Action::Heads {
            verbose,
            resolve_dependencies,
            format: listing_format(output.format, top),
        }),
        Command::Branches {
            verbose, output, ..
        } => Ok(Action::Branches {
            verbose,
            format: listing_format(output.format, top),
        }),
        Command::Show { rev, output, .. } => Ok(Action::Show {
            rev,
            format: listing_format(output.format, top),
        }),
        Command::Stamp {
            revisions,
            purge,
            sql,
            ..
        } => {
            no_listing(top, "stamp")?;
            match (sql, purge) {
                (true, true) => Err(Error::PurgeWithSql),
                (true, false) => Ok(Action::StampSql { revisions }),
                (false, purge) => Ok(Action::Stamp { revisions, purge }),
            }
        }
        Command::Amend { rev, .. } => {
            no_listing(top, "amend")?;
            Ok(Action::Amend { rev })
        }
        Command::Resolve(args) => {
            no_listing(top, "resolve")?;
            Ok(Action::Resolve {
                rev: args.rev,
                applied: args.applied,
            })
        }
        Command::Check { output, .. } => Ok(Action::Check {
            format: listing_format(output.format, top),
        }),
        Command::Data(data) => {
            no_listing(top, "data")?;
            Ok(match data {
                DataCommand::Dump {
                    table,
                    format,
                    output,
                } => Action::DataDump {
                    table,
                    json: format == FixtureFormat::Json,
                    output,
                },
                DataCommand::Load {
                    file,
                    table,
                    on_conflict,
                    batch_size,
                } => Action::DataLoad {
                    file,
                    table,
                    on_conflict: match on_conflict {
                        ConflictArg::Fail => crate::data::model::OnConflict::Fail,
                        ConflictArg::Skip => crate::data::model::OnConflict::Skip,
                        ConflictArg::Update => crate::data::model::OnConflict::Update,
                    },
                    batch_size,
                },
            })
        }
    }
}

/// `upgrade`/`downgrade`: offline with `--sql`, else on the database; a
/// range without `--sql` is refused with Alembic's message.
fn run_action(
    command: &'static str,
    range: String,
    sql: bool,
    dry_run: bool,
    atomic: bool,
) -> Result<Action, Error> {
    if !sql && range.contains(':') {
        return Err(Error::RangeNotAllowed { command });
    }
    if dry_run {
        return Ok(Action::DryRun {
            downgrade: command == "downgrade",
            target: range,
        });
    }
    Ok(match (command, sql) {
        ("downgrade", true) => Action::DowngradeSql { range, atomic },
        ("downgrade", false) => Action::Downgrade {
            target: range,
            atomic,
        },
        (_, true) => Action::UpgradeSql { range, atomic },
        (_, false) => Action::Upgrade {
            target: range,
            atomic,
        },
    })
}

fn revision_request(args: RevisionArgs) -> RevisionRequest {
    RevisionRequest {
        message: args.message.unwrap_or_default(),
        lane: args.lane,
        head: args.head,
        splice: args.splice,
        branch_labels: args.branch_labels,
        depends_on: args.depends_on,
        rev_id: args.rev_id,
        format: args.format.map(FileFormat::from),
    }
}

fn merge_request(args: MergeArgs) -> MergeRequest {
    MergeRequest {
        revs: args.revisions,
        message: args.message.unwrap_or_default(),
        branch_labels: args.branch_labels,
        rev_id: args.rev_id,
        splice: args.splice,
        format: args.format.map(FileFormat::from),
    }
}

/// Splits `history -r` (`start:end`, either side may be empty; surrounding
/// whitespace ignored, as Alembic strips it).
///
/// # Errors
/// No colon (Alembic's message) or more than one.
pub fn parse_history_range(text: &str) -> Result<Range, Error> {
    let text = text.trim();
    let Some((start, end)) = text.split_once(':') else {
        return Err(Error::HistoryRangeNoColon);
    };
    if end.contains(':') {
        return Err(Error::HistoryRangeTooManyColons {
            range: text.to_string(),
        });
    }
    let side = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(Range {
        start: side(start),
        end: side(end),
    })
}

/// Whether either end of a history range is `current` (which needs the
/// database).
pub fn mentions_current(range: &Range) -> bool {
    range.start.as_deref() == Some("current") || range.end.as_deref() == Some("current")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(args: &[&str]) -> Result<Settings, Error> {
        let mut full = vec!["retort"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full) {
            Ok(cli) => Settings::resolve(cli),
            Err(err) => panic!("{args:?} did not parse: {err}"),
        }
    }

    fn action(args: &[&str]) -> Action {
        match resolve(args) {
            Ok(settings) => settings.action,
            Err(err) => panic!("{args:?}: {err}"),
        }
    }

    fn error(args: &[&str]) -> Error {
        match resolve(args) {
            Ok(settings) => panic!("{args:?} resolved: {:?}", settings.action),
            Err(err) => err,
        }
    }

    #[test]
    fn history_range_forms() {
        let r = |s: Option<&str>, e: Option<&str>| Range {
            start: s.map(str::to_string),
            end: e.map(str::to_string),
        };
        assert_eq!(parse_history_range("-3:").ok(), Some(r(Some("-3"), None)));
        assert_eq!(
            parse_history_range(":ae10").ok(),
            Some(r(None, Some("ae10")))
        );
        assert_eq!(
            parse_history_range(" base:head ").ok(),
            Some(r(Some("base"), Some("head")))
        );
        assert_eq!(parse_history_range(":").ok(), Some(r(None, None)));
        assert_eq!(
            parse_history_range("ae10").map_err(|e| e.to_string()).err(),
            Some("History range requires [start]:[end], [start]:, or :[end]".to_string())
        );
        assert!(matches!(
            parse_history_range("a:b:c"),
            Err(Error::HistoryRangeTooManyColons { .. })
        ));
    }

    #[test]
    fn history_resolves_with_relative_range() {
        assert_eq!(
            action(&["history", "-r", "-3:", "-v"]),
            Action::History {
                range: Some(Range {
                    start: Some("-3".into()),
                    end: None
                }),
                verbose: true,
                indicate_current: false,
                format: OutputFormat::Text,
            }
        );
    }

    #[test]
    fn history_indicate_current() {
        match action(&["history", "-i"]) {
            Action::History {
                indicate_current, ..
            } => assert!(indicate_current),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            error(&["history", "-i", "-r", "x"]),
            Error::HistoryRangeNoColon
        ));
    }

    #[test]
    fn upgrade_offline_and_online() {
        assert_eq!(
            action(&["upgrade", "--sql"]),
            Action::UpgradeSql {
                range: "head".into(),
                atomic: false
            }
        );
        assert_eq!(
            action(&["upgrade", "--sql", "a1:+2", "--atomic"]),
            Action::UpgradeSql {
                range: "a1:+2".into(),
                atomic: true
            }
        );
        assert_eq!(
            action(&["upgrade", "+2"]),
            Action::Upgrade {
                target: "+2".into(),
                atomic: false
            }
        );
        assert_eq!(
            action(&["upgrade"]),
            Action::Upgrade {
                target: "head".into(),
                atomic: false
            }
        );
        assert_eq!(
            action(&["upgrade", "--dry-run"]),
            Action::DryRun {
                downgrade: false,
                target: "head".into()
            }
        );
    }

    #[test]
    fn online_range_uses_alembic_message() {
        let err = error(&["upgrade", "a1:b2"]);
        assert_eq!(err.to_string(), "Range revision not allowed");
        assert!(matches!(
            error(&["downgrade", "head:-1"]),
            Error::RangeNotAllowed { .. }
        ));
    }

    #[test]
    fn downgrade_minus_one_runs_online() {
        assert_eq!(
            action(&["downgrade", "-1", "--atomic"]),
            Action::Downgrade {
                target: "-1".into(),
                atomic: true
            }
        );
        assert_eq!(
            action(&["downgrade", "--sql", "head:-1"]),
            Action::DowngradeSql {
                range: "head:-1".into(),
                atomic: false
            }
        );
    }

    #[test]
    fn stamp_forms() {
        assert_eq!(
            action(&["stamp", "--sql", "a1", "b2"]),
            Action::StampSql {
                revisions: vec!["a1".into(), "b2".into()]
            }
        );
        assert_eq!(
            error(&["stamp", "--sql", "--purge", "a1"]).to_string(),
            "Can't use --purge with --sql mode"
        );
        assert_eq!(
            action(&["stamp", "head", "--purge"]),
            Action::Stamp {
                revisions: vec!["head".into()],
                purge: true
            }
        );
    }

    #[test]
    fn database_commands_resolve() {
        assert_eq!(
            action(&["current", "-v", "--check-heads"]),
            Action::Current {
                verbose: true,
                check_heads: true,
                format: OutputFormat::Text
            }
        );
        assert_eq!(
            action(&["--format", "json", "check"]),
            Action::Check {
                format: OutputFormat::Json
            }
        );
        assert_eq!(action(&["amend", "a1"]), Action::Amend { rev: "a1".into() });
        assert_eq!(
            action(&["resolve", "a1", "--reverted"]),
            Action::Resolve {
                rev: "a1".into(),
                applied: false
            }
        );
    }

    #[test]
    fn format_precedence() {
        assert_eq!(
            action(&["--format", "json", "heads", "--format", "text"]),
            Action::Heads {
                verbose: false,
                resolve_dependencies: false,
                format: OutputFormat::Text
            }
        );
        assert_eq!(
            action(&["--format", "json", "branches"]),
            Action::Branches {
                verbose: false,
                format: OutputFormat::Json
            }
        );
        assert!(matches!(
            error(&["--format", "json", "revision", "-m", "x"]),
            Error::FormatNotApplicable { .. }
        ));
    }

    #[test]
    fn revision_defaults() {
        match action(&["revision", "-m", "add account", "--depends-on", "d9"]) {
            Action::Revision(request) => {
                assert_eq!(request.message, "add account");
                assert_eq!(request.head, None);
                assert_eq!(request.depends_on, vec!["d9"]);
                assert_eq!(request.format, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn globals_become_overrides() {
        let settings = match resolve(&[
            "-x",
            "a=b",
            "-q",
            "--url",
            "sqlite::memory:",
            "heads",
            "-x",
            "c=d",
        ]) {
            Ok(s) => s,
            Err(err) => panic!("{err}"),
        };
        assert!(settings.quiet);
        assert_eq!(settings.overrides.url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(
            settings.overrides.vars,
            vec![
                ("a".to_string(), "b".to_string()),
                ("c".to_string(), "d".to_string())
            ]
        );
        assert!(settings.needs_project());
    }

    #[test]
    fn init_defaults_to_current_dir() {
        assert_eq!(
            action(&["init"]),
            Action::Init {
                dir: PathBuf::from("."),
                templates: false
            }
        );
    }
}
