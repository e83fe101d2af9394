//! Wire types of the audit API (bodies, responses) and conversions to and from stored rows.

use crate::chain::LogRow;
use serde::{Deserialize, Serialize};
use shared::{AuditRecord, RecordOutcome};
use utoipa::ToSchema;

/// Most records one POST may carry.
pub const MAX_BATCH: usize = 100;

/// Why a POST body was refused; the text names the field and never quotes internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON, wrong types, unknown fields.
    #[error("{0}")]
    Malformed(String),
    /// A record failed validation.
    #[error("{0}")]
    Invalid(String),
    /// Empty batch or more than MAX_BATCH records.
    #[error("a batch holds 1-{MAX_BATCH} records")]
    BatchSize,
}

fn short(msg: String) -> String {
    // serde messages may echo input; keep them to a readable length.
    let mut s: String = msg.chars().take(200).collect();
    if s.len() < msg.len() {
        s.push('…');
    }
    s
}

/// Parses a POST body: one AuditRecord object, or `{"records": [...]}` with 1-100 records.
pub fn parse_post_body(body: &[u8]) -> Result<Vec<AuditRecord>, BodyError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::Malformed(short(format!("body is not valid JSON: {e}"))))?;
    let records = match value {
        serde_json::Value::Object(mut map) if map.contains_key("records") => {
            if map.len() != 1 {
                return Err(BodyError::Malformed(
                    "a batch body has exactly one field, `records`".into(),
                ));
            }
            let list = match map.remove("records") {
                Some(serde_json::Value::Array(list)) => list,
                _ => return Err(BodyError::Malformed("`records` must be an array".into())),
            };
            if list.is_empty() || list.len() > MAX_BATCH {
                return Err(BodyError::BatchSize);
            }
            list.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    // serde reads a struct from a JSON array too; the wire form is an object.
                    if !v.is_object() {
                        return Err(BodyError::Malformed(format!(
                            "records[{i}]: must be a record object"
                        )));
                    }
                    serde_json::from_value::<AuditRecord>(v)
                        .map_err(|e| BodyError::Malformed(short(format!("records[{i}]: {e}"))))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        v @ serde_json::Value::Object(_) => vec![
            serde_json::from_value::<AuditRecord>(v)
                .map_err(|e| BodyError::Malformed(short(format!("record: {e}"))))?,
        ],
        _ => {
            return Err(BodyError::Malformed(
                "body must be a record object or {\"records\": [...]}".into(),
            ));
        }
    };
    for (i, r) in records.iter().enumerate() {
        r.validate()
            .map_err(|e| BodyError::Invalid(format!("records[{i}]: {e}")))?;
    }
    Ok(records)
}

/// What happened to one posted record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    /// Stored now.
    Accepted,
    /// The txn id was already stored (by this or any earlier request); nothing changed.
    Duplicate,
}

/// Per-record result of a POST, in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// A stored record as the read endpoints return it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = crate::openapi::AuditRecordSchema)]
    pub record: AuditRecord,
}

/// One page of the list endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// Records, newest first.
    pub items: Vec<LoggedRecord>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Result of verifying the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// True when every row links and hashes correctly.
    pub ok: bool,
    /// Rows verified (up to the first broken one).
    pub rows_verified: u64,
    /// Seq of the last good row.
    pub head_seq: i64,
    /// Hex hash of the last good row (publish it externally to detect a rewritten chain).
    pub head_hash: String,
    /// The first broken row, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<BrokenRow>,
    /// Result of checking signed checkpoints (CLI `verify --checkpoints`), when any were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<CheckpointsReport>,
}

/// How the chain compares with the signed checkpoints given to `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointsReport {
    /// Checkpoints examined.
    pub checked: u64,
    /// True when every signature holds and the chain contains every checkpointed head.
    pub ok: bool,
    /// The failing checkpoint with the lowest seq, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<CheckpointFailure>,
}

/// A checkpoint that does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointFailure {
    /// The checkpoint's seq.
    pub seq: i64,
    /// Its signing time (Unix ms).
    pub time: i64,
    /// `unknown_key`, `bad_signature`, `wrong_origin`, `hash_mismatch` or `beyond_head`.
    #[schema(value_type = String)]
    pub problem: crate::checkpoint::CheckpointProblem,
}

impl CheckpointFailure {
    /// The failure of `cp` with `problem`.
    pub fn of(
        cp: &crate::checkpoint::Checkpoint,
        problem: crate::checkpoint::CheckpointProblem,
    ) -> Self {
        Self {
            seq: cp.seq,
            time: cp.time,
            problem,
        }
    }
}

/// The first row that fails verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokenRow {
    /// Its seq.
    pub seq: i64,
    /// `seq_gap`, `prev_hash_mismatch` or `row_hash_mismatch`.
    #[schema(value_type = String)]
    pub problem: crate::chain::Break,
}

fn outcome_str(o: RecordOutcome) -> &'static str {
    match o {
        RecordOutcome::Applied => "applied",
        RecordOutcome::Rejected => "rejected",
    }
}

/// The row to store for `record` (seq and hashes are filled in by the chain when sealed).
pub fn row_from_record(record: &AuditRecord, received_at: i64, key_id: &str) -> LogRow {
    LogRow {
        seq: 0,
        txn_id: record.txn_id.as_str().to_owned(),
        source: record.source.as_str().to_owned(),
        // validate() bounds user ids to 2^53 − 1, so this never wraps.
        user_id: record.user_id as i64,
        op: record.op.as_str().to_owned(),
        amount: record.amount,
        outcome: outcome_str(record.outcome).to_owned(),
        reject_reason: record.reject_reason.map(|r| r.as_str().to_owned()),
        balance_after: record.balance_after,
        reason: record.reason.clone(),
        actor_id: record.actor_id.clone(),
        actor_name: record.actor_name.clone(),
        server_job_id: record.server_job_id.clone(),
        issued_at: record.issued_at,
        applied_at: record.applied_at,
        received_at,
        key_id: key_id.to_owned(),
        prev_hash: Vec::new(),
        row_hash: Vec::new(),
    }
}

/// A stored row that no longer parses as a record (only possible after tampering).
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored row {seq} is not a valid record")]
pub struct CorruptRow {
    /// The row's seq.
    pub seq: i64,
}

/// The API view of a stored row.
pub fn logged_from_row(row: &LogRow) -> Result<LoggedRecord, CorruptRow> {
    let s = |v: &str| serde_json::Value::String(v.to_owned());
    let opt = |v: &Option<String>| v.as_deref().map(s).unwrap_or(serde_json::Value::Null);
    let mut obj = serde_json::Map::new();
    obj.insert("txnId".into(), s(&row.txn_id));
    obj.insert("source".into(), s(&row.source));
    obj.insert("userId".into(), row.user_id.into());
    obj.insert("op".into(), s(&row.op));
    obj.insert("amount".into(), row.amount.into());
    obj.insert("outcome".into(), s(&row.outcome));
    obj.insert("rejectReason".into(), opt(&row.reject_reason));
    obj.insert("balanceAfter".into(), row.balance_after.into());
    obj.insert("reason".into(), s(&row.reason));
    obj.insert("actorId".into(), opt(&row.actor_id));
    obj.insert("actorName".into(), opt(&row.actor_name));
    obj.insert("serverJobId".into(), opt(&row.server_job_id));
    obj.insert("issuedAt".into(), row.issued_at.into());
    obj.insert("appliedAt".into(), row.applied_at.into());
    let record: AuditRecord = serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|_| CorruptRow { seq: row.seq })?;
    Ok(LoggedRecord {
        seq: row.seq,
        received_at: row.received_at,
        key_id: row.key_id.clone(),
        row_hash: hex::encode(&row.row_hash),
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_json() -> serde_json::Value {
        serde_json::json!({
            "txnId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "source": "game", "userId": 7, "op": "give",
            "amount": 5, "outcome": "applied", "balanceAfter": 5, "reason": "r",
            "serverJobId": "job", "issuedAt": 1, "appliedAt": 2
        })
    }

    #[test]
    fn records_written_as_arrays_are_refused() {
        let obj = record_json();
        let arr = serde_json::json!([
            obj["txnId"],
            obj["source"],
            obj["userId"],
            obj["op"],
            obj["amount"],
            obj["outcome"],
            null,
            obj["balanceAfter"],
            obj["reason"],
            null,
            null,
            obj["serverJobId"],
            obj["issuedAt"],
            obj["appliedAt"]
        ]);
        // Negative control: serde alone accepts the array form, so the refusal below is ours.
        assert!(serde_json::from_value::<AuditRecord>(arr.clone()).is_ok());
        let batch = serde_json::to_vec(&serde_json::json!({"records": [obj, arr]})).unwrap();
        let err = parse_post_body(&batch).unwrap_err();
        assert_eq!(
            err,
            BodyError::Malformed("records[1]: must be a record object".into())
        );
        assert!(parse_post_body(&serde_json::to_vec(&arr).unwrap()).is_err());
        assert_eq!(
            parse_post_body(&serde_json::to_vec(&obj).unwrap())
                .unwrap()
                .len(),
            1
        );
    }
}
