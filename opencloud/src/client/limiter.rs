//! Client-side budgets per universe and operation class, so the bot stays under Roblox's
//! documented budgets (<https://create.roblox.com/docs/cloud/guides/data-stores/throttling>)
//! instead of running into 429s.
//!
//! A token bucket with reservations: each call takes a token, going negative when the bucket is
//! empty, and sleeps until its token would have been refilled. Waiting is reported as the
//! `opencloud_budget_wait_seconds` histogram and `opencloud_budget_waits_total` counter.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// What a call spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// Data-store reads and listings, user look-ups.
    Read,
    /// Data-store writes (set, increment, delete).
    Write,
    /// Messaging publishes.
    Publish,
    /// Luau Execution tasks (their quotas are per API key owner, not per universe: no default
    /// budget here).
    LuauExecution,
}

impl OpClass {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            OpClass::Read => "read",
            OpClass::Write => "write",
            OpClass::Publish => "publish",
            OpClass::LuauExecution => "luau_execution",
        }
    }
}

/// A budget: requests per minute and how many may go at once after idling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Sustained requests per minute (> 0).
    pub per_minute: f64,
    /// Bucket size.
    pub burst: f64,
}

/// Budgets per class; a class without one is unlimited.
#[derive(Clone, Debug, PartialEq)]
pub struct LimiterConfig {
    /// Budgets.
    pub rates: HashMap<OpClass, Rate>,
}

/// Publishes a minute that keep one topic under MessagingService's per-topic receive limit,
/// (40 + 80 × servers) receipts a minute, when `servers` game servers subscribe to it: every
/// publish is received once per server, so the topic carries (40 + 80 × servers) / servers
/// publishes a minute — 120 with one server, 100 with two, never below 80
/// (<https://create.roblox.com/docs/cloud/guides/usage-messaging#limits>, shared by Open Cloud
/// and game servers).
pub fn topic_publishes_per_minute(servers: u32) -> f64 {
    let n = f64::from(servers.max(1));
    (40.0 + 80.0 * n) / n
}

/// The default publish budget: 80 a minute (the per-topic limit's floor, whatever the number of
/// servers) with a burst of 4, so that no minute carries more than 84 publishes, within the
/// limit for up to ten servers. [`LimiterConfig::for_game_servers`] paces for a known count.
const DEFAULT_PUBLISH: Rate = Rate {
    per_minute: 80.0,
    burst: 4.0,
};

impl Default for LimiterConfig {
    /// Roblox's budgets for an experience with no players, with headroom for game servers:
    /// reads and writes 300/min, publishes 80/min (the per-topic receive limit's floor; see
    /// [`topic_publishes_per_minute`]).
    fn default() -> Self {
        Self {
            rates: HashMap::from([
                (
                    OpClass::Read,
                    Rate {
                        per_minute: 300.0,
                        burst: 10.0,
                    },
                ),
                (
                    OpClass::Write,
                    Rate {
                        per_minute: 300.0,
                        burst: 10.0,
                    },
                ),
                (OpClass::Publish, DEFAULT_PUBLISH),
            ]),
        }
    }
}

impl LimiterConfig {
    /// No client-side limits.
    pub fn unlimited() -> Self {
        Self {
            rates: HashMap::new(),
        }
    }

    /// Paces publishes for `servers` game servers subscribed to the topic
    /// ([`topic_publishes_per_minute`]), with a burst of one.
    pub fn for_game_servers(mut self, servers: u32) -> Self {
        self.rates.insert(
            OpClass::Publish,
            Rate {
                per_minute: topic_publishes_per_minute(servers) - 1.0,
                burst: 1.0,
            },
        );
        self
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The limiter shared by every clone of a client.
pub struct Limiter {
    config: LimiterConfig,
    buckets: Mutex<HashMap<(u64, OpClass), Bucket>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("config", &self.config)
            .finish()
    }
}

impl Limiter {
    /// A limiter with full buckets.
    pub fn new(config: LimiterConfig) -> Self {
        Self {
            config,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves a token and returns how long the caller must wait before using it.
    pub fn reserve(&self, universe_id: u64, class: OpClass) -> Duration {
        let Some(rate) = self.config.rates.get(&class).copied() else {
            return Duration::ZERO;
        };
        let per_second = (rate.per_minute / 60.0).max(f64::MIN_POSITIVE);
        let burst = rate.burst.max(1.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry((universe_id, class)).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / per_second)
        }
    }

    /// Waits for budget, recording the wait in metrics.
    pub async fn acquire(&self, universe_id: u64, class: OpClass) {
        let wait = self.reserve(universe_id, class);
        metrics::histogram!("opencloud_budget_wait_seconds", "class" => class.label())
            .record(wait.as_secs_f64());
        if !wait.is_zero() {
            metrics::counter!("opencloud_budget_waits_total", "class" => class.label())
                .increment(1);
            tracing::debug!(
                class = class.label(),
                wait_ms = wait.as_millis() as u64,
                "waiting for Open Cloud budget"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: f64, burst: f64) -> Limiter {
        Limiter::new(LimiterConfig {
            rates: HashMap::from([(OpClass::Write, Rate { per_minute, burst })]),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let l = limiter(60.0, 3.0); // one per second
        for _ in 0..3 {
            assert_eq!(l.reserve(1, OpClass::Write), Duration::ZERO);
        }
        // Reservations queue: the 4th waits 1 s, the 5th 2 s.
        assert_eq!(l.reserve(1, OpClass::Write).as_millis(), 1000);
        assert_eq!(l.reserve(1, OpClass::Write).as_millis(), 2000);
        // Other universes and classes are independent; unlimited classes never wait.
        assert_eq!(l.reserve(2, OpClass::Write), Duration::ZERO);
        assert_eq!(l.reserve(1, OpClass::Read), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            l.reserve(1, OpClass::Write),
            Duration::ZERO,
            "refilled after idling"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_spaces_calls_at_the_rate() {
        let l = limiter(120.0, 1.0); // one per 500 ms
        let start = Instant::now();
        for _ in 0..5 {
            l.acquire(7, OpClass::Write).await;
        }
        assert_eq!(start.elapsed().as_millis(), 2000);
    }

    #[test]
    fn publishes_stay_under_the_per_topic_receive_limit() {
        // Per topic: (40 + 80 × servers) receipts a minute, one receipt per server and publish.
        assert_eq!(topic_publishes_per_minute(1), 120.0);
        assert_eq!(topic_publishes_per_minute(2), 100.0);
        assert_eq!(topic_publishes_per_minute(0), 120.0);
        assert!(topic_publishes_per_minute(1_000) > 80.0);
        // The default never lets more than burst + rate publishes into one minute: within the
        // limit for 1 to 10 servers.
        let rate = LimiterConfig::default().rates[&OpClass::Publish];
        let most_in_a_minute = rate.burst + rate.per_minute;
        for servers in 1..=10 {
            let receipts = most_in_a_minute * f64::from(servers);
            assert!(receipts <= 40.0 + 80.0 * f64::from(servers), "{servers}");
        }
        // Paced for a known count: burst + rate = the limit exactly.
        let two = LimiterConfig::default().for_game_servers(2).rates[&OpClass::Publish];
        assert_eq!(two.burst + two.per_minute, 100.0);
    }
}
