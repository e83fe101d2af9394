//! Log-channel delivery, framework-free: settled movements handed one by one to a [`LogSink`]
//! (the Discord channel in production, a fake in tests).

use super::super::outcome::ServiceError;
use super::super::ports::BoxFut;
use super::service::{Service, SettledTxn};

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
    /// Posts one movement; `Ok` once the channel accepted it.
    fn post<'a>(&'a self, t: &'a SettledTxn) -> BoxFut<'a, Result<(), PostFailure>>;
}

/// How log-channel delivery retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPolicy {
    /// Movements read per pass.
    pub batch: u32,
    /// Failed posts of one movement before it is set aside.
    pub max_attempts: u32,
}

impl LogPolicy {
    /// The defaults, with `max_attempts` failures before a movement is set aside.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            batch: 20,
            max_attempts,
        }
    }
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LogPass {
    /// Posts the channel accepted.
    pub posted: u32,
    /// Posts that failed.
    pub failed: u32,
}

impl Service {
    /// Posts up to `batch` settled movements to `sink`, each claimed in the database first so
    /// several bot replicas never post the same txn twice; a failed post is released and the
    /// pass ends (the next pass retries).
    pub async fn deliver_logs(
        &self,
        sink: &dyn LogSink,
        policy: &LogPolicy,
    ) -> Result<LogPass, ServiceError> {
        let mut pass = LogPass::default();
        for t in self.unlogged(policy.batch).await? {
            if !self.db.claim_logged(&t.txn).await? {
                continue;
            }
            match sink.post(&t).await {
                Ok(()) => pass.posted += 1,
                Err(f) => {
                    pass.failed += 1;
                    tracing::warn!(error = %f.error, txn = %t.txn, "log channel post failed; retrying later");
                    self.db.release_logged(&t.txn).await?;
                    return Ok(pass);
                }
            }
        }
        Ok(pass)
    }
}
