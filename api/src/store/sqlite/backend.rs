//! [`Store`] for [`SqliteStore`]: writes go to the writer task, reads to the read pool.

use super::open::SqliteStore;
use super::queries::{chain_page, user_list_sql};
use crate::chain::LogRow;
use crate::notify::Notifier;
use crate::store::group;
use crate::store::totals::{run_names, run_totals};
use crate::store::{
    ActorNames, COLUMNS, ListBind, ListFilter, Store, StoreError, TotalsFilter, TotalsRows,
    WriteOutcome, WriteRequest, decode_log_row, list_sql,
};
use futures::future::BoxFuture;

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("SELECT count(*) FROM idempotency_keys WHERE 0")
                .fetch_one(&self.read)
                .await?;
            sqlx::query("SELECT seq FROM audit_log LIMIT 0")
                .fetch_all(&self.read)
                .await?;
            Ok(())
        })
    }

    fn write(&self, req: WriteRequest) -> BoxFuture<'_, Result<WriteOutcome, StoreError>> {
        Box::pin(group::submit(&self.jobs, req))
    }

    fn get(&self, txn_id: &str) -> BoxFuture<'_, Result<Option<LogRow>, StoreError>> {
        let txn_id = txn_id.to_owned();
        Box::pin(async move {
            let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE txn_id = $1");
            let row = sqlx::query(&sql)
                .bind(txn_id)
                .fetch_optional(&self.read)
                .await?;
            Ok(match row {
                Some(r) => Some(decode_log_row!(&r)?),
                None => None,
            })
        })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        Box::pin(async move {
            let (sql, binds) = if filter.user_id.is_some() {
                user_list_sql(&filter)
            } else {
                list_sql(&filter)
            };
            let rows = ListBind::query(&sql, binds).fetch_all(&self.read).await?;
            rows.iter()
                .map(|r| decode_log_row!(r).map_err(StoreError::from))
                .collect()
        })
    }

    fn totals(&self, t: TotalsFilter) -> BoxFuture<'_, Result<TotalsRows, StoreError>> {
        Box::pin(async move {
            run_totals!(
                &self.read,
                &t,
                |e| format!("total({e})"),
                Some(super::queries::USER_BUCKET_BITS)
            )
        })
    }

    fn actor_names(&self, actors: Vec<String>) -> BoxFuture<'_, Result<ActorNames, StoreError>> {
        Box::pin(async move { run_names!(&self.read, &actors) })
    }

    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        Box::pin(chain_page(&self.read, after, limit))
    }

    fn purge_keys(&self, before_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
            let n = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.writer.abort();
            self.read.close().await;
            self.write.close().await;
        })
    }
}
