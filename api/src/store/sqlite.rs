//! SQLite backend: WAL, busy timeout, one writer task committing groups with `BEGIN IMMEDIATE`.

use super::{
    COLUMNS, ListBind, ListFilter, Store, StoreError, StoredResponse, WriteOutcome, WriteRequest,
    bind_log_row, decode_log_row, encode_response, insert_sql, list_sql, placeholders, plan_batch,
};
use crate::chain::{GENESIS, LogRow};
use crate::notify::Notifier;
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Acquire as _, Row as _};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Durability of a commit (`PRAGMA synchronous` in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSync {
    /// fsync on every commit: a 2xx survives power loss.
    Full,
    /// fsync at checkpoints only: survives process crashes, may lose the last commits on power loss.
    Normal,
}

/// Most requests committed together in one group.
const MAX_GROUP: usize = 128;

/// One queued write and where its answer goes.
struct Job {
    req: WriteRequest,
    reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// The SQLite store.
///
/// SQLite has one writer at a time, so writes go to a single writer task that commits whatever
/// has queued up meanwhile in one `BEGIN IMMEDIATE` transaction (group commit), each request
/// inside its own savepoint so one failure does not spoil the others. Answers are sent only
/// after the commit, so a 2xx always means durable (at the configured `synchronous` level).
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    notifier: Notifier,
    jobs: mpsc::Sender<Job>,
    writer: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// Connect options with the durability and concurrency settings every connection needs.
pub fn connect_options(url: &str, sync: SqliteSync) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match sync {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        })
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true))
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://path`).
    pub async fn connect(
        url: &str,
        sync: SqliteSync,
        read_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let opts = connect_options(url, sync)?;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(read_connections.max(1))
            .acquire_timeout(acquire_timeout)
            .connect_with(opts.read_only(true))
            .await?;
        let notifier = Notifier::new();
        let (jobs, rx) = mpsc::channel(4096);
        let writer = tokio::spawn(writer_loop(write.clone(), rx, notifier.clone()));
        Ok(Self {
            write,
            read,
            notifier,
            jobs,
            writer: parking_lot::Mutex::new(Some(writer)),
        })
    }

    async fn write_inner(&self, req: WriteRequest) -> Result<WriteOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { req, reply })
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?
    }
}

async fn writer_loop(pool: SqlitePool, mut rx: mpsc::Receiver<Job>, notifier: Notifier) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        run_group(&pool, jobs, &notifier).await;
    }
}

type Head = (i64, Vec<u8>);

async fn run_group(pool: &SqlitePool, jobs: Vec<Job>, notifier: &Notifier) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let msg = e.to_string();
            for j in jobs {
                let _ = j.reply.send(Err(StoreError::Group(msg.clone())));
            }
            return;
        }
    };
    let mut head: Option<Head> = None;
    let mut done = Vec::with_capacity(jobs.len());
    let mut inserted = Vec::new();
    for job in jobs {
        let result = async {
            let mut sp = (&mut tx).begin().await?;
            let h = match head.clone() {
                Some(h) => h,
                None => read_head(&mut sp).await?,
            };
            let (outcome, new_head, ids) = write_one(&mut sp, &job.req, h).await?;
            sp.commit().await?;
            Ok::<_, StoreError>((outcome, new_head, ids))
        }
        .await;
        match result {
            Ok((outcome, new_head, ids)) => {
                head = Some(new_head);
                inserted.extend(ids);
                done.push((job.reply, Ok(outcome)));
            }
            // The savepoint rolled back when dropped; the head is re-read from the database.
            Err(e) => {
                head = None;
                done.push((job.reply, Err(e)));
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            notifier.inserted(inserted);
            for (reply, r) in done {
                let _ = reply.send(r);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::Group(msg.clone())));
            }
        }
    }
}

async fn read_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let head = sqlx::query("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match head {
        Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?),
        None => (0, GENESIS.to_vec()),
    })
}

/// One request inside the group transaction: returns its outcome, the new head and the ids stored.
async fn write_one(
    conn: &mut SqliteConnection,
    req: &WriteRequest,
    head: Head,
) -> Result<(WriteOutcome, Head, Vec<String>), StoreError> {
    let prior = sqlx::query(
        "SELECT fingerprint, response_code, response_body FROM idempotency_keys \
         WHERE client_id = $1 AND idem_key = $2",
    )
    .bind(&req.client_id)
    .bind(&req.idem_key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = prior {
        let fp: Vec<u8> = row.try_get(0)?;
        if fp != req.fingerprint {
            return Ok((WriteOutcome::Mismatch, head, Vec::new()));
        }
        let status: i64 = row.try_get(1)?;
        let stored = StoredResponse {
            status: u16::try_from(status).map_err(|_| StoreError::Encoding)?,
            body: row.try_get(2)?,
        };
        return Ok((WriteOutcome::Replayed(stored), head, Vec::new()));
    }
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
    for r in q.fetch_all(&mut *conn).await? {
        existing.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
    }
    let (rows, resp) = plan_batch(req, &existing, head.0, head.1.clone());
    if !rows.is_empty() {
        let sql = insert_sql(rows.len());
        let mut q = sqlx::query(&sql);
        for row in &rows {
            q = bind_log_row!(q, row);
        }
        q.execute(&mut *conn).await?;
    }
    let stored = encode_response(&resp)?;
    sqlx::query(
        "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_code, \
         response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&req.client_id)
    .bind(&req.idem_key)
    .bind(req.fingerprint.as_slice())
    .bind(i64::from(stored.status))
    .bind(&stored.body)
    .bind(req.received_at)
    .execute(&mut *conn)
    .await?;
    let new_head = rows
        .last()
        .map(|r| (r.seq, r.row_hash.clone()))
        .unwrap_or(head);
    Ok((
        WriteOutcome::Done(stored),
        new_head,
        rows.into_iter().map(|r| r.txn_id).collect(),
    ))
}

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
        Box::pin(self.write_inner(req))
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
            let (sql, binds) = list_sql(&filter);
            let mut q = sqlx::query(&sql);
            for b in binds {
                q = match b {
                    ListBind::Int(i) => q.bind(i),
                    ListBind::Text(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(&self.read).await?;
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
                .fetch_all(&self.read)
                .await?;
            rows.iter()
                .map(|r| decode_log_row!(r).map_err(StoreError::from))
                .collect()
        })
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
            if let Some(w) = self.writer.lock().take() {
                w.abort();
            }
            self.read.close().await;
            self.write.close().await;
        })
    }
}
