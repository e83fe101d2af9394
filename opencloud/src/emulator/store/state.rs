//! The [`Store`] handle: every universe's keys and data stores under one mutex, the clock,
//! settings and write hooks; expired versions are dropped when a key is accessed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use super::config::{StoreConfig, VersionRetention};
use super::entry::Entry;
use super::events::WriteHook;
use super::history::KeyRecord;
use super::key::EntryKey;
use shared::clock::Clock;

#[derive(Default)]
pub(super) struct State {
    pub(super) keys: BTreeMap<EntryKey, KeyRecord>,
    pub(super) datastores: BTreeMap<(u64, String), i64>,
    pub(super) hooks: Vec<WriteHook>,
}

pub(super) struct Inner {
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: StoreConfig,
    pub(super) retention: VersionRetention,
    pub(super) state: Mutex<State>,
}

/// The in-memory data-store service of every emulated universe; clones share the same data.
#[derive(Clone)]
pub struct Store {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.inner.state.lock().keys.len())
            .finish()
    }
}

impl Store {
    /// An empty store reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_config(clock, StoreConfig::default())
    }

    /// An empty store with explicit settings, keeping every version.
    pub fn with_config(clock: Arc<dyn Clock>, config: StoreConfig) -> Self {
        Self::with_retention(clock, config, VersionRetention::keep_all())
    }

    /// An empty store with explicit settings and version retention.
    pub fn with_retention(
        clock: Arc<dyn Clock>,
        config: StoreConfig,
        retention: VersionRetention,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                config,
                retention,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The store's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Adds a hook run for every committed write (see [`WriteHook`] for the locking rule).
    pub fn add_write_hook(&self, hook: WriteHook) {
        self.inner.state.lock().hooks.push(hook);
    }

    /// Replaces all write hooks with `hook`.
    pub fn set_write_hook(&self, hook: WriteHook) {
        let mut state = self.inner.state.lock();
        state.hooks.clear();
        state.hooks.push(hook);
    }

    /// Removes all write hooks.
    pub fn clear_write_hooks(&self) {
        self.inner.state.lock().hooks.clear();
    }

    /// True once a tombstone is past retention (its key is purged on next access).
    pub(super) fn purged(&self, tombstone: &Entry, now: i64) -> bool {
        self.inner
            .retention
            .backup_retention_ms
            .is_some_and(|r| tombstone.updated_ms.saturating_add(r) <= now)
    }

    /// The key's record with expired versions dropped (none if never written).
    pub(super) fn record<'a>(&self, state: &'a mut State, key: &EntryKey) -> Option<&'a KeyRecord> {
        let now = self.inner.clock.now_ms();
        let record = state.keys.get_mut(key)?;
        record.expire(self.inner.retention.backup_retention_ms, now);
        Some(record)
    }
}
