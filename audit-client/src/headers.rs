//! Header names of the audit API, for the client and the server alike.

pub use shared::request_signing::{
    HEADER_IDEMPOTENCY_KEY, HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};

/// Response header marking a replayed response (value `true`).
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Response header with the seconds to wait before retrying.
pub const RETRY_AFTER: &str = "retry-after";
