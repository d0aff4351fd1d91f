//! Errors the command line itself raises (argument combinations the parser
//! cannot express, commands that need parts not built yet). Library errors
//! keep their own types; `cli::run` wraps everything in `anyhow` and finds
//! the hint of whichever error in the chain has one.

/// An error raised by the command line before any library call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command needs a database connection, and the live runner is not
    /// implemented yet.
    #[error("`retort {command}` needs a database connection, and the live runner is not implemented yet")]
    NeedsDatabase {
        /// The command as the user typed it (`upgrade`, `history -i`, …).
        command: String,
        /// Whether an offline `--sql` form of the same command exists.
        offline_alternative: bool,
    },
    /// A `FROM:TO` target without `--sql` (Alembic's wording).
    #[error("Range revision not allowed")]
    RangeNotAllowed {
        /// The command (`upgrade` or `downgrade`).
        command: &'static str,
    },
    /// `history -r` without a colon (Alembic's wording).
    #[error("History range requires [start]:[end], [start]:, or :[end]")]
    HistoryRangeNoColon,
    /// `history -r a:b:c` (Alembic crashes on this).
    #[error("History range '{range}' has more than one ':'; write [start]:[end]")]
    HistoryRangeTooManyColons {
        /// The range as given.
        range: String,
    },
    /// `stamp --purge --sql` (Alembic's wording).
    #[error("Can't use --purge with --sql mode")]
    PurgeWithSql,
    /// `--sql` needs a dialect, which comes from the database URL.
    #[error("--sql renders SQL for the dialect of the database URL, and no URL is configured")]
    NoUrlForSql,
    /// The top-level `--format json` given to a command that prints no listing.
    #[error("--format {format} applies to current, history, heads, branches, show and check, not to `{command}`")]
    FormatNotApplicable {
        /// The requested format name.
        format: &'static str,
        /// The command name.
        command: &'static str,
    },
}

impl Error {
    /// A line telling the user what to run next, if there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NeedsDatabase {
                command,
                offline_alternative,
            } => offline_alternative.then(|| {
                let name = command.split_whitespace().next().unwrap_or(command);
                format!("`retort {name} --sql …` prints the SQL script without connecting")
            }),
            Error::RangeNotAllowed { command } => Some(format!(
                "a FROM:TO range works only offline: `retort {command} --sql FROM:TO`"
            )),
            Error::HistoryRangeNoColon | Error::HistoryRangeTooManyColons { .. } => Some(
                "examples: `retort history -r base:head`, `-r -3:`, `-r :ae1027a6acf0`".to_string(),
            ),
            Error::PurgeWithSql => {
                Some("--purge empties the table of a live database; drop it to print the stamp script".to_string())
            }
            Error::NoUrlForSql => Some(
                "pass --url (e.g. --url sqlite://app.db), set DATABASE_URL, or set [database] url in alembic.toml"
                    .to_string(),
            ),
            Error::FormatNotApplicable { command, .. } => {
                Some(format!("drop --format for `retort {command}`"))
            }
        }
    }
}
