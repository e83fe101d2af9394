//! `DataStoreEntry` JSON: the full entry of get, create, update and increment answers, and the
//! partial one of revision listings.

use serde_json::{Value, json};

use super::resource::{PathForm, entry_path};
use crate::emulator::store::{Entry, EntryKey, VersionInfo};
use crate::timefmt;

/// A full `DataStoreEntry`, its `path` in `form`.
pub(super) fn entry_json(
    key: &EntryKey,
    entry: &Entry,
    with_revision: bool,
    form: PathForm,
) -> Value {
    let value: Value = serde_json::from_str(&entry.value).unwrap_or(Value::Null);
    let attributes: Value = entry
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_else(|| json!({}));
    let id = if with_revision {
        format!("{}@{}", key.key, entry.version)
    } else {
        key.key.clone()
    };
    json!({
        "path": entry_path(key, &id, form),
        "createTime": timefmt::format_rfc3339(entry.created_ms),
        "revisionId": entry.version,
        "revisionCreateTime": timefmt::format_rfc3339(entry.updated_ms),
        "state": if entry.deleted { "DELETED" } else { "ACTIVE" },
        "etag": entry.version,
        "value": value,
        "id": id,
        "users": entry.user_ids.iter().map(|u| format!("users/{u}")).collect::<Vec<_>>(),
        "attributes": attributes,
    })
}

/// A partial entry of a revision listing: no value, users or attributes; its `path` in `form`.
pub(super) fn revision_json(key: &EntryKey, v: &VersionInfo, form: PathForm) -> Value {
    let id = format!("{}@{}", key.key, v.version);
    json!({
        "path": entry_path(key, &id, form),
        "createTime": timefmt::format_rfc3339(v.object_created_ms),
        "revisionId": v.version,
        "revisionCreateTime": timefmt::format_rfc3339(v.created_ms),
        "state": if v.deleted { "DELETED" } else { "ACTIVE" },
        "etag": v.version,
        "id": id,
    })
}
