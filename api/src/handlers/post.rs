//! `POST /log/transactions`: one record or a batch, with Idempotency-Key semantics.

use crate::app::AppState;
use crate::auth::{Caller, VerifiedBody};
use crate::model::{BodyError, PostResponse, parse_post_body};
use crate::problem::{ApiError, Problem};
use crate::store::{WriteOutcome, WriteRequest};
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use shared::request_signing::HEADER_IDEMPOTENCY_KEY;

/// Response header marking a replayed response (shared with the client).
pub use audit_client::headers::IDEMPOTENT_REPLAYED;

/// Validates an Idempotency-Key: an sf-string (quoted) or a bare token; 1-255 visible ASCII
/// characters without quotes or backslashes once the quotes are stripped.
pub fn parse_idempotency_key(raw: Option<&str>) -> Result<String, ApiError> {
    let raw = raw
        .ok_or_else(|| ApiError::idempotency_key("POST requests need an Idempotency-Key header"))?;
    let key = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let ok = (1..=255).contains(&key.len())
        && key
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if ok {
        Ok(key.to_owned())
    } else {
        Err(ApiError::idempotency_key(
            "Idempotency-Key must be 1-255 visible ASCII characters (no quotes or backslashes), e.g. a UUID",
        ))
    }
}

fn fingerprint(path: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"POST\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().into()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn json_response(status: u16, body: String, replayed: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        h.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    resp
}

fn outcome(label: &'static str) {
    metrics::counter!("idempotency_outcomes_total", "outcome" => label).increment(1);
}

/// Removes the in-flight marker when the request finishes (also on cancellation).
struct InFlightGuard<'a> {
    state: &'a AppState,
    key: (String, String),
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.state.inflight.lock().remove(&self.key);
    }
}

/// Stores audit records.
#[utoipa::path(
    post,
    path = "/log/transactions",
    tag = "audit",
    request_body(
        content = crate::openapi::PostBodySchema,
        description = "One AuditRecord object, or {\"records\": [...]} with 1-100 records"
    ),
    params(
        ("Idempotency-Key" = String, Header, description = "1-255 visible ASCII characters; bare or an sf-string"),
    ),
    responses(
        (status = 201, description = "At least one record stored", body = PostResponse),
        (status = 200, description = "Every record was already stored", body = PostResponse),
        (status = 400, description = "Malformed body (a key twice in any object included), invalid record, a query parameter, or Idempotency-Key missing/malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the write scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same Idempotency-Key still in flight (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with a different body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn post_transactions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(VerifiedBody(body)): Extension<VerifiedBody>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    // The POST takes no query parameters; refuse them as the reads refuse unknown ones.
    if uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::invalid_query(
            "POST /log/transactions takes no query parameters",
        ));
    }
    let content_type_ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !content_type_ok {
        return Err(ApiError::unsupported_media());
    }
    let raw_key = crate::auth::single_header(&headers, HEADER_IDEMPOTENCY_KEY)
        .map_err(|_| ApiError::idempotency_key("send exactly one Idempotency-Key header"))?;
    let idem_key = parse_idempotency_key(raw_key)?;
    let records = parse_post_body(&body).map_err(|e| match e {
        BodyError::Malformed(m) | BodyError::Invalid(m) => ApiError::invalid_body(m),
        e @ BodyError::BatchSize => ApiError::invalid_body(e.to_string()),
    })?;
    let marker = (caller.key_id.clone(), idem_key.clone());
    if !state.inflight.lock().insert(marker.clone()) {
        outcome("conflict_409");
        return Err(ApiError::in_flight());
    }
    let _guard = InFlightGuard {
        state: &state,
        key: marker,
    };
    let req = WriteRequest {
        client_id: caller.key_id,
        idem_key,
        fingerprint: fingerprint(uri.path(), &body),
        records,
        received_at: now_ms(),
    };
    match state.store.write(req).await? {
        WriteOutcome::Done(stored) => {
            // Rows stored / duplicates are counted by the store when its group commits.
            outcome("created");
            Ok(json_response(stored.status, stored.body, false))
        }
        WriteOutcome::Replayed(stored) => {
            outcome("replayed");
            Ok(json_response(stored.status, stored.body, true))
        }
        WriteOutcome::Mismatch => {
            outcome("mismatch_422");
            Err(ApiError::mismatch())
        }
        WriteOutcome::InFlight => {
            outcome("conflict_409");
            Err(ApiError::in_flight())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_bare_or_quoted_and_nothing_else() {
        assert_eq!(parse_idempotency_key(Some("abc-1")).unwrap(), "abc-1");
        assert_eq!(parse_idempotency_key(Some("\"abc-1\"")).unwrap(), "abc-1");
        for bad in [
            None,
            Some(""),
            Some("\"\""),
            Some("a b"),
            Some("a\"b"),
            Some("é"),
        ] {
            assert_eq!(
                parse_idempotency_key(bad).unwrap_err().status(),
                StatusCode::BAD_REQUEST
            );
        }
        assert!(parse_idempotency_key(Some(&"k".repeat(256))).is_err());
        assert!(parse_idempotency_key(Some(&"k".repeat(255))).is_ok());
    }
}
