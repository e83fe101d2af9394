//! The audit log port over the audit API's signed client.

use crate::service::{AuditLog, AuditPage, AuditQuery, BoxFut, PortError, Totals, TotalsQuery};
use audit_client::{AuditClient, ClientError, ListParams, TotalsParams};
use shared::{AuditRecord, TxnId};
use std::time::Duration;

const SERVICE: &str = "audit API";

/// [`AuditLog`] over [`AuditClient`] (the key needs `read+write`).
#[derive(Debug, Clone)]
pub struct ApiAuditLog {
    client: AuditClient,
}

impl ApiAuditLog {
    /// Wraps a client.
    pub fn new(client: AuditClient) -> Self {
        Self { client }
    }
}

fn port_error(e: ClientError) -> PortError {
    let detail = match &e {
        ClientError::Http(err) if err.is_connect() => "cannot connect".to_owned(),
        ClientError::Http(err) if err.is_timeout() => "timed out".to_owned(),
        ClientError::Http(_) => "request failed".to_owned(),
        ClientError::Api { status, .. } => format!("answered HTTP {status}"),
        ClientError::Decode(_) => "unexpected response".to_owned(),
        ClientError::Sign => "request could not be signed".to_owned(),
    };
    PortError::new(SERVICE, detail)
}

impl AuditLog for ApiAuditLog {
    fn post<'a>(&'a self, records: &'a [AuditRecord]) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            // One request per record: the idempotency key is then simply the txn id.
            for record in records {
                let key = format!("bot-{}", record.txn_id);
                self.client
                    .post_records(std::slice::from_ref(record), &key)
                    .await
                    .map_err(port_error)?;
            }
            Ok(())
        })
    }

    fn wait_for<'a>(
        &'a self,
        txn: &'a TxnId,
        wait: Duration,
    ) -> BoxFut<'a, Result<Option<AuditRecord>, PortError>> {
        Box::pin(async move {
            let wait = (wait.as_secs() > 0).then_some(wait);
            let found = self.client.get_txn(txn, wait).await.map_err(port_error)?;
            Ok(found.map(|logged| logged.record))
        })
    }

    fn list<'a>(&'a self, query: &'a AuditQuery) -> BoxFut<'a, Result<AuditPage, PortError>> {
        Box::pin(async move {
            let params = ListParams {
                user_id: query.user_id,
                actor: query.actor_id.clone(),
                limit: Some(query.limit.max(1)),
                cursor: query.cursor.clone(),
                since: query.since,
                until: query.until,
            };
            let page = self.client.list(&params).await.map_err(port_error)?;
            Ok(AuditPage {
                records: page.items.into_iter().map(|l| l.record).collect(),
                next_cursor: page.next_cursor,
            })
        })
    }

    fn totals<'a>(&'a self, query: &'a TotalsQuery) -> BoxFut<'a, Result<Totals, PortError>> {
        Box::pin(async move {
            let params = TotalsParams {
                group_by: query.group_by,
                user_id: query.user_id,
                actor: query.actor_id.clone(),
                since: query.since,
                until: query.until,
                limit: Some(query.limit.max(1)),
            };
            self.client.totals(&params).await.map_err(port_error)
        })
    }
}
