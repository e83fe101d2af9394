//! The v2 error answers of the entry endpoints.

use axum::response::Response;

use crate::emulator::http::errors::v2;
use crate::emulator::store::StoreError;

/// 400 `INVALID_ARGUMENT`.
pub(super) fn invalid(message: &str) -> Response {
    v2(400, "INVALID_ARGUMENT", message)
}

/// 404 `NOT_FOUND` for an entry or revision.
pub(super) fn not_found() -> Response {
    v2(404, "NOT_FOUND", "The entry was not found.")
}

/// 409 `ABORTED` for a stale etag (Roblox documents the field, not the failure; see README).
pub(super) fn etag_mismatch() -> Response {
    v2(
        409,
        "ABORTED",
        "The etag does not match the entry's current etag.",
    )
}

/// A store error: 404 for a missing entry or version, else 400.
pub(super) fn store_error(error: &StoreError) -> Response {
    match error {
        StoreError::EntryNotFound | StoreError::VersionNotFound => not_found(),
        other => invalid(&other.to_string()),
    }
}
