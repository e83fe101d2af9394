//! Log-channel delivery, framework-free: settled movements handed one by one to a [`LogSink`]
//! (the Discord channel in production, a fake in tests), at least once.
//!
//! A movement is marked posted only after the channel accepted it. Before posting, a poster
//! claims it for a lease (so bot replicas do not post it at once); a process that dies
//! mid-post leaves the claim to lapse and the movement is posted again. So a crash after the
//! post and before the mark shows it twice (rare; the embed carries the txn id, so the copy is
//! recognisable). A failed post waits with doubling backoff; after `max_attempts` failures the
//! movement is set aside as a dead letter (logged, counted in metrics, listed and retried with
//! `economy-bot log-channel`), so one post the channel always refuses holds nothing back.

use super::super::db::{DeadLetter, LogFailure};
use super::super::outcome::ServiceError;
use super::super::ports::BoxFut;
use super::service::{Service, SettledTxn, ms};
use shared::TxnId;
use std::time::Duration;

/// Why a post failed, in words safe for logs (the sink keeps secrets out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFailure {
    /// What the channel answered.
    pub error: String,
    /// The channel itself is unusable right now (rate limit, outage, permissions), so the rest
    /// of the pass would fail too; `false` when only this post was refused.
    pub channel_wide: bool,
}

/// Where settled movements are posted.
pub trait LogSink: Send + Sync {
    /// Posts one movement; `Ok` once the channel accepted it. Bounded in time by the sink
    /// (well under [`LogPolicy::lease`]).
    fn post<'a>(&'a self, t: &'a SettledTxn) -> BoxFut<'a, Result<(), PostFailure>>;
}

/// How log-channel delivery retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPolicy {
    /// Movements read per pass.
    pub batch: u32,
    /// Failed posts of one movement before it becomes a dead letter (at least 1).
    pub max_attempts: u32,
    /// How long a claim holds a movement; after it, a post that never finished is retried.
    pub lease: Duration,
    /// Wait after the first failed post; doubled after each further one.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl LogPolicy {
    /// The defaults, with `max_attempts` failures before a movement is set aside: waits of
    /// 10 s, 20 s, 40 s, … up to 15 minutes between attempts, claims of 2 minutes.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            batch: 20,
            max_attempts: max_attempts.max(1),
            lease: Duration::from_secs(120),
            first_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(15 * 60),
        }
    }

    /// The wait after the `failures`-th failed post (counting from 1).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LogPass {
    /// Posts the channel accepted.
    pub posted: u32,
    /// Posts that failed (dead letters included).
    pub failed: u32,
    /// Movements set aside as dead letters in this pass.
    pub dead_lettered: u32,
}

/// Most characters of a post error kept in the database.
const ERROR_CHARS: usize = 500;

impl Service {
    /// Posts the movements due (oldest settlement first, up to `policy.batch`) to `sink`. A
    /// post refused for its own sake moves on to the next movement; a channel-wide failure
    /// ends the pass (the rest would fail the same way); either way the failed movement waits
    /// its backoff, so the next pass starts with the others.
    pub async fn deliver_logs(
        &self,
        sink: &dyn LogSink,
        policy: &LogPolicy,
    ) -> Result<LogPass, ServiceError> {
        let mut pass = LogPass::default();
        let due = self
            .db
            .log_due(self.ports.clock.now_ms(), policy.batch)
            .await?;
        for (row, attempts) in due {
            let txn = row.txn.clone();
            if !self
                .db
                .claim_log(&txn, self.ports.clock.now_ms(), ms(policy.lease))
                .await?
            {
                continue;
            }
            let (failure, attempts) = match self.settled_txn(row) {
                Ok(t) => match sink.post(&t).await {
                    Ok(()) => {
                        self.db.mark_logged(&txn).await?;
                        pass.posted += 1;
                        continue;
                    }
                    Err(f) => (f, attempts.saturating_add(1)),
                },
                // Its signed message does not decode: no attempt can ever succeed.
                Err(e) => (
                    PostFailure {
                        error: e.to_string(),
                        channel_wide: false,
                    },
                    policy.max_attempts,
                ),
            };
            pass.failed += 1;
            let dead = attempts >= policy.max_attempts;
            let wait = policy.backoff(attempts);
            let error: String = failure.error.chars().take(ERROR_CHARS).collect();
            self.db
                .log_failed(
                    &txn,
                    &LogFailure {
                        attempts,
                        next_at_ms: self.ports.clock.now_ms().saturating_add(ms(wait)),
                        error: &error,
                        dead,
                    },
                )
                .await?;
            if dead {
                pass.dead_lettered += 1;
                tracing::error!(
                    txn = %txn,
                    attempts,
                    error = %error,
                    "log channel post failed too often: set aside as a dead letter (list with \
                     `economy-bot log-channel dead-letters`, retry with `economy-bot log-channel retry`)"
                );
            } else {
                tracing::warn!(
                    txn = %txn,
                    attempts,
                    retry_in_secs = wait.as_secs(),
                    error = %error,
                    "log channel post failed; retrying later"
                );
            }
            if failure.channel_wide {
                break;
            }
        }
        Ok(pass)
    }

    /// Log-channel counts for monitoring: (movements waiting to be posted, dead letters).
    pub async fn log_queue_sizes(&self) -> Result<(i64, i64), ServiceError> {
        Ok(self.db.log_counts().await?)
    }

    /// The log channel's dead letters, oldest settlement first.
    pub async fn log_dead_letters(&self) -> Result<Vec<DeadLetter>, ServiceError> {
        Ok(self.db.log_dead_letters().await?)
    }

    /// Puts dead letters back in the queue (`txn` only, or all); returns how many came back.
    pub async fn retry_log_dead_letters(&self, txn: Option<&TxnId>) -> Result<u64, ServiceError> {
        Ok(self.db.retry_dead_letters(txn).await?)
    }
}
