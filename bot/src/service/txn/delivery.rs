//! Delivering one command until it settles: read the wallet, decide by who holds its session
//! lock, then commit offline (compare-and-swap), release a dead lock, or publish and confirm.
//! Every failed call ends the same way: answer `Pending` once the reply deadline has passed,
//! else pause and read the wallet again.

use super::super::bulk::packer::ENVELOPE_ATTEMPTS;
use super::super::outcome::{Committer, Outcome, Refusal, ServiceError};
use super::super::ports::{WalletEntry, WalletWrite, WriteError};
use super::super::profile::{Profile, Session};
use super::service::{Service, ms};
use shared::{ApplyOutcome, AuditRecord, BatchId, Command, Wallet, apply};

/// One command being delivered, and what this delivery has done so far.
struct Delivery<'a> {
    cmd: &'a Command,
    message: &'a str,
    /// Unix ms after which the caller gets `Pending`.
    reply_deadline: i64,
    /// expiresAt + grace: after it a live holder no longer applies the command either.
    final_at: i64,
    /// When this delivery last published the command.
    last_publish: Option<i64>,
    /// Whether this delivery attempted a compare-and-swap write.
    bot_wrote: bool,
    /// Whether the entry decided on is a read taken before the command (for its prompt) and
    /// not read again since: a refusal that writes nothing must not be decided on it.
    entry_from_prompt: bool,
    /// The payout this command is an item of: its publishes go through the packer.
    batch: Option<&'a BatchId>,
    /// Publishes made inside envelopes so far.
    enveloped: u32,
}

impl Delivery<'_> {
    /// Who committed a record found in the ring: the bot only if it wrote and never published,
    /// else the server its outbox record names.
    fn committer(&self, wallet: &Wallet) -> Committer {
        if self.bot_wrote && self.last_publish.is_none() {
            Committer::Bot
        } else {
            Committer::server_in_outbox(wallet, &self.cmd.txn)
        }
    }
}

/// What one step decided.
enum Step {
    /// The answer for the caller (settled, or `Pending` when out of time).
    Done(Outcome),
    /// Decide again on this wallet entry.
    Again(Option<WalletEntry>),
}

impl Service {
    /// Delivers and confirms one command until it settles or `reply_deadline` (Unix ms) passes.
    /// An item of `batch` publishes through the packer (its first [`ENVELOPE_ATTEMPTS`]
    /// publishes, then alone).
    /// `first`, when given, is the wallet as read for the command's prompt: it replaces the
    /// first read (a stale one is safe: writes are compare-and-swap, and a refusal that writes
    /// nothing is decided again on a fresh read).
    pub(super) async fn drive(
        &self,
        cmd: &Command,
        message: &str,
        reply_deadline: i64,
        first: Option<Option<WalletEntry>>,
        batch: Option<&BatchId>,
    ) -> Result<Outcome, ServiceError> {
        let mut d = Delivery {
            cmd,
            message,
            reply_deadline,
            final_at: cmd.expires_at + ms(self.config.grace),
            last_publish: None,
            bot_wrote: false,
            entry_from_prompt: first.is_some(),
            batch,
            enveloped: 0,
        };
        let mut entry = match first {
            Some(entry) => entry,
            None => match self.first_read(&d).await {
                Step::Again(entry) => entry,
                Step::Done(outcome) => return Ok(outcome),
            },
        };
        loop {
            entry = match self.decide(&mut d, entry).await? {
                Step::Again(next) => next,
                Step::Done(outcome) => return Ok(outcome),
            };
        }
    }

    /// Reads the wallet, retrying after a pause until the reply deadline.
    async fn first_read(&self, d: &Delivery<'_>) -> Step {
        loop {
            match self.ports.wallets.read(d.cmd.user_id).await {
                Ok(e) => return Step::Again(e),
                Err(e) => {
                    tracing::warn!(error = %e, txn = %d.cmd.txn, "wallet read failed");
                    if !self.pause_unless_late(d).await {
                        return Step::Done(Outcome::Pending);
                    }
                }
            }
        }
    }

    /// One decision on the wallet as read: settled already, final, or by session holder.
    async fn decide(
        &self,
        d: &mut Delivery<'_>,
        entry: Option<WalletEntry>,
    ) -> Result<Step, ServiceError> {
        let now = self.ports.clock.now_ms();
        let lib = self.config.library;
        let profile =
            Profile::parse(entry.as_ref().map(|e| &e.value), lib, now).map_err(Refusal::from)?;
        let wallet = profile.wallet().map_err(Refusal::from)?;
        let session = profile.session(lib, now);
        if let Some(rec) = wallet.find(&d.cmd.txn) {
            let outcome = Outcome::from_ring(rec, d.committer(&wallet));
            return Ok(Step::Done(self.settle(d.cmd, outcome, None).await?));
        }
        let live = matches!(session, Session::Live { .. });
        if now > d.cmd.expires_at && !live && now <= d.final_at {
            // Expired by our clock, but a server whose clock runs behind ours (by up to the
            // grace) may still start this wallet's session and apply a late or re-published
            // message: nobody holding it now does not make the entry final yet.
            tracing::debug!(txn = %d.cmd.txn, "expired, no holder: waiting out the grace");
            return Ok(self.retry(d, entry).await);
        }
        if now > d.final_at {
            if live && !profile.saved_after(d.cmd.expires_at) {
                // The holder may have applied it just before it expired and not saved yet:
                // the entry is final only once the holder saved after the expiry.
                tracing::debug!(txn = %d.cmd.txn, "expired: waiting for the holder's next save");
                return Ok(self.retry(d, entry).await);
            }
            // No server applies it any more and the authoritative entry lacks it: final.
            let outcome = self.settle(d.cmd, Outcome::NotDelivered, None).await?;
            return Ok(Step::Done(outcome));
        }
        match session {
            Session::None => self.commit_offline(d, profile, wallet, entry, now).await,
            Session::Dead { job_id } => {
                tracing::warn!(txn = %d.cmd.txn, holder = ?job_id, "releasing a dead session lock");
                Ok(self.release_dead_lock(d, profile, entry).await)
            }
            Session::Live { .. } => self.publish_and_confirm(d, entry, now).await,
        }
    }

    /// No session: the bot applies the rule itself and writes with compare-and-swap.
    async fn commit_offline(
        &self,
        d: &mut Delivery<'_>,
        mut profile: Profile,
        mut wallet: Wallet,
        entry: Option<WalletEntry>,
        now: i64,
    ) -> Result<Step, ServiceError> {
        let cmd = d.cmd;
        let rec = match apply(&mut wallet, cmd, now, &self.config.limits) {
            ApplyOutcome::Rejected { .. } if d.entry_from_prompt => {
                // Decided on the prompt's read, which may be stale (another movement since):
                // writing nothing, it is not checked by a compare-and-swap, so read again.
                return Ok(match self.ports.wallets.read(cmd.user_id).await {
                    Ok(fresh) => {
                        d.entry_from_prompt = false;
                        Step::Again(fresh)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, txn = %cmd.txn, "wallet read failed");
                        self.retry(d, entry).await
                    }
                });
            }
            ApplyOutcome::Rejected { reason, balance } if !reason.is_recorded() => {
                let outcome = Outcome::Rejected { reason, balance };
                return Ok(Step::Done(self.settle(cmd, outcome, None).await?));
            }
            ApplyOutcome::Duplicate(rec) => rec,
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
        d.bot_wrote = true;
        match self.ports.wallets.write(write).await {
            Ok(_) => {
                let outcome = Outcome::from_ring(&rec, Committer::Bot);
                let settled = self.settle(cmd, outcome, Some(&record)).await?;
                self.post_audit(&record).await;
                Ok(Step::Done(settled))
            }
            Err(WriteError::Conflict { current }) => {
                tracing::info!(txn = %cmd.txn, "wallet changed under the bot (412): deciding again");
                Ok(self.after_conflict(d, current, entry).await)
            }
            Err(WriteError::Port(e)) => {
                // The write may have landed with its answer lost: the re-read decides.
                tracing::warn!(error = %e, txn = %cmd.txn, "wallet write failed");
                Ok(self.retry(d, entry).await)
            }
        }
    }

    /// A holder that stopped saving: release its lock exactly as the library would, then decide
    /// again on the entry as written.
    async fn release_dead_lock(
        &self,
        d: &Delivery<'_>,
        mut profile: Profile,
        entry: Option<WalletEntry>,
    ) -> Step {
        profile.release_dead_lock();
        // A session lock lives in a stored entry: this writes over it.
        let write = WalletWrite::over(d.cmd.user_id, profile.to_value(), entry.as_ref());
        match self.ports.wallets.write(write).await {
            Ok(written) => Step::Again(Some(written)),
            Err(WriteError::Conflict { current }) => self.after_conflict(d, current, entry).await,
            Err(WriteError::Port(err)) => {
                tracing::warn!(error = %err, "releasing the dead lock failed");
                self.retry(d, entry).await
            }
        }
    }

    /// A live holder: publish (when due and still valid), then wait for the audit record.
    async fn publish_and_confirm(
        &self,
        d: &mut Delivery<'_>,
        entry: Option<WalletEntry>,
        now: i64,
    ) -> Result<Step, ServiceError> {
        let cmd = d.cmd;
        let due = d
            .last_publish
            .is_none_or(|t| now - t >= ms(self.config.republish_every));
        if now <= cmd.expires_at && due {
            let packed = d
                .batch
                .filter(|_| self.config.bulk.envelopes && d.enveloped < ENVELOPE_ATTEMPTS);
            let published = match packed {
                Some(batch) => {
                    d.enveloped += 1;
                    self.packer.publish(batch, cmd, d.message).await
                }
                None => {
                    self.ports
                        .messaging
                        .publish(&self.config.topic, d.message)
                        .await
                }
            };
            match published {
                Ok(()) => d.last_publish = Some(now),
                Err(e) => tracing::warn!(error = %e, txn = %cmd.txn, "publish failed"),
            }
        }
        if now >= d.reply_deadline {
            return Ok(Step::Done(Outcome::Pending));
        }
        match self
            .ports
            .audit
            .wait_for(&cmd.txn, self.config.long_poll)
            .await
        {
            Ok(Some(rec)) => {
                let outcome = self.settle(cmd, Outcome::from_audit(&rec), None).await?;
                return Ok(Step::Done(outcome));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "audit API silent: reading the wallet"),
        }
        self.ports.clock.sleep(self.config.round_pause).await;
        Ok(Step::Again(self.reread(cmd, entry).await))
    }

    /// After a 412: decide again on the entry the answer carried, or, when it carried none (a
    /// 412's body is undocumented; "none" is not "absent"), on the entry read again now. A failed
    /// read is a failed call: pause, then read.
    async fn after_conflict(
        &self,
        d: &Delivery<'_>,
        current: Option<WalletEntry>,
        previous: Option<WalletEntry>,
    ) -> Step {
        if current.is_some() {
            return Step::Again(current);
        }
        match self.ports.wallets.read(d.cmd.user_id).await {
            Ok(now) => Step::Again(now),
            Err(e) => {
                tracing::warn!(error = %e, txn = %d.cmd.txn, "wallet read after a 412 failed");
                self.retry(d, previous).await
            }
        }
    }

    /// After a failed call: `Pending` past the reply deadline, else a pause and a fresh read.
    async fn retry(&self, d: &Delivery<'_>, previous: Option<WalletEntry>) -> Step {
        if !self.pause_unless_late(d).await {
            return Step::Done(Outcome::Pending);
        }
        Step::Again(self.reread(d.cmd, previous).await)
    }

    /// Sleeps one round pause, or returns `false` at once when the reply deadline has passed.
    async fn pause_unless_late(&self, d: &Delivery<'_>) -> bool {
        let clock = &self.ports.clock;
        if clock.now_ms() >= d.reply_deadline {
            return false;
        }
        clock.sleep(self.config.round_pause).await;
        true
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

    /// Settles `cmd` with `outcome` (first settlement wins) and returns the stored outcome.
    async fn settle(
        &self,
        cmd: &Command,
        outcome: Outcome,
        bot_record: Option<&AuditRecord>,
    ) -> Result<Outcome, ServiceError> {
        let now = self.ports.clock.now_ms();
        let stored = self.db.settle(&cmd.txn, &outcome, bot_record, now).await?;
        tracing::info!(txn = %cmd.txn, outcome = ?stored, "command settled");
        Ok(stored)
    }
}
