//! SQLite backend: WAL, busy timeout, one writer thread committing groups with `BEGIN IMMEDIATE`.
//!
//! - `open`: [`SqliteStore`], [`SqliteSync`], [`connect_options`]; migrations and the writer
//!   thread.
//! - `writer`: the writer task and its group commit.
//! - `insert`: chunked multi-row INSERTs.
//! - `queries`: the per-user listing and chain pages.
//! - `backend`: `Store` for [`SqliteStore`].

mod backend;
mod insert;
mod open;
mod queries;
mod writer;

pub use open::{SqliteStore, SqliteSync, connect_options};
pub(crate) use queries::chain_page;

#[cfg(test)]
mod tests;
