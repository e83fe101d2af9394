//! The behavioural suite, run against SQLite and PostgreSQL alike.

mod common;

use api::RecordStatus;
use api::client::{ClientError, ListParams, SignedRequest};
use common::*;
use std::time::{Duration, Instant};

fn problem_status(e: ClientError) -> u16 {
    match e {
        ClientError::Api { status, .. } => status,
        other => panic!("expected an API error, got {other}"),
    }
}

async fn send(app: &TestApp, req: SignedRequest) -> reqwest::Response {
    app.client.send(req).await.unwrap()
}

async fn post_and_read_back(b: Backend) {
    let app = TestApp::start(b).await;
    let rec = record(7, 25);
    let res = app
        .writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    assert!(!res.replayed);
    assert_eq!(res.response.accepted, 1);
    assert_eq!(res.response.results[0].status, RecordStatus::Accepted);
    assert_eq!(res.response.results[0].seq, 1);
    let got = app
        .reader
        .get_txn(&rec.txn_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, rec);
    assert_eq!(got.seq, 1);
    assert_eq!(got.key_id, "game");
    assert_eq!(got.row_hash.len(), 64);
    let page = app.reader.list(&ListParams::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0], got);
    assert!(page.next_cursor.is_none());
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}

async fn batch_reports_accepted_and_duplicate_per_record(b: Backend) {
    let app = TestApp::start(b).await;
    let first = record(1, 10);
    app.writer
        .post_records(std::slice::from_ref(&first), &idem())
        .await
        .unwrap();
    let fresh = record(1, 11);
    // already stored, new, and the new one again inside the same batch
    let res = app
        .writer
        .post_records(&[first.clone(), fresh.clone(), fresh.clone()], &idem())
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    let statuses: Vec<_> = res
        .response
        .results
        .iter()
        .map(|r| (r.status, r.seq))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (RecordStatus::Duplicate, 1),
            (RecordStatus::Accepted, 2),
            (RecordStatus::Duplicate, 2)
        ]
    );
    assert_eq!((res.response.accepted, res.response.duplicates), (1, 2));
    // all duplicates → 200
    let again = app
        .writer
        .post_records(&[first, fresh], &idem())
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.response.accepted, 0);
    assert_eq!(app.db.count("audit_log").await, 2);
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}

async fn replay_returns_the_stored_response(b: Backend) {
    let app = TestApp::start(b).await;
    let recs = vec![record(3, 1), record(3, 2)];
    let key = idem();
    let first = app.writer.post_records(&recs, &key).await.unwrap();
    // a retry signs again (new timestamp) with the same key and body
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = app.writer.post_records(&recs, &key).await.unwrap();
    assert!(second.replayed, "Idempotent-Replayed: true expected");
    assert_eq!(second.status, first.status);
    assert_eq!(second.response, first.response);
    // sf-string form of the same key is the same key
    let third = app
        .writer
        .post_records(&recs, &format!("\"{key}\""))
        .await
        .unwrap();
    assert!(third.replayed);
    assert_eq!(app.db.stored().await, (2, 1));
    app.finish().await;
}

async fn same_key_different_body_is_422(b: Backend) {
    let app = TestApp::start(b).await;
    let key = idem();
    app.writer
        .post_records(&[record(4, 1)], &key)
        .await
        .unwrap();
    let err = app
        .writer
        .post_records(&[record(4, 2)], &key)
        .await
        .unwrap_err();
    assert_eq!(problem_status(err), 422);
    assert_eq!(app.db.stored().await, (1, 1));
    // the same key from another client id is another key
    let other = app
        .client
        .post_records(&[record(4, 3)], &key)
        .await
        .unwrap();
    assert_eq!(other.status, 201);
    app.finish().await;
}

async fn txn_is_stored_once_whatever_key_carries_it(b: Backend) {
    let app = TestApp::start(b).await;
    let rec = record(5, 9);
    let a = app
        .writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    let b2 = app
        .client
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    assert_eq!(a.response.results[0].status, RecordStatus::Accepted);
    assert_eq!(b2.response.results[0].status, RecordStatus::Duplicate);
    assert_eq!(b2.response.results[0].seq, a.response.results[0].seq);
    // concurrent posts of one txn under many keys: exactly one accepted
    let rec = record(5, 10);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = app.writer.clone();
        let r = rec.clone();
        tasks.push(tokio::spawn(async move {
            c.post_records(&[r], &idem()).await.unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap().response.accepted;
    }
    assert_eq!(accepted, 1);
    assert_eq!(app.db.count("audit_log").await, 2);
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}

async fn same_key_in_flight_is_409(b: Backend) {
    let app = TestApp::start(b).await;
    let key = idem();
    let recs = vec![record(6, 1)];
    let lock = hold_writer(&app).await;
    // Two POSTs with one key while the writer is held: whichever the server takes in first
    // waits on the database; the other is answered 409 at once. Which one is first is not
    // the test's to decide, so it asserts the pair.
    let post = |c: api::AuditClient, r: Vec<shared::AuditRecord>, k: String| {
        tokio::spawn(async move { c.post_records(&r, &k).await })
    };
    let mut a = post(app.writer.clone(), recs.clone(), key.clone());
    let mut b2 = post(app.writer.clone(), recs.clone(), key.clone());
    let (refused, waiting) = tokio::select! {
        r = &mut a => (r.unwrap(), b2),
        r = &mut b2 => (r.unwrap(), a),
    };
    match refused.unwrap_err() {
        ClientError::Api {
            status,
            retry_after,
            ..
        } => {
            assert_eq!(status, 409);
            assert!(retry_after.is_some(), "409 carries Retry-After");
        }
        other => panic!("{other}"),
    }
    if b == Backend::Postgres {
        // another replica sees the key as in flight too (advisory try-lock, not memory), once
        // the waiting write holds its key's lock
        wait_for_lock_waiters(&app.db, 1).await;
        let replica = app.replica().await;
        let c2 = api::AuditClient::new(&replica.base_url(), app.keys.game.clone());
        let err = c2.post_records(&recs, &key).await.unwrap_err();
        assert_eq!(problem_status(err), 409);
        drop(replica);
    }
    assert!(!waiting.is_finished(), "the other POST waits on the writer");
    drop(lock);
    let res = waiting.await.unwrap().unwrap();
    assert_eq!(res.status, 201);
    let replay = app.writer.post_records(&recs, &key).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(app.db.stored().await, (1, 1));
    app.finish().await;
}

async fn long_poll_is_woken_by_the_insert(b: Backend) {
    let app = TestApp::start(b).await;
    let rec = record(8, 1);
    let reader = app.reader.clone();
    let id = rec.txn_id.clone();
    let started = Instant::now();
    let waiter = tokio::spawn(async move {
        let got = reader.get_txn(&id, Some(Duration::from_secs(20))).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    let (got, took) = waiter.await.unwrap();
    assert_eq!(got.unwrap().unwrap().record, rec);
    assert!(
        took < Duration::from_secs(5),
        "woken by the insert, took {took:?}"
    );
    // nothing arrives: 404 after the wait
    let t = Instant::now();
    let missing = app
        .reader
        .get_txn(&shared::TxnId::generate(), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(missing.is_none());
    assert!(t.elapsed() >= Duration::from_millis(900));
    app.finish().await;
}

async fn list_filters_pages_caps_and_exports_csv(b: Backend) {
    let app = TestApp::start(b).await;
    let mut batch = Vec::new();
    for i in 0..6 {
        batch.push(record(100 + i % 2, 1 + i as i64));
    }
    batch.push(discord_record(100, "4242", 50));
    app.writer.post_records(&batch, &idem()).await.unwrap();
    let user = app
        .reader
        .list(&ListParams {
            user_id: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(user.items.len(), 4);
    assert!(
        user.items.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    let actor = app
        .reader
        .list(&ListParams {
            actor: Some("4242".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(actor.items.len(), 1);
    let since = 1_700_000_000_000 + 3;
    let window = app
        .reader
        .list(&ListParams {
            since: Some(since),
            until: Some(since + 3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        window
            .items
            .iter()
            .all(|i| (since..since + 3).contains(&i.record.applied_at))
    );
    assert_eq!(window.items.len(), 3);
    // paging by cursor visits every row once
    let mut seen = Vec::new();
    let mut params = ListParams {
        limit: Some(3),
        ..Default::default()
    };
    loop {
        let page = app.reader.list(&params).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.seq));
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec![7, 6, 5, 4, 3, 2, 1]);
    // CSV: header + one line per row
    let csv = app
        .reader
        .list_csv(&ListParams {
            user_id: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("seq,txnId,"));
    assert!(csv.contains("staff grant"));
    // Accept: text/csv
    let req = app
        .reader
        .sign("GET", "/log/transactions", "", None, vec![], now_secs())
        .unwrap();
    let mut req = req;
    req.headers.push(("accept".into(), "text/csv".into()));
    let resp = send(&app, req).await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    app.finish().await;
}

async fn limit_is_capped(b: Backend) {
    let app = TestApp::start(b).await;
    for _ in 0..6 {
        let batch: Vec<_> = (0..100).map(|i| record(9, 1 + i)).collect();
        app.writer.post_records(&batch, &idem()).await.unwrap();
    }
    let page = app
        .reader
        .list(&ListParams {
            limit: Some(100_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 500);
    assert!(page.next_cursor.is_some());
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}

async fn bad_queries_are_400(b: Backend) {
    let app = TestApp::start(b).await;
    for q in [
        "limit=abc",
        "limit=0",
        "userId=-1",
        "cursor=xyz",
        "bogus=1",
        "userId=1&userId=2",
        "format=xml",
        "since=1e3",
    ] {
        let req = app
            .reader
            .sign("GET", "/log/transactions", q, None, vec![], now_secs())
            .unwrap();
        let resp = send(&app, req).await;
        assert_eq!(resp.status(), 400, "{q}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    for (path, q) in [
        ("/log/transactions/not-a-ulid", ""),
        ("/log/transactions/01ARZ3NDEKTSV4RRFFQ69G5FAV", "wait=soon"),
        ("/log/transactions/01ARZ3NDEKTSV4RRFFQ69G5FAV", "other=1"),
    ] {
        let req = app
            .reader
            .sign("GET", path, q, None, vec![], now_secs())
            .unwrap();
        assert_eq!(send(&app, req).await.status(), 400, "{path}?{q}");
    }
    app.finish().await;
}

async fn chain_verification_finds_a_tampered_row(b: Backend) {
    let app = TestApp::start(b).await;
    let batch: Vec<_> = (0..5).map(|i| record(11, 1 + i)).collect();
    app.writer.post_records(&batch, &idem()).await.unwrap();
    let ok = app.reader.verify().await.unwrap();
    assert!(ok.ok);
    assert_eq!((ok.rows_verified, ok.head_seq), (5, 5));
    // append-only: the database refuses edits and deletions while the triggers stand
    assert!(
        app.db
            .exec("UPDATE audit_log SET amount = 1 WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        app.db
            .exec("DELETE FROM audit_log WHERE seq = 5")
            .await
            .is_err()
    );
    assert!(app.reader.verify().await.unwrap().ok);
    // an attacker with DDL rights drops the trigger and edits a row
    app.db
        .exec("DROP TRIGGER audit_log_no_update ON audit_log")
        .await
        .or(app.db.exec("DROP TRIGGER audit_log_no_update").await)
        .unwrap();
    app.db
        .exec("UPDATE audit_log SET amount = amount + 1000 WHERE seq = 3")
        .await
        .unwrap();
    let bad = app.reader.verify().await.unwrap();
    assert!(!bad.ok);
    assert_eq!(bad.rows_verified, 2);
    let broken = bad.first_broken.unwrap();
    assert_eq!(broken.seq, 3);
    assert_eq!(broken.problem, api::chain::Break::RowHashMismatch);
    // the CLI reports the same row and exits 1
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_economy-api"))
        .arg("verify")
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: api::VerifyReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.first_broken.unwrap().seq, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN at seq 3"));
    app.finish().await;
}

async fn health_metrics_and_openapi(b: Backend) {
    let app = TestApp::start(b).await;
    let get = |p: &str| app.http.get(format!("{}{p}", app.base)).send();
    assert_eq!(get("/livez").await.unwrap().status(), 200);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    // anything else is signed
    for p in ["/log/transactions", "/openapi.json", "/log/verify"] {
        let r = get(p).await.unwrap();
        assert_eq!(r.status(), 401, "{p}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert!(r.headers().contains_key("x-request-id"));
    }
    app.writer
        .post_records(&[record(12, 1)], &idem())
        .await
        .unwrap();
    let req = app
        .reader
        .sign("GET", "/openapi.json", "", None, vec![], now_secs())
        .unwrap();
    let doc: serde_json::Value = send(&app, req).await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "histograms, not summaries"
    );
    assert!(text.contains("signature_failures_total{reason=\"malformed\"}"));
    assert!(text.contains("audit_records_stored_total"));
    assert!(text.contains("idempotency_outcomes_total{outcome=\"created\"}"));
    assert!(text.contains("route=\"/log/transactions\""));
    app.finish().await;
}

async fn rate_limits_answer_429_with_retry_after(b: Backend) {
    let app = TestApp::start_with(b, |c| {
        c.rate_key = api::config::RateLimit {
            per_sec: 1,
            burst: 2,
        };
    })
    .await;
    // Budget: 2 at once plus 1 per second; 6 quick posts must meet a 429 (robust to slow CI).
    let (mut ok, mut limited) = (0, 0);
    for i in 0..6 {
        match app.writer.post_records(&[record(13, 1 + i)], &idem()).await {
            Ok(_) => ok += 1,
            Err(ClientError::Api {
                status: 429,
                retry_after,
                ..
            }) => {
                assert!(retry_after.unwrap() >= 1, "429 carries Retry-After");
                limited += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(ok >= 2 && limited >= 1, "ok {ok}, limited {limited}");
    // another key has its own budget
    assert!(
        app.client
            .post_records(&[record(13, 99)], &idem())
            .await
            .is_ok()
    );
    assert_eq!(app.db.count("audit_log").await, ok + 1);
    app.finish().await;
    // the per-IP limit applies before authentication: unsigned floods get 429, not 401
    let app = TestApp::start_with(b, |c| {
        c.rate_ip = api::config::RateLimit {
            per_sec: 1,
            burst: 3,
        };
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        let r = app
            .http
            .get(format!("{}/log/transactions", app.base))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        codes.push(r.status().as_u16());
    }
    assert_eq!(&codes[..3], &[401, 401, 401]);
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 401 || *c == 429));
    // health stays reachable
    let live = app
        .http
        .get(format!("{}/livez", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    app.finish().await;
}

async fn shutdown_releases_long_polls(b: Backend) {
    let app = TestApp::start(b).await;
    let reader = app.reader.clone();
    let waiter = tokio::spawn(async move {
        let t = Instant::now();
        let r = reader
            .get_txn(&shared::TxnId::generate(), Some(Duration::from_secs(30)))
            .await;
        (r, t.elapsed())
    });
    // The long-poll is waiting before shutdown starts (a condition, not a sleep).
    let deadline = Instant::now() + WAIT;
    while app.server.long_polls_waiting() == 0 {
        assert!(Instant::now() < deadline, "the long-poll never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    let TestApp { server, db, .. } = app;
    server.shutdown().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    let (r, took) = waiter.await.unwrap();
    assert!(r.unwrap().is_none(), "answered 404 while draining");
    assert!(took < Duration::from_secs(5));
    db.drop_database().await;
}

/// Many batches at once share commits (on SQLite, multi-row inserts split into chunks of several
/// sizes): every record is stored once, exactly as sent, under contiguous seqs, and the chain holds.
async fn concurrent_batches_are_stored_whole(b: Backend) {
    let app = TestApp::start(b).await;
    let batches: Vec<Vec<shared::AuditRecord>> = (0..24u64)
        .map(|i| {
            let size = (i * 37 % 100) + 1;
            (0..size)
                .map(|j| record(1 + (i * 131 + j) % 997, 1 + j as i64))
                .collect()
        })
        .collect();
    let posts = batches.iter().map(|batch| {
        let writer = &app.writer;
        async move { writer.post_records(batch, &idem()).await.unwrap() }
    });
    let results = futures::future::join_all(posts).await;
    let total: usize = batches.iter().map(Vec::len).sum();
    let mut seqs = Vec::new();
    for (res, batch) in results.iter().zip(&batches) {
        assert_eq!(res.status, 201);
        assert_eq!(res.response.accepted, batch.len());
        seqs.extend(res.response.results.iter().map(|r| r.seq));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    let mut stored = std::collections::HashMap::new();
    let mut params = ListParams {
        limit: Some(500),
        ..ListParams::default()
    };
    loop {
        let page = app.reader.list(&params).await.unwrap();
        for row in page.items {
            stored.insert(row.record.txn_id.clone(), row);
        }
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(stored.len(), total);
    for (res, batch) in results.iter().zip(&batches) {
        for (rec, result) in batch.iter().zip(&res.response.results) {
            let row = &stored[&rec.txn_id];
            assert_eq!(&row.record, rec);
            assert_eq!(row.seq, result.seq);
        }
    }
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}

both_backends!(
    post_and_read_back,
    concurrent_batches_are_stored_whole,
    batch_reports_accepted_and_duplicate_per_record,
    replay_returns_the_stored_response,
    same_key_different_body_is_422,
    txn_is_stored_once_whatever_key_carries_it,
    same_key_in_flight_is_409,
    long_poll_is_woken_by_the_insert,
    list_filters_pages_caps_and_exports_csv,
    limit_is_capped,
    bad_queries_are_400,
    chain_verification_finds_a_tampered_row,
    health_metrics_and_openapi,
    rate_limits_answer_429_with_retry_after,
    shutdown_releases_long_polls,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_across_postgres_replicas() {
    let app = TestApp::start(Backend::Postgres).await;
    let replica = app.replica().await;
    let on_replica = api::AuditClient::new(&replica.base_url(), app.keys.ops.clone());
    let rec = record(14, 1);
    let id = rec.txn_id.clone();
    let t = Instant::now();
    let waiter =
        tokio::spawn(async move { on_replica.get_txn(&id, Some(Duration::from_secs(20))).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    let got = waiter.await.unwrap().unwrap().unwrap();
    assert_eq!(got.record, rec);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "woken by NOTIFY, took {:?}",
        t.elapsed()
    );
    replica.shutdown().await.unwrap();
    app.finish().await;
}
