//! Messaging publish: v1 topics endpoint and v2 `:publishMessage`.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::call::Call;
use super::errors::{Shape, v2};
use super::gate::Needs;
use crate::emulator::auth::scopes;
use crate::emulator::budget::BudgetClass;
use crate::emulator::faults::Operation;
use crate::emulator::server::Emulator;
use crate::limits;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1Body {
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V2Body {
    topic: String,
    message: String,
}

fn invalid(message: &str) -> Response {
    v2(400, "INVALID_ARGUMENT", message)
}

fn needs(op: Operation, universe_id: Option<u64>) -> Needs<'static> {
    Needs::keyed(
        op,
        Shape::V2,
        universe_id,
        &[scopes::PUBLISH],
        BudgetClass::Publish,
    )
}

fn publish(
    emu: &Emulator,
    universe_id: u64,
    topic: &str,
    message: String,
) -> Result<Response, Response> {
    limits::check_topic(topic).map_err(|e| invalid(&e.to_string()))?;
    limits::check_message(&message).map_err(|e| invalid(&e.to_string()))?;
    emu.bus.publish_open_cloud(universe_id, topic, message);
    Ok(StatusCode::OK.into_response())
}

/// `POST /messaging-service/v1/universes/{u}/topics/{topic}` body `{"message": "..."}`.
pub(crate) async fn publish_v1(call: Call, body: Bytes) -> Response {
    let u = call.universe_id();
    call.handle(needs(Operation::PublishV1, u), |_| {
        let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
        let body: V1Body = serde_json::from_slice(&body)
            .map_err(|_| invalid("The body must be {\"message\": string}."))?;
        let topic = call.param("topic").unwrap_or_default();
        publish(&call.emu, u, topic, body.message)
    })
    .await
}

/// `POST /cloud/v2/universes/{u}:publishMessage` body `{"topic": "...", "message": "..."}`.
pub(crate) async fn publish_v2(call: Call, body: Bytes) -> Response {
    // The route's `{universe}` segment is `<id>:publishMessage`.
    let target = call.param("universe").unwrap_or_default();
    let Some(universe) = target.strip_suffix(":publishMessage") else {
        return v2(404, "NOT_FOUND", "No such endpoint.");
    };
    let u = universe.parse().ok();
    call.handle(needs(Operation::PublishV2, u), |_| {
        let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
        let body: V2Body = serde_json::from_slice(&body)
            .map_err(|_| invalid("The body must be {\"topic\": string, \"message\": string}."))?;
        publish(&call.emu, u, &body.topic, body.message)
    })
    .await
}
