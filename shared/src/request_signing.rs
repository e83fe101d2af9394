//! Signed requests to the audit API (game servers and the bot sign; the API verifies).
//!
//! Canonical string (lines joined by `\n`, no trailing newline):
//! `v1`, Unix seconds, METHOD, path, canonical query, Idempotency-Key (empty when absent),
//! lower-case hex SHA-256 of the raw body. Headers: `X-Key-Id`, `X-Timestamp`,
//! `X-Signature: v1=<hex HMAC-SHA256>`. See docs/protocol.md.

use crate::keys::{Key, KeyRing, Scope};
use crate::limits::REQUEST_SKEW_SECONDS;
use crate::message::hmac_sha256;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Header carrying the key id.
pub const HEADER_KEY_ID: &str = "x-key-id";
/// Header carrying the Unix-seconds timestamp.
pub const HEADER_TIMESTAMP: &str = "x-timestamp";
/// Header carrying `v1=<hex>`.
pub const HEADER_SIGNATURE: &str = "x-signature";
/// The idempotency header (signed).
pub const HEADER_IDEMPOTENCY_KEY: &str = "idempotency-key";

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (upper-case hex).
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The parts of an HTTP request that a signature covers.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// HTTP method (any case; upper-cased when signed).
    pub method: &'a str,
    /// Path as sent, starting with `/`.
    pub path: &'a str,
    /// Raw query string without `?` (empty when none).
    pub query: &'a str,
    /// The Idempotency-Key header value as sent (empty when absent).
    pub idempotency_key: &'a str,
    /// The raw body bytes.
    pub body: &'a [u8],
}

/// The three signature headers' values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `X-Key-Id`.
    pub key_id: String,
    /// `X-Timestamp`.
    pub timestamp: String,
    /// `X-Signature` (`v1=<hex>`).
    pub signature: String,
}

/// Why a signed request was refused. Safe to log and to use as a metric label; reveals no secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Headers missing or not of the documented form, or an undecodable query.
    #[error("malformed signature headers")]
    Malformed,
    /// The key id is not (or no longer) configured.
    #[error("unknown key")]
    UnknownKey,
    /// Timestamp older than the allowed window.
    #[error("stale timestamp")]
    Stale,
    /// Timestamp further in the future than the allowed window.
    #[error("timestamp in the future")]
    Future,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Valid signature, but the key lacks the scope the endpoint needs.
    #[error("key lacks the required scope")]
    Scope,
}

impl VerifyError {
    /// A short label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            VerifyError::Malformed => "malformed",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::Stale => "stale",
            VerifyError::Future => "future",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Scope => "scope",
        }
    }
}

/// Canonical form of a raw query: pairs decoded (`+` is a space, as form decoding reads it),
/// sorted by key then value, re-encoded with RFC 3986 rules, joined by `&`.
pub fn canonical_query(raw: &str) -> Result<String, VerifyError> {
    let decode = |s: &str| -> Result<String, VerifyError> {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| VerifyError::Malformed)
    };
    let mut pairs = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((decode(k)?, decode(v)?));
    }
    pairs.sort();
    let enc = |s: &str| utf8_percent_encode(s, QUERY_ENCODE).to_string();
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical string that is signed.
pub fn canonical_string(timestamp: i64, parts: &RequestParts<'_>) -> Result<String, VerifyError> {
    Ok(format!(
        "v1\n{timestamp}\n{}\n{}\n{}\n{}\n{}",
        parts.method.to_ascii_uppercase(),
        parts.path,
        canonical_query(parts.query)?,
        parts.idempotency_key,
        sha256_hex(parts.body)
    ))
}

/// Signs a request with `key` at `timestamp` (Unix seconds).
pub fn sign_request(
    key: &Key,
    timestamp: i64,
    parts: &RequestParts<'_>,
) -> Result<SignatureHeaders, VerifyError> {
    let canonical = canonical_string(timestamp, parts)?;
    let mac = hmac_sha256(key.secret.expose(), canonical.as_bytes());
    Ok(SignatureHeaders {
        key_id: key.id.to_string(),
        timestamp: timestamp.to_string(),
        signature: format!("v1={}", hex::encode(mac)),
    })
}

/// Verifies a request's signature headers at `now` (Unix seconds) and returns the key that
/// signed it, if that key carries `scope`. Comparison is constant-time.
pub fn verify_request<'k>(
    keys: &'k KeyRing,
    headers: &SignatureHeaders,
    parts: &RequestParts<'_>,
    now: i64,
    scope: Scope,
) -> Result<&'k Key, VerifyError> {
    let ts = &headers.timestamp;
    if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed);
    }
    let timestamp: i64 = ts.parse().map_err(|_| VerifyError::Malformed)?;
    let provided = headers
        .signature
        .strip_prefix("v1=")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::Malformed)?;
    let key = keys.get(&headers.key_id).ok_or(VerifyError::UnknownKey)?;
    if now - timestamp > REQUEST_SKEW_SECONDS {
        return Err(VerifyError::Stale);
    }
    if timestamp - now > REQUEST_SKEW_SECONDS {
        return Err(VerifyError::Future);
    }
    let want = hmac_sha256(
        key.secret.expose(),
        canonical_string(timestamp, parts)?.as_bytes(),
    );
    if !bool::from(want.ct_eq(provided.as_slice())) {
        return Err(VerifyError::BadSignature);
    }
    if !key.allows(scope) {
        return Err(VerifyError::Scope);
    }
    Ok(key)
}
