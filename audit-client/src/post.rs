//! What `POST /log/transactions` answers: one result per posted record.

use serde::{Deserialize, Serialize};

/// What happened to one posted record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    /// Stored now.
    Accepted,
    /// The txn id was already stored (by this or any earlier request); nothing changed.
    Duplicate,
}

/// Per-record result of a POST, in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecordResult {
    /// The record's txn id.
    pub txn_id: String,
    /// Accepted or duplicate.
    pub status: RecordStatus,
    /// Chain position of the stored row (the earlier row's seq for a duplicate).
    pub seq: i64,
}

/// Response to a POST (single or batch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PostResponse {
    /// How many records were stored now.
    pub accepted: usize,
    /// How many were already stored.
    pub duplicates: usize,
    /// One entry per posted record, in request order.
    pub results: Vec<RecordResult>,
}

impl PostResponse {
    /// Builds the response from per-record results.
    pub fn new(results: Vec<RecordResult>) -> Self {
        let accepted = results
            .iter()
            .filter(|r| r.status == RecordStatus::Accepted)
            .count();
        Self {
            accepted,
            duplicates: results.len() - accepted,
            results,
        }
    }

    /// 201 when anything was stored, else 200.
    pub fn status_code(&self) -> u16 {
        if self.accepted > 0 { 201 } else { 200 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(txn: &str, status: RecordStatus, seq: i64) -> RecordResult {
        RecordResult {
            txn_id: txn.into(),
            status,
            seq,
        }
    }

    #[test]
    fn counts_and_status_follow_the_results() {
        let mixed = PostResponse::new(vec![
            result("a", RecordStatus::Accepted, 3),
            result("b", RecordStatus::Duplicate, 1),
            result("c", RecordStatus::Accepted, 4),
        ]);
        assert_eq!((mixed.accepted, mixed.duplicates), (2, 1));
        assert_eq!(mixed.status_code(), 201);
        let replay = PostResponse::new(vec![result("b", RecordStatus::Duplicate, 1)]);
        assert_eq!((replay.accepted, replay.duplicates), (0, 1));
        assert_eq!(replay.status_code(), 200);
        let wire = serde_json::to_value(&mixed).unwrap();
        assert_eq!(wire["results"][1]["status"], "duplicate");
        assert_eq!(wire["results"][0]["txnId"], "a");
    }
}
