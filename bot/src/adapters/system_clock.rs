//! Wall-clock time and tokio sleeps for production.

use crate::service::{BoxFut, Clock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn sleep(&self, d: Duration) -> BoxFut<'_, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}
