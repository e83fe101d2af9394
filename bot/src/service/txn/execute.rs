//! A give or deduct: a new command (validated, authorised, reserved against the actor's cap,
//! then delivered), or a replay of a txn id answered with its original outcome.

use super::super::bulk::packer::item_issued_at;
use super::super::db::{DbError, NewTxn, ReserveRefusal, TxnRow};
use super::super::outcome::{
    ActorCtx, Committer, MoveRequest, Outcome, Receipt, Refusal, ServiceError,
};
use super::super::ports::RobloxUser;
use super::super::profile::Profile;
use super::service::{Service, WALLET_READ_REUSABLE_MS, WalletRead, ms};
use shared::command::is_disguising;
use shared::limits::MAX_ACTOR_NAME_CHARS;
use shared::{Actor, BatchId, Command, Op, TxnId, encode_command_message};
use std::time::Duration;

impl Service {
    fn actor_of(actor: &ActorCtx) -> Actor {
        Actor {
            id: actor.id.clone(),
            name: recordable_name(&actor.name, &actor.id),
        }
    }

    /// Gives or deducts: validates, authorises, reserves against the actor's cap, then delivers
    /// and confirms. Waits up to the reply budget; after that answers `Pending`.
    pub async fn execute(&self, req: MoveRequest) -> Result<Receipt, ServiceError> {
        self.execute_inner(req, None).await
    }

    /// Like [`Service::execute`], delivering from `read` (taken for the confirmation prompt) as
    /// the first wallet read when it is of the target player and younger than
    /// [`super::service::WALLET_READ_REUSABLE_MS`]; otherwise the wallet is read as usual.
    pub async fn execute_after_read(
        &self,
        req: MoveRequest,
        read: WalletRead,
    ) -> Result<Receipt, ServiceError> {
        self.execute_inner(req, Some(read)).await
    }

    async fn execute_inner(
        &self,
        req: MoveRequest,
        read: Option<WalletRead>,
    ) -> Result<Receipt, ServiceError> {
        let limits = self.config.limits;
        if !(1..=limits.max_amount).contains(&req.amount) {
            return Err(Refusal::AmountOutOfRange {
                max: limits.max_amount,
            }
            .into());
        }
        if let Err(refusal) = self.config.policy.authorize(&req.actor, req.amount) {
            tracing::warn!(actor = %req.actor.id, %refusal, "economy command refused");
            return Err(refusal.into());
        }
        let user = self.resolve(&req.target).await?;
        let now = self.ports.clock.now_ms();

        if let Some(txn) = &req.replay {
            if let Some(row) = self.db.get(txn).await? {
                if row.user_id != user.id || row.op != req.op || row.amount != req.amount {
                    return Err(Refusal::ReplayMismatch(txn.clone()).into());
                }
                return self.replay_known(row, user, None).await;
            }
            if let Some(original) = self.already_processed(txn, user.id).await? {
                return Ok(Receipt {
                    txn: txn.clone(),
                    user,
                    op: req.op,
                    amount: req.amount,
                    outcome: Outcome::AlreadyProcessed {
                        original: Box::new(original),
                    },
                    reverses: None,
                });
            }
        }

        let txn = req.replay.clone().unwrap_or_else(TxnId::generate);
        let issue = Issue {
            actor: &req.actor,
            user,
            op: req.op,
            amount: req.amount,
            reason: &req.reason,
            txn,
            reverses: None,
            batch: None,
        };
        self.issue(issue, read, now).await
    }

    /// Signs, reserves (cooldown, daily cap, one row per txn id and per reversed original) and
    /// delivers a new command; `read` may serve as the first wallet read.
    pub(super) async fn issue(
        &self,
        it: Issue<'_>,
        read: Option<WalletRead>,
        now: i64,
    ) -> Result<Receipt, ServiceError> {
        // A payout's items issued close together share their issue time, so that an envelope
        // can carry them (docs/protocol.md §3.1).
        let issued_at = if it.batch.is_some() {
            item_issued_at(now)
        } else {
            now
        };
        let cmd = Command {
            v: shared::limits::PROTOCOL_VERSION,
            txn: it.txn,
            op: it.op,
            user_id: it.user.id,
            amount: it.amount,
            reason: it.reason.to_owned(),
            actor: Self::actor_of(it.actor),
            issued_at,
            expires_at: issued_at + ms(self.config.command_ttl),
            reverses: it.reverses,
        };
        let message = match encode_command_message(&cmd, self.keys.signing_key()) {
            Ok(m) => m,
            Err(shared::MessageError::Invalid(shared::CommandError::Reason)) => {
                return Err(Refusal::BadReason.into());
            }
            Err(e) => {
                tracing::warn!(error = %e, "command could not be encoded");
                return Err(Refusal::BadActor.into());
            }
        };
        let new = NewTxn {
            txn: &cmd.txn,
            actor_id: &cmd.actor.id,
            actor_name: &cmd.actor.name,
            user_id: it.user.id,
            op: cmd.op,
            amount: cmd.amount,
            now_ms: now,
            expires_at: cmd.expires_at,
            message: &message,
            reverses: cmd.reverses.as_ref(),
        };
        let policy = &self.config.policy;
        // A payout's items follow each other at the budget's pace: the cooldown applied to the
        // payout's start, not between its own items.
        let cooldown = if it.batch.is_some() {
            0
        } else {
            ms(policy.cooldown)
        };
        match self.db.reserve(&new, cooldown, policy.daily_cap).await? {
            Ok(()) => {}
            Err(ReserveRefusal::Taken) => return self.taken(&cmd, it.user, it.batch).await,
            Err(refused) => return Err(self.limit_refusal(&cmd.actor.id, refused).into()),
        }
        tracing::info!(txn = %cmd.txn, user = it.user.id, op = cmd.op.as_str(), amount = cmd.amount, reverses = ?cmd.reverses, "command accepted");
        let deadline = now + ms(self.config.reply_budget);
        let first = read
            .filter(|r| r.user_id == it.user.id && now - r.read_at_ms <= WALLET_READ_REUSABLE_MS)
            .map(|r| r.entry);
        let outcome = self
            .drive(&cmd, &message, deadline, first, it.batch)
            .await?;
        Ok(Receipt {
            txn: cmd.txn,
            user: it.user,
            op: cmd.op,
            amount: cmd.amount,
            outcome,
            reverses: cmd.reverses,
        })
    }

    /// Another request (this replica's or another's) reserved first: a reversal is refused
    /// naming the reversal that won; an ordinary txn id answers as a replay of the row.
    async fn taken(
        &self,
        cmd: &Command,
        user: RobloxUser,
        batch: Option<&BatchId>,
    ) -> Result<Receipt, ServiceError> {
        if let Some(original) = &cmd.reverses {
            let by = self.db.reversal_of(original).await?;
            return Err(Refusal::AlreadyReversed {
                original: original.clone(),
                state: by
                    .as_ref()
                    .map_or("pending", |row| state_words(&row.outcome)),
                by: by.map_or_else(|| cmd.txn.clone(), |row| row.txn),
            }
            .into());
        }
        match self.db.get(&cmd.txn).await? {
            Some(row) => self.replay_known(row, user, batch).await,
            None => Err(DbError::Corrupt(cmd.txn.to_string()).into()),
        }
    }

    /// Whether `actor` may start a new command of `amount` now under the cooldown and the daily
    /// cap, read-only: front ends ask before showing a confirmation prompt, so the member is
    /// never asked to confirm what would be refused. [`Service::execute`] still decides (another
    /// command may take the room in between).
    pub async fn check_limits(&self, actor: &ActorCtx, amount: i64) -> Result<(), ServiceError> {
        let policy = &self.config.policy;
        let now = self.ports.clock.now_ms();
        match self
            .db
            .check_limits(
                &actor.id,
                amount,
                now,
                ms(policy.cooldown),
                policy.daily_cap,
            )
            .await?
        {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.limit_refusal(&actor.id, refused).into()),
        }
    }

    /// A cooldown or daily-cap refusal in the member's terms.
    fn limit_refusal(&self, actor_id: &str, refused: ReserveRefusal) -> Refusal {
        match refused {
            ReserveRefusal::Cooldown { retry_after_ms } => Refusal::Cooldown { retry_after_ms },
            ReserveRefusal::DailyCap { used } => {
                tracing::warn!(actor = %actor_id, used, "daily cap reached");
                Refusal::DailyCap {
                    cap: self.config.policy.daily_cap,
                    used,
                }
            }
            // Answered by `Service::taken` before any caller gets here.
            ReserveRefusal::Taken => unreachable!("a taken reservation is not a limit"),
        }
    }

    /// A replay of a txn the bot already knows: its stored outcome, or continued confirmation.
    async fn replay_known(
        &self,
        row: TxnRow,
        user: RobloxUser,
        batch: Option<&BatchId>,
    ) -> Result<Receipt, ServiceError> {
        let outcome = match &row.outcome {
            Outcome::Pending => {
                let cmd = self.command_of(&row)?;
                let deadline = self.ports.clock.now_ms() + ms(self.config.reply_budget);
                self.drive(&cmd, &row.message, deadline, None, batch)
                    .await?
            }
            settled => Outcome::AlreadyProcessed {
                original: Box::new(settled.clone()),
            },
        };
        Ok(Receipt {
            txn: row.txn,
            user,
            op: row.op,
            amount: row.amount,
            reverses: row.reverses,
            outcome,
        })
    }

    /// For a replayed id the bot does not know: the outcome recorded by the audit log or the
    /// wallet's ring, if any.
    async fn already_processed(
        &self,
        txn: &TxnId,
        user_id: u64,
    ) -> Result<Option<Outcome>, ServiceError> {
        match self.ports.audit.wait_for(txn, Duration::ZERO).await {
            Ok(Some(rec)) => return Ok(Some(Outcome::from_audit(&rec))),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "audit API unavailable for a replay check"),
        }
        let entry = self.ports.wallets.read(user_id).await?;
        let now = self.ports.clock.now_ms();
        let profile = Profile::parse(entry.as_ref().map(|e| &e.value), self.config.library, now)
            .map_err(Refusal::from)?;
        let wallet = profile.wallet().map_err(Refusal::from)?;
        Ok(wallet
            .find(txn)
            .map(|rec| Outcome::from_ring(rec, Committer::server_in_outbox(&wallet, txn))))
    }
}

/// What [`Service::issue`] sends: a new command for a resolved player.
pub(super) struct Issue<'a> {
    /// Who asks.
    pub actor: &'a ActorCtx,
    /// The player.
    pub user: RobloxUser,
    /// Give or deduct.
    pub op: Op,
    /// How much.
    pub amount: i64,
    /// Why.
    pub reason: &'a str,
    /// The txn id (fresh, replayed or derived from a reversed original).
    pub txn: TxnId,
    /// The txn a reversal reverses.
    pub reverses: Option<TxnId>,
    /// The payout it is an item of (no cooldown between items; its publishes are packed).
    pub batch: Option<&'a BatchId>,
}

/// Where a stored txn stands, in the words a refusal quotes.
pub(super) fn state_words(outcome: &Outcome) -> &'static str {
    match outcome.settled() {
        Outcome::Applied { .. } => "applied",
        Outcome::Rejected { .. } => "rejected",
        Outcome::NotDelivered => "not delivered",
        Outcome::Pending | Outcome::AlreadyProcessed { .. } => "pending",
    }
}

/// A member's display name as the protocol accepts it: Discord allows control, bidi and
/// zero-width characters (emoji joined with U+200D are common), the protocol refuses them in
/// names, so they are dropped rather than refusing the member's command; an empty result falls
/// back to the member's id.
fn recordable_name(name: &str, id: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_disguising(*c))
        .collect();
    let kept: String = kept.trim().chars().take(MAX_ACTOR_NAME_CHARS).collect();
    let kept = kept.trim_end().to_owned();
    if kept.is_empty() { id.to_owned() } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_lose_what_the_protocol_refuses() {
        assert_eq!(recordable_name("Ann 👨\u{200D}💻", "1"), "Ann 👨💻");
        assert_eq!(recordable_name("\u{202E}nimda\u{202C}", "1"), "nimda");
        assert_eq!(recordable_name("\u{200B}\t", "42"), "42");
        let long = "x".repeat(MAX_ACTOR_NAME_CHARS + 5);
        assert_eq!(
            recordable_name(&long, "1").chars().count(),
            MAX_ACTOR_NAME_CHARS
        );
        // What comes out is accepted by the protocol's own rule.
        let cmd_name = recordable_name(" Bob\u{2066} \u{FEFF}", "7");
        assert!(
            cmd_name
                .chars()
                .all(|c| !c.is_control() && !is_disguising(c))
        );
        assert_eq!(cmd_name, "Bob");
    }
}
