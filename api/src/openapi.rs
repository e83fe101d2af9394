//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use crate::handlers::{health, post, read, totals};
use crate::model::{
    BrokenRow, LoggedRecord, Page, PostResponse, RecordResult, RecordStatus, VerifyReport,
};
use crate::problem::Problem;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Schema of `shared::AuditRecord` (defined with the other wire types in `audit-client`); a test
/// below checks that its property names match what AuditRecord serialises.
pub use audit_client::schema::AuditRecordSchema;

/// A batch body.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct BatchBody {
    /// 1-100 records.
    records: Vec<AuditRecordSchema>,
}

/// POST body: one record or a batch.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum PostBodySchema {
    /// One record.
    One(Box<AuditRecordSchema>),
    /// `{"records": [...]}`.
    Batch(BatchBody),
}

struct Signed;

impl Modify for Signed {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "signed",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Signature",
                "v1=<hex HMAC-SHA256> over the canonical string (see docs/protocol.md); \
                 also send X-Key-Id and X-Timestamp",
            ))),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Economy Bridge audit API", description = "Signed, idempotent, append-only, hash-chained audit log."),
    paths(
        post::post_transactions,
        read::list_transactions,
        read::get_transaction,
        totals::totals,
        read::verify_log,
        read::latest_checkpoint,
        health::livez,
        health::readyz,
        health::metrics,
    ),
    components(schemas(
        AuditRecordSchema, BatchBody, PostBodySchema, PostResponse, RecordResult, RecordStatus,
        LoggedRecord, Page, VerifyReport, BrokenRow, Problem, crate::checkpoint::Checkpoint,
        crate::model::CheckpointsReport, crate::model::CheckpointFailure,
        audit_client::Totals, audit_client::TotalsGroup, audit_client::Sums, audit_client::GroupBy
    )),
    modifiers(&Signed)
)]
pub struct ApiDoc;

/// The document as JSON, with every rule the server enforces (`openapi_rules`).
pub fn document() -> String {
    let Ok(mut doc) = serde_json::to_value(ApiDoc::openapi()) else {
        return String::new();
    };
    crate::openapi_rules::apply(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_matches_what_audit_record_serialises() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let props = doc["components"]["schemas"]["AuditRecord"]["properties"]
            .as_object()
            .unwrap();
        let mut want: Vec<&String> = props.keys().collect();
        want.sort();
        let rec: shared::AuditRecord = serde_json::from_value(serde_json::json!({
            "txnId": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "source": "discord", "userId": 1, "op": "deduct",
            "amount": 5, "outcome": "rejected", "rejectReason": "insufficient_funds", "balanceAfter": 0,
            "reason": "r", "actorId": "1", "actorName": "a", "serverJobId": "j", "issuedAt": 1, "appliedAt": 1,
            "reverses": "01ARZ3NDEKTSV4RRFFQ69G5FAW"
        }))
        .unwrap();
        let v = serde_json::to_value(rec).unwrap();
        let mut got: Vec<&String> = v.as_object().unwrap().keys().collect();
        got.sort();
        assert_eq!(want, got);
        for p in [
            "/log/transactions",
            "/log/transactions/{txnId}",
            "/log/verify",
            "/log/checkpoints/latest",
            "/log/totals",
            "/readyz",
        ] {
            assert!(doc["paths"][p].is_object(), "{p}");
        }
    }
}
