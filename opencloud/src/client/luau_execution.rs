//! Luau Execution (stable): run a script in a place's server and read its result and logs.
//! Reference: <https://create.roblox.com/docs/cloud/reference/features/luau-execution>.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::OpenCloud;
use super::error::Error;
use super::limiter::OpClass;
use super::transport::{Call, Idempotency};

/// A task as Open Cloud describes it (`LuauExecutionSessionTask`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LuauTask {
    /// `universes/{u}/places/{p}/versions/{v}/luau-execution-sessions/{s}/tasks/{t}`.
    pub path: String,
    /// `QUEUED`, `PROCESSING`, `CANCELLED`, `COMPLETE` or `FAILED`.
    #[serde(default)]
    pub state: String,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub create_time: Option<String>,
    /// When its state last changed (RFC 3339).
    #[serde(default)]
    pub update_time: Option<String>,
    /// Set when the task failed.
    #[serde(default)]
    pub error: Option<LuauTaskError>,
    /// Set when the task completed: the script's return values as JSON.
    #[serde(default)]
    pub output: Option<LuauTaskOutput>,
}

impl LuauTask {
    /// True once the task will not change any more.
    pub fn is_done(&self) -> bool {
        matches!(self.state.as_str(), "COMPLETE" | "FAILED" | "CANCELLED")
    }
}

/// Why a task failed.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct LuauTaskError {
    /// `SCRIPT_ERROR`, `DEADLINE_EXCEEDED`, `OUTPUT_SIZE_LIMIT_EXCEEDED`, `INTERNAL_ERROR`.
    #[serde(default)]
    pub code: String,
    /// The detail (for a script error, the Luau error message).
    #[serde(default)]
    pub message: String,
}

/// A completed task's return values.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct LuauTaskOutput {
    /// One JSON value per returned value (values that are not JSON come back as null).
    #[serde(default)]
    pub results: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogsPage {
    #[serde(default)]
    luau_execution_session_task_logs: Vec<LogChunk>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct LogChunk {
    #[serde(default)]
    messages: Vec<String>,
}

/// A task path must stay inside the Luau Execution resources it names.
fn check_task_path(path: &str) -> Result<Vec<&str>, Error> {
    let segments: Vec<&str> = path.split('/').collect();
    let ok = segments.len() == 10
        && segments[0] == "universes"
        && segments[2] == "places"
        && segments[4] == "versions"
        && segments[6] == "luau-execution-sessions"
        && segments[8] == "tasks"
        && segments.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(segments)
    } else {
        Err(Error::InvalidArgument(
            "a Luau Execution task path is universes/…/places/…/versions/…/luau-execution-sessions/…/tasks/…",
        ))
    }
}

/// `timeout` as the API writes durations (`"30s"`).
fn duration_text(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

impl OpenCloud {
    /// Creates a task that runs `script` in a server of `place_id` (at `version`, else the
    /// place's current version). Not repeated after it may have reached Roblox: a repeat would run
    /// the script twice ([`Error::OutcomeUnknown`]).
    pub async fn create_luau_task(
        &self,
        universe_id: u64,
        place_id: u64,
        version: Option<u64>,
        script: &str,
        timeout: Option<Duration>,
    ) -> Result<LuauTask, Error> {
        let universe = universe_id.to_string();
        let place = place_id.to_string();
        let version_text = version.map(|v| v.to_string());
        let mut segments = vec!["cloud", "v2", "universes", &universe, "places", &place];
        if let Some(v) = &version_text {
            segments.extend(["versions", v.as_str()]);
        }
        segments.push("luau-execution-session-tasks");
        let url = self.url(&segments, &[]);
        let mut body = json!({"script": script});
        if let Some(t) = timeout {
            body["timeout"] = json!(duration_text(t));
        }
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op: "create_luau_task",
                universe_id,
                class: OpClass::LuauExecution,
                idempotency: Idempotency::Unsafe,
                build: |http: &reqwest::Client| {
                    http.post(url.clone()).header("x-api-key", key).json(&body)
                },
            })
            .await?;
        match reply.status {
            200 => serde_json::from_slice(&reply.body).map_err(|e| Error::Decode(e.to_string())),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// Reads a task by the `path` its creation returned.
    pub async fn get_luau_task(&self, task_path: &str) -> Result<LuauTask, Error> {
        let segments = check_task_path(task_path)?;
        let universe_id = segments[1].parse().unwrap_or(0);
        let mut all = vec!["cloud", "v2"];
        all.extend(segments);
        let url = self.url(&all, &[]);
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op: "get_luau_task",
                universe_id,
                class: OpClass::LuauExecution,
                idempotency: Idempotency::Safe,
                build: |http: &reqwest::Client| http.get(url.clone()).header("x-api-key", key),
            })
            .await?;
        match reply.status {
            200 => serde_json::from_slice(&reply.body).map_err(|e| Error::Decode(e.to_string())),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// Every `print` of a task, in order (the flat view, all pages).
    pub async fn luau_task_logs(&self, task_path: &str) -> Result<Vec<String>, Error> {
        let segments = check_task_path(task_path)?;
        let universe_id = segments[1].parse().unwrap_or(0);
        let mut all = vec!["cloud", "v2"];
        all.extend(segments);
        all.push("logs");
        let key = self.inner.config.api_key.expose();
        let mut messages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("maxPageSize", "10000".to_owned())];
            if let Some(t) = &token {
                query.push(("pageToken", t.clone()));
            }
            let url = self.url(&all, &query);
            let reply = self
                .execute(Call {
                    op: "luau_task_logs",
                    universe_id,
                    class: OpClass::LuauExecution,
                    idempotency: Idempotency::Safe,
                    build: |http: &reqwest::Client| http.get(url.clone()).header("x-api-key", key),
                })
                .await?;
            if reply.status != 200 {
                return Err(Error::Api(reply.api_error()));
            }
            let page: LogsPage =
                serde_json::from_slice(&reply.body).map_err(|e| Error::Decode(e.to_string()))?;
            for chunk in page.luau_execution_session_task_logs {
                messages.extend(chunk.messages);
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) if token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => return Ok(messages),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_paths_are_checked_before_use() {
        let good = "universes/1/places/2/versions/3/luau-execution-sessions/abc-1/tasks/def_2";
        assert_eq!(check_task_path(good).map(|s| s.len()).ok(), Some(10));
        for bad in [
            "",
            "universes/1/places/2/luau-execution-session-tasks/x",
            "universes/1/places/2/versions/3/luau-execution-sessions/../tasks/x",
            "universes/1/places/2/versions/3/luau-execution-sessions/a/tasks/x?y",
            "universes/1/places/2/versions/3/luau-execution-sessions/a/tasks/",
        ] {
            assert!(check_task_path(bad).is_err(), "{bad}");
        }
        assert_eq!(duration_text(Duration::from_millis(10)), "1s");
        assert_eq!(duration_text(Duration::from_secs(90)), "90s");
    }
}
