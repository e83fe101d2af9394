//! PostgreSQL backend: several replicas share one database.
//!
//! Each replica has one writer task that commits whatever queued up meanwhile in one transaction
//! (group commit, `group`), with set-based statements over arrays (`UNNEST`). Replicas serialise
//! the chain append with a transaction-scoped advisory lock, taken once per group rather than
//! once per request; a second lock per idempotency key (try-lock) turns a concurrent retry on
//! any replica into 409. Inserts NOTIFY a per-schema channel inside the transaction, so every
//! replica's long-polls wake on commit.

use super::group::{self, Job, PriorKey};
use super::summary::{Counters, SummaryDelta, add_counters};
use super::totals::{run_names, run_totals};
use super::{
    ActorNames, COLUMNS, ListBind, ListFilter, Store, StoreError, StoredResponse, TotalsFilter,
    TotalsRows, WriteOutcome, WriteRequest, decode_log_row, list_sql,
};
use crate::chain::{GENESIS, LogRow};
use crate::notify::Notifier;
use futures::future::BoxFuture;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Advisory-lock class of the chain head (one lock for the whole log).
const CHAIN_LOCK: (i32, i32) = (0x4543, 1);
/// Advisory-lock class of idempotency keys (objid = hash of client id and key).
const KEY_LOCK_CLASS: i32 = 0x4544;

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    notifier: Notifier,
    listener: parking_lot::Mutex<Option<JoinHandle<()>>>,
    jobs: mpsc::Sender<Job>,
    writer: parking_lot::Mutex<Option<JoinHandle<()>>>,
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
        let (jobs, rx) = mpsc::channel(4096);
        let writer = tokio::spawn(writer_loop(pool.clone(), channel, rx));
        Ok(Self {
            pool,
            notifier,
            listener: parking_lot::Mutex::new(Some(task)),
            jobs,
            writer: parking_lot::Mutex::new(Some(writer)),
        })
    }
}
async fn writer_loop(pool: PgPool, channel: String, mut rx: mpsc::Receiver<Job>) {
    while let Some(jobs) = group::next_group(&mut rx).await {
        let reqs: Vec<&WriteRequest> = jobs.iter().map(|j| &j.req).collect();
        match commit_group(&pool, &channel, &reqs).await {
            Ok(outcomes) => group::answer(jobs, outcomes),
            // One bad request must not spoil the others: retry them one per transaction.
            Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
                tracing::warn!(error = %e, size = jobs.len(), "group commit failed; retrying its requests one by one");
                for job in jobs {
                    match commit_group(&pool, &channel, &[&job.req]).await {
                        Ok(outcomes) => group::answer(vec![job], outcomes),
                        Err(e) => group::fail(vec![job], &e),
                    }
                }
            }
            Err(e) => group::fail(jobs, &e),
        }
    }
}

/// Most txn ids per NOTIFY payload (PostgreSQL caps a payload at 8000 bytes; an id is 26 + 1).
const IDS_PER_NOTIFY: usize = 200;

/// One group in one transaction; each request's outcome once the commit succeeded.
async fn commit_group(
    pool: &PgPool,
    channel: &str,
    reqs: &[&WriteRequest],
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut tx = pool.begin().await?;
    let clients: Vec<&str> = reqs.iter().map(|r| r.client_id.as_str()).collect();
    let keys: Vec<&str> = reqs.iter().map(|r| r.idem_key.as_str()).collect();
    // A key locked by another transaction (another replica) is in flight there: 409.
    let got: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_try_advisory_xact_lock($1, hashtext(u.c || chr(10) || u.k)) \
         FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS u(c, k, n) ORDER BY u.n",
    )
    .bind(KEY_LOCK_CLASS)
    .bind(&clients)
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await?;
    let mine: Vec<&WriteRequest> = reqs
        .iter()
        .zip(&got)
        .filter(|(_, g)| **g)
        .map(|(r, _)| *r)
        .collect();
    let mut priors = HashMap::new();
    for row in sqlx::query(
        "SELECT k.client_id, k.idem_key, k.fingerprint, k.response_code, k.response_body \
         FROM UNNEST($1::text[], $2::text[]) AS u(c, k) \
         JOIN idempotency_keys AS k ON k.client_id = u.c AND k.idem_key = u.k",
    )
    // Planned per call for the same reason as the txn-id lookup below.
    .persistent(false)
    .bind(&clients)
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await?
    {
        let status: i32 = row.try_get(3)?;
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
    let needs_chain = mine
        .iter()
        .any(|r| !priors.contains_key(&(r.client_id.clone(), r.idem_key.clone())));
    let mut head = (0, GENESIS.to_vec());
    let mut existing = HashMap::new();
    if needs_chain {
        // Held until commit: the chain head and the txn-id check are stable meanwhile.
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(CHAIN_LOCK.0)
            .bind(CHAIN_LOCK.1)
            .execute(&mut *tx)
            .await?;
        if let Some(r) =
            sqlx::query("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?
        {
            head = (r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?);
        }
        let ids: Vec<&str> = mine
            .iter()
            .flat_map(|r| r.records.iter().map(|rec| rec.txn_id.as_str()))
            .collect();
        // Not a cached prepared statement: after five runs PostgreSQL may switch a cached one to
        // a generic plan, and for `= ANY($1)` that plan can be a sequential scan of the whole
        // log (measured: 20-90 ms per group on a 20k-row log instead of well under 1 ms).
        for r in sqlx::query("SELECT txn_id, seq FROM audit_log WHERE txn_id = ANY($1)")
            .persistent(false)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
        {
            existing.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
        }
    }
    let plan = group::plan_group(&mine, &priors, &existing, head)?;
    if !plan.rows.is_empty() {
        insert_rows(&mut tx, &plan.rows).await?;
        // The running totals move with the log, in the same transaction (under the chain lock,
        // so replicas never race on a cell).
        add_to_summary(&mut tx, &SummaryDelta::of(&plan.rows)).await?;
        // Delivered to every listener when (and only if) the transaction commits.
        let payloads: Vec<String> = plan
            .rows
            .chunks(IDS_PER_NOTIFY)
            .map(|c| {
                c.iter()
                    .map(|r| r.txn_id.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        sqlx::query("SELECT pg_notify($1, p) FROM UNNEST($2::text[]) AS p")
            .bind(channel)
            .bind(&payloads)
            .execute(&mut *tx)
            .await?;
    }
    if !plan.keys.is_empty() {
        let k = &plan.keys;
        sqlx::query(
            "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_code, \
             response_body, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int4[], $5::text[], $6::int8[])",
        )
        .bind(k.iter().map(|k| k.client_id.as_str()).collect::<Vec<_>>())
        .bind(k.iter().map(|k| k.idem_key.as_str()).collect::<Vec<_>>())
        .bind(k.iter().map(|k| k.fingerprint.clone()).collect::<Vec<_>>())
        .bind(k.iter().map(|k| i32::from(k.response.status)).collect::<Vec<_>>())
        .bind(k.iter().map(|k| k.response.body.as_str()).collect::<Vec<_>>())
        .bind(k.iter().map(|k| k.created_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    plan.record_metrics();
    // Merge back the requests whose key was in flight elsewhere.
    let mut planned = plan.outcomes.into_iter();
    Ok(got
        .iter()
        .map(|g| {
            if *g {
                planned.next().unwrap_or(WriteOutcome::InFlight)
            } else {
                WriteOutcome::InFlight
            }
        })
        .collect())
}

/// Appends sealed rows with one statement (one array per column).
async fn insert_rows(tx: &mut sqlx::PgConnection, rows: &[LogRow]) -> Result<(), StoreError> {
    fn col<'a, T>(rows: &'a [LogRow], f: impl Fn(&'a LogRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    sqlx::query(
        "INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
         balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, \
         received_at, key_id, prev_hash, row_hash, reverses) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[], $5::text[], \
         $6::int8[], $7::text[], $8::text[], $9::int8[], $10::text[], $11::text[], $12::text[], \
         $13::text[], $14::int8[], $15::int8[], $16::int8[], $17::text[], $18::bytea[], $19::bytea[], \
         $20::text[])",
    )
    .bind(col(rows, |r| r.seq))
    .bind(col(rows, |r| r.txn_id.as_str()))
    .bind(col(rows, |r| r.source.as_str()))
    .bind(col(rows, |r| r.user_id))
    .bind(col(rows, |r| r.op.as_str()))
    .bind(col(rows, |r| r.amount))
    .bind(col(rows, |r| r.outcome.as_str()))
    .bind(col(rows, |r| r.reject_reason.as_deref()))
    .bind(col(rows, |r| r.balance_after))
    .bind(col(rows, |r| r.reason.as_str()))
    .bind(col(rows, |r| r.actor_id.as_deref()))
    .bind(col(rows, |r| r.actor_name.as_deref()))
    .bind(col(rows, |r| r.server_job_id.as_deref()))
    .bind(col(rows, |r| r.issued_at))
    .bind(col(rows, |r| r.applied_at))
    .bind(col(rows, |r| r.received_at))
    .bind(col(rows, |r| r.key_id.as_str()))
    .bind(col(rows, |r| r.prev_hash.clone()))
    .bind(col(rows, |r| r.row_hash.clone()))
    .bind(col(rows, |r| r.reverses.as_deref()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds a group's cells to the running totals (one upsert per table, one array per column).
async fn add_to_summary(tx: &mut sqlx::PgConnection, d: &SummaryDelta) -> Result<(), StoreError> {
    fn counters<K>(cells: &[(K, Counters)]) -> [Vec<i64>; 7] {
        std::array::from_fn(|i| cells.iter().map(|(_, c)| c[i]).collect())
    }
    let tail = "FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
        $6::int8[], $7::int8[], $8::int8[], $9::int8[])";
    let upsert = |table: &str, key: &str, key_type: &str| {
        format!(
            "INSERT INTO {table} (hour, {key}, given_hi, given_lo, deducted_hi, deducted_lo, \
             gives, deducts, rejected) SELECT * {} ON CONFLICT (hour, {key}) DO UPDATE SET {}",
            tail.replace("$2::int8[]", &format!("$2::{key_type}[]")),
            add_counters(table)
        )
    };
    if !d.by_actor.is_empty() {
        let sql = upsert("totals_by_actor", "actor_id", "text");
        let q = sqlx::query(&sql)
            .bind(d.by_actor.iter().map(|((h, _), _)| *h).collect::<Vec<_>>())
            .bind(
                d.by_actor
                    .iter()
                    .map(|((_, a), _)| a.as_str())
                    .collect::<Vec<_>>(),
            );
        counters(&d.by_actor)
            .into_iter()
            .fold(q, |q, col| q.bind(col))
            .execute(&mut *tx)
            .await?;
    }
    if !d.by_user.is_empty() {
        let sql = upsert("totals_by_user", "user_id", "int8");
        let q = sqlx::query(&sql)
            .bind(d.by_user.iter().map(|((h, _), _)| *h).collect::<Vec<_>>())
            .bind(d.by_user.iter().map(|((_, u), _)| *u).collect::<Vec<_>>());
        counters(&d.by_user)
            .into_iter()
            .fold(q, |q, col| q.bind(col))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
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

/// Rows with seq > `after`, ascending (also used by the read-only verifier).
pub(crate) async fn chain_page(
    pool: &PgPool,
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
        Box::pin(group::submit(&self.jobs, req))
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
            let rows = ListBind::query(&sql, binds).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| decode_log_row!(r).map_err(StoreError::from))
                .collect()
        })
    }

    fn totals(&self, t: TotalsFilter) -> BoxFuture<'_, Result<TotalsRows, StoreError>> {
        Box::pin(
            async move { run_totals!(&self.pool, &t, |e| format!("sum(({e})::float8)"), None) },
        )
    }

    fn actor_names(&self, actors: Vec<String>) -> BoxFuture<'_, Result<ActorNames, StoreError>> {
        Box::pin(async move { run_names!(&self.pool, &actors) })
    }

    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        Box::pin(chain_page(&self.pool, after, limit))
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
            if let Some(w) = self.writer.lock().take() {
                w.abort();
            }
            self.pool.close().await;
        })
    }
}
