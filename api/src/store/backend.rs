//! The storage backend trait both databases implement.

use super::error::StoreError;
use super::request::{ListFilter, WriteOutcome, WriteRequest};
use super::totals::{ActorNames, TotalsFilter, TotalsRows};
use crate::chain::LogRow;
use crate::notify::Notifier;
use futures::future::BoxFuture;

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
    /// Sums per actor or per user (up to `limit + 1` groups, largest first) and overall.
    fn totals(&self, t: TotalsFilter) -> BoxFuture<'_, Result<TotalsRows, StoreError>>;
    /// The newest name of each listed actor: (actor id, name) pairs.
    fn actor_names(&self, actors: Vec<String>) -> BoxFuture<'_, Result<ActorNames, StoreError>>;
    /// Rows with seq > after, ascending, for verification.
    fn chain_page(&self, after: i64, limit: i64) -> BoxFuture<'_, Result<Vec<LogRow>, StoreError>>;
    /// Forgets idempotency keys created before `before_ms`; returns how many.
    fn purge_keys(&self, before_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// The notifier woken by this store's inserts (and, on PostgreSQL, other replicas').
    fn notifier(&self) -> &Notifier;
    /// Stops background tasks and closes pools.
    fn close(&self) -> BoxFuture<'_, ()>;
}
