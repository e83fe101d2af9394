//! The router: Open Cloud's paths (and the legacy users path) mapped to their handlers.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::{errors, luau_execution, messaging, oauth, users, v1_datastores, v2_datastores};
use crate::emulator::server::Emulator;

/// Largest request body read. axum's default (2 MiB) is below Roblox's 4,194,304-character
/// value limit, so a valid large write was cut off; the handlers apply Roblox's own limits
/// (`limits::check_value`) to what they read. A v2 body carries the value as JSON inside JSON,
/// where escaping can double it.
const BODY_LIMIT: usize = 2 * crate::limits::MAX_VALUE_BYTES + 64 * 1024;

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
    let places = "/cloud/v2/universes/{universe}/places/{place}";
    let task =
        format!("{places}/versions/{{version}}/luau-execution-sessions/{{session}}/tasks/{{task}}");
    Router::new()
        .merge(v2_entries)
        .route(
            &format!("{places}/luau-execution-session-tasks"),
            post(luau_execution::create),
        )
        .route(
            &format!("{places}/versions/{{version}}/luau-execution-session-tasks"),
            post(luau_execution::create),
        )
        .route(&task, get(luau_execution::get))
        .route(&format!("{task}/logs"), get(luau_execution::logs))
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
        .route(
            "/oauth/v1/authorize",
            get(oauth::authorize_page).post(oauth::authorize_submit),
        )
        .route("/oauth/v1/token", post(oauth::token))
        .route("/oauth/v1/userinfo", get(oauth::userinfo))
        .fallback(errors::not_found_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(emulator)
}
