//! Per-key throughput (Roblox: writes 4 MB/min, reads 25 MB/min per key over the last 60 seconds,
//! each request rounded up to the next KB) answered with 429 and rate-limit headers in v1 and v2,
//! shared between them, refusing without writing, and off unless configured; and the legacy v1
//! request classes.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use opencloud::emulator::experience::{KEY_READ_BYTES_PER_MINUTE, KEY_WRITE_BYTES_PER_MINUTE};
use opencloud::emulator::store::EntryKey;
use opencloud::emulator::{
    BudgetClass, BudgetConfig, Clock, EmulatorConfig, ExperienceLimits, ManualClock,
    ThroughputConfig,
};
use reqwest::Method;
use serde_json::{Value, json};

/// 00:00:30 of a minute (request windows reset in 30 s; byte windows slide over 60 s).
const T0: i64 = 1_795_219_200_000 + 30_000;

async fn harness(throughput: ThroughputConfig) -> (Harness, Arc<ManualClock>) {
    let clock = ManualClock::shared(T0);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let h = start_on(
        dyn_clock,
        EmulatorConfig {
            experience: ExperienceLimits {
                requests: None,
                throughput,
            },
            ..config()
        },
        |c| c,
    )
    .await;
    (h, clock)
}

/// A v1 set with a body of `len` bytes (a JSON string), answered raw.
async fn v1_set(h: &Harness, key: &str, len: usize) -> reqwest::Response {
    let body = format!("\"{}\"", "x".repeat(len - 2));
    reqwest::Client::new()
        .post(format!(
            "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?datastoreName={DS}&entryKey={key}",
            h.server.base_url()
        ))
        .header("x-api-key", ADMIN_SECRET)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn writes_over_the_per_key_limit_get_429_and_change_nothing() {
    let (h, clock) = harness(ThroughputConfig {
        key_write_bytes_per_minute: Some(8 * 1024),
        ..ThroughputConfig::unlimited()
    })
    .await;
    // 3,000 bytes bill as 3 KB: two fit in 8 KB, the third does not.
    assert_eq!(v1_set(&h, "w", 3000).await.status(), 200);
    assert_eq!(v1_set(&h, "w", 3000).await.status(), 200);
    let refused = v1_set(&h, "w", 3000).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-limit"), "8192");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "2048");
    // Both writes were made now: room comes back when the first leaves the last minute.
    assert_eq!(header(&refused, "x-ratelimit-reset"), "60");
    assert_eq!(header(&refused, "retry-after"), "60");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "RESOURCE_EXHAUSTED");
    assert_eq!(
        body["errorDetails"][0]["datastoreErrorCode"],
        "TooManyRequests"
    );
    assert!(body["message"].as_str().unwrap().contains("KeyThrottled"));
    let key = EntryKey::new(UNIVERSE, DS, "w");

    // v2 writes draw on the same key budget: 3 KB does not fit in the 2 KB left, 1 KB twice does.
    let v2 = V2::new(&h);
    let (status, body) = v2
        .patch("/entries/w", json!({"value": "y".repeat(3000)}))
        .await;
    assert_eq!((status, code(&body)), (429, "RESOURCE_EXHAUSTED"));
    for value in [1, 2] {
        let (status, _) = v2.patch("/entries/w", json!({"value": value})).await;
        assert_eq!(status, 200);
    }
    let version_before = h.emulator.store.get(&key).unwrap().version;
    let (status, _) = v2.post("/entries/w:increment", json!({"amount": 1})).await;
    assert_eq!(status, 429);
    assert_eq!(v1_set(&h, "w", 10).await.status(), 429);
    let after = h.emulator.store.get(&key).unwrap();
    assert_eq!((after.version, after.value.as_str()), (version_before, "2"));
    // Other keys are independent.
    assert_eq!(v1_set(&h, "other", 3000).await.status(), 200);

    // The window slides: 30 s on (a new fixed minute) the key is still spent; 60 s on it is not.
    clock.advance(30_000);
    assert_eq!(v1_set(&h, "w", 3000).await.status(), 429);
    clock.advance(30_000);
    assert_eq!(v1_set(&h, "w", 3000).await.status(), 200);
}

#[tokio::test]
async fn reads_over_the_per_key_limit_get_429() {
    let (h, _clock) = harness(ThroughputConfig {
        key_read_bytes_per_minute: Some(2 * 1024),
        ..ThroughputConfig::unlimited()
    })
    .await;
    assert_eq!(v1_set(&h, "r", 1500).await.status(), 200);
    let v2 = V2::new(&h);
    let (status, _) = v2.get("/entries/r").await;
    assert_eq!(status, 200, "1,500 bytes bill as 2 KB");
    let (status, body) = v2.get("/entries/r").await;
    assert_eq!((status, code(&body)), (429, "RESOURCE_EXHAUSTED"));
    // v1 reads of the same key share the read budget.
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?datastoreName={DS}&entryKey=r",
            h.server.base_url()
        ))
        .header("x-api-key", ADMIN_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
}

#[tokio::test]
async fn v1_writes_share_a_universe_byte_budget_that_v2_does_not_use() {
    let (h, _clock) = harness(ThroughputConfig {
        v1_universe_write_bytes_per_minute: Some(8 * 1024),
        ..ThroughputConfig::unlimited()
    })
    .await;
    assert_eq!(v1_set(&h, "a", 3000).await.status(), 200);
    assert_eq!(v1_set(&h, "b", 3000).await.status(), 200);
    let refused = v1_set(&h, "c", 3000).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "2048");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("universe"),
        "{body}"
    );
    assert_eq!(
        h.emulator.store.get(&EntryKey::new(UNIVERSE, DS, "c")),
        None
    );
    let (status, _) = V2::new(&h)
        .patch(
            "/entries/c?allowMissing=true",
            json!({"value": "z".repeat(3000)}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn per_key_limits_are_off_by_default_and_roblox_sized_when_on() {
    let off = ThroughputConfig {
        key_read_bytes_per_minute: None,
        key_write_bytes_per_minute: None,
        v1_universe_read_bytes_per_minute: None,
        v1_universe_write_bytes_per_minute: None,
    };
    assert_eq!(EmulatorConfig::default().experience.throughput, off);
    assert_eq!(
        ExperienceLimits::roblox().throughput,
        ThroughputConfig::roblox()
    );
    let roblox = ThroughputConfig::roblox();
    assert_eq!(
        roblox.key_write_bytes_per_minute,
        Some(KEY_WRITE_BYTES_PER_MINUTE)
    );
    assert_eq!(
        roblox.key_read_bytes_per_minute,
        Some(KEY_READ_BYTES_PER_MINUTE)
    );
    assert_eq!(KEY_WRITE_BYTES_PER_MINUTE, 4 * 1024 * 1024);
    // With the defaults, 100 writes of 50 KB to one key in one minute (5 MB) all succeed.
    let clock: Arc<dyn Clock> = ManualClock::shared(T0);
    let h = start_on(
        clock,
        EmulatorConfig {
            budgets: BudgetConfig::default(),
            api_keys: config().api_keys,
            ..EmulatorConfig::default()
        },
        |c| c,
    )
    .await;
    for _ in 0..100 {
        assert_eq!(v1_set(&h, "big", 50_000).await.status(), 200);
    }
}

/// A raw v1 request on `…/standard-datastores{path}` (path and query).
async fn v1_raw(h: &Harness, method: Method, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            method,
            format!(
                "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores{path}",
                h.server.base_url()
            ),
        )
        .header("x-api-key", ADMIN_SECRET)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn legacy_v1_counts_delete_entry_as_a_write_and_lists_as_reads() {
    // Roblox's legacy v1 limits have three request types: Write (create, delete entry, update,
    // increment), Read (list data stores, list entries, get, list revisions) and Delete (whole data
    // stores). v2 calls spend the experience budget instead (experience_limits.rs).
    let clock: Arc<dyn Clock> = ManualClock::shared(T0);
    let h = start_on(
        clock,
        EmulatorConfig {
            budgets: BudgetConfig {
                per_minute: HashMap::from([(BudgetClass::Read, 3), (BudgetClass::Write, 2)]),
            },
            ..config()
        },
        |c| c,
    )
    .await;
    let entry = format!("/datastore/entries/entry?datastoreName={DS}&entryKey=a");
    assert_eq!(v1_set(&h, "a", 10).await.status(), 200);
    let deleted = v1_raw(&h, Method::DELETE, &entry).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(header(&deleted, "x-ratelimit-remaining"), "0");
    let refused = v1_set(&h, "b", 10).await;
    assert_eq!(refused.status(), 429, "the delete spent the last write");
    assert_eq!(header(&refused, "x-ratelimit-limit"), "2");

    let get = Method::GET;
    for path in [
        "".to_owned(),
        format!("/datastore/entries?datastoreName={DS}"),
        format!("/datastore/entries/entry/versions?datastoreName={DS}&entryKey=a"),
    ] {
        let listed = v1_raw(&h, get.clone(), &path).await;
        assert_eq!(listed.status(), 200, "{path}");
        assert_eq!(header(&listed, "x-ratelimit-limit"), "3", "{path}");
    }
    let refused = v1_raw(&h, get.clone(), &entry).await;
    assert_eq!(refused.status(), 429, "the lists spent every read");
    let refused = v1_raw(&h, get, &format!("/datastore/entries?datastoreName={DS}")).await;
    assert_eq!(refused.status(), 429);

    // v2 lists draw on the experience budget, not on v1's Read.
    let v2 = V2::new(&h);
    let (status, _) = v2.get("/entries").await;
    assert_eq!(status, 200);
}
