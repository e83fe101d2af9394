//! Prometheus metrics: request counts and latency histograms (buckets, not summaries).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Latency buckets, seconds (1 ms to 30 s: long-polls land in the top buckets).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Group-commit sizes (requests per transaction).
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide exporter handle, installing the recorder on first use. Several servers in
/// one process (tests) share it; if another recorder is already installed, metrics render empty.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("audit_write_group_requests".into()),
                        GROUP_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder is already installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route, method and status"
    );
    metrics::describe_counter!("audit_records_stored_total", "Records stored");
    metrics::describe_counter!(
        "http_connections_refused_total",
        "Connections closed at accept because API_MAX_CONNECTIONS were open"
    );
    metrics::describe_counter!(
        "http_connections_timed_out_total",
        "Connections closed because a request head took longer than API_HEADER_READ_TIMEOUT_SECS"
    );
    metrics::describe_counter!(
        "http_requests_malformed_total",
        "Request heads that could not be parsed as HTTP (answered 400/414/431 and closed)"
    );
    metrics::describe_histogram!(
        "audit_write_group_requests",
        "Write requests committed per transaction (group commit)"
    );
    metrics::describe_gauge!(
        "audit_chain_head_seq",
        "Seq of the chain head at the last signed checkpoint"
    );
    metrics::describe_gauge!(
        "audit_last_checkpoint_unixtime",
        "When the last chain checkpoint was signed (Unix seconds)"
    );
    metrics::describe_counter!(
        "audit_records_duplicate_total",
        "Records refused as already stored (txn id seen before)"
    );
    metrics::describe_counter!(
        "signature_failures_total",
        "Signed requests refused, by reason"
    );
    metrics::describe_counter!(
        "idempotency_outcomes_total",
        "Idempotency outcomes: created, replayed, conflict_409, mismatch_422"
    );
    metrics::describe_counter!(
        "rate_limited_total",
        "Requests refused by a rate limit, by tier"
    );
    metrics::describe_counter!(
        "audit_chain_verify_failures_total",
        "Chain verifications that found a broken row"
    );
}

/// Middleware recording every request's count and latency under its route template.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    resp
}
