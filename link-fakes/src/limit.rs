//! A fixed-window request limit per key, on the clock the test controls (never wall time).

use shared::clock::Clock;
use std::sync::Arc;

/// At most `max` requests per `window_ms` per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max: u32,
    /// The window (ms).
    pub window_ms: i64,
}

impl RateLimit {
    /// No practical limit (tests that are not about limits).
    pub const GENEROUS: RateLimit = RateLimit {
        max: u32::MAX,
        window_ms: 60_000,
    };
}

/// The window in use.
#[derive(Debug)]
pub(crate) struct Window {
    limit: RateLimit,
    clock: Arc<dyn Clock>,
    start_ms: i64,
    used: u32,
}

/// A request refused by the limit: how long until the window resets (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) retry_after_ms: i64,
}

impl Window {
    pub(crate) fn new(limit: RateLimit, clock: Arc<dyn Clock>) -> Self {
        let start_ms = clock.now_ms();
        Self {
            limit,
            clock,
            start_ms,
            used: 0,
        }
    }

    /// Counts one request; refused when the window is used up. Returns what remains.
    pub(crate) fn take(&mut self) -> Result<u32, Refused> {
        let now = self.clock.now_ms();
        if now - self.start_ms >= self.limit.window_ms {
            // Windows restart on the window grid, so a paused clock never slides them.
            let windows = (now - self.start_ms) / self.limit.window_ms.max(1);
            self.start_ms += windows * self.limit.window_ms;
            self.used = 0;
        }
        if self.used >= self.limit.max {
            return Err(Refused {
                retry_after_ms: (self.start_ms + self.limit.window_ms - now).max(1),
            });
        }
        self.used += 1;
        Ok(self.limit.max - self.used)
    }

    /// Milliseconds until the current window resets.
    pub(crate) fn reset_after_ms(&self) -> i64 {
        (self.start_ms + self.limit.window_ms - self.clock.now_ms()).max(0)
    }
}

/// Whole seconds, rounded up, as `Retry-After` carries them.
pub(crate) fn whole_seconds(ms: i64) -> String {
    ((ms.max(0) + 999) / 1000).to_string()
}
