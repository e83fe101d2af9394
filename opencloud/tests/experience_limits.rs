//! The experience-wide data-store budgets Open Cloud v2 shares with game servers (Roblox: read
//! 300 + 40·CCU, write 300 + 20·CCU, list 300 + 2·CCU, remove 300 + 40·CCU per minute): v2 calls
//! spend them and get 429 with the documented `Standard*ExperienceThrottled` message, game-server
//! use (spent on the shared [`Experience`]) throttles v2, concurrent users raise them, and legacy
//! v1 calls keep their own budgets.

mod common;

use std::sync::Arc;

use common::*;
use opencloud::emulator::{
    BudgetConfig, Clock, EmulatorConfig, ExperienceLimits, ManualClock, RequestRates, RequestType,
};
use opencloud::{EntryPath, SetOptions};
use serde_json::{Value, json};

/// 00:00:30 of a minute, so the request windows reset in 30 s.
const T0: i64 = 1_795_219_200_000 + 30_000;

async fn harness() -> (Harness, Arc<ManualClock>) {
    let clock = ManualClock::shared(T0);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let h = start_on(
        dyn_clock,
        EmulatorConfig {
            // v1's legacy limits are Open Cloud's own budgets (300/min each here).
            budgets: BudgetConfig::default(),
            experience: ExperienceLimits {
                requests: Some(RequestRates::ROBLOX),
                ..ExperienceLimits::unlimited()
            },
            ..config()
        },
        |c| c,
    )
    .await;
    (h, clock)
}

/// Spends `n` requests of a type as game servers would.
fn spend_in_game(h: &Harness, t: RequestType, n: u64) {
    for _ in 0..n {
        h.emulator
            .experience
            .take_requests(UNIVERSE, &[t], T0)
            .unwrap();
    }
}

#[tokio::test]
async fn v2_calls_share_the_experience_budget_with_game_servers() {
    let (h, clock) = harness().await;
    let v2 = V2::new(&h);
    let (status, _) = v2
        .patch("/entries/a?allowMissing=true", json!({"value": 1}))
        .await;
    assert_eq!(status, 200);
    // Game servers spend the rest of the 300 writes of a minute with nobody playing.
    spend_in_game(&h, RequestType::Write, 299);
    let raw = reqwest::Client::new()
        .patch(format!(
            "{}/cloud/v2/universes/{UNIVERSE}/data-stores/{DS}/entries/a",
            h.server.base_url()
        ))
        .header("x-api-key", ADMIN_SECRET)
        .header("content-type", "application/json")
        .body(json!({"value": 2}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    let header = |name: &str| raw.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-ratelimit-limit"), "300");
    assert_eq!(header("x-ratelimit-remaining"), "0");
    assert_eq!(header("retry-after"), "30");
    let body: Value = raw.json().await.unwrap();
    assert_eq!(code(&body), "RESOURCE_EXHAUSTED");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("StandardWriteExperienceThrottled: The standard write request rate"),
        "{message}"
    );
    // Nothing was written; other request types have their own budgets.
    let (status, entry) = v2.get("/entries/a").await;
    assert_eq!((status, entry["value"].clone()), (200, json!(1)));
    for t in [RequestType::Read, RequestType::List, RequestType::Remove] {
        assert!(
            h.emulator
                .experience
                .take_requests(UNIVERSE, &[t], T0)
                .is_ok()
        );
    }

    // Ten players join: writes become 300 + 20 × 10 a minute, so v2 can write again.
    h.emulator.experience.set_server_players(UNIVERSE, 0, 10);
    let (status, _) = v2.patch("/entries/a", json!({"value": 3})).await;
    assert_eq!(status, 200);
    spend_in_game(&h, RequestType::Write, 199);
    let (status, body) = v2.patch("/entries/a", json!({"value": 4})).await;
    assert_eq!((status, code(&body)), (429, "RESOURCE_EXHAUSTED"));
    // A new minute, a new budget.
    clock.advance(30_000);
    let (status, _) = v2.patch("/entries/a", json!({"value": 5})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn each_v2_call_spends_its_documented_request_type() {
    let (h, _clock) = harness().await;
    let v2 = V2::new(&h);
    let spent = |h: &Harness| h.emulator.experience.stats().spent;
    let calls: Vec<(&str, RequestType)> = vec![
        ("create", RequestType::Write),
        ("get", RequestType::Read),
        ("increment", RequestType::Write),
        ("list", RequestType::List),
        ("revisions", RequestType::List),
        ("delete", RequestType::Remove),
    ];
    for (call, t) in calls {
        let before = spent(&h);
        let (status, _) = match call {
            "create" => v2.post("/entries?id=k", json!({"value": 1})).await,
            "get" => v2.get("/entries/k").await,
            "increment" => v2.post("/entries/k:increment", json!({"amount": 1})).await,
            "list" => v2.get("/entries").await,
            "revisions" => v2.get("/entries/k:listRevisions").await,
            _ => v2.delete("/entries/k").await,
        };
        assert_eq!(status, 200, "{call}");
        let after = spent(&h);
        for other in RequestType::ALL {
            let delta =
                after.get(&other).copied().unwrap_or(0) - before.get(&other).copied().unwrap_or(0);
            assert_eq!(delta, u64::from(other == t), "{call} spent {other:?}");
        }
    }
}

#[tokio::test]
async fn legacy_v1_calls_keep_their_own_budgets() {
    let (h, _clock) = harness().await;
    // Game servers spend every experience read and write; v1 still answers from its own budget.
    spend_in_game(&h, RequestType::Write, 300);
    spend_in_game(&h, RequestType::Read, 300);
    let path = EntryPath::new(UNIVERSE, DS, "v1");
    h.client
        .set_entry(&path, "7", &SetOptions::default())
        .await
        .unwrap();
    let read = h.client.get_entry(&path).await.unwrap().unwrap();
    assert_eq!(read.value, "7");
    let (status, _) = V2::new(&h).get("/entries/v1").await;
    assert_eq!(status, 429, "v2 reads draw on the spent experience budget");
}
