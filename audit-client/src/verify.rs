//! The report of `GET /log/verify` (and of `economy-api verify`): how far the hash chain holds,
//! and how it compares with signed checkpoints.

use serde::{Deserialize, Serialize};

/// Result of verifying the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The first row that fails verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BrokenRow {
    /// Its seq.
    pub seq: i64,
    /// `seq_gap`, `prev_hash_mismatch` or `row_hash_mismatch`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub problem: Break,
}

/// What is wrong with the first broken row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Break {
    /// The row's seq is not the previous seq + 1 (a row was deleted or inserted out of order).
    SeqGap,
    /// `prev_hash` does not equal the previous row's `row_hash`.
    PrevHashMismatch,
    /// `row_hash` does not match the row's contents (the row was edited).
    RowHashMismatch,
}

/// How the chain compares with the signed checkpoints given to `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointFailure {
    /// The checkpoint's seq.
    pub seq: i64,
    /// Its signing time (Unix ms).
    pub time: i64,
    /// `unknown_key`, `bad_signature`, `wrong_origin`, `hash_mismatch` or `beyond_head`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub problem: CheckpointProblem,
}

/// Why a checkpoint does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckpointProblem {
    /// Signed by a key id the verifier was not given.
    UnknownKey,
    /// The signature does not match the checkpoint's contents.
    BadSignature,
    /// Another log's checkpoint.
    WrongOrigin,
    /// The chain's row at that seq has a different hash: the log was rewritten after it.
    HashMismatch,
    /// The chain (as far as it verifies) is shorter than the checkpoint: rows were removed.
    BeyondHead,
}
