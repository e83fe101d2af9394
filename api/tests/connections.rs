//! Issue 16 §2: a request head must arrive within the header-read timeout, and the number of
//! connections is capped, so unauthenticated clients cannot hold the server's descriptors.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection and sends an unfinished request head.
async fn half_open(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(app.server.addr()).await.unwrap();
    s.write_all(b"POST /log/transactions HTTP/1.1\r\nHost: x\r\nX-Key-Id: ga")
        .await
        .unwrap();
    s
}

/// Whether the server closed `s` (EOF or reset) within `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 256];
    matches!(
        tokio::time::timeout(limit, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    app.metrics_text()
        .await
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Posts one record, retrying refused connections until `deadline`.
async fn post_until(app: &TestApp, user: u64, deadline: Instant) -> bool {
    loop {
        let res = app.writer.post_records(&[record(user, 1)], &idem()).await;
        if res.is_ok() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_head_is_disconnected_while_signed_traffic_is_served() {
    let app = TestApp::start_with(Backend::Sqlite, |c| {
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let started = Instant::now();
    let mut slow = half_open(&app).await;
    // Signed traffic keeps flowing while the slow head is pending.
    for i in 0..5 {
        app.writer
            .post_records(&[record(31, 1 + i)], &idem())
            .await
            .unwrap();
    }
    // Trickling bytes does not extend the deadline.
    slow.write_all(b"me\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(4)).await);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
    assert_eq!(app.db.count("audit_log").await, 5);
    assert!(metric(&app, "http_connections_timed_out_total").await >= 1.0);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_open_connections_do_not_stop_a_valid_request() {
    let app = TestApp::start_with(Backend::Sqlite, |c| {
        c.header_read_timeout = Duration::from_secs(2);
        c.max_connections = 16;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(half_open(&app).await);
    }
    // At most the cap is held; past the header timeout every one of them is gone, and a valid
    // request is answered within that time even while the idle ones hold every slot.
    let deadline = Instant::now() + Duration::from_secs(6);
    assert!(
        post_until(&app, 32, deadline).await,
        "valid request starved"
    );
    for s in &mut idle {
        assert!(closed_within(s, Duration::from_secs(5)).await);
    }
    assert_eq!(app.db.count("audit_log").await, 1);
    assert!(metric(&app, "http_connections_refused_total").await >= 1.0);
    // The server is still healthy afterwards.
    assert!(post_until(&app, 33, Instant::now() + Duration::from_secs(2)).await);
    app.finish().await;
}

/// Sends `head` on a fresh connection and reads the whole answer (the server closes after it).
async fn raw_exchange(app: &TestApp, head: &[u8]) -> String {
    let mut s = TcpStream::connect(app.server.addr()).await.unwrap();
    s.write_all(head).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server closes after answering")
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_head_gets_a_problem_document_and_nothing_is_stored() {
    let app = TestApp::start(Backend::Sqlite).await;
    let body = serde_json::to_vec(&[record(34, 1)]).unwrap();
    // A control byte in the Idempotency-Key: hyper refuses the head before the router sees it.
    let mut head = format!(
        "POST /log/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nIdempotency-Key: ab\x01cd\r\n\r\n",
        body.len()
    )
    .into_bytes();
    head.extend_from_slice(&body);
    let text = raw_exchange(&app, &head).await;
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: serde_json::Value = serde_json::from_str(body).expect("a JSON problem");
    assert_eq!(problem["type"], "/problems/malformed-request");
    assert_eq!(problem["status"], 400);
    // A head with more header fields than the server reads keeps its own status (431).
    let many: String = (0..120).map(|i| format!("X-Pad-{i}: a\r\n")).collect();
    let text = raw_exchange(
        &app,
        format!("GET /livez HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert!(
        text.starts_with("HTTP/1.1 431 "),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("/problems/headers-too-large"), "{text}");
    assert_eq!(app.db.count("audit_log").await, 0);
    assert!(metric(&app, "http_requests_malformed_total").await >= 2.0);
    // The router's own 400s are untouched: a well-formed head with a bad key gets its own slug.
    let text = raw_exchange(
        &app,
        b"POST /log/transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(!text.contains("malformed-request"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    app.finish().await;
}
