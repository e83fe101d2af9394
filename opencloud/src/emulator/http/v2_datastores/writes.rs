//! Writes of entries: create (create-only), update (PATCH, full replace, `allowMissing`), delete,
//! and `:increment`; an `etag` makes update and delete conditional, checked atomically.

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::body::{
    EntryBody, parse_amount, parse_attributes, parse_entry_body, parse_json_body, parse_users,
};
use super::errors::{etag_mismatch, invalid, not_found, store_error};
use super::render::entry_json;
use super::resource::{Collection, entry_id, needs, split_method};
use crate::emulator::auth::scopes;
use crate::emulator::experience::{KeyDirection, RequestType};
use crate::emulator::faults::Operation;
use crate::emulator::http::call::Call;
use crate::emulator::http::errors::{Shape, v2};
use crate::emulator::store::{SetCondition, StoreError, Transform, Writer};

/// What an atomic update or delete found.
enum Outcome {
    Done,
    Missing,
    StaleEtag,
}

/// `POST .../entries?id=<key>`: create-only; 400 if the entry exists.
pub(crate) async fn create(call: Call, body: Bytes) -> Response {
    let c = Collection::of(&call);
    let u = c.universe_id();
    let q = &call.query;
    let probe = q.get("id").and_then(|id| c.key(id).ok());
    let needed = call.write_scopes(probe.as_ref());
    call.handle(
        needs(Operation::V2CreateEntry, u, &needed, RequestType::Write),
        |gate| {
            let id = q
                .get("id")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| invalid("id is required."))?;
            let key = c.key(id)?;
            let entry_body = parse_entry_body(&body)?;
            call.spend_key(Shape::V2, &key, KeyDirection::Write, entry_body.value.len())?;
            let entry = call
                .emu
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
            Ok(Json(entry_json(&key, &entry, false, c.form)).into_response())
        },
    )
    .await
}

/// `PATCH .../entries/{id}[?allowMissing=true]`: full replace (omitted users/attributes clear).
pub(crate) async fn patch(call: Call, body: Bytes) -> Response {
    let c = Collection::of(&call);
    let u = c.universe_id();
    let raw_id = entry_id(&call);
    let probe = c.key(raw_id).ok();
    let needed = call.write_scopes(probe.as_ref());
    call.handle(
        needs(Operation::V2UpdateEntry, u, &needed, RequestType::Write),
        |gate| {
            let key = c.key(raw_id)?;
            let allow_missing = call
                .query
                .flag("allowMissing")
                .map_err(|()| invalid("allowMissing must be true or false."))?;
            let EntryBody {
                value,
                user_ids,
                attributes,
                etag,
            } = parse_entry_body(&body)?;
            call.spend_key(Shape::V2, &key, KeyDirection::Write, value.len())?;
            let mut outcome = Outcome::Missing;
            let result =
                call.emu
                    .store
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
                    Ok(Json(entry_json(&key, &entry, false, c.form)).into_response())
                }
            }
        },
    )
    .await
}

/// `DELETE .../entries/{id}[?etag=]`: 200 `{}`, 404 if there is no live entry.
pub(crate) async fn delete(call: Call) -> Response {
    let c = Collection::of(&call);
    let u = c.universe_id();
    let raw_id = entry_id(&call);
    call.handle(
        needs(
            Operation::V2DeleteEntry,
            u,
            &[scopes::OBJECTS_DELETE],
            RequestType::Remove,
        ),
        |gate| {
            let key = c.key(raw_id)?;
            let etag = call
                .query
                .get("etag")
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            // Removing an entry counts in the key's write throughput (billed as the 1 KB minimum).
            call.spend_key(Shape::V2, &key, KeyDirection::Write, 0)?;
            let mut outcome = Outcome::Missing;
            call.emu
                .store
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

/// `POST .../entries/{id}:increment`; any other method suffix is 404.
pub(crate) async fn post(call: Call, body: Bytes) -> Response {
    match split_method(entry_id(&call), "increment") {
        Some(key) => increment(&call, key, &body).await,
        None => v2(404, "NOT_FOUND", "No such method on an entry."),
    }
}

/// `POST .../entries/{id}:increment` with `{"amount", "users"?, "attributes"?}`.
async fn increment(call: &Call, raw_id: &str, body: &[u8]) -> Response {
    let c = Collection::of(call);
    let u = c.universe_id();
    let probe = c.key(raw_id).ok();
    let needed = call.write_scopes(probe.as_ref());
    call.handle(
        needs(Operation::V2IncrementEntry, u, &needed, RequestType::Write),
        |gate| {
            let key = c.key(raw_id)?;
            let json_body = parse_json_body(body)?;
            let amount = parse_amount(&json_body)?;
            let user_ids = parse_users(&json_body)?;
            let attributes = parse_attributes(&json_body)?;
            call.spend_key(Shape::V2, &key, KeyDirection::Write, 0)?;
            let entry = call
                .emu
                .store
                .increment(
                    &key,
                    &Writer::open_cloud(&gate.key_name),
                    amount,
                    attributes,
                    user_ids,
                )
                .map_err(|e| store_error(&e))?;
            Ok(Json(entry_json(&key, &entry, false, c.form)).into_response())
        },
    )
    .await
}
