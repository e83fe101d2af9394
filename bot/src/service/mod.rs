//! The framework-free service layer: commands in, typed outcomes out.
//!
//! - [`ports`]: the narrow traits the service needs (wallet store, messaging, audit log, users, clock).
//! - [`profile`]: the stored profile shape (ProfileStore / ProfileService) and its session lock.
//! - [`policy`]: role allowlist and per-role maxima.
//! - [`bulk`]: bulk payouts' rules and types: batch ids and derived txn ids, the write budget,
//!   the batch tables.
//! - [`db`]: the bot's database, SQLite or PostgreSQL (pending confirmations, daily caps,
//!   cooldowns, audit retries, log-channel posts).
//! - [`names`]: a small cache of Roblox usernames shown next to ids in audit answers.
//! - [`outcome`]: requests, outcomes (also what the database stores), refusals.
//! - [`txn`]: the [`Service`] itself: executing, delivering, following up, audit posting.

pub mod bulk;
pub mod db;
pub mod names;
pub mod outcome;
pub mod policy;
pub mod ports;
pub mod profile;
pub mod txn;

pub use bulk::packer::PackStats;
pub use bulk::{
    BatchCounts, BatchId, BatchPlan, BatchProgress, BatchReport, BatchRequest, BulkConfig,
    ItemReport, ItemState, OnlineSample,
};
pub use db::{Db, DbError, DbKind};
pub use outcome::{
    ActorCtx, Committer, MoveRequest, Outcome, Receipt, Refusal, ReversalPlan, ReverseRequest,
    ServiceError, Target,
};
pub use policy::Policy;
pub use ports::{
    AuditLog, AuditPage, AuditQuery, BoxFut, Clock, GroupBy, Messaging, PortError, RobloxUser,
    Sums, Totals, TotalsGroup, TotalsQuery, Users, WalletEntry, WalletStore, WalletWrite,
    WriteCondition, WriteError,
};
pub use profile::{Profile, ProfileLibrary, Session};
pub use txn::{
    BalanceView, LogPass, LogPolicy, LogSink, Ports, PostFailure, ReconcileReport, Service,
    ServiceConfig, SettledTxn, WALLET_READ_REUSABLE_MS, WalletRead,
};
