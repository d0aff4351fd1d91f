//! The command line: clap definitions ([`args`]), their resolution into
//! ready-to-run settings ([`settings`]), one function per command
//! ([`commands`]), the text and JSON forms of listings ([`view`]) and the
//! only writer to stdout/stderr ([`printer`]).
//!
//! Commands parse, resolve settings, call one library function and print
//! (style rule 3). Exit codes: 0 success, 1 a failure reported with a
//! message, 2 a usage error (clap).

pub mod args;
pub mod commands;
pub mod error;
pub mod printer;
pub mod settings;
pub mod view;

use clap::Parser as _;

pub use error::Error;

use args::Cli;
use printer::Printer;
use settings::Settings;

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return Printer::clap(&err),
    };
    let secrets = Secrets::from_args(&cli);
    match Settings::resolve(cli)
        .map_err(anyhow::Error::from)
        .and_then(|settings| commands::execute(&settings, &Printer::new(settings.quiet)))
    {
        Ok(()) => 0,
        Err(err) => report(&err, &secrets),
    }
}

/// Prints a failure and returns its exit code.
fn report(err: &anyhow::Error, secrets: &Secrets) -> i32 {
    // A closed stdout (`retort history | head -1`) is not a failure: the
    // reader got what it wanted and went away. Like ripgrep, exit 0 quietly
    // instead of printing "Broken pipe" to a terminal that asked for none
    // of it.
    if is_broken_pipe(err) {
        return 0;
    }
    let message = secrets.scrub(&format!("{err:#}"));
    let hint = hint_of(err).map(|h| secrets.scrub(&h));
    Printer::error(&message, hint.as_deref());
    // Ctrl-C at a revision or batch boundary exits 130 (128 + SIGINT).
    // `runner::Error::Data` is `#[error(transparent)]`, so the chain skips
    // the data error inside it: look for both.
    let cancelled = err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::data::Error>(),
            Some(crate::data::Error::Cancelled { .. })
        ) || matches!(
            cause.downcast_ref::<crate::runner::Error>(),
            Some(
                crate::runner::Error::Data(crate::data::Error::Cancelled { .. })
                    | crate::runner::Error::Cancelled { .. }
            )
        )
    });
    if cancelled {
        return 130;
    }
    1
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The first hint any error in the chain offers.
///
/// INTEGRATION: add a branch for each library error type that gains a
/// `hint()` (`project::Error`, `runner::offline::Error`, `config::Error`);
/// they forward graph hints, so the first match wins.
fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(cli) = cause.downcast_ref::<Error>() {
            cli.hint()
        } else if let Some(graph) = cause.downcast_ref::<crate::graph::Error>() {
            graph.hint()
        } else if let Some(project) = cause.downcast_ref::<crate::project::Error>() {
            project.hint()
        } else if let Some(offline) = cause.downcast_ref::<crate::runner::offline::Error>() {
            offline.hint()
        } else if let Some(online) = cause.downcast_ref::<crate::runner::Error>() {
            online.hint()
        } else if let Some(store) = cause.downcast_ref::<crate::store::Error>() {
            store.hint()
        } else {
            None
        }
    })
}

/// Passwords the user gave in URLs (`--url`, `DATABASE_URL`), removed from
/// anything printed. The config module redacts its own messages; this is
/// the belt to its braces, because an error from a driver may quote the URL
/// it was given.
#[derive(Debug, Default)]
struct Secrets {
    passwords: Vec<String>,
}

impl Secrets {
    fn from_args(cli: &Cli) -> Secrets {
        let env_url = std::env::var("DATABASE_URL").ok();
        let passwords = [cli.global.url.as_deref(), env_url.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(url_password)
            .map(str::to_string)
            .collect();
        Secrets { passwords }
    }

    fn scrub(&self, text: &str) -> String {
        self.passwords
            .iter()
            .fold(text.to_string(), |acc, pw| acc.replace(pw.as_str(), "***"))
    }
}

/// The password of `scheme://user:password@host…`, if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// The log filter without `RUST_LOG`: retort's warnings, but only sqlx's
/// errors. sqlx warns about every statement slower than a second, quoting
/// the whole script with its colours; a long migration is expected to be
/// slow. `RUST_LOG=warn` (or `sqlx=warn`) shows them again.
const DEFAULT_LOG_FILTER: &str = "warn,sqlx=error";

/// Diagnostics through `tracing`, to stderr, filtered by `RUST_LOG`
/// (default: [`DEFAULT_LOG_FILTER`]).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_found_in_urls() {
        assert_eq!(url_password("postgres://u:s3cret@db/app"), Some("s3cret"));
        assert_eq!(url_password("mysql+pymysql://u:p@h:3306/x?a=b"), Some("p"));
        assert_eq!(url_password("postgres://u@db/app"), None);
        assert_eq!(url_password("sqlite://app.db"), None);
        assert_eq!(url_password("sqlite::memory:"), None);
    }

    #[test]
    fn secrets_are_scrubbed() {
        let secrets = Secrets {
            passwords: vec!["s3cret".into()],
        };
        assert_eq!(
            secrets.scrub("cannot connect to postgres://u:s3cret@db/app"),
            "cannot connect to postgres://u:***@db/app"
        );
    }

    #[test]
    fn broken_pipe_is_detected_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
        let err = anyhow::Error::from(io).context("writing");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn hints_are_found_in_the_chain() {
        let err = anyhow::Error::from(Error::NoUrlForSql).context("while rendering");
        assert!(hint_of(&err).is_some_and(|h| h.contains("--url")));
        assert_eq!(hint_of(&anyhow::anyhow!("plain")), None);
    }
}
