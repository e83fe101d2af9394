//! The world thread: runs the universe frame by frame, the player simulation, and the control
//! messages of the async side; harvests what the servers print into the shared log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use roblox_emu::{Backend, Lifecycle, TimeMode, Universe, UniverseConfig};
use tokio::sync::oneshot;

use super::control::Control;
use super::{LogLine, Pace, ServerInfo, Snapshot, WorldConfig};
use crate::population::{Move, Population};

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
                // Everything the servers printed before this request is in the shared log when
                // the answer arrives: callers can read the log as of now, not as of the last
                // periodic harvest.
                self.harvest();
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

/// The universe settings of a world (also what a Luau Execution task's server runs with).
pub(crate) fn universe_config(config: &WorldConfig) -> UniverseConfig {
    let defaults = UniverseConfig::default();
    UniverseConfig {
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
        // The sandbox's experience allows HTTP requests, as an installed bridge needs.
        http_enabled: true,
        ..defaults
    }
}

/// The world thread's body.
pub(super) fn world_main(
    config: WorldConfig,
    backend: Backend,
    rx: mpsc::Receiver<Control>,
    log: Arc<Mutex<Vec<LogLine>>>,
    writes: Arc<AtomicU64>,
    ready: oneshot::Sender<Result<(), String>>,
    progress: impl Fn(&str),
) {
    let cfg = universe_config(&config);
    // MessagingService's documented receive limits (per topic 40 + 80 × servers, per game
    // 400 + 200 × servers a minute); the DataStore experience limits are set by the stack.
    backend
        .bus
        .set_receive_limit(Some(opencloud::emulator::ReceiveLimit::ROBLOX));
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
