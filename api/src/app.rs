//! The router: routes, middleware stack (request ids, tracing, panics, timeouts, auth, metrics).

use crate::config::Config;
use crate::handlers::{health, post, read, totals};
use crate::problem::ApiError;
use crate::ratelimit::Limiters;
use crate::store::Store;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post as post_route};
use metrics_exporter_prometheus::PrometheusHandle;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// (key id, Idempotency-Key) pairs of the POSTs an instance is processing.
pub type InFlight = Arc<Mutex<HashSet<(String, String)>>>;

/// Shared state of one server instance.
#[derive(Clone)]
pub struct AppState {
    /// The storage backend.
    pub store: Arc<dyn Store>,
    /// The configuration (keys, limits).
    pub config: Arc<Config>,
    /// Rate limiters.
    pub limiters: Arc<Limiters>,
    /// (key id, Idempotency-Key) pairs being processed by this instance.
    pub inflight: InFlight,
    /// Metrics exporter.
    pub metrics: PrometheusHandle,
    /// Set once shutdown starts (readiness turns 503).
    pub draining: Arc<AtomicBool>,
    /// The latest signed chain checkpoint (when checkpoints are configured).
    pub checkpoint: crate::checkpoint::Latest,
}

impl AppState {
    /// State for a store and configuration.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Self {
            store,
            limiters: Arc::new(Limiters::new(config.rate_ip, config.rate_key)),
            config: Arc::new(config),
            inflight: Arc::default(),
            metrics: crate::metrics::handle(),
            draining: Arc::default(),
            checkpoint: Arc::default(),
        }
    }
}

/// Request ids are ULIDs (sortable, no extra dependency).
#[derive(Clone, Copy, Debug, Default)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        ulid::Ulid::new()
            .to_string()
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn with_timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::timeout().into_response(),
    }
}

/// Builds the router for `state`.
pub fn router(state: AppState) -> Router {
    let timeout = state.config.request_timeout;
    let poll_timeout = timeout + Duration::from_secs(read::MAX_WAIT_SECS);
    let auth = middleware::from_fn_with_state(state.clone(), crate::auth::authenticate);
    let signed = Router::new()
        .route(
            "/log/transactions",
            post_route(post::post_transactions).get(read::list_transactions),
        )
        .route("/log/totals", get(totals::totals))
        .route("/log/verify", get(read::verify_log))
        .route("/log/checkpoints/latest", get(read::latest_checkpoint))
        .route("/openapi.json", get(openapi_json))
        .route_layer(auth.clone())
        .layer(middleware::from_fn(move |r, n| with_timeout(timeout, r, n)));
    let poll = Router::new()
        .route("/log/transactions/{txn_id}", get(read::get_transaction))
        .route_layer(auth)
        .layer(middleware::from_fn(move |r, n| {
            with_timeout(poll_timeout, r, n)
        }));
    let public = Router::new()
        .route("/livez", get(health::livez))
        .route("/healthz", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics));
    signed
        .merge(poll)
        .merge(public)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    HeaderName::from_static(shared::request_signing::HEADER_SIGNATURE),
                    header::AUTHORIZATION,
                ]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, UlidRequestId))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let id = req
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %req.method(),
                                path = %req.uri().path(),
                                key_id = tracing::field::Empty,
                            )
                        })
                        // One access line per request at info (status, latency; request id from the span).
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::internal().into_response()
                })),
        )
        .with_state(state)
}

/// Serves the OpenAPI document (read scope, like every non-health endpoint).
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
        .into_response()
}
