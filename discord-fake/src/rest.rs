//! The REST API v10 over plain HTTP: routing, bot-token authentication, rate limits on every
//! answer, and each answer checked against the serenity type the bot reads it into.

use crate::Shared;
use crate::check::{self, Shape};
use crate::error::ApiError;
use crate::interactions::{self, Reply, Target};
use crate::members;
use crate::messages::{self, Body};
use crate::model;
use crate::ratelimit::BucketKind;
use crate::registration;
use crate::world::{RequestRecord, World};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The routes the fake serves (under `/api/v10`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Gateway,
    GatewayBot,
    Application,
    CurrentUser,
    Commands {
        app: u64,
        guild: Option<u64>,
    },
    Callback {
        id: u64,
        token: String,
    },
    Followup {
        app: u64,
        token: String,
    },
    WebhookMessage {
        app: u64,
        token: String,
        target: Target,
    },
    ChannelMessages {
        channel: u64,
    },
    GuildMembers {
        guild: u64,
    },
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/api/v10/")?;
        let seg: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let id = |s: &str| s.parse::<u64>().ok();
        Some(match seg.as_slice() {
            ["gateway"] => Route::Gateway,
            ["gateway", "bot"] => Route::GatewayBot,
            ["oauth2", "applications", "@me"] => Route::Application,
            ["users", "@me"] => Route::CurrentUser,
            ["applications", app, "commands"] => Route::Commands {
                app: id(app)?,
                guild: None,
            },
            ["applications", app, "guilds", g, "commands"] => Route::Commands {
                app: id(app)?,
                guild: Some(id(g)?),
            },
            ["interactions", i, token, "callback"] => Route::Callback {
                id: id(i)?,
                token: (*token).to_owned(),
            },
            ["webhooks", app, token] => Route::Followup {
                app: id(app)?,
                token: (*token).to_owned(),
            },
            ["webhooks", app, token, "messages", m] => Route::WebhookMessage {
                app: id(app)?,
                token: (*token).to_owned(),
                target: if *m == "@original" {
                    Target::Original
                } else {
                    Target::Id(id(m)?)
                },
            },
            ["channels", c, "messages"] => Route::ChannelMessages { channel: id(c)? },
            ["guilds", g, "members"] => Route::GuildMembers { guild: id(g)? },
            _ => return None,
        })
    }

    /// The route as recorded (tokens never are).
    fn shown(&self) -> String {
        match self {
            Route::Gateway => "/gateway".into(),
            Route::GatewayBot => "/gateway/bot".into(),
            Route::Application => "/oauth2/applications/@me".into(),
            Route::CurrentUser => "/users/@me".into(),
            Route::Commands { app, guild: None } => format!("/applications/{app}/commands"),
            Route::Commands {
                app,
                guild: Some(g),
            } => format!("/applications/{app}/guilds/{g}/commands"),
            Route::Callback { id, .. } => format!("/interactions/{id}/{{token}}/callback"),
            Route::Followup { app, .. } => format!("/webhooks/{app}/{{token}}"),
            Route::WebhookMessage { app, target, .. } => match target {
                Target::Original => format!("/webhooks/{app}/{{token}}/messages/@original"),
                Target::Id(m) => format!("/webhooks/{app}/{{token}}/messages/{m}"),
            },
            Route::ChannelMessages { channel } => format!("/channels/{channel}/messages"),
            Route::GuildMembers { guild } => format!("/guilds/{guild}/members"),
        }
    }

    /// The rate-limit bucket and its top-level resource.
    fn bucket(&self) -> (BucketKind, String) {
        match self {
            Route::ChannelMessages { channel } => {
                (BucketKind::ChannelMessages, channel.to_string())
            }
            Route::Followup { token, .. } | Route::WebhookMessage { token, .. } => {
                (BucketKind::InteractionWebhook, token.clone())
            }
            Route::Callback { id, .. } => (BucketKind::Callback, id.to_string()),
            Route::Commands { guild, .. } => (
                BucketKind::Commands,
                guild.map_or_else(|| "global".to_owned(), |g| g.to_string()),
            ),
            Route::GuildMembers { guild } => (BucketKind::GuildMembers, guild.to_string()),
            _ => (BucketKind::Other, String::new()),
        }
    }

    /// Interaction routes are authorised by their token, `GET /gateway` by nothing, the others
    /// by the bot token.
    fn needs_bot_token(&self) -> bool {
        !matches!(
            self,
            Route::Gateway
                | Route::Callback { .. }
                | Route::Followup { .. }
                | Route::WebhookMessage { .. }
        )
    }
}

fn dispatch(
    w: &mut World,
    ws_url: &str,
    method: &Method,
    route: &Route,
    query: Option<&str>,
    body: &Body,
) -> Result<Reply, ApiError> {
    let ok = |body: Value, shape: Shape| {
        Ok(Reply {
            status: 200,
            body: Some(body),
            shape,
        })
    };
    match (method.as_str(), route) {
        ("GET", Route::Gateway) => ok(json!({"url": ws_url}), Shape::Gateway),
        ("GET", Route::GatewayBot) => ok(
            json!({"url": ws_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 1000 - w.identifies.min(1000), "reset_after": 86_400_000,
                "max_concurrency": 1}}),
            Shape::BotGateway,
        ),
        ("GET", Route::Application) => ok(model::application(w), Shape::Application),
        ("GET", Route::CurrentUser) => ok(model::bot_user(w), Shape::CurrentUser),
        ("GET", Route::Commands { app, guild }) => registration::list(w, *app, *guild),
        ("PUT", Route::Commands { app, guild }) => {
            registration::overwrite(w, *app, *guild, &body.json)
        }
        ("POST", Route::Callback { id, token }) => interactions::callback(w, *id, token, body),
        ("POST", Route::Followup { app, token }) => interactions::followup(w, *app, token, body),
        (m @ ("GET" | "PATCH" | "DELETE"), Route::WebhookMessage { app, token, target }) => {
            interactions::webhook_message(w, m, *app, token, *target, body)
        }
        ("POST", Route::ChannelMessages { channel }) => {
            interactions::channel_message(w, *channel, body)
        }
        ("GET", Route::GuildMembers { guild }) => members::list(w, *guild, query),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn authorised(w: &World, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bot "))
        .is_some_and(|t| t == w.config.token)
}

/// Waits while the test holds this request ([`crate::DiscordFake::hold`]).
async fn held(shared: &Shared, method: &str, route: &str) {
    let mut rx = shared.notify_rx();
    let mut counted = false;
    loop {
        // Seen before the check, so a release after it still wakes the wait below.
        rx.borrow_and_update();
        let newly = {
            let mut w = shared.world.lock();
            if !w.holds(method, route) {
                if counted {
                    w.holding -= 1;
                }
                return;
            }
            if counted {
                false
            } else {
                w.holding += 1;
                counted = true;
                true
            }
        };
        if newly {
            shared.changed();
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The one handler behind every path.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let Some(route) = Route::parse(uri.path()) else {
        let e = ApiError::not_found();
        return (StatusCode::NOT_FOUND, axum::Json(e.body())).into_response();
    };
    held(&shared, method.as_str(), &route.shown()).await;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, body, limits) = {
        let mut w = shared.world.lock();
        let (kind, resource) = route.bucket();
        let now = w.now_ms();
        let verdict = w.buckets.take(kind, &resource, now);
        let result = if route.needs_bot_token() && !authorised(&w, &headers) {
            Err(ApiError::unauthorized())
        } else if let Some(retry_after) = verdict.retry_after {
            Ok(Reply {
                status: 429,
                body: Some(json!({"message": "You are being rate limited.",
                    "retry_after": retry_after, "global": false})),
                shape: Shape::Empty,
            })
        } else {
            messages::parse_body(content_type.as_deref(), &bytes).and_then(|body| {
                dispatch(&mut w, &shared.ws_url, &method, &route, uri.query(), &body)
            })
        };
        let (status, body) = match result {
            Ok(reply) => {
                if let (Some(b), true) = (&reply.body, reply.status < 300)
                    && let Err(e) = check::rest(reply.shape, b)
                {
                    w.problems.push(format!(
                        "{method} {}: serenity cannot read the answer: {e}",
                        route.shown()
                    ));
                }
                (reply.status, reply.body)
            }
            Err(e) => (e.status, Some(e.body())),
        };
        w.requests.push(RequestRecord {
            method: method.to_string(),
            route: route.shown(),
            status,
        });
        (status, body, verdict.headers)
    };
    shared.changed();
    let mut response = match body {
        Some(b) => axum::Json(b).into_response(),
        None => ().into_response(),
    };
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (name, value) in limits {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_never_show_tokens() {
        let r = Route::parse("/api/v10/webhooks/5/secret-token/messages/@original").unwrap();
        assert_eq!(
            r,
            Route::WebhookMessage {
                app: 5,
                token: "secret-token".into(),
                target: Target::Original
            }
        );
        assert!(!r.shown().contains("secret"));
        assert_eq!(
            Route::parse("/api/v10/applications/5/guilds/7/commands"),
            Some(Route::Commands {
                app: 5,
                guild: Some(7)
            })
        );
        assert_eq!(Route::parse("/api/v9/gateway"), None);
        assert_eq!(Route::parse("/api/v10/channels/x/messages"), None);
    }
}
