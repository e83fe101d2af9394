//! Protocol constants and the operator-configurable limits the apply rule enforces.

use serde::{Deserialize, Serialize};

/// Largest integer a Luau number (an IEEE double) holds exactly: every amount and balance stays within it.
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;
/// How many processed remote txns a wallet remembers for de-duplication.
pub const RING_CAPACITY: usize = 64;
/// Roblox MessagingService's limit on one message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Longest human reason on a command or audit record, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// Longest human reason in UTF-8 bytes; with the other caps it guarantees every valid command fits 1 KiB.
pub const MAX_REASON_BYTES: usize = 400;
/// Longest `serverJobId` (a game server's `game.JobId`) on an audit record, in characters.
pub const MAX_JOB_ID_CHARS: usize = 64;
/// Longest actor display name carried in a command, in characters.
pub const MAX_ACTOR_NAME_CHARS: usize = 32;
/// How far in the future a command's `issuedAt` may lie (clock skew between bot and servers), ms.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;
/// Longest validity window (expiresAt − issuedAt) a command may carry, ms.
pub const MAX_COMMAND_TTL_MS: i64 = 15 * 60_000;
/// Accepted clock difference for signed requests to the audit API, seconds.
pub const REQUEST_SKEW_SECONDS: i64 = 300;
/// The protocol version carried in every envelope.
pub const PROTOCOL_VERSION: u32 = 1;

/// Limits an operator configures; the same values must be given to the bot and the game servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Largest amount one txn may move (≥ 1, ≤ 2^53 − 1).
    pub max_amount: i64,
    /// Largest balance a wallet may hold (≥ 1, ≤ 2^53 − 1).
    pub balance_cap: i64,
}

impl Limits {
    /// Limits after range checks; `None` names nothing secret, so callers phrase the error.
    pub fn new(max_amount: i64, balance_cap: i64) -> Option<Self> {
        let ok = (1..=MAX_SAFE_INTEGER).contains(&max_amount)
            && (1..=MAX_SAFE_INTEGER).contains(&balance_cap);
        ok.then_some(Self {
            max_amount,
            balance_cap,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_amount: 1_000_000_000,
            balance_cap: MAX_SAFE_INTEGER,
        }
    }
}
