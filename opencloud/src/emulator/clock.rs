//! Injectable time, so emulated timestamps, budgets and message delays are deterministic in tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in Unix milliseconds.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

/// The machine's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; share it with `Arc<ManualClock>`.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        Self {
            now: AtomicI64::new(start_ms),
        }
    }

    /// A shareable clock reading `start_ms`.
    pub fn shared(start_ms: i64) -> Arc<Self> {
        Arc::new(Self::new(start_ms))
    }

    /// Sets the time.
    pub fn set(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `ms` and returns the new time.
    pub fn advance(&self, ms: i64) -> i64 {
        self.now.fetch_add(ms, Ordering::SeqCst) + ms
    }
}

impl Default for ManualClock {
    /// 2026-11-21T00:00:00Z, the project's reference date.
    fn default() -> Self {
        Self::new(1_795_219_200_000)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// A clock that follows tokio's (pausable) time from a fixed Unix start, so `tokio::time::pause`
/// and `advance` move emulated timestamps too. Must be created inside a tokio runtime.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_ms: i64,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start_ms` now and advancing with tokio time.
    pub fn new(start_ms: i64) -> Self {
        Self {
            start_ms,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        let elapsed = tokio::time::Instant::now().duration_since(self.origin);
        self.start_ms + i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::shared(1_000);
        let dynamic: Arc<dyn Clock> = clock.clone();
        assert_eq!(dynamic.now_ms(), 1_000);
        assert_eq!(clock.advance(250), 1_250);
        assert_eq!(dynamic.now_ms(), 1_250);
        clock.set(5);
        assert_eq!(dynamic.now_ms(), 5);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now_ms() > 1_704_067_200_000);
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new(10_000);
        assert_eq!(clock.now_ms(), 10_000);
        tokio::time::advance(std::time::Duration::from_millis(1_500)).await;
        assert_eq!(clock.now_ms(), 11_500);
    }
}
