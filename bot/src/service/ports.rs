//! The narrow ports the service needs from the outside world. Adapters implement them over the
//! Open Cloud client / emulator, the audit API client and the system clock.

use shared::{AuditRecord, TxnId};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so ports can be used as trait objects (and wrapped by test decorators).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A dependency failed (transport, throttling, unexpected answer). `detail` never holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} is unavailable: {detail}")]
pub struct PortError {
    /// Which dependency (`open cloud`, `audit api`, …).
    pub service: &'static str,
    /// What went wrong, in plain words.
    pub detail: String,
    /// For a throttled call (HTTP 429): how long the platform asked callers to wait
    /// (`Retry-After`), when it said; bulk payouts pause on it (`bulk::WriteBudget`).
    pub retry_after_ms: Option<u64>,
}

impl PortError {
    /// A failure of `service`.
    pub fn new(service: &'static str, detail: impl Into<String>) -> Self {
        Self {
            service,
            detail: detail.into(),
            retry_after_ms: None,
        }
    }

    /// A throttled call of `service` (HTTP 429), with the wait it asked for, if any.
    pub fn throttled(
        service: &'static str,
        detail: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ..Self::new(service, detail)
        }
    }
}

/// One wallet DataStore entry as read: the whole profile JSON plus its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletEntry {
    /// The profile document (`{Data, MetaData, RobloxMetaData, UserIds, GlobalUpdates}`).
    pub value: serde_json::Value,
    /// The entry version (for `matchVersion`).
    pub version: String,
    /// When this version was written, Unix ms.
    pub updated_ms: i64,
    /// Entry attributes (JSON object text); written back unchanged.
    pub attributes: Option<String>,
    /// Entry user ids; written back unchanged.
    pub user_ids: Vec<u64>,
}

/// The precondition of a compare-and-swap write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Write only if the entry still has this version (v1 `matchVersion`).
    MatchVersion(String),
    /// Write only if no entry exists (v1 `exclusiveCreate`).
    CreateOnly,
}

/// One compare-and-swap write of a wallet entry.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletWrite {
    /// Whose wallet.
    pub user_id: u64,
    /// The whole profile document to store.
    pub value: serde_json::Value,
    /// Entry attributes (JSON object text).
    pub attributes: Option<String>,
    /// Entry user ids.
    pub user_ids: Vec<u64>,
    /// When the write may happen.
    pub condition: WriteCondition,
}

impl WalletWrite {
    /// Writes `value` over `current` (its attributes and user ids kept, its version required),
    /// or creates the entry, tagged with the user, when there is none.
    pub fn over(user_id: u64, value: serde_json::Value, current: Option<&WalletEntry>) -> Self {
        let (attributes, user_ids, condition) = match current {
            Some(e) => (
                e.attributes.clone(),
                e.user_ids.clone(),
                WriteCondition::MatchVersion(e.version.clone()),
            ),
            None => (None, vec![user_id], WriteCondition::CreateOnly),
        };
        Self {
            user_id,
            value,
            attributes,
            user_ids,
            condition,
        }
    }
}

/// Why a compare-and-swap write did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// Someone wrote first (HTTP 412).
    #[error("the wallet entry changed since it was read")]
    Conflict {
        /// The entry as it is now when the answer carried it; `None` when it did not (a 412's
        /// body is undocumented), which the service answers by reading the entry again.
        current: Option<WalletEntry>,
    },
    /// The store could not be reached or refused the write.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The wallet DataStore (Open Cloud v1 standard data store).
pub trait WalletStore: Send + Sync {
    /// The live wallet entry of `user_id` (none if it was never written).
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>>;
    /// Stores `write.value` with its attributes and user ids if its condition holds; returns
    /// the entry as written.
    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>>;
}

/// MessagingService publish (best effort: may drop, delay, duplicate, reorder).
pub trait Messaging: Send + Sync {
    /// Publishes `message` on `topic`.
    fn publish<'a>(&'a self, topic: &'a str, message: &'a str)
    -> BoxFut<'a, Result<(), PortError>>;
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this Roblox user.
    pub user_id: Option<u64>,
    /// Only this Discord actor id.
    pub actor_id: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
}

/// The audit API's totals answer (groups largest first, overall counters).
pub use audit_client::{GroupBy, Sums, Totals, TotalsGroup};

/// Filters for the audit log's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsQuery {
    /// Per staff member or per player.
    pub group_by: GroupBy,
    /// Only this Roblox user.
    pub user_id: Option<u64>,
    /// Only this Discord actor id.
    pub actor_id: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Most groups.
    pub limit: u32,
}

/// One page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records.
    pub records: Vec<AuditRecord>,
    /// Cursor of the next (older) page.
    pub next_cursor: Option<String>,
}

/// The audit API.
pub trait AuditLog: Send + Sync {
    /// Posts committed records (idempotent per txn id).
    fn post<'a>(&'a self, records: &'a [AuditRecord]) -> BoxFut<'a, Result<(), PortError>>;
    /// The record of `txn`, waiting up to `wait` for it to appear (long-poll).
    fn wait_for<'a>(
        &'a self,
        txn: &'a TxnId,
        wait: Duration,
    ) -> BoxFut<'a, Result<Option<AuditRecord>, PortError>>;
    /// A page of records.
    fn list<'a>(&'a self, query: &'a AuditQuery) -> BoxFut<'a, Result<AuditPage, PortError>>;
    /// Sums given and deducted per staff member or per player.
    fn totals<'a>(&'a self, query: &'a TotalsQuery) -> BoxFut<'a, Result<Totals, PortError>>;
}

/// A Roblox user as shown to staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobloxUser {
    /// User id.
    pub id: u64,
    /// Username.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// Roblox user look-ups.
pub trait Users: Send + Sync {
    /// A user by id (none if unknown).
    fn by_id(&self, id: u64) -> BoxFut<'_, Result<Option<RobloxUser>, PortError>>;
    /// A user by username, case-insensitively (none if unknown).
    fn by_name<'a>(&'a self, name: &'a str) -> BoxFut<'a, Result<Option<RobloxUser>, PortError>>;
}

/// Time: the current instant and waiting (virtual in tests): the workspace's one clock.
pub use shared::clock::Clock;
