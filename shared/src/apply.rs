//! The apply rule: the one rule every writer of a wallet follows (docs/protocol.md §4.2).
//!
//! Order of checks: duplicate → stale → not yet valid → expired → already reversed → amount
//! range → funds/cap.
//! Duplicate is first so a replay always gets the recorded answer; stale and not-yet-valid are
//! never recorded (a stale id may be an evicted original, so recording a rejection under its id
//! would contradict the audit log), every other rejection is recorded like an application.

use crate::command::{Command, Op};
use crate::limits::{Limits, MAX_FUTURE_SKEW_MS};
use crate::outcome::{RecordOutcome, RejectReason, TxnRecord};
use crate::wallet::Wallet;

/// The result of offering a command to a wallet (named apart from the bot's `Outcome`, which
/// also covers commands no wallet has seen yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The balance changed; the new record is the ring's last entry.
    Applied {
        /// Balance after the change.
        balance_after: i64,
    },
    /// Refused; recorded in the ring when `reason.is_recorded()`.
    Rejected {
        /// Why.
        reason: RejectReason,
        /// The (unchanged) balance.
        balance: i64,
    },
    /// Already processed: the original record, nothing changed.
    Duplicate(TxnRecord),
}

impl ApplyOutcome {
    /// Whether the wallet document changed (and so must be saved before anyone is told).
    pub fn changed_wallet(&self) -> bool {
        match self {
            ApplyOutcome::Applied { .. } => true,
            ApplyOutcome::Rejected { reason, .. } => reason.is_recorded(),
            ApplyOutcome::Duplicate(_) => false,
        }
    }
}

/// Checks amount range and funds/cap for one movement; returns the new balance.
fn movement(balance: i64, op: Op, amount: i64, limits: &Limits) -> Result<i64, RejectReason> {
    if amount < 1 || amount > limits.max_amount {
        return Err(RejectReason::AmountOutOfRange);
    }
    match op {
        Op::Give => balance
            .checked_add(amount)
            .filter(|b| *b <= limits.balance_cap)
            .ok_or(RejectReason::BalanceOverflow),
        Op::Deduct => {
            if amount > balance {
                Err(RejectReason::InsufficientFunds)
            } else {
                Ok(balance - amount)
            }
        }
    }
}

/// Whether `cmd` reverses a txn that an applied ring entry already reverses: defence in depth
/// behind the derived reversal id (a second reversal of one original never moves money, even
/// from a sender that minted its own id). Only the ring is known here, so it holds while the
/// earlier reversal is among the last 64 remote txns.
fn reversed_already(wallet: &Wallet, cmd: &Command) -> bool {
    let Some(original) = &cmd.reverses else {
        return false;
    };
    wallet
        .ring
        .iter()
        .any(|r| r.outcome == RecordOutcome::Applied && r.reverses.as_ref() == Some(original))
}

/// Applies a remote (Discord) command to `wallet` at time `now_ms` (Unix ms).
///
/// The caller has verified the signature and `Command::validate`; the wallet satisfies
/// `Wallet::validate`. Deterministic: the same inputs always give the same wallet and outcome.
pub fn apply(wallet: &mut Wallet, cmd: &Command, now_ms: i64, limits: &Limits) -> ApplyOutcome {
    if let Some(rec) = wallet.find(&cmd.txn) {
        return ApplyOutcome::Duplicate(rec.clone());
    }
    let balance = wallet.balance;
    let refuse = |reason| ApplyOutcome::Rejected { reason, balance };
    if cmd.issued_at <= wallet.watermark {
        return refuse(RejectReason::Stale);
    }
    if cmd.issued_at > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        return refuse(RejectReason::NotYetValid);
    }
    let result = if now_ms > cmd.expires_at {
        Err(RejectReason::Expired)
    } else if reversed_already(wallet, cmd) {
        Err(RejectReason::AlreadyReversed)
    } else {
        movement(balance, cmd.op, cmd.amount, limits)
    };
    let (outcome, reject_reason, balance_after) = match result {
        Ok(b) => (RecordOutcome::Applied, None, b),
        Err(r) => (RecordOutcome::Rejected, Some(r), balance),
    };
    wallet.balance = balance_after;
    wallet.record(TxnRecord {
        id: cmd.txn.clone(),
        op: cmd.op,
        amount: cmd.amount,
        outcome,
        reject_reason,
        balance_after,
        issued_at: cmd.issued_at,
        at: now_ms,
        reverses: cmd.reverses.clone(),
    });
    match reject_reason {
        None => ApplyOutcome::Applied { balance_after },
        Some(reason) => ApplyOutcome::Rejected { reason, balance },
    }
}

/// Applies an in-game movement (grant / spend by the game's own code on the session holder).
///
/// Local txns are originated and applied exactly once by the holder, so they skip the ring:
/// heavy in-game spending never evicts Discord txns or raises the watermark. They reach the
/// audit log through the outbox. Returns the new balance, or why it was refused (nothing changes).
pub fn apply_local(
    wallet: &mut Wallet,
    op: Op,
    amount: i64,
    limits: &Limits,
) -> Result<i64, RejectReason> {
    let b = movement(wallet.balance, op, amount, limits)?;
    wallet.balance = b;
    Ok(b)
}
