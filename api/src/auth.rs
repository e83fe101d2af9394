//! Authentication middleware: per-IP limit, body limit, signature check, scope, per-key limit.
//!
//! The order is deliberate: nothing is parsed or looked up in the database before the body is
//! bounded and the signature verified, so a forged or oversized request costs no database work.

use crate::app::AppState;
use crate::problem::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::Scope;
use shared::request_signing::{
    HEADER_IDEMPOTENCY_KEY, HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, RequestParts,
    SignatureHeaders, verify_request,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The authenticated caller, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key id that signed the request.
    pub key_id: String,
}

/// The raw body, read once under the limit and verified.
#[derive(Clone, Debug)]
pub struct VerifiedBody(pub Bytes);

/// A header that appears more than once or is not visible text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("header repeated or not text")]
pub struct BadHeader;

/// Exactly one header value as UTF-8 (`Err` when repeated or not text; `Ok(None)` when absent).
pub fn single_header<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, BadHeader> {
    let mut it = h.get_all(name).iter();
    match (it.next(), it.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| BadHeader),
        _ => Err(BadHeader),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn refuse(reason: &'static str) -> Response {
    metrics::counter!("signature_failures_total", "reason" => reason).increment(1);
    tracing::info!(reason, "signature refused");
    ApiError::unauthenticated().into_response()
}

/// The middleware on every non-anonymous route.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if let Err(wait) = state.limiters.check_ip(ip) {
        metrics::counter!("rate_limited_total", "tier" => "ip").increment(1);
        return ApiError::rate_limited("per-IP", wait).into_response();
    }
    let (mut parts, body) = req.into_parts();
    let limit = state.config.body_limit;
    let too_big = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    if too_big {
        return ApiError::too_large(limit).into_response();
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large(limit).into_response(),
    };
    let h = &parts.headers;
    let (Ok(key_id), Ok(ts), Ok(sig)) = (
        single_header(h, HEADER_KEY_ID),
        single_header(h, HEADER_TIMESTAMP),
        single_header(h, HEADER_SIGNATURE),
    ) else {
        return refuse("malformed");
    };
    let (Some(key_id), Some(ts), Some(sig)) = (key_id, ts, sig) else {
        return refuse("malformed");
    };
    let Ok(idem) = single_header(h, HEADER_IDEMPOTENCY_KEY) else {
        return ApiError::idempotency_key("send exactly one Idempotency-Key header")
            .into_response();
    };
    let scope = if parts.method == Method::POST {
        Scope::Write
    } else {
        Scope::Read
    };
    let headers = SignatureHeaders {
        key_id: key_id.to_owned(),
        timestamp: ts.to_owned(),
        signature: sig.to_owned(),
    };
    let request = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        idempotency_key: idem.unwrap_or(""),
        body: &bytes,
    };
    let key = match verify_request(&state.config.keys, &headers, &request, now_secs(), scope) {
        Ok(k) => k.id.to_string(),
        Err(shared::VerifyError::Scope) => {
            metrics::counter!("signature_failures_total", "reason" => "scope").increment(1);
            return ApiError::forbidden(if scope == Scope::Write {
                "write"
            } else {
                "read"
            })
            .into_response();
        }
        Err(e) => return refuse(e.label()),
    };
    if let Err(wait) = state.limiters.check_key(&key) {
        metrics::counter!("rate_limited_total", "tier" => "key").increment(1);
        return ApiError::rate_limited("per-key", wait).into_response();
    }
    tracing::Span::current().record("key_id", key.as_str());
    parts.extensions.insert(Caller { key_id: key });
    parts.extensions.insert(VerifiedBody(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
