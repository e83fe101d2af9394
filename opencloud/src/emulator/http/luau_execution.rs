//! Luau Execution: create a task, get it, list its logs
//! (<https://create.roblox.com/docs/cloud/reference/features/luau-execution>). The task table and
//! the runner are `emulator::luau_execution`.

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};

use super::call::Call;
use super::errors::{Shape, v2};
use super::gate::Needs;
use crate::emulator::auth::scopes;
use crate::emulator::faults::Operation;
use crate::emulator::luau_execution::{CreateError, LuauTaskId};

fn invalid(message: &str) -> Response {
    v2(400, "INVALID_ARGUMENT", message)
}

fn id_param(call: &Call, name: &str) -> Result<u64, Response> {
    call.param(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid(&format!("Invalid {name} id.")))
}

/// Get and list accept a key with either the read or the write scope: the one it has, so a key
/// with neither is told about the read scope.
fn read_scope(call: &Call) -> &'static str {
    let presented = call.headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let has_write = call
        .emu
        .keys
        .authorize(presented, call.universe_id(), &[scopes::LUAU_WRITE])
        .is_ok();
    if has_write {
        scopes::LUAU_WRITE
    } else {
        scopes::LUAU_READ
    }
}

/// `POST /cloud/v2/universes/{u}/places/{p}[/versions/{v}]/luau-execution-session-tasks`.
pub(crate) async fn create(call: Call, body: Bytes) -> Response {
    let universe = call.universe_id();
    call.handle(
        Needs {
            op: Operation::CreateLuauTask,
            shape: Shape::V2,
            universe_id: universe,
            scopes: &[scopes::LUAU_WRITE],
            budget: None,
            experience: None,
            auth: true,
        },
        |_| {
            let universe = universe.ok_or_else(|| invalid("Invalid universe id."))?;
            let place = id_param(&call, "place")?;
            let version = match call.param("version") {
                None => None,
                Some(_) => Some(id_param(&call, "version")?),
            };
            let body: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|_| invalid("The request body is not JSON."))?;
            let emu = &call.emu;
            match emu.luau.create(&emu.clock, universe, place, version, &body) {
                Ok(resource) => Ok(Json(resource).into_response()),
                Err(e @ CreateError::PlaceNotFound) => Err(v2(404, "NOT_FOUND", &e.to_string())),
                Err(e @ CreateError::TooManyIncomplete) => {
                    Err(v2(429, "RESOURCE_EXHAUSTED", &e.to_string()))
                }
                Err(CreateError::Invalid(m)) => Err(invalid(&m)),
            }
        },
    )
    .await
}

fn task_id(call: &Call) -> Result<LuauTaskId, Response> {
    Ok(LuauTaskId {
        universe_id: id_param(call, "universe")?,
        place_id: id_param(call, "place")?,
        version_id: id_param(call, "version")?,
        session_id: call.param("session").unwrap_or_default().to_owned(),
        task_id: call.param("task").unwrap_or_default().to_owned(),
    })
}

fn not_found() -> Response {
    v2(404, "NOT_FOUND", "The task was not found.")
}

/// `GET …/versions/{v}/luau-execution-sessions/{s}/tasks/{t}` (`view` BASIC or FULL).
pub(crate) async fn get(call: Call) -> Response {
    let scope = [read_scope(&call)];
    call.handle(
        Needs {
            op: Operation::GetLuauTask,
            shape: Shape::V2,
            universe_id: call.universe_id(),
            scopes: &scope,
            budget: None,
            experience: None,
            auth: true,
        },
        |_| {
            let full = match call.query.get("view") {
                None | Some("VIEW_UNSPECIFIED" | "BASIC") => false,
                Some("FULL") => true,
                Some(_) => return Err(invalid("view must be BASIC or FULL.")),
            };
            let id = task_id(&call)?;
            if !call.emu.luau.find(&id, call.emu.clock.now_ms()) {
                return Err(not_found());
            }
            let resource = call
                .emu
                .luau
                .resource(&id.task_id, full)
                .ok_or_else(not_found)?;
            Ok(Json(resource).into_response())
        },
    )
    .await
}

/// `GET …/tasks/{t}/logs` (`view` FLAT or STRUCTURED; one chunk, so no next page).
pub(crate) async fn logs(call: Call) -> Response {
    let scope = [read_scope(&call)];
    call.handle(
        Needs {
            op: Operation::ListLuauTaskLogs,
            shape: Shape::V2,
            universe_id: call.universe_id(),
            scopes: &scope,
            budget: None,
            experience: None,
            auth: true,
        },
        |_| {
            let structured = match call.query.get("view") {
                None | Some("VIEW_UNSPECIFIED" | "FLAT") => false,
                Some("STRUCTURED") => true,
                Some(_) => return Err(invalid("view must be FLAT or STRUCTURED.")),
            };
            if let Some(size) = call.query.get("maxPageSize") {
                size.parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| invalid("maxPageSize must be a whole number from 0."))?;
            }
            // Every answer is a single page, so no token was ever handed out.
            if call.query.get("pageToken").is_some_and(|t| !t.is_empty()) {
                return Err(invalid("The page token is invalid."));
            }
            let id = task_id(&call)?;
            if !call.emu.luau.find(&id, call.emu.clock.now_ms()) {
                return Err(not_found());
            }
            let page = call
                .emu
                .luau
                .logs(&id.task_id, structured)
                .ok_or_else(not_found)?;
            Ok(Json(page).into_response())
        },
    )
    .await
}
