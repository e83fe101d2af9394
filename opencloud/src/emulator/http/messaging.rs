//! Messaging publish: v1 topics endpoint and v2 `:publishMessage`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::errors::{Shape, v2};
use super::{Needs, handle};
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
    Needs {
        op,
        shape: Shape::V2,
        universe_id,
        scopes: &[scopes::PUBLISH],
        budget: Some(BudgetClass::Publish),
        auth: true,
    }
}

fn publish(
    emu: &Emulator,
    universe_id: u64,
    topic: &str,
    message: String,
) -> Result<Response, Response> {
    limits::check_topic(topic).map_err(|e| invalid(&e.to_string()))?;
    limits::check_message(&message).map_err(|e| invalid(&e.to_string()))?;
    emu.bus.publish_faulty(universe_id, topic, message);
    Ok(StatusCode::OK.into_response())
}

/// `POST /messaging-service/v1/universes/{u}/topics/{topic}` body `{"message": "..."}`.
pub(crate) async fn publish_v1(
    State(emu): State<Arc<Emulator>>,
    Path((universe, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let u = universe.parse().ok();
    handle(&emu, &headers, needs(Operation::PublishV1, u), |_| {
        let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
        let body: V1Body = serde_json::from_slice(&body)
            .map_err(|_| invalid("The body must be {\"message\": string}."))?;
        publish(&emu, u, &topic, body.message)
    })
    .await
}

/// `POST /cloud/v2/universes/{u}:publishMessage` body `{"topic": "...", "message": "..."}`.
pub(crate) async fn publish_v2(
    State(emu): State<Arc<Emulator>>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(universe) = target.strip_suffix(":publishMessage") else {
        return v2(404, "NOT_FOUND", "No such endpoint.");
    };
    let u = universe.parse().ok();
    handle(&emu, &headers, needs(Operation::PublishV2, u), |_| {
        let u = u.ok_or_else(|| invalid("Invalid universe id."))?;
        let body: V2Body = serde_json::from_slice(&body)
            .map_err(|_| invalid("The body must be {\"topic\": string, \"message\": string}."))?;
        publish(&emu, u, &body.topic, body.message)
    })
    .await
}
