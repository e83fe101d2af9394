//! PostgreSQL backend: several replicas share one database.
//!
//! Writers serialise the chain append with a transaction-scoped advisory lock; a second lock per
//! idempotency key (try-lock) turns a concurrent retry on any replica into 409. Inserts NOTIFY a
//! per-schema channel inside the transaction, so every replica's long-polls wake on commit.

use super::{
    COLUMNS, ListBind, ListFilter, Store, StoreError, StoredResponse, WriteOutcome, WriteRequest,
    bind_log_row, decode_log_row, encode_response, insert_sql, list_sql, placeholders, plan_batch,
};
use crate::chain::{GENESIS, LogRow};
use crate::notify::Notifier;
use futures::future::BoxFuture;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Advisory-lock class of the chain head (one lock for the whole log).
const CHAIN_LOCK: (i32, i32) = (0x4543, 1);
/// Advisory-lock class of idempotency keys (objid = hash of client id and key).
const KEY_LOCK_CLASS: i32 = 0x4544;

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    channel: String,
    notifier: Notifier,
    listener: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgStore")
    }
}

impl PgStore {
    /// Connects, migrates, and starts the LISTEN task.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(acquire_timeout)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        // Replicas on the same schema share the channel; other schemas (test runs) stay apart.
        let channel: String = format!("audit_log_{schema}").chars().take(63).collect();
        let notifier = Notifier::new();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(&channel).await?;
        let task = tokio::spawn(listen(listener, notifier.clone()));
        Ok(Self {
            pool,
            channel,
            notifier,
            listener: parking_lot::Mutex::new(Some(task)),
        })
    }

    async fn write_inner(&self, req: WriteRequest) -> Result<WriteOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let got: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2 || chr(10) || $3))",
        )
        .bind(KEY_LOCK_CLASS)
        .bind(&req.client_id)
        .bind(&req.idem_key)
        .fetch_one(&mut *tx)
        .await?;
        if !got {
            tx.rollback().await?;
            return Ok(WriteOutcome::InFlight);
        }
        let prior = sqlx::query(
            "SELECT fingerprint, response_code, response_body FROM idempotency_keys \
             WHERE client_id = $1 AND idem_key = $2",
        )
        .bind(&req.client_id)
        .bind(&req.idem_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = prior {
            let fp: Vec<u8> = row.try_get(0)?;
            tx.rollback().await?;
            if fp != req.fingerprint {
                return Ok(WriteOutcome::Mismatch);
            }
            let status: i32 = row.try_get(1)?;
            return Ok(WriteOutcome::Replayed(StoredResponse {
                status: u16::try_from(status).map_err(|_| StoreError::Encoding)?,
                body: row.try_get(2)?,
            }));
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(CHAIN_LOCK.0)
            .bind(CHAIN_LOCK.1)
            .execute(&mut *tx)
            .await?;
        let head = sqlx::query("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (head_seq, head_hash) = match head {
            Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?),
            None => (0, GENESIS.to_vec()),
        };
        let ids: Vec<&str> = req.records.iter().map(|r| r.txn_id.as_str()).collect();
        let sql = format!(
            "SELECT txn_id, seq FROM audit_log WHERE txn_id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        let mut existing = HashMap::new();
        for r in q.fetch_all(&mut *tx).await? {
            existing.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
        }
        let (rows, resp) = plan_batch(&req, &existing, head_seq, head_hash);
        if !rows.is_empty() {
            let sql = insert_sql(rows.len());
            let mut q = sqlx::query(&sql);
            for row in &rows {
                q = bind_log_row!(q, row);
            }
            q.execute(&mut *tx).await?;
            // Delivered to every listener when (and only if) the transaction commits.
            let ids: Vec<&str> = rows.iter().map(|r| r.txn_id.as_str()).collect();
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&self.channel)
                .bind(ids.join(","))
                .execute(&mut *tx)
                .await?;
        }
        let stored = encode_response(&resp)?;
        sqlx::query(
            "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_code, \
             response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&req.client_id)
        .bind(&req.idem_key)
        .bind(req.fingerprint.as_slice())
        .bind(i32::from(stored.status))
        .bind(&stored.body)
        .bind(req.received_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(WriteOutcome::Done(stored))
    }
}

/// Forwards NOTIFY payloads (comma-separated txn ids) to the notifier until the store closes.
async fn listen(mut listener: PgListener, notifier: Notifier) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => notifier.inserted(n.payload().split(',').map(str::to_owned).collect()),
            // Connection lost: sqlx reconnects and re-LISTENs on the next call; anything
            // announced meanwhile is lost, so waiters look again.
            Ok(None) => notifier.resync(),
            Err(e) => {
                tracing::warn!(error = %e, "audit LISTEN connection failed; retrying");
                notifier.resync();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("SELECT seq FROM audit_log LIMIT 0")
                .fetch_all(&self.pool)
                .await?;
            sqlx::query("SELECT created_at FROM idempotency_keys LIMIT 0")
                .fetch_all(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn write(&self, req: WriteRequest) -> BoxFuture<'_, Result<WriteOutcome, StoreError>> {
        Box::pin(self.write_inner(req))
    }

    fn get(&self, txn_id: &str) -> BoxFuture<'_, Result<Option<LogRow>, StoreError>> {
        let txn_id = txn_id.to_owned();
        Box::pin(async move {
            let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE txn_id = $1");
            let row = sqlx::query(&sql)
                .bind(txn_id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                Some(r) => Some(decode_log_row!(&r)?),
                None => None,
            })
        })
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        Box::pin(async move {
            let (sql, binds) = list_sql(&filter);
            let mut q = sqlx::query(&sql);
            for b in binds {
                q = match b {
                    ListBind::Int(i) => q.bind(i),
                    ListBind::Text(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| decode_log_row!(r).map_err(StoreError::from))
                .collect()
        })
    }

    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        Box::pin(async move {
            let sql =
                format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
            let rows = sqlx::query(&sql)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| decode_log_row!(r).map_err(StoreError::from))
                .collect()
        })
    }

    fn purge_keys(&self, before_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            Ok(
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await?
                    .rows_affected(),
            )
        })
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(task) = self.listener.lock().take() {
                task.abort();
            }
            self.pool.close().await;
        })
    }
}
