//! Signed client for the Economy Bridge audit-log API, and the wire types the client and the
//! server (`api`) share, so each is defined once. Depends on `shared` and `reqwest` only; the
//! server's framework and database stay out. See docs/protocol.md ("Audit API").
//!
//! - [`client`]: [`AuditClient`] (signs every request), [`SignedRequest`], [`PostResult`],
//!   [`post_body`].
//! - [`params`]: [`ListParams`], the list endpoint's filters.
//! - [`error`]: [`ClientError`], why a call failed.
//! - [`headers`]: header names both sides use.
//! - [`problem`]: [`Problem`], the `application/problem+json` document of every error.
//! - [`post`]: what a POST answers ([`PostResponse`], [`RecordResult`], [`RecordStatus`]).
//! - [`read`]: what the read endpoints answer ([`LoggedRecord`], [`Page`]).
//! - [`totals`]: what `GET /log/totals` answers ([`Totals`]) and its query ([`TotalsParams`]).
//! - [`verify`]: the chain verification report ([`VerifyReport`] and its parts).
//! - `schema` (feature `openapi`): OpenAPI schemas for types `shared` defines.

pub mod client;
pub mod error;
pub mod headers;
pub mod params;
pub mod post;
pub mod problem;
pub mod read;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod totals;
pub mod verify;

pub use client::{AuditClient, PostResult, SignedRequest, post_body};
pub use error::ClientError;
pub use params::ListParams;
pub use post::{PostResponse, RecordResult, RecordStatus};
pub use problem::Problem;
pub use read::{LoggedRecord, Page};
pub use totals::{GroupBy, Sums, Totals, TotalsGroup, TotalsParams};
pub use verify::{
    Break, BrokenRow, CheckpointFailure, CheckpointProblem, CheckpointsReport, VerifyReport,
};
