//! Luau Execution over real HTTP: the client against the emulator's task endpoints, with a fake
//! runner (the engine emulator is wired in by the sandbox; here the script language is a few
//! test commands). Covers create / poll / logs, both create paths, views, scopes, an unknown
//! place, the ten-incomplete-tasks limit, size limits, script errors and log trimming.

mod common;

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{ADMIN_SECRET, READER_SECRET, UNIVERSE, config, start_on};
use opencloud::OpenCloud;
use opencloud::client::LuauTask;
use opencloud::emulator::auth::scopes;
use opencloud::emulator::luau_execution::MAX_LOG_BYTES;
use opencloud::emulator::{
    ApiKey, Clock, LuauErrorCode, LuauLog, LuauMessageType, LuauRun, LuauRunner, LuauTaskRequest,
    SystemClock,
};
use serde_json::{Value, json};

const PLACE: u64 = 77;
const VERSION: u64 = 5;
const LUAU_SECRET: &str = "luau-runner-secret";
const LUAU_READER_SECRET: &str = "luau-reader-secret";

/// Runs the test language: `print <text>` lines log, `fail <text>` errors, `big` returns more
/// than 4 MB, `wait` blocks until the test releases it, anything else is returned as JSON.
struct FakeRunner {
    gate: Mutex<mpsc::Receiver<()>>,
    seen: Mutex<Vec<LuauTaskRequest>>,
}

impl LuauRunner for FakeRunner {
    fn resolve_version(&self, universe: u64, place: u64, requested: Option<u64>) -> Option<u64> {
        (universe == UNIVERSE && place == PLACE && requested.is_none_or(|v| v == VERSION))
            .then_some(VERSION)
    }

    fn run(&self, request: &LuauTaskRequest) -> LuauRun {
        self.seen.lock().unwrap().push(request.clone());
        let mut logs = Vec::new();
        for line in request.script.lines() {
            if let Some(text) = line.strip_prefix("print ") {
                logs.push(LuauLog {
                    message: text.to_owned(),
                    kind: LuauMessageType::Output,
                    at_ms: 0,
                });
            } else if let Some(text) = line.strip_prefix("fail ") {
                return LuauRun {
                    outcome: Err((LuauErrorCode::ScriptError, text.to_owned())),
                    logs,
                };
            } else if line == "big" {
                return LuauRun {
                    outcome: Ok(vec![json!("x".repeat(4 * 1024 * 1024 + 1))]),
                    logs,
                };
            } else if line == "wait" {
                let _ = self.gate.lock().unwrap().recv();
            } else if let Ok(v) = serde_json::from_str::<Value>(line) {
                return LuauRun {
                    outcome: Ok(vec![v]),
                    logs,
                };
            }
        }
        LuauRun {
            outcome: Ok(Vec::new()),
            logs,
        }
    }
}

struct Setup {
    h: common::Harness,
    runner: Arc<FakeRunner>,
    release: mpsc::Sender<()>,
}

async fn setup() -> Setup {
    let mut cfg = config();
    cfg.api_keys.push(ApiKey::new(
        "runner",
        LUAU_SECRET,
        [scopes::LUAU_WRITE],
        Some(vec![UNIVERSE]),
    ));
    cfg.api_keys.push(ApiKey::new(
        "watcher",
        LUAU_READER_SECRET,
        [scopes::LUAU_READ],
        Some(vec![UNIVERSE]),
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let h = start_on(clock, cfg, |c| c).await;
    let (release, gate) = mpsc::channel();
    let runner = Arc::new(FakeRunner {
        gate: Mutex::new(gate),
        seen: Mutex::default(),
    });
    h.emulator.set_luau_runner(runner.clone());
    Setup { h, runner, release }
}

/// Polls until the task is done (the runner runs on a blocking thread).
async fn finished(client: &OpenCloud, task: &LuauTask) -> LuauTask {
    for _ in 0..1000 {
        let now = client.get_luau_task(&task.path).await.unwrap();
        if now.is_done() {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("task {} never finished", task.path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_created_polled_and_its_output_and_logs_read() {
    let s = setup().await;
    let client = s.h.client_with(LUAU_SECRET);
    let created = client
        .create_luau_task(
            UNIVERSE,
            PLACE,
            None,
            "print hello\nprint world\n{\"n\": 7}",
            Some(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert!(
        matches!(created.state.as_str(), "QUEUED" | "PROCESSING" | "COMPLETE"),
        "{created:?}"
    );
    assert!(
        created.path.starts_with(&format!(
            "universes/{UNIVERSE}/places/{PLACE}/versions/{VERSION}/luau-execution-sessions/"
        )),
        "{}",
        created.path
    );
    let done = finished(&client, &created).await;
    assert_eq!(done.state, "COMPLETE");
    assert_eq!(done.output.unwrap().results, vec![json!({"n": 7})]);
    assert_eq!(
        client.luau_task_logs(&done.path).await.unwrap(),
        ["hello", "world"]
    );
    // The runner saw the version the place resolved to and the timeout asked for.
    let seen = s.runner.seen.lock().unwrap().clone();
    assert_eq!(seen[0].version_id, VERSION);
    assert_eq!(seen[0].timeout, Duration::from_secs(30));
    // A key with only the read scope may poll and read logs, not create.
    let watcher = s.h.client_with(LUAU_READER_SECRET);
    assert_eq!(
        watcher.get_luau_task(&done.path).await.unwrap().state,
        "COMPLETE"
    );
    assert_eq!(watcher.luau_task_logs(&done.path).await.unwrap().len(), 2);
    let refused = watcher
        .create_luau_task(UNIVERSE, PLACE, None, "{}", None)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_the_versioned_path_and_structured_logs() {
    let s = setup().await;
    let base = s.h.server.base_url();
    let http = reqwest::Client::new();
    let create = http
        .post(format!(
            "{base}/cloud/v2/universes/{UNIVERSE}/places/{PLACE}/versions/{VERSION}/luau-execution-session-tasks"
        ))
        .header("x-api-key", LUAU_SECRET)
        .json(&json!({"script": "print hi\n1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 200);
    let task: LuauTask = create.json().await.unwrap();
    let client = s.h.client_with(LUAU_SECRET);
    finished(&client, &task).await;
    let url = format!("{base}/cloud/v2/{}", task.path);
    let get = |q: &'static str| {
        http.get(format!("{url}{q}"))
            .header("x-api-key", LUAU_SECRET)
            .send()
    };
    let basic: Value = get("").await.unwrap().json().await.unwrap();
    assert!(basic.get("script").is_none(), "{basic}");
    assert_eq!(basic["timeout"], "300s", "the default timeout is 5 minutes");
    let full: Value = get("?view=FULL").await.unwrap().json().await.unwrap();
    assert_eq!(full["script"], "print hi\n1");
    assert_eq!(get("?view=ALL").await.unwrap().status(), 400);
    let logs: Value = http
        .get(format!("{url}/logs?view=STRUCTURED"))
        .header("x-api-key", LUAU_SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = &logs["luauExecutionSessionTaskLogs"][0]["structuredMessages"][0];
    assert_eq!(message["message"], "hi");
    assert_eq!(message["messageType"], "OUTPUT");
    // A path naming another session or version is not the task.
    let wrong = task.path.replace("/versions/5/", "/versions/6/");
    assert_eq!(
        client.get_luau_task(&wrong).await.unwrap_err().status(),
        Some(404)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_nothing_runs() {
    let s = setup().await;
    let client = s.h.client_with(ADMIN_SECRET);
    let unknown_place = client
        .create_luau_task(UNIVERSE, PLACE + 1, None, "1", None)
        .await
        .unwrap_err();
    assert_eq!(unknown_place.status(), Some(404));
    let unknown_version = client
        .create_luau_task(UNIVERSE, PLACE, Some(VERSION + 1), "1", None)
        .await
        .unwrap_err();
    assert_eq!(unknown_version.status(), Some(404));
    let too_long = client
        .create_luau_task(UNIVERSE, PLACE, None, "1", Some(Duration::from_secs(301)))
        .await
        .unwrap_err();
    assert_eq!(too_long.status(), Some(400));
    let big_script = "-".repeat(4 * 1024 * 1024 + 1);
    let too_big = client
        .create_luau_task(UNIVERSE, PLACE, None, &big_script, None)
        .await
        .unwrap_err();
    assert_eq!(too_big.status(), Some(400));
    let reader = s.h.client_with(READER_SECRET);
    let no_scope = reader
        .create_luau_task(UNIVERSE, PLACE, None, "1", None)
        .await
        .unwrap_err();
    assert_eq!(no_scope.status(), Some(403));
    assert!(s.runner.seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_errors_oversized_output_and_long_logs() {
    let s = setup().await;
    let client = s.h.client_with(LUAU_SECRET);
    let failing = client
        .create_luau_task(UNIVERSE, PLACE, None, "print before\nfail boom", None)
        .await
        .unwrap();
    let failed = finished(&client, &failing).await;
    assert_eq!(failed.state, "FAILED");
    let error = failed.error.unwrap();
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("SCRIPT_ERROR", "boom")
    );
    assert_eq!(
        client.luau_task_logs(&failed.path).await.unwrap(),
        ["before"]
    );

    let big = client
        .create_luau_task(UNIVERSE, PLACE, None, "big", None)
        .await
        .unwrap();
    let big = finished(&client, &big).await;
    assert_eq!(big.error.unwrap().code, "OUTPUT_SIZE_LIMIT_EXCEEDED");

    let line = "y".repeat(100 * 1024);
    let script: String = (0..6).map(|i| format!("print {i}{line}\n")).collect();
    let chatty = client
        .create_luau_task(UNIVERSE, PLACE, None, &script, None)
        .await
        .unwrap();
    let chatty = finished(&client, &chatty).await;
    let logs = client.luau_task_logs(&chatty.path).await.unwrap();
    // 450 KiB keep the newest four of six 100 KiB lines.
    assert!(logs.iter().map(String::len).sum::<usize>() <= MAX_LOG_BYTES);
    assert_eq!(logs.len(), 4);
    assert!(logs[0].starts_with('2') && logs[3].starts_with('5'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_ten_incomplete_tasks_per_place() {
    let s = setup().await;
    let client = s.h.client_with(LUAU_SECRET);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        tasks.push(
            client
                .create_luau_task(UNIVERSE, PLACE, None, "wait", None)
                .await
                .unwrap(),
        );
    }
    let eleventh = client
        .create_luau_task(UNIVERSE, PLACE, None, "wait", None)
        .await
        .unwrap_err();
    assert_eq!(eleventh.status(), Some(429));
    // Still running: nothing finished before the test let it.
    let first = client.get_luau_task(&tasks[0].path).await.unwrap();
    assert!(!first.is_done(), "{first:?}");
    for _ in 0..10 {
        s.release.send(()).unwrap();
    }
    for t in &tasks {
        assert_eq!(finished(&client, t).await.state, "COMPLETE");
    }
    let after = client
        .create_luau_task(UNIVERSE, PLACE, None, "1", None)
        .await
        .unwrap();
    assert_eq!(finished(&client, &after).await.state, "COMPLETE");
}
