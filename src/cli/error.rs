//! Errors the command line itself raises (argument combinations the parser
//! cannot express, `current --check-heads` and `check` verdicts). Library errors
//! keep their own types; `cli::run` wraps everything in `anyhow` and finds
//! the hint of whichever error in the chain has one.

/// An error raised by the command line before any library call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// `current --check-heads` (Alembic's wording).
    #[error("Database is not on all head revisions")]
    NotOnHeads {
        /// The database's heads.
        current: Vec<String>,
    },
    /// `check` found the database behind.
    #[error("the database is not at head: {}", describe_check(.pending, .unfinished))]
    NotAtHead {
        /// What `upgrade head` would run.
        pending: Vec<String>,
        /// Revisions left running or failed.
        unfinished: Vec<String>,
    },
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
            Error::NotOnHeads { .. } => Some("`retort upgrade heads` applies the missing revisions".to_string()),
            Error::NotAtHead { unfinished, .. } if !unfinished.is_empty() => Some(format!(
                "settle {} first: fix the file and run `retort upgrade`, or `retort resolve {} --applied|--reverted`",
                unfinished.join(", "),
                unfinished.first().map_or("REV", String::as_str)
            )),
            Error::NotAtHead { .. } => Some("`retort upgrade head` applies them".to_string()),
            Error::FormatNotApplicable { command, .. } => {
                Some(format!("drop --format for `retort {command}`"))
            }
        }
    }
}

fn describe_check(pending: &[String], unfinished: &[String]) -> String {
    let mut parts = Vec::new();
    if !pending.is_empty() {
        parts.push(format!(
            "{} revision(s) to apply ({})",
            pending.len(),
            pending.join(", ")
        ));
    }
    if !unfinished.is_empty() {
        parts.push(format!("unfinished: {}", unfinished.join(", ")));
    }
    parts.join("; ")
}
