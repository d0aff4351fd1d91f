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
    let mut secrets = Secrets::from_args(&cli);
    let settings = match Settings::resolve(cli) {
        Ok(settings) => settings,
        Err(err) => return report(&err.into(), &secrets),
    };
    match commands::execute(&settings, &Printer::new(settings.quiet)) {
        Ok(()) => 0,
        Err(err) => {
            // The URL may come from alembic.toml, `${VAR}` expanded: its
            // password is a secret too (read again only on failure).
            if let Some(url) = crate::config::Config::load(&settings.overrides)
                .ok()
                .and_then(|c| c.url)
            {
                secrets.add_url(url.dangerous_connect_str());
            }
            report(&err, &secrets)
        }
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
            Some(
                crate::data::Error::Cancelled { .. } | crate::data::Error::LockWaitCancelled { .. }
            )
        ) || matches!(
            cause.downcast_ref::<crate::runner::Error>(),
            Some(
                crate::runner::Error::Data(
                    crate::data::Error::Cancelled { .. }
                        | crate::data::Error::LockWaitCancelled { .. }
                ) | crate::runner::Error::Cancelled { .. }
                    | crate::runner::Error::LockWaitCancelled { .. }
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

/// Keeps passwords out of anything printed. The config module redacts its
/// own messages; this is the belt to its braces, because an error from a
/// driver may quote the URL it was given.
///
/// Every `scheme://user:password@host` in the text has its password
/// replaced by `***` (and `?password=` values), whatever the password is.
/// The passwords of the URLs the user gave (`--url`, `DATABASE_URL`, the
/// config's URL after `${VAR}` expansion) are also removed where they
/// appear outside a URL, but only when they are long enough
/// ([`Secrets::MIN_BARE`]) not to garble ordinary words: a plain replace of
/// the password `e` turned "could not connect" into "could not conn***ct".
#[derive(Debug, Default)]
struct Secrets {
    passwords: Vec<String>,
}

impl Secrets {
    /// The shortest password that is also removed where it stands alone.
    const MIN_BARE: usize = 8;

    fn from_args(cli: &Cli) -> Secrets {
        let env_url = std::env::var("DATABASE_URL").ok();
        let mut secrets = Secrets::default();
        for url in [cli.global.url.as_deref(), env_url.as_deref()]
            .into_iter()
            .flatten()
        {
            secrets.add_url(url);
        }
        secrets
    }

    /// Remembers the password of `url` for removal outside URLs, unless it
    /// is short or equal to the user name or the scheme (replacing those
    /// everywhere would hide words of the message, not a secret).
    fn add_url(&mut self, url: &str) {
        let Some(pw) = url_password(url) else {
            return;
        };
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        let user = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once(':'))
            .map_or("", |(u, _)| u);
        if pw.chars().count() >= Secrets::MIN_BARE
            && pw != user
            && !scheme.contains(pw)
            && !self.passwords.iter().any(|p| p == pw)
        {
            self.passwords.push(pw.to_string());
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.passwords
            .iter()
            .fold(scrub_urls(text), |acc, pw| acc.replace(pw.as_str(), "***"))
    }
}

/// Redacts the password of every URL in `text` (a run of non-blank,
/// non-quote characters around `://`), leaving the rest as it is.
fn scrub_urls(text: &str) -> String {
    let is_end = |c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '<' | '>');
    let is_scheme = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        let start = rest[..sep]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_scheme(c))
            .last()
            .map_or(sep, |(i, _)| i);
        let end = rest[sep + 3..]
            .find(is_end)
            .map_or(rest.len(), |i| sep + 3 + i);
        out.push_str(&rest[..start]);
        out.push_str(&crate::config::redact_str(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
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

    fn secrets_of(urls: &[&str]) -> Secrets {
        let mut secrets = Secrets::default();
        for url in urls {
            secrets.add_url(url);
        }
        secrets
    }

    #[test]
    fn short_passwords_do_not_garble_messages() {
        let secrets = secrets_of(&["postgres://u:e@db/app"]);
        assert_eq!(
            secrets.scrub("could not connect to postgres://u:e@db/app: connection refused"),
            "could not connect to postgres://u:***@db/app: connection refused"
        );
    }

    #[test]
    fn password_equal_to_user_or_scheme_only_hides_the_password() {
        let secrets = secrets_of(&["postgres://postgres:postgres@db/app"]);
        assert_eq!(
            secrets.scrub("could not connect to postgres://postgres:postgres@db/app (postgres)"),
            "could not connect to postgres://postgres:***@db/app (postgres)"
        );
    }

    #[test]
    fn every_url_in_a_message_is_scrubbed() {
        // No known password at all: URLs from alembic.toml or a driver's
        // message are still redacted.
        let secrets = Secrets::default();
        assert_eq!(
            secrets.scrub(
                "a `mysql+pymysql://root:pw@h:3306/x` and postgres://u:p@h/db?sslmode=disable, \"sqlite://app.db\""
            ),
            "a `mysql+pymysql://root:***@h:3306/x` and postgres://u:***@h/db?sslmode=disable, \"sqlite://app.db\""
        );
        assert_eq!(secrets.scrub("no url here: a://b"), "no url here: a://b");
        assert_eq!(
            secrets.scrub("x postgres://u:p@h/db?password=zz y"),
            "x postgres://u:***@h/db?password=*** y"
        );
    }

    #[test]
    fn long_passwords_are_removed_outside_urls_too() {
        let secrets = secrets_of(&["postgres://u:Tr0ub4dor&3@db/app"]);
        assert_eq!(
            secrets.scrub("the server said: bad password Tr0ub4dor&3"),
            "the server said: bad password ***"
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
