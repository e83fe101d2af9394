//! The doctor's Discord checks against a local stub of Discord's REST API (Discord itself is
//! not reachable here): a good token, a refused one, a user token, a guild the bot is not in, an
//! application added without `applications.commands`, a log channel it cannot see; the token
//! never appears in a line.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bot::config::SecretString;
use bot::doctor::discord::{self, DiscordTarget};
use bot::doctor::{Check, DiscordInput};
use serde_json::json;
use std::sync::Arc;

const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.abcdefghijklmnopqrstuvwxyz012345";
const APP: &str = "1098765432109876543";
const GUILD: u64 = 123_456_789_012_345_678;
const CHANNEL: u64 = 223_456_789_012_345_678;

/// What the stubbed Discord knows.
#[derive(Clone)]
struct Stub {
    bot: bool,
    in_guild: bool,
    commands_scope: bool,
    sees_channel: bool,
}

impl Stub {
    fn good() -> Self {
        Self {
            bot: true,
            in_guild: true,
            commands_scope: true,
            sees_channel: true,
        }
    }
}

type S = State<Arc<Stub>>;

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {TOKEN}"))
}

fn answer(h: &HeaderMap, allowed: bool, body: serde_json::Value) -> Response {
    if !authorized(h) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response();
    }
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"message": "Missing Access", "code": 50001})),
        )
            .into_response();
    }
    axum::Json(body).into_response()
}

async fn me(State(s): S, h: HeaderMap) -> Response {
    answer(
        &h,
        true,
        json!({"id": "42", "username": "economy", "bot": s.bot}),
    )
}

async fn app(h: HeaderMap) -> Response {
    answer(
        &h,
        true,
        json!({"id": APP, "name": "Economy Bridge", "bot_public": false}),
    )
}

async fn guild(State(s): S, h: HeaderMap, Path(id): Path<u64>) -> Response {
    answer(
        &h,
        s.in_guild && id == GUILD,
        json!({"id": id.to_string(), "name": "Staff HQ"}),
    )
}

async fn my_guilds(State(s): S, h: HeaderMap) -> Response {
    let guilds = if s.in_guild {
        vec![json!({"id": GUILD.to_string()})]
    } else {
        vec![]
    };
    answer(&h, true, json!(guilds))
}

async fn guild_commands(
    State(s): S,
    h: HeaderMap,
    Path((app, g)): Path<(String, u64)>,
) -> Response {
    answer(
        &h,
        s.commands_scope && app == APP && g == GUILD,
        json!([{"name": "give"}, {"name": "deduct"}]),
    )
}

async fn channel(State(s): S, h: HeaderMap, Path(id): Path<u64>) -> Response {
    answer(
        &h,
        s.sees_channel && id == CHANNEL,
        json!({"id": id.to_string(), "name": "economy-log", "guild_id": GUILD.to_string()}),
    )
}

async fn stub(s: Stub) -> (String, tokio::task::JoinHandle<()>) {
    let router = Router::new()
        .route("/users/@me", get(me))
        .route("/oauth2/applications/@me", get(app))
        .route("/guilds/{id}", get(guild))
        .route("/users/@me/guilds", get(my_guilds))
        .route(
            "/applications/{app}/guilds/{guild}/commands",
            get(guild_commands),
        )
        .route("/channels/{id}", get(channel))
        .with_state(Arc::new(s));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, task)
}

async fn run(s: Stub, token: &str, guild: Option<u64>, channel: Option<u64>) -> Vec<Check> {
    let (base, task) = stub(s).await;
    let token = SecretString::new(token.to_owned());
    let target = DiscordTarget {
        base_url: &base,
        token: &token,
        guild_id: guild,
        log_channel_id: channel,
    };
    let checks = discord::check(&target, &reqwest::Client::new()).await;
    task.abort();
    for c in &checks {
        assert!(
            !c.to_string().contains("GhIjKl"),
            "the token was printed: {c}"
        );
    }
    checks
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} in {checks:?}"))
}

#[tokio::test]
async fn a_good_bot_in_its_guild_passes_every_check() {
    let checks = run(Stub::good(), TOKEN, Some(GUILD), Some(CHANNEL)).await;
    assert_eq!(checks.len(), 5);
    for c in &checks {
        assert!(c.to_string().starts_with("ok "), "{c}");
    }
    assert!(
        find(&checks, discord::COMMANDS)
            .to_string()
            .contains("2 registered")
    );
    assert!(
        find(&checks, discord::GUILD)
            .to_string()
            .contains("Staff HQ")
    );
}

#[tokio::test]
async fn a_refused_token_is_named_and_the_rest_skipped() {
    let checks = run(Stub::good(), "AAAA.BBBB.CCCC", Some(GUILD), None).await;
    let token = find(&checks, discord::TOKEN);
    assert!(
        token.is_problem() && token.to_string().contains("Reset Token"),
        "{token}"
    );
    for name in [
        discord::APPLICATION,
        discord::GUILD,
        discord::COMMANDS,
        discord::LOG_CHANNEL,
    ] {
        assert!(
            find(&checks, name).to_string().starts_with("skipped"),
            "{checks:?}"
        );
    }
}

#[tokio::test]
async fn a_user_token_is_refused() {
    let checks = run(
        Stub {
            bot: false,
            ..Stub::good()
        },
        TOKEN,
        Some(GUILD),
        None,
    )
    .await;
    let token = find(&checks, discord::TOKEN);
    assert!(
        token.is_problem() && token.to_string().contains("not to a bot"),
        "{token}"
    );
}

#[tokio::test]
async fn a_guild_without_the_bot_gets_the_invite_link() {
    let checks = run(
        Stub {
            in_guild: false,
            ..Stub::good()
        },
        TOKEN,
        Some(GUILD),
        None,
    )
    .await;
    let guild = find(&checks, discord::GUILD);
    assert!(guild.is_problem(), "{guild}");
    assert!(
        guild.to_string().contains(&format!("client_id={APP}")),
        "{guild}"
    );
    // Without DISCORD_GUILD_ID, a bot in no guild is a problem too.
    let checks = run(
        Stub {
            in_guild: false,
            ..Stub::good()
        },
        TOKEN,
        None,
        None,
    )
    .await;
    assert!(find(&checks, discord::GUILD).is_problem(), "{checks:?}");
}

#[tokio::test]
async fn an_application_without_the_commands_scope_is_named() {
    let checks = run(
        Stub {
            commands_scope: false,
            ..Stub::good()
        },
        TOKEN,
        Some(GUILD),
        None,
    )
    .await;
    let commands = find(&checks, discord::COMMANDS);
    assert!(
        commands.is_problem() && commands.to_string().contains("applications.commands"),
        "{commands}"
    );
    assert!(!find(&checks, discord::GUILD).is_problem());
    assert!(
        find(&checks, discord::LOG_CHANNEL)
            .to_string()
            .starts_with("skipped")
    );
}

#[tokio::test]
async fn a_log_channel_the_bot_cannot_see_is_named() {
    let checks = run(
        Stub {
            sees_channel: false,
            ..Stub::good()
        },
        TOKEN,
        Some(GUILD),
        Some(CHANNEL),
    )
    .await;
    let log = find(&checks, discord::LOG_CHANNEL);
    assert!(
        log.is_problem() && log.to_string().contains("View Channel"),
        "{log}"
    );
}

#[test]
fn without_a_token_discord_is_skipped_in_one_line() {
    assert!(matches!(
        DiscordInput::from_lookup(|_| None),
        DiscordInput::NotConfigured
    ));
    let line = discord::skipped_without_token().to_string();
    assert!(
        line.starts_with("skipped  Discord: DISCORD_TOKEN is not set"),
        "{line}"
    );
    // A token set but malformed is reported as a setting problem, not checked against Discord.
    let bad = DiscordInput::from_lookup(|k| (k == "DISCORD_TOKEN").then(|| "nope".to_owned()));
    assert!(matches!(bad, DiscordInput::Invalid(lines) if lines[0].contains("DISCORD_TOKEN")));
}
