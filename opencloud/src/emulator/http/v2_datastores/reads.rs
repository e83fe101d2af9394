//! Reads of entries: list (`scopes/-` for every scope), get with a revision suffix, and
//! `:listRevisions`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{invalid, not_found, store_error};
use super::paging::{
    LIST_PAGE, REVISIONS_PAGE, decode_token, encode_token, page_size, parse_id_filter,
    parse_time_filter,
};
use super::render::{entry_json, revision_json};
use super::resource::{
    ALL_SCOPES, Collection, Revision, check_latest_at, entry_id, entry_path, needs, parse_entry_id,
    split_method,
};
use crate::emulator::auth::scopes;
use crate::emulator::experience::{KeyDirection, RequestType};
use crate::emulator::faults::Operation;
use crate::emulator::http::call::Call;
use crate::emulator::http::errors::Shape;
use crate::emulator::store::EntryKey;

/// `GET .../entries`: ids (and paths) of the entries, `scopes/-` for every scope.
pub(crate) async fn list(call: Call) -> Response {
    let c = Collection::of(&call);
    let u = c.universe_id();
    call.handle(
        needs(
            Operation::V2ListEntries,
            u,
            &[scopes::OBJECTS_LIST],
            RequestType::List,
        ),
        |_| {
            let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
            let q = &call.query;
            let limit = page_size(q, LIST_PAGE)?;
            let prefix = parse_id_filter(q.get("filter"))?;
            let show_deleted = q
                .flag("showDeleted")
                .map_err(|()| invalid("showDeleted must be true or false."))?;
            crate::limits::check_name(crate::limits::NameKind::DataStore, c.datastore)
                .map_err(|e| invalid(&e.to_string()))?;
            let scope = (c.scope != ALL_SCOPES).then_some(c.scope);
            let fingerprint = format!("{}|{}|{show_deleted}", c.scope, prefix);
            let cursor = q
                .get("pageToken")
                .filter(|t| !t.is_empty())
                .map(|t| decode_token(t, &fingerprint))
                .transpose()?;
            let page = call
                .emu
                .store
                .list_entry_keys(
                    u,
                    c.datastore,
                    scope,
                    &prefix,
                    show_deleted,
                    limit,
                    cursor.as_deref(),
                )
                .map_err(|e| store_error(&e))?;
            let entries: Vec<Value> = page
                .keys
                .iter()
                .map(|(scope, key)| {
                    let key = EntryKey::scoped(u, c.datastore, scope, key);
                    json!({"path": entry_path(&key, &key.key, c.form), "id": key.key})
                })
                .collect();
            let mut body = json!({ "dataStoreEntries": entries });
            if let Some(next) = page.next_cursor {
                body["nextPageToken"] = json!(encode_token(&fingerprint, &next));
            }
            Ok(Json(body).into_response())
        },
    )
    .await
}

/// `GET .../entries/{id}` and `GET .../entries/{id}:listRevisions`.
pub(crate) async fn get(call: Call) -> Response {
    let id = entry_id(&call);
    match split_method(id, "listRevisions") {
        Some(key) => list_revisions(&call, key).await,
        None => get_entry(&call, id).await,
    }
}

/// `GET .../entries/{id}` with an optional revision suffix.
async fn get_entry(call: &Call, raw_id: &str) -> Response {
    let c = Collection::of(call);
    let u = c.universe_id();
    call.handle(
        needs(
            Operation::V2GetEntry,
            u,
            &[scopes::OBJECTS_READ],
            RequestType::Read,
        ),
        |_| {
            let (key_name, revision) = parse_entry_id(raw_id).map_err(|m| invalid(&m))?;
            if let Revision::LatestAt(at) = revision {
                check_latest_at(at, call.emu.clock.now_ms())
                    .map_err(|e| invalid(&e.to_string()))?;
            }
            let key = c.key(&key_name)?;
            let store = &call.emu.store;
            let (entry, with_revision) = match revision {
                Revision::Latest => (store.get(&key).ok_or_else(not_found)?, false),
                Revision::LatestAt(at) => {
                    let e = store
                        .get_at(&key, at)
                        .filter(|e| !e.deleted)
                        .ok_or_else(not_found)?;
                    (e, true)
                }
                Revision::Id(id) => {
                    let e = store.get_version(&key, &id).map_err(|_| not_found())?;
                    if e.deleted {
                        return Err(not_found());
                    }
                    (e, true)
                }
            };
            call.spend_key(Shape::V2, &key, KeyDirection::Read, entry.value.len())?;
            Ok(Json(entry_json(&key, &entry, with_revision, c.form)).into_response())
        },
    )
    .await
}

/// `GET .../entries/{id}:listRevisions`: newest first, partial entries.
async fn list_revisions(call: &Call, raw_id: &str) -> Response {
    let c = Collection::of(call);
    let u = c.universe_id();
    call.handle(
        needs(
            Operation::V2ListRevisions,
            u,
            &[scopes::VERSIONS_LIST],
            RequestType::List,
        ),
        |_| {
            let key = c.key(raw_id)?;
            let q = &call.query;
            let limit = page_size(q, REVISIONS_PAGE)?;
            let filter = q.get("filter").unwrap_or("");
            let (start, end) = parse_time_filter(Some(filter))?;
            let cursor = q
                .get("pageToken")
                .filter(|t| !t.is_empty())
                .map(|t| decode_token(t, filter))
                .transpose()?;
            let page = call
                .emu
                .store
                .list_versions(&key, start, end, true, limit, cursor.as_deref())
                .map_err(|e| store_error(&e))?;
            let revisions: Vec<Value> = page
                .versions
                .iter()
                .map(|v| revision_json(&key, v, c.form))
                .collect();
            let mut body = json!({ "dataStoreEntries": revisions });
            if let Some(next) = page.next_cursor {
                body["nextPageToken"] = json!(encode_token(filter, &next));
            }
            Ok(Json(body).into_response())
        },
    )
    .await
}
