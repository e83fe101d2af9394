//! Storage: one trait, two backends (SQLite for one box, PostgreSQL for several replicas).
//!
//! Every write is part of one database transaction (a group commit, see `group`): idempotency
//! lookup, duplicate check, chain append, stored response. Nothing is half-done after a crash, so
//! a retry is simply a new request.
//!
//! - `backend`: the [`Store`] trait.
//! - `request`: [`WriteRequest`], [`WriteOutcome`], [`StoredResponse`], [`ListFilter`].
//! - `error`: [`StoreError`].
//! - `sql`: SQL both backends share (columns, row decoding, the list query).
//! - `summary`: the running totals (per hour × actor, per hour × user) the writers keep.
//! - `totals`: the totals query (sums per actor or per user) both backends run.
//! - `group`: group commit (planning a group, queueing and answering its requests).
//! - [`sqlite`], [`postgres`]: the backends.

mod backend;
mod error;
pub(crate) mod group;
pub mod postgres;
mod request;
mod sql;
pub mod sqlite;
pub(crate) mod summary;
pub(crate) mod totals;

pub use backend::Store;
pub use error::StoreError;
pub use postgres::PgStore;
pub(crate) use request::encode_response;
pub use request::{ListFilter, StoredResponse, WriteOutcome, WriteRequest};
pub(crate) use sql::{COLUMNS, Conditions, ListBind, decode_log_row, list_sql};
pub use sqlite::{SqliteStore, SqliteSync};
pub use totals::{ActorNames, GroupSums, TotalsFilter, TotalsRows};
