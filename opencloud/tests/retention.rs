//! Roblox's version retention (`VersionRetention::roblox`) seen through v1 and v2 over HTTP: writes in
//! one UTC hour collapse to the last, superseded versions expire 30 days later, the live version
//! never does, and a deleted key is purged 30 days after the delete.

mod common;

use std::sync::Arc;

use common::*;
use opencloud::client::ListVersions;
use opencloud::emulator::store::{BACKUP_RETENTION_MS, BACKUP_WINDOW_MS};
use opencloud::emulator::{Clock, EmulatorConfig, ManualClock, VersionRetention};
use opencloud::{EntryPath, SetOptions};
use serde_json::Value;

/// 2026-11-22T10:00:00Z, the start of a UTC hour.
const HOUR_START: i64 = 1_795_341_600_000;

async fn harness() -> (Harness, Arc<ManualClock>) {
    assert_eq!(HOUR_START % BACKUP_WINDOW_MS, 0);
    let clock = ManualClock::shared(HOUR_START);
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let h = start_on(
        dyn_clock,
        EmulatorConfig {
            retention: VersionRetention::roblox(),
            ..config()
        },
        |c| c,
    )
    .await;
    (h, clock)
}

fn path() -> EntryPath {
    EntryPath::new(UNIVERSE, DS, "wallet_1")
}

async fn v1_history(h: &Harness) -> Vec<String> {
    h.client
        .list_versions(&path(), &ListVersions::default())
        .await
        .unwrap()
        .versions
        .into_iter()
        .map(|v| v.version)
        .collect()
}

/// Revision ids through v2 `:listRevisions`, oldest first to compare with v1.
async fn v2_history(v2: &V2) -> Vec<String> {
    let (status, page) = v2
        .get("/entries/wallet_1:listRevisions?maxPageSize=100")
        .await;
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<String> = page["dataStoreEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["revisionId"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    ids
}

async fn v2_value_at(v2: &V2, revision: &str) -> (u16, Value) {
    let (status, body) = v2.get(&format!("/entries/wallet_1@{revision}")).await;
    (status, body["value"].clone())
}

#[tokio::test]
async fn writes_within_an_hour_collapse_in_both_views() {
    let (h, clock) = harness().await;
    let v2 = V2::new(&h);
    let set = |value: &'static str| {
        let client = h.client.clone();
        async move {
            client
                .set_entry(&path(), value, &SetOptions::default())
                .await
                .unwrap()
                .version
        }
    };
    let first = set("1").await;
    clock.advance(20 * 60_000);
    let second = set("2").await;
    clock.advance(39 * 60_000); // 10:59
    let last_of_hour = set("3").await;
    clock.advance(60_000); // 11:00, the next UTC hour
    let next_hour = set("4").await;

    assert_eq!(
        v1_history(&h).await,
        vec![last_of_hour.clone(), next_hour.clone()]
    );
    assert_eq!(v2_history(&v2).await, v1_history(&h).await);
    for gone in [&first, &second] {
        assert_eq!(h.client.get_version(&path(), gone).await.unwrap(), None);
        assert_eq!(v2_value_at(&v2, gone).await.0, 404);
    }
    assert_eq!(
        h.client
            .get_version(&path(), &last_of_hour)
            .await
            .unwrap()
            .unwrap()
            .value,
        "3"
    );
    assert_eq!(v2_value_at(&v2, &last_of_hour).await, (200, Value::from(3)));
    // `@latest:<time>` inside the collapsed hour finds nothing older than the survivor.
    let (status, _) = v2
        .get("/entries/wallet_1@latest:2026-11-22T10:30:00Z")
        .await;
    assert_eq!(status, 404);
    let (status, at) = v2
        .get("/entries/wallet_1@latest:2026-11-22T11:00:00.500Z")
        .await;
    assert_eq!((status, at["value"].clone()), (200, Value::from(4)));
}

#[tokio::test]
async fn backups_expire_thirty_days_after_being_superseded() {
    let (h, clock) = harness().await;
    let v2 = V2::new(&h);
    let old = h
        .client
        .set_entry(&path(), "1", &SetOptions::default())
        .await
        .unwrap();
    clock.advance(BACKUP_WINDOW_MS);
    let head = h
        .client
        .set_entry(&path(), "2", &SetOptions::default())
        .await
        .unwrap();
    clock.advance(BACKUP_RETENTION_MS - 1);
    assert_eq!(
        v1_history(&h).await,
        vec![old.version.clone(), head.version.clone()]
    );
    clock.advance(1);
    assert_eq!(v1_history(&h).await, vec![head.version.clone()]);
    assert_eq!(v2_history(&v2).await, vec![head.version.clone()]);
    assert_eq!(
        h.client.get_version(&path(), &old.version).await.unwrap(),
        None
    );
    assert_eq!(v2_value_at(&v2, &old.version).await.0, 404);
    // The live version never expires.
    clock.advance(10 * BACKUP_RETENTION_MS);
    let live = h.client.get_entry(&path()).await.unwrap().unwrap();
    assert_eq!((live.value.as_str(), live.version), ("2", head.version));
}

#[tokio::test]
async fn a_deleted_key_is_purged_thirty_days_after_the_delete() {
    let (h, clock) = harness().await;
    let v2 = V2::new(&h);
    let written = h
        .client
        .set_entry(&path(), "1", &SetOptions::default())
        .await
        .unwrap();
    clock.advance(BACKUP_WINDOW_MS);
    let (status, _) = v2.delete("/entries/wallet_1").await;
    assert_eq!(status, 200);
    clock.advance(BACKUP_RETENTION_MS - 1);
    assert_eq!(v1_history(&h).await.len(), 2, "value and tombstone");
    let (_, listed) = v2.get("/entries?showDeleted=true").await;
    assert_eq!(listed["dataStoreEntries"].as_array().unwrap().len(), 1);
    clock.advance(1);
    assert!(v1_history(&h).await.is_empty());
    assert!(v2_history(&v2).await.is_empty());
    let (_, listed) = v2.get("/entries?showDeleted=true").await;
    assert_eq!(listed["dataStoreEntries"], Value::Array(vec![]));
    assert_eq!(
        h.client
            .get_version(&path(), &written.version)
            .await
            .unwrap(),
        None
    );
}
