//! A guard against spending Discord's daily IDENTIFY budget. Every gateway connection of a new
//! process IDENTIFYs; Discord allows 1,000 a day per bot and resets the token when they are spent
//! (Gateway › Session start limit). A bot restarted in a crash loop by a supervisor (e.g.
//! `restart: unless-stopped`) would spend them in under a day, so starts are recorded in the
//! bot's database and a fast series of them waits before connecting.

use std::time::Duration;

/// IDENTIFY calls Discord allows per bot per 24 hours.
pub const IDENTIFY_PER_DAY: usize = 1_000;
/// Starts kept free for an operator: past `IDENTIFY_PER_DAY - RESERVE` in a day, the bot waits
/// until the oldest of them is a day old.
pub const RESERVE: usize = 100;
/// Starts within `BURST_WINDOW` that need no pause (a deploy, a manual restart or two).
pub const FREE_BURST: usize = 3;
/// The window of a restart series.
pub const BURST_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Longest pause in a restart series.
pub const MAX_PAUSE: Duration = Duration::from_secs(5 * 60);

const DAY_MS: i64 = 86_400_000;

/// How long to wait before connecting, given the starts of the last 24 hours (Unix ms, this one
/// included) and the time now: nothing for a few starts, then 10 s doubling per further start
/// within ten minutes (at most five minutes), and past the reserve until a day has passed
/// since the oldest start.
pub fn pause_before_identify(starts: &[i64], now_ms: i64) -> Duration {
    let today: Vec<i64> = starts
        .iter()
        .copied()
        .filter(|&t| t > now_ms - DAY_MS && t <= now_ms)
        .collect();
    if today.len() >= IDENTIFY_PER_DAY - RESERVE {
        let oldest = today.iter().copied().min().unwrap_or(now_ms);
        return Duration::from_millis(u64::try_from(oldest + DAY_MS - now_ms).unwrap_or(0));
    }
    let window_ms = BURST_WINDOW.as_millis() as i64;
    let recent = today.iter().filter(|&&t| t > now_ms - window_ms).count();
    if recent <= FREE_BURST {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(recent - FREE_BURST - 1)
        .unwrap_or(u32::MAX)
        .min(16);
    Duration::from_secs(10)
        .saturating_mul(1 << doublings)
        .min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn starts(ago_secs: &[i64]) -> Vec<i64> {
        ago_secs.iter().map(|s| NOW - s * 1000).collect()
    }

    #[test]
    fn a_few_restarts_connect_at_once() {
        assert_eq!(pause_before_identify(&starts(&[0]), NOW), Duration::ZERO);
        assert_eq!(
            pause_before_identify(&starts(&[0, 30, 60]), NOW),
            Duration::ZERO
        );
        // Old starts do not count towards a series.
        let spread = starts(&[0, 700, 1400, 2100, 2800]);
        assert_eq!(pause_before_identify(&spread, NOW), Duration::ZERO);
    }

    #[test]
    fn a_crash_loop_backs_off_up_to_five_minutes() {
        let series = |n: i64| starts(&(0..n).map(|i| i * 5).collect::<Vec<_>>());
        assert_eq!(
            pause_before_identify(&series(4), NOW),
            Duration::from_secs(10)
        );
        assert_eq!(
            pause_before_identify(&series(5), NOW),
            Duration::from_secs(20)
        );
        assert_eq!(
            pause_before_identify(&series(7), NOW),
            Duration::from_secs(80)
        );
        assert_eq!(pause_before_identify(&series(40), NOW), MAX_PAUSE);
    }

    #[test]
    fn near_the_daily_limit_it_waits_for_the_oldest_start_to_age_out() {
        // 900 starts spread over the last 20 hours, the oldest 20 h ago: wait 4 h.
        let day: Vec<i64> = (0..900)
            .map(|i| NOW - 20 * 3_600_000 + i * 80_000)
            .collect();
        assert_eq!(
            pause_before_identify(&day, NOW),
            Duration::from_secs(4 * 3600)
        );
        // One fewer: within the day's budget; only the restart series counts (seven starts in the
        // last ten minutes at this pace: 10 s doubled three times).
        assert_eq!(
            pause_before_identify(&day[1..], NOW),
            Duration::from_secs(80)
        );
    }
}
