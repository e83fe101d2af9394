//! Walks the stored chain page by page (shared by the endpoint and the CLI), optionally against
//! signed checkpoints; and a read-only way to open a database for the CLI.

use crate::chain::{GENESIS, LogRow, Verifier};
use crate::checkpoint::{Checkpoint, CheckpointProblem, ORIGIN, PublicKeys};
use crate::config::Database;
use crate::model::{BrokenRow, CheckpointFailure, CheckpointsReport, VerifyReport};
use crate::store::{Store, StoreError};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::str::FromStr as _;

/// Rows read per page while verifying.
const PAGE: i64 = 2000;

/// Anything the chain can be read from in seq order.
pub trait ChainReader: Send + Sync {
    /// Rows with seq > `after`, ascending, at most `limit`.
    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>>;
}

/// A store as a chain reader.
struct StoreReader<'a>(&'a dyn Store);

impl ChainReader for StoreReader<'_> {
    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        self.0.chain_page(after, limit)
    }
}

/// Verifies every row from seq 1, stopping at the first broken one.
pub async fn verify_chain(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    verify_against(&StoreReader(store), &[], &PublicKeys::default()).await
}

/// Verifies the chain and, for every checkpoint, its signature (with `keys`) and that the chain
/// holds its (seq, hash). `report.ok` is false when either the chain or any checkpoint fails.
pub async fn verify_against(
    reader: &dyn ChainReader,
    checkpoints: &[Checkpoint],
    keys: &PublicKeys,
) -> Result<VerifyReport, StoreError> {
    let mut failures: Vec<CheckpointFailure> = Vec::new();
    // seq -> (expected hash, index) of every checkpoint whose signature holds.
    let mut expected: HashMap<i64, Vec<&Checkpoint>> = HashMap::new();
    for cp in checkpoints {
        let problem = if cp.origin != ORIGIN {
            Some(CheckpointProblem::WrongOrigin)
        } else {
            cp.verify_signature(keys).err()
        };
        match problem {
            Some(p) => failures.push(cp.failure(p)),
            None => expected.entry(cp.seq).or_default().push(cp),
        }
    }
    let check = |seq: i64, hash: &[u8], failures: &mut Vec<CheckpointFailure>| {
        for cp in expected.get(&seq).into_iter().flatten() {
            if !cp.hash.eq_ignore_ascii_case(&hex::encode(hash)) {
                failures.push(cp.failure(CheckpointProblem::HashMismatch));
            }
        }
    };
    check(0, &GENESIS, &mut failures);
    let mut v = Verifier::default();
    let mut after = 0;
    'pages: loop {
        let rows = reader.chain_page(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in &rows {
            if !v.push(row) {
                break 'pages;
            }
            check(row.seq, &row.row_hash, &mut failures);
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    for cp in expected.values().flatten() {
        if cp.seq > v.last_seq() {
            failures.push(cp.failure(CheckpointProblem::BeyondHead));
        }
    }
    failures.sort_by_key(|f| f.seq);
    let first_broken = v.broken().map(|(seq, problem)| BrokenRow { seq, problem });
    if first_broken.is_some() || !failures.is_empty() {
        metrics::counter!("audit_chain_verify_failures_total").increment(1);
    }
    let checkpoints_report = (!checkpoints.is_empty()).then(|| CheckpointsReport {
        checked: checkpoints.len() as u64,
        ok: failures.is_empty(),
        first_failure: failures.first().cloned(),
    });
    Ok(VerifyReport {
        ok: first_broken.is_none() && failures.is_empty(),
        rows_verified: v.rows(),
        head_seq: v.last_seq(),
        head_hash: hex::encode(v.last_hash()),
        first_broken,
        checkpoints: checkpoints_report,
    })
}

/// Why the CLI could not open a database for verification.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file does not exist (it is never created by verification).
    #[error("no SQLite database at {0}")]
    Missing(String),
    /// The database has no audit log.
    #[error("{0} holds no audit log (table audit_log missing)")]
    NotAnAuditDb(String),
    /// The database could not be opened or queried.
    #[error("cannot open the database: {0}")]
    Db(#[from] sqlx::Error),
}

/// A database opened read-only for verification: nothing is created, migrated or written.
pub enum ReadOnlyDb {
    /// SQLite opened with `mode=ro`.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL with `default_transaction_read_only`.
    Postgres(sqlx::PgPool),
}

impl ReadOnlyDb {
    /// Opens `database` read-only and checks that it holds an audit log.
    pub async fn open(database: &Database) -> Result<Self, OpenError> {
        match database {
            Database::Sqlite(url) => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .read_only(true)
                    .create_if_missing(false);
                let path = opts.get_filename().display().to_string();
                if !opts.get_filename().exists() {
                    return Err(OpenError::Missing(path));
                }
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'",
                )
                .fetch_one(&pool)
                .await?;
                if n == 0 {
                    pool.close().await;
                    return Err(OpenError::NotAnAuditDb(path));
                }
                Ok(Self::Sqlite(pool))
            }
            Database::Postgres(url) => {
                let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
                    .options([("default_transaction_read_only", "on")]);
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await?;
                let found: bool = sqlx::query_scalar("SELECT to_regclass('audit_log') IS NOT NULL")
                    .fetch_one(&pool)
                    .await?;
                if !found {
                    pool.close().await;
                    return Err(OpenError::NotAnAuditDb("the PostgreSQL database".into()));
                }
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

impl ChainReader for ReadOnlyDb {
    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>> {
        match self {
            Self::Sqlite(p) => Box::pin(crate::store::sqlite::chain_page(p, after, limit)),
            Self::Postgres(p) => Box::pin(crate::store::postgres::chain_page(p, after, limit)),
        }
    }
}
