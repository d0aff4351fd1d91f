//! How many rows the next batch of a batched step takes.
//!
//! A step with `batch_size` (or a run with `--batch-size`) takes that many
//! rows every time. A step without one is sized by time, like
//! pt-online-schema-change's `--chunk-time`: the first batch takes
//! [`FIRST_BATCH`] rows, and each next batch is sized from the rows per
//! second the last one achieved so that it takes about `batch_time_ms`
//! (default [`DEFAULT_BATCH_TIME_MS`]) — at most twice the last size, so a
//! cheap start cannot overshoot, and as small as needed when batches get
//! slow. The time includes the batch's commit, so it bounds how long each
//! transaction holds its locks; and a fast table gets few, large batches
//! instead of paying a durable commit every few thousand rows. Where the
//! commit alone takes most of the target (a slow disk sync), the rows are
//! sized by the work's own rate to fill at least half the target (see
//! [`Sizer::observe`]), so batches never dwindle to single rows.

use std::time::Duration;

use super::model::{Pace, DEFAULT_BATCH_TIME_MS};

/// Rows of the first batch of a step sized by time.
pub const FIRST_BATCH: u64 = 1_000;

/// The size of the next batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizer {
    /// `batch_size`: the same every time.
    Fixed(u64),
    /// Sized by time.
    Timed {
        /// The next batch's rows.
        next: u64,
        /// What a batch aims to take.
        target: Duration,
        /// Never more rows than this (a transform holds its batch in
        /// memory).
        max: u64,
    },
}

impl Sizer {
    /// The sizer of a step: `override_size` (`--batch-size`) wins over the
    /// step's own pace; `max` caps timed batches.
    pub fn new(pace: &Pace, override_size: Option<u64>, max: u64) -> Sizer {
        match override_size.or(pace.batch_size) {
            Some(n) => Sizer::Fixed(n.max(1)),
            None => Sizer::Timed {
                next: FIRST_BATCH.min(max).max(1),
                target: Duration::from_millis(
                    pace.batch_time_ms.unwrap_or(DEFAULT_BATCH_TIME_MS).max(1),
                ),
                max: max.max(1),
            },
        }
    }

    /// Rows the next batch takes.
    pub fn next(&self) -> u64 {
        match self {
            Sizer::Fixed(n) => *n,
            Sizer::Timed { next, .. } => *next,
        }
    }

    /// Learns from a batch of `rows` rows (as many as asked, or fewer at
    /// the end of the table) that took `took`, of which `commit` was its
    /// `COMMIT`.
    ///
    /// The commit costs the same whatever the batch's size (a disk sync on
    /// SQLite, MySQL and PostgreSQL's last batch), so sizing by the whole
    /// time spirals down when the commit alone is near the target: a
    /// 250 ms sync against a 200 ms target made every next batch smaller,
    /// down to one row, while each still took 250 ms. So the rows are sized
    /// by the rate of the work alone (`took - commit`), to fill what the
    /// target leaves after the commit, and never less than half the target:
    /// where the disk is that slow a batch takes the commit plus about
    /// half the target.
    pub fn observe(&mut self, rows: u64, took: Duration, commit: Duration) {
        let Sizer::Timed { next, target, max } = self else {
            return;
        };
        if rows == 0 {
            return;
        }
        let grown = next.saturating_mul(2);
        let work = took.saturating_sub(commit);
        let fitting = if work.is_zero() {
            grown
        } else {
            // The rows whose work fits in the budget at the rate just
            // measured.
            let budget = target.saturating_sub(commit).max(*target / 2);
            let rate = rows as f64 / work.as_secs_f64();
            (rate * budget.as_secs_f64()).min(u64::MAX as f64) as u64
        };
        *next = round2(fitting.min(grown)).clamp(1, *max);
    }
}

/// `n` rounded down to two significant digits (12_345 → 12_000), so that
/// the sizes of a run, each a distinct statement text, stay few.
fn round2(n: u64) -> u64 {
    let mut unit = 1u64;
    while n / unit >= 100 {
        unit *= 10;
    }
    (n / unit) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(target_ms: u64, max: u64) -> Sizer {
        Sizer::new(
            &Pace {
                batch_size: None,
                batch_time_ms: Some(target_ms),
                sleep_ms: 0,
            },
            None,
            max,
        )
    }

    #[test]
    fn a_size_given_is_kept_and_the_flag_wins() {
        let pace = Pace {
            batch_size: Some(300),
            batch_time_ms: None,
            sleep_ms: 0,
        };
        let mut s = Sizer::new(&pace, None, 10);
        s.observe(300, Duration::from_secs(10), Duration::ZERO);
        assert_eq!(s.next(), 300, "batch_size is not capped nor adapted");
        assert_eq!(Sizer::new(&pace, Some(7), 10).next(), 7);
        assert_eq!(Sizer::new(&Pace::default(), Some(0), 10).next(), 1);
    }

    #[test]
    fn fast_batches_double_up_to_the_cap() {
        let mut s = timed(200, 1_000_000);
        assert_eq!(s.next(), FIRST_BATCH);
        let mut sizes = vec![];
        for _ in 0..12 {
            let n = s.next();
            s.observe(n, Duration::from_millis(1), Duration::ZERO);
            sizes.push(s.next());
        }
        assert_eq!(
            &sizes[..4],
            &[2_000, 4_000, 8_000, 16_000],
            "at most twice the last size"
        );
        assert_eq!(*sizes.last().unwrap(), 1_000_000, "capped: {sizes:?}");
    }

    #[test]
    fn sizes_follow_the_measured_rate_to_the_target() {
        let mut s = timed(200, u64::MAX);
        // 10,000 rows/s: 2,000 rows fit in 200 ms.
        s.observe(1_000, Duration::from_millis(100), Duration::ZERO);
        assert_eq!(s.next(), 2_000);
        s.observe(2_000, Duration::from_millis(200), Duration::ZERO);
        assert_eq!(s.next(), 2_000, "on target: stays");
        // The table got slow: 1,000 rows/s.
        s.observe(2_000, Duration::from_secs(2), Duration::ZERO);
        assert_eq!(s.next(), 200);
        // Very slow rows never go below one.
        s.observe(200, Duration::from_secs(3_600), Duration::ZERO);
        assert_eq!(s.next(), 1);
        s.observe(1, Duration::ZERO, Duration::ZERO);
        assert_eq!(s.next(), 2, "no time measured: grows by the cap");
    }

    #[test]
    fn a_slow_commit_does_not_shrink_batches_to_nothing() {
        // The commit alone takes longer than the target: 250 ms of sync,
        // 10 ms of work for 1,000 rows (100,000 rows/s).
        let mut s = timed(200, u64::MAX);
        let mut sizes = vec![];
        for _ in 0..8 {
            let n = s.next();
            let work = Duration::from_micros(n * 10);
            s.observe(
                n,
                work + Duration::from_millis(250),
                Duration::from_millis(250),
            );
            sizes.push(s.next());
        }
        // Half the target of work: 10,000 rows, reached by doubling.
        assert_eq!(
            sizes,
            [2_000, 4_000, 8_000, 10_000, 10_000, 10_000, 10_000, 10_000]
        );
        // A commit of 50 ms leaves 150 ms of the target for the work.
        let mut s = timed(200, u64::MAX);
        s.observe(1_000, Duration::from_millis(60), Duration::from_millis(50));
        s.observe(2_000, Duration::from_millis(70), Duration::from_millis(50));
        s.observe(4_000, Duration::from_millis(90), Duration::from_millis(50));
        assert_eq!(s.next(), 8_000);
        s.observe(8_000, Duration::from_millis(130), Duration::from_millis(50));
        assert_eq!(s.next(), 15_000);
        // The work part alone is what shrinks a batch of slow rows.
        s.observe(
            15_000,
            Duration::from_millis(3_050),
            Duration::from_millis(50),
        );
        assert_eq!(s.next(), 750);
    }

    #[test]
    fn an_empty_batch_teaches_nothing() {
        let mut s = timed(200, 50_000);
        s.observe(0, Duration::from_secs(5), Duration::ZERO);
        assert_eq!(s.next(), FIRST_BATCH);
    }

    #[test]
    fn the_cap_also_bounds_the_first_batch() {
        assert_eq!(timed(200, 10).next(), 10);
    }

    #[test]
    fn rounding_keeps_two_digits() {
        assert_eq!(round2(0), 0);
        assert_eq!(round2(7), 7);
        assert_eq!(round2(99), 99);
        assert_eq!(round2(100), 100);
        assert_eq!(round2(12_345), 12_000);
        assert_eq!(round2(199_999), 190_000);
        assert_eq!(round2(u64::MAX), 18_000_000_000_000_000_000);
    }
}
