//! Test harness: the real Open Cloud emulator (store + bus + users), the real audit API on
//! SQLite, the bot's real SQLite database, and a labelled stand-in for a game server.
#![allow(dead_code)]

use api::testing::{ReservedPort, TestApi, TestKeys};
use audit_client::AuditClient;
use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::{CallCounter, Calls};
use bot::adapters::emulator::{EmulatorPorts, VirtualClock};
use bot::adapters::open_cloud::WalletLocation;
use bot::service::{
    ActorCtx, AuditLog, Db, MoveRequest, Policy, Ports, ProfileLibrary, Service, ServiceConfig,
    Target, WalletStore,
};
use opencloud::emulator::{
    Emulator, EmulatorConfig, EntryKey, ManualClock, Transform, User, WriteEvent, Writer,
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use shared::{AuditRecord, KeyRing, Limits, Op, TxnId, Wallet};
use std::sync::Arc;
use std::time::Duration;

pub mod link_fakes;
pub mod pg;

pub const UNIVERSE: u64 = 4242;
pub const TOPIC: &str = "discord-commands";
pub const COMMAND_KEYS: &str =
    "cmd1:abababababababababababababababababababababababababababababababab";
pub const ALICE: u64 = 1001;
pub const BOB: u64 = 1002;

pub fn location() -> WalletLocation {
    WalletLocation {
        universe_id: UNIVERSE,
        datastore: "EconomyWallet".into(),
        key_prefix: "wallet_".into(),
    }
}

pub fn wallet_key(user: u64) -> EntryKey {
    EntryKey::new(UNIVERSE, "EconomyWallet", format!("wallet_{user}"))
}

pub fn staff() -> ActorCtx {
    ActorCtx {
        id: "123456789012345678".into(),
        name: "Mod".into(),
        roles: vec!["900".into()],
    }
}

pub fn policy() -> Policy {
    Policy {
        role_max: [("900".to_string(), 1_000_000), ("901".to_string(), 50)].into(),
        daily_cap: 10_000_000,
        cooldown: Duration::ZERO,
        confirm_above: 100_000,
    }
}

pub fn service_config() -> ServiceConfig {
    ServiceConfig {
        topic: TOPIC.into(),
        library: ProfileLibrary::ProfileStore,
        limits: Limits::default(),
        command_ttl: Duration::from_secs(60),
        grace: Duration::from_secs(10),
        long_poll: Duration::ZERO,
        round_pause: Duration::from_secs(1),
        republish_every: Duration::from_secs(3),
        reply_budget: Duration::from_secs(600),
        policy: policy(),
        bulk: bot::service::BulkConfig::default(),
    }
}

pub fn request(op: Op, user: u64, amount: i64) -> MoveRequest {
    MoveRequest {
        actor: staff(),
        op,
        target: Target::Id(user),
        amount,
        reason: "event prize".into(),
        replay: None,
    }
}

/// The audit API on a temporary SQLite file (`api::testing::TestApi`: its own keys and port).
pub struct AuditApi {
    pub api: TestApi,
    pub base: String,
}

impl AuditApi {
    pub async fn start() -> Self {
        let api = TestApi::start().await.unwrap();
        let base = api.base_url();
        Self { api, base }
    }

    pub fn bot_client(&self) -> AuditClient {
        self.api.bot_client()
    }

    pub fn game_client(&self) -> AuditClient {
        self.api.game_client()
    }

    /// The bot's key as `AUDIT_API_KEY` holds it (`id:scopes:hex`).
    pub fn bot_key_spec(&self) -> String {
        format!("bot:read+write:{}", TestKeys::hex(&self.api.keys.bot))
    }

    pub async fn record(&self, txn: &TxnId) -> Option<AuditRecord> {
        self.bot_client()
            .get_txn(txn, None)
            .await
            .unwrap()
            .map(|l| l.record)
    }

    /// The audit record of `txn`, waiting for it (the API's long-poll, up to 20 s): a game
    /// server posts its records after its save, in the background, so a txn confirmed from the
    /// wallet entry may not have its record yet.
    pub async fn record_posted(&self, txn: &TxnId) -> Option<AuditRecord> {
        self.bot_client()
            .get_txn(txn, Some(std::time::Duration::from_secs(20)))
            .await
            .unwrap()
            .map(|l| l.record)
    }
}

/// An audit API address nobody answers ("API down"): its port stays reserved, so connections
/// are refused, for as long as the returned reservation lives.
pub fn dead_api() -> ReservedPort {
    ReservedPort::new().unwrap()
}

/// Everything one test needs.
pub struct World {
    /// Bot database URL; `None` = SQLite in `db_dir`.
    pub db_url: Option<String>,
    pub clock: Arc<ManualClock>,
    pub emulator: Arc<Emulator>,
    pub calls: Arc<CallCounter>,
    pub ports: Arc<EmulatorPorts>,
    pub db_dir: tempfile::TempDir,
    pub violations: Arc<Mutex<Vec<String>>>,
}

impl World {
    pub fn new() -> Self {
        let clock = ManualClock::shared(1_795_219_200_000);
        let emulator = Emulator::new(
            clock.clone(),
            EmulatorConfig {
                users: vec![
                    User {
                        display_name: "Alice the Brave".into(),
                        ..User::new(ALICE, "alice")
                    },
                    User::new(BOB, "bob"),
                ],
                ..EmulatorConfig::default()
            },
        );
        let violations: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = violations.clone();
        emulator
            .store
            .add_write_hook(Arc::new(move |ev: &WriteEvent| {
                if let Err(v) = single_writer(ev) {
                    sink.lock().push(v);
                }
            }));
        let calls = Arc::new(CallCounter::default());
        let ports = Arc::new(EmulatorPorts::new(
            emulator.clone(),
            location(),
            calls.clone(),
        ));
        Self {
            db_url: None,
            clock,
            emulator,
            calls,
            ports,
            db_dir: tempfile::tempdir().unwrap(),
            violations,
        }
    }

    pub fn db_url(&self) -> String {
        match &self.db_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.db_dir.path().join("bot.db").display()),
        }
    }

    /// The same world with the bot's state in a fresh PostgreSQL schema.
    pub async fn on_postgres() -> Self {
        Self {
            db_url: Some(pg::fresh_database_url().await),
            ..Self::new()
        }
    }

    pub fn now_ms(&self) -> i64 {
        use opencloud::emulator::Clock as _;
        self.clock.now_ms()
    }

    /// A service over this world with the given audit log, wallet store and settings.
    pub async fn service_with(
        &self,
        audit: Arc<dyn AuditLog>,
        wallets: Arc<dyn WalletStore>,
        config: ServiceConfig,
    ) -> Service {
        self.service_over(audit, wallets, self.ports.clone(), config)
            .await
    }

    /// A service over this world with the given audit log, wallet store, messaging and settings.
    pub async fn service_over(
        &self,
        audit: Arc<dyn AuditLog>,
        wallets: Arc<dyn WalletStore>,
        messaging: Arc<dyn bot::service::Messaging>,
        config: ServiceConfig,
    ) -> Service {
        let ports = Ports {
            wallets,
            messaging,
            audit,
            users: self.ports.clone(),
            clock: Arc::new(VirtualClock::new(
                self.clock.clone(),
                Some(self.emulator.clone()),
            )),
        };
        let db = Db::open(&self.db_url()).await.unwrap();
        Service::new(ports, db, KeyRing::parse(COMMAND_KEYS).unwrap(), config)
    }

    pub async fn service(&self, api: &AuditApi, config: ServiceConfig) -> Service {
        let audit = Arc::new(ApiAuditLog::new(api.bot_client()));
        self.service_with(audit, self.ports.clone(), config).await
    }

    pub fn calls(&self) -> Calls {
        self.calls.snapshot()
    }

    pub fn stored(&self, user: u64) -> Option<Value> {
        self.emulator
            .store
            .get(&wallet_key(user))
            .map(|e| serde_json::from_str(&e.value).unwrap())
    }

    pub fn wallet(&self, user: u64) -> Wallet {
        self.stored(user)
            .and_then(|v| v.get("Data").cloned())
            .map(|d| serde_json::from_value(d).unwrap())
            .unwrap_or_default()
    }

    /// Writes a profile for `user` as the game would have left it (no session), with metadata.
    pub fn seed_offline_profile(&self, user: u64, balance: i64) {
        let value = json!({
            "Data": {"v": 1, "balance": balance, "ring": [], "watermark": 0, "outbox": []},
            "MetaData": {"ProfileCreateTime": 1_700_000_000, "SessionLoadCount": 4,
                         "LastUpdate": self.now_ms() / 1000 - 3_600, "MetaTags": []},
            "RobloxMetaData": {"vip": true}, "UserIds": [user],
            "GlobalUpdates": [0, []]
        });
        self.emulator
            .store
            .set(
                &wallet_key(user),
                &Writer::game_server("seed"),
                value.to_string(),
                Some("{\"tier\":\"gold\"}".into()),
                vec![user],
                Default::default(),
            )
            .unwrap();
    }

    pub fn assert_single_writer(&self) {
        let v = self.violations.lock();
        assert!(v.is_empty(), "single-writer violations: {v:#?}");
    }
}

fn holder(v: &Value) -> Option<String> {
    v.get("MetaData")?
        .get("ActiveSession")?
        .get(1)?
        .as_str()
        .map(str::to_owned)
}

/// "At most one writer per wallet" (docs/architecture.md, "Invariants"), checked on every emulated write: `Data` may change
/// only when nobody held the session lock in the replaced value, or the writer is the holder.
fn single_writer(ev: &WriteEvent) -> Result<(), String> {
    let parse = |e: &Option<opencloud::emulator::Entry>| -> Option<Value> {
        e.as_ref().and_then(|e| serde_json::from_str(&e.value).ok())
    };
    let (before, after) = (parse(&ev.before), parse(&ev.after));
    let data = |v: &Option<Value>| v.as_ref().and_then(|v| v.get("Data")).cloned();
    if data(&before) == data(&after) {
        return Ok(());
    }
    match (before.as_ref().and_then(holder), &ev.writer) {
        (None, _) => Ok(()),
        (Some(h), Writer::GameServer { job_id }) if *job_id == h => Ok(()),
        (Some(h), w) => Err(format!(
            "{}: Data changed by {w:?} while {h} held the session",
            ev.key
        )),
    }
}

#[derive(Default)]
struct StandInState {
    drop_next: usize,
    paused: bool,
    held: Vec<String>,
    seen: usize,
    applied: usize,
    /// Reads only single commands, as a bridge from before batch envelopes.
    predates_envelopes: bool,
    /// Batch envelopes received (signed, of any player).
    envelopes: usize,
}

/// STAND-IN for a game server running the Luau bridge on ProfileStore, used until the Luau
/// bridge / engine emulator is usable. It does what the bridge is specified to do and nothing
/// more: holds session locks in ProfileStore's stored shape (`MetaData.ActiveSession =
/// {PlaceId, JobId, SessionId}`, `LastUpdate`), subscribes to the command topic, verifies the
/// signature, applies `shared::apply` only to wallets it holds, saves (ring + outbox in the same
/// write) and then posts the audit record.
pub struct StandInServer {
    pub job_id: String,
    emulator: Arc<Emulator>,
    clock: Arc<ManualClock>,
    audit: Option<AuditClient>,
    state: Mutex<StandInState>,
}

impl StandInServer {
    pub fn start(world: &World, job_id: &str, audit: Option<AuditClient>) -> Arc<Self> {
        let server = Arc::new(Self {
            job_id: job_id.into(),
            emulator: world.emulator.clone(),
            clock: world.clock.clone(),
            audit,
            state: Mutex::default(),
        });
        let me = Arc::downgrade(&server);
        world.emulator.bus.subscribe(
            UNIVERSE,
            TOPIC,
            Arc::new(move |m: &opencloud::emulator::Message| {
                if let Some(s) = me.upgrade() {
                    s.receive(&m.data);
                }
            }),
        );
        server
    }

    fn now_ms(&self) -> i64 {
        use opencloud::emulator::Clock as _;
        self.clock.now_ms()
    }

    fn writer(&self) -> Writer {
        Writer::game_server(self.job_id.clone())
    }

    /// The player joins this server: the session lock is taken (profile created if missing).
    pub fn join(&self, user: u64) {
        let now_s = self.now_ms() / 1000;
        let job = self.job_id.clone();
        self.emulator
            .store
            .update(&wallet_key(user), &self.writer(), |cur| {
                let mut v: Value = cur
                    .map(|e| serde_json::from_str(&e.value).unwrap())
                    .unwrap_or_else(|| {
                        json!({"Data": {}, "MetaData": {"ProfileCreateTime": now_s,
                               "SessionLoadCount": 0, "MetaTags": {}},
                               "RobloxMetaData": {}, "UserIds": [], "GlobalUpdates": [0, []]})
                    });
                let meta = v["MetaData"].as_object_mut().unwrap();
                meta.insert("ActiveSession".into(), json!([1, job, "session-guid"]));
                meta.insert("LastUpdate".into(), json!(now_s));
                let loads = meta
                    .get("SessionLoadCount")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                meta.insert("SessionLoadCount".into(), json!(loads + 1));
                Transform::Write {
                    value: v.to_string(),
                    attributes: cur.and_then(|e| e.attributes.clone()),
                    user_ids: cur
                        .map(|e| e.user_ids.clone())
                        .unwrap_or_else(|| vec![user]),
                }
            })
            .unwrap();
    }

    /// The player leaves: the release save clears the lock.
    pub fn leave(&self, user: u64) {
        let now_s = self.now_ms() / 1000;
        self.emulator
            .store
            .update(&wallet_key(user), &self.writer(), |cur| {
                let Some(e) = cur else { return Transform::Keep };
                let mut v: Value = serde_json::from_str(&e.value).unwrap();
                let meta = v["MetaData"].as_object_mut().unwrap();
                meta.remove("ActiveSession");
                meta.insert("LastUpdate".into(), json!(now_s));
                Transform::Write {
                    value: v.to_string(),
                    attributes: e.attributes.clone(),
                    user_ids: e.user_ids.clone(),
                }
            })
            .unwrap();
    }

    /// The next `n` deliveries are lost before reaching the server.
    pub fn drop_next(&self, n: usize) {
        self.state.lock().drop_next = n;
    }

    /// Holds deliveries (a server too busy to process them) until `resume`.
    pub fn pause(&self) {
        self.state.lock().paused = true;
    }

    /// Stops holding; held messages are processed now when `process_held`, else discarded.
    pub fn resume(&self, process_held: bool) {
        let held = {
            let mut s = self.state.lock();
            s.paused = false;
            std::mem::take(&mut s.held)
        };
        if process_held {
            for m in held {
                self.process(&m);
            }
        }
    }

    pub fn seen(&self) -> usize {
        self.state.lock().seen
    }

    /// From now on the server reads only single commands and refuses batch envelopes as an
    /// unknown body, as a bridge from before envelopes does.
    pub fn predate_envelopes(&self) {
        self.state.lock().predates_envelopes = true;
    }

    /// Signed batch envelopes this server read (whoever they were for).
    pub fn envelopes(&self) -> usize {
        self.state.lock().envelopes
    }

    pub fn applied(&self) -> usize {
        self.state.lock().applied
    }

    fn receive(&self, data: &str) {
        {
            let mut s = self.state.lock();
            s.seen += 1;
            if s.drop_next > 0 {
                s.drop_next -= 1;
                return;
            }
            if s.paused {
                s.held.push(data.to_owned());
                return;
            }
        }
        self.process(data);
    }

    /// The library's periodic save: every wallet this server holds is written again as it is,
    /// stamped with the save's time (`LastUpdate`).
    pub fn autosave(&self, user: u64) {
        let now_s = self.now_ms() / 1000;
        let job = self.job_id.clone();
        self.emulator
            .store
            .update(&wallet_key(user), &self.writer(), |cur| {
                let Some(e) = cur else { return Transform::Keep };
                let mut v: Value = serde_json::from_str(&e.value).unwrap();
                if holder(&v).as_deref() != Some(job.as_str()) {
                    return Transform::Keep;
                }
                v["MetaData"]["LastUpdate"] = json!(now_s);
                Transform::Write {
                    value: v.to_string(),
                    attributes: e.attributes.clone(),
                    user_ids: e.user_ids.clone(),
                }
            })
            .unwrap();
    }

    /// Held deliveries applied as of `applied_ms` (the server applied them in memory then) and
    /// saved now: a save that lands after the command expired, holding an apply from before.
    pub fn apply_held_as_of(&self, applied_ms: i64) {
        let held = std::mem::take(&mut self.state.lock().held);
        for m in held {
            self.process_at(&m, applied_ms);
        }
    }

    fn process(&self, data: &str) {
        self.process_at(data, self.now_ms());
    }

    fn process_at(&self, data: &str, now: i64) {
        let keys = KeyRing::parse(COMMAND_KEYS).unwrap();
        let Ok(cmds) = (if self.state.lock().predates_envelopes {
            shared::decode_command_message(data, &keys).map(|c| vec![c])
        } else {
            shared::decode_message(data, &keys)
        }) else {
            return;
        };
        let body = data.splitn(4, '.').nth(3).unwrap_or_default();
        if body.starts_with("{\"v\":1,\"batch\":") {
            self.state.lock().envelopes += 1;
        }
        // Each command of an envelope is handled as if it had arrived alone.
        for cmd in cmds {
            self.apply_one(&cmd, now);
        }
    }

    fn apply_one(&self, cmd: &shared::Command, now: i64) {
        let saved_at = self.now_ms();
        let job = self.job_id.clone();
        let mut committed: Option<AuditRecord> = None;
        self.emulator
            .store
            .update(&wallet_key(cmd.user_id), &self.writer(), |cur| {
                let Some(e) = cur else { return Transform::Keep };
                let mut v: Value = serde_json::from_str(&e.value).unwrap();
                if holder(&v).as_deref() != Some(job.as_str()) {
                    return Transform::Keep; // not ours: ignore (never force-load)
                }
                let mut wallet: Wallet =
                    serde_json::from_value(v["Data"].clone()).unwrap_or_default();
                let outcome = shared::apply(&mut wallet, cmd, now, &Limits::default());
                if !outcome.changed_wallet() {
                    return Transform::Keep;
                }
                let rec = wallet.ring.back().unwrap().clone();
                let record = AuditRecord::from_command(cmd, &rec, Some(job.clone()));
                wallet.outbox.push(record.clone());
                committed = Some(record);
                v["Data"] = serde_json::to_value(&wallet).unwrap();
                v["MetaData"]["LastUpdate"] = json!(saved_at / 1000);
                Transform::Write {
                    value: v.to_string(),
                    attributes: e.attributes.clone(),
                    user_ids: e.user_ids.clone(),
                }
            })
            .unwrap();
        if let Some(record) = committed {
            self.state.lock().applied += 1;
            if let Some(client) = self.audit.clone() {
                // Commit, then tell: posted after the save; if the API is down it stays in the outbox.
                tokio::spawn(async move {
                    let key = format!("game-{}", record.txn_id);
                    let _ = client.post_records(&[record], &key).await;
                });
            }
        }
    }
}
