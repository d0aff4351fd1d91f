//! The command line: clap definitions, one function per command, and the
//! printer. Commands parse, resolve settings, call one library function and
//! print.

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    0
}
