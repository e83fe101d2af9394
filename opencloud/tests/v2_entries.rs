//! Data stores v2 entries on the emulator over real HTTP: create, get, update (PATCH), delete,
//! `:increment`, list and `:listRevisions`, their status codes, error bodies and etags, and that
//! v1 and v2 see the same entries.

mod common;

use std::sync::Arc;

use common::*;
use opencloud::EntryPath;
use opencloud::emulator::store::{EntryKey, SetCondition, Writer};
use opencloud::emulator::{Clock, ManualClock, Operation};
use serde_json::json;

fn key(k: &str) -> EntryKey {
    EntryKey::new(UNIVERSE, DS, k)
}

#[tokio::test]
async fn create_is_create_only_and_returns_the_entry() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let body =
        json!({"value": {"balance": 5}, "users": ["users/7"], "attributes": {"tier": "gold"}});
    let (status, created) = v2.post("/entries?id=wallet_1", body).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        created["path"],
        format!("universes/{UNIVERSE}/data-stores/{DS}/entries/wallet_1")
    );
    assert_eq!(created["id"], "wallet_1");
    assert_eq!(created["value"], json!({"balance": 5}));
    assert_eq!(created["users"], json!(["users/7"]));
    assert_eq!(created["attributes"], json!({"tier": "gold"}));
    assert_eq!(created["state"], "ACTIVE");
    assert_eq!(created["etag"], created["revisionId"]);
    assert_eq!(created["createTime"], created["revisionCreateTime"]);

    // The same entry through v1: value, user ids and attributes agree.
    let v1 = h
        .client
        .get_entry(&EntryPath::new(UNIVERSE, DS, "wallet_1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.value, r#"{"balance":5}"#);
    assert_eq!(v1.user_ids, vec![7]);
    assert_eq!(v1.version, created["revisionId"].as_str().unwrap());

    let (status, again) = v2.post("/entries?id=wallet_1", json!({"value": 99})).await;
    assert_eq!((status, code(&again)), (400, "INVALID_ARGUMENT"));
    assert_eq!(
        h.emulator.store.get(&key("wallet_1")).unwrap().value,
        r#"{"balance":5}"#
    );

    // Bad requests change nothing.
    for (path, body) in [
        ("/entries", json!({"value": 1})),
        ("/entries?id=wallet_2", json!({"users": []})),
        ("/entries?id=wallet_2", json!({"value": 1, "users": ["7"]})),
        (
            "/entries?id=wallet_2",
            json!({"value": 1, "users": ["users/1", "users/2", "users/3", "users/4", "users/5"]}),
        ),
        (
            "/entries?id=wallet_2",
            json!({"value": 1, "attributes": [1]}),
        ),
        ("/entries?id=wallet_2", json!([1])),
        (
            &format!("/entries?id={}", "k".repeat(51)),
            json!({"value": 1}),
        ),
    ] {
        let (status, body) = v2.post(path, body).await;
        assert_eq!(
            (status, code(&body)),
            (400, "INVALID_ARGUMENT"),
            "{path}: {body}"
        );
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(h.emulator.store.get(&key("wallet_2")), None);

    // Scoped create: the path names the scope.
    let (status, scoped) = v2
        .post("/scopes/beta/entries?id=wallet_1", json!({"value": 1}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        scoped["path"],
        format!("universes/{UNIVERSE}/data-stores/{DS}/scopes/beta/entries/wallet_1")
    );
    assert_eq!(h.emulator.requests(Operation::V2CreateEntry), 10);
}

#[tokio::test]
async fn update_replaces_everything_and_honours_allow_missing_and_etag() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let (_, created) = v2
        .post(
            "/entries?id=w",
            json!({"value": 1, "users": ["users/7"], "attributes": {"a": 1}}),
        )
        .await;

    let (status, missing) = v2.patch("/entries/nope", json!({"value": 1})).await;
    assert_eq!((status, code(&missing)), (404, "NOT_FOUND"));
    assert_eq!(h.emulator.store.head(&key("nope")), None);
    let (status, upserted) = v2
        .patch("/entries/nope?allowMissing=true", json!({"value": "x"}))
        .await;
    assert_eq!((status, upserted["value"].clone()), (200, json!("x")));

    // Full replace: users and attributes omitted → cleared.
    let (status, updated) = v2.patch("/entries/w", json!({"value": 2})).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["value"], 2);
    assert_eq!(updated["users"], json!([]));
    assert_eq!(updated["attributes"], json!({}));
    assert_eq!(updated["createTime"], created["createTime"]);
    assert!(updated["revisionId"].as_str() > created["revisionId"].as_str());

    // A stale etag is refused (409 ABORTED) and changes nothing; the current one is accepted.
    let (status, stale) = v2
        .patch("/entries/w", json!({"value": 3, "etag": created["etag"]}))
        .await;
    assert_eq!((status, code(&stale)), (409, "ABORTED"));
    assert_eq!(h.emulator.store.get(&key("w")).unwrap().value, "2");
    let (status, fresh) = v2
        .patch("/entries/w", json!({"value": 3, "etag": updated["etag"]}))
        .await;
    assert_eq!((status, fresh["value"].clone()), (200, json!(3)));

    let (status, no_value) = v2.patch("/entries/w", json!({"users": []})).await;
    assert_eq!((status, code(&no_value)), (400, "INVALID_ARGUMENT"));
    let (status, bad_flag) = v2
        .patch("/entries/w?allowMissing=maybe", json!({"value": 1}))
        .await;
    assert_eq!((status, code(&bad_flag)), (400, "INVALID_ARGUMENT"));
    assert_eq!(h.emulator.store.get(&key("w")).unwrap().value, "3");
}

#[tokio::test]
async fn delete_is_200_then_404_and_checks_the_etag() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let (_, first) = v2.post("/entries?id=w", json!({"value": 1})).await;
    let (_, second) = v2.patch("/entries/w", json!({"value": 2})).await;
    let (status, stale) = v2
        .delete(&format!(
            "/entries/w?etag={}",
            first["etag"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, code(&stale)), (409, "ABORTED"));
    assert!(h.emulator.store.get(&key("w")).is_some());
    let (status, body) = v2
        .delete(&format!(
            "/entries/w?etag={}",
            second["etag"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, gone) = v2.delete("/entries/w").await;
    assert_eq!((status, code(&gone)), (404, "NOT_FOUND"));
    let (status, _) = v2.get("/entries/w").await;
    assert_eq!(status, 404);
    // The tombstone is a revision; the value before it stays readable by revision id.
    let (status, old) = v2
        .get(&format!(
            "/entries/w@{}",
            second["revisionId"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, old["value"].clone()), (200, json!(2)));
    assert!(h.emulator.store.head(&key("w")).unwrap().deleted);
    // v1 agrees.
    assert_eq!(
        h.client
            .get_entry(&EntryPath::new(UNIVERSE, DS, "w"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn increment_creates_adds_and_refuses_non_integers() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let (status, created) = v2
        .post(
            "/entries/coins:increment",
            json!({"amount": 5, "users": ["users/9"]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (created["value"].clone(), created["id"].clone()),
        (json!(5), json!("coins"))
    );
    assert_eq!(created["users"], json!(["users/9"]));
    let (_, added) = v2
        .post("/entries/coins:increment", json!({"amount": -7}))
        .await;
    assert_eq!(added["value"], -2);
    assert_eq!(added["users"], json!([]), "omitted users are cleared");

    for body in [json!({}), json!({"amount": 1.5}), json!({"amount": "1"})] {
        let (status, refused) = v2.post("/entries/coins:increment", body.clone()).await;
        assert_eq!(
            (status, code(&refused)),
            (400, "INVALID_ARGUMENT"),
            "{body}"
        );
    }
    v2.post("/entries?id=text", json!({"value": "abc"})).await;
    let (status, refused) = v2
        .post("/entries/text:increment", json!({"amount": 1}))
        .await;
    assert_eq!((status, code(&refused)), (400, "INVALID_ARGUMENT"));
    assert_eq!(h.emulator.store.get(&key("coins")).unwrap().value, "-2");
    let (status, unknown) = v2.post("/entries/coins:explode", json!({})).await;
    assert_eq!((status, code(&unknown)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn list_pages_filters_scopes_and_deleted_entries() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let bot = Writer::other("setup");
    let put = |k: EntryKey| {
        h.emulator
            .store
            .set(&k, &bot, "0", None, vec![], SetCondition::default())
            .unwrap();
    };
    for i in 0..5 {
        put(key(&format!("wallet_{i}")));
    }
    put(key("other"));
    put(EntryKey::scoped(UNIVERSE, DS, "beta", "wallet_9"));
    h.emulator.store.delete(&key("wallet_3"), &bot).unwrap();

    let filter = "filter=id.startsWith(%22wallet_%22)";
    let (status, p1) = v2.get(&format!("/entries?maxPageSize=2&{filter}")).await;
    assert_eq!(status, 200, "{p1}");
    let token = p1["nextPageToken"].as_str().unwrap().to_owned();
    let (_, p2) = v2
        .get(&format!(
            "/entries?maxPageSize=2&{filter}&pageToken={token}"
        ))
        .await;
    assert!(p2.get("nextPageToken").is_none(), "last page: {p2}");
    let ids: Vec<&str> = p1["dataStoreEntries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["dataStoreEntries"].as_array().unwrap())
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wallet_0", "wallet_1", "wallet_2", "wallet_4"]);
    assert_eq!(
        p1["dataStoreEntries"][0],
        json!({"path": format!("universes/{UNIVERSE}/data-stores/{DS}/entries/wallet_0"), "id": "wallet_0"})
    );

    // A token used with other parameters is refused.
    let (status, refused) = v2
        .get(&format!("/entries?maxPageSize=2&pageToken={token}"))
        .await;
    assert_eq!((status, code(&refused)), (400, "INVALID_ARGUMENT"));
    let (status, refused) = v2.get("/entries?pageToken=garbage").await;
    assert_eq!((status, code(&refused)), (400, "INVALID_ARGUMENT"));
    let (status, refused) = v2.get("/entries?filter=id%3D%3D1").await;
    assert_eq!((status, code(&refused)), (400, "INVALID_ARGUMENT"));

    let (_, deleted) = v2.get(&format!("/entries?showDeleted=true&{filter}")).await;
    assert_eq!(deleted["dataStoreEntries"].as_array().unwrap().len(), 5);
    let (_, all_scopes) = v2.get(&format!("/scopes/-/entries?{filter}")).await;
    let paths: Vec<&str> = all_scopes["dataStoreEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 5);
    assert!(
        paths[0].ends_with("/scopes/beta/entries/wallet_9"),
        "{paths:?}"
    );
    let (status, refused) = v2.get("/scopes/-/entries/wallet_1").await;
    assert_eq!((status, code(&refused)), (400, "INVALID_ARGUMENT"));

    // Page sizes: default 10, clamped to 256.
    for i in 0..300 {
        put(key(&format!("bulk_{i:03}")));
    }
    let (_, default_page) = v2.get("/entries").await;
    assert_eq!(
        default_page["dataStoreEntries"].as_array().unwrap().len(),
        10
    );
    let (_, big_page) = v2.get("/entries?maxPageSize=5000").await;
    assert_eq!(big_page["dataStoreEntries"].as_array().unwrap().len(), 256);
}

#[tokio::test]
async fn list_revisions_newest_first_with_time_filter_and_pages() {
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let mut revisions = Vec::new();
    for i in 0..4 {
        let (_, e) = v2
            .patch("/entries/w?allowMissing=true", json!({"value": i}))
            .await;
        revisions.push(e);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (status, page) = v2.get("/entries/w:listRevisions?maxPageSize=3").await;
    assert_eq!(status, 200, "{page}");
    let listed = page["dataStoreEntries"].as_array().unwrap();
    let ids: Vec<&str> = listed
        .iter()
        .map(|e| e["revisionId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = revisions
        .iter()
        .rev()
        .take(3)
        .map(|e| e["revisionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(
        listed[0]["id"],
        format!("w@{}", expected[0]),
        "ids carry the revision"
    );
    assert!(listed[0].get("value").is_none(), "partial entries");
    let token = page["nextPageToken"].as_str().unwrap();
    let (_, rest) = v2
        .get(&format!(
            "/entries/w:listRevisions?maxPageSize=3&pageToken={token}"
        ))
        .await;
    assert_eq!(
        rest["dataStoreEntries"][0]["revisionId"],
        revisions[0]["revisionId"]
    );
    assert!(rest.get("nextPageToken").is_none());

    // Time filter: only the middle two revisions.
    let from = revisions[1]["revisionCreateTime"].as_str().unwrap();
    let to = revisions[2]["revisionCreateTime"].as_str().unwrap();
    let filter = format!("revision_create_time >= {from} && revision_create_time <= {to}");
    let url = format!(
        "/entries/w:listRevisions?filter={}",
        url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
    );
    let (status, window) = v2.get(&url).await;
    assert_eq!(status, 200, "{window}");
    let ids: Vec<&str> = window["dataStoreEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["revisionId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            revisions[2]["revisionId"].as_str().unwrap(),
            revisions[1]["revisionId"].as_str().unwrap()
        ]
    );
    let (status, bad) = v2
        .get("/entries/w:listRevisions?filter=create_time%3E1")
        .await;
    assert_eq!((status, code(&bad)), (400, "INVALID_ARGUMENT"));
    // A listed revision can be fetched by id.
    let (status, old) = v2
        .get(&format!("/entries/{}", listed[2]["id"].as_str().unwrap()))
        .await;
    assert_eq!((status, old["value"].clone()), (200, json!(1)));
}

#[tokio::test]
async fn v2_auth_and_scopes() {
    let h = start(config()).await;
    let (status, body) = V2::with_key(&h, "wrong").get("/entries").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"errors": [{"code": 0, "message": "Invalid API Key"}]})
        )
    );
    // The reader may read and list but not create, update or delete.
    let reader = V2::with_key(&h, READER_SECRET);
    let (status, _) = reader.get("/entries").await;
    assert_eq!(status, 200);
    let (status, body) = reader.post("/entries?id=w", json!({"value": 1})).await;
    assert_eq!((status, code(&body)), (403, "PERMISSION_DENIED"));
    let (status, _) = reader.delete("/entries/w").await;
    assert_eq!(status, 403);
    let (status, _) = V2::with_key(&h, OTHER_UNIVERSE_SECRET)
        .get("/entries/w")
        .await;
    assert_eq!(status, 403);
    assert_eq!(h.emulator.store.head(&key("w")), None);
}

#[tokio::test]
async fn get_latest_at_must_be_after_the_epoch_and_at_most_ten_minutes_ahead() {
    // Roblox's Get entry: the time of `@latest:<time>` "must be after the Unix epoch (1/1/1970)
    // and not more than ten minutes in the future". A manual clock makes "now" exact.
    let now = 1_795_219_200_000; // 2026-11-21T00:00:00Z
    let clock: Arc<dyn Clock> = ManualClock::shared(now);
    let h = start_on(clock, config(), |c| c).await;
    let v2 = V2::new(&h);
    let (status, _) = v2.post("/entries?id=w", json!({"value": 1})).await;
    assert_eq!(status, 200);

    for (time, expected) in [
        ("2026-11-21T00:10:00Z", 200), // exactly ten minutes ahead
        ("2026-11-21T00:00:00Z", 200),
        ("1970-01-01T00:00:00.001Z", 404), // after the epoch, before the entry existed
        ("2026-11-21T00:10:00.001Z", 400),
        ("2027-01-01T00:00:00Z", 400),
        ("1970-01-01T00:00:00Z", 400),
        ("1969-12-31T23:59:59Z", 400),
    ] {
        for collection in ["/entries", "/scopes/global/entries"] {
            let (status, body) = v2.get(&format!("{collection}/w@latest:{time}")).await;
            assert_eq!(status, expected, "{collection} {time}: {body}");
            if expected == 400 {
                assert_eq!(code(&body), "INVALID_ARGUMENT", "{time}: {body}");
            }
        }
    }
}

#[tokio::test]
async fn scoped_requests_keep_the_scope_segment_in_entry_paths() {
    // `DataStoreEntry.path` has two documented forms; an answer names the entry in the form the
    // request used, so `/scopes/global/...` keeps `scopes/global`.
    let h = start(config()).await;
    let v2 = V2::new(&h);
    let (status, _) = v2.post("/entries?id=w", json!({"value": 1})).await;
    assert_eq!(status, 200);
    let scoped = format!("universes/{UNIVERSE}/data-stores/{DS}/scopes/global/entries/w");
    let unscoped = format!("universes/{UNIVERSE}/data-stores/{DS}/entries/w");

    let (status, listed) = v2.get("/scopes/global/entries").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["dataStoreEntries"],
        json!([{"path": scoped, "id": "w"}])
    );
    let (_, every_scope) = v2.get("/scopes/-/entries").await;
    assert_eq!(every_scope["dataStoreEntries"][0]["path"], scoped.as_str());
    let (_, plain) = v2.get("/entries").await;
    assert_eq!(plain["dataStoreEntries"][0]["path"], unscoped.as_str());

    let (_, got) = v2.get("/scopes/global/entries/w").await;
    assert_eq!(
        (got["path"].as_str(), got["id"].as_str()),
        (Some(&*scoped), Some("w"))
    );
    let (_, updated) = v2
        .patch("/scopes/global/entries/w", json!({"value": 2}))
        .await;
    assert_eq!(updated["path"], scoped.as_str());
    let (_, incremented) = v2
        .post("/scopes/global/entries/w:increment", json!({"amount": 1}))
        .await;
    assert_eq!(incremented["path"], scoped.as_str());
    let (_, revisions) = v2.get("/scopes/global/entries/w:listRevisions").await;
    let revision = &revisions["dataStoreEntries"][0];
    assert_eq!(
        revision["path"],
        format!("{scoped}@{}", revision["revisionId"].as_str().unwrap())
    );
    let (_, got) = v2.get("/entries/w").await;
    assert_eq!(got["path"], unscoped.as_str());
}

#[tokio::test]
async fn increment_accepts_whole_amounts_written_with_a_fraction_or_exponent() {
    // The schema types `amount` as a double and v2 uses the proto3 JSON mapping: `1.0` and `1e1`
    // are whole numbers; `1.5` is not.
    let h = start(config()).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/cloud/v2/universes/{UNIVERSE}/data-stores/{DS}/entries/coins:increment",
        h.server.base_url()
    );
    let mut expected = 0;
    for (body, by) in [
        (r#"{"amount": 1.0}"#, 1),
        (r#"{"amount": 1e1}"#, 10),
        (r#"{"amount": -2.50E1}"#, -25),
        (r#"{"amount": 3}"#, 3),
    ] {
        let r = http
            .post(&url)
            .header("x-api-key", ADMIN_SECRET)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{body}");
        let answer: serde_json::Value = r.json().await.unwrap();
        expected += by;
        assert_eq!(answer["value"], expected, "{body}");
    }
    for body in [
        r#"{"amount": 1.5}"#,
        r#"{"amount": 1e-1}"#,
        r#"{"amount": 1e19}"#,
    ] {
        let r = http
            .post(&url)
            .header("x-api-key", ADMIN_SECRET)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let answer: serde_json::Value = r.json().await.unwrap();
        assert_eq!(code(&answer), "INVALID_ARGUMENT", "{body}");
    }
    assert_eq!(
        h.emulator.store.get(&key("coins")).unwrap().value,
        expected.to_string()
    );
}
