//! Open Cloud Luau Execution tasks on the engine (`TaskRunner`): the script runs on a fresh
//! server of the place whose Scripts do not start, may require its ModuleScripts and use its
//! DataStores (shared with everyone else), and ends with its return values, its error, or the
//! deadline; `print` and `warn` become the task's logs.

use std::time::Duration;

use opencloud::emulator::{LuauErrorCode, LuauMessageType, LuauRunner, LuauTaskRequest};
use roblox_emu::{Backend, Place, TaskRunner, UniverseConfig};

fn runner() -> (std::sync::Arc<TaskRunner>, Backend, UniverseConfig) {
    let cfg = UniverseConfig::default();
    let mut place = Place::new();
    place.module(
        "ServerStorage.Lib",
        "return { double = function(x) return 2 * x end }",
    );
    // A Script of the place: a task must not start it.
    place.script(
        "ServerScriptService.Main",
        "game:GetService('DataStoreService'):GetDataStore('S'):SetAsync('started', true)",
    );
    let backend = Backend::new(cfg.start_unix_ms);
    (
        TaskRunner::new(cfg.clone(), place, backend.clone(), 3),
        backend,
        cfg,
    )
}

fn request(cfg: &UniverseConfig, script: &str, timeout_s: u64) -> LuauTaskRequest {
    LuauTaskRequest {
        universe_id: cfg.universe_id,
        place_id: cfg.place_id,
        version_id: 3,
        script: script.to_owned(),
        timeout: Duration::from_secs(timeout_s),
    }
}

#[test]
fn luau_tasks_return_values_log_and_write_shared_data_stores() {
    let (runner, backend, cfg) = runner();
    assert_eq!(
        runner.resolve_version(cfg.universe_id, cfg.place_id, None),
        Some(3)
    );
    assert_eq!(
        runner.resolve_version(cfg.universe_id, cfg.place_id, Some(4)),
        None
    );
    assert_eq!(
        runner.resolve_version(cfg.universe_id, cfg.place_id + 1, None),
        None
    );
    let run = runner.run(&request(
        &cfg,
        r#"
        local lib = require(game:GetService("ServerStorage").Lib)
        print("doubling")
        warn("careful")
        local v = game:GetService("DataStoreService"):GetDataStore("S"):SetAsync("k", { n = lib.double(21) })
        return lib.double(2), { version = v }, function() end
        "#,
        60,
    ));
    let values = run.outcome.unwrap();
    assert_eq!(values[0], serde_json::json!(4));
    assert!(
        values[1]["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{values:?}"
    );
    assert_eq!(values[2], serde_json::Value::Null, "a function is not JSON");
    let kinds: Vec<_> = run
        .logs
        .iter()
        .map(|l| (l.kind, l.message.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (LuauMessageType::Output, "doubling"),
            (LuauMessageType::Warning, "careful")
        ]
    );
    let key = opencloud::emulator::EntryKey::new(cfg.universe_id, "S", "k");
    assert_eq!(backend.store.get(&key).unwrap().value, r#"{"n":42}"#);
    let started = opencloud::emulator::EntryKey::new(cfg.universe_id, "S", "started");
    assert!(
        backend.store.get(&started).is_none(),
        "the place's Script ran"
    );
}

#[test]
fn luau_tasks_fail_on_errors_and_deadlines() {
    let (runner, _, cfg) = runner();
    let failed = runner.run(&request(&cfg, "print('before')\nerror('boom')", 60));
    let (code, message) = failed.outcome.unwrap_err();
    assert_eq!(code, LuauErrorCode::ScriptError);
    assert!(message.contains("boom"), "{message}");
    assert_eq!(failed.logs[0].message, "before");
    let compile = runner.run(&request(&cfg, "return (", 60));
    assert_eq!(compile.outcome.unwrap_err().0, LuauErrorCode::ScriptError);
    let slow = runner.run(&request(&cfg, "task.wait(10) return 1", 2));
    assert_eq!(slow.outcome.unwrap_err().0, LuauErrorCode::DeadlineExceeded);
    let in_time = runner.run(&request(&cfg, "task.wait(1) return 1", 2));
    assert_eq!(in_time.outcome.unwrap(), vec![serde_json::json!(1)]);
}
