//! SQLite backend: WAL, busy timeout, one writer thread committing groups with `BEGIN IMMEDIATE`.

use super::group::{self, Job, KeyRow, PriorKey};
use super::{
    COLUMNS, Conditions, ListBind, ListFilter, Store, StoreError, StoredResponse, WriteOutcome,
    WriteRequest, decode_log_row, list_sql,
};
use crate::chain::{GENESIS, LogRow};
use crate::notify::Notifier;
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

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
/// SQLite has one writer at a time, so writes go to a single writer task (on its own thread, with
/// its own connection) that commits whatever has queued up meanwhile in one `BEGIN IMMEDIATE`
/// transaction (group commit, `group`) with a handful of statements. Answers are sent only after the commit, so a 2xx always means
/// durable (at the configured `synchronous` level).
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    notifier: Notifier,
    jobs: mpsc::Sender<Job>,
    writer: AbortHandle,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// WAL pages between automatic checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 4_000;

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
        // Checkpoint every 4,000 WAL pages (16 MiB at 4 KiB) instead of SQLite's 1,000: index
        // pages that many commits dirty are copied back once per checkpoint, so batch loads
        // write less (docs/benchmarks.md).
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
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
            .connect_with(opts.clone().read_only(true))
            .await?;
        let notifier = Notifier::new();
        let (jobs, rx) = mpsc::channel(4096);
        let writer = spawn_writer(writer_loop(opts.clone(), rx, notifier.clone()))?;
        Ok(Self {
            write,
            read,
            notifier,
            jobs,
            writer,
        })
    }
}

/// Runs the writer task on a thread of its own. Every group crosses several awaits between the
/// task and SQLite's worker thread; on the shared runtime each of those waited behind the HTTP
/// tasks parsing the next requests, which left the database idle for milliseconds per group.
fn spawn_writer(
    task: impl Future<Output = ()> + Send + 'static,
) -> Result<AbortHandle, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
    let handle = runtime.spawn(task);
    let abort = handle.abort_handle();
    std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || {
            // Ends when the task returns or is aborted by `close`.
            let _ = runtime.block_on(handle);
        })
        .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
    Ok(abort)
}

/// The writer task. It owns one connection for its whole life: a pooled one goes back to the
/// pool through a spawned task and is pinged on every checkout, which under load cost each group
/// milliseconds of waiting for a busy runtime. After the database was unavailable it reconnects.
async fn writer_loop(opts: SqliteConnectOptions, mut rx: mpsc::Receiver<Job>, notifier: Notifier) {
    let mut conn: Option<SqliteConnection> = None;
    while let Some(jobs) = group::next_group(&mut rx).await {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match opts.connect().await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    group::fail(jobs, &StoreError::from(e));
                    continue;
                }
            },
        };
        if run_group(c, jobs, &notifier).await == ConnHealth::Suspect {
            conn = None;
        }
    }
}

/// Whether the writer's connection may be reused after a group.
#[derive(Debug, PartialEq, Eq)]
enum ConnHealth {
    Fine,
    Suspect,
}

/// Commits a group; if it fails for a reason other than the database being unavailable, its
/// requests are retried one per transaction so one bad request cannot spoil the others.
async fn run_group(conn: &mut SqliteConnection, jobs: Vec<Job>, notifier: &Notifier) -> ConnHealth {
    let reqs: Vec<&WriteRequest> = jobs.iter().map(|j| &j.req).collect();
    match commit_group(conn, &reqs).await {
        Ok((outcomes, ids)) => {
            notifier.inserted(ids);
            group::answer(jobs, outcomes);
            ConnHealth::Fine
        }
        Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
            tracing::warn!(error = %e, size = jobs.len(), "group commit failed; retrying its requests one by one");
            for job in jobs {
                match commit_group(conn, &[&job.req]).await {
                    Ok((outcomes, ids)) => {
                        notifier.inserted(ids);
                        group::answer(vec![job], outcomes);
                    }
                    Err(e) => group::fail(vec![job], &e),
                }
            }
            ConnHealth::Fine
        }
        Err(e) => {
            let health = if e.is_unavailable() {
                ConnHealth::Suspect
            } else {
                ConnHealth::Fine
            };
            group::fail(jobs, &e);
            health
        }
    }
}

// Lookups take ONE bound parameter, a JSON array unpacked by json_each: the SQL text is
// constant, so each is prepared once per connection and cached, whatever the group size.
const SELECT_PRIORS: &str = "SELECT k.client_id, k.idem_key, k.fingerprint, k.response_code, \
    k.response_body FROM json_each($1) AS j CROSS JOIN idempotency_keys AS k \
    ON k.client_id = j.value ->> 0 AND k.idem_key = j.value ->> 1";
const SELECT_EXISTING: &str = "SELECT a.txn_id, a.seq FROM json_each($1) AS j CROSS JOIN audit_log AS a ON a.txn_id = j.value";

// Inserts bind every column of up to `MAX_CHUNK` rows in one multi-row VALUES statement. Unpacking
// a JSON array in SQL cost the single writer about a third of its time; binding is cheap as long
// as the placeholders are anonymous `?`: sqlx looks up each numbered parameter's name, a linear
// scan inside SQLite, which makes `$N` quadratic in a statement's width. Chunks are powers of two
// so a connection caches at most ten statements per table.
const MAX_CHUNK: usize = 512;
const LOG_COLUMNS: usize = 19;
// SQLite refuses statements with more than 32,766 parameters.
const _: () = assert!(MAX_CHUNK * LOG_COLUMNS <= 32_766);
static LOG_INSERT: Insert = Insert::new(
    "INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
     balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, \
     received_at, key_id, prev_hash, row_hash) VALUES ",
    LOG_COLUMNS,
);
static KEY_INSERT: Insert = Insert::new(
    "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_code, \
     response_body, created_at) VALUES ",
    6,
);

/// A multi-row INSERT: its head up to `VALUES`, its column count, and its SQL text per chunk size.
struct Insert {
    head: &'static str,
    columns: usize,
    sql: OnceLock<Vec<String>>,
}

impl Insert {
    const fn new(head: &'static str, columns: usize) -> Self {
        Self {
            head,
            columns,
            sql: OnceLock::new(),
        }
    }

    /// The SQL text for `rows` (a power of two up to `MAX_CHUNK`), built once per size.
    fn sql(&'static self, rows: usize) -> &'static str {
        let all = self.sql.get_or_init(|| {
            (0..=MAX_CHUNK.trailing_zeros())
                .map(|p| values_sql(self.head, self.columns, 1 << p))
                .collect()
        });
        all[rows.trailing_zeros() as usize].as_str()
    }
}

/// `head` followed by `rows` tuples of `columns` anonymous placeholders.
fn values_sql(head: &str, columns: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; columns].join(","));
    format!("{head}{}", vec![tuple; rows].join(","))
}

/// Splits `len` items into power-of-two chunks of at most `MAX_CHUNK`, largest first.
fn chunks(len: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let left = len - at;
        (left > 0).then(|| {
            let size = if left >= MAX_CHUNK {
                MAX_CHUNK
            } else {
                1 << left.ilog2()
            };
            at += size;
            at - size..at
        })
    })
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Inserts `items` in chunks, `bind` adding one item's columns in the statement's order.
async fn insert_chunked<T>(
    conn: &mut SqliteConnection,
    insert: &'static Insert,
    items: &[T],
    bind: for<'q> fn(SqliteQuery<'q>, &'q T) -> SqliteQuery<'q>,
) -> Result<(), StoreError> {
    for range in chunks(items.len()) {
        let q = sqlx::query(insert.sql(range.len()));
        items[range]
            .iter()
            .fold(q, bind)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn bind_row<'q>(q: SqliteQuery<'q>, r: &'q LogRow) -> SqliteQuery<'q> {
    q.bind(r.seq)
        .bind(&r.txn_id)
        .bind(&r.source)
        .bind(r.user_id)
        .bind(&r.op)
        .bind(r.amount)
        .bind(&r.outcome)
        .bind(&r.reject_reason)
        .bind(r.balance_after)
        .bind(&r.reason)
        .bind(&r.actor_id)
        .bind(&r.actor_name)
        .bind(&r.server_job_id)
        .bind(r.issued_at)
        .bind(r.applied_at)
        .bind(r.received_at)
        .bind(&r.key_id)
        .bind(&r.prev_hash)
        .bind(&r.row_hash)
}

fn bind_key<'q>(q: SqliteQuery<'q>, k: &'q KeyRow) -> SqliteQuery<'q> {
    q.bind(&k.client_id)
        .bind(&k.idem_key)
        .bind(&k.fingerprint)
        .bind(i64::from(k.response.status))
        .bind(&k.response.body)
        .bind(k.created_at)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|_| StoreError::Encoding)
}

/// One group in one `BEGIN IMMEDIATE` transaction: returns each request's outcome and the txn
/// ids stored, only once the commit succeeded.
async fn commit_group(
    conn: &mut SqliteConnection,
    reqs: &[&WriteRequest],
) -> Result<(Vec<WriteOutcome>, Vec<String>), StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
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
    insert_chunked(&mut tx, &LOG_INSERT, &plan.rows, bind_row).await?;
    insert_chunked(&mut tx, &KEY_INSERT, &plan.keys, bind_key).await?;
    tx.commit().await?;
    plan.record_metrics();
    Ok((
        plan.outcomes,
        plan.rows.into_iter().map(|r| r.txn_id).collect(),
    ))
}

/// The per-user index's bucket size as a shift: `seq >> USER_BUCKET_BITS` is the first key of
/// `audit_log_user_recent` (migrations/sqlite/0002_user_index_by_bucket.sql) and must match it.
const USER_BUCKET_BITS: u32 = 12;

/// The list query for one user's rows, newest first. The user index is keyed by bucket first, so
/// the query walks buckets down from the newest, counting matches through the index, and stops
/// once it has seen `limit` of them; the rows are then read from the buckets walked. A user with
/// no rows costs one index probe per bucket (about 2,500 per ten million rows).
fn user_list_sql(filter: &ListFilter) -> (String, Vec<ListBind>) {
    let mut c = Conditions::of(filter);
    let conds = c.clauses.join(" AND ");
    let limit = c.param(ListBind::Int(filter.limit));
    let top = match filter.before_seq {
        Some(before) => format!(" WHERE seq < {}", c.param(ListBind::Int(before))),
        None => String::new(),
    };
    let bits = USER_BUCKET_BITS;
    let sql = format!(
        "WITH RECURSIVE walk(b, found) AS (\
            SELECT (SELECT coalesce(max(seq), 0) FROM audit_log{top}) >> {bits}, 0 \
            UNION ALL \
            SELECT walk.b - 1, walk.found + (SELECT count(*) FROM audit_log \
                WHERE (seq >> {bits}) = walk.b AND {conds}) \
            FROM walk WHERE walk.b > 0 AND walk.found < {limit}) \
         SELECT {COLUMNS} FROM audit_log WHERE (seq >> {bits}) IN (SELECT b FROM walk) \
         AND {conds} ORDER BY seq DESC LIMIT {limit}"
    );
    (sql, c.binds)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_in_cached_sizes() {
        for len in 0..=3 * MAX_CHUNK + 7 {
            let mut next = 0;
            let mut last = usize::MAX;
            for range in chunks(len) {
                assert_eq!(range.start, next, "len {len}: chunks are contiguous");
                let size = range.len();
                assert!(
                    size.is_power_of_two() && size <= MAX_CHUNK,
                    "len {len}: {size}"
                );
                assert!(size <= last, "len {len}: largest first");
                last = size;
                next = range.end;
            }
            assert_eq!(next, len, "len {len}: every item is covered");
        }
    }

    #[test]
    fn each_chunk_statement_has_one_placeholder_per_value() {
        let mut size = 1;
        while size <= MAX_CHUNK {
            let sql = LOG_INSERT.sql(size);
            assert!(sql.starts_with(LOG_INSERT.head));
            assert_eq!(sql.matches('?').count(), size * LOG_COLUMNS);
            assert_eq!(
                sql.matches('(').count(),
                size + 1,
                "the column list and one tuple per row"
            );
            size *= 2;
        }
        assert_eq!(values_sql("X ", 2, 3), "X (?,?),(?,?),(?,?)");
    }

    /// A store holding `n` rows written straight into the table: users 100–112 on every row but
    /// the sparse user 7 on every 997th, Discord actors on every fifth, appliedAt = seq × 10.
    async fn store_with_rows(n: i64) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let store = SqliteStore::connect(&url, SqliteSync::Normal, 2, Duration::from_secs(5))
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $1) \
             INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, outcome, \
             balance_after, reason, actor_id, issued_at, applied_at, received_at, key_id, \
             prev_hash, row_hash) SELECT x, 'T' || x, 'game', \
             CASE WHEN x % 997 = 0 THEN 7 ELSE 100 + x % 13 END, 'give', 1, 'applied', 1, 'r', \
             CASE WHEN x % 5 = 0 THEN 'a' || (x % 3) END, x, x * 10, x, 'k', x'00', x'00' FROM c",
        )
        .bind(n)
        .execute(&store.write)
        .await
        .unwrap();
        (dir, store)
    }

    async fn seqs(store: &SqliteStore, (sql, binds): (String, Vec<ListBind>)) -> Vec<i64> {
        ListBind::query(&sql, binds)
            .fetch_all(&store.read)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect()
    }

    #[tokio::test]
    async fn per_user_listing_uses_the_bucketed_index() {
        let (_dir, store) = store_with_rows(100).await;
        let filter = ListFilter {
            user_id: Some(7),
            before_seq: Some(50),
            limit: 10,
            ..ListFilter::default()
        };
        let (sql, binds) = user_list_sql(&filter);
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let plan: Vec<String> = ListBind::query(&explain, binds)
            .fetch_all(&store.read)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(3))
            .collect();
        let searches = plan
            .iter()
            .filter(|d| {
                d.contains("USING INDEX audit_log_user_recent")
                    || d.contains("USING COVERING INDEX audit_log_user_recent")
            })
            .count();
        assert_eq!(
            searches, 2,
            "the walk and the read both search the index: {plan:#?}"
        );
        assert!(
            !plan.iter().any(|d| d.starts_with("SCAN audit_log")),
            "no full scan: {plan:#?}"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn per_user_listing_matches_a_plain_scan() {
        let rows = 5 * (1 << USER_BUCKET_BITS) + 123;
        let (_dir, store) = store_with_rows(rows).await;
        let mut checked = 0;
        for user in [7, 100, 105, 9_999] {
            for actor in [None, Some("a1".to_owned())] {
                for (since, until) in [(None, None), (Some(40_000), None), (Some(10), Some(30_000))]
                {
                    for before_seq in [None, Some(1), Some(4_096), Some(4_097), Some(12_000)] {
                        for limit in [1, 3, 50, 2_000] {
                            let filter = ListFilter {
                                user_id: Some(user),
                                actor: actor.clone(),
                                since,
                                until,
                                before_seq,
                                limit,
                            };
                            let want = seqs(&store, list_sql(&filter)).await;
                            let got = seqs(&store, user_list_sql(&filter)).await;
                            assert_eq!(got, want, "{filter:?}");
                            checked += usize::from(!want.is_empty());
                        }
                    }
                }
            }
        }
        assert!(checked > 200, "most filters match rows: {checked}");
        store.close().await;
    }
}
