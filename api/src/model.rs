//! Wire types of the audit API (bodies, responses) and conversions to and from stored rows.
//!
//! The response types are shared with the client and defined in `audit-client`; they are
//! re-exported here under their old paths.

use crate::chain::LogRow;
use shared::strict_json::StrictJsonError;
use shared::{AuditRecord, RecordOutcome};

pub use audit_client::post::{PostResponse, RecordResult, RecordStatus};
pub use audit_client::read::{LoggedRecord, Page};
pub use audit_client::verify::{BrokenRow, CheckpointFailure, CheckpointsReport, VerifyReport};

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

/// Parses a POST body: one AuditRecord object, or `{"records": [...]}` with 1-100 records; a
/// key twice in any object is refused, naming its path (`records[1].amount`).
pub fn parse_post_body(body: &[u8]) -> Result<Vec<AuditRecord>, BodyError> {
    // Strict: a key twice in any object is refused (two readers must never disagree).
    let value = shared::strict_json::parse(body).map_err(|e| match e {
        StrictJsonError::DuplicateKey { path } => {
            BodyError::Malformed(short(format!("duplicate field `{path}`")))
        }
        StrictJsonError::Syntax(e) => {
            BodyError::Malformed(short(format!("body is not valid JSON: {e}")))
        }
    })?;
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
        reverses: record.reverses.as_ref().map(|t| t.as_str().to_owned()),
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
    if let Some(original) = &row.reverses {
        obj.insert("reverses".into(), s(original));
    }
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

    #[test]
    fn duplicate_keys_are_refused_naming_the_path() {
        let one = serde_json::to_string(&record_json()).unwrap();
        let dup = format!("{},\"amount\":5}}", &one[..one.len() - 1]);
        assert_eq!(
            parse_post_body(dup.as_bytes()).unwrap_err(),
            BodyError::Malformed("duplicate field `amount`".into())
        );
        let batch = format!("{{\"records\":[{one},{dup}]}}");
        assert_eq!(
            parse_post_body(batch.as_bytes()).unwrap_err(),
            BodyError::Malformed("duplicate field `records[1].amount`".into())
        );
        let wrapper = format!("{{\"records\":[{one}],\"records\":[{one}]}}");
        assert_eq!(
            parse_post_body(wrapper.as_bytes()).unwrap_err(),
            BodyError::Malformed("duplicate field `records`".into())
        );
    }
}
