//! The client against the emulator over real HTTP: every operation and its error paths.

mod common;

use common::*;
use opencloud::client::{Error, ListKeys, ListVersions, MessagingApi};
use opencloud::emulator::store::{EntryKey, Writer};
use opencloud::emulator::{EmulatorConfig, Operation, PreconditionBody};
use opencloud::limits::{self, LimitError};
use opencloud::{EntryPath, SetOptions};

fn wallet(user: u64) -> EntryPath {
    EntryPath::new(UNIVERSE, "EconomyWallet", format!("wallet_{user}"))
}

#[tokio::test]
async fn set_get_round_trip_with_metadata() {
    let h = start(config()).await;
    let path = wallet(1);
    assert_eq!(h.client.get_entry(&path).await.unwrap(), None);
    let options = SetOptions {
        attributes: Some(r#"{"schema":1}"#.into()),
        user_ids: vec![1],
        ..SetOptions::create_only()
    };
    let v1 = h
        .client
        .set_entry(&path, r#"{"balance":5}"#, &options)
        .await
        .unwrap();
    assert!(!v1.deleted);
    assert_eq!(v1.content_length, 13);
    let entry = h.client.get_entry(&path).await.unwrap().unwrap();
    assert_eq!(entry.value, r#"{"balance":5}"#);
    assert_eq!(entry.version, v1.version);
    assert_eq!(entry.attributes.as_deref(), Some(r#"{"schema":1}"#));
    assert_eq!(entry.user_ids, vec![1]);
    let created = entry.created_ms.unwrap();
    assert!(
        (1_795_219_200_000..1_795_219_260_000).contains(&created),
        "{created}"
    );
    assert_eq!(entry.version_created_ms, entry.created_ms);
    // The store saw an Open Cloud writer named after the key (never its secret).
    let stored = h
        .emulator
        .store
        .get(&EntryKey::new(UNIVERSE, "EconomyWallet", "wallet_1"))
        .unwrap();
    assert_eq!(stored.version, v1.version);
}

#[tokio::test]
async fn read_modify_write_keeps_metadata_and_omitting_it_clears() {
    let h = start(config()).await;
    let path = wallet(2);
    let options = SetOptions {
        attributes: Some(r#"{"k":"v"}"#.into()),
        user_ids: vec![2, 3],
        ..SetOptions::default()
    };
    h.client.set_entry(&path, "1", &options).await.unwrap();
    let current = h.client.get_entry(&path).await.unwrap().unwrap();
    h.client
        .set_entry(&path, "2", &SetOptions::replacing(&current))
        .await
        .unwrap();
    let after = h.client.get_entry(&path).await.unwrap().unwrap();
    assert_eq!(after.value, "2");
    assert_eq!(after.attributes, current.attributes);
    assert_eq!(after.user_ids, vec![2, 3]);
    assert!(after.version > current.version);
    // Roblox clears metadata when the headers are omitted; the emulator must too.
    h.client
        .set_entry(&path, "3", &SetOptions::default())
        .await
        .unwrap();
    let cleared = h.client.get_entry(&path).await.unwrap().unwrap();
    assert_eq!(cleared.attributes, None);
    assert!(cleared.user_ids.is_empty());
}

#[tokio::test]
async fn values_up_to_the_documented_limit_are_stored_and_larger_ones_refused_with_an_answer() {
    let h = start(config()).await;
    let path = wallet(6);
    // Larger than axum's default body limit (2 MiB), within Roblox's 4,194,304.
    let big = format!("\"{}\"", "x".repeat(limits::MAX_VALUE_BYTES - 2));
    h.client
        .set_entry(&path, &big, &SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        h.client
            .get_entry(&path)
            .await
            .unwrap()
            .unwrap()
            .value
            .len(),
        big.len()
    );
    // One byte more: the emulator answers (the client's own check is bypassed with raw HTTP).
    let url = format!(
        "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?datastoreName=EconomyWallet&entryKey=wallet_6",
        h.server.base_url()
    );
    let response = reqwest::Client::new()
        .post(url)
        .header("x-api-key", ADMIN_SECRET)
        .header("content-type", "application/json")
        .body(format!("\"{}\"", "x".repeat(limits::MAX_VALUE_BYTES - 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        h.client
            .get_entry(&path)
            .await
            .unwrap()
            .unwrap()
            .value
            .len(),
        big.len()
    );
}

#[tokio::test]
async fn a_412_without_the_entry_is_reported_as_unknown_not_absent() {
    // Roblox does not document a 412's body: the emulator can answer with an error only.
    let h = start(EmulatorConfig {
        precondition_body: PreconditionBody::ErrorOnly,
        ..config()
    })
    .await;
    let path = wallet(5);
    h.client
        .set_entry(&path, "1", &SetOptions::default())
        .await
        .unwrap();
    let exists = h
        .client
        .set_entry(&path, "2", &SetOptions::create_only())
        .await;
    assert!(
        matches!(exists, Err(Error::PreconditionFailed { current: None })),
        "{exists:?}"
    );
    assert_eq!(h.client.get_entry(&path).await.unwrap().unwrap().value, "1");
}

#[tokio::test]
async fn precondition_failures_carry_the_current_entry() {
    let h = start(config()).await;
    let path = wallet(3);
    let first = h
        .client
        .set_entry(
            &path,
            "10",
            &SetOptions {
                user_ids: vec![3],
                ..SetOptions::default()
            },
        )
        .await
        .unwrap();
    let current = h.client.get_entry(&path).await.unwrap().unwrap();
    // Someone else writes in between.
    h.client
        .set_entry(&path, "11", &SetOptions::replacing(&current))
        .await
        .unwrap();
    let stale = h
        .client
        .set_entry(&path, "99", &SetOptions::replacing(&current))
        .await;
    match stale {
        Err(Error::PreconditionFailed { current: Some(now) }) => {
            assert_eq!(now.value, "11");
            assert_ne!(now.version, first.version);
            assert_eq!(now.user_ids, vec![3]);
        }
        other => panic!("expected 412 with entry, got {other:?}"),
    }
    let exists = h
        .client
        .set_entry(&path, "1", &SetOptions::create_only())
        .await;
    assert!(
        matches!(exists, Err(Error::PreconditionFailed { current: Some(ref e) }) if e.value == "11")
    );
    let missing = h
        .client
        .set_entry(
            &wallet(404),
            "1",
            &SetOptions {
                match_version: Some(first.version.clone()),
                ..SetOptions::default()
            },
        )
        .await;
    assert!(
        matches!(missing, Err(Error::PreconditionFailed { current: None })),
        "{missing:?}"
    );
    let both = SetOptions {
        match_version: Some(first.version),
        exclusive_create: true,
        ..SetOptions::default()
    };
    assert!(matches!(
        h.client.set_entry(&path, "1", &both).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        h.client.get_entry(&path).await.unwrap().unwrap().value,
        "11"
    );
}

#[tokio::test]
async fn increment_delete_and_tombstones() {
    let h = start(config()).await;
    let path = EntryPath::new(UNIVERSE, "Counters", "c");
    let e = h.client.increment_entry(&path, 5, None, &[]).await.unwrap();
    assert_eq!(e.value, "5");
    let e = h
        .client
        .increment_entry(&path, -2, Some(r#"{"a":1}"#), &[9])
        .await
        .unwrap();
    assert_eq!(
        (e.value.as_str(), e.user_ids.as_slice()),
        ("3", &[9u64][..])
    );
    assert_eq!(e.attributes.as_deref(), Some(r#"{"a":1}"#));
    let text = EntryPath::new(UNIVERSE, "Counters", "text");
    h.client
        .set_entry(&text, r#""abc""#, &SetOptions::default())
        .await
        .unwrap();
    let err = h
        .client
        .increment_entry(&text, 1, None, &[])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("ExistingValueNotNumeric"))
    );
    assert!(h.client.delete_entry(&path).await.unwrap());
    assert!(
        !h.client.delete_entry(&path).await.unwrap(),
        "second delete finds nothing"
    );
    assert_eq!(h.client.get_entry(&path).await.unwrap(), None);
    let versions = h
        .client
        .list_versions(&path, &ListVersions::default())
        .await
        .unwrap();
    let deleted: Vec<bool> = versions.versions.iter().map(|v| v.deleted).collect();
    assert_eq!(deleted, vec![false, false, true]);
    assert!(versions.next_page_cursor.is_none());
}

#[tokio::test]
async fn list_keys_versions_and_get_version_with_paging() {
    let h = start(config()).await;
    for i in 0..5 {
        h.client
            .set_entry(&wallet(i), "0", &SetOptions::default())
            .await
            .unwrap();
    }
    h.client
        .set_entry(
            &EntryPath::new(UNIVERSE, "EconomyWallet", "other"),
            "0",
            &SetOptions::default(),
        )
        .await
        .unwrap();
    h.client
        .set_entry(&wallet(9).in_scope("beta"), "0", &SetOptions::default())
        .await
        .unwrap();
    let q = ListKeys {
        scope: Some("global".into()),
        prefix: Some("wallet_".into()),
        limit: Some(3),
        cursor: None,
    };
    let p1 = h
        .client
        .list_keys(UNIVERSE, "EconomyWallet", &q)
        .await
        .unwrap();
    assert_eq!(p1.keys.len(), 3);
    let p2 = h
        .client
        .list_keys(
            UNIVERSE,
            "EconomyWallet",
            &ListKeys {
                cursor: p1.next_page_cursor.clone(),
                ..q.clone()
            },
        )
        .await
        .unwrap();
    let keys: Vec<String> = p1
        .keys
        .iter()
        .chain(&p2.keys)
        .map(|k| k.key.clone())
        .collect();
    assert_eq!(
        keys,
        ["wallet_0", "wallet_1", "wallet_2", "wallet_3", "wallet_4"]
    );
    assert!(p2.next_page_cursor.is_none());
    let all = h
        .client
        .list_keys(
            UNIVERSE,
            "EconomyWallet",
            &ListKeys {
                limit: Some(100),
                ..ListKeys::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.keys.len(), 7);
    assert!(all.keys.iter().any(|k| k.scope == "beta"));
    let bad = h
        .client
        .list_keys(
            UNIVERSE,
            "EconomyWallet",
            &ListKeys {
                cursor: Some("garbage!".into()),
                ..ListKeys::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (bad.status(), bad.code()),
        (Some(400), Some("InvalidCursor"))
    );

    let path = wallet(0);
    let mut written = vec![];
    for v in 1..=3 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        written.push(
            h.client
                .set_entry(&path, &v.to_string(), &SetOptions::default())
                .await
                .unwrap(),
        );
    }
    let desc = h
        .client
        .list_versions(
            &path,
            &ListVersions {
                descending: true,
                limit: Some(2),
                ..ListVersions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(desc.versions[0].version, written[2].version);
    assert_eq!(desc.versions[1].version, written[1].version);
    assert!(desc.next_page_cursor.is_some());
    let old = h
        .client
        .get_version(&path, &written[0].version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.value.as_str(), old.version.as_str()),
        ("1", written[0].version.as_str())
    );
    assert_eq!(
        h.client
            .get_version(&path, "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01")
            .await
            .unwrap(),
        None
    );
    let err = h
        .client
        .get_version(&path, "not-a-version")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVersionId"));
}

#[tokio::test]
async fn v2_get_entry_matches_v1() {
    let h = start(config()).await;
    let path = wallet(7).in_scope("beta");
    let options = SetOptions {
        attributes: Some(r#"{"x":true}"#.into()),
        user_ids: vec![7],
        ..SetOptions::default()
    };
    let written = h
        .client
        .set_entry(&path, r#"{"balance":70}"#, &options)
        .await
        .unwrap();
    let v2 = h.client.get_entry_v2(&path).await.unwrap().unwrap();
    assert_eq!(v2.value, serde_json::json!({"balance": 70}));
    assert_eq!(v2.revision_id, written.version);
    assert_eq!(v2.user_ids(), vec![7]);
    assert_eq!(v2.state, "ACTIVE");
    assert_eq!(v2.attributes, serde_json::json!({"x": true}));
    assert_eq!(h.client.get_entry_v2(&wallet(8)).await.unwrap(), None);
}

#[tokio::test]
async fn publish_v2_and_v1_reach_subscribers() {
    let h = start(config()).await;
    let topic = "discord commands/β"; // needs percent-encoding in the v1 path
    let (_, mut rx) = h.emulator.bus.subscribe_channel(UNIVERSE, topic);
    h.client.publish(UNIVERSE, topic, "hello-v2").await.unwrap();
    let mut config = client_config(&h.server.base_url(), ADMIN_SECRET);
    config.messaging_api = MessagingApi::V1;
    let v1 = opencloud::OpenCloud::new(config).unwrap();
    v1.publish(UNIVERSE, topic, "hello-v1").await.unwrap();
    let m = rx.try_recv().unwrap();
    // Marked as Open Cloud's, so Studio servers of the engine emulator ignore it (N6).
    assert_eq!((m.data.as_str(), m.from_open_cloud), ("hello-v2", true));
    let m = rx.try_recv().unwrap();
    assert_eq!((m.topic.as_str(), m.data.as_str()), (topic, "hello-v1"));
    assert!(m.from_open_cloud);
    assert_eq!(h.emulator.requests(Operation::PublishV2), 1);
    assert_eq!(h.emulator.requests(Operation::PublishV1), 1);
}

#[tokio::test]
async fn limits_are_checked_client_side_before_sending() {
    let h = start(config()).await;
    let long_topic = "t".repeat(81);
    let err = h
        .client
        .publish(UNIVERSE, &long_topic, "x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(LimitError::Topic(81))));
    let err = h
        .client
        .publish(UNIVERSE, "t", &"m".repeat(1025))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(LimitError::MessageTooBig(1025))
    ));
    assert!(err.to_string().contains("1025"), "{err}");
    assert!(
        h.client
            .publish(UNIVERSE, "t", &"m".repeat(1024))
            .await
            .is_ok()
    );
    let err = h
        .client
        .get_entry(&EntryPath::new(UNIVERSE, "W", "k".repeat(51)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(LimitError::Name { .. })));
    let err = h
        .client
        .set_entry(&wallet(1), "{not json", &SetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(LimitError::ValueNotJson)));
    let err = h
        .client
        .set_entry(
            &wallet(1),
            "1",
            &SetOptions {
                user_ids: vec![1, 2, 3, 4, 5],
                ..SetOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput(LimitError::TooManyUserIds(5))
    ));
    assert_eq!(h.emulator.requests(Operation::GetEntry), 0);
    assert_eq!(h.emulator.requests(Operation::SetEntry), 0);
    assert_eq!(
        h.emulator.requests(Operation::PublishV2),
        1,
        "only the valid publish was sent"
    );
}

#[tokio::test]
async fn api_keys_scopes_and_universes() {
    let h = start(config()).await;
    h.client
        .set_entry(&wallet(1), "1", &SetOptions::default())
        .await
        .unwrap();
    let bad = h.client_with("wrong-key");
    let err = bad.get_entry(&wallet(1)).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some("0")));
    assert!(
        !err.to_string().contains("wrong-key"),
        "errors never echo the key"
    );
    let reader = h.client_with(READER_SECRET);
    assert_eq!(
        reader.get_entry(&wallet(1)).await.unwrap().unwrap().value,
        "1"
    );
    let err = reader
        .set_entry(&wallet(1), "2", &SetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), Some("InsufficientScope"))
    );
    let err = reader.publish(UNIVERSE, "t", "m").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), Some("PERMISSION_DENIED"))
    );
    let elsewhere = h.client_with(OTHER_UNIVERSE_SECRET);
    let err = elsewhere.get_entry(&wallet(1)).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(
        h.emulator
            .store
            .get(&EntryKey::new(UNIVERSE, "EconomyWallet", "wallet_1"))
            .unwrap()
            .value,
        "1"
    );
}

#[tokio::test]
async fn create_and_update_scopes_are_distinct() {
    use opencloud::emulator::ApiKey;
    use opencloud::emulator::auth::scopes;
    let mut cfg = config();
    cfg.api_keys.push(ApiKey::new(
        "updater",
        "updater-secret",
        [scopes::OBJECTS_UPDATE, scopes::OBJECTS_READ],
        None,
    ));
    let h = start(cfg).await;
    let updater = h.client_with("updater-secret");
    let err = updater
        .set_entry(&wallet(5), "1", &SetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "creating needs objects:create");
    h.client
        .set_entry(&wallet(5), "1", &SetOptions::default())
        .await
        .unwrap();
    updater
        .set_entry(&wallet(5), "2", &SetOptions::default())
        .await
        .unwrap();
    let stored = h
        .emulator
        .store
        .get(&EntryKey::new(UNIVERSE, "EconomyWallet", "wallet_5"))
        .unwrap();
    assert_eq!(stored.value, "2");
    let _ = Writer::open_cloud("updater");
}

#[tokio::test]
async fn users_by_id_and_by_name() {
    let h = start(config()).await;
    let user = h.client.get_user(156).await.unwrap().unwrap();
    assert_eq!(
        (user.id.as_str(), user.name.as_str()),
        ("156", "builderman")
    );
    assert_eq!(h.client.get_user(999).await.unwrap(), None);
    let found = h
        .client
        .user_ids_by_names(&["BuilderMan", "nobody", "roblox"])
        .await
        .unwrap();
    let ids: Vec<u64> = found.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![156, 1]);
    assert_eq!(found[0].requested_username, "BuilderMan");
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = h.client.user_ids_by_names(&refs).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("2")));
}

#[tokio::test]
async fn raw_http_details_match_roblox() {
    // Things the client never does but Roblox checks: content-md5 mismatch, missing body JSON,
    // case-insensitive query names, 401 body shape.
    let h = start(config()).await;
    let http = reqwest::Client::new();
    let base = format!(
        "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry",
        h.server.base_url()
    );
    let r = http
        .post(format!("{base}?DatastoreName=W&EntryKey=k"))
        .header("x-api-key", ADMIN_SECRET)
        .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
        .body("750")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["errorDetails"][0]["datastoreErrorCode"],
        "ChecksumMismatch"
    );
    let r = http
        .post(format!("{base}?DatastoreName=W&EntryKey=k"))
        .header("x-api-key", ADMIN_SECRET)
        .header("content-md5", "sTf90fedVsft8zZf6nUg8g==")
        .body("750")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "docs' example digest of body 750");
    let r = http
        .get(format!("{base}?datastoreName=W&entryKey=k"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"errors":[{"code":0,"message":"Invalid API Key"}]}"#
    );
    let r = http
        .post(format!(
            "{base}?datastoreName=W&entryKey=k&matchVersion=x&exclusiveCreate=true"
        ))
        .header("x-api-key", ADMIN_SECRET)
        .body("1")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["errorDetails"][0]["datastoreErrorCode"],
        "ExclusiveCreateAndMatchVersionCannotBeSet"
    );
}

#[tokio::test]
async fn list_keys_refuses_a_scope_together_with_all_scopes() {
    // `allScopes=true` lists every scope; the engine equivalent (`ListKeysAsync` with
    // `DataStoreOptions.AllScopes`) errors on a non-empty scope, so the emulator refuses the
    // contradiction instead of silently ignoring `scope`.
    let h = start(config()).await;
    h.client
        .set_entry(&wallet(1), "0", &SetOptions::default())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let list = |query: &str| {
        http.get(format!(
            "{}/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries?datastoreName=EconomyWallet&{query}",
            h.server.base_url()
        ))
        .header("x-api-key", ADMIN_SECRET)
        .send()
    };
    for query in ["allScopes=true&scope=global", "AllScopes=TRUE&scope=beta"] {
        let r = list(query).await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "INVALID_ARGUMENT", "{query}");
        assert_eq!(
            body["errorDetails"][0]["datastoreErrorCode"], "InvalidDataStoreScope",
            "{query}"
        );
    }
    // Either one alone is fine; an empty scope is the same as none.
    for query in [
        "allScopes=true",
        "allScopes=true&scope=",
        "scope=global",
        "allScopes=false&scope=global",
    ] {
        let r = list(query).await.unwrap();
        assert_eq!(r.status(), 200, "{query}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["keys"][0]["key"], "wallet_1", "{query}");
    }
}
