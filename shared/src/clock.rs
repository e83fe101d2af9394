//! Time, injectable: the one clock abstraction every component runs on, so signed timestamps,
//! expiry windows, emulated budgets and waits are deterministic in tests.
//!
//! - [`SystemClock`]: the machine's wall clock, waits with tokio.
//! - [`ManualClock`]: moves only when told (or when something sleeps on it: the sleep moves it).
//! - [`TokioClock`]: follows tokio's pausable time from a fixed Unix start.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wait handed out by [`Clock::sleep`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the current time and of waiting.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
    /// Waits `d` as this clock counts time.
    fn sleep(&self, d: Duration) -> Sleep<'_>;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        (**self).sleep(d)
    }
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now_ms())
    }
}

/// `d` in whole milliseconds, saturating far beyond any wait this project makes.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
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

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(d))
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

    /// Virtual time: the wait is over at once, the clock having moved by `d`; the task yields
    /// once so work it spawned gets to run.
    fn sleep(&self, d: Duration) -> Sleep<'_> {
        self.advance(millis(d));
        Box::pin(YieldOnce(false))
    }
}

/// Pending once (waking itself), then ready: lets other tasks of the runtime run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A clock that follows tokio's (pausable) time from a fixed Unix start, so `tokio::time::pause`
/// and `advance` move it too. Must be created inside a tokio runtime.
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
        self.start_ms + millis(elapsed)
    }

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(d))
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

    #[tokio::test]
    async fn manual_clock_sleep_moves_it_at_once() {
        let clock = ManualClock::shared(1_000);
        let dynamic: Arc<dyn Clock> = clock.clone();
        dynamic.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now_ms(), 91_000);
    }

    #[tokio::test]
    async fn system_clock_is_after_2024_and_sleeps() {
        let before = SystemClock.now_ms();
        assert!(before > 1_704_067_200_000);
        SystemClock.sleep(Duration::from_millis(5)).await;
        assert!(SystemClock.now_ms() >= before + 5);
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new(10_000);
        assert_eq!(clock.now_ms(), 10_000);
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(clock.now_ms(), 11_500);
        clock.sleep(Duration::from_millis(500)).await;
        assert_eq!(clock.now_ms(), 12_000);
    }
}
