//! Store failures and Roblox's v1 error code for each.

use thiserror::Error;

use super::entry::Entry;
use crate::limits::{LimitError, NameKind};

/// Store failures; [`StoreError::datastore_error_code`] gives Roblox's v1 error code.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StoreError {
    /// A name, value, attributes or user ids break Roblox's limits.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// `matchVersion` and `exclusiveCreate` were both given.
    #[error("matchVersion and exclusiveCreate cannot both be set")]
    ExclusiveCreateAndMatchVersion,
    /// The precondition failed; carries the live entry (none if absent).
    #[error("precondition failed: the entry's current version differs")]
    PreconditionFailed {
        /// The live entry at the time of the check.
        current: Option<Entry>,
    },
    /// Increment on a value that is not an integer.
    #[error("the existing value is not an integer")]
    ExistingValueNotNumeric,
    /// Increment would leave the 64-bit integer range.
    #[error("the incremented value is out of range")]
    IncrementOutOfRange {
        /// True when too large, false when too small.
        too_large: bool,
    },
    /// No live entry.
    #[error("entry not found")]
    EntryNotFound,
    /// No such version.
    #[error("version not found")]
    VersionNotFound,
    /// A version id that is not in Roblox's format.
    #[error("invalid version id")]
    InvalidVersionId,
    /// A cursor this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
}

impl StoreError {
    /// Roblox's v1 `datastoreErrorCode` for this error.
    pub fn datastore_error_code(&self) -> &'static str {
        match self {
            StoreError::Limit(LimitError::Name { kind, .. }) => match kind {
                NameKind::DataStore => "InvalidDataStoreName",
                NameKind::Scope => "InvalidDataStoreScope",
                NameKind::EntryKey => "InvalidEntryKey",
            },
            StoreError::Limit(LimitError::ValueTooBig { .. }) => "ContentTooBig",
            StoreError::Limit(LimitError::ValueNotJson) => "ContentNotJson",
            StoreError::Limit(LimitError::Attributes(_)) => "InvalidAttributes",
            StoreError::Limit(LimitError::TooManyUserIds(_)) => "InvalidUserIds",
            StoreError::Limit(_) => "Unknown",
            StoreError::ExclusiveCreateAndMatchVersion => {
                "ExclusiveCreateAndMatchVersionCannotBeSet"
            }
            StoreError::PreconditionFailed { .. } => "PreconditionFailed",
            StoreError::ExistingValueNotNumeric => "ExistingValueNotNumeric",
            StoreError::IncrementOutOfRange { too_large: true } => "IncrementValueTooLarge",
            StoreError::IncrementOutOfRange { too_large: false } => "IncrementValueTooSmall",
            StoreError::EntryNotFound => "EntryNotFound",
            StoreError::VersionNotFound => "VersionNotFound",
            StoreError::InvalidVersionId => "InvalidVersionId",
            StoreError::InvalidCursor => "InvalidCursor",
        }
    }
}
