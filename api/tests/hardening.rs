//! Issue 16 §4: the database refuses a rewrite of a logged row, a signed POST with a query is
//! refused, cursors are tamper-evident, integer parameters are written plainly.

mod common;

use api::client::SignedRequest;
use common::*;

async fn send(app: &TestApp, req: SignedRequest) -> reqwest::Response {
    app.client.send(req).await.unwrap()
}

/// Sends `req` and checks a 400 problem of `kind` whose detail contains `names`.
async fn refused(app: &TestApp, req: SignedRequest, kind: &str, names: &str, what: &str) {
    let resp = send(app, req).await;
    assert_eq!(resp.status().as_u16(), 400, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let p: api::problem::Problem = resp.json().await.unwrap();
    assert_eq!(p.kind, format!("/problems/{kind}"), "{what}");
    let detail = p.detail.unwrap_or_default();
    assert!(detail.contains(names), "{what}: {detail}");
}

const COLUMNS: &str = "seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
    balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, \
    received_at, key_id, prev_hash, row_hash";

async fn the_database_refuses_a_rewrite(b: Backend) {
    let app = TestApp::start(b).await;
    let batch: Vec<_> = (0..3).map(|i| record(21, 1 + i)).collect();
    app.writer.post_records(&batch, &idem()).await.unwrap();
    let copy = |seq_expr: &str, amount_expr: &str| {
        let cols = COLUMNS
            .replacen("seq,", &format!("{seq_expr},"), 1)
            .replace(" amount,", &format!(" {amount_expr},"));
        format!("SELECT {cols} FROM audit_log WHERE seq = 2")
    };
    let attempts: Vec<String> = match b {
        Backend::Sqlite => vec![
            format!(
                "INSERT OR REPLACE INTO audit_log ({COLUMNS}) {}",
                copy("seq", "amount + 1000")
            ),
            format!(
                "REPLACE INTO audit_log ({COLUMNS}) {}",
                copy("seq", "amount + 1000")
            ),
            // a new seq carrying an existing txn id: REPLACE would delete row 2
            format!(
                "INSERT OR REPLACE INTO audit_log ({COLUMNS}) {}",
                copy("4", "amount")
            ),
            format!(
                "INSERT INTO audit_log ({COLUMNS}) {} WHERE true \
                 ON CONFLICT(seq) DO UPDATE SET amount = 1000",
                copy("seq", "amount")
            ),
        ],
        Backend::Postgres => vec![format!(
            "INSERT INTO audit_log ({COLUMNS}) {} \
             ON CONFLICT (seq) DO UPDATE SET amount = EXCLUDED.amount + 1000",
            copy("seq", "amount")
        )],
    };
    for sql in &attempts {
        assert!(app.db.exec(sql).await.is_err(), "accepted: {sql}");
    }
    assert_eq!(app.db.count("audit_log").await, 3);
    assert!(app.reader.verify().await.unwrap().ok);
    if b == Backend::Sqlite {
        // Negative control: without the new trigger REPLACE rewrites row 2 and only verify sees it.
        app.db
            .exec("DROP TRIGGER audit_log_no_replace")
            .await
            .unwrap();
        app.db.exec(&attempts[0]).await.unwrap();
        let report = app.reader.verify().await.unwrap();
        assert!(!report.ok);
    }
    app.finish().await;
}

async fn a_signed_post_with_a_query_is_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let body = serde_json::to_vec(&record(22, 5)).unwrap();
    for q in ["x=1", "dryRun=true", "limit=5"] {
        let req = app
            .writer
            .sign(
                "POST",
                "/log/transactions",
                q,
                Some(&idem()),
                body.clone(),
                now_secs(),
            )
            .unwrap();
        refused(&app, req, "invalid-query", "query", q).await;
    }
    assert_eq!(app.db.stored().await, (0, 0));
    assert_eq!(send(&app, app.signed_post(body)).await.status(), 201);
    app.finish().await;
}

async fn cursors_are_tamper_evident_and_integers_plain(b: Backend) {
    let app = TestApp::start(b).await;
    let batch: Vec<_> = (0..5).map(|i| record(23, 1 + i)).collect();
    app.writer.post_records(&batch, &idem()).await.unwrap();
    let get = |client: &api::AuditClient, q: &str| {
        client
            .sign("GET", "/log/transactions", q, None, vec![], now_secs())
            .unwrap()
    };
    let page: api::model::Page = send(&app, get(&app.reader, "limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    assert_eq!(cursor.len(), 48, "opaque: {cursor}");
    let next: api::model::Page = send(&app, get(&app.reader, &format!("limit=2&cursor={cursor}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        next.items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![3, 2]
    );
    let mut edited = cursor.clone().into_bytes();
    edited[15] = if edited[15] == b'0' { b'1' } else { b'0' };
    let edited = String::from_utf8(edited).unwrap();
    for (what, c) in [
        ("edited cursor", edited.as_str()),
        ("a bare seq", "3"),
        ("truncated", &cursor[..40]),
    ] {
        refused(
            &app,
            get(&app.reader, &format!("cursor={c}")),
            "invalid-query",
            "cursor",
            what,
        )
        .await;
    }
    // A cursor is valid for the key it was issued to.
    refused(
        &app,
        get(&app.client, &format!("cursor={cursor}")),
        "invalid-query",
        "cursor",
        "another key's cursor",
    )
    .await;
    for q in [
        "limit=+5",
        "limit=05",
        "limit=5.0",
        // Integers stop at 2^53 - 1, as the OpenAPI document says (a double holds the bound).
        "limit=9007199254740992",
        "limit=9223372036854775808",
        "userId=+23",
        "since=-0",
    ] {
        let name = q.split('=').next().unwrap();
        refused(&app, get(&app.reader, q), "invalid-query", name, q).await;
    }
    let txn = batch[0].txn_id.as_str();
    for q in ["wait=+1", "wait=01"] {
        let req = app
            .reader
            .sign(
                "GET",
                &format!("/log/transactions/{txn}"),
                q,
                None,
                vec![],
                now_secs(),
            )
            .unwrap();
        refused(&app, req, "invalid-query", "wait", q).await;
    }
    assert_eq!(send(&app, get(&app.reader, "limit=5")).await.status(), 200);
    assert_eq!(
        send(&app, get(&app.reader, "limit=9007199254740991"))
            .await
            .status(),
        200
    );
    assert_eq!(send(&app, get(&app.reader, "since=0")).await.status(), 200);
    app.finish().await;
}

both_backends!(
    the_database_refuses_a_rewrite,
    a_signed_post_with_a_query_is_refused,
    cursors_are_tamper_evident_and_integers_plain
);
