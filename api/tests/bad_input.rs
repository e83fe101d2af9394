//! Every bad input gets the right 4xx, a problem document, and stores nothing (both backends).

mod common;

use api::client::SignedRequest;
use common::*;

fn body_of(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

fn valid_json() -> serde_json::Value {
    serde_json::to_value(record(1, 5)).unwrap()
}

/// A valid record written as a JSON array in field order (serde would read a struct from it).
fn as_array() -> serde_json::Value {
    let v = valid_json();
    let fields = [
        "txnId",
        "source",
        "userId",
        "op",
        "amount",
        "outcome",
        "rejectReason",
        "balanceAfter",
        "reason",
        "actorId",
        "actorName",
        "serverJobId",
        "issuedAt",
        "appliedAt",
    ];
    serde_json::Value::Array(fields.iter().map(|f| v[*f].clone()).collect())
}

fn with(field: &str, value: serde_json::Value) -> Vec<u8> {
    let mut v = valid_json();
    v[field] = value;
    body_of(v)
}

fn set(req: &mut SignedRequest, name: &str, value: &str) {
    req.headers.retain(|(k, _)| k != name);
    req.headers.push((name.into(), value.into()));
}

async fn expect(app: &TestApp, req: SignedRequest, status: u16, what: &str) {
    let resp = app.client.send(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), status, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let p: api::problem::Problem = resp.json().await.unwrap();
    assert_eq!(p.status, status, "{what}");
    assert!(p.kind.starts_with("/problems/"), "{what}");
    let text = serde_json::to_string(&p).unwrap();
    for secret in [
        "1111111111111111",
        "00112233445566778899",
        "sqlx",
        "database error",
        "panicked",
    ] {
        assert!(
            !text.contains(secret),
            "{what}: problem leaks {secret}: {text}"
        );
    }
    assert_eq!(app.db.stored().await, (0, 0), "{what}: nothing stored");
}

async fn bodies(b: Backend) {
    let app = TestApp::start(b).await;
    let big = serde_json::json!({"records": (0..101).map(|i| serde_json::to_value(record(1, 1 + i)).unwrap()).collect::<Vec<_>>()});
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("malformed JSON", b"{\"txnId\": ".to_vec(), 400),
        ("not an object", b"[1,2]".to_vec(), 400),
        ("empty body", Vec::new(), 400),
        (
            "wrong type: amount as string",
            with("amount", "5".into()),
            400,
        ),
        (
            "wrong type: userId as float",
            with("userId", 1.5.into()),
            400,
        ),
        ("negative amount", with("amount", (-5).into()), 400),
        ("zero amount", with("amount", 0.into()), 400),
        (
            "huge amount",
            with("amount", 9_007_199_254_740_992i64.into()),
            400,
        ),
        ("amount beyond i64", b"{\"amount\": 1e30}".to_vec(), 400),
        ("negative balance", with("balanceAfter", (-1).into()), 400),
        (
            "bad txn id",
            with("txnId", "01arz3ndektsv4rrffq69g5fav".into()),
            400,
        ),
        ("bad source", with("source", "web".into()), 400),
        (
            "control chars in reason",
            with("reason", "a\u{0007}b".into()),
            400,
        ),
        (
            "right-to-left override in reason",
            with("reason", "refund \u{202E}evif".into()),
            400,
        ),
        (
            "zero-width space in reason",
            with("reason", "a\u{200B}b".into()),
            400,
        ),
        (
            "reason too long",
            with("reason", "x".repeat(201).into()),
            400,
        ),
        (
            "rejected without reason",
            with("outcome", "rejected".into()),
            400,
        ),
        ("unknown field", with("extra", 1.into()), 400),
        (
            "unknown field in batch wrapper",
            body_of(serde_json::json!({"records": [valid_json()], "x": 1})),
            400,
        ),
        (
            "records not an array",
            body_of(serde_json::json!({"records": {}})),
            400,
        ),
        (
            "empty batch",
            body_of(serde_json::json!({"records": []})),
            400,
        ),
        ("batch of 101", body_of(big), 400),
        ("record as a JSON array", body_of(as_array()), 400),
        (
            "batch record as a JSON array",
            body_of(serde_json::json!({"records": [as_array()]})),
            400,
        ),
        (
            "one bad record spoils the batch",
            body_of(serde_json::json!({"records": [valid_json(), {"amount": -1}]})),
            400,
        ),
        ("oversized body", vec![b' '; 300 * 1024], 413),
    ];
    for (what, body, status) in cases {
        expect(&app, app.signed_post(body), status, what).await;
    }
    // content type
    let mut req = app.signed_post(body_of(valid_json()));
    set(&mut req, "content-type", "text/plain");
    expect(&app, req, 415, "text/plain body").await;
    app.finish().await;
}

async fn headers(b: Backend) {
    let app = TestApp::start(b).await;
    let good = || body_of(valid_json());
    // missing each signature header
    for h in ["x-key-id", "x-timestamp", "x-signature"] {
        let mut req = app.signed_post(good());
        req.headers.retain(|(k, _)| k != h);
        expect(&app, req, 401, &format!("missing {h}")).await;
    }
    // duplicated signature header (both copies valid)
    let mut req = app.signed_post(good());
    let sig = req
        .headers
        .iter()
        .find(|(k, _)| k == "x-signature")
        .unwrap()
        .clone();
    req.headers.push(sig);
    expect(&app, req, 401, "duplicated X-Signature").await;
    // garbage values
    for (h, v) in [
        ("x-signature", "v1=zz"),
        ("x-signature", "sha256=abcd"),
        ("x-timestamp", "yesterday"),
        ("x-timestamp", "-5"),
        ("x-key-id", "no such key!"),
    ] {
        let mut req = app.signed_post(good());
        set(&mut req, h, v);
        expect(&app, req, 401, &format!("garbage {h}: {v}")).await;
    }
    // Idempotency-Key: missing, duplicated, garbage (signed as sent, so the signature is valid)
    let req = app
        .writer
        .sign("POST", "/log/transactions", "", None, good(), now_secs())
        .unwrap();
    expect(&app, req, 400, "missing Idempotency-Key").await;
    let mut req = app.signed_post(good());
    let k = req
        .headers
        .iter()
        .find(|(k, _)| k == "idempotency-key")
        .unwrap()
        .clone();
    req.headers.push(k);
    expect(&app, req, 400, "duplicated Idempotency-Key").await;
    for bad in ["has space", "\"\"", &"k".repeat(256)] {
        let req = app
            .writer
            .sign(
                "POST",
                "/log/transactions",
                "",
                Some(bad),
                good(),
                now_secs(),
            )
            .unwrap();
        expect(
            &app,
            req,
            400,
            &format!("garbage Idempotency-Key {bad:.20}"),
        )
        .await;
    }
    app.finish().await;
}

async fn signatures(b: Backend) {
    let app = TestApp::start(b).await;
    let good = || body_of(valid_json());
    let sign_at = |ts: i64| {
        app.writer
            .sign("POST", "/log/transactions", "", Some(&idem()), good(), ts)
            .unwrap()
    };
    expect(&app, sign_at(now_secs() - 301), 401, "stale timestamp").await;
    expect(&app, sign_at(now_secs() + 301), 401, "future timestamp").await;
    // captured 10 minutes ago and replayed now
    expect(
        &app,
        sign_at(now_secs() - 600),
        401,
        "replayed after the window",
    )
    .await;
    // retired / unknown key
    let retired = api::AuditClient::new(
        &app.base,
        api::testing::random_key("old", vec![shared::Scope::Read, shared::Scope::Write]),
    );
    let req = retired
        .sign(
            "POST",
            "/log/transactions",
            "",
            Some(&idem()),
            good(),
            now_secs(),
        )
        .unwrap();
    expect(&app, req, 401, "retired key").await;
    // known key id, wrong secret
    let forged = api::AuditClient::new(
        &app.base,
        api::testing::random_key("game", vec![shared::Scope::Write]),
    );
    let req = forged
        .sign(
            "POST",
            "/log/transactions",
            "",
            Some(&idem()),
            good(),
            now_secs(),
        )
        .unwrap();
    expect(&app, req, 401, "wrong secret for a known key id").await;
    // a valid signature re-attached to another body
    let mut req = sign_at(now_secs());
    req.body = with("amount", 6.into());
    expect(&app, req, 401, "signature replayed with another body").await;
    // ... to another Idempotency-Key
    let mut req = sign_at(now_secs());
    set(&mut req, "idempotency-key", "another-key");
    expect(&app, req, 401, "signature replayed with another key").await;
    // ... to another path (signed for one path, sent to the real one)
    let mut req = app
        .writer
        .sign("POST", "/log/other", "", Some(&idem()), good(), now_secs())
        .unwrap();
    req.url = format!("{}/log/transactions", app.base);
    expect(&app, req, 401, "signature replayed on another path").await;
    // ... with a query added
    let mut req = sign_at(now_secs());
    req.url.push_str("?x=1");
    expect(&app, req, 401, "signature replayed with another query").await;
    // scopes: read-only key cannot post; write-only key cannot read
    let req = app
        .reader
        .sign(
            "POST",
            "/log/transactions",
            "",
            Some(&idem()),
            good(),
            now_secs(),
        )
        .unwrap();
    expect(&app, req, 403, "read key posting").await;
    let req = app
        .writer
        .sign("GET", "/log/transactions", "", None, vec![], now_secs())
        .unwrap();
    expect(&app, req, 403, "write key reading").await;
    let text = app.metrics_text().await;
    for reason in ["stale", "future", "unknown_key", "bad_signature", "scope"] {
        assert!(
            text.contains(&format!("signature_failures_total{{reason=\"{reason}\"}}")),
            "metric for {reason}"
        );
    }
    app.finish().await;
}

/// The shared vectors (testdata/audit_bodies.json): a key twice at any level is `400
/// invalid-body` naming its path, with nothing stored; the strict bodies are stored.
async fn duplicate_keys(b: Backend) {
    let app = TestApp::start(b).await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/audit_bodies.json");
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = data["cases"].as_array().unwrap();
    let (dups, strict): (Vec<_>, Vec<_>) = cases.iter().partition(|c| c["duplicate"].is_string());
    assert!(dups.len() >= 8 && strict.len() >= 2);
    for case in dups {
        let (name, want) = (&case["name"], case["duplicate"].as_str().unwrap());
        let body = case["body"].as_str().unwrap().as_bytes().to_vec();
        let resp = app
            .client
            .send(app.signed_post(body.clone()))
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{name}");
        let p: api::problem::Problem = resp.json().await.unwrap();
        assert_eq!(p.kind, "/problems/invalid-body", "{name}");
        assert_eq!(
            p.detail.as_deref(),
            Some(format!("duplicate field `{want}`").as_str()),
            "{name}"
        );
        expect(&app, app.signed_post(body), 400, name.as_str().unwrap()).await;
    }
    let mut rows = 0;
    for case in strict {
        let body = case["body"].as_str().unwrap();
        let resp = app.client.send(app.signed_post(body.into())).await.unwrap();
        assert_eq!(resp.status().as_u16(), 201, "{}", case["name"]);
        rows += if body.starts_with("{\"records\"") {
            2
        } else {
            1
        };
    }
    assert_eq!(app.db.stored().await.0, rows);
    app.finish().await;
}

both_backends!(bodies, headers, signatures, duplicate_keys);
