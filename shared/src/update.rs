//! The `economy.update` event: published after a commit so clients and other servers can refresh.
//!
//! Informational only: no receiver changes a balance because of it (it is not signed).

use crate::command::Op;
use crate::ids::TxnId;
use crate::outcome::RecordOutcome;
use serde::{Deserialize, Serialize};

/// A committed change to one wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEvent {
    /// Protocol version, 1.
    pub v: u32,
    /// Roblox user id.
    pub user_id: u64,
    /// The committed txn.
    pub txn_id: TxnId,
    /// Give or deduct.
    pub op: Op,
    /// The amount.
    pub amount: i64,
    /// Applied or rejected.
    pub outcome: RecordOutcome,
    /// Balance after the commit.
    pub balance: i64,
    /// The committing server's JobId (absent for the bot's offline path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Commit time (Unix ms).
    pub at: i64,
}
