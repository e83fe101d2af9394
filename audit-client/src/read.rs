//! What the read endpoints answer: stored records and pages of them.

use serde::{Deserialize, Serialize};
use shared::AuditRecord;

/// A stored record as the read endpoints return it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoggedRecord {
    /// Chain position.
    pub seq: i64,
    /// When the API stored it (Unix ms).
    pub received_at: i64,
    /// Key id that signed the storing request.
    pub key_id: String,
    /// Hex SHA-256 row hash (see the chain verification).
    pub row_hash: String,
    /// The record as posted.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::schema::AuditRecordSchema)
    )]
    pub record: AuditRecord,
}

/// One page of the list endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// Records, newest first.
    pub items: Vec<LoggedRecord>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
