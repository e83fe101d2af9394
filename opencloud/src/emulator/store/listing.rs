//! Listings: an entry's versions, a data store's keys, a universe's data stores; each paged with
//! an opaque cursor.

use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::entry::{Entry, VersionInfo};
use super::error::StoreError;
use super::key::EntryKey;
use super::state::Store;
use crate::emulator::version;
use crate::limits::{self, NameKind};

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

fn encode_cursor<T: serde::Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

fn decode_cursor<T: serde::de::DeserializeOwned>(cursor: &str) -> Result<T, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
}

impl Store {
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
}
