//! Open Cloud error bodies in their three shapes: v1 data stores, v2, and the gateway's
//! (<https://create.roblox.com/docs/cloud/reference/errors>).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::emulator::budget::RateInfo;
use crate::emulator::experience::{ExperienceThrottle, KeyDirection, KeyThrottle};
use crate::emulator::store::StoreError;

/// Which family of error body an endpoint answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// v1 data stores: `{"error","message","errorDetails":[{"errorDetailType","datastoreErrorCode"}]}`.
    V1DataStore,
    /// v2 and messaging: `{"code","message"}`.
    V2,
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A v1 data-store error.
pub(crate) fn v1(code: u16, error: &str, message: &str, datastore_code: &str) -> Response {
    (
        status(code),
        Json(json!({
            "error": error,
            "message": message,
            "errorDetails": [{"errorDetailType": "DatastoreErrorInfo", "datastoreErrorCode": datastore_code}],
        })),
    )
        .into_response()
}

/// A v1 400 `INVALID_ARGUMENT`.
pub(crate) fn v1_invalid(datastore_code: &str, message: &str) -> Response {
    v1(400, "INVALID_ARGUMENT", message, datastore_code)
}

/// A v2 error.
pub(crate) fn v2(code: u16, grpc_code: &str, message: &str) -> Response {
    (
        status(code),
        Json(json!({"code": grpc_code, "message": message})),
    )
        .into_response()
}

/// The gateway's 401 for a missing or unknown key.
pub(crate) fn invalid_api_key() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errors": [{"code": 0, "message": "Invalid API Key"}]})),
    )
        .into_response()
}

/// 403 for a key without the universe or scope.
pub(crate) fn forbidden(shape: Shape, message: &str) -> Response {
    match shape {
        Shape::V1DataStore => v1(403, "INSUFFICIENT_SCOPE", message, "InsufficientScope"),
        Shape::V2 => v2(403, "PERMISSION_DENIED", message),
    }
}

/// 429 with rate-limit headers (and `retry-after` when given).
pub(crate) fn throttled(shape: Shape, info: RateInfo, retry_after: Option<u64>) -> Response {
    let mut response = match shape {
        Shape::V1DataStore => v1(
            429,
            "RESOURCE_EXHAUSTED",
            "Too many requests.",
            "TooManyRequests",
        ),
        Shape::V2 => v2(429, "RESOURCE_EXHAUSTED", "Too many requests."),
    };
    add_rate_headers(response.headers_mut(), info);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    response
}

/// 429 for a request over the experience-wide budget it shares with game servers: the documented
/// `Standard*ExperienceThrottled` message, `x-ratelimit-*` of that budget, `retry-after` the end of
/// the window.
pub(crate) fn experience_throttled(shape: Shape, t: ExperienceThrottle) -> Response {
    let message = t.request_type.open_cloud_message();
    let mut response = match shape {
        Shape::V1DataStore => v1(429, "RESOURCE_EXHAUSTED", &message, "TooManyRequests"),
        Shape::V2 => v2(429, "RESOURCE_EXHAUSTED", &message),
    };
    add_rate_headers(response.headers_mut(), t.info);
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(t.info.reset_seconds));
    response
}

/// 429 for a key (or a universe, v1) over its per-minute throughput: `x-ratelimit-*` count bytes, and
/// `retry-after` is the end of the window.
pub(crate) fn key_throttled(shape: Shape, direction: KeyDirection, t: KeyThrottle) -> Response {
    let what = match direction {
        KeyDirection::Read => "read",
        KeyDirection::Write => "write",
    };
    let message = if t.whole_universe {
        format!("The universe's {what} throughput per minute is used up.")
    } else {
        format!(
            "KeyThrottled: The request rate exceeds the allowed maximum for the key ({what} throughput over the last minute)."
        )
    };
    let mut response = match shape {
        Shape::V1DataStore => v1(429, "RESOURCE_EXHAUSTED", &message, "TooManyRequests"),
        Shape::V2 => v2(429, "RESOURCE_EXHAUSTED", &message),
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(t.limit_bytes));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(t.remaining_bytes),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(t.reset_seconds));
    headers.insert("retry-after", HeaderValue::from(t.reset_seconds));
    response
}

/// An injected server error.
pub(crate) fn server_error(shape: Shape, code: u16) -> Response {
    let (grpc, message) = match code {
        503 => ("UNAVAILABLE", "The service is unavailable."),
        504 => ("DEADLINE_EXCEEDED", "The request timed out."),
        _ => ("INTERNAL", "Internal server error."),
    };
    match shape {
        Shape::V1DataStore => v1(code, grpc, message, "Unknown"),
        Shape::V2 => v2(code, grpc, message),
    }
}

/// Maps a store error to Roblox's v1 response.
pub(crate) fn v1_store_error(error: &StoreError) -> Response {
    let code = error.datastore_error_code();
    match error {
        StoreError::EntryNotFound | StoreError::VersionNotFound => {
            v1(404, "NOT_FOUND", &error.to_string(), code)
        }
        _ => v1_invalid(code, &error.to_string()),
    }
}

/// 404 for paths Open Cloud does not have.
pub(crate) async fn not_found_route() -> Response {
    v2(404, "NOT_FOUND", "No such endpoint.")
}

/// Sets `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`.
pub(crate) fn add_rate_headers(headers: &mut HeaderMap, info: RateInfo) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(info.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(info.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(info.reset_seconds));
}
