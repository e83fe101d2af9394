//! A reversal (docs/protocol.md §2.1): the opposite movement of an applied txn's amount, as a new
//! txn whose id is derived from the original's and which names it. Refused, before anything
//! moves, for an original that is not logged, was rejected, is itself a reversal or already has
//! its reversal, and for a deduct the balance cannot cover (saying by how much).

use super::super::db::ReserveRefusal;
use super::super::outcome::{
    ActorCtx, Receipt, Refusal, ReversalPlan, ReverseRequest, ServiceError, Target,
};
use super::execute::{Issue, state_words};
use super::service::Service;
use shared::{AuditRecord, Op, RecordOutcome, TxnId};
use std::time::Duration;

/// Where a logged reversal stands, in the words a refusal quotes.
fn logged_state(rec: &AuditRecord) -> &'static str {
    match rec.outcome {
        RecordOutcome::Applied => "applied",
        RecordOutcome::Rejected => "rejected",
    }
}

impl Service {
    /// What reversing `original` would do, or why it is refused: the original is looked up in
    /// the audit log (the one place that knows every committed txn, whoever committed it), its
    /// reversal in the bot's database and, in case that database was lost or is another
    /// deployment's, in the audit log under the derived id.
    pub async fn plan_reversal(
        &self,
        actor: &ActorCtx,
        original: &TxnId,
    ) -> Result<ReversalPlan, ServiceError> {
        self.config.policy.max_for(actor)?;
        let audit = &self.ports.audit;
        let rec = audit
            .wait_for(original, Duration::ZERO)
            .await?
            .ok_or_else(|| Refusal::ReversalNotFound(original.clone()))?;
        if let Some(reversed) = &rec.reverses {
            return Err(Refusal::ReversalOfReversal {
                txn: original.clone(),
                original: reversed.clone(),
            }
            .into());
        }
        if rec.outcome == RecordOutcome::Rejected {
            return Err(Refusal::ReversalOfRejected {
                original: original.clone(),
                reason: rec.reject_reason.map_or("rejected", |r| r.as_str()),
            }
            .into());
        }
        let txn = original.reversal_id();
        if let Some(row) = self.db.reversal_of(original).await? {
            return Err(Refusal::AlreadyReversed {
                original: original.clone(),
                by: row.txn,
                state: state_words(&row.outcome),
            }
            .into());
        }
        if let Some(logged) = audit.wait_for(&txn, Duration::ZERO).await? {
            return Err(Refusal::AlreadyReversed {
                original: original.clone(),
                by: txn,
                state: logged_state(&logged),
            }
            .into());
        }
        let max = self.config.limits.max_amount;
        if !(1..=max).contains(&rec.amount) {
            return Err(Refusal::AmountOutOfRange { max }.into());
        }
        self.config.policy.authorize(actor, rec.amount)?;
        let user = self.resolve(&Target::Id(rec.user_id)).await?;
        Ok(ReversalPlan {
            op: rec.op.opposite(),
            amount: rec.amount,
            original: rec,
            txn,
            user,
        })
    }

    /// Whether `actor` may start a reversal now: the cooldown only (reversals are not held to
    /// the daily cap), read-only, for front ends before a prompt.
    pub async fn check_reversal_limits(&self, actor: &ActorCtx) -> Result<(), ServiceError> {
        let now = self.ports.clock.now_ms();
        let cooldown = super::service::ms(self.config.policy.cooldown);
        match self
            .db
            .check_limits(&actor.id, 0, now, cooldown, i64::MAX)
            .await?
        {
            Ok(()) => Ok(()),
            Err(ReserveRefusal::Cooldown { retry_after_ms }) => {
                Err(Refusal::Cooldown { retry_after_ms }.into())
            }
            // The cap is off for reversals; nothing else is checked here.
            Err(_) => Ok(()),
        }
    }

    /// Reverses a txn: plans again (things may have changed while a prompt was open), refuses
    /// a deduct the balance as of the last save cannot cover, then issues the reversal under
    /// its derived id like any command. The bot's database holds one reversal per original
    /// (unique index), so two replicas racing on one PostgreSQL database issue it once.
    pub async fn reverse(&self, req: ReverseRequest) -> Result<Receipt, ServiceError> {
        let plan = self.plan_reversal(&req.actor, &req.original).await?;
        let mut first = None;
        if plan.op == Op::Deduct {
            // A fresh read: a refusal is never decided on a prompt's older read.
            let read = self.read_wallet(&plan.user).await?;
            if read.balance < plan.amount {
                // Another replica's reversal of the same original may have landed since the
                // plan (it is why the balance is short): name it rather than the shortfall.
                if let Some(row) = self.db.reversal_of(&req.original).await? {
                    return Err(Refusal::AlreadyReversed {
                        original: req.original,
                        by: row.txn,
                        state: state_words(&row.outcome),
                    }
                    .into());
                }
                return Err(Refusal::ReversalShort {
                    balance: read.balance,
                    needs: plan.amount,
                }
                .into());
            }
            first = Some(read);
        }
        let now = self.ports.clock.now_ms();
        let issue = Issue {
            actor: &req.actor,
            user: plan.user,
            op: plan.op,
            amount: plan.amount,
            reason: &req.reason,
            txn: plan.txn,
            reverses: Some(req.original),
            batch: None,
        };
        self.issue(issue, first, now).await
    }
}
