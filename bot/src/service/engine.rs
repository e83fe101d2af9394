//! The service: give / deduct with confirmed outcomes, balance, audit, and the reconciler.
//!
//! Single writer (docs/architecture.md, "Invariants"): a live session lock → sign and publish,
//! confirm through the audit API long-poll and wallet reads, re-publish until confirmed or
//! expiresAt + grace; no session → the bot applies `shared::apply` and writes with
//! compare-and-swap; a 412 hands back the current entry and the decision is taken again (the
//! player may have joined).

use super::db::{Db, NewTxn, ReserveRefusal, TxnRow, TxnState};
use super::outcome::{
    ActorCtx, Committer, MoveRequest, Outcome, Receipt, Refusal, ServiceError, Target,
};
use super::policy::Policy;
use super::ports::{
    AuditLog, AuditPage, AuditQuery, Clock, Messaging, RobloxUser, Users, WalletEntry, WalletStore,
    WalletWrite, WriteError,
};
use super::profile::{Profile, ProfileLibrary, Session};
use shared::limits::MAX_ACTOR_NAME_CHARS;
use shared::{
    Actor, AuditRecord, Command, KeyRing, Limits, RecordOutcome, TxnId, TxnRecord, Wallet, apply,
    decode_command_message, encode_command_message,
};
use std::sync::Arc;
use std::time::Duration;

/// Timing and protocol settings of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// MessagingService topic for commands.
    pub topic: String,
    /// Which library owns the wallet profiles.
    pub library: ProfileLibrary,
    /// Limits shared with the game servers.
    pub limits: Limits,
    /// Command validity window (expiresAt − issuedAt), ≤ 15 min.
    pub command_ttl: Duration,
    /// Extra wait after expiresAt before "not delivered" is final (clock skew, in-flight saves).
    pub grace: Duration,
    /// Audit API long-poll per confirmation round.
    pub long_poll: Duration,
    /// Pause between confirmation rounds (after the long-poll).
    pub round_pause: Duration,
    /// Least time between two publishes of the same command.
    pub republish_every: Duration,
    /// How long a request waits for confirmation before answering `Pending`.
    pub reply_budget: Duration,
    /// Staff policy.
    pub policy: Policy,
}

/// The ports the service runs on.
#[derive(Clone)]
pub struct Ports {
    /// Wallet DataStore.
    pub wallets: Arc<dyn WalletStore>,
    /// MessagingService.
    pub messaging: Arc<dyn Messaging>,
    /// Audit API.
    pub audit: Arc<dyn AuditLog>,
    /// Roblox users.
    pub users: Arc<dyn Users>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A wallet as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    /// The player.
    pub user: RobloxUser,
    /// Balance as of the last save.
    pub balance: i64,
    /// When that save happened (Unix ms), none for a wallet never written.
    pub as_of_ms: Option<i64>,
    /// Whether a game server holds the wallet right now (its in-memory balance may be newer).
    pub in_live_server: bool,
}

/// A settled movement as posted to the log channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledTxn {
    /// The txn id.
    pub txn: TxnId,
    /// Roblox user id.
    pub user_id: u64,
    /// Give or deduct.
    pub op: shared::Op,
    /// Amount.
    pub amount: i64,
    /// Discord actor id.
    pub actor_id: String,
    /// Actor display name.
    pub actor_name: String,
    /// The reason the actor gave.
    pub reason: String,
    /// How it settled.
    pub outcome: Outcome,
    /// When it settled (Unix ms).
    pub settled_at_ms: i64,
}

/// What one reconciler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Pending txns settled in this pass.
    pub settled: usize,
    /// Still pending afterwards.
    pub still_pending: usize,
    /// Audit records posted and acknowledged.
    pub audit_posted: usize,
}

/// The framework-free service behind the Discord commands and the CLI.
pub struct Service {
    ports: Ports,
    db: Db,
    keys: KeyRing,
    config: ServiceConfig,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn outcome_of_record(rec: &TxnRecord, committed_by: Committer) -> Outcome {
    match (rec.outcome, rec.reject_reason) {
        (RecordOutcome::Rejected, Some(reason)) => Outcome::Rejected {
            reason,
            balance: rec.balance_after,
        },
        _ => Outcome::Applied {
            balance_after: rec.balance_after,
            committed_by,
        },
    }
}

fn outcome_of_audit(rec: &AuditRecord) -> Outcome {
    match (rec.outcome, rec.reject_reason) {
        (RecordOutcome::Rejected, Some(reason)) => Outcome::Rejected {
            reason,
            balance: rec.balance_after,
        },
        _ => Outcome::Applied {
            balance_after: rec.balance_after,
            committed_by: match &rec.server_job_id {
                Some(j) => Committer::GameServer(Some(j.clone())),
                None => Committer::Bot,
            },
        },
    }
}

fn state_of(outcome: &Outcome) -> TxnState {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => TxnState::Applied {
            balance_after: *balance_after,
            committed_by: committed_by.to_db(),
        },
        Outcome::Rejected { reason, balance } => TxnState::Rejected {
            reason: *reason,
            balance: *balance,
        },
        Outcome::AlreadyProcessed { original } => state_of(original),
        Outcome::NotDelivered => TxnState::NotDelivered,
        Outcome::Pending => TxnState::Pending,
    }
}

fn outcome_of_state(state: &TxnState) -> Outcome {
    match state {
        TxnState::Pending => Outcome::Pending,
        TxnState::Applied {
            balance_after,
            committed_by,
        } => Outcome::Applied {
            balance_after: *balance_after,
            committed_by: Committer::from_db(committed_by),
        },
        TxnState::Rejected { reason, balance } => Outcome::Rejected {
            reason: *reason,
            balance: *balance,
        },
        TxnState::NotDelivered => Outcome::NotDelivered,
    }
}

impl Service {
    /// A service over `ports`, its database and the command-signing keys (the first signs).
    pub fn new(ports: Ports, db: Db, keys: KeyRing, config: ServiceConfig) -> Self {
        Self {
            ports,
            db,
            keys,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The bot database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Resolves a target to a Roblox user (id or username), for showing before money moves.
    pub async fn resolve(&self, target: &Target) -> Result<RobloxUser, ServiceError> {
        let found = match target {
            Target::Id(id) => self.ports.users.by_id(*id).await?,
            Target::Name(name) => self.ports.users.by_name(name).await?,
        };
        found.ok_or_else(|| {
            let shown = match target {
                Target::Id(id) => id.to_string(),
                Target::Name(n) => format!("named {:?}", n.chars().take(40).collect::<String>()),
            };
            Refusal::UnknownUser(shown).into()
        })
    }

    /// Whether `amount` needs an explicit confirmation under the policy.
    pub fn needs_confirmation(&self, amount: i64) -> bool {
        amount > self.config.policy.confirm_above
    }

    fn actor_of(actor: &ActorCtx) -> Actor {
        Actor {
            id: actor.id.clone(),
            name: actor.name.chars().take(MAX_ACTOR_NAME_CHARS).collect(),
        }
    }

    /// Gives or deducts: validates, authorises, reserves against the actor's cap, then delivers
    /// and confirms. Waits up to the reply budget; after that answers `Pending`.
    pub async fn execute(&self, req: MoveRequest) -> Result<Receipt, ServiceError> {
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
                return self.replay_known(row, user).await;
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
                });
            }
        }

        let cmd = Command {
            v: shared::limits::PROTOCOL_VERSION,
            txn: req.replay.clone().unwrap_or_else(TxnId::generate),
            op: req.op,
            user_id: user.id,
            amount: req.amount,
            reason: req.reason.clone(),
            actor: Self::actor_of(&req.actor),
            issued_at: now,
            expires_at: now + ms(self.config.command_ttl),
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
            user_id: user.id,
            op: cmd.op,
            amount: cmd.amount,
            now_ms: now,
            expires_at: cmd.expires_at,
            message: &message,
        };
        let policy = &self.config.policy;
        match self
            .db
            .reserve(&new, ms(policy.cooldown), policy.daily_cap)
            .await?
        {
            Ok(()) => {}
            Err(ReserveRefusal::Cooldown { retry_after_ms }) => {
                return Err(Refusal::Cooldown { retry_after_ms }.into());
            }
            Err(ReserveRefusal::DailyCap { used }) => {
                tracing::warn!(actor = %cmd.actor.id, used, "daily cap reached");
                return Err(Refusal::DailyCap {
                    cap: policy.daily_cap,
                    used,
                }
                .into());
            }
        }
        tracing::info!(txn = %cmd.txn, user = user.id, op = cmd.op.as_str(), amount = cmd.amount, "command accepted");
        let deadline = now + ms(self.config.reply_budget);
        let outcome = self.drive(&cmd, &message, deadline).await?;
        Ok(Receipt {
            txn: cmd.txn,
            user,
            op: req.op,
            amount: req.amount,
            outcome,
        })
    }

    /// A replay of a txn the bot already knows: its stored outcome, or continued confirmation.
    async fn replay_known(&self, row: TxnRow, user: RobloxUser) -> Result<Receipt, ServiceError> {
        let outcome = match &row.state {
            TxnState::Pending => {
                let cmd = self.command_of(&row)?;
                let deadline = self.ports.clock.now_ms() + ms(self.config.reply_budget);
                self.drive(&cmd, &row.message, deadline).await?
            }
            settled => Outcome::AlreadyProcessed {
                original: Box::new(outcome_of_state(settled)),
            },
        };
        Ok(Receipt {
            txn: row.txn,
            user,
            op: row.op,
            amount: row.amount,
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
            Ok(Some(rec)) => return Ok(Some(outcome_of_audit(&rec))),
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
            .map(|rec| outcome_of_record(rec, Committer::GameServer(None))))
    }

    fn command_of(&self, row: &TxnRow) -> Result<Command, ServiceError> {
        decode_command_message(&row.message, &self.keys)
            .map_err(|_| ServiceError::Db(super::db::DbError::Corrupt(row.txn.to_string())))
    }

    /// Settles `cmd` with `outcome` (first settlement wins) and returns the stored outcome.
    async fn settle(
        &self,
        cmd: &Command,
        outcome: Outcome,
        bot_record: Option<&AuditRecord>,
    ) -> Result<Outcome, ServiceError> {
        let now = self.ports.clock.now_ms();
        let stored = self
            .db
            .settle(&cmd.txn, &state_of(&outcome), bot_record, now)
            .await?;
        tracing::info!(txn = %cmd.txn, outcome = ?stored, "command settled");
        Ok(outcome_of_state(&stored))
    }

    /// Delivers and confirms one command until it settles or `reply_deadline` (Unix ms) passes.
    async fn drive(
        &self,
        cmd: &Command,
        message: &str,
        reply_deadline: i64,
    ) -> Result<Outcome, ServiceError> {
        let clock = &self.ports.clock;
        let lib = self.config.library;
        let final_at = cmd.expires_at + ms(self.config.grace);
        let mut last_publish: Option<i64> = None;
        let mut bot_wrote = false;
        let mut entry: Option<WalletEntry> = loop {
            match self.ports.wallets.read(cmd.user_id).await {
                Ok(e) => break e,
                Err(e) => {
                    tracing::warn!(error = %e, txn = %cmd.txn, "wallet read failed");
                    if clock.now_ms() >= reply_deadline {
                        return Ok(Outcome::Pending);
                    }
                    clock.sleep(self.config.round_pause).await;
                }
            }
        };
        loop {
            let now = clock.now_ms();
            let mut profile = Profile::parse(entry.as_ref().map(|e| &e.value), lib, now)
                .map_err(Refusal::from)?;
            let mut wallet = profile.wallet().map_err(Refusal::from)?;
            let session = profile.session(lib, now);
            if let Some(rec) = wallet.find(&cmd.txn) {
                let by = if bot_wrote && last_publish.is_none() {
                    Committer::Bot
                } else {
                    Committer::GameServer(None)
                };
                let outcome = outcome_of_record(rec, by);
                return self.settle(cmd, outcome, None).await;
            }
            let live = matches!(session, Session::Live { .. });
            if now > cmd.expires_at && (!live || now > final_at) {
                // No server applies it any more and the authoritative entry lacks it: final.
                return self.settle(cmd, Outcome::NotDelivered, None).await;
            }
            match session {
                Session::None => {
                    let outcome = apply(&mut wallet, cmd, now, &self.config.limits);
                    let rec = match outcome {
                        shared::ApplyOutcome::Rejected { reason, balance }
                            if !reason.is_recorded() =>
                        {
                            let outcome = Outcome::Rejected { reason, balance };
                            return self.settle(cmd, outcome, None).await;
                        }
                        shared::ApplyOutcome::Duplicate(rec) => rec,
                        _ => match wallet.ring.back() {
                            Some(rec) => rec.clone(),
                            None => unreachable!("apply records every committed outcome"),
                        },
                    };
                    let record = AuditRecord::from_command(cmd, &rec, None);
                    self.prune_outbox(&mut wallet).await?;
                    wallet.outbox.push(record.clone());
                    profile.set_wallet(&wallet);
                    let write = WalletWrite::over(cmd.user_id, profile.to_value(), entry.as_ref());
                    bot_wrote = true;
                    match self.ports.wallets.write(write).await {
                        Ok(_) => {
                            let outcome = outcome_of_record(&rec, Committer::Bot);
                            let settled = self.settle(cmd, outcome, Some(&record)).await?;
                            self.post_audit(&record).await;
                            return Ok(settled);
                        }
                        Err(WriteError::Conflict { current }) => {
                            tracing::info!(txn = %cmd.txn, "wallet changed under the bot (412): deciding again");
                            entry = current;
                        }
                        Err(WriteError::Port(e)) => {
                            // The write may have landed with its answer lost: the re-read decides.
                            tracing::warn!(error = %e, txn = %cmd.txn, "wallet write failed");
                            if clock.now_ms() >= reply_deadline {
                                return Ok(Outcome::Pending);
                            }
                            clock.sleep(self.config.round_pause).await;
                            entry = self.reread(cmd, entry).await;
                        }
                    }
                }
                Session::Dead { job_id } => {
                    tracing::warn!(txn = %cmd.txn, holder = ?job_id, "releasing a dead session lock");
                    profile.release_dead_lock();
                    // A session lock lives in a stored entry: this writes over it.
                    let write = WalletWrite::over(cmd.user_id, profile.to_value(), entry.as_ref());
                    match self.ports.wallets.write(write).await {
                        Ok(written) => entry = Some(written),
                        Err(WriteError::Conflict { current }) => entry = current,
                        Err(WriteError::Port(err)) => {
                            tracing::warn!(error = %err, "releasing the dead lock failed");
                            if clock.now_ms() >= reply_deadline {
                                return Ok(Outcome::Pending);
                            }
                            clock.sleep(self.config.round_pause).await;
                            entry = self.reread(cmd, entry).await;
                        }
                    }
                }
                Session::Live { .. } => {
                    let due =
                        last_publish.is_none_or(|t| now - t >= ms(self.config.republish_every));
                    if now <= cmd.expires_at && due {
                        match self
                            .ports
                            .messaging
                            .publish(&self.config.topic, message)
                            .await
                        {
                            Ok(()) => last_publish = Some(now),
                            Err(e) => tracing::warn!(error = %e, txn = %cmd.txn, "publish failed"),
                        }
                    }
                    if now >= reply_deadline {
                        return Ok(Outcome::Pending);
                    }
                    match self
                        .ports
                        .audit
                        .wait_for(&cmd.txn, self.config.long_poll)
                        .await
                    {
                        Ok(Some(rec)) => {
                            return self.settle(cmd, outcome_of_audit(&rec), None).await;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "audit API silent: reading the wallet")
                        }
                    }
                    clock.sleep(self.config.round_pause).await;
                    entry = self.reread(cmd, entry).await;
                }
            }
        }
    }

    /// Reads the wallet again; on failure keeps the previous entry (compare-and-swap keeps any
    /// write based on it safe).
    async fn reread(&self, cmd: &Command, previous: Option<WalletEntry>) -> Option<WalletEntry> {
        match self.ports.wallets.read(cmd.user_id).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, txn = %cmd.txn, "wallet read failed");
                previous
            }
        }
    }

    /// Drops outbox records the audit API has acknowledged to this bot (keeps the rest).
    async fn prune_outbox(&self, wallet: &mut Wallet) -> Result<(), ServiceError> {
        let mut keep = Vec::with_capacity(wallet.outbox.len());
        for rec in wallet.outbox.drain(..) {
            if !self.db.audit_acked(&rec.txn_id).await? {
                keep.push(rec);
            }
        }
        wallet.outbox = keep;
        Ok(())
    }

    /// Posts a record the bot committed; on success marks it acknowledged.
    async fn post_audit(&self, record: &AuditRecord) -> bool {
        match self.ports.audit.post(std::slice::from_ref(record)).await {
            Ok(()) => match self.db.mark_audit_acked(&record.txn_id).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not mark the audit record acknowledged");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, txn = %record.txn_id, "audit post failed: it stays in the wallet outbox and the retry queue");
                false
            }
        }
    }

    /// Continues confirming one pending txn (e.g. to edit a receipt) for up to `budget`.
    pub async fn confirm(&self, txn: &TxnId, budget: Duration) -> Result<Outcome, ServiceError> {
        let Some(row) = self.db.get(txn).await? else {
            return Ok(Outcome::NotDelivered);
        };
        match &row.state {
            TxnState::Pending => {
                let cmd = self.command_of(&row)?;
                let deadline = self.ports.clock.now_ms() + ms(budget);
                self.drive(&cmd, &row.message, deadline).await
            }
            settled => Ok(outcome_of_state(settled)),
        }
    }

    /// One reconciler pass: resumes every pending txn (each for up to `budget`) and re-posts
    /// audit records the API has not acknowledged. Run at start-up and periodically.
    pub async fn reconcile(&self, budget: Duration) -> Result<ReconcileReport, ServiceError> {
        self.reconcile_older_than(budget, Duration::ZERO).await
    }

    /// A reconciler pass over pending txns accepted at least `min_age` ago (younger ones are
    /// still being driven by the command that issued them; driving them twice costs calls).
    pub async fn reconcile_older_than(
        &self,
        budget: Duration,
        min_age: Duration,
    ) -> Result<ReconcileReport, ServiceError> {
        let mut report = ReconcileReport::default();
        let cutoff = self.ports.clock.now_ms() - ms(min_age);
        for row in self.db.pending().await? {
            if row.created_at > cutoff {
                report.still_pending += 1;
                continue;
            }
            match self.confirm(&row.txn, budget).await {
                Ok(Outcome::Pending) => report.still_pending += 1,
                Ok(_) => report.settled += 1,
                Err(e) => {
                    tracing::warn!(error = %e, txn = %row.txn, "reconciling failed");
                    report.still_pending += 1;
                }
            }
        }
        for record in self.db.unacked_records().await? {
            if self.post_audit(&record).await {
                report.audit_posted += 1;
            }
        }
        Ok(report)
    }

    /// The outcome stored for `txn` right now (no remote calls), `None` for an unknown txn.
    pub async fn stored_outcome(&self, txn: &TxnId) -> Result<Option<Outcome>, ServiceError> {
        Ok(self
            .db
            .get(txn)
            .await?
            .map(|row| outcome_of_state(&row.state)))
    }

    /// Counts for monitoring: (audit records awaiting acknowledgement, txns still pending).
    pub async fn queue_sizes(&self) -> Result<(i64, i64), ServiceError> {
        let unacked = self.db.unacked_count().await?;
        let pending = i64::try_from(self.db.pending().await?.len()).unwrap_or(i64::MAX);
        Ok((unacked, pending))
    }

    /// Settled txns not yet posted to the log channel (oldest first, at most `limit`).
    pub async fn unlogged(&self, limit: u32) -> Result<Vec<SettledTxn>, ServiceError> {
        let mut out = Vec::new();
        for row in self.db.unlogged(limit).await? {
            let reason = self.command_of(&row)?.reason;
            out.push(SettledTxn {
                outcome: outcome_of_state(&row.state),
                settled_at_ms: row.settled_at.unwrap_or(row.created_at),
                txn: row.txn,
                user_id: row.user_id,
                op: row.op,
                amount: row.amount,
                actor_id: row.actor_id,
                actor_name: row.actor_name,
                reason,
            });
        }
        Ok(out)
    }

    /// Claims `txn` for one log-channel post; `false` when another poster has it.
    pub async fn claim_logged(&self, txn: &TxnId) -> Result<bool, ServiceError> {
        Ok(self.db.claim_logged(txn).await?)
    }

    /// Gives a log claim back after a failed post.
    pub async fn release_logged(&self, txn: &TxnId) -> Result<(), ServiceError> {
        Ok(self.db.release_logged(txn).await?)
    }

    /// A player's balance as of the last save, and whether a live server holds the wallet.
    pub async fn balance(
        &self,
        actor: &ActorCtx,
        target: &Target,
    ) -> Result<BalanceView, ServiceError> {
        self.config.policy.max_for(actor)?;
        let user = self.resolve(target).await?;
        let entry = self.ports.wallets.read(user.id).await?;
        let now = self.ports.clock.now_ms();
        let lib = self.config.library;
        let profile =
            Profile::parse(entry.as_ref().map(|e| &e.value), lib, now).map_err(Refusal::from)?;
        let wallet = profile.wallet().map_err(Refusal::from)?;
        Ok(BalanceView {
            user,
            balance: wallet.balance,
            as_of_ms: entry.as_ref().map(|e| e.updated_ms),
            in_live_server: matches!(profile.session(lib, now), Session::Live { .. }),
        })
    }

    /// A page of the audit log (newest first) for a user and/or an actor.
    pub async fn audit(
        &self,
        actor: &ActorCtx,
        query: &AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        self.config.policy.max_for(actor)?;
        Ok(self.ports.audit.list(query).await?)
    }
}
