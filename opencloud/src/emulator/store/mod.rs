//! Versioned standard data stores, shared by the HTTP router and the Roblox engine emulator.
//!
//! Every write (set, increment, update, delete) appends a version to the key's history with a new
//! Roblox-format version id; a delete appends a tombstone. Readers see the newest version unless it
//! is a tombstone. All operations on one store are serialised by one mutex, which makes
//! [`Store::update`] an atomic read-transform-write (what `UpdateAsync` and v1 `matchVersion` need).
//!
//! - `key`: [`EntryKey`] (universe, data store, scope, key) and [`DEFAULT_SCOPE`].
//! - `entry`: [`Entry`], one version, and [`VersionInfo`], its listing form.
//! - `write`: what a write takes ([`Writer`], [`Transform`], [`SetCondition`]).
//! - `events`: committed writes for write hooks ([`WriteEvent`], [`WriteOp`], [`WriteHook`]).
//! - `error`: [`StoreError`] and Roblox's v1 error codes.
//! - `config`: [`StoreConfig`], [`VersionRetention`] and Roblox's backup windows.
//! - `history`: one key's versions and their expiry.
//! - `state`: the [`Store`] handle, its constructors and hooks.
//! - `reads`, `writes`, `listing`: the operations.

mod config;
mod entry;
mod error;
mod events;
mod history;
mod key;
mod listing;
mod reads;
mod state;
mod write;
mod writes;

pub use config::{BACKUP_RETENTION_MS, BACKUP_WINDOW_MS, StoreConfig, VersionRetention};
pub use entry::{Entry, VersionInfo};
pub use error::StoreError;
pub use events::{WriteEvent, WriteHook, WriteOp};
pub use key::{DEFAULT_SCOPE, EntryKey};
pub use listing::{DataStoreInfo, KeyPage, VersionPage};
pub use state::Store;
pub use write::{SetCondition, Transform, Writer};

#[cfg(test)]
mod tests;
