//! Port implementations.
//!
//! - [`open_cloud`]: wallet store, messaging and users over the `opencloud` HTTP client.
//! - [`audit_api`]: the audit log over `audit_client::AuditClient`.
//! - [`counting`]: counts Open Cloud calls per port (for the calls-per-command benchmark).
//! - `emulator` (feature `emulator`): wallet store, messaging, users over the in-memory Open
//!   Cloud emulator's store and bus, plus a virtual clock.

pub mod audit_api;
pub mod counting;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod open_cloud;
