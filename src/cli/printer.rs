//! The only place that writes to stdout and stderr (style rule 4). Commands
//! hand it finished text; it decides what `-q` hides and how errors look.
//!
//! - results (listings, scripts) go to stdout and are never hidden;
//! - informational lines (`Generating … done`) go to stdout, as in Alembic,
//!   unless `-q`;
//! - errors go to stderr as `error: <message>` plus `hint: <line>` when the
//!   error knows what to run next;
//! - clap's own usage and help text is printed by clap, from here;
//! - run progress goes to stderr through [`ProgressPrinter`], one line per
//!   revision: `Running upgrade a1 -> b2, message` written when the
//!   revision starts and completed with ` (12 ms)` when it is done (or
//!   ` FAILED`, ` interrupted` (Ctrl-C), or ` (done by another process)`),
//!   unless `-q`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::runner::online::{Event, Observer};

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

    /// Writes a note to stderr (`warning: …`), even with `-q`; on a line
    /// of its own when a progress line is open (Ctrl-C's note comes from
    /// another thread, mid-revision).
    pub fn warn(&self, line: &str) {
        let mut err = io::stderr().lock();
        if LINE_OPEN.swap(false, Ordering::SeqCst) {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "warning: {line}");
    }

    /// The observer that prints a run's progress.
    pub fn progress(&self) -> ProgressPrinter {
        ProgressPrinter {
            quiet: self.quiet,
            open: false,
            line: String::new(),
            data: DataProgress::default(),
        }
    }

    /// Writes a failure to stderr: `error: <message>`, then `hint: <line>`
    /// for each hint line. Write failures are ignored: there is nowhere left
    /// to report them.
    pub fn error(message: &str, hint: Option<&str>) {
        let mut err = io::stderr().lock();
        if LINE_OPEN.swap(false, Ordering::SeqCst) {
            let _ = writeln!(err);
        }
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

/// Whether stderr ends in a progress line still waiting for its ending
/// (set under stderr's lock), so that a warning or error printed meanwhile
/// starts on a line of its own.
static LINE_OPEN: AtomicBool = AtomicBool::new(false);

/// Prints run progress to stderr: one line per revision, completed with
/// its duration.
#[derive(Debug)]
pub struct ProgressPrinter {
    quiet: bool,
    /// Whether a started line waits for its ending.
    open: bool,
    /// The open line's text so far (written again after a warning broke
    /// it).
    line: String,
    /// DATA LANE: the bar or the log-line pacing of a data step.
    data: DataProgress,
}

/// How a data step's progress is shown: an indicatif bar on a terminal,
/// else a log line every [`LOG_EVERY`] batches or [`LOG_INTERVAL`].
#[derive(Debug, Default)]
struct DataProgress {
    bar: Option<indicatif::ProgressBar>,
    last_line: Option<std::time::Instant>,
    batches_since: u64,
}

/// Batches between two log lines (when stderr is not a terminal).
const LOG_EVERY: u64 = 10;
/// Or at least this often.
const LOG_INTERVAL: Duration = Duration::from_secs(2);

impl ProgressPrinter {
    fn write(&mut self, text: &str, newline: bool) {
        if self.quiet {
            return;
        }
        let mut err = io::stderr().lock();
        if !self.open {
            self.line.clear();
        } else if !LINE_OPEN.load(Ordering::SeqCst) {
            // A warning ended the line: start it again.
            let _ = write!(err, "{}", self.line);
        }
        let _ = if newline {
            writeln!(err, "{text}")
        } else {
            write!(err, "{text}")
        };
        let _ = err.flush();
        self.open = !newline;
        if self.open {
            self.line.push_str(text);
        }
        LINE_OPEN.store(self.open, Ordering::SeqCst);
    }

    /// Ends a revision's line with `word` (` FAILED`); after a data
    /// revision's own lines, on an indented line of its own (`  FAILED`),
    /// as `  done` is.
    fn end_line(&mut self, word: &str) {
        let indent = if self.open { " " } else { "  " };
        self.write(&format!("{indent}{word}"), true);
    }

    /// Ends an open line (before an error is printed).
    pub fn finish(&mut self) {
        if self.open && LINE_OPEN.load(Ordering::SeqCst) {
            self.write("", true);
        }
        self.open = false;
    }
}

impl Drop for ProgressPrinter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// ` (12 ms)`, ` (1.25 s)` from one second on.
pub fn duration_text(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!(" ({ms} ms)")
    } else {
        format!(" ({:.2} s)", duration.as_secs_f64())
    }
}

impl Observer for ProgressPrinter {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::StepStarted {
                line, resume_at, ..
            } => {
                self.finish();
                let resume = resume_at
                    .map(|i| format!(" (resuming at statement {})", i + 1))
                    .unwrap_or_default();
                self.write(&format!("{line}{resume}"), false);
            }
            Event::StepFinished { duration, .. } => {
                if !self.open {
                    self.write("  done", false);
                }
                self.write(&duration_text(*duration), true);
            }
            Event::StepFailed { .. } => self.end_line("FAILED"),
            Event::StepInterrupted { .. } => self.end_line("interrupted"),
            Event::StepSkipped { .. } => self.end_line("(done by another process)"),
            Event::Stamped { line } => {
                self.finish();
                self.write(line, true);
            }
            Event::Data(event) => self.data_event(event),
        }
    }
}

impl ProgressPrinter {
    /// DATA LANE: step starts, batches, verify results.
    fn data_event(&mut self, event: &crate::data::DataEvent<'_>) {
        use crate::data::progress::log_line;
        use crate::data::DataEvent;
        use std::io::IsTerminal as _;
        if self.quiet {
            return;
        }
        match event {
            DataEvent::StepStarted {
                label,
                total,
                resumed_at,
                ..
            } => {
                self.finish();
                let resumed = if *resumed_at > 0 {
                    format!(" (resuming after {resumed_at} rows)")
                } else {
                    String::new()
                };
                self.write(&format!("  {label}{resumed}"), true);
                self.data = DataProgress::default();
                if io::stderr().is_terminal() {
                    let bar = match total {
                        Some(t) => indicatif::ProgressBar::new(*t),
                        None => indicatif::ProgressBar::no_length(),
                    };
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "  {bar:30} {pos}/{len} ({percent}%) - {msg}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    // Rate and ETA come from the runner: indicatif's own
                    // would count a resume's rows as done in no time.
                    bar.set_position(*resumed_at);
                    bar.set_message("starting");
                    self.data.bar = Some(bar);
                }
                self.data.last_line = Some(std::time::Instant::now());
            }
            DataEvent::Batch {
                label,
                done,
                total,
                rate,
                ..
            } => {
                if let Some(bar) = &self.data.bar {
                    bar.set_position(*done);
                    bar.set_message(crate::data::progress::rate_eta(*done, *total, *rate));
                    return;
                }
                self.data.batches_since += 1;
                let due = self
                    .data
                    .last_line
                    .is_none_or(|t| t.elapsed() >= LOG_INTERVAL);
                if self.data.batches_since >= LOG_EVERY || due {
                    self.write(
                        &format!("  {}", log_line(label, *done, *total, *rate)),
                        true,
                    );
                    self.data.batches_since = 0;
                    self.data.last_line = Some(std::time::Instant::now());
                }
            }
            DataEvent::StepFinished { label, done } => {
                if let Some(bar) = self.data.bar.take() {
                    bar.finish_and_clear();
                }
                self.write(&format!("  {label}: {done} rows done"), true);
            }
            DataEvent::DryRun { .. } => {}
            DataEvent::Verified { name, value, ok } => {
                let mark = if *ok { "ok" } else { "FAILED" };
                self.write(&format!("  verify {name}: {value} {mark}"), true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_text(Duration::from_micros(12_400)), " (12 ms)");
        assert_eq!(duration_text(Duration::from_millis(1250)), " (1.25 s)");
    }
}
