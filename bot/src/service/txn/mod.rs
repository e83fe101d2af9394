//! The service: give / deduct / reverse with confirmed outcomes, balance, audit, and the reconciler.
//!
//! Single writer (docs/architecture.md, "Invariants"): a live session lock → sign and publish,
//! confirm through the audit API long-poll and wallet reads, re-publish until confirmed or
//! expiresAt + grace; no session → the bot applies `shared::apply` and writes with
//! compare-and-swap; a 412 hands back the current entry and the decision is taken again (the
//! player may have joined).
//!
//! - [`service`]: the [`Service`] struct, its configuration and ports, and the read-only queries.
//! - `execute`: a new command (validate, authorise, reserve) or a replay of a known txn id.
//! - `delivery`: delivering and confirming one command, step by step, until it settles.
//! - `follow_up`: continued confirmation and the reconciler pass.
//! - `audit_posting`: the bot's own audit records (outbox pruning, posting).
//! - `batch`: bulk payouts (planned, stored, run at the write budget's pace, resumed).
//! - `reverse`: reversals of applied txns (planned, refused or issued under a derived id).
//! - [`log_channel`]: posting settled movements to the log channel through a [`LogSink`].

mod audit_posting;
mod batch;
mod delivery;
mod execute;
mod follow_up;
pub mod log_channel;
mod reverse;
pub mod service;

pub use follow_up::ReconcileReport;
pub use log_channel::{LogPass, LogPolicy, LogSink, PostFailure};
pub use service::{
    BalanceView, Ports, Service, ServiceConfig, SettledTxn, WALLET_READ_REUSABLE_MS, WalletRead,
};
