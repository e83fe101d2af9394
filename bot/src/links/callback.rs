//! The OAuth callback route the bot serves (on its health / metrics listener): Roblox sends the
//! member's browser here with `code` and `state` (or `error`); the page says what happened.

use super::oauth::{OAuthError, RobloxOAuth};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::Arc;

/// The router serving `GET <redirect URI path>`.
pub fn router(oauth: Arc<RobloxOAuth>) -> axum::Router {
    let path = oauth.callback_path().to_owned();
    axum::Router::new()
        .route(&path, get(callback))
        .with_state(oauth)
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>{t}</title><h1>{t}</h1><p>{x}</p>",
            t = escape(title),
            x = escape(text)
        )),
    )
        .into_response()
}

async fn callback(
    State(oauth): State<Arc<RobloxOAuth>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str);
    match oauth
        .complete(get("code"), get("state"), get("error"))
        .await
    {
        Ok(v) => page(
            StatusCode::OK,
            "Linked",
            &format!(
                "Your Discord account is now verified as Roblox user {}. You can close this page \
                 and return to Discord.",
                v.roblox_id
            ),
        ),
        Err(e) => {
            let status = match e {
                OAuthError::Provider(_) => StatusCode::BAD_GATEWAY,
                OAuthError::Db => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::info!(error = %e, "oauth callback refused");
            page(status, "Not linked", &e.to_string())
        }
    }
}
