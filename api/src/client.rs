//! The signed client, re-exported from the `audit-client` crate under its old paths.

pub use audit_client::client::{AuditClient, PostResult, SignedRequest, post_body};
pub use audit_client::error::ClientError;
pub use audit_client::params::ListParams;
