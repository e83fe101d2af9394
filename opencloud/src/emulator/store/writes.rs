//! Writes: set, increment, atomic update, delete, and the commit that appends a version, applies
//! the hourly collapse and the history cap, and runs the write hooks.

use super::config::BACKUP_WINDOW_MS;
use super::entry::Entry;
use super::error::StoreError;
use super::events::{WriteEvent, WriteOp};
use super::history::KeyRecord;
use super::key::EntryKey;
use super::state::{State, Store};
use super::write::{SetCondition, Transform, Writer};
use crate::emulator::version;
use crate::limits;

/// A validated write about to be committed.
struct PendingWrite {
    value: String,
    attributes: Option<String>,
    user_ids: Vec<u64>,
}

/// Checks a value, attributes and user ids against the limits before anything is written.
fn check_write(value: &str, attributes: Option<&str>, user_ids: &[u64]) -> Result<(), StoreError> {
    limits::check_value(value)?;
    if let Some(attributes) = attributes {
        limits::check_attributes(attributes)?;
    }
    limits::check_user_ids(user_ids)?;
    Ok(())
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
