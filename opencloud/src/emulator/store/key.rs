//! Where an entry lives: universe, data store, scope and key.

use std::fmt;

use super::error::StoreError;
use crate::limits::{self, NameKind};

/// The scope used when none is given.
pub const DEFAULT_SCOPE: &str = "global";

/// Where an entry lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryKey {
    /// The experience (universe) id.
    pub universe_id: u64,
    /// The data store name.
    pub datastore: String,
    /// The scope (`global` by default).
    pub scope: String,
    /// The entry key.
    pub key: String,
}

impl EntryKey {
    /// A key in the default `global` scope.
    pub fn new(universe_id: u64, datastore: impl Into<String>, key: impl Into<String>) -> Self {
        Self::scoped(universe_id, datastore, DEFAULT_SCOPE, key)
    }

    /// A key in an explicit scope.
    pub fn scoped(
        universe_id: u64,
        datastore: impl Into<String>,
        scope: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Self {
            universe_id,
            datastore: datastore.into(),
            scope: scope.into(),
            key: key.into(),
        }
    }

    /// Checks the name limits (non-empty, ≤ 50 bytes each).
    pub fn validate(&self) -> Result<(), StoreError> {
        limits::check_name(NameKind::DataStore, &self.datastore)?;
        limits::check_name(NameKind::Scope, &self.scope)?;
        limits::check_name(NameKind::EntryKey, &self.key)?;
        Ok(())
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.universe_id, self.datastore, self.scope, self.key
        )
    }
}
