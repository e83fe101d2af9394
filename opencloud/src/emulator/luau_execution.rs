//! Luau Execution tasks (<https://create.roblox.com/docs/cloud/reference/features/luau-execution>):
//! the task table behind the HTTP endpoints, and the [`LuauRunner`] seam through which something
//! that can run Luau (the engine emulator, wired by the sandbox) runs a task's script. This crate
//! cannot run Luau itself: the engine emulator depends on it, not the other way round.
//!
//! Rules kept, from the `LuauExecutionSessionTask` reference: a task is created `QUEUED`, turns
//! `PROCESSING` when picked up and ends `COMPLETE` (with `output.results`) or `FAILED` (with
//! `error.code` / `error.message`); scripts up to 4 MB; a `timeout` up to 5 minutes (default 5
//! minutes); return values up to 4 MB as JSON (else `OUTPUT_SIZE_LIMIT_EXCEEDED`); at most 450 KB
//! of logs, older ones dropped first; a task is kept 24 hours after it ends; at most ten
//! incomplete tasks per place (more → 429).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::timefmt;
use shared::clock::Clock;

/// Largest script (the reference: "Scripts can be up to 4 MB"; read as 4 MiB).
pub const MAX_SCRIPT_BYTES: usize = 4 * 1024 * 1024;
/// Largest JSON of the return values ("must not exceed 4 MB"; read as 4 MiB).
pub const MAX_OUTPUT_BYTES: usize = 4 * 1024 * 1024;
/// Logs kept per task ("A maximum of 450 KB of logs are retained"; read as 450 KiB).
pub const MAX_LOG_BYTES: usize = 450 * 1024;
/// Longest and default run time ("Defaults to 5 minutes", "run for up to 5 minutes").
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// Incomplete tasks allowed per place ("At most ten incomplete tasks are allowed per place").
pub const MAX_INCOMPLETE_PER_PLACE: usize = 10;
/// How long a finished task stays readable ("retained for 24 hours after task completion").
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;

/// What a runner is asked to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuauTaskRequest {
    /// Universe.
    pub universe_id: u64,
    /// Place.
    pub place_id: u64,
    /// The place version the task runs (resolved by [`LuauRunner::resolve_version`]).
    pub version_id: u64,
    /// The script, as sent.
    pub script: String,
    /// How long it may run; the runner fails it with [`LuauErrorCode::DeadlineExceeded`] after.
    pub timeout: Duration,
}

/// Log message kinds (the engine's `MessageType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LuauMessageType {
    /// `print`.
    Output,
    /// Engine information.
    Info,
    /// `warn`.
    Warning,
    /// An error.
    Error,
}

impl LuauMessageType {
    fn wire(self) -> &'static str {
        match self {
            Self::Output => "OUTPUT",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// One logged message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuauLog {
    /// The text (one `print` call, newlines included).
    pub message: String,
    /// Its kind.
    pub kind: LuauMessageType,
    /// When, Unix ms.
    pub at_ms: i64,
}

/// Why a task failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LuauErrorCode {
    /// The script raised an unhandled error.
    ScriptError,
    /// The script ran past its timeout.
    DeadlineExceeded,
    /// The return values were too large.
    OutputSizeLimitExceeded,
    /// Anything else.
    InternalError,
}

impl LuauErrorCode {
    fn wire(self) -> &'static str {
        match self {
            Self::ScriptError => "SCRIPT_ERROR",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::OutputSizeLimitExceeded => "OUTPUT_SIZE_LIMIT_EXCEEDED",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct LuauRun {
    /// The return values as JSON (non-JSON values as null), or why it failed.
    pub outcome: Result<Vec<Value>, (LuauErrorCode, String)>,
    /// What it logged, in order.
    pub logs: Vec<LuauLog>,
}

/// Runs Luau for the emulator (the engine emulator, in the sandbox; a fake in tests).
pub trait LuauRunner: Send + Sync {
    /// The version a task on `place_id` runs: `requested` if that version exists, else the
    /// place's current version when none was requested; `None` when the universe has no such
    /// place (or version).
    fn resolve_version(
        &self,
        universe_id: u64,
        place_id: u64,
        requested: Option<u64>,
    ) -> Option<u64>;

    /// Runs the task to its end. Called on a blocking thread; may take as long as the script.
    fn run(&self, request: &LuauTaskRequest) -> LuauRun;
}

/// Task states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LuauTaskState {
    /// Waiting to be picked up.
    Queued,
    /// Running.
    Processing,
    /// Finished; output present.
    Complete,
    /// Failed; error present.
    Failed,
}

impl LuauTaskState {
    fn wire(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Processing => "PROCESSING",
            Self::Complete => "COMPLETE",
            Self::Failed => "FAILED",
        }
    }

    fn done(self) -> bool {
        matches!(self, Self::Complete | Self::Failed)
    }
}

/// Where a task lives (every id in its path).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LuauTaskId {
    /// Universe.
    pub universe_id: u64,
    /// Place.
    pub place_id: u64,
    /// Place version.
    pub version_id: u64,
    /// Session id.
    pub session_id: String,
    /// Task id.
    pub task_id: String,
}

impl LuauTaskId {
    /// `universes/{u}/places/{p}/versions/{v}/luau-execution-sessions/{s}/tasks/{t}`: the form the
    /// get and logs endpoints take.
    pub fn path(&self) -> String {
        format!(
            "universes/{}/places/{}/versions/{}/luau-execution-sessions/{}/tasks/{}",
            self.universe_id, self.place_id, self.version_id, self.session_id, self.task_id
        )
    }
}

struct Task {
    id: LuauTaskId,
    script: String,
    timeout: Duration,
    state: LuauTaskState,
    created_ms: i64,
    updated_ms: i64,
    outcome: Option<Result<Vec<Value>, (LuauErrorCode, String)>>,
    logs: Vec<LuauLog>,
}

/// Why a task cannot be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// No runner, or the runner knows no such place / version → 404.
    #[error("The place or place version was not found.")]
    PlaceNotFound,
    /// Ten tasks of the place are still incomplete → 429.
    #[error("Too many incomplete tasks for this place.")]
    TooManyIncomplete,
    /// A bad field → 400.
    #[error("{0}")]
    Invalid(String),
}

/// The emulator's tasks and the runner that runs them.
#[derive(Default)]
pub struct LuauTasks {
    runner: Mutex<Option<Arc<dyn LuauRunner>>>,
    tasks: Mutex<HashMap<String, Task>>,
    next: Mutex<u64>,
}

impl fmt::Debug for LuauTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LuauTasks")
            .field("runner", &self.runner.lock().is_some())
            .field("tasks", &self.tasks.lock().len())
            .finish()
    }
}

/// Parses a protobuf JSON duration (`"3s"`, `"1.5s"`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let secs: f64 = text.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

fn trim_logs(logs: &mut Vec<LuauLog>) {
    let mut total: usize = logs.iter().map(|l| l.message.len()).sum();
    let mut drop = 0;
    while total > MAX_LOG_BYTES && drop < logs.len() {
        total -= logs[drop].message.len();
        drop += 1;
    }
    logs.drain(..drop);
}

impl LuauTasks {
    /// Installs (or replaces) the runner.
    pub fn set_runner(&self, runner: Arc<dyn LuauRunner>) {
        *self.runner.lock() = Some(runner);
    }

    fn runner(&self) -> Option<Arc<dyn LuauRunner>> {
        self.runner.lock().clone()
    }

    /// Creates a task from the request body's fields and starts it on a blocking thread; its
    /// resource JSON. Must be called inside a tokio runtime.
    pub(crate) fn create(
        self: &Arc<Self>,
        clock: &Arc<dyn Clock>,
        universe_id: u64,
        place_id: u64,
        version: Option<u64>,
        body: &Value,
    ) -> Result<Value, CreateError> {
        let invalid = |m: &str| CreateError::Invalid(m.to_owned());
        let script = body
            .get("script")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("script is required."))?;
        if script.len() > MAX_SCRIPT_BYTES {
            return Err(invalid("script is larger than 4 MB."));
        }
        if body.get("binaryInput").is_some()
            || body.get("enableBinaryOutput").and_then(Value::as_bool) == Some(true)
        {
            return Err(invalid("binary input and output are not emulated."));
        }
        let timeout = match body.get("timeout") {
            None | Some(Value::Null) => MAX_TIMEOUT,
            Some(t) => t
                .as_str()
                .and_then(parse_duration)
                .filter(|d| !d.is_zero() && *d <= MAX_TIMEOUT)
                .ok_or_else(|| {
                    invalid("timeout must be a duration from 0s to 300s, e.g. \"30s\".")
                })?,
        };
        let runner = self.runner().ok_or(CreateError::PlaceNotFound)?;
        let version_id = runner
            .resolve_version(universe_id, place_id, version)
            .ok_or(CreateError::PlaceNotFound)?;
        let now = clock.now_ms();
        let id = {
            let mut tasks = self.tasks.lock();
            tasks.retain(|_, t| !(t.state.done() && now - t.updated_ms > RETENTION_MS));
            let incomplete = tasks
                .values()
                .filter(|t| {
                    t.id.universe_id == universe_id && t.id.place_id == place_id && !t.state.done()
                })
                .count();
            if incomplete >= MAX_INCOMPLETE_PER_PLACE {
                return Err(CreateError::TooManyIncomplete);
            }
            let n = {
                let mut next = self.next.lock();
                *next += 1;
                *next
            };
            let id = LuauTaskId {
                universe_id,
                place_id,
                version_id,
                session_id: format!("00000000-0000-4000-8000-{n:012x}"),
                task_id: format!("00000000-0000-4000-9000-{n:012x}"),
            };
            tasks.insert(
                id.task_id.clone(),
                Task {
                    id: id.clone(),
                    script: script.to_owned(),
                    timeout,
                    state: LuauTaskState::Queued,
                    created_ms: now,
                    updated_ms: now,
                    outcome: None,
                    logs: Vec::new(),
                },
            );
            id
        };
        let resource = self.resource(&id.task_id, false).unwrap_or(Value::Null);
        let tasks = Arc::clone(self);
        let clock = Arc::clone(clock);
        let request = LuauTaskRequest {
            universe_id,
            place_id,
            version_id,
            script: script.to_owned(),
            timeout,
        };
        let task_id = id.task_id;
        tokio::task::spawn_blocking(move || {
            tasks.update(&task_id, clock.now_ms(), |t| {
                t.state = LuauTaskState::Processing
            });
            let run = runner.run(&request);
            tasks.finish(&task_id, clock.now_ms(), run);
        });
        Ok(resource)
    }

    fn update(&self, task_id: &str, now: i64, change: impl FnOnce(&mut Task)) {
        if let Some(t) = self.tasks.lock().get_mut(task_id) {
            change(t);
            t.updated_ms = now;
        }
    }

    fn finish(&self, task_id: &str, now: i64, run: LuauRun) {
        let mut logs = run.logs;
        trim_logs(&mut logs);
        let outcome = match run.outcome {
            Ok(results) => {
                let size = serde_json::to_string(&results).map_or(usize::MAX, |s| s.len());
                if size > MAX_OUTPUT_BYTES {
                    Err((
                        LuauErrorCode::OutputSizeLimitExceeded,
                        "The task's return values are larger than 4 MB.".to_owned(),
                    ))
                } else {
                    Ok(results)
                }
            }
            Err(e) => Err(e),
        };
        self.update(task_id, now, |t| {
            t.state = if outcome.is_ok() {
                LuauTaskState::Complete
            } else {
                LuauTaskState::Failed
            };
            t.outcome = Some(outcome);
            t.logs = logs;
        });
    }

    /// The task named by every id of its path, if it exists (and is still retained).
    pub(crate) fn find(&self, id: &LuauTaskId, now: i64) -> bool {
        self.tasks
            .lock()
            .get(&id.task_id)
            .is_some_and(|t| t.id == *id && !(t.state.done() && now - t.updated_ms > RETENTION_MS))
    }

    /// The task's resource JSON; `full` includes the script (view `FULL`).
    pub(crate) fn resource(&self, task_id: &str, full: bool) -> Option<Value> {
        let tasks = self.tasks.lock();
        let t = tasks.get(task_id)?;
        let mut v = json!({
            "path": t.id.path(),
            "createTime": timefmt::format_rfc3339(t.created_ms),
            "updateTime": timefmt::format_rfc3339(t.updated_ms),
            "state": t.state.wire(),
            "timeout": format!("{}s", t.timeout.as_secs()),
        });
        if full {
            v["script"] = json!(t.script);
        }
        match &t.outcome {
            Some(Ok(results)) => v["output"] = json!({ "results": results }),
            Some(Err((code, message))) => {
                v["error"] = json!({"code": code.wire(), "message": message});
            }
            None => {}
        }
        Some(v)
    }

    /// The task's logs as one chunk, flat (`messages`) or structured (`structuredMessages`).
    pub(crate) fn logs(&self, task_id: &str, structured: bool) -> Option<Value> {
        let tasks = self.tasks.lock();
        let t = tasks.get(task_id)?;
        let path = format!("{}/logs/1", t.id.path());
        let chunk = if structured {
            let messages: Vec<Value> = t
                .logs
                .iter()
                .map(|l| {
                    json!({
                        "message": l.message,
                        "createTime": timefmt::format_rfc3339(l.at_ms),
                        "messageType": l.kind.wire(),
                    })
                })
                .collect();
            json!({"path": path, "structuredMessages": messages})
        } else {
            let messages: Vec<&str> = t.logs.iter().map(|l| l.message.as_str()).collect();
            json!({"path": path, "messages": messages})
        };
        Some(json!({ "luauExecutionSessionTaskLogs": [chunk] }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_log_trimming() {
        assert_eq!(parse_duration("3s"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), None);
        assert_eq!(parse_duration("-1s"), None);
        let log = |n: usize| LuauLog {
            message: "x".repeat(n),
            kind: LuauMessageType::Output,
            at_ms: 0,
        };
        let mut logs = vec![log(200 * 1024), log(200 * 1024), log(100 * 1024)];
        trim_logs(&mut logs);
        // The oldest goes; 300 KiB stay.
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].message.len(), 200 * 1024);
    }
}
