//! One version of an entry, and its listing form.

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
