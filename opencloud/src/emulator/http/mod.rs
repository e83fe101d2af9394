//! The HTTP face of the emulator: Open Cloud's paths, headers, bodies and status codes.
//!
//! Each handler calls [`gate`] first (latency, request log, injected faults, API key, budget) and
//! [`Admitted::finish`] last (rate-limit headers, "response lost" faults).

// Handler helpers short-circuit with a ready `Response` as the error; it is built once per request,
// so its size does not matter.
#![allow(clippy::result_large_err)]

mod errors;
mod messaging;
mod query;
mod users;
mod v1_datastores;
mod v2_datastores;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};

use super::auth::{AuthError, scopes};
use super::budget::{BudgetClass, KeyDirection, RateInfo};
use super::faults::{FaultKind, Operation};
use super::server::Emulator;
use super::store::EntryKey;
pub(crate) use errors::Shape;

/// Builds the router.
pub(crate) fn router(emulator: Arc<Emulator>) -> Router {
    let v1 = "/datastores/v1/universes/{universe}/standard-datastores";
    let v2 = "/cloud/v2/universes/{universe}/data-stores/{datastore}";
    // Every v2 entry path exists unscoped (scope `global`) and under `/scopes/{scope}`.
    let v2_entries = [v2.to_owned(), format!("{v2}/scopes/{{scope}}")]
        .into_iter()
        .fold(Router::new(), |router, base| {
            router
                .route(
                    &format!("{base}/entries"),
                    get(v2_datastores::list).post(v2_datastores::create),
                )
                .route(
                    &format!("{base}/entries/{{entry}}"),
                    get(v2_datastores::get)
                        .patch(v2_datastores::patch)
                        .delete(v2_datastores::delete)
                        .post(v2_datastores::post),
                )
        });
    Router::new()
        .merge(v2_entries)
        .route(v1, get(v1_datastores::list_datastores))
        .route(
            &format!("{v1}/datastore/entries"),
            get(v1_datastores::list_keys),
        )
        .route(
            &format!("{v1}/datastore/entries/entry"),
            get(v1_datastores::get_entry)
                .post(v1_datastores::set_entry)
                .delete(v1_datastores::delete_entry),
        )
        .route(
            &format!("{v1}/datastore/entries/entry/increment"),
            post(v1_datastores::increment_entry),
        )
        .route(
            &format!("{v1}/datastore/entries/entry/versions"),
            get(v1_datastores::list_versions),
        )
        .route(
            &format!("{v1}/datastore/entries/entry/versions/version"),
            get(v1_datastores::get_version),
        )
        .route(
            "/messaging-service/v1/universes/{universe}/topics/{topic}",
            post(messaging::publish_v1),
        )
        .route(
            "/cloud/v2/universes/{universe}",
            post(messaging::publish_v2),
        )
        .route("/cloud/v2/users/{user}", get(users::get_user))
        .route("/v1/usernames/users", post(users::usernames_to_ids))
        .fallback(errors::not_found_route)
        .with_state(emulator)
}

/// A request that passed the gate.
pub(crate) struct Admitted {
    /// The API key's name (the writer name).
    pub key_name: String,
    rate: Option<RateInfo>,
    lost: Option<(u64, u16)>,
    shape: Shape,
}

/// What a request needs to pass.
pub(crate) struct Needs<'a> {
    pub op: Operation,
    pub shape: Shape,
    pub universe_id: Option<u64>,
    pub scopes: &'a [&'a str],
    pub budget: Option<BudgetClass>,
    /// False for the legacy users endpoint, which needs no key.
    pub auth: bool,
}

/// Latency, request log, injected faults, API key and budget, in that order.
pub(crate) async fn gate(
    emulator: &Emulator,
    headers: &HeaderMap,
    needs: Needs<'_>,
) -> Result<Admitted, Response> {
    let decision = emulator.faults.decide(needs.op);
    if decision.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
    }
    let mut lost = None;
    match decision.fault {
        Some(FaultKind::Status(status)) => return Err(errors::server_error(needs.shape, status)),
        Some(FaultKind::RateLimited {
            retry_after_s,
            reset_s,
        }) => {
            return Err(errors::throttled(
                needs.shape,
                RateInfo {
                    limit: 0,
                    remaining: 0,
                    reset_seconds: reset_s,
                },
                retry_after_s,
            ));
        }
        Some(FaultKind::ResponseLost { hang_ms, status }) => lost = Some((hang_ms, status)),
        None => {}
    }
    let key_name = if needs.auth {
        let presented = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        match emulator
            .keys
            .authorize(presented, needs.universe_id, needs.scopes)
        {
            Ok(key) => key.name.clone(),
            Err(AuthError::InvalidKey) => return Err(errors::invalid_api_key()),
            Err(AuthError::Forbidden(message)) => {
                return Err(errors::forbidden(needs.shape, &message));
            }
        }
    } else {
        "anonymous".to_owned()
    };
    let mut rate = None;
    if let Some(class) = needs.budget {
        match emulator.budgets.take(
            needs.universe_id.unwrap_or(0),
            class,
            emulator.clock.now_ms(),
        ) {
            Ok(info) => rate = info,
            Err(info) => {
                return Err(errors::throttled(
                    needs.shape,
                    info,
                    Some(info.reset_seconds),
                ));
            }
        }
    }
    Ok(Admitted {
        key_name,
        rate,
        lost,
        shape: needs.shape,
    })
}

impl Admitted {
    /// Adds rate-limit headers, or swaps the response for a lost one (the work is already done).
    pub(crate) async fn finish(self, mut response: Response) -> Response {
        if let Some((hang_ms, status)) = self.lost {
            if hang_ms > 0 {
                tokio::time::sleep(Duration::from_millis(hang_ms)).await;
            }
            return errors::server_error(self.shape, status);
        }
        if let Some(info) = self.rate {
            add_rate_headers(response.headers_mut(), info);
        }
        response
    }
}

/// Sets `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`.
pub(crate) fn add_rate_headers(headers: &mut HeaderMap, info: RateInfo) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(info.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(info.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(info.reset_seconds));
}

/// Runs a handler body between [`gate`] and [`Admitted::finish`]: the body sees the admitted
/// request and answers with a response either way.
pub(crate) async fn handle(
    emulator: &Emulator,
    headers: &HeaderMap,
    needs: Needs<'_>,
    body: impl FnOnce(&Admitted) -> Result<Response, Response>,
) -> Response {
    match gate(emulator, headers, needs).await {
        Ok(admitted) => {
            let response = either(body(&admitted));
            admitted.finish(response).await
        }
        Err(refused) => refused,
    }
}

/// Spends a key's per-minute throughput for `len` bytes (and, for v1, the universe's), or
/// answers 429.
pub(crate) fn spend_key(
    emulator: &Emulator,
    shape: Shape,
    key: &EntryKey,
    direction: KeyDirection,
    len: usize,
) -> Result<(), Response> {
    let now = emulator.clock.now_ms();
    let budgets = &emulator.budgets;
    match shape {
        Shape::V1DataStore => budgets.take_v1_bytes(key, direction, len, now),
        Shape::V2 => budgets.take_key_bytes(key, direction, len, now),
    }
    .map_err(|t| errors::key_throttled(shape, direction, t))
}

/// Write scopes: `objects:create` for a new key, `objects:update` for an existing one, plus
/// `control:create` when the write creates the data store.
pub(crate) fn write_scopes(emulator: &Emulator, key: Option<&EntryKey>) -> Vec<&'static str> {
    let Some(key) = key else {
        return vec![scopes::OBJECTS_CREATE];
    };
    let mut needed = vec![if emulator.store.get(key).is_some() {
        scopes::OBJECTS_UPDATE
    } else {
        scopes::OBJECTS_CREATE
    }];
    if !emulator
        .store
        .datastore_exists(key.universe_id, &key.datastore)
    {
        needed.push(scopes::CONTROL_CREATE);
    }
    needed
}

/// Unwraps a `Result<Response, Response>` from a handler body.
pub(crate) fn either(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|r| r)
}
