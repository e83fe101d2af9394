//! The fake's clock: Unix milliseconds that move only when a test advances them, so Discord's
//! time rules (3 s to acknowledge, 15 minutes per interaction token, rate-limit windows) trip
//! exactly when a test says so and never because a machine was slow.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// 2026-01-01T00:00:00Z: where every fake starts.
pub const START_MS: i64 = 1_767_225_600_000;

/// A manual clock in Unix milliseconds.
#[derive(Debug)]
pub struct FakeClock {
    ms: AtomicI64,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self {
            ms: AtomicI64::new(START_MS),
        }
    }
}

impl FakeClock {
    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

/// An ISO 8601 timestamp (UTC) for a Unix millisecond time, as Discord writes them.
pub fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}000+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(START_MS), "2026-01-01T00:00:00.000000+00:00");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123000+00:00");
    }

    #[test]
    fn the_clock_moves_only_when_advanced() {
        let c = FakeClock::default();
        assert_eq!(c.now_ms(), START_MS);
        c.advance(Duration::from_millis(3001));
        assert_eq!(c.now_ms(), START_MS + 3001);
    }
}
