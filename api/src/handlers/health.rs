//! Anonymous endpoints: liveness, readiness, metrics.

use crate::app::AppState;
use crate::problem::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Liveness: the process serves requests (never touches the database).
#[utoipa::path(get, path = "/livez", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: database reachable and migrated, and not draining.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "Database unreachable or server draining", body = crate::problem::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.draining.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable().detail("shutting down"));
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ready()).await {
        Ok(Ok(())) => Ok(Json(
            serde_json::json!({"status": "ok", "database": state.store.backend()}),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable().detail("database unreachable or not migrated"))
        }
        Err(_) => Err(ApiError::unavailable().detail("database did not answer in time")),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
