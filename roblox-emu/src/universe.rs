//! A universe of N game servers sharing one Open Cloud store and bus: the frame loop over virtual
//! time, players, message delivery, fault injection, scheduled actions and invariant checks.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opencloud::emulator::WriteEvent;

use crate::action::Action;
use crate::backend::Backend;
use crate::budget::Throttle;
use crate::config::{TimeMode, UniverseConfig};
use crate::error::EmuError;
use crate::http::RateLimit;
use crate::invariant::{Invariant, Violation};
use crate::place::Place;
use crate::server::{Server, ServerCtx};
use crate::shared_state::Shared;

/// Where a server is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Running normally.
    Running,
    /// BindToClose callbacks are running; dies when they return or after the timeout.
    Closing {
        /// Virtual µs after which the server is killed regardless.
        deadline_us: u64,
    },
    /// Gone (crashed or closed).
    Dead,
}

struct Slot {
    server: Option<Server>,
    state: Lifecycle,
}

struct PendingMessage {
    due_us: u64,
    seq: u64,
    server: usize,
    topic: String,
    data: String,
    sent: f64,
}

/// Tells universes sharing one experience apart (a Luau Execution task runs in a universe of its
/// own over the same backend), so their servers count separately in the experience's CCU.
static NEXT_UNIVERSE: AtomicU64 = AtomicU64::new(0);

/// N game servers, one store, one bus, one virtual clock.
pub struct Universe {
    /// This universe's servers are `instance << 32 | index` in the shared experience.
    instance: u64,
    shared: Rc<Shared>,
    backend: Backend,
    slots: Vec<Slot>,
    invariants: Arc<Mutex<Vec<(String, Invariant)>>>,
    violations: Arc<Mutex<Vec<Violation>>>,
    pending: Vec<PendingMessage>,
    msg_seq: u64,
    actions: BTreeMap<(u64, u64), Action>,
    action_seq: u64,
    wall_origin: Instant,
    peak_lua_bytes: usize,
}

impl std::fmt::Debug for Universe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Universe")
            .field("servers", &self.slots.len())
            .field("now_s", &self.now_s())
            .finish()
    }
}

impl Drop for Universe {
    /// A universe that ends takes its servers out of the shared experience.
    fn drop(&mut self) {
        let universe = self.shared.cfg.universe_id;
        for i in 0..self.slots.len() {
            self.shared
                .experience
                .remove_server(universe, self.population_id(i));
        }
        let running = self.shared.experience.server_count(universe) as u64;
        self.shared.bus.set_game_servers(universe, running);
    }
}

impl Universe {
    /// A universe with its own backend.
    pub fn new(cfg: UniverseConfig, place: Place) -> Self {
        let backend = Backend::new(cfg.start_unix_ms);
        Self::with_backend(cfg, place, backend)
    }

    /// A universe over an existing backend (shared with the bot's Open Cloud emulator).
    pub fn with_backend(cfg: UniverseConfig, place: Place, backend: Backend) -> Self {
        backend.clock.set(cfg.start_unix_ms);
        let shared = Rc::new(Shared::new(cfg, place, &backend));
        let invariants: Arc<Mutex<Vec<(String, Invariant)>>> = Arc::default();
        let violations: Arc<Mutex<Vec<Violation>>> = Arc::default();
        {
            let invariants = invariants.clone();
            let violations = violations.clone();
            backend
                .store
                .add_write_hook(Arc::new(move |ev: &WriteEvent| {
                    let Ok(list) = invariants.lock() else { return };
                    for (name, check) in list.iter() {
                        if let Err(detail) = check(ev) {
                            if let Ok(mut v) = violations.lock() {
                                v.push(Violation {
                                    invariant: name.clone(),
                                    at_ms: ev.at_ms,
                                    key: format!(
                                        "{}/{}/{}",
                                        ev.key.datastore, ev.key.scope, ev.key.key
                                    ),
                                    detail,
                                });
                            }
                        }
                    }
                }));
        }
        shared.trace(None, "start", &format!("seed={}", shared.cfg.seed));
        Self {
            instance: NEXT_UNIVERSE.fetch_add(1, Ordering::Relaxed),
            shared,
            backend,
            slots: Vec::new(),
            invariants,
            violations,
            pending: Vec::new(),
            msg_seq: 0,
            actions: BTreeMap::new(),
            action_seq: 0,
            wall_origin: Instant::now(),
            peak_lua_bytes: 0,
        }
    }

    /// The store, bus and clock (give them to the bot's Open Cloud emulator).
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The configuration.
    pub fn config(&self) -> &UniverseConfig {
        &self.shared.cfg
    }

    /// Virtual seconds since start.
    pub fn now_s(&self) -> f64 {
        self.shared.now_us() as f64 / 1e6
    }

    /// Registers a user for `GetUserIdFromNameAsync` / `GetNameFromUserIdAsync`.
    pub fn register_user(&self, user_id: u64, name: &str) {
        self.shared
            .users
            .borrow_mut()
            .insert(user_id, name.to_owned());
    }

    /// Adds an invariant checked on every DataStore write from now on.
    pub fn add_invariant(&self, name: &str, check: Invariant) {
        if let Ok(mut list) = self.invariants.lock() {
            list.push((name.to_owned(), check));
        }
    }

    /// Violations so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Starts a new server running the place; returns its index.
    pub fn start_server(&mut self) -> Result<usize, EmuError> {
        self.start_server_with(true)
    }

    /// Starts a server whose place is mounted but whose Scripts do not run, as Luau Execution
    /// tasks see a place ("Server and local scripts within the place also do not automatically
    /// run"); returns its index.
    pub fn start_task_server(&mut self) -> Result<usize, EmuError> {
        self.start_server_with(false)
    }

    fn start_server_with(&mut self, scripts: bool) -> Result<usize, EmuError> {
        let index = self.slots.len();
        let job_id = self.shared.guid().to_ascii_lowercase();
        let ctx = Rc::new(ServerCtx {
            index,
            job_id: job_id.clone(),
            start_us: self.shared.now_us(),
            shared: self.shared.clone(),
            throttle: RefCell::new(Throttle::new(self.shared.cfg.limits.clone(), 0, 0.0)),
            cache: RefCell::new(HashMap::new()),
            cutoff_until_us: Cell::new(0),
            messaging_cut: Cell::new(false),
            output: RefCell::new(Vec::new()),
            remote_calls: RefCell::new(Vec::new()),
            kicked: RefCell::new(Vec::new()),
            http: RefCell::new(HashMap::new()),
            next_http: Cell::new(0),
            http_limit: RefCell::new(RateLimit::new(self.shared.cfg.http_per_minute)),
            inbox: Arc::default(),
            subscriptions: RefCell::new(HashMap::new()),
            msg_sent: RefCell::new(RateLimit::new(0)),
            msg_subscribes: RefCell::new(RateLimit::new(0)),
            players: Cell::new(0),
            script_errors: Cell::new(0),
        });
        self.shared.trace(Some(index), "server-start", &job_id);
        let server = Server::new(ctx)?;
        self.slots.push(Slot {
            server: Some(server),
            state: Lifecycle::Running,
        });
        self.sync_population();
        if let Some(s) = self.slots[index].server.as_ref().filter(|_| scripts) {
            s.start()?;
        }
        Ok(index)
    }

    /// Tells the shared experience and bus who is playing: each running (or closing) server's
    /// players make the experience's CCU, gone servers leave it. Called on every change the
    /// universe makes and once per frame (scripts can kick players).
    fn sync_population(&self) {
        let universe = self.shared.cfg.universe_id;
        let experience = &self.shared.experience;
        for (i, slot) in self.slots.iter().enumerate() {
            let id = self.population_id(i);
            match &slot.server {
                Some(s) => experience.set_server_players(universe, id, s.ctx.players.get() as u64),
                None => experience.remove_server(universe, id),
            }
        }
        let running = experience.server_count(universe) as u64;
        self.shared.bus.set_game_servers(universe, running);
    }

    /// Server `index`'s id in the shared experience.
    fn population_id(&self, index: usize) -> u64 {
        (self.instance << 32) | index as u64
    }

    /// A running (or closing) server.
    pub fn server(&self, index: usize) -> Option<&Server> {
        self.slots.get(index).and_then(|s| s.server.as_ref())
    }

    /// Number of servers ever started.
    pub fn server_count(&self) -> usize {
        self.slots.len()
    }

    /// Lifecycle of a server.
    pub fn lifecycle(&self, index: usize) -> Option<Lifecycle> {
        self.slots.get(index).map(|s| s.state)
    }

    fn live(&self, index: usize) -> Result<&Server, EmuError> {
        match self.slots.get(index) {
            Some(Slot {
                server: Some(s),
                state: Lifecycle::Running,
            }) => Ok(s),
            _ => Err(EmuError::NoServer(index)),
        }
    }

    /// A player joins a server now.
    pub fn player_join(&mut self, server: usize, user_id: u64) -> Result<(), EmuError> {
        let name = self
            .shared
            .name_from_user_id(user_id)
            .unwrap_or_else(|| format!("Player{user_id}"));
        self.register_user(user_id, &name);
        self.shared
            .trace(Some(server), "join", &user_id.to_string());
        let joined = self.live(server)?.player_join(roblox_id(user_id)?, &name);
        self.sync_population();
        joined
    }

    /// A player leaves a server now.
    pub fn player_leave(&mut self, server: usize, user_id: u64) -> Result<(), EmuError> {
        self.leave(server, roblox_id(user_id)?)
    }

    /// Studio's local test player `n` (1, 2, ...) joins: `Player<n>` with user id `-n`, as in a
    /// Studio "Local Server" test. Only in a universe configured as Studio.
    pub fn studio_test_player_join(&mut self, server: usize, n: u32) -> Result<(), EmuError> {
        if !self.shared.cfg.studio {
            return Err(EmuError::Engine(
                "test players with negative user ids exist only in Studio".into(),
            ));
        }
        let user_id = -i64::from(n.max(1));
        self.shared
            .trace(Some(server), "join", &user_id.to_string());
        self.live(server)?
            .player_join(user_id, &format!("Player{n}"))
    }

    /// Studio's local test player `n` leaves.
    pub fn studio_test_player_leave(&mut self, server: usize, n: u32) -> Result<(), EmuError> {
        self.leave(server, -i64::from(n.max(1)))
    }

    fn leave(&mut self, server: usize, user_id: i64) -> Result<(), EmuError> {
        self.shared
            .trace(Some(server), "leave", &user_id.to_string());
        let s = self.live(server)?;
        s.ctx.players.set(s.ctx.players.get().saturating_sub(1));
        let left = s.player_leave(user_id);
        self.sync_population();
        left
    }

    /// Kills a server at once: no PlayerRemoving, no BindToClose, nothing saved.
    pub fn crash(&mut self, index: usize) -> Result<(), EmuError> {
        let slot = self.slots.get_mut(index).ok_or(EmuError::NoServer(index))?;
        if let Some(s) = slot.server.take() {
            s.detach();
        }
        slot.state = Lifecycle::Dead;
        self.shared.trace(Some(index), "crash", "");
        self.sync_population();
        Ok(())
    }

    /// Starts a graceful shutdown: players leave, BindToClose runs for up to the close timeout.
    pub fn shutdown(&mut self, index: usize) -> Result<(), EmuError> {
        let deadline_us = self.shared.now_us() + (self.shared.cfg.close_timeout_s * 1e6) as u64;
        self.live(index)?.begin_close()?;
        if let Some(slot) = self.slots.get_mut(index) {
            slot.state = Lifecycle::Closing { deadline_us };
        }
        self.shared.trace(Some(index), "shutdown", "");
        Ok(())
    }

    /// Cuts a server off from the DataStore (zombie) for `seconds`; it returns afterwards.
    pub fn cut_off(&mut self, index: usize, seconds: f64, messaging: bool) -> Result<(), EmuError> {
        let s = self.server(index).ok_or(EmuError::NoServer(index))?;
        s.ctx
            .cutoff_until_us
            .set(self.shared.now_us() + (seconds * 1e6) as u64);
        s.ctx.messaging_cut.set(messaging);
        self.shared.trace(
            Some(index),
            "cut-off",
            &format!("{seconds}s messaging={messaging}"),
        );
        Ok(())
    }

    /// Empties a server's DataStore budgets (throttling).
    pub fn drain_budget(&mut self, index: usize) -> Result<(), EmuError> {
        let s = self.server(index).ok_or(EmuError::NoServer(index))?;
        s.ctx.throttle.borrow_mut().drain();
        self.shared.trace(Some(index), "drain-budget", "");
        Ok(())
    }

    /// Publishes as an outside party (the bot through Open Cloud), through the bus's faults.
    pub fn publish(&self, topic: &str, data: &str) {
        self.shared
            .trace(None, "publish", &format!("{topic} {data}"));
        self.shared
            .bus
            .publish_faulty(self.shared.cfg.universe_id, topic, data.to_owned());
    }

    /// Runs Luau source as a new Script on a server.
    pub fn run_snippet(&self, index: usize, name: &str, source: &str) -> Result<(), EmuError> {
        self.live(index)?.run_snippet(name, source)
    }

    /// Runs Luau source as a Luau Execution task's script on a server (see
    /// [`Universe::start_task_server`]); poll it with [`Universe::task_result`].
    pub fn run_task(
        &self,
        index: usize,
        name: &str,
        source: &str,
    ) -> Result<crate::server::TaskHandle, EmuError> {
        self.live(index)?.run_task(name, source)
    }

    /// A task's end, once it ended: its return values as JSON, or its error message.
    pub fn task_result(
        &self,
        index: usize,
        task: &crate::server::TaskHandle,
    ) -> Result<Option<Result<Vec<serde_json::Value>, String>>, EmuError> {
        self.live(index)?.task_result(task)
    }

    /// A player's client fires a RemoteEvent (`path` below the DataModel) with JSON-array args.
    pub fn client_fire(
        &self,
        index: usize,
        remote: &str,
        user_id: u64,
        args_json: &str,
    ) -> Result<(), EmuError> {
        self.live(index)?.client_fire(remote, user_id, args_json)
    }

    /// Schedules an action at virtual time `at_s`.
    pub fn schedule(&mut self, at_s: f64, action: Action) {
        self.action_seq += 1;
        self.actions
            .insert(((at_s * 1e6) as u64, self.action_seq), action);
    }

    fn apply(&mut self, action: Action) -> Result<(), EmuError> {
        // Actions aimed at a server that is gone are skipped (a random schedule may do that).
        let r = match action {
            Action::Join { server, user_id } => self.player_join(server, user_id),
            Action::Leave { server, user_id } => self.player_leave(server, user_id),
            Action::Crash(s) => self.crash(s),
            Action::Shutdown(s) => self.shutdown(s),
            Action::CutOff {
                server,
                seconds,
                messaging,
            } => self.cut_off(server, seconds, messaging),
            Action::DrainBudget(s) => self.drain_budget(s),
            Action::StartServer => self.start_server().map(|_| ()),
            Action::Publish { topic, data } => {
                self.publish(&topic, &data);
                Ok(())
            }
        };
        match r {
            Err(EmuError::NoServer(_)) => Ok(()),
            other => other,
        }
    }

    fn frame_us(&self) -> u64 {
        1_000_000 / u64::from(self.shared.cfg.fps.max(1))
    }

    /// Advances one frame.
    pub fn step(&mut self) -> Result<(), EmuError> {
        let dt_us = self.frame_us();
        let now = self.shared.now_us() + dt_us;
        self.shared.now_us.set(now);
        self.backend.clock.set(self.shared.unix_ms());
        self.sync_population();
        self.shared.bus.deliver_due();

        while let Some(entry) = self.actions.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let action = entry.remove();
            self.apply(action)?;
        }

        self.collect_messages(now);
        self.deliver_messages(now)?;

        let dt = dt_us as f64 / 1e6;
        for i in 0..self.slots.len() {
            let state = self.slots[i].state;
            let Some(server) = self.slots[i].server.as_ref() else {
                continue;
            };
            let t = (now - server.ctx.start_us) as f64 / 1e6;
            server.step(t, dt)?;
            if let Lifecycle::Closing { deadline_us } = state {
                if server.close_done()? || now >= deadline_us {
                    self.shared.trace(Some(i), "closed", "");
                    if let Some(s) = self.slots[i].server.take() {
                        s.detach();
                    }
                    self.slots[i].state = Lifecycle::Dead;
                }
            }
        }
        if now % 1_000_000 < dt_us {
            let total: usize = self
                .slots
                .iter()
                .filter_map(|s| s.server.as_ref())
                .map(Server::used_memory)
                .sum();
            self.peak_lua_bytes = self.peak_lua_bytes.max(total);
        }
        Ok(())
    }

    fn collect_messages(&mut self, now: u64) {
        let faults = self.shared.cfg.faults.clone();
        for i in 0..self.slots.len() {
            let Some(server) = self.slots[i].server.as_ref() else {
                continue;
            };
            let msgs: Vec<_> = match server.ctx.inbox.lock() {
                Ok(mut q) => q.drain(..).collect(),
                Err(_) => continue,
            };
            for m in msgs {
                if faults.message_drop > 0.0 && self.shared.chance(faults.message_drop) {
                    self.shared.trace(Some(i), "msg-drop", &m.topic);
                    continue;
                }
                let copies = if faults.message_duplicate > 0.0
                    && self.shared.chance(faults.message_duplicate)
                {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let mut delay = self.shared.uniform(self.shared.cfg.message_latency_s);
                    if faults.message_delay > 0.0 && self.shared.chance(faults.message_delay) {
                        delay += self.shared.uniform(faults.message_delay_s);
                    }
                    self.msg_seq += 1;
                    self.pending.push(PendingMessage {
                        due_us: now + (delay * 1e6) as u64,
                        seq: self.msg_seq,
                        server: i,
                        topic: m.topic.clone(),
                        data: m.data.clone(),
                        sent: m.sent_unix_seconds,
                    });
                }
            }
        }
    }

    fn deliver_messages(&mut self, now: u64) -> Result<(), EmuError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let (mut due, rest): (Vec<_>, Vec<_>) =
            self.pending.drain(..).partition(|p| p.due_us <= now);
        self.pending = rest;
        due.sort_by_key(|p| (p.due_us, p.seq));
        for p in due {
            let Some(server) = self.slots.get(p.server).and_then(|s| s.server.as_ref()) else {
                continue;
            };
            self.shared.trace(
                Some(p.server),
                "deliver",
                &format!("{} {}", p.topic, p.data),
            );
            server.deliver(&p.topic, &p.data, p.sent)?;
        }
        Ok(())
    }

    /// Runs frames for `seconds` of virtual time (paced to the wall clock in real-time mode).
    pub fn run_for(&mut self, seconds: f64) -> Result<(), EmuError> {
        let end = self.shared.now_us() + (seconds * 1e6) as u64;
        while self.shared.now_us() < end {
            self.step()?;
            if self.shared.cfg.mode == TimeMode::RealTime {
                let target = Duration::from_micros(self.shared.now_us());
                let elapsed = self.wall_origin.elapsed();
                if target > elapsed {
                    std::thread::sleep(target - elapsed);
                }
            }
        }
        Ok(())
    }

    /// Runs until `done` holds or `max_seconds` pass; returns whether `done` held.
    pub fn run_until(
        &mut self,
        max_seconds: f64,
        mut done: impl FnMut(&Universe) -> bool,
    ) -> Result<bool, EmuError> {
        let end = self.shared.now_us() + (max_seconds * 1e6) as u64;
        while self.shared.now_us() < end {
            if done(self) {
                return Ok(true);
            }
            self.run_for(self.frame_us() as f64 / 1e6)?;
        }
        Ok(done(self))
    }

    /// Hex digest of the event trace (equal digests = identical runs).
    pub fn trace_digest(&self) -> String {
        self.shared.trace.borrow().digest()
    }

    /// The event trace lines.
    pub fn trace_lines(&self) -> Vec<String> {
        self.shared.trace.borrow().lines().to_vec()
    }

    /// Events recorded.
    pub fn trace_events(&self) -> u64 {
        self.shared.trace.borrow().events()
    }

    /// Largest total Lua heap seen across servers (sampled once per virtual second), bytes.
    pub fn peak_lua_bytes(&self) -> usize {
        self.peak_lua_bytes
    }

    /// Uncaught script errors across all servers still alive.
    pub fn script_errors(&self) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.server.as_ref())
            .map(Server::script_errors)
            .sum()
    }
}

/// A Roblox user id as the engine holds it (ids of real accounts are positive and below 2^53).
fn roblox_id(user_id: u64) -> Result<i64, EmuError> {
    i64::try_from(user_id)
        .ok()
        .filter(|&id| id < (1 << 53))
        .ok_or_else(|| EmuError::Engine(format!("user id {user_id} is beyond 2^53")))
}
