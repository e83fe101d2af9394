//! Following up pending txns: continued confirmation (e.g. to edit a receipt) and the
//! reconciler pass run at start-up and periodically.

use super::super::outcome::{Outcome, ServiceError};
use super::service::{Service, ms};
use shared::TxnId;
use std::time::Duration;

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

impl Service {
    /// Continues confirming one pending txn (e.g. to edit a receipt) for up to `budget`.
    pub async fn confirm(&self, txn: &TxnId, budget: Duration) -> Result<Outcome, ServiceError> {
        let Some(row) = self.db.get(txn).await? else {
            return Ok(Outcome::NotDelivered);
        };
        match &row.outcome {
            Outcome::Pending => {
                let cmd = self.command_of(&row)?;
                let deadline = self.ports.clock.now_ms() + ms(budget);
                self.drive(&cmd, &row.message, deadline, None, None).await
            }
            settled => Ok(settled.clone()),
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
}
