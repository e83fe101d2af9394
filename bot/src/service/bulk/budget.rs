//! The pace of a bulk payout: a client-side budget of DataStore writes per minute that leaves a
//! configured share of the experience's budget to its game servers, and a pause when the
//! platform answers 429 with `Retry-After`.
//!
//! Roblox counts DataStore writes per experience: `300 + 20 × CCU` per minute (docs/platform.md,
//! "DataStore budgets"), and game servers and Open Cloud draw on the same budget. A payout item
//! costs at most one write of the player's wallet (the bot's compare-and-swap when nobody holds
//! the session; the holder's save when a game server applies it), so items are started at the
//! write rate the bot may use: `(300 + 20 × CCU) × (1 − reserved share)`.

use super::super::ports::{
    BoxFut, Clock, Messaging, PortError, WalletEntry, WalletStore, WalletWrite, WriteError,
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The experience-wide DataStore write budget's floor per minute.
pub const WRITES_PER_MINUTE_BASE: u64 = 300;
/// What each concurrent player adds to it per minute.
pub const WRITES_PER_MINUTE_PER_PLAYER: u64 = 20;

/// Settings of bulk payouts (`BULK_*` in the environment, see `.env.sample`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkConfig {
    /// Percent of the experience's write budget kept for the game servers (0-95).
    pub reserved_percent: u8,
    /// Concurrent players the budget is computed for. Open Cloud does not tell the bot the
    /// experience's CCU, so this is what the operator vouches for; 0 (the budget's floor) is
    /// always safe, a figure above the real CCU eats into the game servers' share.
    pub assumed_ccu: u64,
    /// Most players in one batch.
    pub max_items: usize,
    /// Most items delivered at once (an online player's item waits for the game server). An
    /// envelope carries at most this many players.
    pub concurrency: usize,
    /// Whether online players' publishes are packed into batch envelopes (docs/protocol.md
    /// §3.1). Off: one message per player, as before envelopes.
    pub envelopes: bool,
}

impl Default for BulkConfig {
    fn default() -> Self {
        Self {
            reserved_percent: 50,
            assumed_ccu: 0,
            max_items: 10_000,
            concurrency: 64,
            envelopes: true,
        }
    }
}

impl BulkConfig {
    /// The experience's whole write budget per minute at the assumed CCU.
    pub fn experience_writes_per_minute(&self) -> f64 {
        let ccu = self
            .assumed_ccu
            .saturating_mul(WRITES_PER_MINUTE_PER_PLAYER);
        WRITES_PER_MINUTE_BASE.saturating_add(ccu) as f64
    }

    /// The writes per minute a batch may spend: the budget less the game servers' share.
    pub fn batch_writes_per_minute(&self) -> f64 {
        let share = 1.0 - f64::from(self.reserved_percent.min(95)) / 100.0;
        self.experience_writes_per_minute() * share
    }
}

struct State {
    /// Tokens in the bucket (negative: reserved ahead).
    tokens: f64,
    /// When `tokens` was last brought up to date (the clock's Unix ms).
    updated_ms: i64,
    /// No item starts before this (a 429's `Retry-After`).
    paused_until_ms: i64,
}

/// A token bucket of item starts per minute on the service clock, shared by every batch of one
/// service, with a pause after a 429.
pub struct WriteBudget {
    per_ms: f64,
    burst: f64,
    state: Mutex<State>,
}

impl std::fmt::Debug for WriteBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBudget")
            .field("per_minute", &(self.per_ms * 60_000.0))
            .finish()
    }
}

impl WriteBudget {
    /// A budget of `per_minute` starts. It starts empty, so a payout never starts faster than
    /// the rate over any stretch from its first item; after an idle spell it holds at most one
    /// second's worth (at least one start), the most it can run ahead of the rate.
    pub fn new(per_minute: f64, now_ms: i64) -> Self {
        let per_ms = (per_minute / 60_000.0).max(f64::MIN_POSITIVE);
        let burst = (per_minute / 60.0).max(1.0);
        Self {
            per_ms,
            burst,
            state: Mutex::new(State {
                tokens: 0.0,
                updated_ms: now_ms,
                paused_until_ms: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain numbers, whole after every update: a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is used as is.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rate it enforces, per minute.
    pub fn per_minute(&self) -> f64 {
        self.per_ms * 60_000.0
    }

    /// Takes one start and answers how long to wait before using it (0 when due now).
    pub fn reserve(&self, now_ms: i64) -> Duration {
        let mut s = self.state();
        let elapsed = (now_ms - s.updated_ms).max(0) as f64;
        s.tokens = (s.tokens + elapsed * self.per_ms).min(self.burst);
        s.updated_ms = now_ms;
        s.tokens -= 1.0;
        let refill = if s.tokens >= 0.0 {
            0
        } else {
            (-s.tokens / self.per_ms).ceil() as i64
        };
        let wait = refill.max(s.paused_until_ms - now_ms).max(0);
        Duration::from_millis(wait.unsigned_abs())
    }

    /// Waits for one start on `clock`.
    pub async fn acquire(&self, clock: &dyn Clock) {
        let wait = self.reserve(clock.now_ms());
        if !wait.is_zero() {
            clock.sleep(wait).await;
        }
    }

    /// The platform answered 429 asking for `retry_after_ms`: no item starts before then.
    pub fn pause_for(&self, retry_after_ms: u64, now_ms: i64) {
        let until = now_ms.saturating_add(i64::try_from(retry_after_ms).unwrap_or(i64::MAX / 4));
        let mut s = self.state();
        if until > s.paused_until_ms {
            tracing::warn!(retry_after_ms, "Open Cloud throttled: bulk payouts pause");
            s.paused_until_ms = until;
        }
    }

    fn note(&self, e: &PortError, clock: &dyn Clock) {
        if let Some(ms) = e.retry_after_ms {
            self.pause_for(ms, clock.now_ms());
        }
    }
}

/// The wallet store and messaging ports as the service uses them, telling the budget of every
/// 429 that carried `Retry-After` (the call itself fails as before; delivery retries it).
pub(crate) struct ThrottleWatch<P: ?Sized> {
    pub(crate) inner: Arc<P>,
    pub(crate) budget: Arc<WriteBudget>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl WalletStore for ThrottleWatch<dyn WalletStore> {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        Box::pin(async move {
            let r = self.inner.read(user_id).await;
            if let Err(e) = &r {
                self.budget.note(e, self.clock.as_ref());
            }
            r
        })
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            let r = self.inner.write(write).await;
            if let Err(WriteError::Port(e)) = &r {
                self.budget.note(e, self.clock.as_ref());
            }
            r
        })
    }
}

impl Messaging for ThrottleWatch<dyn Messaging> {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            let r = self.inner.publish(topic, message).await;
            if let Err(e) = &r {
                self.budget.note(e, self.clock.as_ref());
            }
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_gets_the_budget_less_the_reserved_share() {
        let c = BulkConfig {
            reserved_percent: 50,
            assumed_ccu: 1_000,
            ..BulkConfig::default()
        };
        assert_eq!(c.experience_writes_per_minute(), 20_300.0);
        assert_eq!(c.batch_writes_per_minute(), 10_150.0);
        let floor = BulkConfig::default();
        assert_eq!(floor.batch_writes_per_minute(), 150.0);
    }

    #[test]
    fn starts_are_spaced_at_the_rate_and_only_an_idle_second_allows_a_burst() {
        // 120 per minute, starting empty: one every 500 ms.
        let b = WriteBudget::new(120.0, 0);
        assert_eq!(b.reserve(0), Duration::from_millis(500));
        assert_eq!(b.reserve(0), Duration::from_millis(1_000));
        // After idling, at most one second's worth (2) goes at once.
        let b = WriteBudget::new(120.0, 0);
        assert_eq!(b.reserve(10_000), Duration::ZERO);
        assert_eq!(b.reserve(10_000), Duration::ZERO);
        assert_eq!(b.reserve(10_000), Duration::from_millis(500));
        // Over the first minute of steady use no more than the rate start.
        let b = WriteBudget::new(120.0, 0);
        let mut now = 0;
        let mut started = 0;
        while now < 60_000 {
            let wait = b.reserve(now);
            now += i64::try_from(wait.as_millis()).unwrap();
            if now < 60_000 {
                started += 1;
            }
        }
        assert!(
            (119..=120).contains(&started),
            "{started} starts in a minute"
        );
    }

    #[test]
    fn a_retry_after_holds_every_start_until_it_passes() {
        let b = WriteBudget::new(6_000.0, -10_000);
        b.pause_for(5_000, 1_000);
        assert_eq!(b.reserve(1_000), Duration::from_millis(5_000));
        assert_eq!(b.reserve(5_999), Duration::from_millis(1));
        assert_eq!(b.reserve(6_000), Duration::ZERO);
        // A shorter pause does not cut a longer one short.
        b.pause_for(10_000, 7_000);
        b.pause_for(1, 7_000);
        assert_eq!(b.reserve(7_000), Duration::from_millis(10_000));
    }
}
