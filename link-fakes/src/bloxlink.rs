//! Bloxlink's v4 guild API: `GET /v4/public/guilds/{guildId}/discord-to-roblox/{discordUserId}`.
//! Rules (docs/platform.md): L1 the server key is the whole `Authorization` header, a wrong or
//! missing key is refused with 401 and a key only answers for its own server (403); L2 a linked
//! member → 200 with the id as a string in `robloxID` (or `robloxId`, the SDK's spelling, when
//! configured) and a `resolved` object; L3 a member without a link, or not in the server → 404
//! with `{"error": …}`; L4 over the key's limit → 429 with `{"error": …}`, `Retry-After` only
//! when configured (undocumented either way); L5 an outage → 503.

use crate::directory::Known;
use crate::limit::{RateLimit, whole_seconds};
use crate::provider::{LinkFake, Shared};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use shared::clock::Clock;
use std::sync::Arc;

/// How a 200 answer spells the Roblox id field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BloxlinkIdField {
    /// `robloxID`, as integrations read it.
    #[default]
    RobloxUpperId,
    /// `robloxId`, as the official SDK's typings spell it.
    RobloxId,
}

/// A fake Bloxlink's settings.
#[derive(Debug, Clone)]
pub struct BloxlinkConfig {
    /// The server API key this fake accepts (each test its own).
    pub api_key: String,
    /// The Discord server the key belongs to.
    pub guild_id: u64,
    /// Requests per window for the key.
    pub limit: RateLimit,
    /// Whether a 429 carries `Retry-After`.
    pub retry_after_header: bool,
    /// How the id field is spelled.
    pub id_field: BloxlinkIdField,
}

/// A running fake Bloxlink.
pub type FakeBloxlink = LinkFake<BloxlinkConfig>;

impl FakeBloxlink {
    /// Serves a fake for `config` on a free loopback port; its limit windows follow `clock`.
    pub async fn start(config: BloxlinkConfig, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let limit = config.limit;
        LinkFake::serve(config, limit, clock, |state| {
            axum::Router::new()
                .route(
                    "/v4/public/guilds/{guild}/discord-to-roblox/{member}",
                    get(discord_to_roblox),
                )
                .with_state(state)
        })
        .await
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn discord_to_roblox(
    State(inner): State<Shared<BloxlinkConfig>>,
    Path((guild, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock();
    inner.directory.requests += 1;
    if inner.directory.down {
        return error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if key != Some(inner.config.api_key.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    if guild.parse::<u64>().ok() != Some(inner.config.guild_id) {
        return error(StatusCode::FORBIDDEN, "This API key is not for this server");
    }
    if let Err(refused) = inner.window.take() {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "You are being rate limited");
        if inner.config.retry_after_header {
            if let Ok(v) = HeaderValue::from_str(&whole_seconds(refused.retry_after_ms)) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        return response;
    }
    let Ok(member) = member.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "Invalid Discord user id");
    };
    match inner.directory.known(member) {
        Known::Stranger => error(StatusCode::NOT_FOUND, "User not found in this server"),
        Known::Unlinked => error(StatusCode::NOT_FOUND, "User not verified with Bloxlink"),
        Known::Linked(id) => {
            let field = match inner.config.id_field {
                BloxlinkIdField::RobloxUpperId => "robloxID",
                BloxlinkIdField::RobloxId => "robloxId",
            };
            axum::Json(json!({ field: id.to_string(), "resolved": {} })).into_response()
        }
    }
}
