//! Property: concurrent v2 writers doing read → create-only POST or etag-checked PATCH never lose
//! or double an update, with injected 5xx and lost responses on the writes — the emulator's v2
//! etag check and write are one atomic step.

mod common;

use common::*;
use opencloud::emulator::store::{EntryKey, WriteEvent};
use opencloud::emulator::{FaultKind, FaultPlan, FaultRule, Operation};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Adds 1 to the counter. The document records which increments it holds, so an answer lost
/// after the write committed is resolved by re-reading, never by writing again blindly.
async fn etag_increment(v2: &V2, tag: &str) {
    loop {
        let (status, current) = v2.get("/entries/shared").await;
        let (doc, etag) = match status {
            200 => (
                current["value"].clone(),
                current["etag"].as_str().map(str::to_owned),
            ),
            404 => (json!({"n": 0, "applied": []}), None),
            _ => continue, // injected 5xx on the read
        };
        let applied: Vec<String> = serde_json::from_value(doc["applied"].clone()).unwrap();
        if applied.iter().any(|t| t == tag) {
            return;
        }
        let mut next_applied = applied;
        next_applied.push(tag.to_owned());
        let next = json!({"n": doc["n"].as_i64().unwrap() + 1, "applied": next_applied});
        let (status, body) = match etag {
            Some(etag) => {
                v2.patch("/entries/shared", json!({"value": next, "etag": etag}))
                    .await
            }
            None => v2.post("/entries?id=shared", json!({"value": next})).await,
        };
        match (status, code(&body)) {
            (200, _) => return,
            // Lost the race (stale etag, or someone created first), or a fault: re-read.
            (409, "ABORTED") | (400, "INVALID_ARGUMENT") | (500..=599, _) => continue,
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_etag_writers_never_lose_updates(
        writers in 2usize..6,
        per_writer in 1usize..5,
        seed in any::<u64>(),
        fault_rate in 0.0f64..0.3,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let h = start(config()).await;
            let writes = vec![Operation::V2UpdateEntry, Operation::V2CreateEntry];
            h.emulator.set_fault_plan(FaultPlan {
                seed,
                rules: vec![
                    FaultRule::random(writes.clone(), FaultKind::ResponseLost { hang_ms: 0, status: 504 }, fault_rate / 2.0),
                    FaultRule::random(writes, FaultKind::Status(503), fault_rate / 2.0),
                    FaultRule::random(vec![Operation::V2GetEntry], FaultKind::Status(500), fault_rate / 4.0),
                ],
                ..FaultPlan::default()
            });
            let committed: Arc<Mutex<Vec<String>>> = Arc::default();
            let sink = committed.clone();
            h.emulator.store.set_write_hook(Arc::new(move |e: &WriteEvent| {
                sink.lock().unwrap().push(e.after.as_ref().map(|a| a.version.clone()).unwrap_or_default());
            }));
            let mut tasks = Vec::new();
            for w in 0..writers {
                let v2 = V2::new(&h);
                tasks.push(tokio::spawn(async move {
                    for i in 0..per_writer {
                        etag_increment(&v2, &format!("w{w}-{i}")).await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let stored = h.emulator.store.get(&EntryKey::new(UNIVERSE, DS, "shared")).unwrap();
            let value: Value = serde_json::from_str(&stored.value).unwrap();
            let expected = (writers * per_writer) as i64;
            assert_eq!(value["n"].as_i64().unwrap(), expected, "an update was lost or doubled");
            let committed = committed.lock().unwrap();
            assert_eq!(committed.len() as i64, expected, "one committed write per increment");
            assert!(committed.windows(2).all(|w| w[0] < w[1]));
        });
    }
}
