//! The daemon's health and metrics endpoint over real HTTP: `/healthz` follows the bot
//! database, `/metrics` is Prometheus text with the command counters and queue gauges (the
//! log channel's backlog and dead letters included).

mod support;

use bot::daemon::{Endpoint, install_metrics, router};
use shared::Op;
use std::sync::Arc;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let status = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_over_http() {
    // Installed before anything else in this test binary records metrics.
    let handle = install_metrics().unwrap();
    let world = World::new();
    let api = AuditApi::start().await;
    let service = Arc::new(world.service(&api, service_config()).await);
    world.seed_offline_profile(ALICE, 5);
    service.execute(request(Op::Give, ALICE, 7)).await.unwrap();
    bot::metrics::command("give", "applied");
    bot::metrics::command("give", "applied");
    bot::metrics::command("audit", "refused");
    bot::metrics::log_pass(&bot::service::LogPass {
        posted: 3,
        failed: 2,
        dead_lettered: 1,
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let discord = bot::discord::DiscordStatus::default();
    let app = router(Endpoint {
        service: service.clone(),
        metrics: handle,
        discord: discord.clone(),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Not connected to Discord yet: unhealthy, saying why.
    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 503);
    assert!(body.contains("discord gateway not connected"), "{body}");
    assert!(body.contains("slash commands not registered"), "{body}");
    discord.set_connected(true);
    discord.set_registered();
    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_owned()));
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"economy_bot_commands_total{kind="give",outcome="applied"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"economy_bot_commands_total{kind="audit",outcome="refused"} 1"#),
        "{text}"
    );
    assert!(text.contains("economy_bot_audit_retry_queue 0"), "{text}");
    assert!(text.contains("economy_bot_pending_txns 0"), "{text}");
    // The give settled: its log-channel post waits (read at scrape time).
    assert!(text.contains("economy_bot_log_backlog 1"), "{text}");
    assert!(text.contains("economy_bot_log_dead_letters 0"), "{text}");
    assert!(
        text.contains("economy_bot_log_dead_letters_total 1"),
        "{text}"
    );
    assert!(
        text.contains(r#"economy_bot_log_channel_posts_total{result="error"} 2"#),
        "{text}"
    );
    assert!(text.contains("# HELP economy_bot_commands_total"), "{text}");
    assert_eq!(get(addr, "/nope").await.0, 404);

    // The database goes away: unhealthy.
    service.db().close().await;
    assert_eq!(get(addr, "/healthz").await.0, 503);
    server.abort();
}
