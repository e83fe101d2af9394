//! Load generator for the audit API (a benchmark, not a test).
//!
//! `loadgen http`: signs unique requests (fresh txn ids and Idempotency-Keys) and reports
//! accepted records/s and p50/p99 latency, open-loop at a fixed offered rate (latency measured
//! from the scheduled send time, so queueing is not hidden) or closed-loop with N workers.
//! `loadgen totals`: times signed `GET /log/totals` queries against a running server (p50/p99).
//! `loadgen raw`: the ceiling: plain INSERTs of the same rows into the same table with the same
//! durability settings, no HTTP, signing, idempotency or chain.

use anyhow::Context as _;
use api::AuditClient;
use clap::{Parser, Subcommand};
use shared::{AuditRecord, KeyRing, TxnId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "loadgen", about = "Audit API load generator")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Drive a running server over HTTP.
    Http {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Signing key, `id:scopes:hex` (needs write).
        #[arg(long, env = "LOADGEN_KEY")]
        key: String,
        /// Records per request (1 = single-record body).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Offered requests/s (open loop); 0 = closed loop with --concurrency workers.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Workers (closed loop) or maximum requests in flight (open loop).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 5)]
        duration: u64,
        /// Write every 4th record as a Discord staff movement by one of this many actors
        /// (0: every record is a game-server record, as in the throughput runs).
        #[arg(long, default_value_t = 0)]
        actors: u64,
    },
    /// Time signed totals queries (`GET /log/totals?<query>`).
    Totals {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Signing key, `id:scopes:hex` (needs read).
        #[arg(long, env = "LOADGEN_KEY")]
        key: String,
        /// The query string, e.g. `groupBy=user&since=1700000000000`.
        #[arg(long, default_value = "")]
        query: String,
        /// Sequential requests to time.
        #[arg(long, default_value_t = 20)]
        requests: usize,
    },
    /// Raw insert ceiling of the database.
    Raw {
        /// Scratch database URL (sqlite:// or postgres://); its audit_log table is appended to.
        #[arg(long)]
        database_url: String,
        /// SQLite synchronous mode (full or normal).
        #[arg(long, default_value = "full")]
        sync: String,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1)]
        rows: usize,
        /// Concurrent writers (PostgreSQL; SQLite has one writer).
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// SQLite: insert a transaction's rows with one statement over a JSON array (`json_each`,
        /// the server's method) instead of one multi-row VALUES statement with bound columns.
        #[arg(long)]
        json: bool,
        /// Seconds to run.
        #[arg(long, default_value_t = 5)]
        duration: u64,
    },
}

fn record(n: u64, actors: u64) -> AuditRecord {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(1);
    let mut r = AuditRecord {
        txn_id: TxnId::generate(),
        source: shared::Source::Game,
        // Spread over 10,000 users (a multiplicative hash: ids are `request * 1000 + index`).
        user_id: 1 + (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 10_000,
        op: shared::Op::Give,
        amount: 1 + (n % 1000) as i64,
        outcome: shared::RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 1_000 + (n % 1000) as i64,
        reason: "loadgen purchase reward".into(),
        actor_id: None,
        actor_name: None,
        server_job_id: Some("2f0c6a2e-loadgen-job".into()),
        issued_at: now,
        applied_at: now,
        reverses: None,
    };
    if actors > 0 && n % 4 == 0 {
        let actor = 100_000 + (n / 4) % actors;
        r.source = shared::Source::Discord;
        r.actor_id = Some(actor.to_string());
        r.actor_name = Some(format!("staff{actor}"));
        r.server_job_id = None;
        if n % 3 == 0 {
            r.op = shared::Op::Deduct;
        }
    }
    r
}

#[derive(Default)]
struct Stats {
    lat_us: parking_lot::Mutex<Vec<u64>>,
    ok_records: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn one(
    client: &AuditClient,
    (batch, actors): (usize, u64),
    n: u64,
    stats: &Stats,
    scheduled: Instant,
) {
    let recs: Vec<AuditRecord> = (0..batch as u64)
        .map(|i| record(n * 1000 + i, actors))
        .collect();
    let key = ulid::Ulid::new().to_string();
    match client.post_records(&recs, &key).await {
        Ok(r) => {
            stats
                .ok_records
                .fetch_add(r.response.accepted as u64, Ordering::Relaxed);
            stats
                .lat_us
                .lock()
                .push(scheduled.elapsed().as_micros() as u64);
        }
        Err(e) => {
            if stats.errors.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("error: {e}");
            }
        }
    }
}

async fn http(
    url: String,
    key: String,
    batch: usize,
    rate: u64,
    concurrency: usize,
    (duration, actors): (u64, u64),
) -> anyhow::Result<()> {
    let ring = KeyRing::parse(&key).context("--key")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .timeout(Duration::from_secs(30))
        .build()?;
    let client = AuditClient::with_http(http, &url, ring.signing_key().clone());
    let stats = Arc::new(Stats::default());
    let counter = Arc::new(AtomicU64::new(0));
    let run = Duration::from_secs(duration);
    let start = Instant::now();
    if rate == 0 {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, stats, counter) = (client.clone(), stats.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                while start.elapsed() < run {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    one(&client, (batch, actors), n, &stats, Instant::now()).await;
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
    } else {
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let total = rate * duration;
        let mut tasks = Vec::with_capacity(total as usize);
        for n in 0..total {
            let scheduled = start + interval.mul_f64(n as f64);
            tokio::time::sleep_until(scheduled.into()).await;
            let Ok(permit) = sem.clone().try_acquire_owned() else {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let (client, stats) = (client.clone(), stats.clone());
            tasks.push(tokio::spawn(async move {
                one(&client, (batch, actors), n, &stats, scheduled).await;
                drop(permit);
            }));
        }
        for t in tasks {
            t.await?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut lat = stats.lat_us.lock().clone();
    lat.sort_unstable();
    let reqs = lat.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "mode": if rate == 0 { "closed" } else { "open" },
            "batch": batch,
            "offeredReqPerSec": rate,
            "concurrency": concurrency,
            "seconds": (secs * 100.0).round() / 100.0,
            "okRequests": lat.len(),
            "reqPerSec": (reqs / secs).round(),
            "acceptedRecordsPerSec": (stats.ok_records.load(Ordering::Relaxed) as f64 / secs).round(),
            "p50ms": pct(&lat, 0.50),
            "p99ms": pct(&lat, 0.99),
            "maxms": lat.last().map(|v| *v as f64 / 1000.0),
            "errors": stats.errors.load(Ordering::Relaxed),
            "dropped": stats.dropped.load(Ordering::Relaxed),
        })
    );
    Ok(())
}

async fn totals(url: String, key: String, query: String, requests: usize) -> anyhow::Result<()> {
    let ring = KeyRing::parse(&key).context("--key")?;
    let client = AuditClient::new(&url, ring.signing_key().clone());
    let mut lat = Vec::with_capacity(requests);
    let mut groups = 0;
    let mut overall = serde_json::Value::Null;
    for _ in 0..requests.max(1) {
        let req = client.sign("GET", "/log/totals", &query, None, Vec::new(), unix_secs())?;
        let t = Instant::now();
        let resp = client.send(req).await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        lat.push(t.elapsed().as_micros() as u64);
        anyhow::ensure!(status.is_success(), "the server answered {status}: {body}");
        groups = body["groups"].as_array().map_or(0, Vec::len);
        overall = body["overall"].clone();
    }
    lat.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "mode": "totals",
            "query": query,
            "requests": lat.len(),
            "groups": groups,
            "overall": overall,
            "p50ms": pct(&lat, 0.50),
            "p99ms": pct(&lat, 0.99),
        })
    );
    Ok(())
}

fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn raw(
    url: String,
    sync: String,
    rows: usize,
    clients: usize,
    json: bool,
    duration: u64,
) -> anyhow::Result<()> {
    use api::chain::{GENESIS, LogRow};
    let make_rows = move |n: u64| -> Vec<LogRow> {
        (0..rows as u64)
            .map(|i| {
                let mut r = api::model::row_from_record(&record(n * 1000 + i, 0), 1, "raw");
                r.prev_hash = GENESIS.to_vec();
                r.row_hash = GENESIS.to_vec();
                r
            })
            .collect()
    };
    let cols = "txn_id, source, user_id, op, amount, outcome, reject_reason, balance_after, reason, \
                actor_id, actor_name, server_job_id, issued_at, applied_at, received_at, key_id, prev_hash, row_hash";
    // SQLite gets anonymous `?` placeholders: sqlx looks up every numbered parameter's name, a
    // linear scan in SQLite, so `$N` makes binding a wide statement quadratic.
    let sql = |n: usize, numbered: bool| {
        let mut s = format!("INSERT INTO raw_log ({cols}) VALUES ");
        for r in 0..n {
            if r > 0 {
                s.push(',');
            }
            s.push('(');
            s.push_str(
                &(1..=18)
                    .map(|c| {
                        if numbered {
                            format!("${}", r * 18 + c)
                        } else {
                            "?".to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            );
            s.push(')');
        }
        s
    };
    macro_rules! bind_row {
        ($q:expr, $r:expr) => {
            $q.bind(&$r.txn_id)
                .bind(&$r.source)
                .bind($r.user_id)
                .bind(&$r.op)
                .bind($r.amount)
                .bind(&$r.outcome)
                .bind(&$r.reject_reason)
                .bind($r.balance_after)
                .bind(&$r.reason)
                .bind(&$r.actor_id)
                .bind(&$r.actor_name)
                .bind(&$r.server_job_id)
                .bind($r.issued_at)
                .bind($r.applied_at)
                .bind($r.received_at)
                .bind(&$r.key_id)
                .bind(&$r.prev_hash)
                .bind(&$r.row_hash)
        };
    }
    let start = Instant::now();
    let run = Duration::from_secs(duration);
    let stats = Arc::new(Stats::default());
    if url.starts_with("sqlite:") {
        let s = if sync == "normal" {
            api::SqliteSync::Normal
        } else {
            api::SqliteSync::Full
        };
        let opts = api::store::sqlite::connect_options(&url, s)?;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        // Same shape and indexes as audit_log (seq is the rowid, the user index bucketed as in
        // migration 0002), without triggers.
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS raw_log (seq INTEGER PRIMARY KEY, txn_id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, \
             user_id INTEGER NOT NULL, op TEXT NOT NULL, amount INTEGER NOT NULL, outcome TEXT NOT NULL, reject_reason TEXT, \
             balance_after INTEGER NOT NULL, reason TEXT NOT NULL, actor_id TEXT, actor_name TEXT, server_job_id TEXT, \
             issued_at INTEGER NOT NULL, applied_at INTEGER NOT NULL, received_at INTEGER NOT NULL, key_id TEXT NOT NULL, \
             prev_hash BLOB NOT NULL, row_hash BLOB NOT NULL); \
             CREATE INDEX IF NOT EXISTS raw_log_user ON raw_log (seq >> 12, user_id, seq);",
        )
        .execute(&pool)
        .await?;
        let q = sql(rows, false);
        let json_sql = format!(
            "INSERT INTO raw_log ({cols}) SELECT {} FROM json_each($1)",
            (0..18)
                .map(|i| if i >= 16 {
                    format!("unhex(value ->> {i})")
                } else {
                    format!("value ->> {i}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut n = 0;
        while start.elapsed() < run {
            n += 1;
            let batch = make_rows(n);
            let t = Instant::now();
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            if json {
                let arr: Vec<serde_json::Value> = batch
                    .iter()
                    .map(|r| {
                        serde_json::json!([
                            r.txn_id,
                            r.source,
                            r.user_id,
                            r.op,
                            r.amount,
                            r.outcome,
                            r.reject_reason,
                            r.balance_after,
                            r.reason,
                            r.actor_id,
                            r.actor_name,
                            r.server_job_id,
                            r.issued_at,
                            r.applied_at,
                            r.received_at,
                            r.key_id,
                            hex::encode(&r.prev_hash),
                            hex::encode(&r.row_hash)
                        ])
                    })
                    .collect();
                sqlx::query(&json_sql)
                    .bind(serde_json::to_string(&arr)?)
                    .execute(&mut *tx)
                    .await?;
            } else {
                let mut query = sqlx::query(&q);
                for r in &batch {
                    query = bind_row!(query, r);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            stats.lat_us.lock().push(t.elapsed().as_micros() as u64);
            stats.ok_records.fetch_add(rows as u64, Ordering::Relaxed);
        }
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(clients as u32 + 1)
            .connect(&url)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS raw_log (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, txn_id TEXT NOT NULL UNIQUE, \
             source TEXT NOT NULL, user_id BIGINT NOT NULL, op TEXT NOT NULL, amount BIGINT NOT NULL, outcome TEXT NOT NULL, \
             reject_reason TEXT, balance_after BIGINT NOT NULL, reason TEXT NOT NULL, actor_id TEXT, actor_name TEXT, \
             server_job_id TEXT, issued_at BIGINT NOT NULL, applied_at BIGINT NOT NULL, received_at BIGINT NOT NULL, \
             key_id TEXT NOT NULL, prev_hash BYTEA NOT NULL, row_hash BYTEA NOT NULL); \
             CREATE INDEX IF NOT EXISTS raw_log_user ON raw_log (user_id, seq);",
        )
        .execute(&pool)
        .await?;
        let counter = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (pool, stats, counter) = (pool.clone(), stats.clone(), counter.clone());
            let q = sql(rows, true);
            tasks.push(tokio::spawn(async move {
                while start.elapsed() < run {
                    let batch = make_rows(counter.fetch_add(1, Ordering::Relaxed));
                    let t = Instant::now();
                    let mut query = sqlx::query(&q);
                    for r in &batch {
                        query = bind_row!(query, r);
                    }
                    if query.execute(&pool).await.is_ok() {
                        stats.lat_us.lock().push(t.elapsed().as_micros() as u64);
                        stats.ok_records.fetch_add(rows as u64, Ordering::Relaxed);
                    } else {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut lat = stats.lat_us.lock().clone();
    lat.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "mode": if json { "raw-json" } else { "raw" },
            "rowsPerTxn": rows,
            "clients": clients,
            "sync": sync,
            "commitsPerSec": (lat.len() as f64 / secs).round(),
            "recordsPerSec": (stats.ok_records.load(Ordering::Relaxed) as f64 / secs).round(),
            "p50ms": pct(&lat, 0.50),
            "p99ms": pct(&lat, 0.99),
            "errors": stats.errors.load(Ordering::Relaxed),
        })
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Http {
            url,
            key,
            batch,
            rate,
            concurrency,
            duration,
            actors,
        } => http(url, key, batch, rate, concurrency, (duration, actors)).await,
        Cmd::Totals {
            url,
            key,
            query,
            requests,
        } => totals(url, key, query, requests).await,
        Cmd::Raw {
            database_url,
            sync,
            rows,
            clients,
            json,
            duration,
        } => raw(database_url, sync, rows, clients, json, duration).await,
    }
}
