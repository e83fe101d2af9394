//! What game servers and Open Cloud share in one experience (universe): who is playing, the
//! experience-wide data-store request budgets, and the byte throughput per entry key
//! (<https://create.roblox.com/docs/cloud-services/data-stores/error-codes-and-limits#access-limits>,
//! `#throughput-limits`).
//!
//! One [`Experience`] is shared by the Open Cloud emulator's HTTP handlers and the engine emulator's
//! DataStoreService (clones share state), so in-game use can throttle Open Cloud calls and the
//! other way round, as Roblox documents. The engine tells it how many players each server has;
//! the request budgets grow with the experience's concurrent users.
//!
//! Request budgets use fixed one-minute windows (Roblox does not document its windowing). Byte
//! throughput uses the documented sliding window: "the usage of quota associated with the key over
//! the last 60 seconds".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use super::budget::{RateInfo, window};
use super::store::EntryKey;

/// Roblox's per-key read throughput, bytes per minute ("25 MB", read as MiB: see
/// [`ThroughputConfig::roblox`]).
pub const KEY_READ_BYTES_PER_MINUTE: u64 = 25 * 1024 * 1024;
/// Roblox's per-key write throughput, bytes per minute ("4 MB" = 4 MiB).
pub const KEY_WRITE_BYTES_PER_MINUTE: u64 = 4 * 1024 * 1024;
/// Roblox's legacy v1 per-universe read throughput, bytes per minute.
pub const V1_UNIVERSE_READ_BYTES_PER_MINUTE: u64 = 20 * 1024 * 1024;
/// Roblox's legacy v1 per-universe write throughput, bytes per minute.
pub const V1_UNIVERSE_WRITE_BYTES_PER_MINUTE: u64 = 10 * 1024 * 1024;

/// The sliding window of the byte throughput limits.
const THROUGHPUT_WINDOW_MS: i64 = 60_000;

/// A standard data store request type of the experience limits (`Enum.DataStoreRequestType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestType {
    /// `StandardRead`: GetAsync, GetVersionAsync, the read of UpdateAsync; Open Cloud Get Entry.
    Read,
    /// `StandardWrite`: SetAsync, IncrementAsync, the write of UpdateAsync; Open Cloud Create,
    /// Update, Increment Entry.
    Write,
    /// `StandardList`: ListKeysAsync, ListVersionsAsync, ListDataStoresAsync; Open Cloud List Data
    /// Stores, List Entries, List Entry Revisions.
    List,
    /// `StandardRemove`: RemoveAsync; Open Cloud Delete Entry.
    Remove,
}

impl RequestType {
    /// Every request type.
    pub const ALL: [RequestType; 4] = [
        RequestType::Read,
        RequestType::Write,
        RequestType::List,
        RequestType::Remove,
    ];

    /// The `Enum.DataStoreRequestType` name.
    pub fn name(self) -> &'static str {
        match self {
            RequestType::Read => "StandardRead",
            RequestType::Write => "StandardWrite",
            RequestType::List => "StandardList",
            RequestType::Remove => "StandardRemove",
        }
    }

    /// The error a game server's call raises over the experience limit: Roblox's error name and
    /// message (the table documents no number for it).
    pub fn engine_error(self) -> String {
        let name = self.name();
        format!("{name}ExperienceThrottled: {name} request was throttled by experience limits.")
    }

    /// The message of Open Cloud's 429 over the experience limit (the documented server error
    /// message of `Standard*ExperienceThrottled`).
    pub fn open_cloud_message(self) -> String {
        let what = match self {
            RequestType::Read => "read",
            RequestType::Write => "write",
            RequestType::List => "list",
            RequestType::Remove => "remove",
        };
        format!(
            "{}ExperienceThrottled: The standard {what} request rate exceeds the allowed maximum for the experience.",
            self.name()
        )
    }
}

/// A budget of `base + per_user × concurrent users` requests per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests per minute with nobody playing.
    pub base: u64,
    /// Extra requests per minute per concurrent user.
    pub per_user: u64,
}

impl Rate {
    /// Requests per minute with `ccu` concurrent users.
    pub fn per_minute(self, ccu: u64) -> u64 {
        self.base.saturating_add(self.per_user.saturating_mul(ccu))
    }
}

/// The experience-wide request budgets of standard data stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRates {
    /// `StandardRead`.
    pub read: Rate,
    /// `StandardWrite`.
    pub write: Rate,
    /// `StandardList`.
    pub list: Rate,
    /// `StandardRemove`.
    pub remove: Rate,
}

impl RequestRates {
    /// Roblox's documented experience limits (since 2026-07-14): read 300 + 40·CCU, write
    /// 300 + 20·CCU, list 300 + 2·CCU, remove 300 + 40·CCU per minute.
    pub const ROBLOX: RequestRates = RequestRates {
        read: Rate {
            base: 300,
            per_user: 40,
        },
        write: Rate {
            base: 300,
            per_user: 20,
        },
        list: Rate {
            base: 300,
            per_user: 2,
        },
        remove: Rate {
            base: 300,
            per_user: 40,
        },
    };

    /// The rate of one request type.
    pub fn rate(&self, t: RequestType) -> Rate {
        match t {
            RequestType::Read => self.read,
            RequestType::Write => self.write,
            RequestType::List => self.list,
            RequestType::Remove => self.remove,
        }
    }
}

/// Byte throughput per minute, per entry key and (legacy v1) per universe; `None` = off.
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
    /// No throughput limits.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Roblox's documented throughput: per key 25 MB/min read, 4 MB/min write; legacy v1 per
    /// universe 20 MB/min read, 10 MB/min write. "MB" is read as MiB and "kilobyte" as KiB: the
    /// same page allows values of 4,194,304 characters (4 MiB), which a decimal 4 MB/min would
    /// make impossible to write.
    pub fn roblox() -> Self {
        Self {
            key_read_bytes_per_minute: Some(KEY_READ_BYTES_PER_MINUTE),
            key_write_bytes_per_minute: Some(KEY_WRITE_BYTES_PER_MINUTE),
            v1_universe_read_bytes_per_minute: Some(V1_UNIVERSE_READ_BYTES_PER_MINUTE),
            v1_universe_write_bytes_per_minute: Some(V1_UNIVERSE_WRITE_BYTES_PER_MINUTE),
        }
    }
}

/// Which limits an experience enforces. Off by default, so that tests of other behaviour are not
/// throttled; [`ExperienceLimits::roblox`] is Roblox's documented sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExperienceLimits {
    /// Experience-wide request budgets (none = unlimited).
    pub requests: Option<RequestRates>,
    /// Byte throughput per key (and legacy v1 per universe).
    pub throughput: ThroughputConfig,
}

impl ExperienceLimits {
    /// No limits.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Roblox's documented request budgets and throughput.
    pub fn roblox() -> Self {
        Self {
            requests: Some(RequestRates::ROBLOX),
            throughput: ThroughputConfig::roblox(),
        }
    }
}

/// Which throughput a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyDirection {
    /// Bytes returned by reads.
    Read,
    /// Bytes sent by writes.
    Write,
}

/// Bytes a request counts for: rounded up to the next KB (1,024 bytes), at least 1 KB.
pub fn billed_bytes(len: usize) -> u64 {
    let kb = (len as u64).div_ceil(1024).max(1);
    kb * 1024
}

/// A request refused by the experience limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExperienceThrottle {
    /// The request type whose budget is spent.
    pub request_type: RequestType,
    /// That budget's state, for the `x-ratelimit-*` headers.
    pub info: RateInfo,
}

/// A request refused by a byte throughput limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyThrottle {
    /// Bytes allowed per minute.
    pub limit_bytes: u64,
    /// Bytes left now.
    pub remaining_bytes: u64,
    /// Seconds until enough usage leaves the window for this request (≥ 1).
    pub reset_seconds: u64,
    /// True when the universe's v1 byte budget refused, false for the key's.
    pub whole_universe: bool,
}

/// Requests spent (and refused) per request type, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExperienceStats {
    /// Requests admitted per type.
    pub spent: BTreeMap<RequestType, u64>,
    /// Requests refused per type.
    pub refused: BTreeMap<RequestType, u64>,
    /// Requests refused by a per-key (or v1 universe) byte limit.
    pub key_throttled: u64,
}

/// What a byte budget is counted per.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ByteBucket {
    Key(EntryKey),
    Universe(u64),
}

/// Bytes spent in the last minute, oldest first.
#[derive(Debug, Default)]
struct ByteWindow {
    spent: VecDeque<(i64, u64)>,
    total: u64,
}

impl ByteWindow {
    fn expire(&mut self, now_ms: i64) {
        while let Some(&(at, cost)) = self.spent.front() {
            if at > now_ms - THROUGHPUT_WINDOW_MS {
                break;
            }
            self.spent.pop_front();
            self.total -= cost;
        }
    }

    /// Seconds until `cost` fits under `limit` as old usage leaves the window.
    fn wait_seconds(&self, cost: u64, limit: u64, now_ms: i64) -> u64 {
        let mut total = self.total;
        for &(at, spent) in &self.spent {
            total -= spent;
            if total.saturating_add(cost) <= limit {
                let ms = at + THROUGHPUT_WINDOW_MS - now_ms;
                return u64::try_from((ms + 999) / 1000).unwrap_or(60).max(1);
            }
        }
        60
    }
}

#[derive(Debug, Default)]
struct State {
    limits: ExperienceLimits,
    /// Players per running game server, per universe.
    servers: HashMap<u64, BTreeMap<u64, u64>>,
    /// Requests per universe and type in the current window: `(window index, count)`.
    requests: HashMap<(u64, RequestType), (i64, u64)>,
    bytes: HashMap<(ByteBucket, KeyDirection), ByteWindow>,
    stats: ExperienceStats,
}

/// The state one experience's game servers and Open Cloud share; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Experience {
    state: Arc<Mutex<State>>,
}

impl Experience {
    /// An experience with nobody playing and these limits.
    pub fn new(limits: ExperienceLimits) -> Self {
        let experience = Self::default();
        experience.set_limits(limits);
        experience
    }

    /// Replaces the limits (the counters stay).
    pub fn set_limits(&self, limits: ExperienceLimits) {
        self.state.lock().limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> ExperienceLimits {
        self.state.lock().limits
    }

    /// A game server of `universe_id` runs with `players` players now.
    pub fn set_server_players(&self, universe_id: u64, server: u64, players: u64) {
        self.state
            .lock()
            .servers
            .entry(universe_id)
            .or_default()
            .insert(server, players);
    }

    /// A game server stopped.
    pub fn remove_server(&self, universe_id: u64, server: u64) {
        let mut state = self.state.lock();
        if let Some(servers) = state.servers.get_mut(&universe_id) {
            servers.remove(&server);
        }
    }

    /// Players in every running server of the universe (Roblox's CCU).
    pub fn concurrent_users(&self, universe_id: u64) -> u64 {
        self.state
            .lock()
            .servers
            .get(&universe_id)
            .map_or(0, |s| s.values().sum())
    }

    /// Running game servers of the universe.
    pub fn server_count(&self, universe_id: u64) -> usize {
        self.state
            .lock()
            .servers
            .get(&universe_id)
            .map_or(0, BTreeMap::len)
    }

    /// Requests spent and refused so far.
    pub fn stats(&self) -> ExperienceStats {
        self.state.lock().stats.clone()
    }

    /// Spends one request of each type (UpdateAsync: read and write), all or none. `Ok(None)`
    /// when the requests are unlimited; otherwise the state of the first type's budget.
    pub fn take_requests(
        &self,
        universe_id: u64,
        types: &[RequestType],
        now_ms: i64,
    ) -> Result<Option<RateInfo>, ExperienceThrottle> {
        let mut state = self.state.lock();
        let Some(rates) = state.limits.requests else {
            return Ok(None);
        };
        let ccu = state
            .servers
            .get(&universe_id)
            .map_or(0, |s| s.values().sum());
        let (window, reset_seconds) = window(now_ms);
        let used = |state: &State, t: RequestType| match state.requests.get(&(universe_id, t)) {
            Some(&(w, n)) if w == window => n,
            _ => 0,
        };
        for &t in types {
            let limit = rates.rate(t).per_minute(ccu);
            if used(&state, t) >= limit {
                *state.stats.refused.entry(t).or_default() += 1;
                return Err(ExperienceThrottle {
                    request_type: t,
                    info: RateInfo {
                        limit: u32::try_from(limit).unwrap_or(u32::MAX),
                        remaining: 0,
                        reset_seconds,
                    },
                });
            }
        }
        let mut first = None;
        for &t in types {
            let n = used(&state, t) + 1;
            state.requests.insert((universe_id, t), (window, n));
            *state.stats.spent.entry(t).or_default() += 1;
            let limit = rates.rate(t).per_minute(ccu);
            first.get_or_insert(RateInfo {
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                remaining: u32::try_from(limit - n).unwrap_or(u32::MAX),
                reset_seconds,
            });
        }
        Ok(first)
    }

    /// Spends `len` bytes (billed per [`billed_bytes`]) of a key's throughput over the last
    /// minute; `Err` when that would go over, and then nothing is spent.
    pub fn take_key_bytes(
        &self,
        key: &EntryKey,
        direction: KeyDirection,
        len: usize,
        now_ms: i64,
    ) -> Result<(), KeyThrottle> {
        self.take_bytes(key, direction, len, now_ms, false)
    }

    /// [`Experience::take_key_bytes`] plus the legacy v1 per-universe byte budget: both are spent
    /// or neither.
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
        let mut state = self.state.lock();
        let c = state.limits.throughput;
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
        let cost = billed_bytes(len);
        // Windows that emptied are dead weight: drop them so the map stays as small as the keys
        // used in the last minute.
        state.bytes.retain(|_, w| {
            w.expire(now_ms);
            !w.spent.is_empty()
        });
        for (bucket, limit) in &buckets {
            let spent = state
                .bytes
                .get(&(bucket.clone(), direction))
                .map_or(0, |w| w.total);
            if spent.saturating_add(cost) > *limit {
                let wait = state
                    .bytes
                    .get(&(bucket.clone(), direction))
                    .map_or(60, |w| w.wait_seconds(cost, *limit, now_ms));
                state.stats.key_throttled += 1;
                return Err(KeyThrottle {
                    limit_bytes: *limit,
                    remaining_bytes: limit.saturating_sub(spent),
                    reset_seconds: wait,
                    whole_universe: matches!(bucket, ByteBucket::Universe(_)),
                });
            }
        }
        for (bucket, _) in buckets {
            let w = state.bytes.entry((bucket, direction)).or_default();
            w.spent.push_back((now_ms, cost));
            w.total += cost;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests_only(rates: RequestRates) -> Experience {
        Experience::new(ExperienceLimits {
            requests: Some(rates),
            throughput: ThroughputConfig::unlimited(),
        })
    }

    #[test]
    fn request_budgets_grow_with_concurrent_users_across_servers() {
        let e = requests_only(RequestRates::ROBLOX);
        let t0 = 60_000 * 50;
        assert_eq!(
            e.take_requests(1, &[RequestType::Write], t0)
                .unwrap()
                .unwrap()
                .limit,
            300
        );
        // 10 players on two servers: write 300 + 20 × 10, read 300 + 40 × 10, list 300 + 2 × 10.
        e.set_server_players(1, 0, 4);
        e.set_server_players(1, 1, 6);
        assert_eq!(e.concurrent_users(1), 10);
        let info = |t| e.take_requests(1, &[t], t0).unwrap().unwrap().limit;
        assert_eq!(info(RequestType::Write), 500);
        assert_eq!(info(RequestType::Read), 700);
        assert_eq!(info(RequestType::List), 320);
        assert_eq!(info(RequestType::Remove), 700);
        // A server that stops takes its players with it; other universes are separate.
        e.remove_server(1, 1);
        assert_eq!(e.concurrent_users(1), 4);
        assert_eq!(e.concurrent_users(2), 0);
        assert_eq!(e.server_count(1), 1);
    }

    #[test]
    fn update_spends_read_and_write_all_or_nothing() {
        let tiny = Rate {
            base: 2,
            per_user: 0,
        };
        let e = requests_only(RequestRates {
            read: tiny,
            write: Rate {
                base: 1,
                per_user: 0,
            },
            list: tiny,
            remove: tiny,
        });
        let both = [RequestType::Read, RequestType::Write];
        e.take_requests(1, &both, 0).unwrap();
        let refused = e.take_requests(1, &both, 0).unwrap_err();
        assert_eq!(refused.request_type, RequestType::Write);
        assert_eq!(refused.info.reset_seconds, 60);
        // The refused update spent no read: one read is still left.
        e.take_requests(1, &[RequestType::Read], 0).unwrap();
        assert!(e.take_requests(1, &[RequestType::Read], 0).is_err());
        let stats = e.stats();
        assert_eq!(stats.spent[&RequestType::Read], 2);
        assert_eq!(stats.refused[&RequestType::Write], 1);
        // The next minute starts afresh; unlimited experiences answer None.
        assert!(e.take_requests(1, &both, 60_000).is_ok());
        assert_eq!(Experience::default().take_requests(1, &both, 0), Ok(None));
    }

    #[test]
    fn errors_carry_roblox_names() {
        assert_eq!(
            RequestType::Write.engine_error(),
            "StandardWriteExperienceThrottled: StandardWrite request was throttled by experience limits."
        );
        assert!(
            RequestType::Read
                .open_cloud_message()
                .contains("The standard read request rate exceeds the allowed maximum")
        );
    }

    #[test]
    fn per_key_bytes_round_up_to_kb_over_a_sliding_minute() {
        assert_eq!(billed_bytes(0), 1024);
        assert_eq!(billed_bytes(1024), 1024);
        assert_eq!(billed_bytes(1025), 2048);
        let e = Experience::new(ExperienceLimits {
            requests: None,
            throughput: ThroughputConfig {
                key_write_bytes_per_minute: Some(4 * 1024),
                ..ThroughputConfig::unlimited()
            },
        });
        let a = EntryKey::new(1, "S", "a");
        let b = EntryKey::new(1, "S", "b");
        let w = KeyDirection::Write;
        // Three 1-byte writes at 0 s, 10 s, 20 s cost 3 KB; a 1,025-byte write (2 KB) no longer
        // fits until the first leaves the window at 60 s.
        for t in [0, 10_000, 20_000] {
            e.take_key_bytes(&a, w, 1, t).unwrap();
        }
        let refused = e.take_key_bytes(&a, w, 1025, 30_000).unwrap_err();
        assert_eq!(
            refused,
            KeyThrottle {
                limit_bytes: 4096,
                remaining_bytes: 1024,
                reset_seconds: 30,
                whole_universe: false,
            }
        );
        // The refusal spent nothing: 1 KB still fits, then nothing does.
        e.take_key_bytes(&a, w, 10, 30_000).unwrap();
        assert!(e.take_key_bytes(&a, w, 1, 30_000).is_err());
        // Other keys and reads are independent.
        e.take_key_bytes(&b, w, 4096, 30_000).unwrap();
        e.take_key_bytes(&a, KeyDirection::Read, 1 << 30, 30_000)
            .unwrap();
        // A fixed window would have reset at 60 s; the sliding one frees only the write of 0 s.
        assert!(e.take_key_bytes(&a, w, 1025, 59_999).is_err());
        assert!(e.take_key_bytes(&a, w, 1, 60_000).is_ok());
        assert!(e.take_key_bytes(&a, w, 1, 60_000).is_err());
        assert_eq!(e.stats().key_throttled, 4);
    }

    #[test]
    fn v1_universe_bytes_are_shared_by_keys_and_spent_all_or_nothing() {
        let e = Experience::new(ExperienceLimits {
            requests: None,
            throughput: ThroughputConfig {
                key_read_bytes_per_minute: Some(3 * 1024),
                v1_universe_read_bytes_per_minute: Some(4 * 1024),
                ..ThroughputConfig::unlimited()
            },
        });
        let (a, b) = (EntryKey::new(1, "S", "a"), EntryKey::new(1, "S", "b"));
        let read = KeyDirection::Read;
        e.take_v1_bytes(&a, read, 2048, 0).unwrap();
        e.take_v1_bytes(&b, read, 2048, 0).unwrap();
        let refused = e.take_v1_bytes(&b, read, 1, 0).unwrap_err();
        assert!(refused.whole_universe);
        assert_eq!(refused.remaining_bytes, 0);
        // v2 and engine calls skip the universe budget; the key budget still applies (2 KB of 3 KB).
        e.take_key_bytes(&a, read, 1, 0).unwrap();
        let refused = e.take_key_bytes(&a, read, 1, 0).unwrap_err();
        assert!(!refused.whole_universe);
        // Another universe is independent.
        e.take_v1_bytes(&EntryKey::new(2, "S", "a"), read, 3072, 0)
            .unwrap();
    }
}
