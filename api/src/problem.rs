//! `application/problem+json` errors (RFC 9457): a stable type, a title, a safe detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The document (shared with the client, so defined in `audit-client`).
pub use audit_client::problem::Problem;

/// An error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            slug,
            title,
            detail: None,
            retry_after: None,
        }
    }

    /// Adds a detail line.
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// Adds `Retry-After` (seconds).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 400: the body is not an acceptable record or batch.
    pub fn invalid_body(d: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid request body",
        )
        .detail(d)
    }
    /// 400: a query parameter is malformed.
    pub fn invalid_query(d: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "Invalid query parameter",
        )
        .detail(d)
    }
    /// 400: Idempotency-Key missing, repeated or malformed.
    pub fn idempotency_key(d: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key",
            "Idempotency-Key missing or malformed",
        )
        .detail(d)
    }
    /// 401: the signature was not accepted (reason only in logs and metrics).
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Request signature not accepted",
        )
        .detail("sign the request with a configured key id, a current X-Timestamp and X-Signature v1=<hex>")
    }
    /// 403: the key lacks the scope.
    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Key lacks the required scope",
        )
        .detail(format!("this endpoint needs a key with the {scope} scope"))
    }
    /// 404: no such route or record.
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(d)
    }
    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        )
    }
    /// 409: the same Idempotency-Key is being processed.
    pub fn in_flight() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency-in-flight",
            "A request with this Idempotency-Key is still being processed",
        )
        .detail("retry the same request unchanged after Retry-After")
        .retry_after(1)
    }
    /// 413: body too large.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
        )
        .detail(format!("bodies are limited to {limit} bytes"))
    }
    /// 415: POST body not JSON.
    pub fn unsupported_media() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Content-Type must be application/json",
        )
    }
    /// 422: the Idempotency-Key was used with a different request.
    pub fn mismatch() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency-Key already used for a different request",
        )
        .detail("use a new Idempotency-Key for a different body")
    }
    /// 429 with Retry-After.
    pub fn rate_limited(tier: &str, retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
        )
        .detail(format!(
            "the {tier} request budget is spent; retry after Retry-After"
        ))
        .retry_after(retry_after)
    }
    /// 503: the database is unavailable (or the server is draining).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable",
        )
        .retry_after(1)
    }
    /// 503 on request timeout.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request took too long",
        )
        .retry_after(1)
    }
    /// 500 without internals.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail("the error was logged; retry later")
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if matches!(e, crate::store::StoreError::TotalsTooLarge) {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "totals-too-large",
                "Totals too large",
            )
            .detail("a total exceeds 2^53 - 1; ask for a shorter range");
        }
        // The text goes to the log only; the client sees a generic problem.
        tracing::error!(error = %e, "store error");
        if e.is_unavailable() {
            ApiError::unavailable()
        } else {
            ApiError::internal()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
