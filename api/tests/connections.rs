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
