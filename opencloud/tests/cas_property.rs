//! Property: many concurrent read → matchVersion writers over real HTTP never lose an update,
//! even with injected 5xx, throttling and lost responses on the writes.

mod common;

use common::*;
use opencloud::client::Error;
use opencloud::emulator::store::{EntryKey, WriteEvent};
use opencloud::emulator::{FaultKind, FaultPlan, FaultRule, Operation};
use opencloud::{EntryPath, OpenCloud, SetOptions};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};

/// Adds 1 to the counter with compare-and-swap. Like the bridge's txn ring, the document records
/// which increments it contains, so a 412 or an error after a possibly-applied attempt is resolved
/// by re-reading instead of guessing (a plain retry would double-apply).
async fn cas_increment(client: &OpenCloud, path: &EntryPath, tag: &str) {
    loop {
        let current = match client.get_entry(path).await {
            Ok(c) => c,
            Err(Error::Api(_) | Error::Throttled(..) | Error::Transport(_)) => continue,
            Err(other) => panic!("unexpected read error: {other:?}"),
        };
        let (doc, options) = match &current {
            Some(e) => (e.json().unwrap(), SetOptions::replacing(e)),
            None => (
                serde_json::json!({"n": 0, "applied": []}),
                SetOptions::create_only(),
            ),
        };
        let applied: Vec<String> = serde_json::from_value(doc["applied"].clone()).unwrap();
        if applied.iter().any(|t| t == tag) {
            return; // an earlier attempt whose answer we lost did commit
        }
        let mut next_applied = applied;
        next_applied.push(tag.to_owned());
        let next =
            serde_json::json!({"n": doc["n"].as_i64().unwrap() + 1, "applied": next_applied});
        match client.set_entry(path, &next.to_string(), &options).await {
            Ok(_) => return,
            Err(Error::PreconditionFailed { .. }) => continue,
            // Retries exhausted on a conditional write: re-read and decide again.
            Err(Error::Api(_) | Error::Throttled(..) | Error::Transport(_)) => continue,
            Err(other) => panic!("unexpected write error: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_cas_writers_never_lose_updates(
        writers in 2usize..6,
        per_writer in 1usize..6,
        seed in any::<u64>(),
        fault_rate in 0.0f64..0.3,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        runtime.block_on(async move {
            let h = start(config()).await;
            h.emulator.set_fault_plan(FaultPlan {
                seed,
                rules: vec![
                    FaultRule::random(vec![Operation::SetEntry], FaultKind::ResponseLost { hang_ms: 0, status: 504 }, fault_rate / 2.0),
                    FaultRule::random(vec![Operation::SetEntry, Operation::GetEntry], FaultKind::Status(503), fault_rate / 2.0),
                    FaultRule::random(vec![], FaultKind::RateLimited { retry_after_s: Some(1), reset_s: 1 }, fault_rate / 4.0),
                ],
                ..FaultPlan::default()
            });
            let versions: Arc<Mutex<Vec<String>>> = Arc::default();
            let sink = versions.clone();
            h.emulator.store.set_write_hook(Arc::new(move |e: &WriteEvent| {
                sink.lock().unwrap().push(e.after.as_ref().map(|a| a.version.clone()).unwrap_or_default());
            }));
            let path = EntryPath::new(UNIVERSE, "Counters", "shared");
            let mut tasks = Vec::new();
            for w in 0..writers {
                let client = h.client.clone();
                let path = path.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..per_writer {
                        cas_increment(&client, &path, &format!("w{w}-{i}")).await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let stored = h.emulator.store.get(&EntryKey::new(UNIVERSE, "Counters", "shared")).unwrap();
            let value: serde_json::Value = serde_json::from_str(&stored.value).unwrap();
            let expected = (writers * per_writer) as i64;
            assert_eq!(value["n"].as_i64().unwrap(), expected, "an update was lost or doubled");
            // Exactly one committed write per increment, versions strictly increasing.
            let versions = versions.lock().unwrap();
            assert_eq!(versions.len() as i64, expected);
            assert!(versions.windows(2).all(|w| w[0] < w[1]));
        });
    }
}
