//! Users: Open Cloud v2 get user, and the legacy (not Open Cloud) username → id endpoint.

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::call::Call;
use super::errors::{Shape, v2};
use super::gate::Needs;
use crate::emulator::budget::BudgetClass;
use crate::emulator::faults::Operation;
use crate::timefmt;

/// Most usernames one legacy request may carry (the real limit is undocumented).
const MAX_USERNAMES: usize = 100;

/// `GET /cloud/v2/users/{id}`: public fields need a valid key but no scope.
pub(crate) async fn get_user(call: Call) -> Response {
    call.handle(
        Needs {
            op: Operation::GetUser,
            shape: Shape::V2,
            universe_id: None,
            scopes: &[],
            budget: Some(BudgetClass::Users),
            experience: None,
            auth: true,
        },
        |_| {
            let id: u64 = call
                .param("user")
                .unwrap_or_default()
                .parse()
                .map_err(|_| v2(400, "INVALID_ARGUMENT", "The user id must be a number."))?;
            let user = call
                .emu
                .users
                .by_id(id)
                .ok_or_else(|| v2(404, "NOT_FOUND", "The user was not found."))?;
            Ok(Json(json!({
                "path": format!("users/{}", user.id),
                "createTime": timefmt::format_rfc3339(user.created_ms),
                "id": user.id.to_string(),
                "name": user.name,
                "displayName": user.display_name,
                "about": "",
                "locale": "en-us",
                "premium": false,
            }))
            .into_response())
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsernamesRequest {
    usernames: Vec<String>,
    #[serde(default)]
    exclude_banned_users: bool,
}

fn legacy_error(code: u32, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

/// `POST /v1/usernames/users` (users.roblox.com): unknown names are omitted from `data`.
pub(crate) async fn usernames_to_ids(call: Call, body: Bytes) -> Response {
    call.handle(
        Needs {
            op: Operation::UsernameLookup,
            shape: Shape::V2,
            universe_id: None,
            scopes: &[],
            budget: None,
            experience: None,
            auth: false,
        },
        |_| {
            let request: UsernamesRequest = serde_json::from_slice(&body)
                .map_err(|_| legacy_error(0, "The request body is invalid."))?;
            if request.usernames.len() > MAX_USERNAMES {
                return Err(legacy_error(2, "Too many usernames."));
            }
            let data: Vec<_> = request
                .usernames
                .iter()
                .filter_map(|name| call.emu.users.by_name(name).map(|u| (name, u)))
                .filter(|(_, u)| !(request.exclude_banned_users && u.banned))
                .map(|(name, u)| {
                    json!({
                        "requestedUsername": name,
                        "hasVerifiedBadge": false,
                        "id": u.id,
                        "name": u.name,
                        "displayName": u.display_name,
                    })
                })
                .collect();
            Ok(Json(json!({"data": data})).into_response())
        },
    )
    .await
}
