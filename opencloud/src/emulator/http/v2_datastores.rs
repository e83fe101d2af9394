//! Data stores v2 entries (`/cloud/v2/universes/{u}/data-stores/{ds}[/scopes/{s}]/entries...`):
//! list, create, get (`@latest`, `@latest:<time>`, `@<revision>`), update (PATCH, full replace,
//! `allowMissing`), delete, `:increment` and `:listRevisions` (reference/opencloud.md §2.3).
//!
//! Choices where Roblox is silent are listed in the crate README ("v2 entries").

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::errors::{Shape, v2};
use super::query::Query;
use super::{Needs, handle, spend_key, write_scopes};
use crate::emulator::auth::scopes;
use crate::emulator::budget::{BudgetClass, KeyDirection};
use crate::emulator::faults::Operation;
use crate::emulator::server::Emulator;
use crate::emulator::store::{
    DEFAULT_SCOPE, Entry, EntryKey, SetCondition, StoreError, Transform, VersionInfo, Writer,
};
use crate::timefmt;

type Shared = State<Arc<Emulator>>;

/// List entries: default and largest page (Roblox: default 10, max 256).
const LIST_PAGE: (usize, usize) = (10, 256);
/// List revisions: default and largest page (Roblox: default 10, max 100).
const REVISIONS_PAGE: (usize, usize) = (10, 100);
/// The scope id that lists every scope.
const ALL_SCOPES: &str = "-";

/// Which revision a get asks for.
#[derive(Debug, PartialEq, Eq)]
enum Revision {
    Latest,
    LatestAt(i64),
    Id(String),
}

/// Splits `key@suffix`: the text after the last `@` is the revision (`latest`, `latest:<time>`, or
/// an id); without `@` the latest revision is meant.
fn parse_entry_id(raw: &str) -> Result<(String, Revision), String> {
    let Some((key, rev)) = raw.rsplit_once('@') else {
        return Ok((raw.to_owned(), Revision::Latest));
    };
    let revision = if rev == "latest" {
        Revision::Latest
    } else if let Some(time) = rev.strip_prefix("latest:") {
        Revision::LatestAt(timefmt::parse(time).map_err(|e| e.to_string())?)
    } else if crate::emulator::version::is_well_formed(rev) {
        Revision::Id(rev.to_owned())
    } else {
        return Err(format!("Invalid revision id '{rev}'."));
    };
    Ok((key.to_owned(), revision))
}

fn invalid(message: &str) -> Response {
    v2(400, "INVALID_ARGUMENT", message)
}

fn not_found() -> Response {
    v2(404, "NOT_FOUND", "The entry was not found.")
}

/// The resource path of an entry (`id` may carry `@<revision>`).
fn entry_path(key: &EntryKey, id: &str) -> String {
    let scope_part = if key.scope == DEFAULT_SCOPE {
        String::new()
    } else {
        format!("/scopes/{}", key.scope)
    };
    format!(
        "universes/{}/data-stores/{}{}/entries/{}",
        key.universe_id, key.datastore, scope_part, id
    )
}

/// A full `DataStoreEntry`.
fn entry_json(key: &EntryKey, entry: &Entry, with_revision: bool) -> Value {
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
        "path": entry_path(key, &id),
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

/// A partial entry of a revision listing: no value, users or attributes.
fn revision_json(key: &EntryKey, v: &VersionInfo) -> Value {
    let id = format!("{}@{}", key.key, v.version);
    json!({
        "path": entry_path(key, &id),
        "createTime": timefmt::format_rfc3339(v.object_created_ms),
        "revisionId": v.version,
        "revisionCreateTime": timefmt::format_rfc3339(v.created_ms),
        "state": if v.deleted { "DELETED" } else { "ACTIVE" },
        "etag": v.version,
        "id": id,
    })
}

/// The writable fields of a `DataStoreEntry` body (`value`, `users`, `attributes`, `etag`).
struct EntryBody {
    value: String,
    user_ids: Vec<u64>,
    attributes: Option<String>,
    etag: Option<String>,
}

/// `users` as `["users/123"]`; omitted = none (which clears stored ids).
fn parse_users(body: &Value) -> Result<Vec<u64>, Response> {
    let Some(users) = body.get("users") else {
        return Ok(Vec::new());
    };
    let bad = || invalid("users must be an array of \"users/<id>\" strings.");
    let list = users.as_array().ok_or_else(bad)?;
    let ids = list
        .iter()
        .map(|u| {
            u.as_str()
                .and_then(|s| s.strip_prefix("users/"))
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<u64>, Response>>()?;
    crate::limits::check_user_ids(&ids).map_err(|e| invalid(&e.to_string()))?;
    Ok(ids)
}

/// `attributes` as a JSON object; omitted = none (which clears stored attributes).
fn parse_attributes(body: &Value) -> Result<Option<String>, Response> {
    match body.get("attributes") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.is_empty() => Ok(None),
        Some(a @ Value::Object(_)) => {
            let text = a.to_string();
            crate::limits::check_attributes(&text).map_err(|e| invalid(&e.to_string()))?;
            Ok(Some(text))
        }
        Some(_) => Err(invalid("attributes must be a JSON object.")),
    }
}

fn parse_json_body(raw: &[u8]) -> Result<Value, Response> {
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| invalid("The request body must be JSON."))?;
    if !body.is_object() {
        return Err(invalid("The request body must be a JSON object."));
    }
    Ok(body)
}

/// A create/update body: `value` is required.
fn parse_entry_body(raw: &[u8]) -> Result<EntryBody, Response> {
    let body = parse_json_body(raw)?;
    let value = body
        .get("value")
        .ok_or_else(|| invalid("value is required."))?
        .to_string();
    Ok(EntryBody {
        value,
        user_ids: parse_users(&body)?,
        attributes: parse_attributes(&body)?,
        etag: match body.get("etag") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid("etag must be a string.")),
        },
    })
}

/// 409 `ABORTED` for a stale etag (Roblox documents the field, not the failure; see README).
fn etag_mismatch() -> Response {
    v2(
        409,
        "ABORTED",
        "The etag does not match the entry's current etag.",
    )
}

fn store_error(error: &StoreError) -> Response {
    match error {
        StoreError::EntryNotFound | StoreError::VersionNotFound => not_found(),
        other => invalid(&other.to_string()),
    }
}

/// Path of an entry collection: universe, data store, scope.
struct Collection {
    universe: String,
    datastore: String,
    scope: String,
}

impl Collection {
    fn universe_id(&self) -> Option<u64> {
        self.universe.parse().ok()
    }

    fn key(&self, key: &str) -> Result<EntryKey, Response> {
        let u = self
            .universe_id()
            .ok_or_else(|| invalid("Invalid universe id."))?;
        if self.scope == ALL_SCOPES {
            return Err(invalid("Scope '-' is only valid when listing entries."));
        }
        let key = EntryKey::scoped(u, &self.datastore, &self.scope, key);
        key.validate().map_err(|e| invalid(&e.to_string()))?;
        Ok(key)
    }
}

fn needs<'a>(
    op: Operation,
    u: Option<u64>,
    scopes: &'a [&'a str],
    class: BudgetClass,
) -> Needs<'a> {
    Needs {
        op,
        shape: Shape::V2,
        universe_id: u,
        scopes,
        budget: Some(class),
        auth: true,
    }
}

/// A page token that remembers the query it belongs to: reusing it with other parameters is a
/// 400, as Roblox documents.
fn encode_token(fingerprint: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!([fingerprint, cursor]).to_string())
}

fn decode_token(token: &str, fingerprint: &str) -> Result<String, Response> {
    let bad = || invalid("Invalid page token.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let (sent, cursor): (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if sent != fingerprint {
        return Err(invalid(
            "The page token was issued for a request with other parameters.",
        ));
    }
    Ok(cursor)
}

fn page_size(q: &Query, (default, max): (usize, usize)) -> Result<usize, Response> {
    match q.get("maxPageSize") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) => Ok(default),
            Ok(n) => Ok(n.min(max)),
            Err(_) => Err(invalid("maxPageSize must be a non-negative integer.")),
        },
    }
}

/// `id.startsWith("prefix")` (the only list filter Roblox documents); none = every id.
fn parse_id_filter(filter: Option<&str>) -> Result<String, Response> {
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(String::new());
    };
    let bad = || invalid("filter must have the form id.startsWith(\"prefix\").");
    let inner = filter
        .strip_prefix("id.startsWith(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    match serde_json::from_str::<Value>(inner.trim()).map_err(|_| bad())? {
        Value::String(prefix) => Ok(prefix),
        _ => Err(bad()),
    }
}

/// `revision_create_time >= T && revision_create_time <= T` (either side, `>`/`<` too).
fn parse_time_filter(filter: Option<&str>) -> Result<(Option<i64>, Option<i64>), Response> {
    let mut bounds = (None, None);
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(bounds);
    };
    let bad = || {
        invalid(
            "filter must compare revision_create_time with >=, >, <= or < and an RFC 3339 time.",
        )
    };
    for clause in filter.split("&&") {
        let rest = clause
            .trim()
            .strip_prefix("revision_create_time")
            .ok_or_else(bad)?
            .trim_start();
        let (op, time) = [">=", "<=", ">", "<"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|t| (*op, t.trim())))
            .ok_or_else(bad)?;
        let at = timefmt::parse(time.trim_matches('"')).map_err(|_| bad())?;
        match op {
            ">=" => bounds.0 = Some(at),
            ">" => bounds.0 = Some(at.saturating_add(1)),
            "<=" => bounds.1 = Some(at),
            _ => bounds.1 = Some(at.saturating_sub(1)),
        }
    }
    Ok(bounds)
}

/// `GET .../entries`: ids (and paths) of the entries, `scopes/-` for every scope.
async fn list_entries(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw: Option<String>,
) -> Response {
    let u = c.universe_id();
    handle(
        &emu,
        &headers,
        needs(
            Operation::V2ListEntries,
            u,
            &[scopes::OBJECTS_LIST],
            BudgetClass::List,
        ),
        |_| {
            let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
            let q = Query::parse(raw.as_deref());
            let limit = page_size(&q, LIST_PAGE)?;
            let prefix = parse_id_filter(q.get("filter"))?;
            let show_deleted = q
                .flag("showDeleted")
                .map_err(|()| invalid("showDeleted must be true or false."))?;
            crate::limits::check_name(crate::limits::NameKind::DataStore, &c.datastore)
                .map_err(|e| invalid(&e.to_string()))?;
            let scope = (c.scope != ALL_SCOPES).then_some(c.scope.as_str());
            let fingerprint = format!("{}|{}|{show_deleted}", c.scope, prefix);
            let cursor = q
                .get("pageToken")
                .filter(|t| !t.is_empty())
                .map(|t| decode_token(t, &fingerprint))
                .transpose()?;
            let page = emu
                .store
                .list_entry_keys(
                    u,
                    &c.datastore,
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
                    let key = EntryKey::scoped(u, &c.datastore, scope, key);
                    json!({"path": entry_path(&key, &key.key), "id": key.key})
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

/// `POST .../entries?id=<key>`: create-only; 400 if the entry exists.
async fn create_entry(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw: Option<String>,
    body: Bytes,
) -> Response {
    let u = c.universe_id();
    let q = Query::parse(raw.as_deref());
    let probe = q.get("id").and_then(|id| c.key(id).ok());
    let needed = write_scopes(&emu, probe.as_ref());
    handle(
        &emu,
        &headers,
        needs(Operation::V2CreateEntry, u, &needed, BudgetClass::Write),
        |gate| {
            let id = q
                .get("id")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| invalid("id is required."))?;
            let key = c.key(id)?;
            let entry_body = parse_entry_body(&body)?;
            spend_key(
                &emu,
                Shape::V2,
                &key,
                KeyDirection::Write,
                entry_body.value.len(),
            )?;
            let entry = emu
                .store
                .set(
                    &key,
                    &Writer::open_cloud(&gate.key_name),
                    entry_body.value,
                    entry_body.attributes,
                    entry_body.user_ids,
                    SetCondition {
                        match_version: None,
                        exclusive_create: true,
                    },
                )
                .map_err(|e| match e {
                    StoreError::PreconditionFailed { .. } => invalid("The entry already exists."),
                    other => store_error(&other),
                })?;
            Ok(Json(entry_json(&key, &entry, false)).into_response())
        },
    )
    .await
}

/// `GET .../entries/{id}` with an optional revision suffix.
async fn get_entry(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw_id: String,
) -> Response {
    let u = c.universe_id();
    handle(
        &emu,
        &headers,
        needs(
            Operation::V2GetEntry,
            u,
            &[scopes::OBJECTS_READ],
            BudgetClass::Read,
        ),
        |_| {
            let (key_name, revision) = parse_entry_id(&raw_id).map_err(|m| invalid(&m))?;
            let key = c.key(&key_name)?;
            let (entry, with_revision) = match revision {
                Revision::Latest => (emu.store.get(&key).ok_or_else(not_found)?, false),
                Revision::LatestAt(at) => {
                    let e = emu
                        .store
                        .get_at(&key, at)
                        .filter(|e| !e.deleted)
                        .ok_or_else(not_found)?;
                    (e, true)
                }
                Revision::Id(id) => {
                    let e = emu.store.get_version(&key, &id).map_err(|_| not_found())?;
                    if e.deleted {
                        return Err(not_found());
                    }
                    (e, true)
                }
            };
            spend_key(&emu, Shape::V2, &key, KeyDirection::Read, entry.value.len())?;
            Ok(Json(entry_json(&key, &entry, with_revision)).into_response())
        },
    )
    .await
}

/// What an atomic update or delete found.
enum Outcome {
    Done,
    Missing,
    StaleEtag,
}

/// `PATCH .../entries/{id}[?allowMissing=true]`: full replace (omitted users/attributes clear).
async fn update_entry(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw_id: String,
    raw: Option<String>,
    body: Bytes,
) -> Response {
    let u = c.universe_id();
    let probe = c.key(&raw_id).ok();
    let needed = write_scopes(&emu, probe.as_ref());
    handle(
        &emu,
        &headers,
        needs(Operation::V2UpdateEntry, u, &needed, BudgetClass::Write),
        |gate| {
            let key = c.key(&raw_id)?;
            let q = Query::parse(raw.as_deref());
            let allow_missing = q
                .flag("allowMissing")
                .map_err(|()| invalid("allowMissing must be true or false."))?;
            let EntryBody {
                value,
                user_ids,
                attributes,
                etag,
            } = parse_entry_body(&body)?;
            spend_key(&emu, Shape::V2, &key, KeyDirection::Write, value.len())?;
            let mut outcome = Outcome::Missing;
            let result =
                emu.store
                    .update(&key, &Writer::open_cloud(&gate.key_name), |current| match (
                        current, &etag,
                    ) {
                        (None, _) if !allow_missing => Transform::Keep,
                        (Some(e), Some(tag)) if e.version != *tag => {
                            outcome = Outcome::StaleEtag;
                            Transform::Keep
                        }
                        _ => {
                            outcome = Outcome::Done;
                            Transform::Write {
                                value,
                                attributes,
                                user_ids,
                            }
                        }
                    })
                    .map_err(|e| store_error(&e))?;
            match outcome {
                Outcome::Missing => Err(not_found()),
                Outcome::StaleEtag => Err(etag_mismatch()),
                Outcome::Done => {
                    let entry = result.ok_or_else(not_found)?;
                    Ok(Json(entry_json(&key, &entry, false)).into_response())
                }
            }
        },
    )
    .await
}

/// `DELETE .../entries/{id}[?etag=]`: 200 `{}`, 404 if there is no live entry.
async fn delete_entry(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw_id: String,
    raw: Option<String>,
) -> Response {
    let u = c.universe_id();
    handle(
        &emu,
        &headers,
        needs(
            Operation::V2DeleteEntry,
            u,
            &[scopes::OBJECTS_DELETE],
            BudgetClass::Remove,
        ),
        |gate| {
            let key = c.key(&raw_id)?;
            let q = Query::parse(raw.as_deref());
            let etag = q.get("etag").filter(|t| !t.is_empty()).map(str::to_owned);
            let mut outcome = Outcome::Missing;
            emu.store
                .update(
                    &key,
                    &Writer::open_cloud(&gate.key_name),
                    |current| match (current, &etag) {
                        (None, _) => Transform::Keep,
                        (Some(e), Some(tag)) if e.version != *tag => {
                            outcome = Outcome::StaleEtag;
                            Transform::Keep
                        }
                        (Some(_), _) => {
                            outcome = Outcome::Done;
                            Transform::Delete
                        }
                    },
                )
                .map_err(|e| store_error(&e))?;
            match outcome {
                Outcome::Missing => Err(not_found()),
                Outcome::StaleEtag => Err(etag_mismatch()),
                Outcome::Done => Ok(Json(json!({})).into_response()),
            }
        },
    )
    .await
}

/// `POST .../entries/{id}:increment` with `{"amount", "users"?, "attributes"?}`.
async fn increment_entry(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw_id: String,
    body: Bytes,
) -> Response {
    let u = c.universe_id();
    let probe = c.key(&raw_id).ok();
    let needed = write_scopes(&emu, probe.as_ref());
    handle(
        &emu,
        &headers,
        needs(Operation::V2IncrementEntry, u, &needed, BudgetClass::Write),
        |gate| {
            let key = c.key(&raw_id)?;
            let json_body = parse_json_body(&body)?;
            let amount = match json_body.get("amount") {
                None => return Err(invalid("amount is required.")),
                Some(a) => a
                    .as_i64()
                    .ok_or_else(|| invalid("amount must be a 64-bit integer."))?,
            };
            let user_ids = parse_users(&json_body)?;
            let attributes = parse_attributes(&json_body)?;
            spend_key(&emu, Shape::V2, &key, KeyDirection::Write, 0)?;
            let entry = emu
                .store
                .increment(
                    &key,
                    &Writer::open_cloud(&gate.key_name),
                    amount,
                    attributes,
                    user_ids,
                )
                .map_err(|e| store_error(&e))?;
            Ok(Json(entry_json(&key, &entry, false)).into_response())
        },
    )
    .await
}

/// `GET .../entries/{id}:listRevisions`: newest first, partial entries.
async fn list_revisions(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    c: Collection,
    raw_id: String,
    raw: Option<String>,
) -> Response {
    let u = c.universe_id();
    handle(
        &emu,
        &headers,
        needs(
            Operation::V2ListRevisions,
            u,
            &[scopes::VERSIONS_LIST],
            BudgetClass::List,
        ),
        |_| {
            let key = c.key(&raw_id)?;
            let q = Query::parse(raw.as_deref());
            let limit = page_size(&q, REVISIONS_PAGE)?;
            let filter = q.get("filter").unwrap_or("");
            let (start, end) = parse_time_filter(Some(filter))?;
            let cursor = q
                .get("pageToken")
                .filter(|t| !t.is_empty())
                .map(|t| decode_token(t, filter))
                .transpose()?;
            let page = emu
                .store
                .list_versions(&key, start, end, true, limit, cursor.as_deref())
                .map_err(|e| store_error(&e))?;
            let revisions: Vec<Value> = page
                .versions
                .iter()
                .map(|v| revision_json(&key, v))
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

/// Splits a trailing `:method` off an entry id (`key:increment`, `key:listRevisions`).
fn split_method<'a>(raw_id: &'a str, method: &str) -> Option<&'a str> {
    raw_id
        .strip_suffix(method)
        .and_then(|k| k.strip_suffix(':'))
}

/// Path parameters of both route shapes (`scope` is absent on unscoped paths).
type Params = Path<HashMap<String, String>>;

/// The collection and entry id named by a path; unscoped paths mean scope `global`.
fn target(mut params: HashMap<String, String>) -> (Collection, String) {
    let mut take = |name: &str| params.remove(name).unwrap_or_default();
    let collection = Collection {
        universe: take("universe"),
        datastore: take("datastore"),
        scope: params
            .remove("scope")
            .unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
    };
    (collection, params.remove("entry").unwrap_or_default())
}

/// `GET .../entries` (scoped or not; scope `-` = every scope).
pub(crate) async fn list(
    State(emu): Shared,
    Path(params): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (c, _) = target(params);
    list_entries(emu, headers, c, raw).await
}

/// `POST .../entries?id=`.
pub(crate) async fn create(
    State(emu): Shared,
    Path(params): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (c, _) = target(params);
    create_entry(emu, headers, c, raw, body).await
}

/// `GET .../entries/{id}` and `GET .../entries/{id}:listRevisions`.
pub(crate) async fn get(
    State(emu): Shared,
    Path(params): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (c, id) = target(params);
    match split_method(&id, "listRevisions") {
        Some(key) => list_revisions(emu, headers, c, key.to_owned(), raw).await,
        None => get_entry(emu, headers, c, id).await,
    }
}

/// `PATCH .../entries/{id}`.
pub(crate) async fn patch(
    State(emu): Shared,
    Path(params): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (c, id) = target(params);
    update_entry(emu, headers, c, id, raw, body).await
}

/// `DELETE .../entries/{id}`.
pub(crate) async fn delete(
    State(emu): Shared,
    Path(params): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (c, id) = target(params);
    delete_entry(emu, headers, c, id, raw).await
}

/// `POST .../entries/{id}:increment`.
pub(crate) async fn post(
    State(emu): Shared,
    Path(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (c, id) = target(params);
    match split_method(&id, "increment") {
        Some(key) => increment_entry(emu, headers, c, key.to_owned(), body).await,
        None => v2(404, "NOT_FOUND", "No such method on an entry."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_id_suffixes() {
        assert_eq!(
            parse_entry_id("wallet_1"),
            Ok(("wallet_1".into(), Revision::Latest))
        );
        assert_eq!(
            parse_entry_id("a@b@latest"),
            Ok(("a@b".into(), Revision::Latest))
        );
        assert_eq!(
            parse_entry_id("k@latest:1970-01-01T00:00:01Z"),
            Ok(("k".into(), Revision::LatestAt(1000)))
        );
        let id = "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01";
        assert_eq!(
            parse_entry_id(&format!("k@{id}")),
            Ok(("k".into(), Revision::Id(id.into())))
        );
        assert!(
            parse_entry_id("user@example").is_err(),
            "a key with @ needs @latest"
        );
    }

    #[test]
    fn filters_parse_or_refuse() {
        assert_eq!(parse_id_filter(None).ok(), Some(String::new()));
        assert_eq!(
            parse_id_filter(Some(r#"id.startsWith("wallet_")"#)).ok(),
            Some("wallet_".into())
        );
        assert!(parse_id_filter(Some("id == 3")).is_err());
        assert!(parse_id_filter(Some("id.startsWith(3)")).is_err());
        assert_eq!(
            parse_time_filter(Some(
                "revision_create_time >= 1970-01-01T00:00:01Z && revision_create_time < 1970-01-01T00:00:02Z"
            ))
            .ok(),
            Some((Some(1000), Some(1999)))
        );
        assert!(parse_time_filter(Some("create_time >= 1970-01-01T00:00:01Z")).is_err());
        assert!(parse_time_filter(Some("revision_create_time >= yesterday")).is_err());
    }

    #[test]
    fn method_suffixes_split_only_exact_names() {
        assert_eq!(split_method("k:increment", "increment"), Some("k"));
        assert_eq!(
            split_method("a:b:listRevisions", "listRevisions"),
            Some("a:b")
        );
        assert_eq!(split_method("kincrement", "increment"), None);
        assert_eq!(
            split_method("k@latest:2026-01-01T00:00:00Z", "increment"),
            None
        );
    }

    #[test]
    fn page_tokens_are_bound_to_their_query() {
        let token = encode_token("global|w|false", "cursor");
        assert_eq!(
            decode_token(&token, "global|w|false").ok(),
            Some("cursor".into())
        );
        assert!(decode_token(&token, "global|x|false").is_err());
        assert!(decode_token("!!", "global|w|false").is_err());
    }
}
