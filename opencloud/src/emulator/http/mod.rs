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

use super::auth::AuthError;
use super::budget::{BudgetClass, RateInfo};
use super::faults::{FaultKind, Operation};
use super::server::Emulator;
pub(crate) use errors::Shape;

/// Builds the router.
pub(crate) fn router(emulator: Arc<Emulator>) -> Router {
    let v1 = "/datastores/v1/universes/{universe}/standard-datastores";
    Router::new()
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
            "/cloud/v2/universes/{universe}/data-stores/{datastore}/entries/{entry}",
            get(v2_datastores::get_entry),
        )
        .route(
            "/cloud/v2/universes/{universe}/data-stores/{datastore}/scopes/{scope}/entries/{entry}",
            get(v2_datastores::get_scoped_entry),
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

/// Unwraps a `Result<Response, Response>` from a handler body.
pub(crate) fn either(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|r| r)
}
