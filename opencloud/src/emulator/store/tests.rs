use super::*;
use crate::emulator::version;
use parking_lot::Mutex;
use shared::clock::{Clock, ManualClock};
use std::sync::Arc;

fn store() -> (Store, Arc<ManualClock>) {
    let clock = ManualClock::shared(1_700_000_000_000);
    (Store::new(clock.clone()), clock)
}

fn key(k: &str) -> EntryKey {
    EntryKey::new(42, "EconomyWallet", k)
}

fn bot() -> Writer {
    Writer::open_cloud("bot")
}

/// An unconditional set by the bot, without metadata.
fn put(store: &Store, key: &EntryKey, value: impl Into<String>) -> Result<Entry, StoreError> {
    store.set(key, &bot(), value, None, vec![], SetCondition::default())
}

#[test]
fn versions_increase_even_within_one_millisecond() {
    let (store, clock) = store();
    let mut last = String::new();
    for i in 0..20 {
        let e = put(&store, &key("a"), i.to_string()).unwrap();
        assert!(e.version > last, "{} !> {}", e.version, last);
        assert!(version::is_well_formed(&e.version));
        last = e.version;
        if i % 5 == 0 {
            clock.advance(1);
        }
    }
    // Setting the clock back must not make versions go backwards.
    clock.set(0);
    let e = put(&store, &key("a"), "1").unwrap();
    assert!(e.version > last);
}

#[test]
fn created_time_is_kept_and_updated_time_moves() {
    let (store, clock) = store();
    let first = put(&store, &key("a"), "1").unwrap();
    clock.advance(5_000);
    let second = put(&store, &key("a"), "2").unwrap();
    assert_eq!(second.created_ms, first.created_ms);
    assert_eq!(second.updated_ms, first.updated_ms + 5_000);
}

#[test]
fn delete_leaves_a_tombstone_and_history() {
    let (store, clock) = store();
    let v1 = store
        .set(
            &key("a"),
            &bot(),
            "\"x\"",
            None,
            vec![7],
            SetCondition::default(),
        )
        .unwrap();
    clock.advance(10);
    let removed = store.delete(&key("a"), &bot()).unwrap();
    assert_eq!(removed.as_ref().map(|e| e.value.as_str()), Some("\"x\""));
    assert_eq!(store.get(&key("a")), None);
    let head = store.head(&key("a")).unwrap();
    assert!(head.deleted);
    assert_eq!(
        store.delete(&key("a"), &bot()).unwrap(),
        None,
        "second delete writes nothing"
    );
    let page = store
        .list_versions(&key("a"), None, None, false, 10, None)
        .unwrap();
    assert_eq!(page.versions.len(), 2);
    assert!(!page.versions[0].deleted && page.versions[1].deleted);
    assert_eq!(
        store.get_version(&key("a"), &v1.version).unwrap().value,
        "\"x\""
    );
    // Re-creating after a delete starts a new object.
    clock.advance(10);
    let again = put(&store, &key("a"), "1").unwrap();
    assert_eq!(again.created_ms, again.updated_ms);
    assert_ne!(again.created_ms, v1.created_ms);
}

#[test]
fn preconditions_report_the_current_entry() {
    let (store, _) = store();
    let none = store.set(
        &key("a"),
        &bot(),
        "1",
        None,
        vec![],
        SetCondition {
            match_version: Some("08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01".into()),
            exclusive_create: false,
        },
    );
    assert_eq!(none, Err(StoreError::PreconditionFailed { current: None }));
    let created = store
        .set(
            &key("a"),
            &bot(),
            "1",
            Some("{\"k\":1}".into()),
            vec![1],
            SetCondition {
                match_version: None,
                exclusive_create: true,
            },
        )
        .unwrap();
    let again = store.set(
        &key("a"),
        &bot(),
        "2",
        None,
        vec![],
        SetCondition {
            match_version: None,
            exclusive_create: true,
        },
    );
    assert_eq!(
        again,
        Err(StoreError::PreconditionFailed {
            current: Some(created.clone())
        })
    );
    let matched = store
        .set(
            &key("a"),
            &bot(),
            "3",
            None,
            vec![],
            SetCondition {
                match_version: Some(created.version.clone()),
                exclusive_create: false,
            },
        )
        .unwrap();
    let stale = store.set(
        &key("a"),
        &bot(),
        "4",
        None,
        vec![],
        SetCondition {
            match_version: Some(created.version.clone()),
            exclusive_create: false,
        },
    );
    assert_eq!(
        stale,
        Err(StoreError::PreconditionFailed {
            current: Some(matched)
        })
    );
    let both = store.set(
        &key("a"),
        &bot(),
        "5",
        None,
        vec![],
        SetCondition {
            match_version: Some(created.version),
            exclusive_create: true,
        },
    );
    assert_eq!(both, Err(StoreError::ExclusiveCreateAndMatchVersion));
    assert_eq!(
        store.get(&key("a")).unwrap().value,
        "3",
        "failed sets change nothing"
    );
}

#[test]
fn hook_sees_every_write_in_order() {
    let (store, _) = store();
    let seen: Arc<Mutex<Vec<WriteEvent>>> = Arc::default();
    let sink = seen.clone();
    store.set_write_hook(Arc::new(move |e: &WriteEvent| sink.lock().push(e.clone())));
    let gs = Writer::game_server("job-1");
    put(&store, &key("a"), "1").unwrap();
    store.increment(&key("a"), &bot(), 4, None, vec![]).unwrap();
    store
        .update(&key("a"), &gs, |cur| Transform::Write {
            value: format!("{}", cur.map_or(0, |e| e.value.parse::<i64>().unwrap()) * 2),
            attributes: None,
            user_ids: vec![],
        })
        .unwrap();
    store.update(&key("a"), &gs, |_| Transform::Keep).unwrap();
    let _ = store.set(
        &key("a"),
        &bot(),
        "9",
        None,
        vec![],
        SetCondition {
            match_version: None,
            exclusive_create: true,
        },
    );
    store.delete(&key("a"), &gs).unwrap();
    let seen = seen.lock();
    let ops: Vec<WriteOp> = seen.iter().map(|e| e.op).collect();
    assert_eq!(
        ops,
        vec![
            WriteOp::Set,
            WriteOp::Increment,
            WriteOp::Update,
            WriteOp::Delete
        ]
    );
    assert_eq!(seen[1].before.as_ref().unwrap().value, "1");
    assert_eq!(seen[1].after.as_ref().unwrap().value, "5");
    assert_eq!(seen[2].writer, gs);
    assert_eq!(seen[2].after.as_ref().unwrap().value, "10");
    assert_eq!(seen[3].after, None);
    assert_eq!(seen[3].before.as_ref().unwrap().value, "10");
}

#[test]
fn update_is_atomic_under_threads() {
    let (store, _) = store();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    store
                        .update(&key("n"), &Writer::game_server(format!("job-{t}")), |cur| {
                            let n: i64 = cur.map_or(0, |e| e.value.parse().unwrap());
                            Transform::Write {
                                value: (n + 1).to_string(),
                                attributes: None,
                                user_ids: vec![],
                            }
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.get(&key("n")).unwrap().value, "1600");
}

#[test]
fn increment_rules() {
    let (store, _) = store();
    assert_eq!(
        store
            .increment(&key("c"), &bot(), 5, None, vec![])
            .unwrap()
            .value,
        "5"
    );
    assert_eq!(
        store
            .increment(&key("c"), &bot(), -7, None, vec![])
            .unwrap()
            .value,
        "-2"
    );
    put(&store, &key("s"), "\"text\"").unwrap();
    assert_eq!(
        store.increment(&key("s"), &bot(), 1, None, vec![]),
        Err(StoreError::ExistingValueNotNumeric)
    );
    put(&store, &key("f"), "3.0").unwrap();
    assert_eq!(
        store
            .increment(&key("f"), &bot(), 1, None, vec![])
            .unwrap()
            .value,
        "4"
    );
    put(&store, &key("m"), i64::MAX.to_string()).unwrap();
    assert_eq!(
        store.increment(&key("m"), &bot(), 1, None, vec![]),
        Err(StoreError::IncrementOutOfRange { too_large: true })
    );
}

#[test]
fn limits_are_enforced_and_change_nothing() {
    let (store, _) = store();
    let long = "k".repeat(51);
    let err = put(&store, &key(&long), "1").unwrap_err();
    assert_eq!(err.datastore_error_code(), "InvalidEntryKey");
    let err = put(&store, &key("a"), "not json").unwrap_err();
    assert_eq!(err.datastore_error_code(), "ContentNotJson");
    let err = store
        .set(
            &key("a"),
            &bot(),
            "1",
            None,
            vec![1, 2, 3, 4, 5],
            SetCondition::default(),
        )
        .unwrap_err();
    assert_eq!(err.datastore_error_code(), "InvalidUserIds");
    let err = store
        .set(
            &key("a"),
            &bot(),
            "1",
            Some("[]".into()),
            vec![],
            SetCondition::default(),
        )
        .unwrap_err();
    assert_eq!(err.datastore_error_code(), "InvalidAttributes");
    let big = format!("\"{}\"", "x".repeat(crate::limits::MAX_VALUE_BYTES));
    let err = put(&store, &key("a"), big).unwrap_err();
    assert_eq!(err.datastore_error_code(), "ContentTooBig");
    assert_eq!(store.head(&key("a")), None);
}

#[test]
fn list_keys_pages_by_prefix_and_scope() {
    let (store, _) = store();
    for k in ["wallet_1", "wallet_2", "wallet_3", "other", "wallet_4"] {
        put(&store, &key(k), "1").unwrap();
    }
    store
        .set(
            &EntryKey::scoped(42, "EconomyWallet", "beta", "wallet_9"),
            &bot(),
            "1",
            None,
            vec![],
            SetCondition::default(),
        )
        .unwrap();
    store.delete(&key("wallet_3"), &bot()).unwrap();
    let p1 = store
        .list_keys(42, "EconomyWallet", Some("global"), "wallet_", 2, None)
        .unwrap();
    assert_eq!(
        p1.keys,
        vec![
            ("global".into(), "wallet_1".into()),
            ("global".into(), "wallet_2".into())
        ]
    );
    let p2 = store
        .list_keys(
            42,
            "EconomyWallet",
            Some("global"),
            "wallet_",
            2,
            p1.next_cursor.as_deref(),
        )
        .unwrap();
    assert_eq!(p2.keys, vec![("global".into(), "wallet_4".into())]);
    assert_eq!(p2.next_cursor, None);
    let all = store
        .list_keys(42, "EconomyWallet", None, "wallet_", 10, None)
        .unwrap();
    assert_eq!(all.keys.len(), 4);
    assert_eq!(all.keys[0].0, "beta");
    assert_eq!(
        store.list_keys(42, "EconomyWallet", None, "", 10, Some("!!")),
        Err(StoreError::InvalidCursor)
    );
    let (stores, next) = store.list_datastores(42, "", 10, None).unwrap();
    assert_eq!(stores.len(), 1);
    assert_eq!(next, None);
}

#[test]
fn list_versions_filters_orders_and_pages() {
    let (store, clock) = store();
    let mut versions = Vec::new();
    for i in 0..5 {
        versions.push(put(&store, &key("a"), i.to_string()).unwrap());
        clock.advance(1_000);
    }
    let window = store
        .list_versions(
            &key("a"),
            Some(versions[1].updated_ms),
            Some(versions[3].updated_ms),
            true,
            2,
            None,
        )
        .unwrap();
    assert_eq!(window.versions[0].version, versions[3].version);
    assert_eq!(window.versions[1].version, versions[2].version);
    let rest = store
        .list_versions(
            &key("a"),
            Some(versions[1].updated_ms),
            Some(versions[3].updated_ms),
            true,
            2,
            window.next_cursor.as_deref(),
        )
        .unwrap();
    assert_eq!(rest.versions.len(), 1);
    assert_eq!(rest.versions[0].version, versions[1].version);
    assert_eq!(rest.next_cursor, None);
    assert_eq!(
        store
            .get_at(&key("a"), versions[2].updated_ms + 10)
            .unwrap()
            .value,
        "2"
    );
    assert_eq!(
        store.get_version(&key("a"), "garbage"),
        Err(StoreError::InvalidVersionId)
    );
}

fn roblox_store(start_ms: i64) -> (Store, Arc<ManualClock>) {
    let clock = ManualClock::shared(start_ms);
    let store = Store::with_retention(
        clock.clone(),
        StoreConfig::default(),
        VersionRetention::roblox(),
    );
    (store, clock)
}

fn history(store: &Store, key: &EntryKey) -> Vec<(String, bool)> {
    store
        .list_versions(key, None, None, false, 1000, None)
        .unwrap()
        .versions
        .into_iter()
        .map(|v| {
            let value = store
                .get_version(key, &v.version)
                .map(|e| e.value)
                .unwrap_or_default();
            (value, v.deleted)
        })
        .collect()
}

#[test]
fn writes_in_one_utc_hour_collapse_to_the_last() {
    // 10:00:00 UTC on some day.
    let hour = 1_700_002_800_000;
    assert_eq!(hour % BACKUP_WINDOW_MS, 0);
    let (store, clock) = roblox_store(hour);
    let first = put(&store, &key("a"), "1").unwrap();
    clock.advance(60_000);
    let second = put(&store, &key("a"), "2").unwrap();
    assert!(second.version > first.version, "every write mints a new id");
    assert_eq!(second.created_ms, first.created_ms);
    assert_eq!(
        store.get_version(&key("a"), &first.version),
        Err(StoreError::VersionNotFound),
        "overwritten within the hour"
    );
    clock.advance(BACKUP_WINDOW_MS - 60_001); // 10:59:59.999
    put(&store, &key("a"), "3").unwrap();
    clock.advance(1); // 11:00:00.000, a new hour
    put(&store, &key("a"), "4").unwrap();
    clock.advance(1_000);
    put(&store, &key("a"), "5").unwrap();
    assert_eq!(
        history(&store, &key("a")),
        vec![("3".into(), false), ("5".into(), false)]
    );
    // A delete keeps the value before it, and a write after a tombstone keeps the tombstone.
    clock.advance(1_000);
    store.delete(&key("a"), &bot()).unwrap();
    clock.advance(1_000);
    put(&store, &key("a"), "6").unwrap();
    assert_eq!(
        history(&store, &key("a")),
        vec![
            ("3".into(), false),
            ("5".into(), false),
            (String::new(), true),
            ("6".into(), false)
        ]
    );
    // The default store keeps every version.
    let (plain, _) = store_at(hour);
    put(&plain, &key("a"), "1").unwrap();
    put(&plain, &key("a"), "2").unwrap();
    assert_eq!(history(&plain, &key("a")).len(), 2);
}

fn store_at(ms: i64) -> (Store, Arc<ManualClock>) {
    let clock = ManualClock::shared(ms);
    (Store::new(clock.clone()), clock)
}

#[test]
fn superseded_versions_expire_after_thirty_days_and_the_head_never() {
    let (store, clock) = roblox_store(1_700_002_800_000);
    let old = put(&store, &key("a"), "1").unwrap();
    clock.advance(2 * BACKUP_WINDOW_MS);
    let middle = put(&store, &key("a"), "2").unwrap();
    clock.advance(2 * BACKUP_WINDOW_MS);
    let head = put(&store, &key("a"), "3").unwrap();
    // `old` was superseded when `middle` was written; 30 days later, to the ms, it is gone.
    clock.set(middle.updated_ms + BACKUP_RETENTION_MS - 1);
    assert!(store.get_version(&key("a"), &old.version).is_ok());
    clock.advance(1);
    assert_eq!(
        store.get_version(&key("a"), &old.version),
        Err(StoreError::VersionNotFound)
    );
    assert!(store.get_version(&key("a"), &middle.version).is_ok());
    assert_eq!(store.get_at(&key("a"), old.updated_ms), None);
    clock.set(head.updated_ms + 10 * BACKUP_RETENTION_MS);
    assert_eq!(history(&store, &key("a")), vec![("3".into(), false)]);
    assert_eq!(store.get(&key("a")).unwrap().version, head.version);
    // A write after expiry still gets a larger id.
    let next = put(&store, &key("a"), "4").unwrap();
    assert!(next.version > head.version);
}

#[test]
fn a_deleted_key_is_purged_thirty_days_after_the_delete() {
    let (store, clock) = roblox_store(1_700_002_800_000);
    let written = put(&store, &key("a"), "1").unwrap();
    clock.advance(BACKUP_WINDOW_MS);
    store.delete(&key("a"), &bot()).unwrap();
    clock.advance(BACKUP_RETENTION_MS - 1);
    assert!(store.head(&key("a")).unwrap().deleted);
    assert!(store.get_version(&key("a"), &written.version).is_ok());
    clock.advance(1);
    assert_eq!(store.head(&key("a")), None);
    assert_eq!(history(&store, &key("a")), vec![]);
    let again = put(&store, &key("a"), "2").unwrap();
    assert!(again.version > written.version);
    assert_eq!(again.created_ms, clock.now_ms());
}

#[test]
fn version_cursor_survives_a_collapse_between_pages() {
    let (store, clock) = roblox_store(1_700_002_800_000);
    for i in 0..4 {
        clock.advance(BACKUP_WINDOW_MS);
        put(&store, &key("a"), i.to_string()).unwrap();
    }
    let p1 = store
        .list_versions(&key("a"), None, None, true, 1, None)
        .unwrap();
    assert_eq!(p1.versions.len(), 1);
    // The version the cursor points at is overwritten within its hour; paging goes on.
    clock.advance(10);
    put(&store, &key("a"), "9").unwrap();
    let p2 = store
        .list_versions(&key("a"), None, None, true, 10, p1.next_cursor.as_deref())
        .unwrap();
    assert_eq!(p2.versions.len(), 3);
    assert!(p2.versions[0].version < p1.versions[0].version);
}

#[test]
fn history_is_capped_but_head_survives() {
    let clock = ManualClock::shared(0);
    let store = Store::with_config(
        clock,
        StoreConfig {
            max_versions_per_key: 3,
        },
    );
    for i in 0..10 {
        put(&store, &key("a"), i.to_string()).unwrap();
    }
    let page = store
        .list_versions(&key("a"), None, None, false, 100, None)
        .unwrap();
    assert_eq!(page.versions.len(), 3);
    assert_eq!(store.get(&key("a")).unwrap().value, "9");
}
