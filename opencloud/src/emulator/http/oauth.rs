//! Roblox OAuth 2.0 over HTTP (docs/platform.md R16): `GET /oauth/v1/authorize` shows a local
//! login page (the emulator's users sign in by username; no password), its form posts back to
//! `POST /oauth/v1/authorize`, which redirects to the app with `code` and `state` (or `error`,
//! `error_description`, `state`); `POST /oauth/v1/token` redeems a code; `GET /oauth/v1/userinfo`
//! answers the token's user. These endpoints take no API key and spend no budget.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::emulator::oauth::{AuthorizeError, AuthorizeRequest, EXPIRES_IN_SECS, TokenError};
use crate::emulator::server::Emulator;

fn form(raw: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn request_of(p: &HashMap<String, String>) -> AuthorizeRequest {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let opt = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    AuthorizeRequest {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        response_type: get("response_type"),
        state: opt("state"),
        code_challenge: opt("code_challenge"),
        code_challenge_method: opt("code_challenge_method"),
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A redirect back to the app with `pairs` (and `state` when the request had one).
fn back_to_app(r: &AuthorizeRequest, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(&r.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = &r.state {
            q.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// Refusals before the redirect URI is trusted are shown on the page; later ones go back to the
/// app as `error` / `error_description` (RFC 6749 §4.1.2.1).
fn refuse(r: &AuthorizeRequest, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::UnknownClient | AuthorizeError::RedirectUri => (
            StatusCode::BAD_REQUEST,
            Html(format!(
                "<p>Invalid request: {}</p>",
                escape(&e.to_string())
            )),
        )
            .into_response(),
        AuthorizeError::Invalid(why) => back_to_app(
            r,
            &[("error", "invalid_request"), ("error_description", why)],
        ),
    }
}

fn login_page(p: &HashMap<String, String>, problem: Option<&str>) -> Response {
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "scope",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|k| p.get(*k).map(|v| (k, v)))
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect();
    let problem = problem
        .map(|m| format!("<p class=\"problem\">{}</p>", escape(m)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Sign in (Open Cloud emulator)</title>\
         <h1>Sign in to authorize {app}</h1>{problem}\
         <form method=\"post\" action=\"/oauth/v1/authorize\">{hidden}\
         <label>Roblox username <input name=\"username\" autofocus></label>\
         <button name=\"decision\" value=\"approve\">Authorize</button>\
         <button name=\"decision\" value=\"deny\">Cancel</button></form>",
        app = escape(p.get("client_id").map(String::as_str).unwrap_or_default()),
    ))
    .into_response()
}

/// `GET /oauth/v1/authorize`: the request is checked, then the local login page is shown.
pub(crate) async fn authorize_page(
    State(emu): State<Arc<Emulator>>,
    RawQuery(query): RawQuery,
) -> Response {
    let p = form(query.unwrap_or_default().as_bytes());
    let r = request_of(&p);
    match emu.oauth.check_request(&r) {
        Ok(()) => login_page(&p, None),
        Err(e) => refuse(&r, e),
    }
}

/// `POST /oauth/v1/authorize`: the login form: approve as `username`, or deny.
pub(crate) async fn authorize_submit(State(emu): State<Arc<Emulator>>, body: Bytes) -> Response {
    let p = form(&body);
    let r = request_of(&p);
    if let Err(e) = emu.oauth.check_request(&r) {
        return refuse(&r, e);
    }
    if p.get("decision").map(String::as_str) == Some("deny") {
        return back_to_app(
            &r,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request."),
            ],
        );
    }
    let username = p.get("username").map(String::as_str).unwrap_or_default();
    let Some(user) = emu.users.by_name(username.trim()) else {
        return login_page(&p, Some("No Roblox user has that username."));
    };
    match emu.oauth.approve(&r, user.id, emu.clock.now_ms()) {
        Ok(code) => back_to_app(&r, &[("code", &code)]),
        Err(e) => refuse(&r, e),
    }
}

fn token_error(e: TokenError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({"error": e.error, "error_description": e.description})),
    )
        .into_response();
    if e.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic"),
        );
    }
    response
}

/// Client credentials from `Authorization: Basic base64(id:secret)` or the form.
fn client_credentials(headers: &HeaderMap, p: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    basic.unwrap_or_else(|| {
        (
            p.get("client_id").cloned().unwrap_or_default(),
            p.get("client_secret").cloned().unwrap_or_default(),
        )
    })
}

/// `POST /oauth/v1/token` (`x-www-form-urlencoded`), `grant_type=authorization_code`.
pub(crate) async fn token(
    State(emu): State<Arc<Emulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = form(&body);
    let (client_id, client_secret) = client_credentials(&headers, &p);
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(_) => {
            return token_error(TokenError {
                status: 400,
                error: "unsupported_grant_type",
                description: "Only authorization_code is emulated.",
            });
        }
        None => {
            return token_error(TokenError {
                status: 400,
                error: "invalid_request",
                description: "grant_type is required.",
            });
        }
    }
    let Some(code) = p.get("code") else {
        return token_error(TokenError {
            status: 400,
            error: "invalid_request",
            description: "code is required.",
        });
    };
    match emu.oauth.redeem(
        &client_id,
        &client_secret,
        code,
        p.get("code_verifier").map(String::as_str),
        p.get("redirect_uri").map(String::as_str),
        emu.clock.now_ms(),
    ) {
        Ok(t) => Json(json!({
            "access_token": t.access_token,
            "refresh_token": t.refresh_token,
            "token_type": "Bearer",
            "expires_in": EXPIRES_IN_SECS,
            "scope": t.scope,
        }))
        .into_response(),
        Err(e) => token_error(e),
    }
}

fn bearer_error(status: StatusCode, error: &str) -> Response {
    let mut response = (status, Json(json!({"error": error}))).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&format!("Bearer error=\"{error}\"")) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET /oauth/v1/userinfo` with `Authorization: Bearer <access token>`.
pub(crate) async fn userinfo(State(emu): State<Arc<Emulator>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(owner) = emu.oauth.owner(token, emu.clock.now_ms()) else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    let scopes: Vec<&str> = owner.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return bearer_error(StatusCode::FORBIDDEN, "insufficient_scope");
    }
    let mut claims = json!({ "sub": owner.user_id.to_string() });
    if scopes.contains(&"profile") {
        if let Some(user) = emu.users.by_id(owner.user_id) {
            claims["name"] = json!(user.display_name);
            claims["nickname"] = json!(user.display_name);
            claims["preferred_username"] = json!(user.name);
            claims["created_at"] = json!(user.created_ms / 1000);
            claims["profile"] = json!(format!("https://www.roblox.com/users/{}/profile", user.id));
        }
    }
    Json(claims).into_response()
}
