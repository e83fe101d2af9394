//! OpenAPI schemas for wire types that `shared` defines (it carries no OpenAPI derive).

use utoipa::ToSchema;

// The doc comment below is the schema's description in the server's OpenAPI document.
/// Schema of `shared::AuditRecord` (the shared crate carries no OpenAPI derive); a test checks
/// that its property names match what AuditRecord serialises.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AuditRecord)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordSchema {
    /// Canonical ULID; stored at most once.
    txn_id: String,
    /// `discord` or `game`.
    #[schema(pattern = "^(discord|game)$")]
    source: String,
    /// Roblox user id (1 to 2^53 − 1).
    user_id: i64,
    /// `give` or `deduct`.
    #[schema(pattern = "^(give|deduct)$")]
    op: String,
    /// Amount (applied: 1 to 2^53 − 1).
    amount: i64,
    /// `applied` or `rejected`.
    #[schema(pattern = "^(applied|rejected)$")]
    outcome: String,
    /// Present exactly when rejected (snake_case reason).
    reject_reason: Option<String>,
    /// Balance after (0 to 2^53 − 1).
    balance_after: i64,
    /// Human reason (1-200 characters, no control characters).
    reason: String,
    /// Discord actor id (discord records only).
    actor_id: Option<String>,
    /// Discord actor name (discord records only).
    actor_name: Option<String>,
    /// game.JobId of the committing server.
    server_job_id: Option<String>,
    /// Issued at (Unix ms).
    issued_at: i64,
    /// Applied at (Unix ms).
    applied_at: i64,
    /// The txn this one reverses (a canonical ULID other than txnId; discord records only).
    reverses: Option<String>,
}
