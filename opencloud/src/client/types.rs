//! Request and response types of the client.

use serde::Deserialize;

/// Where an entry lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryPath {
    /// Universe (experience) id.
    pub universe_id: u64,
    /// Data store name.
    pub datastore: String,
    /// Scope (`global` by default).
    pub scope: String,
    /// Entry key.
    pub key: String,
}

impl EntryPath {
    /// An entry in the `global` scope.
    pub fn new(universe_id: u64, datastore: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            universe_id,
            datastore: datastore.into(),
            scope: "global".into(),
            key: key.into(),
        }
    }

    /// The same entry in another scope.
    pub fn in_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

/// An entry read through v1 (get, increment, get version, or a 412's current entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataStoreEntry {
    /// The raw JSON value text.
    pub value: String,
    /// `roblox-entry-version`.
    pub version: String,
    /// `roblox-entry-created-time`, Unix ms (none if absent or unparsable).
    pub created_ms: Option<i64>,
    /// `roblox-entry-version-created-time`, Unix ms.
    pub version_created_ms: Option<i64>,
    /// `roblox-entry-attributes` (JSON object text), if any.
    pub attributes: Option<String>,
    /// `roblox-entry-userids`.
    pub user_ids: Vec<u64>,
}

impl DataStoreEntry {
    /// The value parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.value)
    }
}

/// Options of a v1 set. Attributes and user ids replace the stored ones: Roblox clears them when
/// omitted, so a read-modify-write must pass them back ([`SetOptions::replacing`] does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// `roblox-entry-attributes` (JSON object text).
    pub attributes: Option<String>,
    /// `roblox-entry-userids`.
    pub user_ids: Vec<u64>,
    /// `matchVersion`: write only if the entry still has this version.
    pub match_version: Option<String>,
    /// `exclusiveCreate`: write only if the entry does not exist.
    pub exclusive_create: bool,
}

impl SetOptions {
    /// Compare-and-swap over `current`: keeps its attributes and user ids, matches its version.
    pub fn replacing(current: &DataStoreEntry) -> Self {
        Self {
            attributes: current.attributes.clone(),
            user_ids: current.user_ids.clone(),
            match_version: Some(current.version.clone()),
            exclusive_create: false,
        }
    }

    /// Create-only.
    pub fn create_only() -> Self {
        Self {
            exclusive_create: true,
            ..Self::default()
        }
    }
}

/// A version as returned by set entry and list versions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryVersion {
    /// Version id.
    pub version: String,
    /// True for a tombstone.
    pub deleted: bool,
    /// Value length.
    pub content_length: u64,
    /// When this version was written (ISO-8601 text as sent).
    pub created_time: String,
    /// When the key was created (ISO-8601 text as sent).
    pub object_created_time: String,
}

/// A `(scope, key)` pair from list keys.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyRef {
    /// Scope.
    pub scope: String,
    /// Key.
    pub key: String,
}

/// A page of keys.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysPage {
    /// Keys.
    pub keys: Vec<KeyRef>,
    /// Cursor of the next page; none (or empty) on the last page.
    #[serde(default)]
    pub next_page_cursor: Option<String>,
}

/// A page of versions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionsPage {
    /// Versions.
    pub versions: Vec<EntryVersion>,
    /// Cursor of the next page; none (or empty) on the last page.
    #[serde(default)]
    pub next_page_cursor: Option<String>,
}

/// Query of list keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListKeys {
    /// Scope; `None` lists every scope (`allScopes=true`).
    pub scope: Option<String>,
    /// Key prefix.
    pub prefix: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Query of list versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListVersions {
    /// Oldest version time, Unix ms.
    pub start_ms: Option<i64>,
    /// Newest version time, Unix ms.
    pub end_ms: Option<i64>,
    /// Newest first.
    pub descending: bool,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// An entry read through data stores v2.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryV2 {
    /// Resource path.
    pub path: String,
    /// Entry id (with `@revision` when a revision was asked for).
    pub id: String,
    /// The value.
    pub value: serde_json::Value,
    /// Revision id (same format as v1 versions).
    pub revision_id: String,
    /// Creation time text.
    pub create_time: String,
    /// Revision time text.
    pub revision_create_time: String,
    /// `ACTIVE` or `DELETED`.
    pub state: String,
    /// Opaque etag.
    #[serde(default)]
    pub etag: Option<String>,
    /// `users/<id>` paths.
    #[serde(default)]
    pub users: Vec<String>,
    /// Attributes object.
    #[serde(default)]
    pub attributes: serde_json::Value,
}

impl EntryV2 {
    /// The user ids from `users/<id>` paths.
    pub fn user_ids(&self) -> Vec<u64> {
        self.users
            .iter()
            .filter_map(|u| u.strip_prefix("users/")?.parse().ok())
            .collect()
    }
}

/// A user from `GET /cloud/v2/users/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// User id (a string in the API).
    pub id: String,
    /// Username.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Account creation time text.
    #[serde(default)]
    pub create_time: String,
}

/// One match of the legacy username → id look-up.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsernameMatch {
    /// The name as asked.
    pub requested_username: String,
    /// User id.
    pub id: u64,
    /// Current username.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
}
