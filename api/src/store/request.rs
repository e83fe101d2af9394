//! What is asked of a store (a validated POST, a list filter) and what it answers (the outcome of
//! a write, the response stored for replay).

use super::error::StoreError;
use crate::model::PostResponse;
use shared::AuditRecord;

/// An authenticated, validated POST ready to be stored.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The signing key id (idempotency keys are scoped by it).
    pub client_id: String,
    /// The Idempotency-Key (quotes stripped).
    pub idem_key: String,
    /// SHA-256 over method, path and body.
    pub fingerprint: [u8; 32],
    /// The records, in request order.
    pub records: Vec<AuditRecord>,
    /// Server time, Unix ms.
    pub received_at: i64,
}

/// A response as stored for idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Processed now; the response has been stored with the key.
    Done(StoredResponse),
    /// The key was seen with the same fingerprint: the original response.
    Replayed(StoredResponse),
    /// The key was seen with a different body (422).
    Mismatch,
    /// Another request with this key is being processed right now (409).
    InFlight,
}

/// Filters and paging for the list endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this Roblox user.
    pub user_id: Option<i64>,
    /// Only this Discord actor id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Only rows with seq below this (the cursor).
    pub before_seq: Option<i64>,
    /// Page size (already capped).
    pub limit: i64,
}

/// Encodes a response for storage with its key.
pub(crate) fn encode_response(resp: &PostResponse) -> Result<StoredResponse, StoreError> {
    Ok(StoredResponse {
        status: resp.status_code(),
        body: serde_json::to_string(resp).map_err(|_| StoreError::Encoding)?,
    })
}
