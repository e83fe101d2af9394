//! RoVer's guild API: `GET /api/guilds/{guildId}/discord-to-roblox/{discordUserId}`.
//! Rules (docs/platform.md): L6 `Authorization: Bearer <key>`, a wrong or missing key → 401, a key
//! answers only for its own server (403); L7 a linked member → 200 with `robloxId` (a number),
//! `cachedUsername`, `discordId`, `guildId` (or the nested `roblox.id` shape when configured);
//! L8 no link / not in the server → 404 with `{"errorCode": …, "message": …}`; L9 over the key's
//! limit → 429 with the same error shape, and `Retry-After` plus Discord-style
//! `X-RateLimit-*` headers only when configured; L10 an outage → 503.

use crate::directory::Known;
use crate::limit::{RateLimit, whole_seconds};
use crate::provider::{LinkFake, ProviderState, Shared};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use shared::clock::Clock;
use std::sync::Arc;

/// The shape of a 200 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoverShape {
    /// `{"robloxId": n, "cachedUsername", "discordId", "guildId"}`, as integrations read it.
    #[default]
    Flat,
    /// `{"roblox": {"id": n, "username"}, "discordId", "guildId"}`, as a published client types it.
    Nested,
}

/// A fake RoVer's settings.
#[derive(Debug, Clone)]
pub struct RoverConfig {
    /// The bearer key this fake accepts (each test its own).
    pub api_key: String,
    /// The Discord server the key belongs to.
    pub guild_id: u64,
    /// Requests per window for the key.
    pub limit: RateLimit,
    /// Whether answers carry `Retry-After` / `X-RateLimit-*`.
    pub rate_limit_headers: bool,
    /// The 200 shape.
    pub shape: RoverShape,
}

/// A running fake RoVer.
pub type FakeRover = LinkFake<RoverConfig>;

impl FakeRover {
    /// Serves a fake for `config` on a free loopback port; its limit windows follow `clock`.
    pub async fn start(config: RoverConfig, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let limit = config.limit;
        LinkFake::serve(config, limit, clock, |state| {
            axum::Router::new()
                .route(
                    "/api/guilds/{guild}/discord-to-roblox/{member}",
                    get(discord_to_roblox),
                )
                .with_state(state)
        })
        .await
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorCode": code, "message": message })),
    )
        .into_response()
}

fn set(response: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), v);
    }
}

async fn discord_to_roblox(
    State(inner): State<Shared<RoverConfig>>,
    Path((guild, member)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock();
    inner.directory.requests += 1;
    if inner.directory.down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "RoVer is temporarily unavailable",
        );
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(inner.config.api_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing or invalid API key",
        );
    }
    if guild.parse::<u64>().ok() != Some(inner.config.guild_id) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This API key cannot access this guild",
        );
    }
    let headers_on = inner.config.rate_limit_headers;
    let limit = inner.config.limit.max;
    let mut response = match inner.window.take() {
        Err(refused) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "You are being rate limited",
            );
            if headers_on {
                set(&mut r, "retry-after", whole_seconds(refused.retry_after_ms));
                set(&mut r, "x-ratelimit-remaining", "0".into());
            }
            r
        }
        Ok(remaining) => {
            let mut r = answer(&inner, &guild, &member);
            if headers_on {
                set(&mut r, "x-ratelimit-remaining", remaining.to_string());
            }
            r
        }
    };
    if headers_on {
        set(&mut response, "x-ratelimit-limit", limit.to_string());
        let after = inner.window.reset_after_ms() as f64 / 1000.0;
        set(
            &mut response,
            "x-ratelimit-reset-after",
            format!("{after:.3}"),
        );
    }
    response
}

fn answer(inner: &ProviderState<RoverConfig>, guild: &str, member: &str) -> Response {
    let Ok(member_id) = member.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_user_id",
            "Invalid Discord user id",
        );
    };
    match inner.directory.known(member_id) {
        Known::Stranger => error(
            StatusCode::NOT_FOUND,
            "user_not_found",
            "This user is not a member of this guild",
        ),
        Known::Unlinked => error(
            StatusCode::NOT_FOUND,
            "user_not_verified",
            "This user is not verified with RoVer",
        ),
        Known::Linked(id) => {
            let username = format!("user{id}");
            let body = match inner.config.shape {
                RoverShape::Flat => json!({
                    "robloxId": id, "cachedUsername": username,
                    "discordId": member, "guildId": guild,
                }),
                RoverShape::Nested => json!({
                    "roblox": { "id": id, "username": username },
                    "discordId": member, "guildId": guild,
                }),
            };
            axum::Json(body).into_response()
        }
    }
}
