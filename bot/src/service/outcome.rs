//! What callers hand the service and what they get back: requests, typed outcomes, refusals.

use super::db::DbError;
use super::ports::{PortError, RobloxUser};
use super::profile::ProfileError;
use shared::{AuditRecord, Op, RecordOutcome, RejectReason, TxnId, TxnRecord, Wallet};
use std::fmt;

/// The staff member issuing a command (from Discord or the CLI's configured operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorCtx {
    /// Discord user id (snowflake, decimal).
    pub id: String,
    /// Display name (cut to 32 characters).
    pub name: String,
    /// Discord role ids the member has.
    pub roles: Vec<String>,
}

/// Whose wallet: a Roblox user id or a username to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Roblox user id.
    Id(u64),
    /// A Roblox username (case-insensitive).
    Name(String),
}

impl std::str::FromStr for Target {
    type Err = std::convert::Infallible;

    /// Digits are a user id, anything else a username.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(match s.parse::<u64>() {
            Ok(id) => Target::Id(id),
            Err(_) => Target::Name(s.to_owned()),
        })
    }
}

/// A give or deduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    /// Who asks.
    pub actor: ActorCtx,
    /// Give or deduct.
    pub op: Op,
    /// Whose wallet.
    pub target: Target,
    /// How much (1 ..= the configured maximum).
    pub amount: i64,
    /// Why (1-200 characters).
    pub reason: String,
    /// Re-send an earlier command under its txn id.
    pub replay: Option<TxnId>,
}

/// A reversal of an applied txn: the opposite movement of its amount, naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseRequest {
    /// Who asks.
    pub actor: ActorCtx,
    /// The txn to reverse.
    pub original: TxnId,
    /// Why (1-200 characters).
    pub reason: String,
}

/// What a reversal will do, known before anything moves (shown on the confirmation prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalPlan {
    /// The original as the audit log holds it.
    pub original: AuditRecord,
    /// The reversal's txn id, derived from the original's.
    pub txn: TxnId,
    /// The player whose wallet the original moved.
    pub user: RobloxUser,
    /// The opposite of the original's op.
    pub op: Op,
    /// The original's amount.
    pub amount: i64,
}

/// Who committed a txn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committer {
    /// The bot, by compare-and-swap (no live session).
    Bot,
    /// The game server holding the session (its JobId when known).
    GameServer(Option<String>),
}

/// The stable text form the bot database stores: `bot`, `server` or `server:<jobId>`.
impl fmt::Display for Committer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Committer::Bot => f.write_str("bot"),
            Committer::GameServer(None) => f.write_str("server"),
            Committer::GameServer(Some(j)) => write!(f, "server:{j}"),
        }
    }
}

impl Committer {
    /// The game server that committed `txn` to `wallet`, as the txn's audit record in the outbox
    /// names it: the server saved it in the same write as the ring entry, so the wallet (not the
    /// audit API's timing) says who it was; once the record left the outbox the server is unknown.
    pub fn server_in_outbox(wallet: &Wallet, txn: &TxnId) -> Self {
        let job = wallet
            .outbox
            .iter()
            .find(|r| &r.txn_id == txn)
            .and_then(|r| r.server_job_id.clone());
        Committer::GameServer(job)
    }

    /// Reads the text form; anything but `bot` is a game server (rows written before job ids
    /// were stored read as an unknown server).
    pub fn parse(s: &str) -> Self {
        match s {
            "bot" => Committer::Bot,
            other => Committer::GameServer(other.strip_prefix("server:").map(str::to_owned)),
        }
    }
}

/// The outcome of a command, never a guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed: the balance moved.
    Applied {
        /// Balance right after.
        balance_after: i64,
        /// Who committed it.
        committed_by: Committer,
    },
    /// Refused by the apply rule (recorded in the wallet unless stale / not yet valid).
    Rejected {
        /// Why.
        reason: RejectReason,
        /// The unchanged balance.
        balance: i64,
    },
    /// A replay of a txn that was already settled: its original outcome, nothing changed.
    AlreadyProcessed {
        /// The original outcome.
        original: Box<Outcome>,
    },
    /// The validity window passed and no server applied it: final, nothing moved.
    NotDelivered,
    /// Not confirmed yet; the reconciler follows it up.
    Pending,
}

impl Outcome {
    /// The outcome a wallet's ring entry records, committed by `committed_by`.
    pub fn from_ring(rec: &TxnRecord, committed_by: Committer) -> Self {
        Self::recorded(
            rec.outcome,
            rec.reject_reason,
            rec.balance_after,
            committed_by,
        )
    }

    /// The outcome an audit record reports (a server job id names the committing server).
    pub fn from_audit(rec: &AuditRecord) -> Self {
        let committed_by = match &rec.server_job_id {
            Some(j) => Committer::GameServer(Some(j.clone())),
            None => Committer::Bot,
        };
        Self::recorded(
            rec.outcome,
            rec.reject_reason,
            rec.balance_after,
            committed_by,
        )
    }

    /// A recorded outcome (ring entry and audit record carry the same three facts).
    fn recorded(
        outcome: RecordOutcome,
        reason: Option<RejectReason>,
        balance: i64,
        committed_by: Committer,
    ) -> Self {
        match (outcome, reason) {
            (RecordOutcome::Rejected, Some(reason)) => Outcome::Rejected { reason, balance },
            _ => Outcome::Applied {
                balance_after: balance,
                committed_by,
            },
        }
    }

    /// The settled outcome a replay reports as its original (what the database stores).
    pub fn settled(&self) -> &Outcome {
        match self {
            Outcome::AlreadyProcessed { original } => original.settled(),
            other => other,
        }
    }
}

/// A settled or pending command, as shown to staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The txn id.
    pub txn: TxnId,
    /// The player (with display name).
    pub user: RobloxUser,
    /// Give or deduct.
    pub op: Op,
    /// Amount.
    pub amount: i64,
    /// What happened.
    pub outcome: Outcome,
    /// The txn this one reverses, when it is a reversal.
    pub reverses: Option<TxnId>,
}

/// Why a request was refused before any money could move. Safe to show to staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The actor has none of the allowed roles.
    #[error("you are not allowed to use economy commands")]
    NotAllowed,
    /// Above the largest amount the actor's roles allow.
    #[error("your roles allow at most {max} per command")]
    OverRoleMax {
        /// The actor's maximum.
        max: i64,
    },
    /// Amount not in 1 ..= the configured maximum.
    #[error("the amount must be between 1 and {max}")]
    AmountOutOfRange {
        /// The configured maximum.
        max: i64,
    },
    /// The actor's daily cap would be passed.
    #[error("this would pass your daily cap of {cap} (used in the last 24 h: {used})")]
    DailyCap {
        /// The cap.
        cap: i64,
        /// Already used.
        used: i64,
    },
    /// Too soon after the actor's previous command.
    #[error("slow down: try again in {retry_after_ms} ms")]
    Cooldown {
        /// Wait this long.
        retry_after_ms: i64,
    },
    /// No such Roblox user.
    #[error("no Roblox user {0}")]
    UnknownUser(String),
    /// The reason is empty, too long or has control characters.
    #[error("the reason must be 1-200 characters without control characters")]
    BadReason,
    /// The actor id or name cannot be carried in a command.
    #[error("the actor's id or name is not usable")]
    BadActor,
    /// A replayed txn id names a different command.
    #[error("txn {0} was issued for a different user, operation or amount")]
    ReplayMismatch(TxnId),
    /// No record of the txn to reverse in the audit log.
    #[error(
        "txn {0} is not in the audit log (a txn is logged once committed; check the id, or try again in a minute)"
    )]
    ReversalNotFound(TxnId),
    /// The txn to reverse was rejected: it moved nothing.
    #[error(
        "txn {original} was rejected ({reason}): it moved nothing, so there is nothing to reverse"
    )]
    ReversalOfRejected {
        /// The txn asked to be reversed.
        original: TxnId,
        /// Why it was rejected (wire name).
        reason: &'static str,
    },
    /// The txn to reverse is itself a reversal.
    #[error(
        "txn {txn} is itself the reversal of {original}; a reversal is not reversed (use give or deduct to correct it)"
    )]
    ReversalOfReversal {
        /// The txn asked to be reversed.
        txn: TxnId,
        /// What it reversed.
        original: TxnId,
    },
    /// The txn already has its one reversal.
    #[error(
        "txn {original} already has its one reversal, {by} ({state}); a txn is reversed at most once"
    )]
    AlreadyReversed {
        /// The txn asked to be reversed.
        original: TxnId,
        /// Its reversal.
        by: TxnId,
        /// Where that reversal stands, in words (`applied`, `pending`, …).
        state: &'static str,
    },
    /// A reversal that deducts would take the balance below zero.
    #[error("balance {balance}, reversal needs {needs}: short by {}", needs - balance)]
    ReversalShort {
        /// The wallet's balance.
        balance: i64,
        /// The amount the reversal deducts.
        needs: i64,
    },
    /// The stored wallet is not a profile this bot understands; nothing was written.
    #[error("the wallet entry cannot be read: {0}")]
    WalletUnreadable(#[from] ProfileError),
    /// A bulk payout names no player.
    #[error("the payout names no player")]
    BatchEmpty,
    /// A bulk payout names more players than one batch may pay.
    #[error("the payout names {got} players; one payout pays at most {max}")]
    BatchTooLarge {
        /// The limit (`BULK_MAX_PLAYERS`).
        max: usize,
        /// Distinct players named.
        got: usize,
    },
    /// A payout to a role none of whose members has a usable account link.
    #[error(
        "no member of role {role} has a linked Roblox account ({members} members asked); link accounts first"
    )]
    RoleWithoutLinks {
        /// The role id.
        role: u64,
        /// Its members asked.
        members: usize,
    },
    /// A payout list none of whose usernames is a Roblox user.
    #[error("none of the {unknown} usernames is a Roblox user")]
    NoKnownPlayers {
        /// Usernames not found.
        unknown: usize,
    },
    /// The account links could not be read (a provider down or refusing the key).
    #[error("the account links could not be read: {0}")]
    LinksUnavailable(String),
    /// No batch has this id.
    #[error("no payout {0}")]
    BatchUnknown(String),
    /// A command names a Discord user who is not a member of the server.
    #[error("Discord user {0} is not a member of this server")]
    UnknownMember(u64),
    /// A command names a Discord member no link source links to a Roblox account.
    #[error("Discord member {member} has no linked Roblox account (asked: {asked})")]
    MemberNotLinked {
        /// The member.
        member: u64,
        /// The sources asked, in order, in words.
        asked: String,
    },
    /// Two link sources name different Roblox accounts for the member: refused, never guessed.
    #[error(
        "Discord member {member} is linked to two different Roblox accounts ({first} says {first_id}, {second} says {second_id}); fix one of the links first"
    )]
    LinkConflict {
        /// The member.
        member: u64,
        /// The earlier source, in words.
        first: String,
        /// What it says.
        first_id: u64,
        /// The later source, in words.
        second: String,
        /// What it says.
        second_id: u64,
    },
    /// Account links are not configured, so a member cannot be resolved.
    #[error("account links are not configured: name the player by Roblox id or username")]
    LinksNotConfigured,
    /// Roblox sign-in (OAuth) is not configured, so `/link` has no sign-in link to give.
    #[error("Roblox sign-in is not configured on this bot: ask staff to link your account")]
    OAuthNotConfigured,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Refused; nothing changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A dependency is down; nothing was committed by this call.
    #[error(transparent)]
    Unavailable(#[from] PortError),
    /// The bot's own database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}
