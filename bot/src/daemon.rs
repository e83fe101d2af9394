//! `economy-bot serve`: the Discord front end, the reconciler and the log-channel poster
//! ([`crate::discord::run_with`]) plus a small HTTP endpoint for health and metrics (and, when a
//! Roblox OAuth app is configured, its callback), all stopped together on SIGTERM / Ctrl-C.

use crate::discord::{self, DiscordSettings, DiscordStatus, RunOptions};
use crate::service::Service;
use anyhow::Context as _;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Default address of `/healthz` and `/metrics` (loopback: put a proxy in front to expose it).
pub const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9464";

/// Reads `BOT_METRICS_BIND` (`host:port`).
pub fn metrics_bind_from_env() -> Result<SocketAddr, String> {
    let raw = std::env::var("BOT_METRICS_BIND")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_METRICS_BIND.to_owned());
    raw.parse()
        .map_err(|_| format!("BOT_METRICS_BIND must be an address like {DEFAULT_METRICS_BIND}"))
}

/// State of the health / metrics endpoint.
#[derive(Clone)]
pub struct Endpoint {
    /// The service (its database answers the health check and the queue gauges).
    pub service: Arc<Service>,
    /// Renders the Prometheus text.
    pub metrics: PrometheusHandle,
    /// Whether the Discord gateway is up and the commands registered.
    pub discord: DiscordStatus,
}

/// `/healthz` and `/metrics`.
pub fn router(endpoint: Endpoint) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(endpoint)
}

/// 200 `ok` when the database answers, the gateway is connected and the commands are
/// registered; otherwise 503 with one line per problem.
async fn healthz(State(e): State<Endpoint>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if let Err(err) = e.service.queue_sizes().await {
        tracing::warn!(error = %err, "health check: database unavailable");
        problems.push("database unavailable".to_owned());
    }
    problems.extend(e.discord.problems());
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            problems.iter().map(|p| format!("{p}\n")).collect(),
        )
    }
}

async fn metrics_text(State(e): State<Endpoint>) -> impl IntoResponse {
    // Queue sizes are read at scrape time so they are never stale.
    if let Ok((unacked, pending)) = e.service.queue_sizes().await {
        crate::metrics::queues(unacked, pending);
    }
    if let Ok((backlog, dead)) = e.service.log_queue_sizes().await {
        crate::metrics::log_queue(backlog, dead);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        e.metrics.render(),
    )
}

/// Installs the Prometheus recorder (once per process) and describes the metrics.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    crate::metrics::describe();
    Ok(handle)
}

/// Runs everything until SIGTERM / Ctrl-C.
pub async fn serve(
    service: Arc<Service>,
    discord_settings: DiscordSettings,
    metrics_bind: SocketAddr,
) -> anyhow::Result<()> {
    serve_with(
        service,
        discord_settings,
        metrics_bind,
        axum::Router::new(),
        None,
        None,
    )
    .await
}

/// [`serve`], with `extra` routes on the health / metrics listener (the Roblox OAuth callback)
/// and the account links members are resolved with (`oauth`: the sign-in `/link me` hands out).
pub async fn serve_with(
    service: Arc<Service>,
    discord_settings: DiscordSettings,
    metrics_bind: SocketAddr,
    extra: axum::Router,
    links: Option<Arc<crate::links::Links>>,
    oauth: Option<Arc<crate::links::RobloxOAuth>>,
) -> anyhow::Result<()> {
    let handle = install_metrics()?;
    let listener = tokio::net::TcpListener::bind(metrics_bind)
        .await
        .with_context(|| format!("cannot listen on {metrics_bind} (BOT_METRICS_BIND)"))?;
    tracing::info!(%metrics_bind, "health and metrics endpoint listening");
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        discord::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut server_stop = stop_rx.clone();
    let status = DiscordStatus::default();
    let app = router(Endpoint {
        service: service.clone(),
        metrics: handle,
        discord: status.clone(),
    })
    .merge(extra);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    let mut discord_stop = stop_rx;
    let options = RunOptions {
        status,
        links,
        oauth,
        ..RunOptions::default()
    };
    let result = discord::run_with(service.clone(), discord_settings, options, async move {
        let _ = discord_stop.wait_for(|stop| *stop).await;
    })
    .await;
    // The endpoint stops with the bot (also when the gateway failed on its own).
    server.abort();
    let _ = server.await;
    service.db().close().await;
    result
}
