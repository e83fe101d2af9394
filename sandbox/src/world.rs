//! The emulated universe on its own thread (Luau VMs are `!Send`): N game servers, the player
//! simulation, and a channel of control messages (join, leave, crash, probes, fast-forward) from
//! the async side. Everything the servers print is collected into a shared log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use roblox_emu::{Backend, Lifecycle, Place, TimeMode, Universe, UniverseConfig};
use tokio::sync::oneshot;

use crate::population::{Move, Population, PopulationConfig};

/// How the universe's virtual time follows the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// The engine's real-time mode: one virtual second per wall second.
    RealTime,
    /// Deterministic frames paced to the wall clock, which [`WorldHandle::fast_forward`] may run
    /// ahead (the demo skips the library's minute-long timeouts this way).
    PacedVirtual,
}

/// What the world runs.
pub struct WorldConfig {
    /// Game servers started at once.
    pub servers: usize,
    /// Seed of the universe (latencies, JobIds, faults) and of the players.
    pub seed: u64,
    /// Time mode.
    pub pace: Pace,
    /// Frames per virtual second.
    pub fps: u32,
    /// Universe id (the bot uses the same).
    pub universe_id: u64,
    /// Virtual Unix ms at start (the sandbox starts at the wall clock's now).
    pub start_unix_ms: i64,
    /// The place every server runs.
    pub place: Place,
    /// Users known to `Players:GetNameFromUserIdAsync` (id, username).
    pub users: Vec<(u64, String)>,
    /// The simulated players, if any.
    pub population: Option<PopulationConfig>,
    /// DataStore request latency range, seconds (the engine emulator's default when `None`).
    pub datastore_latency_s: Option<(f64, f64)>,
    /// MessagingService delivery latency range, seconds (the default when `None`).
    pub message_latency_s: Option<(f64, f64)>,
}

/// One line a server printed (or a world event, `server: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Virtual ms since the universe started.
    pub t_ms: u64,
    /// Server index, none for world events.
    pub server: Option<usize>,
    /// `print`, `warn`, `error` or `world`.
    pub level: String,
    /// The text.
    pub text: String,
}

/// A server as seen from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// Index.
    pub index: usize,
    /// `game.JobId`.
    pub job_id: String,
    /// `running`, `closing` or `dead`.
    pub state: &'static str,
    /// Players on it.
    pub players: Vec<u64>,
    /// Uncaught script errors so far.
    pub script_errors: usize,
}

/// The world's state at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Virtual seconds since start.
    pub now_s: f64,
    /// Every server ever started.
    pub servers: Vec<ServerInfo>,
    /// Session-lock (single writer) violations so far.
    pub violations: Vec<roblox_emu::invariant::Violation>,
    /// Virtual seconds skipped by fast-forwarding.
    pub skipped_s: f64,
}

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Control {
    Join {
        user: u64,
        server: usize,
        reply: Reply<()>,
    },
    Leave {
        user: u64,
        reply: Reply<()>,
    },
    Crash {
        server: usize,
        reply: Reply<()>,
    },
    StartServer {
        reply: Reply<usize>,
    },
    Snippet {
        server: usize,
        source: String,
        reply: Reply<()>,
    },
    FastForward {
        seconds: f64,
        reply: Reply<()>,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
    Stop,
}

/// The async side's handle on the world thread.
pub struct WorldHandle {
    tx: Mutex<mpsc::Sender<Control>>,
    log: Arc<Mutex<Vec<LogLine>>>,
    writes: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for WorldHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldHandle").finish_non_exhaustive()
    }
}

/// Why a world request failed.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The world thread has stopped (after `stop`, or an engine failure it logged).
    #[error("the emulated universe is not running")]
    Stopped,
    /// The universe refused the request.
    #[error("{0}")]
    Refused(String),
}

impl WorldHandle {
    /// Starts the world thread over `backend` and waits until every server has started.
    /// `progress` gets a status line per step.
    pub async fn start(
        config: WorldConfig,
        backend: Backend,
        progress: impl Fn(&str) + Send + 'static,
    ) -> Result<Self, WorldError> {
        let (tx, rx) = mpsc::channel();
        let log: Arc<Mutex<Vec<LogLine>>> = Arc::default();
        let writes = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread = {
            let log = log.clone();
            let writes = writes.clone();
            std::thread::Builder::new()
                .name("universe".into())
                .spawn(move || world_main(config, backend, rx, log, writes, ready_tx, progress))
                .map_err(|e| {
                    WorldError::Refused(format!("cannot start the universe thread: {e}"))
                })?
        };
        let handle = Self {
            tx: Mutex::new(tx),
            log,
            writes,
            thread: Mutex::new(Some(thread)),
        };
        match ready_rx.await {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(e)) => {
                handle.stop().await;
                Err(WorldError::Refused(e))
            }
            Err(_) => Err(WorldError::Stopped),
        }
    }

    fn send(&self, c: Control) -> Result<(), WorldError> {
        let tx = self.tx.lock().map_err(|_| WorldError::Stopped)?;
        tx.send(c).map_err(|_| WorldError::Stopped)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Control) -> Result<T, WorldError> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply))?;
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(WorldError::Refused(e)),
            Err(_) => Err(WorldError::Stopped),
        }
    }

    /// A player joins server `server` (the simulation no longer moves them).
    pub async fn join(&self, user: u64, server: usize) -> Result<(), WorldError> {
        self.ask(|reply| Control::Join {
            user,
            server,
            reply,
        })
        .await
    }

    /// A player leaves whatever server they are on.
    pub async fn leave(&self, user: u64) -> Result<(), WorldError> {
        self.ask(|reply| Control::Leave { user, reply }).await
    }

    /// Kills a server at once (no PlayerRemoving, no BindToClose, nothing saved).
    pub async fn crash(&self, server: usize) -> Result<(), WorldError> {
        self.ask(|reply| Control::Crash { server, reply }).await
    }

    /// Starts one more server; returns its index.
    pub async fn start_server(&self) -> Result<usize, WorldError> {
        self.ask(|reply| Control::StartServer { reply }).await
    }

    /// Runs Luau source as a new Script on a server (its prints reach the log).
    pub async fn run_snippet(&self, server: usize, source: String) -> Result<(), WorldError> {
        self.ask(|reply| Control::Snippet {
            server,
            source,
            reply,
        })
        .await
    }

    /// Runs `seconds` of virtual time as fast as possible (paced-virtual mode only).
    pub async fn fast_forward(&self, seconds: f64) -> Result<(), WorldError> {
        self.ask(|reply| Control::FastForward { seconds, reply })
            .await
    }

    /// The current state.
    pub async fn snapshot(&self) -> Result<Snapshot, WorldError> {
        let (reply, rx) = oneshot::channel();
        self.send(Control::Snapshot { reply })?;
        rx.await.map_err(|_| WorldError::Stopped)
    }

    /// Log lines from index `from` on (servers' output and world events).
    pub fn log_since(&self, from: usize) -> Vec<LogLine> {
        self.log
            .lock()
            .map(|l| l.get(from..).map(<[LogLine]>::to_vec).unwrap_or_default())
            .unwrap_or_default()
    }

    /// DataStore writes committed so far (each one checked by the session-lock invariant).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Stops the thread and waits for it (idempotent).
    pub async fn stop(&self) {
        let _ = self.send(Control::Stop);
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for WorldHandle {
    fn drop(&mut self) {
        // The thread stops at its next frame; nobody waits for it here.
        let _ = self.send(Control::Stop);
    }
}

struct Runner {
    u: Universe,
    pace: Pace,
    population: Option<Population>,
    log: Arc<Mutex<Vec<LogLine>>>,
    seen: Vec<usize>,
    origin: Instant,
    skipped_s: f64,
    last_tick_s: f64,
    last_harvest_s: f64,
}

impl Runner {
    fn world_line(&self, text: String) {
        let t_ms = (self.u.now_s() * 1000.0) as u64;
        if let Ok(mut log) = self.log.lock() {
            log.push(LogLine {
                t_ms,
                server: None,
                level: "world".into(),
                text,
            });
        }
    }

    fn harvest(&mut self) {
        let mut lines = Vec::new();
        for i in 0..self.u.server_count() {
            if self.seen.len() <= i {
                self.seen.push(0);
            }
            let Some(server) = self.u.server(i) else {
                continue;
            };
            let out = server.output();
            for line in out.get(self.seen[i]..).unwrap_or_default() {
                lines.push(LogLine {
                    t_ms: line.t_ms,
                    server: Some(i),
                    level: line.level.clone(),
                    text: line.text.clone(),
                });
            }
            self.seen[i] = out.len();
        }
        if !lines.is_empty() {
            if let Ok(mut log) = self.log.lock() {
                log.extend(lines);
            }
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.u.server_count())
            .filter(|i| self.u.lifecycle(*i) == Some(Lifecycle::Running))
            .collect()
    }

    fn where_is(&self, user: u64) -> Option<usize> {
        self.live().into_iter().find(|i| {
            self.u
                .server(*i)
                .and_then(|s| s.player_ids().ok())
                .is_some_and(|ids| ids.contains(&user))
        })
    }

    fn simulate(&mut self) {
        let now = self.u.now_s();
        let dt = now - self.last_tick_s;
        if dt < 0.5 {
            return;
        }
        self.last_tick_s = now;
        let live = self.live();
        let Some(pop) = self.population.as_mut() else {
            return;
        };
        let moves = pop.tick(dt, &live);
        for m in moves {
            let (text, result) = match m {
                Move::Join { user, server } => (
                    format!("player {user} joins server {server}"),
                    self.u.player_join(server, user),
                ),
                Move::Leave { user, server } => (
                    format!("player {user} leaves server {server}"),
                    self.u.player_leave(server, user),
                ),
                Move::Hop { user, from, to } => (
                    format!("player {user} hops from server {from} to server {to}"),
                    self.u
                        .player_leave(from, user)
                        .and_then(|()| self.u.player_join(to, user)),
                ),
            };
            match result {
                Ok(()) => self.world_line(text),
                Err(e) => self.world_line(format!("{text}: failed ({e})")),
            }
        }
    }

    fn handle(&mut self, c: Control) -> bool {
        match c {
            Control::Join {
                user,
                server,
                reply,
            } => {
                let r = match self.where_is(user) {
                    Some(s) if s == server => Err(format!("{user} is already on server {server}")),
                    Some(s) => self
                        .u
                        .player_leave(s, user)
                        .and_then(|()| self.u.player_join(server, user))
                        .map_err(|e| e.to_string()),
                    None => self.u.player_join(server, user).map_err(|e| e.to_string()),
                };
                if r.is_ok() {
                    if let Some(p) = self.population.as_mut() {
                        p.placed(user, server);
                    }
                    self.world_line(format!("player {user} joins server {server}"));
                }
                let _ = reply.send(r);
            }
            Control::Leave { user, reply } => {
                let r = match self.where_is(user) {
                    Some(s) => self.u.player_leave(s, user).map_err(|e| e.to_string()),
                    None => Err(format!("{user} is not in any server")),
                };
                if r.is_ok() {
                    if let Some(p) = self.population.as_mut() {
                        p.removed(user);
                    }
                    self.world_line(format!("player {user} leaves"));
                }
                let _ = reply.send(r);
            }
            Control::Crash { server, reply } => {
                let r = if self.u.lifecycle(server) == Some(Lifecycle::Running) {
                    self.harvest();
                    self.u.crash(server).map_err(|e| e.to_string())
                } else {
                    Err(format!("server {server} is not running"))
                };
                if r.is_ok() {
                    if let Some(p) = self.population.as_mut() {
                        p.server_gone(server);
                    }
                    self.world_line(format!("server {server} crashed"));
                }
                let _ = reply.send(r);
            }
            Control::StartServer { reply } => {
                let r = self.u.start_server().map_err(|e| e.to_string());
                if let Ok(i) = r {
                    self.world_line(format!("server {i} started"));
                }
                let _ = reply.send(r);
            }
            Control::Snippet {
                server,
                source,
                reply,
            } => {
                let r = self
                    .u
                    .run_snippet(server, "SandboxProbe", &source)
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Control::FastForward { seconds, reply } => {
                let r = if self.pace == Pace::PacedVirtual {
                    let end = self.u.now_s() + seconds;
                    let mut r = Ok(());
                    while self.u.now_s() < end {
                        if let Err(e) = self.u.step() {
                            r = Err(e.to_string());
                            break;
                        }
                        self.simulate();
                        self.harvest_now_and_then();
                    }
                    self.skipped_s += seconds;
                    r
                } else {
                    Err("fast-forward needs the paced virtual mode".into())
                };
                let _ = reply.send(r);
            }
            Control::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Control::Stop => return false,
        }
        true
    }

    fn snapshot(&self) -> Snapshot {
        let servers = (0..self.u.server_count())
            .map(|i| {
                let server = self.u.server(i);
                ServerInfo {
                    index: i,
                    job_id: server.map(|s| s.job_id().to_owned()).unwrap_or_default(),
                    state: match self.u.lifecycle(i) {
                        Some(Lifecycle::Running) => "running",
                        Some(Lifecycle::Closing { .. }) => "closing",
                        _ => "dead",
                    },
                    players: server.and_then(|s| s.player_ids().ok()).unwrap_or_default(),
                    script_errors: server.map_or(0, roblox_emu::Server::script_errors),
                }
            })
            .collect();
        Snapshot {
            now_s: self.u.now_s(),
            servers,
            violations: self.u.violations(),
            skipped_s: self.skipped_s,
        }
    }

    fn harvest_now_and_then(&mut self) {
        if self.u.now_s() - self.last_harvest_s >= 0.2 {
            self.last_harvest_s = self.u.now_s();
            self.harvest();
        }
    }

    /// One frame, paced to the wall clock.
    fn frame(&mut self, frame_s: f64) -> Result<(), roblox_emu::EmuError> {
        match self.pace {
            Pace::RealTime => self.u.run_for(frame_s)?,
            Pace::PacedVirtual => {
                self.u.step()?;
                let target = Duration::from_secs_f64((self.u.now_s() - self.skipped_s).max(0.0));
                let elapsed = self.origin.elapsed();
                if target > elapsed {
                    std::thread::sleep(target - elapsed);
                }
            }
        }
        Ok(())
    }
}

fn world_main(
    config: WorldConfig,
    backend: Backend,
    rx: mpsc::Receiver<Control>,
    log: Arc<Mutex<Vec<LogLine>>>,
    writes: Arc<AtomicU64>,
    ready: oneshot::Sender<Result<(), String>>,
    progress: impl Fn(&str),
) {
    let defaults = UniverseConfig::default();
    let cfg = UniverseConfig {
        seed: config.seed,
        mode: match config.pace {
            Pace::RealTime => TimeMode::RealTime,
            Pace::PacedVirtual => TimeMode::Deterministic,
        },
        fps: config.fps,
        universe_id: config.universe_id,
        start_unix_ms: config.start_unix_ms,
        datastore_latency_s: config
            .datastore_latency_s
            .unwrap_or(defaults.datastore_latency_s),
        message_latency_s: config
            .message_latency_s
            .unwrap_or(defaults.message_latency_s),
        // A long run must not keep every trace line in memory.
        keep_trace: false,
        ..defaults
    };
    let u = Universe::with_backend(cfg, config.place, backend);
    u.add_invariant(
        "session_lock",
        Box::new(roblox_emu::invariant::session_lock),
    );
    u.add_invariant(
        "count",
        Box::new(move |_| {
            writes.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }),
    );
    for (id, name) in &config.users {
        u.register_user(*id, name);
    }
    if let Some(pop) = &config.population {
        for (id, name) in &pop.users {
            u.register_user(*id, name);
        }
    }
    let mut runner = Runner {
        u,
        pace: config.pace,
        population: config.population.map(Population::new),
        log,
        seen: Vec::new(),
        origin: Instant::now(),
        skipped_s: 0.0,
        last_tick_s: 0.0,
        last_harvest_s: 0.0,
    };
    for i in 0..config.servers {
        progress(&format!(
            "starting game server {}/{} (Luau VM, bridge, ProfileStore)",
            i + 1,
            config.servers
        ));
        if let Err(e) = runner.u.start_server() {
            let _ = ready.send(Err(format!("game server {i} failed to start: {e}")));
            return;
        }
    }
    runner.harvest();
    let _ = ready.send(Ok(()));
    // Server start-up took wall time: the first frames catch up so that virtual Unix time keeps
    // matching the wall clock (the audit API checks signature timestamps against it).
    let frame_s = 1.0 / f64::from(config.fps.max(1));
    loop {
        let mut running = true;
        while let Ok(c) = rx.try_recv() {
            if !runner.handle(c) {
                running = false;
                break;
            }
        }
        if !running {
            break;
        }
        runner.simulate();
        if let Err(e) = runner.frame(frame_s) {
            runner.world_line(format!("the universe stopped: {e}"));
            break;
        }
        runner.harvest_now_and_then();
    }
    runner.harvest();
    // Requests that arrive after a stop get "not running" (their reply senders are dropped).
}
