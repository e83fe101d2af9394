//! Bulk payouts run by the service (rules: `service::bulk`): a batch is planned (checked,
//! de-duplicated, a sample of wallets read for the preview), stored, then run item by item at
//! the write budget's pace, several items at once, each through the same path as a give under
//! its derived txn id. Running a batch again (a retry, a restart) only issues what is left and
//! follows what is pending; an item already paid answers from its txn's row.

use super::super::bulk::packer::max_parked;
use super::super::bulk::{
    BatchCounts, BatchId, BatchPlan, BatchProgress, BatchReport, BatchRequest, ItemReport,
    ItemState, ONLINE_SAMPLE, OnlineSample, Silent, StoredBatch, batch_total,
};
use super::super::outcome::{ActorCtx, Outcome, Refusal, ServiceError};
use super::super::ports::RobloxUser;
use super::execute::Issue;
use super::service::{Service, ms};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use shared::{Op, TxnId};
use std::collections::HashSet;

impl Service {
    /// Checks a bulk payout and answers what its preview shows, storing nothing: the amount
    /// against the limits and the actor's role maximum (per player), the list (not empty, at
    /// most `BULK_MAX_PLAYERS` distinct players; repeats counted and left out), the total
    /// against the actor's daily cap and the cooldown, and how many players are online (every
    /// wallet read up to [`ONLINE_SAMPLE`] players, an even sample above).
    pub async fn plan_batch(&self, req: BatchRequest) -> Result<BatchPlan, ServiceError> {
        let max = self.config.limits.max_amount;
        if !(1..=max).contains(&req.amount) {
            return Err(Refusal::AmountOutOfRange { max }.into());
        }
        self.config.policy.authorize(&req.actor, req.amount)?;
        let reason = req.reason.trim().to_owned();
        if !shared::command::reason_ok(&reason) {
            return Err(Refusal::BadReason.into());
        }
        let mut seen = HashSet::with_capacity(req.user_ids.len());
        let user_ids: Vec<u64> = req
            .user_ids
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        let duplicates = req.user_ids.len() - user_ids.len();
        let safe = 1..=shared::limits::MAX_SAFE_INTEGER.unsigned_abs();
        if let Some(bad) = user_ids.iter().find(|id| !safe.contains(id)) {
            return Err(Refusal::UnknownUser(bad.to_string()).into());
        }
        if user_ids.is_empty() {
            return Err(Refusal::BatchEmpty.into());
        }
        let limit = self.config.bulk.max_items;
        if user_ids.len() > limit {
            return Err(Refusal::BatchTooLarge {
                max: limit,
                got: user_ids.len(),
            }
            .into());
        }
        self.check_limits(&req.actor, batch_total(req.amount, user_ids.len()))
            .await?;
        let online = self.sample_online(&user_ids).await;
        Ok(BatchPlan {
            batch: BatchId::generate(),
            actor: req.actor,
            amount: req.amount,
            reason,
            user_ids,
            duplicates,
            online,
        })
    }

    /// Reads up to [`ONLINE_SAMPLE`] wallets spread evenly over `ids`; a failed read is left
    /// out of the sample.
    async fn sample_online(&self, ids: &[u64]) -> OnlineSample {
        let of = ids.len();
        let k = of.min(ONLINE_SAMPLE);
        let mut sample = OnlineSample {
            read: 0,
            online: 0,
            of,
        };
        for j in 0..k {
            let user = placeholder_user(ids[j * of / k]);
            match self.read_wallet(&user).await {
                Ok(read) => {
                    sample.read += 1;
                    sample.online += usize::from(read.in_live_server);
                }
                Err(e) => tracing::debug!(error = %e, "wallet read for a payout preview failed"),
            }
        }
        sample
    }

    /// Stores a confirmed plan (the cooldown and daily cap asked again: a prompt may have been
    /// open a while). From here on the batch survives restarts.
    pub async fn start_batch(&self, plan: &BatchPlan) -> Result<(), ServiceError> {
        self.check_limits(&plan.actor, plan.total()).await?;
        let batch = StoredBatch {
            batch: plan.batch.clone(),
            actor_id: plan.actor.id.clone(),
            actor_name: plan.actor.name.clone(),
            amount: plan.amount,
            reason: plan.reason.clone(),
            created_at_ms: self.ports.clock.now_ms(),
            finished_at_ms: None,
        };
        self.db.insert_batch(&batch, &plan.user_ids).await?;
        tracing::info!(batch = %plan.batch, players = plan.user_ids.len(), amount = plan.amount, "payout stored");
        Ok(())
    }

    /// A batch and every player's result as stored now.
    pub async fn batch_report(&self, id: &BatchId) -> Result<BatchReport, ServiceError> {
        let batch = self
            .db
            .batch(id)
            .await?
            .ok_or_else(|| Refusal::BatchUnknown(id.to_string()))?;
        let items = self
            .db
            .batch_items(id)
            .await?
            .into_iter()
            .map(|i| ItemReport {
                user_id: i.user_id,
                txn: i.txn,
                state: i.state,
            })
            .collect();
        Ok(BatchReport { batch, items })
    }

    /// Runs a stored batch to its end: issues every item not issued yet at the write budget's
    /// pace, then follows the pending ones until their commands can no longer apply (what is
    /// still pending then is the reconciler's, like any pending txn). Tells `progress` after
    /// each item. A database failure stops the run; running it again resumes it.
    pub async fn run_batch(
        &self,
        id: &BatchId,
        progress: &mut dyn BatchProgress,
    ) -> Result<BatchReport, ServiceError> {
        let report = self.batch_report(id).await?;
        let batch = report.batch;
        let actor = ActorCtx {
            id: batch.actor_id.clone(),
            name: batch.actor_name.clone(),
            // Authorised when planned; items are not authorised again.
            roles: Vec::new(),
        };
        let mut items = report.items;
        let mut counts = BatchCounts::of(items.iter().map(|i| &i.state), batch.amount);
        progress.progress(&counts).await;
        let concurrency = self.config.bulk.concurrency.max(1);
        let mut follow_until: Option<i64> = None;
        loop {
            let work: Vec<usize> = (0..items.len())
                .filter(|&i| open(&items[i].state))
                .collect();
            let now = self.ports.clock.now_ms();
            if work.is_empty() || follow_until.is_some_and(|t| now > t) {
                break;
            }
            let mut queue = work.into_iter();
            let mut running = FuturesUnordered::new();
            loop {
                // Items parked on the packer wait for a publish, the scarce resource, and use
                // no write budget: they do not hold a place, so the other items (offline
                // players' writes) keep flowing meanwhile, up to `max_parked` more.
                let parked = self
                    .packer
                    .stats()
                    .parked()
                    .min(max_parked(self.config.command_ttl));
                while running.len() < concurrency + parked
                    && let Some(i) = queue.next()
                {
                    let item = &items[i];
                    running.push(self.pay_item(&batch, &actor, i, item.user_id, item.txn.clone()));
                }
                let next = tokio::select! {
                    next = running.next() => next,
                    () = self.packer.parked_more() => continue,
                };
                let Some((i, state)) = next else {
                    break;
                };
                let state = state?;
                counts.replace(&items[i].state, &state, batch.amount);
                items[i].state = state;
                progress.progress(&counts).await;
            }
            // After the first pass only pending items are left: follow them until a command
            // issued now would have expired (by then each is settled or final).
            if follow_until.is_none() {
                let c = &self.config;
                follow_until = Some(
                    self.ports.clock.now_ms()
                        + ms(c.command_ttl)
                        + ms(c.grace)
                        + ms(c.reply_budget),
                );
            }
        }
        let now = self.ports.clock.now_ms();
        self.db.finish_batch(id, now).await?;
        let report = self.batch_report(id).await?;
        let c = report.counts();
        tracing::info!(batch = %id, applied = c.applied, refused = c.refused, not_delivered = c.not_delivered, pending = c.pending, "payout finished");
        Ok(report)
    }

    /// One item: waits for the write budget, then gives under the item's derived txn id (a
    /// txn already reserved answers from its row, or is followed further while pending).
    async fn pay_item(
        &self,
        batch: &StoredBatch,
        actor: &ActorCtx,
        index: usize,
        user_id: u64,
        txn: TxnId,
    ) -> (usize, Result<ItemState, ServiceError>) {
        self.budget.acquire(self.ports.clock.as_ref()).await;
        let issue = Issue {
            actor,
            user: placeholder_user(user_id),
            op: Op::Give,
            amount: batch.amount,
            reason: &batch.reason,
            txn,
            reverses: None,
            batch: Some(&batch.batch),
        };
        let now = self.ports.clock.now_ms();
        let state = match self.issue(issue, None, now).await {
            // Its txn row (reserved by `issue`) is what marks the item issued: the batch's
            // items are read joined with their txns (`Db::batch_items`), one commit fewer.
            Ok(receipt) => Ok(ItemState::Issued(receipt.outcome.settled().clone())),
            Err(ServiceError::Refused(refusal)) => {
                let words = refusal.to_string();
                tracing::info!(batch = %batch.batch, user = user_id, %refusal, "payout item refused");
                self.db
                    .mark_batch_item_refused(&batch.batch, user_id, &words)
                    .await
                    .map(|()| ItemState::Refused(words))
                    .map_err(ServiceError::from)
            }
            Err(e) => Err(e),
        };
        (index, state)
    }

    /// Runs every unfinished batch to its end (oldest first): what `economy-bot serve` does on
    /// startup, so a payout interrupted by a restart completes without paying anyone twice.
    pub async fn resume_batches(&self) -> Result<Vec<BatchReport>, ServiceError> {
        let mut done = Vec::new();
        for id in self.db.unfinished_batches().await? {
            tracing::info!(batch = %id, "resuming a payout");
            done.push(self.run_batch(&id, &mut Silent).await?);
        }
        Ok(done)
    }
}

/// Whether an item still needs work: not issued, or issued and pending.
fn open(state: &ItemState) -> bool {
    match state {
        ItemState::Todo => true,
        ItemState::Issued(outcome) => matches!(outcome.settled(), Outcome::Pending),
        ItemState::Refused(_) => false,
    }
}

/// A player known by id only: a payout does not look each player up (a call per player); the
/// command carries the id alone.
fn placeholder_user(id: u64) -> RobloxUser {
    RobloxUser {
        id,
        name: id.to_string(),
        display_name: id.to_string(),
    }
}
