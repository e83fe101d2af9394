//! Crash safety: SIGKILL the real `economy-api` binary during a load run, restart it, and check
//! that every record that got a 2xx is stored and the chain verifies. Also checks the JSON logs
//! never contain a secret or a signature, and that SIGTERM shuts down cleanly.

mod common;

use api::testing::TestKeys;
use common::*;
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Starts the binary on a port it picks itself (`API_BIND=127.0.0.1:0`) and returns it with its
/// base URL, read from its "listening" log line: the test never picks a port that another test
/// could take before the server binds it (nor after a SIGKILL frees it).
#[allow(
    clippy::zombie_processes,
    reason = "the child is handed to the caller, which kills and waits for it"
)]
async fn start(db: &TestDb, keys: &TestKeys, log: &std::path::Path) -> (Child, String) {
    let logged_before = std::fs::metadata(log).map_or(0, |m| m.len() as usize);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let spec = |k: &shared::Key, scopes: &str| format!("{}:{scopes}:{}", k.id, TestKeys::hex(k));
    let mut child = Command::new(env!("CARGO_BIN_EXE_economy-api"))
        .env("DATABASE_URL", &db.url)
        .env("API_BIND", "127.0.0.1:0")
        .env(
            "API_KEYS",
            format!(
                "{},{},{}",
                spec(&keys.bot, "read+write"),
                spec(&keys.game, "write"),
                spec(&keys.ops, "read")
            ),
        )
        .env("API_RATE_IP_PER_SEC", "100000")
        .env("API_RATE_IP_BURST", "100000")
        .env("API_RATE_KEY_PER_SEC", "100000")
        .env("API_RATE_KEY_BURST", "100000")
        .env(
            "RUST_LOG",
            "debug,sqlx=warn,hyper=warn,h2=warn,reqwest=warn",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let addr = text.get(logged_before..).and_then(|new| {
            new.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["message"] == "audit API listening")
                .and_then(|v| v["addr"].as_str().map(str::to_owned))
        });
        if let Some(addr) = addr {
            return (child, format!("http://{addr}"));
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server never logged its address: {}",
                text.get(logged_before..).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    let t = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sigkill_mid_load_loses_no_acknowledged_record(b: Backend) {
    let db = TestDb::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let keys = TestKeys::generate();
    let (mut child, base) = start(&db, &keys, &log).await;
    wait_ready(&base).await;

    let acked = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let client = api::AuditClient::new(&base, keys.game.clone());
        let acked = acked.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let size = if w % 2 == 0 { 1 } else { 20 };
                let recs: Vec<_> = (0..size).map(|i| record(1 + w, 1 + i)).collect();
                if let Ok(res) = client.post_records(&recs, &format!("w{w}-{n}")).await {
                    assert!(res.status == 201 || res.status == 200);
                    acked
                        .lock()
                        .extend(recs.iter().map(|r| r.txn_id.to_string()));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().clone();
    assert!(
        acked.len() > 100,
        "the load ran ({} acknowledged)",
        acked.len()
    );

    // Restarted on a port of its own again: the acknowledged records must all be there.
    let (mut child, base) = start(&db, &keys, &log).await;
    wait_ready(&base).await;
    let reader = api::AuditClient::new(&base, keys.ops.clone());
    let mut stored = HashSet::new();
    let mut params = api::ListParams {
        limit: Some(500),
        ..Default::default()
    };
    loop {
        let page = reader.list(&params).await.unwrap();
        stored.extend(page.items.iter().map(|i| i.record.txn_id.to_string()));
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    let missing: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost",
        missing.len()
    );
    let report = reader.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows_verified as usize, stored.len());
    // the restarted server keeps taking writes on the same chain
    let w = api::AuditClient::new(&base, keys.game.clone());
    w.post_records(&[record(99, 1)], &idem()).await.unwrap();
    assert!(reader.verify().await.unwrap().ok);

    // SIGTERM: graceful shutdown, exit 0
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "clean exit after SIGTERM: {s}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // logs: JSON lines, request ids, never a secret or a signature
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.lines().count() > 10);
    assert!(logs.contains("request_id"));
    for line in logs.lines().take(50) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "JSON log line: {line}"
        );
    }
    let secrets = [&keys.bot, &keys.game, &keys.ops].map(|k| TestKeys::hex(k)[..24].to_owned());
    for secret in secrets.iter().map(String::as_str).chain(["v1="]) {
        assert!(!logs.contains(secret), "logs contain {secret}");
    }
    db.drop_database().await;
}

both_backends!(sigkill_mid_load_loses_no_acknowledged_record);
