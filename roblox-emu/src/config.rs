//! Settings of an emulated universe: identity, frame rate, latencies, DataStore limits and faults.

use std::path::PathBuf;

/// How virtual time relates to wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// Virtual time runs as fast as the CPU allows; everything is decided by the seed.
    Deterministic,
    /// One virtual second per wall second (the local sandbox).
    RealTime,
}

/// Roblox's DataStore limits as the engine applies them (per game server). Defaults: the server
/// limits of "Data stores › Error codes and limits" (2026): StandardRead, StandardWrite and
/// StandardRemove 60 + 40 per player, StandardList 5 + 2 per player, queues of 30.
#[derive(Clone, Debug)]
pub struct DataStoreLimits {
    /// Requests per minute for read, write and remove: `base + per_player * players`.
    pub budget_base: f64,
    /// Extra requests per minute per player.
    pub budget_per_player: f64,
    /// List requests per minute: `list_base + list_per_player * players`.
    pub list_base: f64,
    /// Extra list requests per minute per player.
    pub list_per_player: f64,
    /// A budget accumulates up to this many minutes of requests.
    pub budget_cap_minutes: f64,
    /// Throttled requests queued per request type before Roblox rejects (codes 301–306).
    pub queue_limit: usize,
    /// Minimum seconds between writes to one key from one server (Roblox: 6 s).
    pub write_cooldown_s: f64,
    /// How long GetAsync serves a cached value (Roblox: 4 s).
    pub get_cache_s: f64,
}

impl Default for DataStoreLimits {
    fn default() -> Self {
        Self {
            budget_base: 60.0,
            budget_per_player: 40.0,
            list_base: 5.0,
            list_per_player: 2.0,
            budget_cap_minutes: 3.0,
            queue_limit: 30,
            write_cooldown_s: 6.0,
            get_cache_s: 4.0,
        }
    }
}

/// MessagingService's per-server limits (MessagingService › Limitations, shared with Open Cloud
/// publishing): messages sent `sent_base + sent_per_player × players` a minute, subscriptions
/// `subscriptions_base + subscriptions_per_player × players`, subscribe requests a minute. The
/// receive limits are the shared bus's ([`crate::Backend::roblox_limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessagingLimits {
    /// Messages a server may send per minute with no players.
    pub sent_base: usize,
    /// Extra messages per minute per player in the server.
    pub sent_per_player: usize,
    /// Live subscriptions a server may hold with no players.
    pub subscriptions_base: usize,
    /// Extra subscriptions per player in the server.
    pub subscriptions_per_player: usize,
    /// `SubscribeAsync` calls per server per minute.
    pub subscribe_requests_per_minute: usize,
}

impl MessagingLimits {
    /// Roblox's documented limits: 600 + 240 × players sent a minute, 20 + 8 × players
    /// subscriptions, 240 subscribe requests a minute.
    pub const ROBLOX: MessagingLimits = MessagingLimits {
        sent_base: 600,
        sent_per_player: 240,
        subscriptions_base: 20,
        subscriptions_per_player: 8,
        subscribe_requests_per_minute: 240,
    };
}

/// Faults applied to every server of the universe (per-server faults are scheduled on the
/// [`crate::Universe`]).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Probability that a DataStore request fails with a 5xx-style error.
    pub datastore_error_rate: f64,
    /// Probability that a write (SetAsync, UpdateAsync's commit) lands in the store but the call
    /// still fails with a 5xx-style error, as when the answer is lost on its way back.
    pub datastore_lost_answer_rate: f64,
    /// Probability that a message is dropped before reaching a server.
    pub message_drop: f64,
    /// Probability that a message reaches a server twice.
    pub message_duplicate: f64,
    /// Extra delivery delay range in seconds (uniform), applied with probability `message_delay`.
    pub message_delay_s: (f64, f64),
    /// Probability of the extra delay.
    pub message_delay: f64,
}

/// The spelling of response header names `RequestAsync` hands to game code. Roblox's reference
/// does not say, so code must find a header either way and the emulator can answer both ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderNames {
    /// `retry-after` (what HTTP/2 puts on the wire).
    #[default]
    Lowercase,
    /// `Retry-After` (each word capitalised, as many HTTP/1.1 servers send them).
    Capitalized,
}

impl HeaderNames {
    /// `name` (lower-case) spelled this way.
    pub fn spell(self, name: &str) -> String {
        match self {
            HeaderNames::Lowercase => name.to_ascii_lowercase(),
            HeaderNames::Capitalized => name
                .split('-')
                .map(|word| {
                    let mut chars = word.chars();
                    match chars.next() {
                        Some(first) => {
                            first.to_ascii_uppercase().to_string()
                                + &chars.as_str().to_ascii_lowercase()
                        }
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join("-"),
        }
    }
}

/// Everything needed to build a [`crate::Universe`].
#[derive(Clone, Debug)]
pub struct UniverseConfig {
    /// Seed of every random choice (latencies, GUIDs, faults, `math.random`).
    pub seed: u64,
    /// Deterministic or real-time.
    pub mode: TimeMode,
    /// Frames per virtual second (Roblox runs Heartbeat at 60; 30 halves idle cost).
    pub fps: u32,
    /// `game.GameId` and the universe of the shared store.
    pub universe_id: u64,
    /// `game.PlaceId`.
    pub place_id: u64,
    /// Virtual Unix time at start, in ms.
    pub start_unix_ms: i64,
    /// `RunService:IsStudio()`.
    pub studio: bool,
    /// DataStore request latency range in seconds.
    pub datastore_latency_s: (f64, f64),
    /// MessagingService delivery latency range in seconds.
    pub message_latency_s: (f64, f64),
    /// Extra virtual latency of an HTTP request in deterministic mode, seconds.
    pub http_latency_s: (f64, f64),
    /// HttpService requests per minute per server (Roblox: 500).
    pub http_per_minute: usize,
    /// Game Settings > Security > Allow HTTP Requests. Off by default, as on Roblox: every
    /// `RequestAsync` then fails with Roblox's "Http requests are not enabled" error.
    pub http_enabled: bool,
    /// How `RequestAsync` spells response header names (Roblox does not document it).
    pub http_header_names: HeaderNames,
    /// DataStore limits.
    pub limits: DataStoreLimits,
    /// MessagingService per-server limits (Roblox's by default; `None` = unlimited).
    pub messaging_limits: Option<MessagingLimits>,
    /// Universe-wide faults.
    pub faults: Faults,
    /// Seconds Roblox waits for BindToClose callbacks (30).
    pub close_timeout_s: f64,
    /// Make `os.clock()` start at zero instead of at a random uptime (ProfileStore ignores
    /// messages while `os.clock()` ≤ 6); only to reproduce that, never in normal runs.
    pub clock_zero: bool,
    /// Lua heap limit per server in bytes (0 = none).
    pub memory_limit: usize,
    /// Directory of the third-party Luau libraries (see [`crate::libs`]).
    pub libs_dir: Option<PathBuf>,
    /// Keep the trace lines in memory (the digest is always computed).
    pub keep_trace: bool,
}

impl Default for UniverseConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            mode: TimeMode::Deterministic,
            fps: 30,
            universe_id: 1_000,
            place_id: 2_000,
            start_unix_ms: 1_795_219_200_000,
            studio: false,
            datastore_latency_s: (0.05, 0.25),
            message_latency_s: (0.05, 0.5),
            http_latency_s: (0.02, 0.1),
            http_per_minute: 500,
            http_enabled: false,
            http_header_names: HeaderNames::Lowercase,
            limits: DataStoreLimits::default(),
            messaging_limits: Some(MessagingLimits::ROBLOX),
            faults: Faults::default(),
            close_timeout_s: 30.0,
            clock_zero: false,
            memory_limit: 0,
            libs_dir: None,
            keep_trace: true,
        }
    }
}
