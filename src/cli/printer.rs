//! The only place that writes to stdout and stderr (style rule 4). Commands
//! hand it finished text; it decides what `-q` hides and how errors look.
//!
//! - results (listings, scripts) go to stdout and are never hidden;
//! - informational lines (`Generating … done`) go to stdout, as in Alembic,
//!   unless `-q`;
//! - errors go to stderr as `error: <message>` plus `hint: <line>` when the
//!   error knows what to run next;
//! - clap's own usage and help text is printed by clap, from here.

use std::io::{self, Write};

/// Writes what people read. Cheap to create; holds only the `-q` switch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    /// A printer; `quiet` hides informational lines.
    pub fn new(quiet: bool) -> Printer {
        Printer { quiet }
    }

    /// Writes a command's result to stdout as is (`text` carries its own
    /// newlines).
    ///
    /// # Errors
    /// The write failing, e.g. a closed pipe (the caller exits quietly then).
    pub fn result(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes an informational line to stdout unless `-q`.
    ///
    /// # Errors
    /// The write failing.
    pub fn info(&self, line: &str) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }

    /// Writes a failure to stderr: `error: <message>`, then `hint: <line>`
    /// for each hint line. Write failures are ignored: there is nowhere left
    /// to report them.
    pub fn error(message: &str, hint: Option<&str>) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "error: {message}");
        if let Some(hint) = hint {
            for line in hint.lines() {
                let _ = writeln!(err, "hint: {line}");
            }
        }
    }

    /// Prints a clap error (usage error, or `--help`/`--version` output)
    /// and returns the exit code clap assigns it (2 for usage errors, 0 for
    /// help and version).
    pub fn clap(err: &clap::Error) -> i32 {
        let _ = err.print();
        err.exit_code()
    }
}
