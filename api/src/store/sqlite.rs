//! SQLite backend: WAL, busy timeout, one writer task committing groups with `BEGIN IMMEDIATE`.

use super::group::{self, Job, PriorKey};
use super::{
    COLUMNS, ListBind, ListFilter, Store, StoreError, StoredResponse, WriteOutcome, WriteRequest,
    decode_log_row, list_sql,
};
use crate::chain::{GENESIS, LogRow};
use crate::notify::Notifier;
use futures::future::BoxFuture;
use sqlx::Row as _;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Durability of a commit (`PRAGMA synchronous` in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSync {
    /// fsync on every commit: a 2xx survives power loss.
    Full,
    /// fsync at checkpoints only: survives process crashes, may lose the last commits on power loss.
    Normal,
}

/// The SQLite store.
///
/// SQLite has one writer at a time, so writes go to a single writer task that commits whatever
/// has queued up meanwhile in one `BEGIN IMMEDIATE` transaction (group commit, `group`) with a
/// constant handful of statements. Answers are sent only after the commit, so a 2xx always means
/// durable (at the configured `synchronous` level).
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
}

async fn writer_loop(pool: SqlitePool, mut rx: mpsc::Receiver<Job>, notifier: Notifier) {
    while let Some(jobs) = group::next_group(&mut rx).await {
        run_group(&pool, jobs, &notifier).await;
    }
}

/// Commits a group; if it fails for a reason other than the database being unavailable, its
/// requests are retried one per transaction so one bad request cannot spoil the others.
async fn run_group(pool: &SqlitePool, jobs: Vec<Job>, notifier: &Notifier) {
    let reqs: Vec<&WriteRequest> = jobs.iter().map(|j| &j.req).collect();
    match commit_group(pool, &reqs).await {
        Ok((outcomes, ids)) => {
            notifier.inserted(ids);
            group::answer(jobs, outcomes);
        }
        Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
            tracing::warn!(error = %e, size = jobs.len(), "group commit failed; retrying its requests one by one");
            for job in jobs {
                match commit_group(pool, &[&job.req]).await {
                    Ok((outcomes, ids)) => {
                        notifier.inserted(ids);
                        group::answer(vec![job], outcomes);
                    }
                    Err(e) => group::fail(vec![job], &e),
                }
            }
        }
        Err(e) => group::fail(jobs, &e),
    }
}

/// Serialises a row as a JSON array in `COLUMNS` order (hashes as hex) for `json_each`.
struct RowJson<'a>(&'a LogRow);

impl serde::Serialize for RowJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let r = self.0;
        let mut seq = s.serialize_seq(Some(19))?;
        seq.serialize_element(&r.seq)?;
        seq.serialize_element(&r.txn_id)?;
        seq.serialize_element(&r.source)?;
        seq.serialize_element(&r.user_id)?;
        seq.serialize_element(&r.op)?;
        seq.serialize_element(&r.amount)?;
        seq.serialize_element(&r.outcome)?;
        seq.serialize_element(&r.reject_reason)?;
        seq.serialize_element(&r.balance_after)?;
        seq.serialize_element(&r.reason)?;
        seq.serialize_element(&r.actor_id)?;
        seq.serialize_element(&r.actor_name)?;
        seq.serialize_element(&r.server_job_id)?;
        seq.serialize_element(&r.issued_at)?;
        seq.serialize_element(&r.applied_at)?;
        seq.serialize_element(&r.received_at)?;
        seq.serialize_element(&r.key_id)?;
        seq.serialize_element(&hex::encode(&r.prev_hash))?;
        seq.serialize_element(&hex::encode(&r.row_hash))?;
        seq.end()
    }
}

// Set-based statements with ONE bound parameter (a JSON array unpacked by json_each): the SQL
// text is constant, so each is prepared once per connection and cached, whatever the group size.
const SELECT_PRIORS: &str = "SELECT k.client_id, k.idem_key, k.fingerprint, k.response_code, \
    k.response_body FROM json_each($1) AS j CROSS JOIN idempotency_keys AS k \
    ON k.client_id = j.value ->> 0 AND k.idem_key = j.value ->> 1";
const SELECT_EXISTING: &str = "SELECT a.txn_id, a.seq FROM json_each($1) AS j CROSS JOIN audit_log AS a ON a.txn_id = j.value";
const INSERT_ROWS: &str = "INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, \
    outcome, reject_reason, balance_after, reason, actor_id, actor_name, server_job_id, issued_at, \
    applied_at, received_at, key_id, prev_hash, row_hash) \
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
    value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, \
    value ->> 13, value ->> 14, value ->> 15, value ->> 16, unhex(value ->> 17), \
    unhex(value ->> 18) FROM json_each($1)";
const INSERT_KEYS: &str = "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, \
    response_code, response_body, created_at) SELECT value ->> 0, value ->> 1, \
    unhex(value ->> 2), value ->> 3, value ->> 4, value ->> 5 FROM json_each($1)";

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|_| StoreError::Encoding)
}

/// One group in one `BEGIN IMMEDIATE` transaction: returns each request's outcome and the txn
/// ids stored, only once the commit succeeded.
async fn commit_group(
    pool: &SqlitePool,
    reqs: &[&WriteRequest],
) -> Result<(Vec<WriteOutcome>, Vec<String>), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let head = read_head(&mut tx).await?;
    let pairs: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.client_id.as_str(), r.idem_key.as_str()))
        .collect();
    let mut priors = HashMap::new();
    for row in sqlx::query(SELECT_PRIORS)
        .bind(to_json(&pairs)?)
        .fetch_all(&mut *tx)
        .await?
    {
        let status: i64 = row.try_get(3)?;
        priors.insert(
            (row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?),
            PriorKey {
                fingerprint: row.try_get(2)?,
                response: StoredResponse {
                    status: u16::try_from(status).map_err(|_| StoreError::Encoding)?,
                    body: row.try_get(4)?,
                },
            },
        );
    }
    let ids: Vec<&str> = reqs
        .iter()
        .flat_map(|r| r.records.iter().map(|rec| rec.txn_id.as_str()))
        .collect();
    let mut existing = HashMap::new();
    for r in sqlx::query(SELECT_EXISTING)
        .bind(to_json(&ids)?)
        .fetch_all(&mut *tx)
        .await?
    {
        existing.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
    }
    let plan = group::plan_group(reqs, &priors, &existing, head)?;
    if !plan.rows.is_empty() {
        let rows: Vec<RowJson<'_>> = plan.rows.iter().map(RowJson).collect();
        sqlx::query(INSERT_ROWS)
            .bind(to_json(&rows)?)
            .execute(&mut *tx)
            .await?;
    }
    if !plan.keys.is_empty() {
        let keys: Vec<_> = plan
            .keys
            .iter()
            .map(|k| {
                (
                    &k.client_id,
                    &k.idem_key,
                    hex::encode(&k.fingerprint),
                    k.response.status,
                    &k.response.body,
                    k.created_at,
                )
            })
            .collect();
        sqlx::query(INSERT_KEYS)
            .bind(to_json(&keys)?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    plan.record_metrics();
    Ok((
        plan.outcomes,
        plan.rows.into_iter().map(|r| r.txn_id).collect(),
    ))
}

type Head = (i64, Vec<u8>);

async fn read_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let head = sqlx::query("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match head {
        Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?),
        None => (0, GENESIS.to_vec()),
    })
}

/// Rows with seq > `after`, ascending (also used by the read-only verifier).
pub(crate) async fn chain_page(
    pool: &SqlitePool,
    after: i64,
    limit: i64,
) -> Result<Vec<LogRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| decode_log_row!(r).map_err(StoreError::from))
        .collect()
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
            if let Some(w) = self.writer.lock().take() {
                w.abort();
            }
            self.read.close().await;
            self.write.close().await;
        })
    }
}
