//! One whole-system run: the parts started, the plan played frame by frame in virtual time, the
//! settle phase, then the invariant checks (`checks`).
//!
//! The universe (`!Send`, Luau VMs) is stepped on this thread inside a current-thread tokio
//! runtime that also runs the bot's tasks; the Open Cloud emulator serves on a runtime of its
//! own, the audit API is a separate process. Before every frame the driver waits until each bot
//! task is parked on a virtual wait ([`crate::vclock`]), so what the bot does between two frames
//! happens at one virtual instant and the universe never outruns it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::CallCounter;
use bot::adapters::open_cloud::{OpenCloudPorts, WalletLocation};
use bot::service::{
    ActorCtx, Db, MoveRequest, Outcome, Policy, Ports, Service, ServiceConfig, Target,
};
use opencloud::emulator::{
    ApiKey as EmulatorKey, Emulator, EmulatorConfig, FaultKind, FaultPlan, FaultRule, Operation,
    RunningEmulator, User,
};
use roblox_emu::{Faults, Universe, UniverseConfig, invariant};
use serde::Serialize;
use shared::{KeyRing, Limits, TxnId};
use tokio::task::JoinHandle;

use crate::api_process::ApiProcess;
use crate::error::HarnessError;
use crate::net::{Delayed, Wire};
use crate::schedule::{ACTIVE_S, BotEvent, Plan, PlannedCommand, USERS, plan};
use crate::spec::RunSpec;
use crate::vclock::VirtualTime;
use crate::view;

/// The command topic.
const TOPIC: &str = "discord-commands";
/// The command signing key (id `k1`), as the bot's COMMAND_KEYS and the servers' settings hold it.
const COMMAND_KEY_HEX: &str = "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";
/// The staff role the campaign's actor holds.
const STAFF_ROLE: &str = "900000000000000001";
/// Frames per virtual second.
const FPS: u32 = 10;
/// How far behind the wall clock the universe starts: its signed requests to the audit API must
/// stay within the API's ±300 s for the whole run (virtual time runs ahead of the wall clock).
const START_BEHIND_MS: i64 = 200_000;
/// A reconciler pass every this many virtual seconds, as `economy-bot serve` runs it.
const RECONCILE_EVERY_S: f64 = 20.0;

/// The bot's settings in a campaign: production's rules with windows that fit a run (a 60 s
/// validity window, 30 s grace, re-publish every 5 s, a 30 s reply budget) and no long-poll (the
/// API's long-poll waits on the wall clock, which virtual time cannot move; the bot reads the
/// audit log once per round instead, the same path with a zero wait).
pub fn service_config(library: bot::service::ProfileLibrary) -> ServiceConfig {
    ServiceConfig {
        topic: TOPIC.into(),
        library,
        limits: Limits::default(),
        command_ttl: Duration::from_secs(60),
        grace: Duration::from_secs(30),
        long_poll: Duration::ZERO,
        round_pause: Duration::from_secs(1),
        republish_every: Duration::from_secs(5),
        reply_budget: Duration::from_secs(30),
        policy: Policy {
            role_max: [(STAFF_ROLE.to_owned(), 1_000_000)].into(),
            daily_cap: 1_000_000_000,
            cooldown: Duration::ZERO,
            confirm_above: 1_000_000_000,
        },
        bulk: bot::service::BulkConfig::default(),
    }
}

/// What the bot told staff, and when.
#[derive(Clone, Debug)]
pub struct Reported {
    /// Virtual seconds.
    pub at_s: f64,
    /// The txn.
    pub txn: TxnId,
    /// What it said.
    pub outcome: Outcome,
}

/// Counters of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Commands asked of the bot.
    pub commands: usize,
    /// Settled applied / rejected / not delivered (the bot's database after settling).
    pub applied: usize,
    /// Settled rejected.
    pub rejected: usize,
    /// Settled not delivered.
    pub not_delivered: usize,
    /// Audit rows at the end.
    pub audit_rows: usize,
    /// Bot restarts.
    pub bot_restarts: u32,
    /// Audit API kills.
    pub api_kills: u32,
    /// Virtual seconds run.
    pub virtual_s: f64,
}

/// The result of one run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run.
    pub spec: RunSpec,
    /// Invariant violations (empty: the run passed).
    pub violations: Vec<String>,
    /// The bot side's events.
    pub events: Vec<String>,
    /// The universe's trace digest.
    pub digest: String,
    /// With `keep_trace`: the universe's trace lines (engine events and the servers' output).
    pub trace: Vec<String>,
    /// Counters.
    pub stats: Stats,
    /// Wall-clock ms the run took.
    pub wall_ms: u64,
}

/// How runs are carried out.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The campaign binary (its `serve-api` mode is the audit API process).
    pub api_exe: PathBuf,
    /// Keep the universe's trace lines in memory (a replay prints them).
    pub keep_trace: bool,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, at_s: f64, line: String) {
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(format!("{at_s:8.2}s {line}"));
}

/// The parts a (re)started bot is built from.
struct BotParts {
    ports: Ports,
    db_url: String,
    keys: KeyRing,
    config: ServiceConfig,
}

/// A running bot: its service and its tasks.
struct Bot {
    service: Arc<Service>,
    tasks: Vec<JoinHandle<()>>,
    reconciling: Option<JoinHandle<()>>,
}

pub(crate) struct Driver {
    pub(crate) u: Universe,
    time: VirtualTime,
    parts: BotParts,
    bot: Option<Bot>,
    pub(crate) api: ApiProcess,
    pub(crate) reported: Arc<Mutex<Vec<Reported>>>,
    pub(crate) log: Log,
    pub(crate) stats: Stats,
    last_reconcile_s: f64,
    _emulator: RunningEmulator,
    /// The run's databases; removed when the run ends.
    _dir: tempfile::TempDir,
}

fn actor() -> ActorCtx {
    ActorCtx {
        id: "100000000000000001".into(),
        name: "campaign".into(),
        roles: vec![STAFF_ROLE.into()],
    }
}

impl Driver {
    async fn start(
        spec: RunSpec,
        opts: &RunOptions,
        plan: &Plan,
        bg: &tokio::runtime::Handle,
    ) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("campaign-")
            .tempdir()
            .map_err(|e| HarnessError::Bot(e.to_string()))?;
        let api = ApiProcess::start(opts.api_exe.clone(), dir.path().join("audit.db"))?;

        // The universe: the bridge on the run's library, every engine fault on.
        let cfg = UniverseConfig {
            seed: spec.seed,
            fps: FPS,
            start_unix_ms: wall_ms() - START_BEHIND_MS,
            keep_trace: opts.keep_trace,
            http_enabled: true,
            faults: Faults {
                datastore_error_rate: 0.02,
                datastore_lost_answer_rate: 0.02,
                message_drop: 0.1,
                message_duplicate: 0.1,
                message_delay: 0.2,
                message_delay_s: (1.0, 8.0),
            },
            ..UniverseConfig::default()
        };
        let settings = bridge_harness::Settings {
            api_url: api.url(),
            audit_key_id: api.keys.game.id.to_string(),
            audit_secret_hex: api::testing::TestKeys::hex(&api.keys.game),
            command_keys: vec![("k1".to_owned(), COMMAND_KEY_HEX.to_owned())],
            library: spec.library.engine().module_name().to_owned(),
            data_store_name: None,
            key_prefix: None,
            command_topic: None,
            log_level: Some("debug".to_owned()),
        }
        .luau_module();
        let mut place = bridge_harness::bridge_place(settings, spec.library.engine(), None)
            .map_err(|e| HarnessError::Engine(e.to_string()))?;
        let stop_at = cfg.start_unix_ms / 1000 + ACTIVE_S as i64;
        place.script(
            "ServerScriptService.GameLoop",
            bridge_harness::game_loop(stop_at, 3, 4),
        );
        let universe_id = cfg.universe_id;
        let mut u = Universe::new(cfg, place);
        u.backend()
            .bus
            .set_receive_limit(Some(opencloud::emulator::ReceiveLimit::ROBLOX));
        u.add_invariant("session-lock", Box::new(invariant::session_lock));
        for (at_s, action) in &plan.actions {
            u.schedule(*at_s, action.clone());
        }
        for _ in 0..crate::schedule::SERVERS {
            u.start_server()?;
        }

        // Open Cloud over HTTP on the universe's own store and bus, with HTTP faults: 5xx,
        // 429 without a usable hint, and writes that land but answer 504.
        let backend = u.backend().clone();
        let key = format!(
            "campaign-{:016x}",
            spec.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        let clock: Arc<dyn opencloud::emulator::Clock> = backend.clock.clone();
        let emulator = Emulator::with_parts(
            clock,
            backend.store.clone(),
            backend.bus.clone(),
            backend.experience.clone(),
            EmulatorConfig {
                api_keys: vec![EmulatorKey::full_access_on(
                    "campaign",
                    &key,
                    vec![universe_id],
                )],
                users: (1..=USERS)
                    .map(|id| User::new(id, format!("Player{id}")))
                    .collect(),
                faults: FaultPlan {
                    seed: spec.seed,
                    rules: vec![
                        FaultRule::random(
                            vec![Operation::SetEntry],
                            FaultKind::ResponseLost {
                                hang_ms: 1,
                                status: 504,
                            },
                            0.04,
                        ),
                        FaultRule::random(
                            vec![
                                Operation::GetEntry,
                                Operation::SetEntry,
                                Operation::PublishV1,
                                Operation::PublishV2,
                            ],
                            FaultKind::Status(503),
                            0.03,
                        ),
                        FaultRule::random(
                            vec![Operation::GetEntry, Operation::SetEntry],
                            FaultKind::RateLimited {
                                retry_after_s: Some(30),
                                reset_s: 30,
                            },
                            0.02,
                        ),
                    ],
                    ..FaultPlan::default()
                },
                ..EmulatorConfig::default()
            },
        );
        let running = bg
            .spawn(async move {
                emulator
                    .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await
            })
            .await
            .map_err(|e| HarnessError::Bot(e.to_string()))?
            .map_err(|e| HarnessError::Bot(format!("the Open Cloud emulator: {e}")))?;

        // The bot's real adapters, behind the virtual wire.
        let mut oc = opencloud::client::ClientConfig::new(opencloud::client::ApiKey::new(key));
        oc = oc.with_base_url(
            url::Url::parse(&running.base_url()).map_err(|e| HarnessError::Bot(e.to_string()))?,
        );
        oc.timeout = Some(Duration::from_secs(10));
        // Retries on the wall clock are instants in virtual time; the service's own rounds (on
        // the virtual clock) do the waiting, so a long hint fails the call at once.
        oc.retry = opencloud::client::RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(5),
            max_hinted_delay: Duration::ZERO,
            jitter: false,
        };
        // The client's own budgets count wall-clock time, which a run compresses a hundredfold;
        // the emulator's server-side budgets (on the virtual clock) still apply.
        oc.limiter = opencloud::client::LimiterConfig::unlimited();
        let client =
            opencloud::client::OpenCloud::new(oc).map_err(|e| HarnessError::Bot(e.to_string()))?;
        let real = Arc::new(OpenCloudPorts::new(
            client,
            WalletLocation {
                universe_id,
                datastore: view::DATASTORE.into(),
                key_prefix: view::KEY_PREFIX.into(),
            },
            Arc::new(CallCounter::default()),
        ));
        let time = VirtualTime::new(backend.clock.clone());
        let delayed = Arc::new(Delayed::new(
            real.clone(),
            real.clone(),
            Wire::new(time.clone(), spec.seed ^ 0x5a5a, (0.05, 0.6)),
            spec.broken,
        ));
        let ports = Ports {
            wallets: delayed.clone(),
            messaging: delayed,
            audit: Arc::new(ApiAuditLog::new(api.bot_client())),
            users: real,
            clock: Arc::new(time.bot_clock(plan.skew_ms)),
        };
        let keys = KeyRing::parse(&format!("k1:{COMMAND_KEY_HEX}"))
            .map_err(|e| HarnessError::Bot(e.to_string()))?;
        let parts = BotParts {
            ports,
            db_url: format!("sqlite://{}", dir.path().join("bot.db").display()),
            keys,
            config: service_config(spec.library.bot()),
        };
        let mut me = Self {
            u,
            time,
            parts,
            bot: None,
            api,
            reported: Arc::default(),
            log: Arc::default(),
            stats: Stats::default(),
            last_reconcile_s: 0.0,
            _emulator: running,
            _dir: dir,
        };
        me.start_bot(false).await?;
        Ok(me)
    }

    fn now_s(&self) -> f64 {
        self.u.now_s()
    }

    async fn start_bot(&mut self, reconcile: bool) -> Result<(), HarnessError> {
        if self.bot.is_some() {
            return Ok(());
        }
        let db = Db::open(&self.parts.db_url)
            .await
            .map_err(|e| HarnessError::Bot(format!("bot database: {e}")))?;
        let service = Arc::new(Service::new(
            self.parts.ports.clone(),
            db,
            self.parts.keys.clone(),
            self.parts.config.clone(),
        ));
        self.bot = Some(Bot {
            service,
            tasks: Vec::new(),
            reconciling: None,
        });
        if reconcile {
            // `economy-bot serve` reconciles at start-up.
            self.spawn_reconcile();
        }
        Ok(())
    }

    async fn kill_bot(&mut self) {
        if let Some(bot) = self.bot.take() {
            let mut handles = bot.tasks;
            handles.extend(bot.reconciling);
            for h in &handles {
                h.abort();
            }
            for h in handles {
                let _ = h.await;
            }
            // Dropping the service drops its database pool without a clean close, as a killed
            // process would.
            drop(bot.service);
        }
    }

    fn spawn_reconcile(&mut self) {
        let Some(bot) = self.bot.as_mut() else {
            return;
        };
        if bot.reconciling.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let svc = bot.service.clone();
        let guard = self.time.task();
        let log = self.log.clone();
        let time = self.time.clone();
        let start_ms = self.u.config().start_unix_ms;
        let min_age = self.parts.config.reply_budget;
        bot.reconciling = Some(tokio::spawn(async move {
            let _g = guard;
            let r = svc
                .reconcile_older_than(Duration::from_secs(30), min_age)
                .await;
            let at_s = (time.now_ms() - start_ms) as f64 / 1000.0;
            match r {
                Ok(rep) if rep.settled + rep.audit_posted > 0 => note(
                    &log,
                    at_s,
                    format!(
                        "reconciler: {} settled, {} still pending, {} audit records posted",
                        rep.settled, rep.still_pending, rep.audit_posted
                    ),
                ),
                Ok(_) => {}
                Err(e) => note(&log, at_s, format!("reconciler failed: {e}")),
            }
        }));
    }

    fn spawn_command(&mut self, c: &PlannedCommand) {
        let now_s = self.now_s();
        let Some(bot) = self.bot.as_mut() else {
            note(
                &self.log,
                now_s,
                format!("command for user {} not sent: the bot is down", c.user_id),
            );
            return;
        };
        self.stats.commands += 1;
        let req = MoveRequest {
            actor: actor(),
            op: c.op,
            target: Target::Id(c.user_id),
            amount: c.amount,
            reason: "campaign".into(),
            replay: None,
        };
        note(
            &self.log,
            now_s,
            format!(
                "command {} {} for user {}",
                c.op.as_str(),
                c.amount,
                c.user_id
            ),
        );
        let svc = bot.service.clone();
        let guard = self.time.task();
        let log = self.log.clone();
        let reported = self.reported.clone();
        let time = self.time.clone();
        let start_ms = self.u.config().start_unix_ms;
        bot.tasks.push(tokio::spawn(async move {
            let _g = guard;
            let r = svc.execute(req).await;
            let at_s = (time.now_ms() - start_ms) as f64 / 1000.0;
            match r {
                Ok(receipt) => {
                    note(
                        &log,
                        at_s,
                        format!("receipt {}: {:?}", receipt.txn, receipt.outcome),
                    );
                    reported
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Reported {
                            at_s,
                            txn: receipt.txn,
                            outcome: receipt.outcome,
                        });
                }
                Err(e) => note(&log, at_s, format!("command refused: {e}")),
            }
        }));
    }

    async fn handle(&mut self, ev: &BotEvent) -> Result<(), HarnessError> {
        let now_s = self.now_s();
        match ev {
            BotEvent::Command(c) => self.spawn_command(c),
            BotEvent::KillBot => {
                if self.bot.is_some() {
                    note(&self.log, now_s, "bot killed".into());
                    self.kill_bot().await;
                    self.stats.bot_restarts += 1;
                }
            }
            BotEvent::StartBot => {
                if self.bot.is_none() {
                    note(&self.log, now_s, "bot started on the same database".into());
                    self.start_bot(true).await?;
                }
            }
            BotEvent::KillApi => {
                if self.api.is_up() {
                    note(&self.log, now_s, "audit API killed (SIGKILL)".into());
                    self.api.kill();
                }
            }
            BotEvent::StartApi => {
                if !self.api.is_up() {
                    note(&self.log, now_s, "audit API started again".into());
                    self.api.restart()?;
                }
            }
        }
        Ok(())
    }

    /// One frame: the bot settles, then the universe moves one frame, then due waits wake.
    async fn tick(&mut self) -> Result<(), HarnessError> {
        self.time.settle().await;
        if self.bot.is_some() && self.now_s() - self.last_reconcile_s >= RECONCILE_EVERY_S {
            self.last_reconcile_s = self.now_s();
            self.spawn_reconcile();
            self.time.settle().await;
        }
        self.u.step()?;
        self.time.fire_due();
        Ok(())
    }

    /// Frames until `seconds` pass or `done` holds; whether `done` held.
    pub(crate) async fn run_until(
        &mut self,
        seconds: f64,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool, HarnessError> {
        let end = self.now_s() + seconds;
        while self.now_s() < end {
            if done(self) {
                return Ok(true);
            }
            self.tick().await?;
        }
        Ok(done(self))
    }

    /// The active phase: the plan's bot events at their times, frames in between.
    async fn play(&mut self, events: &[(f64, BotEvent)]) -> Result<(), HarnessError> {
        let mut next = 0;
        while self.now_s() < ACTIVE_S {
            while next < events.len() && events[next].0 <= self.now_s() {
                let ev = events[next].1.clone();
                self.handle(&ev).await?;
                next += 1;
            }
            self.tick().await?;
        }
        for (_, ev) in &events[next..] {
            self.handle(ev).await?;
        }
        Ok(())
    }

    fn bot_tasks_done(&self) -> bool {
        self.bot
            .as_ref()
            .is_none_or(|b| b.tasks.iter().all(JoinHandle::is_finished))
    }

    async fn bot_has_work(&self) -> Result<bool, HarnessError> {
        let Some(bot) = self.bot.as_ref() else {
            return Ok(false);
        };
        let db = bot.service.db();
        let pending = db
            .pending()
            .await
            .map_err(|e| HarnessError::Bot(e.to_string()))?;
        let unacked = db
            .unacked_count()
            .await
            .map_err(|e| HarnessError::Bot(e.to_string()))?;
        Ok(!pending.is_empty() || unacked > 0)
    }

    /// Settling: the API and the bot come back and every player leaves; a fresh server holds
    /// each wallet once (dead servers' locks are taken over, their leftovers flushed) and lets it
    /// go; the bot finishes its commands and its reconciler empties its queues; then the fresh
    /// server holds each wallet once more, flushing the records the bot committed offline.
    async fn settle(&mut self) -> Result<(), String> {
        let h = |e: HarnessError| e.to_string();
        if !self.api.is_up() {
            note(&self.log, self.now_s(), "audit API started again".into());
            self.api.restart().map_err(h)?;
        }
        if self.bot.is_none() {
            note(
                &self.log,
                self.now_s(),
                "bot started on the same database".into(),
            );
            self.start_bot(true).await.map_err(h)?;
        }
        for s in 0..self.u.server_count() {
            if let Some(server) = self.u.server(s) {
                for uid in server.player_ids().map_err(|e| e.to_string())? {
                    // A closing server's players are already leaving.
                    let _ = self.u.player_leave(s, uid);
                }
            }
        }
        let fresh = self.u.start_server().map_err(|e| e.to_string())?;
        self.run_until(1.0, |_| false).await.map_err(h)?;
        self.visit(fresh).await?;
        self.run_until(120.0, Self::bot_tasks_done)
            .await
            .map_err(h)?;
        let mut quiet = false;
        for _ in 0..30 {
            if !self.bot_has_work().await.map_err(h)? {
                quiet = true;
                break;
            }
            self.spawn_reconcile();
            self.run_until(10.0, |_| false).await.map_err(h)?;
        }
        if !quiet {
            let pending = match self.bot.as_ref() {
                Some(bot) => bot
                    .service
                    .db()
                    .pending()
                    .await
                    .map(|rows| {
                        rows.iter()
                            .map(|r| format!("{} (user {})", r.txn, r.user_id))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            return Err(format!(
                "settle: the bot's queues never emptied: pending {pending:?}, {} unacknowledged; holders {:?}",
                self.bot_unacked().await.unwrap_or(-1),
                (1..=USERS)
                    .map(|uid| (uid, view::holder(&self.u, uid)))
                    .collect::<Vec<_>>()
            ));
        }
        self.visit(fresh).await?;
        // Whatever the visits acknowledged on the bot's side (records it wrote offline).
        self.spawn_reconcile();
        self.run_until(5.0, |d| d.time.tasks() == 0)
            .await
            .map_err(h)?;
        Ok(())
    }

    /// Every player joins the fresh server until each wallet is held there (or never existed)
    /// with an empty outbox, then everyone leaves and the sessions end.
    async fn visit(&mut self, fresh: usize) -> Result<(), String> {
        let h = |e: HarnessError| e.to_string();
        let fresh_job = self.u.server(fresh).map(|s| s.job_id().to_owned());
        let drained_now = |d: &Self| {
            (1..=USERS).all(|uid| {
                let holder = view::holder(&d.u, uid);
                view::stored(&d.u, uid).is_none()
                    || (view::outbox(&d.u, uid).is_empty()
                        && (holder.is_none() || holder == fresh_job))
            })
        };
        let mut drained = false;
        // A load that outlived its player may win the wallet on its return and release it before
        // its records were flushed: the player comes back (up to three visits).
        for _visit in 0..3 {
            let here = self
                .u
                .server(fresh)
                .map(|s| s.player_ids())
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            for uid in 1..=USERS {
                if !here.contains(&uid) {
                    self.u.player_join(fresh, uid).map_err(|e| e.to_string())?;
                }
            }
            drained = self.run_until(150.0, drained_now).await.map_err(h)?;
            if drained {
                break;
            }
            for uid in 1..=USERS {
                if view::holder(&self.u, uid) != fresh_job {
                    let _ = self.u.player_leave(fresh, uid);
                }
            }
            self.run_until(5.0, |_| false).await.map_err(h)?;
        }
        if !drained {
            return Err(format!(
                "settle: outboxes not drained: {:?}",
                (1..=USERS)
                    .map(|uid| (
                        uid,
                        view::holder(&self.u, uid),
                        view::outbox(&self.u, uid).len()
                    ))
                    .collect::<Vec<_>>()
            ));
        }
        for uid in 1..=USERS {
            let _ = self.u.player_leave(fresh, uid);
        }
        self.run_until(15.0, |_| false).await.map_err(h)?;
        Ok(())
    }

    /// The bot's audit records not acknowledged by the API (none when the bot is down).
    pub(crate) async fn bot_unacked(&self) -> Option<i64> {
        let bot = self.bot.as_ref()?;
        bot.service.db().unacked_count().await.ok()
    }

    /// Every txn the bot's database holds, with its stored outcome.
    pub(crate) async fn bot_txns(&self) -> Result<Vec<bot::service::db::TxnRow>, HarnessError> {
        let Some(bot) = self.bot.as_ref() else {
            return Ok(Vec::new());
        };
        let ids = crate::checks::txn_ids(&self.parts.db_url).await?;
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = bot
                .service
                .db()
                .get(&id)
                .await
                .map_err(|e| HarnessError::Bot(e.to_string()))?
            {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

/// Runs one seed and checks it.
pub fn run(spec: RunSpec, opts: &RunOptions) -> RunReport {
    let started = Instant::now();
    let plan = plan(spec.seed);
    let runtimes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|rt| {
            // The Open Cloud emulator serves on a thread of its own.
            let bg = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            Ok((rt, bg))
        });
    let (rt, bg) = match runtimes {
        Ok(r) => r,
        Err(e) => return failed(spec, started, vec![format!("harness: runtime: {e}")]),
    };
    let handle = bg.handle().clone();
    let (violations, events, digest, trace, stats) = rt.block_on(async {
        let mut d = match Driver::start(spec, opts, &plan, &handle).await {
            Ok(d) => d,
            Err(e) => {
                return (
                    vec![format!("harness: {e}")],
                    Vec::new(),
                    String::new(),
                    Vec::new(),
                    Stats::default(),
                );
            }
        };
        let mut violations = Vec::new();
        match d.play(&plan.events).await {
            Err(e) => violations.push(format!("harness: {e}")),
            Ok(()) => match d.settle().await {
                Err(e) => violations.push(e),
                Ok(()) => violations.extend(crate::checks::check(&mut d).await),
            },
        }
        d.stats.api_kills = d.api.kills;
        d.stats.virtual_s = d.now_s();
        d.kill_bot().await;
        let events = d.log.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let trace = d.u.trace_lines();
        (
            violations,
            events,
            d.u.trace_digest(),
            trace,
            d.stats.clone(),
        )
    });
    RunReport {
        spec,
        violations,
        events,
        digest,
        trace,
        stats,
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn failed(spec: RunSpec, started: Instant, violations: Vec<String>) -> RunReport {
    RunReport {
        spec,
        violations,
        events: Vec::new(),
        digest: String::new(),
        trace: Vec::new(),
        stats: Stats::default(),
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
