//! The emulated universe on its own thread (Luau VMs are `!Send`): N game servers, the player
//! simulation, and a channel of control messages (join, leave, crash, probes, fast-forward) from
//! the async side. Everything the servers print is collected into a shared log.
//!
//! - this file: the async side ([`WorldHandle`]) and what it shows ([`Snapshot`], [`LogLine`]).
//! - `control`: the messages the handle sends to the world thread.
//! - `runner`: the world thread itself (frames, the player simulation, log harvesting).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use roblox_emu::{Backend, Place};
use tokio::sync::oneshot;

mod control;
mod runner;

use crate::population::PopulationConfig;
use control::{Control, Reply};
pub(crate) use runner::universe_config;
use runner::world_main;

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

    /// The current state; also a sync point for the log: every line the servers printed before
    /// the call is in [`WorldHandle::log_since`] when it returns.
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
