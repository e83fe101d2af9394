//! Store settings and version retention.

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
