//! Request budgets (<https://create.roblox.com/docs/cloud/guides/data-stores/throttling>),
//! answered with 429 when spent: requests per universe and class, bytes per entry key (Roblox's
//! per-key throughput: reads 25 MB/min, writes 4 MB/min, each request rounded up to the next KB)
//! and, for legacy v1 calls, bytes per universe (reads 20 MB/min, writes 10 MB/min).
//!
//! Fixed one-minute windows on the emulator's clock. Roblox's exact windowing is undocumented; a
//! fixed window is the simplest model that produces the documented headers.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::store::EntryKey;

/// Roblox's per-key read throughput, bytes per minute.
pub const KEY_READ_BYTES_PER_MINUTE: u64 = 25 * 1024 * 1024;
/// Roblox's per-key write throughput, bytes per minute.
pub const KEY_WRITE_BYTES_PER_MINUTE: u64 = 4 * 1024 * 1024;
/// Roblox's legacy v1 per-universe read throughput, bytes per minute.
pub const V1_UNIVERSE_READ_BYTES_PER_MINUTE: u64 = 20 * 1024 * 1024;
/// Roblox's legacy v1 per-universe write throughput, bytes per minute.
pub const V1_UNIVERSE_WRITE_BYTES_PER_MINUTE: u64 = 10 * 1024 * 1024;

/// What a request spends budget on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetClass {
    /// Get entry / get version; legacy v1 lists too (v1 has no List class).
    Read,
    /// Set / increment; legacy v1 delete entry too (v1 counts it as a write).
    Write,
    /// v2 list entries / revisions.
    List,
    /// v2 delete entry.
    Remove,
    /// Messaging publish.
    Publish,
    /// User look-ups.
    Users,
}

/// Requests per minute per universe and class.
#[derive(Clone, Debug)]
pub struct BudgetConfig {
    /// Limits; a class not present is unlimited.
    pub per_minute: HashMap<BudgetClass, u32>,
}

/// Byte throughput per minute, per entry key and (v1) per universe; every field `None` = off.
/// Off by default so that other crates' tests are not throttled by it;
/// [`ThroughputConfig::roblox`] is Roblox's documented throughput.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThroughputConfig {
    /// Bytes read per entry key per minute (each read rounded up to the next KB).
    pub key_read_bytes_per_minute: Option<u64>,
    /// Bytes written per entry key per minute (each write rounded up to the next KB).
    pub key_write_bytes_per_minute: Option<u64>,
    /// Bytes read per universe per minute through v1 (billed like per-key).
    pub v1_universe_read_bytes_per_minute: Option<u64>,
    /// Bytes written per universe per minute through v1 (billed like per-key).
    pub v1_universe_write_bytes_per_minute: Option<u64>,
}

impl ThroughputConfig {
    /// No throughput limits (the default).
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Roblox's documented throughput: per key 25 MB/min read, 4 MB/min write; legacy v1 per
    /// universe 20 MB/min read, 10 MB/min write.
    pub fn roblox() -> Self {
        Self {
            key_read_bytes_per_minute: Some(KEY_READ_BYTES_PER_MINUTE),
            key_write_bytes_per_minute: Some(KEY_WRITE_BYTES_PER_MINUTE),
            v1_universe_read_bytes_per_minute: Some(V1_UNIVERSE_READ_BYTES_PER_MINUTE),
            v1_universe_write_bytes_per_minute: Some(V1_UNIVERSE_WRITE_BYTES_PER_MINUTE),
        }
    }
}

impl Default for BudgetConfig {
    /// Roblox's documented budgets for an experience with no players online.
    fn default() -> Self {
        Self {
            per_minute: HashMap::from([
                (BudgetClass::Read, 300),
                (BudgetClass::Write, 300),
                (BudgetClass::List, 300),
                (BudgetClass::Remove, 300),
                (BudgetClass::Publish, 5_000),
                (BudgetClass::Users, 1_000),
            ]),
        }
    }
}

impl BudgetConfig {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Self {
            per_minute: HashMap::new(),
        }
    }
}

/// Which per-key throughput a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyDirection {
    /// Bytes returned by reads.
    Read,
    /// Bytes sent by writes.
    Write,
}

/// Bytes a request counts for: rounded up to the next KB, at least 1 KB.
pub fn billed_bytes(len: usize) -> u64 {
    let kb = (len as u64).div_ceil(1024).max(1);
    kb * 1024
}

/// The state of a budget after a request, for the `x-ratelimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Seconds until the window resets (≥ 1).
    pub reset_seconds: u64,
}

/// Live budget counters.
#[derive(Debug)]
pub struct Budgets {
    config: BudgetConfig,
    throughput: ThroughputConfig,
    used: Mutex<HashMap<(u64, BudgetClass), (i64, u32)>>,
    bytes: Mutex<HashMap<(ByteBucket, KeyDirection), (i64, u64)>>,
}

/// What a byte budget is counted per.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ByteBucket {
    Key(EntryKey),
    Universe(u64),
}

/// A fixed one-minute window: `(window index, seconds until it resets)`.
fn window(now_ms: i64) -> (i64, u64) {
    let index = now_ms.div_euclid(60_000);
    let reset_ms = (index + 1) * 60_000 - now_ms;
    let reset_seconds = u64::try_from((reset_ms + 999) / 1000).unwrap_or(60).max(1);
    (index, reset_seconds)
}

impl Budgets {
    /// Fresh counters, without throughput limits.
    pub fn new(config: BudgetConfig) -> Self {
        Self::with_throughput(config, ThroughputConfig::unlimited())
    }

    /// Fresh counters with byte-throughput limits too.
    pub fn with_throughput(config: BudgetConfig, throughput: ThroughputConfig) -> Self {
        Self {
            config,
            throughput,
            used: Mutex::default(),
            bytes: Mutex::default(),
        }
    }

    /// Spends one request; `Err` (with the headers' values) when the window is exhausted.
    /// `Ok(None)` when the class is unlimited.
    pub fn take(
        &self,
        universe_id: u64,
        class: BudgetClass,
        now_ms: i64,
    ) -> Result<Option<RateInfo>, RateInfo> {
        let Some(&limit) = self.config.per_minute.get(&class) else {
            return Ok(None);
        };
        let (window, reset_seconds) = window(now_ms);
        let mut used = self.used.lock();
        let slot = used.entry((universe_id, class)).or_insert((window, 0));
        if slot.0 != window {
            *slot = (window, 0);
        }
        if slot.1 >= limit {
            return Err(RateInfo {
                limit,
                remaining: 0,
                reset_seconds,
            });
        }
        slot.1 += 1;
        Ok(Some(RateInfo {
            limit,
            remaining: limit - slot.1,
            reset_seconds,
        }))
    }

    /// Spends `len` bytes (billed per [`billed_bytes`]) of a key's per-minute throughput;
    /// `Err` (limit and remaining in bytes) when that would go over, and then nothing is spent.
    pub fn take_key_bytes(
        &self,
        key: &EntryKey,
        direction: KeyDirection,
        len: usize,
        now_ms: i64,
    ) -> Result<(), KeyThrottle> {
        self.take_bytes(key, direction, len, now_ms, false)
    }

    /// [`Budgets::take_key_bytes`] plus the legacy v1 per-universe byte budget: both are spent or
    /// neither.
    pub fn take_v1_bytes(
        &self,
        key: &EntryKey,
        direction: KeyDirection,
        len: usize,
        now_ms: i64,
    ) -> Result<(), KeyThrottle> {
        self.take_bytes(key, direction, len, now_ms, true)
    }

    fn take_bytes(
        &self,
        key: &EntryKey,
        direction: KeyDirection,
        len: usize,
        now_ms: i64,
        with_universe: bool,
    ) -> Result<(), KeyThrottle> {
        let c = &self.throughput;
        let (key_limit, universe_limit) = match direction {
            KeyDirection::Read => (
                c.key_read_bytes_per_minute,
                c.v1_universe_read_bytes_per_minute,
            ),
            KeyDirection::Write => (
                c.key_write_bytes_per_minute,
                c.v1_universe_write_bytes_per_minute,
            ),
        };
        let mut buckets = Vec::with_capacity(2);
        if let Some(limit) = key_limit {
            buckets.push((ByteBucket::Key(key.clone()), limit));
        }
        if let (true, Some(limit)) = (with_universe, universe_limit) {
            buckets.push((ByteBucket::Universe(key.universe_id), limit));
        }
        if buckets.is_empty() {
            return Ok(());
        }
        let (window, reset_seconds) = window(now_ms);
        let cost = billed_bytes(len);
        let mut used = self.bytes.lock();
        // Old windows are dead weight: drop them so the map stays as small as the live key set.
        used.retain(|_, (w, _)| *w == window);
        for (bucket, limit) in &buckets {
            let spent = used.get(&(bucket.clone(), direction)).map_or(0, |s| s.1);
            if spent.saturating_add(cost) > *limit {
                return Err(KeyThrottle {
                    limit_bytes: *limit,
                    remaining_bytes: limit.saturating_sub(spent),
                    reset_seconds,
                    whole_universe: matches!(bucket, ByteBucket::Universe(_)),
                });
            }
        }
        for (bucket, _) in buckets {
            used.entry((bucket, direction)).or_insert((window, 0)).1 += cost;
        }
        Ok(())
    }
}

/// A refused per-key request: the window's byte limit, what is left, and when it resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyThrottle {
    /// Bytes allowed per window.
    pub limit_bytes: u64,
    /// Bytes left in this window.
    pub remaining_bytes: u64,
    /// Seconds until the window resets (≥ 1).
    pub reset_seconds: u64,
    /// True when the universe's v1 byte budget refused, false for the key's.
    pub whole_universe: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_exhausts_and_resets_per_window() {
        let budgets = Budgets::new(BudgetConfig {
            per_minute: HashMap::from([(BudgetClass::Write, 2)]),
        });
        let t0 = 60_000 * 100 + 15_000;
        assert_eq!(
            budgets
                .take(1, BudgetClass::Write, t0)
                .unwrap()
                .unwrap()
                .remaining,
            1
        );
        assert_eq!(
            budgets
                .take(1, BudgetClass::Write, t0)
                .unwrap()
                .unwrap()
                .remaining,
            0
        );
        let refused = budgets.take(1, BudgetClass::Write, t0).unwrap_err();
        assert_eq!(refused.reset_seconds, 45);
        // Other universes and classes are independent.
        assert!(budgets.take(2, BudgetClass::Write, t0).is_ok());
        assert_eq!(budgets.take(1, BudgetClass::Read, t0), Ok(None));
        // The next window starts fresh.
        assert!(budgets.take(1, BudgetClass::Write, t0 + 45_000).is_ok());
    }

    #[test]
    fn per_key_bytes_round_up_to_kb_and_reset_per_window() {
        assert_eq!(billed_bytes(0), 1024);
        assert_eq!(billed_bytes(1024), 1024);
        assert_eq!(billed_bytes(1025), 2048);
        let budgets = Budgets::with_throughput(
            BudgetConfig::unlimited(),
            ThroughputConfig {
                key_write_bytes_per_minute: Some(4 * 1024),
                ..ThroughputConfig::unlimited()
            },
        );
        let a = EntryKey::new(1, "S", "a");
        let b = EntryKey::new(1, "S", "b");
        let t0 = 60_000 * 7 + 59_500;
        // Three 1-byte writes cost 3 KB; a 1,025-byte write (2 KB) no longer fits.
        for _ in 0..3 {
            budgets
                .take_key_bytes(&a, KeyDirection::Write, 1, t0)
                .unwrap();
        }
        let refused = budgets
            .take_key_bytes(&a, KeyDirection::Write, 1025, t0)
            .unwrap_err();
        assert_eq!(
            refused,
            KeyThrottle {
                limit_bytes: 4096,
                remaining_bytes: 1024,
                reset_seconds: 1,
                whole_universe: false,
            }
        );
        // The refusal spent nothing: 1 KB still fits. Other keys and reads are independent.
        budgets
            .take_key_bytes(&a, KeyDirection::Write, 10, t0)
            .unwrap();
        assert!(
            budgets
                .take_key_bytes(&a, KeyDirection::Write, 1, t0)
                .is_err()
        );
        budgets
            .take_key_bytes(&b, KeyDirection::Write, 4096, t0)
            .unwrap();
        budgets
            .take_key_bytes(&a, KeyDirection::Read, 1 << 30, t0)
            .unwrap();
        // The next window starts fresh.
        budgets
            .take_key_bytes(&a, KeyDirection::Write, 4096, t0 + 500)
            .unwrap();
    }

    #[test]
    fn v1_universe_bytes_are_shared_by_keys_and_spent_all_or_nothing() {
        let budgets = Budgets::with_throughput(
            BudgetConfig::unlimited(),
            ThroughputConfig {
                key_read_bytes_per_minute: Some(3 * 1024),
                v1_universe_read_bytes_per_minute: Some(4 * 1024),
                ..ThroughputConfig::unlimited()
            },
        );
        let (a, b) = (EntryKey::new(1, "S", "a"), EntryKey::new(1, "S", "b"));
        let read = KeyDirection::Read;
        budgets.take_v1_bytes(&a, read, 2048, 0).unwrap();
        budgets.take_v1_bytes(&b, read, 2048, 0).unwrap();
        let refused = budgets.take_v1_bytes(&b, read, 1, 0).unwrap_err();
        assert!(refused.whole_universe);
        assert_eq!(refused.remaining_bytes, 0);
        // v2 calls skip the universe budget; the key budget still applies (2 KB of 3 KB used).
        budgets.take_key_bytes(&a, read, 1, 0).unwrap();
        let refused = budgets.take_key_bytes(&a, read, 1, 0).unwrap_err();
        assert!(!refused.whole_universe);
        // Another universe is independent.
        budgets
            .take_v1_bytes(&EntryKey::new(2, "S", "a"), read, 3072, 0)
            .unwrap();
    }
}
