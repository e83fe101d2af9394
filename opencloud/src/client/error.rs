//! Typed client errors keeping the HTTP status, Roblox's error code and the body.

use std::time::Duration;

use thiserror::Error;

use super::types::DataStoreEntry;
use crate::limits::LimitError;

/// A non-success answer from Open Cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Roblox's error code: v1 `datastoreErrorCode` if present, else `error` / `code`.
    pub code: Option<String>,
    /// Roblox's message, if the body had one.
    pub message: Option<String>,
    /// The raw body (truncated to 4 KiB).
    pub body: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// Parses Roblox's error body shapes (v1 data stores, v2, gateway).
    pub(crate) fn from_body(status: u16, body: &str) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let field = |v: &serde_json::Value, name: &str| {
            v.get(name).and_then(|x| x.as_str()).map(str::to_owned)
        };
        let (code, message) = match &parsed {
            Some(v) => {
                let detail = v
                    .get("errorDetails")
                    .and_then(|d| d.get(0))
                    .and_then(|d| field(d, "datastoreErrorCode"));
                let gateway = v.get("errors").and_then(|e| e.get(0));
                let code = detail
                    .or_else(|| field(v, "error"))
                    .or_else(|| field(v, "code"))
                    .or_else(|| gateway.and_then(|g| g.get("code")).map(|c| c.to_string()));
                let message =
                    field(v, "message").or_else(|| gateway.and_then(|g| field(g, "message")));
                (code, message)
            }
            None => (None, None),
        };
        let mut body = body.to_owned();
        if body.len() > 4096 {
            let mut cut = 4096;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        Self {
            status,
            code,
            message,
            body,
        }
    }
}

/// Everything that can go wrong calling Open Cloud.
#[derive(Debug, Error)]
pub enum Error {
    /// The request breaks a Roblox limit; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidInput(#[from] LimitError),
    /// Bad argument that is not a Roblox limit (e.g. both matchVersion and exclusiveCreate).
    #[error("invalid request: {0}")]
    InvalidArgument(&'static str),
    /// 412: the write's precondition failed. `current` is the entry as it is now when the answer
    /// carried it; `None` when it did not, which is not proof that the entry is absent (Roblox
    /// does not document a 412's body): read it before deciding anything.
    #[error("precondition failed: the entry changed (current version {})",
        .current.as_ref().map_or("none", |e| e.version.as_str()))]
    PreconditionFailed {
        /// The entry as it is now, with its metadata.
        current: Option<Box<DataStoreEntry>>,
    },
    /// A write that is not safe to repeat may or may not have been applied (5xx, timeout or
    /// connection loss after sending). Re-read before deciding anything.
    #[error("outcome unknown for {operation}: {cause}")]
    OutcomeUnknown {
        /// Which operation.
        operation: &'static str,
        /// What happened.
        cause: String,
    },
    /// 429 after all retries (or with a wait longer than allowed).
    #[error("throttled by Open Cloud ({0})")]
    Throttled(ApiError, Option<Duration>),
    /// Any other non-success answer.
    #[error("Open Cloud error: {0}")]
    Api(ApiError),
    /// Network failure or timeout on a request safe to repeat, after all retries.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer could not be understood.
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl Error {
    /// The HTTP status behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::PreconditionFailed { .. } => Some(412),
            Error::Throttled(e, _) | Error::Api(e) => Some(e.status),
            _ => None,
        }
    }

    /// Roblox's error code behind this error, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Throttled(e, _) | Error::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_body_shape() {
        let v1 = ApiError::from_body(
            400,
            r#"{"error":"INVALID_ARGUMENT","message":"Invalid cursor.","errorDetails":[{"errorDetailType":"DatastoreErrorInfo","datastoreErrorCode":"InvalidCursor"}]}"#,
        );
        assert_eq!(v1.code.as_deref(), Some("InvalidCursor"));
        assert_eq!(v1.message.as_deref(), Some("Invalid cursor."));
        let v2 = ApiError::from_body(404, r#"{"code":"NOT_FOUND","message":"nope"}"#);
        assert_eq!(v2.code.as_deref(), Some("NOT_FOUND"));
        let gw = ApiError::from_body(
            401,
            r#"{"errors":[{"code":0,"message":"Invalid API Key"}]}"#,
        );
        assert_eq!(gw.code.as_deref(), Some("0"));
        assert_eq!(gw.message.as_deref(), Some("Invalid API Key"));
        let raw = ApiError::from_body(502, "<html>bad gateway</html>");
        assert_eq!(raw.code, None);
        assert_eq!(raw.to_string(), "HTTP 502");
    }
}
