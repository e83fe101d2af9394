//! Storage: one trait, two backends (SQLite for one box, PostgreSQL for several replicas).
//!
//! Every write is part of one database transaction (a group commit, see `group`): idempotency
//! lookup, duplicate check, chain append, stored response. Nothing is half-done after a crash, so
//! a retry is simply a new request.

pub(crate) mod group;
pub mod postgres;
pub mod sqlite;

use crate::chain::LogRow;
use crate::model::PostResponse;
use crate::notify::Notifier;
use futures::future::BoxFuture;
use shared::AuditRecord;

pub use postgres::PgStore;
pub use sqlite::{SqliteStore, SqliteSync};

/// A storage failure. The text is for logs; clients only ever see a generic 503/500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or was unreachable.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The group transaction this write was part of could not reach the database (nothing stored).
    #[error("group commit failed: {0}")]
    Group(String),
    /// The write failed for another reason (nothing stored).
    #[error("write failed: {0}")]
    Failed(String),
    /// A stored response could not be encoded or decoded.
    #[error("stored response is not valid JSON")]
    Encoding,
}

impl StoreError {
    /// True when the database is temporarily unavailable (pool timeout, connection loss, busy).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
                ) || e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "5" || c == "6" || c == "40001" || c == "40P01")
            }
            StoreError::Group(_) => true,
            _ => false,
        }
    }
}

/// An authenticated, validated POST ready to be stored.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The signing key id (idempotency keys are scoped by it).
    pub client_id: String,
    /// The Idempotency-Key (quotes stripped).
    pub idem_key: String,
    /// SHA-256 over method, path and body.
    pub fingerprint: [u8; 32],
    /// The records, in request order.
    pub records: Vec<AuditRecord>,
    /// Server time, Unix ms.
    pub received_at: i64,
}

/// A response as stored for idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Processed now; the response has been stored with the key.
    Done(StoredResponse),
    /// The key was seen with the same fingerprint: the original response.
    Replayed(StoredResponse),
    /// The key was seen with a different body (422).
    Mismatch,
    /// Another request with this key is being processed right now (409).
    InFlight,
}

/// Filters and paging for the list endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this Roblox user.
    pub user_id: Option<i64>,
    /// Only this Discord actor id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Only rows with seq below this (the cursor).
    pub before_seq: Option<i64>,
    /// Page size (already capped).
    pub limit: i64,
}

/// The storage backend.
pub trait Store: Send + Sync + 'static {
    /// Backend name for logs and metrics (`sqlite` / `postgres`).
    fn backend(&self) -> &'static str;
    /// Cheap readiness probe: reachable and migrated.
    fn ready(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Stores a POST atomically with its idempotency key.
    fn write(&self, req: WriteRequest) -> BoxFuture<'_, Result<WriteOutcome, StoreError>>;
    /// One row by txn id.
    fn get(&self, txn_id: &str) -> BoxFuture<'_, Result<Option<LogRow>, StoreError>>;
    /// A page of rows, newest first.
    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>>;
    /// Rows with seq > after, ascending, for verification.
    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>>;
    /// Forgets idempotency keys created before `before_ms`; returns how many.
    fn purge_keys(&self, before_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// The notifier woken by this store's inserts (and, on PostgreSQL, other replicas').
    fn notifier(&self) -> &Notifier;
    /// Stops background tasks and closes pools.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Encodes a response for storage with its key.
pub(crate) fn encode_response(resp: &PostResponse) -> Result<StoredResponse, StoreError> {
    Ok(StoredResponse {
        status: resp.status_code(),
        body: serde_json::to_string(resp).map_err(|_| StoreError::Encoding)?,
    })
}

/// Column list shared by both backends' SELECTs (same order as `LogRow`).
pub(crate) const COLUMNS: &str = "seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, received_at, \
key_id, prev_hash, row_hash";

/// Decodes a `LogRow` from a row selected with `COLUMNS` (same code for both backends).
macro_rules! decode_log_row {
    ($r:expr) => {{
        use sqlx::Row as _;
        let r = $r;
        Ok::<_, sqlx::Error>(crate::chain::LogRow {
            seq: r.try_get(0)?,
            txn_id: r.try_get(1)?,
            source: r.try_get(2)?,
            user_id: r.try_get(3)?,
            op: r.try_get(4)?,
            amount: r.try_get(5)?,
            outcome: r.try_get(6)?,
            reject_reason: r.try_get(7)?,
            balance_after: r.try_get(8)?,
            reason: r.try_get(9)?,
            actor_id: r.try_get(10)?,
            actor_name: r.try_get(11)?,
            server_job_id: r.try_get(12)?,
            issued_at: r.try_get(13)?,
            applied_at: r.try_get(14)?,
            received_at: r.try_get(15)?,
            key_id: r.try_get(16)?,
            prev_hash: r.try_get(17)?,
            row_hash: r.try_get(18)?,
        })
    }};
}
pub(crate) use decode_log_row;

/// The list filter's conditions, with `$N` placeholders numbered in bind order.
pub(crate) struct Conditions {
    /// Each condition, to be joined with `AND`.
    pub clauses: Vec<String>,
    /// The bind values, in placeholder order.
    pub binds: Vec<ListBind>,
}

impl Conditions {
    /// Every condition of `filter` (user, actor, time range, cursor).
    pub(crate) fn of(filter: &ListFilter) -> Self {
        let mut c = Self {
            clauses: Vec::new(),
            binds: Vec::new(),
        };
        if let Some(u) = filter.user_id {
            c.push(|p| format!("user_id = {p}"), ListBind::Int(u));
        }
        if let Some(a) = &filter.actor {
            c.push(|p| format!("actor_id = {p}"), ListBind::Text(a.clone()));
        }
        if let Some(s) = filter.since {
            c.push(|p| format!("applied_at >= {p}"), ListBind::Int(s));
        }
        if let Some(u) = filter.until {
            c.push(|p| format!("applied_at < {p}"), ListBind::Int(u));
        }
        if let Some(b) = filter.before_seq {
            c.push(|p| format!("seq < {p}"), ListBind::Int(b));
        }
        c
    }

    /// Adds a condition built around the next placeholder.
    pub(crate) fn push(&mut self, clause: impl FnOnce(&str) -> String, bind: ListBind) {
        let placeholder = self.param(bind);
        self.clauses.push(clause(&placeholder));
    }

    /// Binds a value and returns its placeholder, for use outside the conditions.
    pub(crate) fn param(&mut self, bind: ListBind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    /// ` WHERE a AND b`, or nothing without conditions.
    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Builds the list query (newest first) and returns the bind values in order.
pub(crate) fn list_sql(filter: &ListFilter) -> (String, Vec<ListBind>) {
    let mut c = Conditions::of(filter);
    let where_ = c.where_clause();
    let limit = c.param(ListBind::Int(filter.limit));
    (
        format!("SELECT {COLUMNS} FROM audit_log{where_} ORDER BY seq DESC LIMIT {limit}"),
        c.binds,
    )
}

/// A bind value of the list query.
pub(crate) enum ListBind {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A query with its arguments, on either backend.
type ArgQuery<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

impl ListBind {
    /// Binds the list query's values to `sql`, in placeholder order.
    pub(crate) fn query<'q, DB: sqlx::Database>(sql: &'q str, binds: Vec<Self>) -> ArgQuery<'q, DB>
    where
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        binds.into_iter().fold(sqlx::query(sql), |q, b| match b {
            ListBind::Int(i) => q.bind(i),
            ListBind::Text(t) => q.bind(t),
        })
    }
}
