//! The checkpoint of a data revision (its `_versions.progress` JSON) and
//! the progress events the runner reports.
//!
//! The JSON keeps the statement journal's two keys (`direction`,
//! `statement`) so that the planner and `store::Progress` read a data row
//! like any unfinished row (`statement` is the 0-based data step), and
//! adds `"kind": "data"` plus the batch position. A journal row never has
//! `kind`, so the two cannot be mistaken for each other:
//!
//! ```json
//! {"direction":"upgrade","statement":1,"kind":"data","step":1,"steps":3,
//!  "label":"normalize_emails","last_key":20000,"rows_done":20000,
//!  "total":50000,"rate":98050.0,"updated_at":"2026-…Z"}
//! ```

use serde::{Deserialize, Serialize};

/// Where a data revision stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `upgrade` or `downgrade`.
    pub direction: String,
    /// Same as `step` (read by the statement-journal code).
    pub statement: usize,
    /// Always `data`.
    pub kind: String,
    /// 0-based step being run; `steps` means "verify".
    pub step: usize,
    /// Number of steps.
    pub steps: usize,
    /// Label of the step.
    #[serde(default)]
    pub label: String,
    /// Last key of the last committed batch (`null`: none yet).
    #[serde(default)]
    pub last_key: Option<serde_json::Value>,
    /// Rows done in this step.
    #[serde(default)]
    pub rows_done: u64,
    /// Rows the step will touch, counted when it started.
    #[serde(default)]
    pub total: Option<u64>,
    /// Rows per second of this run.
    #[serde(default)]
    pub rate: Option<f64>,
    /// When the checkpoint was written (UTC, RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// A `load` step: SHA-256 (hex) of the fixture's columns and of the
    /// rows loaded so far (`fixture::LoadedDigest`). A resumed load
    /// refuses a file whose first `rows_done` rows differ (positions may
    /// have moved); rows after them may change. Absent in checkpoints
    /// written before it existed, which resume as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_sha256: Option<String>,
}

impl Checkpoint {
    /// The start of step `step`.
    pub fn start(direction: &str, step: usize, steps: usize, label: &str) -> Checkpoint {
        Checkpoint {
            direction: direction.to_string(),
            statement: step,
            kind: "data".to_string(),
            step,
            steps,
            label: label.to_string(),
            last_key: None,
            rows_done: 0,
            total: None,
            rate: None,
            updated_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            loaded_sha256: None,
        }
    }

    /// Reads a data checkpoint; `None` for a statement-journal row or
    /// anything else.
    pub fn from_json(text: &str) -> Option<Checkpoint> {
        let c: Checkpoint = serde_json::from_str(text).ok()?;
        (c.kind == "data").then_some(c)
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// `step 2/3 normalize_emails: 20000/50000 (40.0%) - 98050 rows/s`.
    pub fn describe(&self) -> String {
        if self.step >= self.steps {
            return format!("verifying ({} steps done)", self.steps);
        }
        let mut text = format!(
            "step {}/{} {}: {}",
            self.step + 1,
            self.steps,
            self.label,
            counts(self.rows_done, self.total)
        );
        if let Some(rate) = self.rate {
            text.push_str(&format!(" - {rate:.0} rows/s"));
        }
        if let Some(at) = &self.updated_at {
            text.push_str(&format!(" (checkpoint {at})"));
        }
        text
    }
}

/// `20000/50000 (40.0%)`, or `20000 rows` without a total.
pub fn counts(done: u64, total: Option<u64>) -> String {
    match total {
        Some(0) => format!("{done}/0 (100.0%)"),
        Some(t) => format!("{done}/{t} ({:.1}%)", done as f64 * 100.0 / t as f64),
        None => format!("{done} rows"),
    }
}

/// `0:01:05`.
pub fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// What a data revision reports while it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataEvent<'a> {
    /// A step starts (or resumes).
    StepStarted {
        /// Revision id.
        revision: &'a str,
        /// Step label.
        label: &'a str,
        /// 0-based step.
        step: usize,
        /// Rows to do (for the step as a whole).
        total: Option<u64>,
        /// Rows already done before this run (a resume).
        resumed_at: u64,
    },
    /// A batch committed.
    Batch {
        /// Step label.
        label: &'a str,
        /// Rows done in the step.
        done: u64,
        /// Rows to do.
        total: Option<u64>,
        /// Rows per second in this run.
        rate: f64,
        /// Batches committed in this run.
        batches: u64,
    },
    /// A step finished.
    StepFinished {
        /// Step label.
        label: &'a str,
        /// Rows done.
        done: u64,
    },
    /// `--dry-run`: what a step would touch.
    DryRun {
        /// Revision id.
        revision: &'a str,
        /// Step label.
        label: &'a str,
        /// Rows (None: not countable, e.g. plain SQL).
        rows: Option<u64>,
        /// A note (why not countable, the SQL run once).
        note: String,
    },
    /// A verify check ran.
    Verified {
        /// Check name.
        name: &'a str,
        /// What it returned.
        value: String,
        /// Whether it matched.
        ok: bool,
    },
}

impl Eq for DataEvent<'_> {}

/// One line for logs: `normalize_emails: 20000/50000 (40.0%) - 98050 rows/s - ETA 0:00:01`.
pub fn log_line(label: &str, done: u64, total: Option<u64>, rate: f64) -> String {
    format!(
        "{label}: {} - {}",
        counts(done, total),
        rate_eta(done, total, rate)
    )
}

/// `98050 rows/s - ETA 0:00:01` (no ETA without a total or a rate): the
/// rate of this run, not counting rows a resumed run found done.
pub fn rate_eta(done: u64, total: Option<u64>, rate: f64) -> String {
    let mut text = format!("{rate:.0} rows/s");
    if let Some(t) = total {
        if rate > 0.0 {
            text.push_str(&format!(
                " - ETA {}",
                hms(t.saturating_sub(done) as f64 / rate)
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_json_is_read_by_the_journal_too() {
        let mut c = Checkpoint::start("upgrade", 1, 3, "normalize");
        c.last_key = Some(serde_json::json!(20000));
        let text = c.to_json();
        assert_eq!(Checkpoint::from_json(&text), Some(c));
        let journal = crate::store::Progress::from_json(&text).unwrap();
        assert_eq!(journal.statement, 1);
        assert_eq!(
            Checkpoint::from_json("{\"direction\":\"upgrade\",\"statement\":2}"),
            None
        );
    }

    /// A load step's fixture digest is written only when there is one, and
    /// a checkpoint written before the field existed still reads.
    #[test]
    fn fixture_digest_is_optional() {
        let mut c = Checkpoint::start("upgrade", 0, 1, "load");
        assert!(!c.to_json().contains("loaded_sha256"));
        c.loaded_sha256 = Some("ab".repeat(32));
        let text = c.to_json();
        assert!(text.contains(&format!("\"loaded_sha256\":\"{}\"", "ab".repeat(32))));
        assert_eq!(Checkpoint::from_json(&text), Some(c));
        let old = r#"{"direction":"upgrade","statement":0,"kind":"data","step":0,"steps":1,
            "label":"load","last_key":20,"rows_done":20,"total":30}"#;
        let old = Checkpoint::from_json(old).expect("an old checkpoint reads");
        assert_eq!((old.rows_done, old.loaded_sha256), (20, None));
    }

    #[test]
    fn log_lines() {
        assert_eq!(
            log_line("normalize_emails", 20000, Some(50000), 98050.0),
            "normalize_emails: 20000/50000 (40.0%) - 98050 rows/s - ETA 0:00:00"
        );
        assert_eq!(hms(3725.0), "1:02:05");
    }
}
