//! Reads of single entries: the live entry, the head (tombstones included), one version, the
//! version at a time.

use super::entry::Entry;
use super::error::StoreError;
use super::history::KeyRecord;
use super::key::EntryKey;
use super::state::Store;
use crate::emulator::version;

impl Store {
    /// The live entry (none if absent or tombstoned).
    pub fn get(&self, key: &EntryKey) -> Option<Entry> {
        let mut state = self.inner.state.lock();
        self.record(&mut state, key)
            .and_then(KeyRecord::live)
            .cloned()
    }

    /// True once any entry of the data store was written.
    pub fn datastore_exists(&self, universe_id: u64, datastore: &str) -> bool {
        self.inner
            .state
            .lock()
            .datastores
            .contains_key(&(universe_id, datastore.to_owned()))
    }

    /// The newest version including a tombstone (none if the key was never written).
    pub fn head(&self, key: &EntryKey) -> Option<Entry> {
        let mut state = self.inner.state.lock();
        self.record(&mut state, key)
            .and_then(|r| r.versions.last())
            .cloned()
    }

    /// One version of an entry (tombstones included, with `deleted` set).
    pub fn get_version(&self, key: &EntryKey, version: &str) -> Result<Entry, StoreError> {
        key.validate()?;
        if !version::is_well_formed(version) {
            return Err(StoreError::InvalidVersionId);
        }
        let mut state = self.inner.state.lock();
        self.record(&mut state, key)
            .and_then(|r| r.versions.iter().find(|e| e.version == version))
            .cloned()
            .ok_or(StoreError::VersionNotFound)
    }

    /// The newest version written at or before `at_ms` (tombstones included).
    pub fn get_at(&self, key: &EntryKey, at_ms: i64) -> Option<Entry> {
        let mut state = self.inner.state.lock();
        self.record(&mut state, key)
            .and_then(|r| r.versions.iter().rev().find(|e| e.updated_ms <= at_ms))
            .cloned()
    }
}
