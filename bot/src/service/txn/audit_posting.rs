//! The audit records the bot commits itself: they ride in the wallet's outbox until the audit
//! API acknowledges them, and wait in the bot database's retry queue.

use super::super::outcome::ServiceError;
use super::service::Service;
use shared::{AuditRecord, Wallet};

impl Service {
    /// Drops outbox records the audit API has acknowledged to this bot (keeps the rest).
    pub(super) async fn prune_outbox(&self, wallet: &mut Wallet) -> Result<(), ServiceError> {
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
    pub(super) async fn post_audit(&self, record: &AuditRecord) -> bool {
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
}
