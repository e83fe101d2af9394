//! Committed writes as write hooks see them.

use std::sync::Arc;

use super::entry::Entry;
use super::key::EntryKey;
use super::write::Writer;

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
