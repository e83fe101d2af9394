//! Standard data stores v1 (`/datastores/v1/universes/{u}/standard-datastores/...`).

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde_json::json;

use super::call::Call;
use super::errors::{self, Shape, v1_invalid, v1_store_error};
use super::gate::Needs;
use super::query::Query;
use crate::emulator::auth::scopes;
use crate::emulator::budget::BudgetClass;
use crate::emulator::experience::KeyDirection;
use crate::emulator::faults::Operation;
use crate::emulator::server::PreconditionBody;
use crate::emulator::store::{
    DEFAULT_SCOPE, Entry, EntryKey, SetCondition, StoreError, VersionInfo, Writer,
};
use crate::timefmt;

/// Legacy v1 lists (data stores, keys, versions) spend the Read budget: Roblox's v1 limits have
/// no List class (<https://create.roblox.com/docs/cloud/guides/data-stores/throttling>).
const V1_LIST: BudgetClass = BudgetClass::Read;
/// Legacy v1 delete entry spends the Write budget: Roblox's v1 limits count it with create, update
/// and increment; their Delete class is for deleting whole data stores.
const V1_DELETE_ENTRY: BudgetClass = BudgetClass::Write;

/// Default and largest page sizes (list keys / versions default 16; data stores default 1).
const MAX_PAGE: usize = 100;

/// The universe of the path, or 400 `InvalidUniverseId`.
fn universe(call: &Call) -> Result<u64, Response> {
    call.universe_id()
        .ok_or_else(|| v1_invalid("InvalidUniverseId", "Invalid universe id."))
}

fn entry_key(u: u64, q: &Query) -> Result<EntryKey, Response> {
    let datastore = q
        .get("datastoreName")
        .ok_or_else(|| v1_invalid("InvalidDataStoreName", "datastoreName is required."))?;
    let key = q
        .get("entryKey")
        .ok_or_else(|| v1_invalid("InvalidEntryKey", "entryKey is required."))?;
    let scope = q.get("scope").unwrap_or(DEFAULT_SCOPE);
    let key = EntryKey::scoped(u, datastore, scope, key);
    key.validate().map_err(|e| v1_store_error(&e))?;
    Ok(key)
}

fn limit(q: &Query, default: usize) -> Result<usize, Response> {
    match q.get("limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(MAX_PAGE)),
            _ => Err(v1_invalid("Unknown", "limit must be a positive integer.")),
        },
    }
}

fn md5_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// A read's answer: the key's read throughput is spent on the value, then the entry is sent.
fn read_response(call: &Call, key: &EntryKey, entry: &Entry) -> Result<Response, Response> {
    call.spend_key(
        Shape::V1DataStore,
        key,
        KeyDirection::Read,
        entry.value.len(),
    )?;
    Ok(entry_response(StatusCode::OK, entry))
}

/// 200/412 response: body = value, metadata in `roblox-entry-*` headers.
pub(crate) fn entry_response(status: StatusCode, entry: &Entry) -> Response {
    let mut response = (status, entry.value.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(headers, "content-md5", md5_base64(entry.value.as_bytes()));
    set(headers, "roblox-entry-version", entry.version.clone());
    set(
        headers,
        "roblox-entry-created-time",
        timefmt::format_v1(entry.created_ms),
    );
    set(
        headers,
        "roblox-entry-version-created-time",
        timefmt::format_v1(entry.updated_ms),
    );
    if let Some(attributes) = &entry.attributes {
        set(headers, "roblox-entry-attributes", attributes.clone());
    }
    set(
        headers,
        "roblox-entry-userids",
        serde_json::to_string(&entry.user_ids).unwrap_or_else(|_| "[]".into()),
    );
    response
}

/// An `EntryVersion` object (set response, version listings).
fn version_json(v: &VersionInfo) -> serde_json::Value {
    json!({
        "version": v.version,
        "deleted": v.deleted,
        "contentLength": v.content_length,
        "createdTime": timefmt::format_rfc3339(v.created_ms),
        "objectCreatedTime": timefmt::format_rfc3339(v.object_created_ms),
    })
}

fn precondition_failed(current: Option<&Entry>, body: PreconditionBody) -> Response {
    match current {
        Some(entry) if body == PreconditionBody::Entry => {
            entry_response(StatusCode::PRECONDITION_FAILED, entry)
        }
        Some(_) => errors::v1(
            412,
            "FAILED_PRECONDITION",
            "The entry has changed.",
            "PreconditionFailed",
        ),
        None => errors::v1(
            412,
            "FAILED_PRECONDITION",
            "The entry does not exist.",
            "PreconditionFailed",
        ),
    }
}

fn store_result_error(error: StoreError, body: PreconditionBody) -> Response {
    match error {
        StoreError::PreconditionFailed { current } => precondition_failed(current.as_ref(), body),
        other => v1_store_error(&other),
    }
}

/// Parses `roblox-entry-attributes` (absent = none, which clears stored attributes).
fn attributes_header(headers: &HeaderMap) -> Result<Option<String>, Response> {
    match headers.get("roblox-entry-attributes") {
        None => Ok(None),
        Some(v) => {
            let text = v.to_str().map_err(|_| {
                v1_invalid("InvalidAttributes", "Attributes must be a JSON object.")
            })?;
            crate::limits::check_attributes(text)
                .map_err(|e| v1_invalid("InvalidAttributes", &e.to_string()))?;
            Ok(Some(text.to_owned()))
        }
    }
}

/// Parses `roblox-entry-userids`: a JSON array (what clients send) or a comma-separated list (what
/// the spec text says). Absent = none, which clears stored ids.
fn user_ids_header(headers: &HeaderMap) -> Result<Vec<u64>, Response> {
    let bad = || {
        v1_invalid(
            "InvalidUserIds",
            "User ids must be a JSON array of at most 4 ids.",
        )
    };
    let Some(v) = headers.get("roblox-entry-userids") else {
        return Ok(Vec::new());
    };
    let text = v.to_str().map_err(|_| bad())?.trim();
    let ids: Vec<u64> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|_| bad())?
    } else if text.is_empty() {
        Vec::new()
    } else {
        text.split(',')
            .map(|p| p.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?
    };
    crate::limits::check_user_ids(&ids).map_err(|_| bad())?;
    Ok(ids)
}

fn needs<'a>(
    op: Operation,
    u: Option<u64>,
    scopes: &'a [&'a str],
    class: BudgetClass,
) -> Needs<'a> {
    Needs::keyed(op, Shape::V1DataStore, u, scopes, class)
}

/// `GET .../standard-datastores`
pub(crate) async fn list_datastores(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(
            Operation::ListDataStores,
            u,
            &[scopes::CONTROL_LIST],
            V1_LIST,
        ),
        |_gate| {
            let u = universe(&call)?;
            let q = &call.query;
            let limit = limit(q, 1)?;
            let (stores, next) = call
                .emu
                .store
                .list_datastores(u, q.get("prefix").unwrap_or(""), limit, q.get("cursor"))
                .map_err(|e| v1_store_error(&e))?;
            let stores: Vec<_> = stores
            .iter()
            .map(|d| json!({"name": d.name, "createdTime": timefmt::format_rfc3339(d.created_ms)}))
            .collect();
            Ok(Json(json!({"datastores": stores, "nextPageCursor": next})).into_response())
        },
    )
    .await
}

/// `GET .../datastore/entries`
pub(crate) async fn list_keys(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(Operation::ListKeys, u, &[scopes::OBJECTS_LIST], V1_LIST),
        |_gate| {
            let u = universe(&call)?;
            let q = &call.query;
            let datastore = q
                .get("datastoreName")
                .ok_or_else(|| v1_invalid("InvalidDataStoreName", "datastoreName is required."))?;
            let all_scopes = q
                .flag("allScopes")
                .map_err(|()| v1_invalid("Unknown", "allScopes must be true or false."))?;
            let scope = match (all_scopes, q.get("scope")) {
                // The v1 call's engine equivalent, `ListKeysAsync` on a data store opened with
                // `DataStoreOptions.AllScopes`, requires an empty scope and errors otherwise; the
                // emulator refuses the same contradiction rather than silently dropping the scope.
                (true, Some(scope)) if !scope.is_empty() => {
                    return Err(v1_invalid(
                        "InvalidDataStoreScope",
                        "scope cannot be set when allScopes is true.",
                    ));
                }
                (true, _) => None,
                (false, scope) => Some(scope.unwrap_or(DEFAULT_SCOPE)),
            };
            let limit = limit(q, 16)?;
            let page = call
                .emu
                .store
                .list_keys(
                    u,
                    datastore,
                    scope,
                    q.get("prefix").unwrap_or(""),
                    limit,
                    q.get("cursor"),
                )
                .map_err(|e| v1_store_error(&e))?;
            let keys: Vec<_> = page
                .keys
                .iter()
                .map(|(scope, key)| json!({"scope": scope, "key": key}))
                .collect();
            Ok(Json(json!({"keys": keys, "nextPageCursor": page.next_cursor})).into_response())
        },
    )
    .await
}

/// `GET .../datastore/entries/entry`
pub(crate) async fn get_entry(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(
            Operation::GetEntry,
            u,
            &[scopes::OBJECTS_READ],
            BudgetClass::Read,
        ),
        |_gate| {
            let key = entry_key(universe(&call)?, &call.query)?;
            let entry = call
                .emu
                .store
                .get(&key)
                .ok_or_else(|| v1_store_error(&StoreError::EntryNotFound))?;
            read_response(&call, &key, &entry)
        },
    )
    .await
}

/// `POST .../datastore/entries/entry`
pub(crate) async fn set_entry(call: Call, body: Bytes) -> Response {
    let u = call.universe_id();
    let q = &call.query;
    let probe = u.and_then(|u| entry_key(u, q).ok());
    let needed = call.write_scopes(probe.as_ref());
    call.handle(
        needs(Operation::SetEntry, u, &needed, BudgetClass::Write),
        |gate| {
            let writer = Writer::open_cloud(&gate.key_name);
            let key = entry_key(universe(&call)?, q)?;
            if !call.headers.contains_key("content-length") {
                return Err(v1_invalid(
                    "ContentLengthRequired",
                    "Content-Length is required.",
                ));
            }
            if let Some(sent) = call.headers.get("content-md5") {
                if sent.as_bytes() != md5_base64(&body).as_bytes() {
                    return Err(v1_invalid(
                        "ChecksumMismatch",
                        "content-md5 does not match the body.",
                    ));
                }
            }
            let value = std::str::from_utf8(&body)
                .map_err(|_| v1_invalid("ContentNotJson", "The body must be UTF-8 JSON."))?;
            let match_version = q.get("matchVersion").map(str::to_owned);
            let exclusive_create = q
                .flag("exclusiveCreate")
                .map_err(|()| v1_invalid("Unknown", "exclusiveCreate must be true or false."))?;
            let attributes = attributes_header(&call.headers)?;
            let user_ids = user_ids_header(&call.headers)?;
            call.spend_key(Shape::V1DataStore, &key, KeyDirection::Write, body.len())?;
            let entry = call
                .emu
                .store
                .set(
                    &key,
                    &writer,
                    value,
                    attributes,
                    user_ids,
                    SetCondition {
                        match_version,
                        exclusive_create,
                    },
                )
                .map_err(|e| store_result_error(e, call.emu.precondition_body))?;
            Ok(Json(version_json(&VersionInfo::of(&entry))).into_response())
        },
    )
    .await
}

/// `POST .../datastore/entries/entry/increment`
pub(crate) async fn increment_entry(call: Call) -> Response {
    let u = call.universe_id();
    let q = &call.query;
    let probe = u.and_then(|u| entry_key(u, q).ok());
    let needed = call.write_scopes(probe.as_ref());
    call.handle(
        needs(Operation::IncrementEntry, u, &needed, BudgetClass::Write),
        |gate| {
            let writer = Writer::open_cloud(&gate.key_name);
            let key = entry_key(universe(&call)?, q)?;
            let by = match q.get("incrementBy") {
                None => 1,
                Some(raw) => raw
                    .parse::<i64>()
                    .map_err(|_| v1_invalid("Unknown", "incrementBy must be a 64-bit integer."))?,
            };
            let attributes = attributes_header(&call.headers)?;
            let user_ids = user_ids_header(&call.headers)?;
            call.spend_key(Shape::V1DataStore, &key, KeyDirection::Write, 0)?;
            let entry = call
                .emu
                .store
                .increment(&key, &writer, by, attributes, user_ids)
                .map_err(|e| store_result_error(e, call.emu.precondition_body))?;
            Ok(entry_response(StatusCode::OK, &entry))
        },
    )
    .await
}

/// `DELETE .../datastore/entries/entry`
pub(crate) async fn delete_entry(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(
            Operation::DeleteEntry,
            u,
            &[scopes::OBJECTS_DELETE],
            V1_DELETE_ENTRY,
        ),
        |gate| {
            let writer = Writer::open_cloud(&gate.key_name);
            let key = entry_key(universe(&call)?, &call.query)?;
            // Removing an entry counts in the key's write throughput (billed as the 1 KB minimum).
            call.spend_key(Shape::V1DataStore, &key, KeyDirection::Write, 0)?;
            match call
                .emu
                .store
                .delete(&key, &writer)
                .map_err(|e| store_result_error(e, call.emu.precondition_body))?
            {
                Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
                None => Err(v1_store_error(&StoreError::EntryNotFound)),
            }
        },
    )
    .await
}

/// `GET .../datastore/entries/entry/versions`
pub(crate) async fn list_versions(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(
            Operation::ListVersions,
            u,
            &[scopes::VERSIONS_LIST],
            V1_LIST,
        ),
        |_gate| {
            let q = &call.query;
            let key = entry_key(universe(&call)?, q)?;
            let time = |name: &str, code: &str| {
                q.get(name)
                    .map(|t| timefmt::parse(t).map_err(|e| v1_invalid(code, &e.to_string())))
                    .transpose()
            };
            let start = time("startTime", "InvalidStartTime")?;
            let end = time("endTime", "InvalidEndTime")?;
            let descending = match q.get("sortOrder") {
                None => false,
                Some(s) if s.eq_ignore_ascii_case("Ascending") => false,
                Some(s) if s.eq_ignore_ascii_case("Descending") => true,
                Some(_) => {
                    return Err(v1_invalid(
                        "InvalidSortOrder",
                        "sortOrder must be Ascending or Descending.",
                    ));
                }
            };
            let limit = limit(q, 16)?;
            let page = call
                .emu
                .store
                .list_versions(&key, start, end, descending, limit, q.get("cursor"))
                .map_err(|e| v1_store_error(&e))?;
            let versions: Vec<_> = page.versions.iter().map(version_json).collect();
            Ok(
                Json(json!({"versions": versions, "nextPageCursor": page.next_cursor}))
                    .into_response(),
            )
        },
    )
    .await
}

/// `GET .../datastore/entries/entry/versions/version`
pub(crate) async fn get_version(call: Call) -> Response {
    let u = call.universe_id();
    call.handle(
        needs(
            Operation::GetVersion,
            u,
            &[scopes::VERSIONS_READ],
            BudgetClass::Read,
        ),
        |_gate| {
            let q = &call.query;
            let key = entry_key(universe(&call)?, q)?;
            let version = q
                .get("versionId")
                .ok_or_else(|| v1_invalid("InvalidVersionId", "versionId is required."))?;
            let entry = call
                .emu
                .store
                .get_version(&key, version)
                .map_err(|e| v1_store_error(&e))?;
            if entry.deleted {
                // A tombstone has no value to return; Roblox's answer here is undocumented.
                return Err(v1_store_error(&StoreError::EntryNotFound));
            }
            read_response(&call, &key, &entry)
        },
    )
    .await
}
