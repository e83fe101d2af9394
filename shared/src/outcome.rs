//! How a txn ended, as recorded in the wallet ring and the audit log: applied or rejected, why,
//! and the ring entry itself. A module of its own so the apply rule, the wallet and the audit
//! record all depend on it rather than on each other.

use crate::command::Op;
use crate::ids::TxnId;
use serde::{Deserialize, Serialize};

/// Whether a recorded txn moved money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordOutcome {
    /// The balance changed by the amount.
    Applied,
    /// Refused for the recorded reason; nothing moved.
    Rejected,
}

/// Why a txn was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A deduct larger than the balance.
    InsufficientFunds,
    /// Amount below 1 or above the configured maximum.
    AmountOutOfRange,
    /// The balance would pass the configured cap (at most 2^53 − 1).
    BalanceOverflow,
    /// Processed after the command's `expiresAt`.
    Expired,
    /// `issuedAt` lies more than the allowed skew in the future.
    NotYetValid,
    /// `issuedAt` at or below the watermark and the id is no longer in the ring: it may be an
    /// evicted original, so it is refused without being recorded.
    Stale,
    /// A reversal of a txn the ring already shows reversed by another applied txn.
    AlreadyReversed,
}

impl RejectReason {
    /// The wire name, e.g. `insufficient_funds`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InsufficientFunds => "insufficient_funds",
            RejectReason::AmountOutOfRange => "amount_out_of_range",
            RejectReason::BalanceOverflow => "balance_overflow",
            RejectReason::Expired => "expired",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::Stale => "stale",
            RejectReason::AlreadyReversed => "already_reversed",
        }
    }

    /// Whether this rejection enters the ring (and is committed and audited like an application).
    pub fn is_recorded(self) -> bool {
        !matches!(self, RejectReason::Stale | RejectReason::NotYetValid)
    }
}

/// One processed remote txn in the ring: enough to answer a replay with the original outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TxnRecord {
    /// The txn id.
    pub id: TxnId,
    /// Give or deduct.
    pub op: Op,
    /// The amount the command carried.
    pub amount: i64,
    /// Applied or rejected.
    pub outcome: RecordOutcome,
    /// Why it was rejected (absent when applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<RejectReason>,
    /// Balance right after processing (unchanged when rejected).
    pub balance_after: i64,
    /// The command's `issuedAt` (Unix ms); eviction raises the watermark to it.
    pub issued_at: i64,
    /// When it was processed (Unix ms).
    pub at: i64,
    /// The txn this one reverses (absent on ordinary txns; docs/protocol.md §2.1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::ids::reverses_field"
    )]
    pub reverses: Option<TxnId>,
}
