//! Open Cloud Luau Execution tasks run on the engine: the [`LuauRunner`] the Open Cloud
//! emulator calls (the sandbox installs it). Each task gets a fresh server of the place in its
//! own universe, on the same data stores and topics as the game servers, with the place mounted
//! but its Scripts not started, as the reference describes tasks
//! (<https://create.roblox.com/docs/cloud/reference/features/luau-execution>). Virtual time runs
//! as fast as the script allows; the task's `timeout` is counted in virtual seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opencloud::emulator::{
    Clock, LuauErrorCode, LuauLog, LuauMessageType, LuauRun, LuauRunner, LuauTaskRequest,
    ManualClock,
};

use crate::backend::Backend;
use crate::config::{TimeMode, UniverseConfig};
use crate::error::EmuError;
use crate::place::Place;
use crate::universe::Universe;

/// Runs Luau Execution tasks on fresh servers of one place.
pub struct TaskRunner {
    cfg: UniverseConfig,
    place: Place,
    backend: Backend,
    version: u64,
    runs: AtomicU64,
}

impl std::fmt::Debug for TaskRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRunner")
            .field("universe_id", &self.cfg.universe_id)
            .field("place_id", &self.cfg.place_id)
            .field("version", &self.version)
            .finish()
    }
}

impl TaskRunner {
    /// Tasks on `cfg.place_id` of `cfg.universe_id`, whose only version is `version`, over
    /// `backend`'s data stores and topics (its clock gives each task's start time).
    pub fn new(cfg: UniverseConfig, place: Place, backend: Backend, version: u64) -> Arc<Self> {
        Arc::new(Self {
            cfg,
            place,
            backend,
            version,
            runs: AtomicU64::new(0),
        })
    }

    fn run_on_engine(&self, request: &LuauTaskRequest) -> Result<LuauRun, EmuError> {
        let start_ms = self.backend.clock.now_ms();
        let n = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        let cfg = UniverseConfig {
            seed: self.cfg.seed.wrapping_add(n),
            mode: TimeMode::Deterministic,
            start_unix_ms: start_ms,
            keep_trace: false,
            ..self.cfg.clone()
        };
        // The data stores, topics and experience limits are shared; the clock is the task's own.
        let backend = Backend {
            store: self.backend.store.clone(),
            bus: self.backend.bus.clone(),
            experience: self.backend.experience.clone(),
            clock: ManualClock::shared(start_ms),
        };
        let mut universe = Universe::with_backend(cfg, self.place.clone(), backend);
        let server = universe.start_task_server()?;
        let task = universe.run_task(server, "TaskScript", &request.script)?;
        let mut ended = None;
        universe.run_until(request.timeout.as_secs_f64(), |u| {
            ended = u.task_result(server, &task).ok().flatten();
            ended.is_some()
        })?;
        let logs = universe
            .server(server)
            .map(|s| s.output())
            .unwrap_or_default()
            .into_iter()
            .map(|line| LuauLog {
                kind: match line.level.as_str() {
                    "print" => LuauMessageType::Output,
                    "warn" => LuauMessageType::Warning,
                    "error" => LuauMessageType::Error,
                    _ => LuauMessageType::Info,
                },
                message: line.text,
                at_ms: start_ms + i64::try_from(line.t_ms).unwrap_or(i64::MAX / 2),
            })
            .collect();
        let outcome = match ended {
            Some(Ok(values)) => Ok(values),
            Some(Err(message)) => Err((LuauErrorCode::ScriptError, message)),
            None => Err((
                LuauErrorCode::DeadlineExceeded,
                format!(
                    "The task did not finish within its {} s timeout.",
                    request.timeout.as_secs()
                ),
            )),
        };
        Ok(LuauRun { outcome, logs })
    }
}

impl LuauRunner for TaskRunner {
    fn resolve_version(
        &self,
        universe_id: u64,
        place_id: u64,
        requested: Option<u64>,
    ) -> Option<u64> {
        if universe_id != self.cfg.universe_id || place_id != self.cfg.place_id {
            return None;
        }
        match requested {
            None => Some(self.version),
            Some(v) => (v == self.version).then_some(v),
        }
    }

    fn run(&self, request: &LuauTaskRequest) -> LuauRun {
        self.run_on_engine(request).unwrap_or_else(|e| LuauRun {
            outcome: Err((LuauErrorCode::InternalError, e.to_string())),
            logs: Vec::new(),
        })
    }
}
