//! Why a client call failed.

use crate::problem::Problem;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure (connection refused, timeout, …).
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The API answered with an error document.
    #[error("audit API answered {status}: {}", .problem.as_ref().map(|p| p.title.as_str()).unwrap_or("(no problem document)"))]
    Api {
        /// HTTP status.
        status: u16,
        /// The problem document, when the body was one.
        problem: Option<Problem>,
        /// Retry-After seconds, when given.
        retry_after: Option<u64>,
    },
    /// The response body did not decode.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// A request could not be signed (bad query).
    #[error("request could not be signed")]
    Sign,
}
