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

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Versions kept per key, newest always kept (Roblox keeps one per UTC hour for 30 days).
    pub max_versions_per_key: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_versions_per_key: 1000,
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

    /// An empty store with explicit settings.
    pub fn with_config(clock: Arc<dyn Clock>, config: StoreConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                config,
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
        let state = self.inner.state.lock();
        state.keys.get(key).and_then(KeyRecord::live).cloned()
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
        let state = self.inner.state.lock();
        state.keys.get(key).and_then(|r| r.versions.last()).cloned()
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
        let current = state.keys.get(key).and_then(KeyRecord::live);
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
        let current = state.keys.get(key).and_then(KeyRecord::live);
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
        let current = state.keys.get(key).and_then(KeyRecord::live);
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
        let current = state.keys.get(key).and_then(KeyRecord::live).cloned();
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
        let state = self.inner.state.lock();
        state
            .keys
            .get(key)
            .and_then(|r| r.versions.iter().find(|e| e.version == version))
            .cloned()
            .ok_or(StoreError::VersionNotFound)
    }

    /// The newest version written at or before `at_ms` (tombstones included).
    pub fn get_at(&self, key: &EntryKey, at_ms: i64) -> Option<Entry> {
        let state = self.inner.state.lock();
        state
            .keys
            .get(key)
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
        let state = self.inner.state.lock();
        let Some(record) = state.keys.get(key) else {
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
        let start = match &after {
            Some(v) => {
                let pos = ordered
                    .iter()
                    .position(|e| &e.version == v)
                    .ok_or(StoreError::InvalidCursor)?;
                pos + 1
            }
            None => 0,
        };
        let page: Vec<VersionInfo> = ordered
            .iter()
            .skip(start)
            .take(limit)
            .map(|e| VersionInfo {
                version: e.version.clone(),
                deleted: e.deleted,
                content_length: e.value.len(),
                created_ms: e.updated_ms,
                object_created_ms: e.created_ms,
            })
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
        limits::check_name(NameKind::DataStore, datastore)?;
        if let Some(scope) = scope {
            limits::check_name(NameKind::Scope, scope)?;
        }
        let after: Option<(String, String)> = cursor.map(decode_cursor).transpose()?;
        let limit = limit.max(1);
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
            if record.live().is_none() {
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

    #[test]
    fn versions_increase_even_within_one_millisecond() {
        let (store, clock) = store();
        let mut last = String::new();
        for i in 0..20 {
            let e = store
                .set(
                    &key("a"),
                    &bot(),
                    i.to_string(),
                    None,
                    vec![],
                    SetCondition::default(),
                )
                .unwrap();
            assert!(e.version > last, "{} !> {}", e.version, last);
            assert!(version::is_well_formed(&e.version));
            last = e.version;
            if i % 5 == 0 {
                clock.advance(1);
            }
        }
        // Setting the clock back must not make versions go backwards.
        clock.set(0);
        let e = store
            .set(
                &key("a"),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        assert!(e.version > last);
    }

    #[test]
    fn created_time_is_kept_and_updated_time_moves() {
        let (store, clock) = store();
        let first = store
            .set(
                &key("a"),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        clock.advance(5_000);
        let second = store
            .set(
                &key("a"),
                &bot(),
                "2",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
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
        let again = store
            .set(
                &key("a"),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
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
        store
            .set(
                &key("a"),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
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
        store
            .set(
                &key("s"),
                &bot(),
                "\"text\"",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        assert_eq!(
            store.increment(&key("s"), &bot(), 1, None, vec![]),
            Err(StoreError::ExistingValueNotNumeric)
        );
        store
            .set(
                &key("f"),
                &bot(),
                "3.0",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        assert_eq!(
            store
                .increment(&key("f"), &bot(), 1, None, vec![])
                .unwrap()
                .value,
            "4"
        );
        store
            .set(
                &key("m"),
                &bot(),
                i64::MAX.to_string(),
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap();
        assert_eq!(
            store.increment(&key("m"), &bot(), 1, None, vec![]),
            Err(StoreError::IncrementOutOfRange { too_large: true })
        );
    }

    #[test]
    fn limits_are_enforced_and_change_nothing() {
        let (store, _) = store();
        let long = "k".repeat(51);
        let err = store
            .set(
                &key(&long),
                &bot(),
                "1",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap_err();
        assert_eq!(err.datastore_error_code(), "InvalidEntryKey");
        let err = store
            .set(
                &key("a"),
                &bot(),
                "not json",
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap_err();
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
        let err = store
            .set(
                &key("a"),
                &bot(),
                big,
                None,
                vec![],
                SetCondition::default(),
            )
            .unwrap_err();
        assert_eq!(err.datastore_error_code(), "ContentTooBig");
        assert_eq!(store.head(&key("a")), None);
    }

    #[test]
    fn list_keys_pages_by_prefix_and_scope() {
        let (store, _) = store();
        for k in ["wallet_1", "wallet_2", "wallet_3", "other", "wallet_4"] {
            store
                .set(&key(k), &bot(), "1", None, vec![], SetCondition::default())
                .unwrap();
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
            versions.push(
                store
                    .set(
                        &key("a"),
                        &bot(),
                        i.to_string(),
                        None,
                        vec![],
                        SetCondition::default(),
                    )
                    .unwrap(),
            );
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
            store
                .set(
                    &key("a"),
                    &bot(),
                    i.to_string(),
                    None,
                    vec![],
                    SetCondition::default(),
                )
                .unwrap();
        }
        let page = store
            .list_versions(&key("a"), None, None, false, 100, None)
            .unwrap();
        assert_eq!(page.versions.len(), 3);
        assert_eq!(store.get(&key("a")).unwrap().value, "9");
    }
}
