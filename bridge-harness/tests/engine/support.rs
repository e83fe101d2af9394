//! The economy bridge on the engine emulator, end to end: the Rojo project (`bridge/`) with the
//! real ProfileStore / ProfileService, N game servers on one Open Cloud store and bus, commands
//! signed by the Rust `shared` crate and published like the bot does, and the real audit API
//! (SQLite in a temp dir) over real HTTP. The API runs on a multi-thread tokio runtime; the
//! `!Send` universe is driven on the test thread.

#![allow(dead_code)] // each test binary uses a different part of this support module

use std::time::{SystemTime, UNIX_EPOCH};

use api::testing::{TestApi, TestKeys};
use api::{AuditClient, LoggedRecord};
use bridge_harness::Settings;
use opencloud::emulator::EntryKey;
use roblox_emu::{Library, Place, Universe, UniverseConfig, invariant};
use shared::{Actor, Command, Key, KeyRing, Op, TxnId};

/// The command signing key (id `k1`), as the bot's COMMAND_KEYS would hold it.
pub const COMMAND_KEY_HEX: &str =
    "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";
/// Topic of commands.
pub const COMMANDS: &str = "discord-commands";
/// Full name of the bridge's RemoteEvent.
pub const REMOTE: &str = "ReplicatedStorage.EconomyBalanceChanged";

/// Wall-clock Unix ms (the API checks request timestamps against its own clock).
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where the bridge posts audit records and the game key it signs them with.
#[derive(Clone, Debug)]
pub struct ApiAccess {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The game servers' key id.
    pub key_id: String,
    /// Its secret, hex.
    pub secret_hex: String,
}

impl ApiAccess {
    /// An address nobody answers (port 9 is never listened on here) with a throwaway key.
    pub fn nowhere() -> Self {
        Self {
            url: "http://127.0.0.1:9".into(),
            key_id: "game".into(),
            secret_hex: "67".repeat(32),
        }
    }
}

/// The audit API (`api::testing::TestApi`: SQLite in a temp dir, its own keys, its port reserved
/// while it is down) on its own tokio runtime, so the `!Send` universe can be driven on the test
/// thread while the API serves.
pub struct AuditApi {
    pub rt: tokio::runtime::Runtime,
    api: TestApi,
}

impl AuditApi {
    /// Starts the API.
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let api = rt.block_on(TestApi::start()).unwrap();
        Self { rt, api }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        self.api.base_url()
    }

    /// The URL and game key the bridge's settings carry.
    pub fn access(&self) -> ApiAccess {
        ApiAccess {
            url: self.url(),
            key_id: self.api.keys.game.id.to_string(),
            secret_hex: TestKeys::hex(&self.api.keys.game),
        }
    }

    /// A client with the operators' read key.
    pub fn reader(&self) -> AuditClient {
        self.api.ops_client()
    }

    /// Stops the API (its port stays reserved: connections are refused until
    /// [`AuditApi::restart`]).
    pub fn stop(&mut self) {
        self.rt.block_on(self.api.stop()).unwrap();
    }

    /// Starts it again on the same address and database.
    pub fn restart(&mut self) {
        assert!(!self.api.server.is_up(), "already running");
        self.rt.block_on(self.api.restart()).unwrap();
    }

    /// Every logged row (all pages).
    pub fn rows(&self) -> Vec<LoggedRecord> {
        self.rt.block_on(self.api.rows()).unwrap()
    }

    /// Rows of one txn.
    pub fn rows_of(&self, txn: &str) -> Vec<LoggedRecord> {
        self.rows()
            .into_iter()
            .filter(|r| r.record.txn_id.as_str() == txn)
            .collect()
    }
}

/// The settings module the tests place at ServerStorage.EconomyBridgeSecrets: the API's address
/// and game key, the command key `k1`, `lib`, debug logging, defaults for the rest.
pub fn secrets_source(lib: Library, api: &ApiAccess) -> String {
    Settings {
        api_url: api.url.clone(),
        audit_key_id: api.key_id.clone(),
        audit_secret_hex: api.secret_hex.clone(),
        command_keys: vec![("k1".to_owned(), COMMAND_KEY_HEX.to_owned())],
        library: lib.module_name().to_owned(),
        data_store_name: None,
        key_prefix: None,
        command_topic: None,
        log_level: Some("debug".to_owned()),
    }
    .luau_module()
}

/// The bridge's Rojo project with the library and the settings module.
pub fn place(lib: Library, api: &ApiAccess) -> Place {
    match bridge_harness::bridge_place(secrets_source(lib, api), lib, None) {
        Ok(place) => place,
        Err(e) => panic!("{e}"),
    }
}

/// A universe of `servers` servers running the bridge, clock at wall time minus `behind_s`.
pub fn universe(
    lib: Library,
    servers: usize,
    seed: u64,
    api: &AuditApi,
    behind_s: i64,
) -> Universe {
    universe_cfg(lib, servers, &api.access(), |cfg| {
        cfg.seed = seed;
        cfg.start_unix_ms = wall_ms() - behind_s * 1000;
    })
}

/// A universe with the configuration tweaked by `tweak` (start: wall time, 20 fps).
pub fn universe_cfg(
    lib: Library,
    servers: usize,
    api: &ApiAccess,
    tweak: impl FnOnce(&mut UniverseConfig),
) -> Universe {
    universe_on(place(lib, api), servers, tweak)
}

/// A universe running `place` on `servers` servers (start: wall time, 20 fps, HTTP allowed).
pub fn universe_on(
    place: Place,
    servers: usize,
    tweak: impl FnOnce(&mut UniverseConfig),
) -> Universe {
    let mut cfg = UniverseConfig {
        fps: 20,
        start_unix_ms: wall_ms(),
        keep_trace: false,
        // The bridge's experience allows HTTP requests (operations.md, install step).
        http_enabled: true,
        ..UniverseConfig::default()
    };
    tweak(&mut cfg);
    let mut u = Universe::new(cfg, place);
    u.add_invariant("session-lock", Box::new(invariant::session_lock));
    for _ in 0..servers {
        u.start_server().unwrap();
    }
    u
}

/// Crockford base32 digits.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A canonical ULID with time `ms` and `n` in the random part.
pub fn txn_id(ms: i64, n: u64) -> String {
    let mut s = String::with_capacity(26);
    let mut t = ms as u64;
    let mut time = [0u8; 10];
    for c in time.iter_mut().rev() {
        *c = CROCKFORD[(t % 32) as usize];
        t /= 32;
    }
    s.push_str(std::str::from_utf8(&time).unwrap());
    let mut r = [b'0'; 16];
    let mut x = n;
    for c in r.iter_mut().rev() {
        *c = CROCKFORD[(x % 32) as usize];
        x /= 32;
    }
    s.push_str(std::str::from_utf8(&r).unwrap());
    s
}

/// The signing key of commands.
pub fn command_key() -> Key {
    KeyRing::parse(&format!("k1:{COMMAND_KEY_HEX}"))
        .unwrap()
        .signing_key()
        .clone()
}

/// A signed `EB1` command message as the bot publishes it, issued at the universe's `now`.
pub fn command(u: &Universe, txn: &str, user_id: u64, op: Op, amount: i64) -> String {
    let issued = virtual_ms(u);
    command_at(txn, user_id, op, amount, issued, issued + 300_000)
}

/// A signed command with explicit times.
pub fn command_at(
    txn: &str,
    user_id: u64,
    op: Op,
    amount: i64,
    issued_at: i64,
    expires_at: i64,
) -> String {
    let cmd = Command {
        v: 1,
        txn: txn.parse::<TxnId>().unwrap(),
        op,
        user_id,
        amount,
        reason: "event prize".into(),
        actor: Actor {
            id: "123456789012345678".into(),
            name: "Mod".into(),
        },
        issued_at,
        expires_at,
        reverses: None,
    };
    shared::encode_command_message(&cmd, &command_key()).unwrap()
}

/// A signed reversal of `original` (docs/protocol.md §2.1) issued at the universe's `now`.
pub fn reversal(
    u: &Universe,
    txn: &str,
    original: &str,
    user_id: u64,
    op: Op,
    amount: i64,
) -> String {
    let issued_at = virtual_ms(u);
    let cmd = Command {
        v: 1,
        txn: txn.parse::<TxnId>().unwrap(),
        op,
        user_id,
        amount,
        reason: "undo a mistake".into(),
        actor: Actor {
            id: "123456789012345678".into(),
            name: "Mod".into(),
        },
        issued_at,
        expires_at: issued_at + 300_000,
        reverses: Some(original.parse::<TxnId>().unwrap()),
    };
    shared::encode_command_message(&cmd, &command_key()).unwrap()
}

/// `EB1.k1.<sig>.<body>`: `body` signed with the command key as the bot signs every message
/// (docs/protocol.md §3: lower-case hex HMAC-SHA256 over `EB1.k1.<body>`).
pub fn signed(body: &str) -> String {
    let key = hex::decode(COMMAND_KEY_HEX).unwrap();
    let sig = hex::encode(shared::message::hmac_sha256(
        &key,
        format!("EB1.k1.{body}").as_bytes(),
    ));
    format!("EB1.k1.{sig}.{body}")
}

/// The body of a batch envelope (docs/protocol.md §3.1) issued at the universe's `now`.
pub fn envelope_body(
    u: &Universe,
    batch: &str,
    users: &[u64],
    op: Op,
    amount: i64,
) -> serde_json::Value {
    let issued_at = virtual_ms(u);
    serde_json::json!({
        "v": 1, "batch": batch, "op": op, "amount": amount, "reason": "event prize",
        "actor": {"id": "123456789012345678", "name": "Mod"},
        "issuedAt": issued_at, "expiresAt": issued_at + 300_000, "users": users,
    })
}

/// A signed batch envelope issued at the universe's `now`, as the bot publishes a bulk payout.
pub fn envelope(u: &Universe, batch: &str, users: &[u64], op: Op, amount: i64) -> String {
    signed(&envelope_body(u, batch, users, op, amount).to_string())
}

/// The txn id of `user`'s command in batch `batch` (docs/protocol.md §3.1), derived outside the
/// bridge by the Rust reference (`shared::BatchId::item_txn`).
pub fn item_txn(batch: &str, user: u64) -> String {
    let batch: shared::BatchId = batch.parse().unwrap();
    batch.item_txn(user).to_string()
}

/// The universe's virtual Unix ms.
pub fn virtual_ms(u: &Universe) -> i64 {
    u.config().start_unix_ms + (u.now_s() * 1000.0) as i64
}

/// The stored wallet entry of a user, parsed.
pub fn stored(u: &Universe, user_id: u64) -> Option<serde_json::Value> {
    let key = EntryKey::scoped(
        u.config().universe_id,
        "EconomyWallet",
        "global",
        format!("wallet_{user_id}"),
    );
    let entry = u.backend().store.get(&key)?;
    serde_json::from_str(&entry.value).ok()
}

/// The stored wallet document (`Data`).
pub fn data(u: &Universe, user_id: u64) -> serde_json::Value {
    stored(u, user_id).map_or(serde_json::Value::Null, |v| v["Data"].clone())
}

/// The JobId holding a user's wallet session.
pub fn holder(u: &Universe, user_id: u64) -> Option<String> {
    stored(u, user_id).and_then(|v| invariant::session_holder(&v))
}

/// Lines a server printed that start with `[EconomyBridge]` and contain `needle`.
pub fn lines(u: &Universe, server: usize, needle: &str) -> Vec<String> {
    u.server(server).map_or_else(Vec::new, |s| {
        s.output()
            .into_iter()
            .map(|l| l.text)
            .filter(|t| t.starts_with("[EconomyBridge]") && t.contains(needle))
            .collect()
    })
}

/// Such lines across all servers still alive.
pub fn all_lines(u: &Universe, needle: &str) -> Vec<(usize, String)> {
    (0..u.server_count())
        .flat_map(|s| lines(u, s, needle).into_iter().map(move |l| (s, l)))
        .collect()
}

/// Whether a server has the user's wallet session (it printed the start line and holds the lock).
pub fn has_session(u: &Universe, server: usize, user_id: u64) -> bool {
    let job = u.server(server).map(|s| s.job_id().to_owned());
    job.is_some()
        && holder(u, user_id) == job
        && !lines(u, server, &format!("session started for user {user_id}:")).is_empty()
}

/// RemoteEvent calls to a user about `txn`, across servers still alive.
pub fn remote_fires(u: &Universe, user_id: u64, txn: &str) -> usize {
    (0..u.server_count())
        .filter_map(|s| u.server(s))
        .flat_map(|s| s.remote_calls())
        .filter(|c| c.remote == REMOTE && c.user_id == Some(user_id) && c.args.contains(txn))
        .count()
}

/// Panics with context unless the universe saw no invariant violation and no script error.
pub fn assert_clean(u: &Universe) {
    assert!(
        u.violations().is_empty(),
        "violations: {:?}",
        u.violations()
    );
    if u.script_errors() != 0 {
        let errs: Vec<String> = (0..u.server_count())
            .filter_map(|s| u.server(s))
            .flat_map(|s| s.output())
            .filter(|l| l.level != "print")
            .map(|l| l.text)
            .collect();
        panic!("{} script errors: {errs:#?}", u.script_errors());
    }
}

/// Balance of the stored wallet.
pub fn balance(u: &Universe, user_id: u64) -> i64 {
    data(u, user_id)["balance"].as_i64().unwrap_or(-1)
}

/// Ring entries of the stored wallet.
pub fn ring(u: &Universe, user_id: u64) -> Vec<serde_json::Value> {
    data(u, user_id)["ring"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Outbox records of the stored wallet.
pub fn outbox(u: &Universe, user_id: u64) -> Vec<serde_json::Value> {
    data(u, user_id)["outbox"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
