//! Economy Bridge audit-log API: game servers post committed txns (signed, idempotent), the bot
//! and operators read them (signed, read scope). Append-only and hash-chained, on SQLite (one
//! box) or PostgreSQL (several replicas). See api/README.md and docs/protocol.md ("Audit API").
//!
//! The signed client and the wire types it shares with the server live in the `audit-client`
//! crate; [`client`], [`model`] and the crate root re-export them under their old names.

pub mod app;
pub mod auth;
pub mod chain;
pub mod checkpoint;
pub mod client;
pub mod config;
pub mod csv;
pub mod cursor;
pub mod handlers;
pub mod head_problem;
pub mod listen;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod openapi;
pub mod openapi_rules;
pub mod problem;
pub mod ratelimit;
pub mod server;
pub mod store;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod test_database;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod verify;

pub use client::{AuditClient, ClientError, ListParams, PostResult};
pub use config::{Config, ConfigError, Database};
pub use model::{LoggedRecord, Page, PostResponse, RecordResult, RecordStatus, VerifyReport};
pub use server::{RunningServer, ServeError, open_store, serve, spawn, spawn_for_test};
pub use store::{PgStore, SqliteStore, SqliteSync, Store, StoreError};
pub use verify::{ReadOnlyDb, verify_against, verify_chain};
