//! Versioned standard data stores, shared by the HTTP router and the Roblox engine emulator.
//!
//! Every write (set, increment, update, delete) appends a version to the key's history with a new
//! Roblox-format version id; a delete appends a tombstone. Readers see the newest version unless it
//! is a tombstone. All operations on one store are serialised by one mutex, which makes
//! [`Store::update`] an atomic read-transform-write (what `UpdateAsync` and v1 `matchVersion` need).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use thiserror::Error;

use super::clock::Clock;
use super::version;
use crate::limits::{self, LimitError, NameKind};

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

/// One version of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The raw JSON text as stored (empty for a tombstone).
    pub value: String,
    /// Opaque Roblox-format version id, increasing per key.
    pub version: String,
    /// When the key was (last) created, Unix ms.
    pub created_ms: i64,
    /// When this version was written, Unix ms.
    pub updated_ms: i64,
    /// Attributes (metadata) as JSON object text.
    pub attributes: Option<String>,
    /// User ids associated with the entry (GDPR).
    pub user_ids: Vec<u64>,
    /// True for a tombstone written by a delete.
    pub deleted: bool,
}

/// Who wrote: lets tests check "at most one writer per wallet" on every write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Writer {
    /// An emulated game server.
    GameServer {
        /// The server's `game.JobId`.
        job_id: String,
    },
    /// A caller of the Open Cloud HTTP API.
    OpenCloud {
        /// The name (never the secret) of the API key used.
        api_key_name: String,
    },
    /// Anything else (test setup, operator tooling).
    Other {
        /// A label for logs and assertions.
        name: String,
    },
}

impl Writer {
    /// A game-server writer.
    pub fn game_server(job_id: impl Into<String>) -> Self {
        Writer::GameServer {
            job_id: job_id.into(),
        }
    }

    /// An Open Cloud writer.
    pub fn open_cloud(api_key_name: impl Into<String>) -> Self {
        Writer::OpenCloud {
            api_key_name: api_key_name.into(),
        }
    }

    /// Any other writer.
    pub fn other(name: impl Into<String>) -> Self {
        Writer::Other { name: name.into() }
    }
}

/// What a read-transform-write decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Write nothing (UpdateAsync returning nil).
    Keep,
    /// Write a new version. Attributes and user ids replace the old ones (pass them back to keep them).
    Write {
        /// JSON text.
        value: String,
        /// JSON object text, or none.
        attributes: Option<String>,
        /// User ids (≤ 4).
        user_ids: Vec<u64>,
    },
    /// Write a tombstone (no-op if the key is absent or already deleted).
    Delete,
}

/// Preconditions of a set (v1 `matchVersion` / `exclusiveCreate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetCondition {
    /// Write only if the live entry has this version.
    pub match_version: Option<String>,
    /// Write only if no live entry exists.
    pub exclusive_create: bool,
}

/// The kind of write a [`WriteEvent`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// [`Store::set`].
    Set,
    /// [`Store::increment`].
    Increment,
    /// [`Store::update`] writing a value.
    Update,
    /// A delete (tombstone), from [`Store::delete`] or [`Transform::Delete`].
    Delete,
}

/// One committed write, as seen by write hooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteEvent {
    /// Which entry.
    pub key: EntryKey,
    /// Who wrote.
    pub writer: Writer,
    /// What kind of write.
    pub op: WriteOp,
    /// The live entry before (none if absent or deleted).
    pub before: Option<Entry>,
    /// The live entry after (none for a delete).
    pub after: Option<Entry>,
    /// Store time of the write, Unix ms.
    pub at_ms: i64,
}

/// A callback run for every committed write, in commit order, while the store lock is held:
/// it must not call back into the same store (record and return).
pub type WriteHook = Arc<dyn Fn(&WriteEvent) + Send + Sync>;

/// One element of a version listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version id.
    pub version: String,
    /// True for a tombstone.
    pub deleted: bool,
    /// Length of the value in bytes.
    pub content_length: usize,
    /// When this version was written, Unix ms.
    pub created_ms: i64,
    /// When the key was created, Unix ms.
    pub object_created_ms: i64,
}

impl VersionInfo {
    /// The listing of one version.
    pub fn of(entry: &Entry) -> Self {
        Self {
            version: entry.version.clone(),
            deleted: entry.deleted,
            content_length: entry.value.len(),
            created_ms: entry.updated_ms,
            object_created_ms: entry.created_ms,
        }
    }
}

/// A page of version listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionPage {
    /// Versions in the requested order.
    pub versions: Vec<VersionInfo>,
    /// Opaque cursor for the next page, if any.
    pub next_cursor: Option<String>,
}

/// A page of keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPage {
    /// `(scope, key)` pairs in key order.
    pub keys: Vec<(String, String)>,
    /// Opaque cursor for the next page, if any.
    pub next_cursor: Option<String>,
}

/// A data store of a universe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataStoreInfo {
    /// Its name.
    pub name: String,
    /// When its first entry was written, Unix ms.
    pub created_ms: i64,
}

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

/// One UTC hour in ms: Roblox keeps one backup per key per UTC hour.
pub const BACKUP_WINDOW_MS: i64 = 3_600_000;
/// 30 days in ms: how long a superseded version (or a deleted key) is kept.
pub const BACKUP_RETENTION_MS: i64 = 30 * 24 * 3_600_000;

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Versions kept per key (a memory guard), newest always kept.
    pub max_versions_per_key: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_versions_per_key: 1000,
        }
    }
}

/// How long versions live. The default keeps every version (for tests that inspect a history
/// written seconds apart); [`VersionRetention::roblox`] is Roblox's documented retention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VersionRetention {
    /// Roblox's hourly collapse: a value write replaces the previous version when both fall in
    /// the same UTC hour ("successive writes to a key in the same UTC hour permanently overwrite
    /// the previous data"). A delete never replaces: the value before it stays readable.
    pub collapse_within_utc_hour: bool,
    /// Roblox's expiry: a version disappears this long after a newer one superseded it, and a
    /// deleted key (its tombstone and history) this long after the delete. The live version never
    /// expires. `None` keeps everything.
    pub backup_retention_ms: Option<i64>,
}

impl VersionRetention {
    /// Every version kept; nothing collapses or expires (the default).
    pub fn keep_all() -> Self {
        Self::default()
    }

    /// Roblox's documented retention: one backup per key per UTC hour, backups expire 30 days
    /// after being superseded, deleted keys are purged 30 days after the delete.
    pub fn roblox() -> Self {
        Self {
            collapse_within_utc_hour: true,
            backup_retention_ms: Some(BACKUP_RETENTION_MS),
        }
    }
}

#[derive(Debug, Default)]
struct KeyRecord {
    /// Oldest first; the last one is the head.
    versions: Vec<Entry>,
    /// Tick component of the newest version id; never decreases.
    last_ticks: i64,
    /// Number of versions ever written.
    sequence: u64,
}

impl KeyRecord {
    fn live(&self) -> Option<&Entry> {
        self.versions.last().filter(|e| !e.deleted)
    }

    /// Drops versions past their retention at `now`: a version superseded more than `retention`
    /// ago, and the whole history once its tombstone is that old. The sequence and ticks stay, so
    /// ids keep increasing if the key is written again.
    fn expire(&mut self, retention: Option<i64>, now: i64) {
        let Some(retention) = retention else {
            return;
        };
        let Some(head) = self.versions.last() else {
            return;
        };
        if head.deleted && head.updated_ms.saturating_add(retention) <= now {
            self.versions.clear();
            return;
        }
        // Version i was superseded when version i + 1 was written.
        let superseded: Vec<i64> = self.versions.iter().skip(1).map(|e| e.updated_ms).collect();
        let mut index = 0;
        self.versions.retain(|_| {
            let keep = superseded
                .get(index)
                .is_none_or(|at| at.saturating_add(retention) > now);
            index += 1;
            keep
        });
    }
}

#[derive(Default)]
struct State {
    keys: BTreeMap<EntryKey, KeyRecord>,
    datastores: BTreeMap<(u64, String), i64>,
    hooks: Vec<WriteHook>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    config: StoreConfig,
    retention: VersionRetention,
    state: Mutex<State>,
}

/// The in-memory data-store service of every emulated universe; clones share the same data.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.inner.state.lock().keys.len())
            .finish()
    }
}

/// A validated write about to be committed.
struct PendingWrite {
    value: String,
    attributes: Option<String>,
    user_ids: Vec<u64>,
}

fn check_write(value: &str, attributes: Option<&str>, user_ids: &[u64]) -> Result<(), StoreError> {
    limits::check_value(value)?;
    if let Some(attributes) = attributes {
        limits::check_attributes(attributes)?;
    }
    limits::check_user_ids(user_ids)?;
    Ok(())
}

fn encode_cursor<T: serde::Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

fn decode_cursor<T: serde::de::DeserializeOwned>(cursor: &str) -> Result<T, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
}

/// Parses a stored value as an integer for increment (integral floats such as `5.0` count).
fn integer_value(value: &str) -> Result<i64, StoreError> {
    let parsed: serde_json::Value =
        serde_json::from_str(value).map_err(|_| StoreError::ExistingValueNotNumeric)?;
    if let Some(i) = parsed.as_i64() {
        return Ok(i);
    }
    match parsed.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        _ => Err(StoreError::ExistingValueNotNumeric),
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

    /// Atomic read-transform-write: `f` sees the live entry and decides; runs under the store lock,
    /// so it must not call the store. Returns the live entry afterwards.
    pub fn update(
        &self,
        key: &EntryKey,
        writer: &Writer,
        f: impl FnOnce(Option<&Entry>) -> Transform,
    ) -> Result<Option<Entry>, StoreError> {
        key.validate()?;
        let mut state = self.inner.state.lock();
        let current = self.record(&mut state, key).and_then(KeyRecord::live);
        match f(current) {
            Transform::Keep => Ok(current.cloned()),
            Transform::Write {
                value,
                attributes,
                user_ids,
            } => {
                check_write(&value, attributes.as_deref(), &user_ids)?;
                let pending = PendingWrite {
                    value,
                    attributes,
                    user_ids,
                };
                self.commit(&mut state, key, writer, WriteOp::Update, Some(pending))
                    .map(Some)
            }
            Transform::Delete => {
                if current.is_some() {
                    self.commit(&mut state, key, writer, WriteOp::Delete, None)?;
                }
                Ok(None)
            }
        }
    }

    /// Writes a value (v1 set entry / SetAsync). Attributes and user ids replace the stored ones.
    pub fn set(
        &self,
        key: &EntryKey,
        writer: &Writer,
        value: impl Into<String>,
        attributes: Option<String>,
        user_ids: Vec<u64>,
        condition: SetCondition,
    ) -> Result<Entry, StoreError> {
        key.validate()?;
        if condition.exclusive_create && condition.match_version.is_some() {
            return Err(StoreError::ExclusiveCreateAndMatchVersion);
        }
        let value = value.into();
        check_write(&value, attributes.as_deref(), &user_ids)?;
        let mut state = self.inner.state.lock();
        let current = self.record(&mut state, key).and_then(KeyRecord::live);
        let failed = match (&condition.match_version, current) {
            (Some(wanted), Some(entry)) => entry.version != *wanted,
            (Some(_), None) => true,
            (None, existing) => condition.exclusive_create && existing.is_some(),
        };
        if failed {
            return Err(StoreError::PreconditionFailed {
                current: current.cloned(),
            });
        }
        let pending = PendingWrite {
            value,
            attributes,
            user_ids,
        };
        self.commit(&mut state, key, writer, WriteOp::Set, Some(pending))
    }

    /// Adds `by` to an integer value, creating the key with `by` if absent. Attributes and user ids
    /// replace the stored ones, as with [`Store::set`].
    pub fn increment(
        &self,
        key: &EntryKey,
        writer: &Writer,
        by: i64,
        attributes: Option<String>,
        user_ids: Vec<u64>,
    ) -> Result<Entry, StoreError> {
        key.validate()?;
        check_write("0", attributes.as_deref(), &user_ids)?;
        let mut state = self.inner.state.lock();
        let current = self.record(&mut state, key).and_then(KeyRecord::live);
        let base = match current {
            Some(entry) => integer_value(&entry.value)?,
            None => 0,
        };
        let next = base
            .checked_add(by)
            .ok_or(StoreError::IncrementOutOfRange { too_large: by > 0 })?;
        let pending = PendingWrite {
            value: next.to_string(),
            attributes,
            user_ids,
        };
        self.commit(&mut state, key, writer, WriteOp::Increment, Some(pending))
    }

    /// Tombstones the live entry and returns it; `Ok(None)` (and no write) if there was none.
    pub fn delete(&self, key: &EntryKey, writer: &Writer) -> Result<Option<Entry>, StoreError> {
        key.validate()?;
        let mut state = self.inner.state.lock();
        let current = self
            .record(&mut state, key)
            .and_then(KeyRecord::live)
            .cloned();
        if current.is_some() {
            self.commit(&mut state, key, writer, WriteOp::Delete, None)?;
        }
        Ok(current)
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

    /// Lists an entry's versions written within `[start_ms, end_ms]`, oldest first unless
    /// `descending`, at most `limit` (≥ 1) per page.
    pub fn list_versions(
        &self,
        key: &EntryKey,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        descending: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<VersionPage, StoreError> {
        key.validate()?;
        let after: Option<String> = cursor.map(decode_cursor).transpose()?;
        let limit = limit.max(1);
        let mut state = self.inner.state.lock();
        let Some(record) = self.record(&mut state, key) else {
            return Ok(VersionPage {
                versions: Vec::new(),
                next_cursor: None,
            });
        };
        let in_window = |e: &&Entry| {
            start_ms.is_none_or(|s| e.updated_ms >= s) && end_ms.is_none_or(|t| e.updated_ms <= t)
        };
        let ordered: Vec<&Entry> = if descending {
            record.versions.iter().rev().filter(in_window).collect()
        } else {
            record.versions.iter().filter(in_window).collect()
        };
        // Ids of one key increase as strings, so a cursor survives versions collapsing or
        // expiring between pages.
        let start = match &after {
            Some(v) if !version::is_well_formed(v) => return Err(StoreError::InvalidCursor),
            Some(v) => ordered
                .iter()
                .position(|e| {
                    if descending {
                        e.version < *v
                    } else {
                        e.version > *v
                    }
                })
                .unwrap_or(ordered.len()),
            None => 0,
        };
        let page: Vec<VersionInfo> = ordered
            .iter()
            .skip(start)
            .take(limit)
            .map(|e| VersionInfo::of(e))
            .collect();
        let next_cursor = (start + page.len() < ordered.len())
            .then(|| page.last().map(|v| encode_cursor(&v.version)))
            .flatten();
        Ok(VersionPage {
            versions: page,
            next_cursor,
        })
    }

    /// Lists live keys of a data store in key order; `scope: None` lists every scope.
    pub fn list_keys(
        &self,
        universe_id: u64,
        datastore: &str,
        scope: Option<&str>,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<KeyPage, StoreError> {
        self.list_entry_keys(universe_id, datastore, scope, prefix, false, limit, cursor)
    }

    /// Like [`Store::list_keys`]; with `include_deleted`, keys whose newest version is a
    /// tombstone are listed too (v2 `showDeleted`).
    #[allow(clippy::too_many_arguments)]
    pub fn list_entry_keys(
        &self,
        universe_id: u64,
        datastore: &str,
        scope: Option<&str>,
        prefix: &str,
        include_deleted: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<KeyPage, StoreError> {
        limits::check_name(NameKind::DataStore, datastore)?;
        if let Some(scope) = scope {
            limits::check_name(NameKind::Scope, scope)?;
        }
        let after: Option<(String, String)> = cursor.map(decode_cursor).transpose()?;
        let limit = limit.max(1);
        let now = self.inner.clock.now_ms();
        let state = self.inner.state.lock();
        let start = EntryKey::scoped(
            universe_id,
            datastore,
            scope.unwrap_or(""),
            if scope.is_some() { prefix } else { "" },
        );
        let lower = match &after {
            Some((s, k)) => Bound::Excluded(EntryKey::scoped(universe_id, datastore, s, k)),
            None => Bound::Included(start),
        };
        let mut keys = Vec::new();
        let mut more = false;
        for (entry_key, record) in state.keys.range((lower, Bound::Unbounded)) {
            if entry_key.universe_id != universe_id || entry_key.datastore != datastore {
                break;
            }
            if let Some(scope) = scope {
                if entry_key.scope != scope || !entry_key.key.starts_with(prefix) {
                    // Keys of one scope are contiguous and sorted, so once past the prefix we are done.
                    if entry_key.scope != scope || entry_key.key.as_str() > prefix {
                        break;
                    }
                    continue;
                }
            } else if !entry_key.key.starts_with(prefix) {
                continue;
            }
            let listed = match record.versions.last() {
                None => false,
                Some(head) if head.deleted => include_deleted && !self.purged(head, now),
                Some(_) => true,
            };
            if !listed {
                continue;
            }
            if keys.len() == limit {
                more = true;
                break;
            }
            keys.push((entry_key.scope.clone(), entry_key.key.clone()));
        }
        let next_cursor = more.then(|| keys.last().map(encode_cursor)).flatten();
        Ok(KeyPage { keys, next_cursor })
    }

    /// Lists a universe's data stores by name.
    pub fn list_datastores(
        &self,
        universe_id: u64,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<DataStoreInfo>, Option<String>), StoreError> {
        let after: Option<String> = cursor.map(decode_cursor).transpose()?;
        let limit = limit.max(1);
        let state = self.inner.state.lock();
        let lower = match &after {
            Some(name) => Bound::Excluded((universe_id, name.clone())),
            None => Bound::Included((universe_id, String::new())),
        };
        let mut out = Vec::new();
        let mut more = false;
        for ((u, name), created_ms) in state.datastores.range((lower, Bound::Unbounded)) {
            if *u != universe_id {
                break;
            }
            if !name.starts_with(prefix) {
                continue;
            }
            if out.len() == limit {
                more = true;
                break;
            }
            out.push(DataStoreInfo {
                name: name.clone(),
                created_ms: *created_ms,
            });
        }
        let next = more
            .then(|| out.last().map(|d| encode_cursor(&d.name)))
            .flatten();
        Ok((out, next))
    }

    /// True once a tombstone is past retention (its key is purged on next access).
    fn purged(&self, tombstone: &Entry, now: i64) -> bool {
        self.inner
            .retention
            .backup_retention_ms
            .is_some_and(|r| tombstone.updated_ms.saturating_add(r) <= now)
    }

    /// The key's record with expired versions dropped (none if never written).
    fn record<'a>(&self, state: &'a mut State, key: &EntryKey) -> Option<&'a KeyRecord> {
        let now = self.inner.clock.now_ms();
        let record = state.keys.get_mut(key)?;
        record.expire(self.inner.retention.backup_retention_ms, now);
        Some(record)
    }

    /// Appends a version (a value, or a tombstone when `write` is none), runs hooks, returns it.
    fn commit(
        &self,
        state: &mut State,
        key: &EntryKey,
        writer: &Writer,
        op: WriteOp,
        write: Option<PendingWrite>,
    ) -> Result<Entry, StoreError> {
        let now = self.inner.clock.now_ms();
        state
            .datastores
            .entry((key.universe_id, key.datastore.clone()))
            .or_insert(now);
        let record = state.keys.entry(key.clone()).or_default();
        record.expire(self.inner.retention.backup_retention_ms, now);
        let before = record.live().cloned();
        let created_ms = before.as_ref().map_or(now, |e| e.created_ms);
        let ticks = version::ticks_from_ms(now).max(record.last_ticks + 1);
        record.last_ticks = ticks;
        record.sequence += 1;
        let version = version::format(ticks, record.sequence, version::ticks_from_ms(created_ms));
        let entry = match write {
            Some(w) => Entry {
                value: w.value,
                version,
                created_ms,
                updated_ms: now,
                attributes: w.attributes,
                user_ids: w.user_ids,
                deleted: false,
            },
            None => Entry {
                value: String::new(),
                version,
                created_ms,
                updated_ms: now,
                attributes: None,
                user_ids: Vec::new(),
                deleted: true,
            },
        };
        let collapses = self.inner.retention.collapse_within_utc_hour
            && !entry.deleted
            && record.versions.last().is_some_and(|last| {
                !last.deleted
                    && last.updated_ms.div_euclid(BACKUP_WINDOW_MS)
                        == now.div_euclid(BACKUP_WINDOW_MS)
            });
        if collapses {
            record.versions.pop();
        }
        record.versions.push(entry.clone());
        let keep = self.inner.config.max_versions_per_key.max(1);
        if record.versions.len() > keep {
            let excess = record.versions.len() - keep;
            record.versions.drain(..excess);
        }
        if !state.hooks.is_empty() {
            let event = WriteEvent {
                key: key.clone(),
                writer: writer.clone(),
                op,
                before,
                after: (!entry.deleted).then(|| entry.clone()),
                at_ms: now,
            };
            for hook in &state.hooks {
                hook(&event);
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::clock::ManualClock;

    fn store() -> (Store, Arc<ManualClock>) {
        let clock = ManualClock::shared(1_700_000_000_000);
        (Store::new(clock.clone()), clock)
    }

    fn key(k: &str) -> EntryKey {
        EntryKey::new(42, "EconomyWallet", k)
    }

    fn bot() -> Writer {
        Writer::open_cloud("bot")
    }

    /// An unconditional set by the bot, without metadata.
    fn put(store: &Store, key: &EntryKey, value: impl Into<String>) -> Result<Entry, StoreError> {
        store.set(key, &bot(), value, None, vec![], SetCondition::default())
    }

    #[test]
    fn versions_increase_even_within_one_millisecond() {
        let (store, clock) = store();
        let mut last = String::new();
        for i in 0..20 {
            let e = put(&store, &key("a"), i.to_string()).unwrap();
            assert!(e.version > last, "{} !> {}", e.version, last);
            assert!(version::is_well_formed(&e.version));
            last = e.version;
            if i % 5 == 0 {
                clock.advance(1);
            }
        }
        // Setting the clock back must not make versions go backwards.
        clock.set(0);
        let e = put(&store, &key("a"), "1").unwrap();
        assert!(e.version > last);
    }

    #[test]
    fn created_time_is_kept_and_updated_time_moves() {
        let (store, clock) = store();
        let first = put(&store, &key("a"), "1").unwrap();
        clock.advance(5_000);
        let second = put(&store, &key("a"), "2").unwrap();
        assert_eq!(second.created_ms, first.created_ms);
        assert_eq!(second.updated_ms, first.updated_ms + 5_000);
    }

    #[test]
    fn delete_leaves_a_tombstone_and_history() {
        let (store, clock) = store();
        let v1 = store
            .set(
                &key("a"),
                &bot(),
                "\"x\"",
                None,
                vec![7],
                SetCondition::default(),
            )
            .unwrap();
        clock.advance(10);
        let removed = store.delete(&key("a"), &bot()).unwrap();
        assert_eq!(removed.as_ref().map(|e| e.value.as_str()), Some("\"x\""));
        assert_eq!(store.get(&key("a")), None);
        let head = store.head(&key("a")).unwrap();
        assert!(head.deleted);
        assert_eq!(
            store.delete(&key("a"), &bot()).unwrap(),
            None,
            "second delete writes nothing"
        );
        let page = store
            .list_versions(&key("a"), None, None, false, 10, None)
            .unwrap();
        assert_eq!(page.versions.len(), 2);
        assert!(!page.versions[0].deleted && page.versions[1].deleted);
        assert_eq!(
            store.get_version(&key("a"), &v1.version).unwrap().value,
            "\"x\""
        );
        // Re-creating after a delete starts a new object.
        clock.advance(10);
        let again = put(&store, &key("a"), "1").unwrap();
        assert_eq!(again.created_ms, again.updated_ms);
        assert_ne!(again.created_ms, v1.created_ms);
    }

    #[test]
    fn preconditions_report_the_current_entry() {
        let (store, _) = store();
        let none = store.set(
            &key("a"),
            &bot(),
            "1",
            None,
            vec![],
            SetCondition {
                match_version: Some("08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01".into()),
                exclusive_create: false,
            },
        );
        assert_eq!(none, Err(StoreError::PreconditionFailed { current: None }));
        let created = store
            .set(
                &key("a"),
                &bot(),
                "1",
                Some("{\"k\":1}".into()),
                vec![1],
                SetCondition {
                    match_version: None,
                    exclusive_create: true,
                },
            )
            .unwrap();
        let again = store.set(
            &key("a"),
            &bot(),
            "2",
            None,
            vec![],
            SetCondition {
                match_version: None,
                exclusive_create: true,
            },
        );
        assert_eq!(
            again,
            Err(StoreError::PreconditionFailed {
                current: Some(created.clone())
            })
        );
        let matched = store
            .set(
                &key("a"),
                &bot(),
                "3",
                None,
                vec![],
                SetCondition {
                    match_version: Some(created.version.clone()),
                    exclusive_create: false,
                },
            )
            .unwrap();
        let stale = store.set(
            &key("a"),
            &bot(),
            "4",
            None,
            vec![],
            SetCondition {
                match_version: Some(created.version.clone()),
                exclusive_create: false,
            },
        );
        assert_eq!(
            stale,
            Err(StoreError::PreconditionFailed {
                current: Some(matched)
            })
        );
        let both = store.set(
            &key("a"),
            &bot(),
            "5",
            None,
            vec![],
            SetCondition {
                match_version: Some(created.version),
                exclusive_create: true,
            },
        );
        assert_eq!(both, Err(StoreError::ExclusiveCreateAndMatchVersion));
        assert_eq!(
            store.get(&key("a")).unwrap().value,
            "3",
            "failed sets change nothing"
        );
    }

    #[test]
    fn hook_sees_every_write_in_order() {
        let (store, _) = store();
        let seen: Arc<Mutex<Vec<WriteEvent>>> = Arc::default();
        let sink = seen.clone();
        store.set_write_hook(Arc::new(move |e: &WriteEvent| sink.lock().push(e.clone())));
        let gs = Writer::game_server("job-1");
        put(&store, &key("a"), "1").unwrap();
        store.increment(&key("a"), &bot(), 4, None, vec![]).unwrap();
        store
            .update(&key("a"), &gs, |cur| Transform::Write {
                value: format!("{}", cur.map_or(0, |e| e.value.parse::<i64>().unwrap()) * 2),
                attributes: None,
                user_ids: vec![],
            })
            .unwrap();
        store.update(&key("a"), &gs, |_| Transform::Keep).unwrap();
        let _ = store.set(
            &key("a"),
            &bot(),
            "9",
            None,
            vec![],
            SetCondition {
                match_version: None,
                exclusive_create: true,
            },
        );
        store.delete(&key("a"), &gs).unwrap();
        let seen = seen.lock();
        let ops: Vec<WriteOp> = seen.iter().map(|e| e.op).collect();
        assert_eq!(
            ops,
            vec![
                WriteOp::Set,
                WriteOp::Increment,
                WriteOp::Update,
                WriteOp::Delete
            ]
        );
        assert_eq!(seen[1].before.as_ref().unwrap().value, "1");
        assert_eq!(seen[1].after.as_ref().unwrap().value, "5");
        assert_eq!(seen[2].writer, gs);
        assert_eq!(seen[2].after.as_ref().unwrap().value, "10");
        assert_eq!(seen[3].after, None);
        assert_eq!(seen[3].before.as_ref().unwrap().value, "10");
    }

    #[test]
    fn update_is_atomic_under_threads() {
        let (store, _) = store();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        store
                            .update(&key("n"), &Writer::game_server(format!("job-{t}")), |cur| {
                                let n: i64 = cur.map_or(0, |e| e.value.parse().unwrap());
                                Transform::Write {
                                    value: (n + 1).to_string(),
                                    attributes: None,
                                    user_ids: vec![],
                                }
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.get(&key("n")).unwrap().value, "1600");
    }

    #[test]
    fn increment_rules() {
        let (store, _) = store();
        assert_eq!(
            store
                .increment(&key("c"), &bot(), 5, None, vec![])
                .unwrap()
                .value,
            "5"
        );
        assert_eq!(
            store
                .increment(&key("c"), &bot(), -7, None, vec![])
                .unwrap()
                .value,
            "-2"
        );
        put(&store, &key("s"), "\"text\"").unwrap();
        assert_eq!(
            store.increment(&key("s"), &bot(), 1, None, vec![]),
            Err(StoreError::ExistingValueNotNumeric)
        );
        put(&store, &key("f"), "3.0").unwrap();
        assert_eq!(
            store
                .increment(&key("f"), &bot(), 1, None, vec![])
                .unwrap()
                .value,
            "4"
        );
        put(&store, &key("m"), i64::MAX.to_string()).unwrap();
        assert_eq!(
            store.increment(&key("m"), &bot(), 1, None, vec![]),
            Err(StoreError::IncrementOutOfRange { too_large: true })
        );
    }

    #[test]
    fn limits_are_enforced_and_change_nothing() {
        let (store, _) = store();
        let long = "k".repeat(51);
        let err = put(&store, &key(&long), "1").unwrap_err();
        assert_eq!(err.datastore_error_code(), "InvalidEntryKey");
        let err = put(&store, &key("a"), "not json").unwrap_err();
        assert_eq!(err.datastore_error_code(), "ContentNotJson");
        let err = store
            .set(
                &key("a"),
                &bot(),
                "1",
                None,
                vec![1, 2, 3, 4, 5],
                SetCondition::default(),
            )
            .unwrap_err();
        assert_eq!(err.datastore_error_code(), "InvalidUserIds");
        let err = store
            .set(
                &key("a"),
                &bot(),
                "1",
                Some("[]".into()),
                vec![],
                SetCondition::default(),
            )
            .unwrap_err();
        assert_eq!(err.datastore_error_code(), "InvalidAttributes");
        let big = format!("\"{}\"", "x".repeat(crate::limits::MAX_VALUE_BYTES));
        let err = put(&store, &key("a"), big).unwrap_err();
        assert_eq!(err.datastore_error_code(), "ContentTooBig");
        assert_eq!(store.head(&key("a")), None);
    }

    #[test]
    fn list_keys_pages_by_prefix_and_scope() {
        let (store, _) = store();
        for k in ["wallet_1", "wallet_2", "wallet_3", "other", "wallet_4"] {
            put(&store, &key(k), "1").unwrap();
        }
        store
            .set(
                &EntryKey::scoped(42, "EconomyWallet", "beta", "wallet_9"),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        store.delete(&key("wallet_3"), &bot()).unwrap();
        let p1 = store
            .list_keys(42, "EconomyWallet", Some("global"), "wallet_", 2, None)
            .unwrap();
        assert_eq!(
            p1.keys,
            vec![
                ("global".into(), "wallet_1".into()),
                ("global".into(), "wallet_2".into())
            ]
        );
        let p2 = store
            .list_keys(
                42,
                "EconomyWallet",
                Some("global"),
                "wallet_",
                2,
                p1.next_cursor.as_deref(),
            )
            .unwrap();
        assert_eq!(p2.keys, vec![("global".into(), "wallet_4".into())]);
        assert_eq!(p2.next_cursor, None);
        let all = store
            .list_keys(42, "EconomyWallet", None, "wallet_", 10, None)
            .unwrap();
        assert_eq!(all.keys.len(), 4);
        assert_eq!(all.keys[0].0, "beta");
        assert_eq!(
            store.list_keys(42, "EconomyWallet", None, "", 10, Some("!!")),
            Err(StoreError::InvalidCursor)
        );
        let (stores, next) = store.list_datastores(42, "", 10, None).unwrap();
        assert_eq!(stores.len(), 1);
        assert_eq!(next, None);
    }

    #[test]
    fn list_versions_filters_orders_and_pages() {
        let (store, clock) = store();
        let mut versions = Vec::new();
        for i in 0..5 {
            versions.push(put(&store, &key("a"), i.to_string()).unwrap());
            clock.advance(1_000);
        }
        let window = store
            .list_versions(
                &key("a"),
                Some(versions[1].updated_ms),
                Some(versions[3].updated_ms),
                true,
                2,
                None,
            )
            .unwrap();
        assert_eq!(window.versions[0].version, versions[3].version);
        assert_eq!(window.versions[1].version, versions[2].version);
        let rest = store
            .list_versions(
                &key("a"),
                Some(versions[1].updated_ms),
                Some(versions[3].updated_ms),
                true,
                2,
                window.next_cursor.as_deref(),
            )
            .unwrap();
        assert_eq!(rest.versions.len(), 1);
        assert_eq!(rest.versions[0].version, versions[1].version);
        assert_eq!(rest.next_cursor, None);
        assert_eq!(
            store
                .get_at(&key("a"), versions[2].updated_ms + 10)
                .unwrap()
                .value,
            "2"
        );
        assert_eq!(
            store.get_version(&key("a"), "garbage"),
            Err(StoreError::InvalidVersionId)
        );
    }

    fn roblox_store(start_ms: i64) -> (Store, Arc<ManualClock>) {
        let clock = ManualClock::shared(start_ms);
        let store = Store::with_retention(
            clock.clone(),
            StoreConfig::default(),
            VersionRetention::roblox(),
        );
        (store, clock)
    }

    fn history(store: &Store, key: &EntryKey) -> Vec<(String, bool)> {
        store
            .list_versions(key, None, None, false, 1000, None)
            .unwrap()
            .versions
            .into_iter()
            .map(|v| {
                let value = store
                    .get_version(key, &v.version)
                    .map(|e| e.value)
                    .unwrap_or_default();
                (value, v.deleted)
            })
            .collect()
    }

    #[test]
    fn writes_in_one_utc_hour_collapse_to_the_last() {
        // 10:00:00 UTC on some day.
        let hour = 1_700_002_800_000;
        assert_eq!(hour % BACKUP_WINDOW_MS, 0);
        let (store, clock) = roblox_store(hour);
        let first = put(&store, &key("a"), "1").unwrap();
        clock.advance(60_000);
        let second = put(&store, &key("a"), "2").unwrap();
        assert!(second.version > first.version, "every write mints a new id");
        assert_eq!(second.created_ms, first.created_ms);
        assert_eq!(
            store.get_version(&key("a"), &first.version),
            Err(StoreError::VersionNotFound),
            "overwritten within the hour"
        );
        clock.advance(BACKUP_WINDOW_MS - 60_001); // 10:59:59.999
        put(&store, &key("a"), "3").unwrap();
        clock.advance(1); // 11:00:00.000, a new hour
        put(&store, &key("a"), "4").unwrap();
        clock.advance(1_000);
        put(&store, &key("a"), "5").unwrap();
        assert_eq!(
            history(&store, &key("a")),
            vec![("3".into(), false), ("5".into(), false)]
        );
        // A delete keeps the value before it, and a write after a tombstone keeps the tombstone.
        clock.advance(1_000);
        store.delete(&key("a"), &bot()).unwrap();
        clock.advance(1_000);
        put(&store, &key("a"), "6").unwrap();
        assert_eq!(
            history(&store, &key("a")),
            vec![
                ("3".into(), false),
                ("5".into(), false),
                (String::new(), true),
                ("6".into(), false)
            ]
        );
        // The default store keeps every version.
        let (plain, _) = store_at(hour);
        put(&plain, &key("a"), "1").unwrap();
        put(&plain, &key("a"), "2").unwrap();
        assert_eq!(history(&plain, &key("a")).len(), 2);
    }

    fn store_at(ms: i64) -> (Store, Arc<ManualClock>) {
        let clock = ManualClock::shared(ms);
        (Store::new(clock.clone()), clock)
    }

    #[test]
    fn superseded_versions_expire_after_thirty_days_and_the_head_never() {
        let (store, clock) = roblox_store(1_700_002_800_000);
        let old = put(&store, &key("a"), "1").unwrap();
        clock.advance(2 * BACKUP_WINDOW_MS);
        let middle = put(&store, &key("a"), "2").unwrap();
        clock.advance(2 * BACKUP_WINDOW_MS);
        let head = put(&store, &key("a"), "3").unwrap();
        // `old` was superseded when `middle` was written; 30 days later, to the ms, it is gone.
        clock.set(middle.updated_ms + BACKUP_RETENTION_MS - 1);
        assert!(store.get_version(&key("a"), &old.version).is_ok());
        clock.advance(1);
        assert_eq!(
            store.get_version(&key("a"), &old.version),
            Err(StoreError::VersionNotFound)
        );
        assert!(store.get_version(&key("a"), &middle.version).is_ok());
        assert_eq!(store.get_at(&key("a"), old.updated_ms), None);
        clock.set(head.updated_ms + 10 * BACKUP_RETENTION_MS);
        assert_eq!(history(&store, &key("a")), vec![("3".into(), false)]);
        assert_eq!(store.get(&key("a")).unwrap().version, head.version);
        // A write after expiry still gets a larger id.
        let next = put(&store, &key("a"), "4").unwrap();
        assert!(next.version > head.version);
    }

    #[test]
    fn a_deleted_key_is_purged_thirty_days_after_the_delete() {
        let (store, clock) = roblox_store(1_700_002_800_000);
        let written = put(&store, &key("a"), "1").unwrap();
        clock.advance(BACKUP_WINDOW_MS);
        store.delete(&key("a"), &bot()).unwrap();
        clock.advance(BACKUP_RETENTION_MS - 1);
        assert!(store.head(&key("a")).unwrap().deleted);
        assert!(store.get_version(&key("a"), &written.version).is_ok());
        clock.advance(1);
        assert_eq!(store.head(&key("a")), None);
        assert_eq!(history(&store, &key("a")), vec![]);
        let again = put(&store, &key("a"), "2").unwrap();
        assert!(again.version > written.version);
        assert_eq!(again.created_ms, clock.now_ms());
    }

    #[test]
    fn version_cursor_survives_a_collapse_between_pages() {
        let (store, clock) = roblox_store(1_700_002_800_000);
        for i in 0..4 {
            clock.advance(BACKUP_WINDOW_MS);
            put(&store, &key("a"), i.to_string()).unwrap();
        }
        let p1 = store
            .list_versions(&key("a"), None, None, true, 1, None)
            .unwrap();
        assert_eq!(p1.versions.len(), 1);
        // The version the cursor points at is overwritten within its hour; paging goes on.
        clock.advance(10);
        put(&store, &key("a"), "9").unwrap();
        let p2 = store
            .list_versions(&key("a"), None, None, true, 10, p1.next_cursor.as_deref())
            .unwrap();
        assert_eq!(p2.versions.len(), 3);
        assert!(p2.versions[0].version < p1.versions[0].version);
    }

    #[test]
    fn history_is_capped_but_head_survives() {
        let clock = ManualClock::shared(0);
        let store = Store::with_config(
            clock,
            StoreConfig {
                max_versions_per_key: 3,
            },
        );
        for i in 0..10 {
            put(&store, &key("a"), i.to_string()).unwrap();
        }
        let page = store
            .list_versions(&key("a"), None, None, false, 100, None)
            .unwrap();
        assert_eq!(page.versions.len(), 3);
        assert_eq!(store.get(&key("a")).unwrap().value, "9");
    }
}
