//! Every rule the fakes enforce (docs/platform.md L1–L10), checked over raw HTTP.

use link_fakes::*;
use serde_json::Value;
use shared::clock::ManualClock;

const GUILD: u64 = 700;
const MEMBER: u64 = 81;
const ROBLOX: u64 = 156;

fn bloxlink_config(limit: RateLimit, retry_after_header: bool) -> BloxlinkConfig {
    BloxlinkConfig {
        api_key: "blox-key-rules".into(),
        guild_id: GUILD,
        limit,
        retry_after_header,
        id_field: BloxlinkIdField::default(),
    }
}

fn rover_config(limit: RateLimit, rate_limit_headers: bool, shape: RoverShape) -> RoverConfig {
    RoverConfig {
        api_key: "rover-key-rules".into(),
        guild_id: GUILD,
        limit,
        rate_limit_headers,
        shape,
    }
}

async fn get(url: String, auth: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn blox_url(fake: &FakeBloxlink, guild: u64, member: u64) -> String {
    format!(
        "{}/v4/public/guilds/{guild}/discord-to-roblox/{member}",
        fake.base_url()
    )
}

fn rover_url(fake: &FakeRover, guild: u64, member: u64) -> String {
    format!(
        "{}/api/guilds/{guild}/discord-to-roblox/{member}",
        fake.base_url()
    )
}

#[tokio::test]
async fn bloxlink_l1_the_key_is_the_whole_header_and_belongs_to_one_server() {
    let clock = ManualClock::shared(0);
    let fake = FakeBloxlink::start(bloxlink_config(RateLimit::GENEROUS, true), clock)
        .await
        .unwrap();
    fake.link(MEMBER, ROBLOX);
    let url = blox_url(&fake, GUILD, MEMBER);
    assert_eq!(get(url.clone(), None).await.0, 401);
    assert_eq!(get(url.clone(), Some("wrong")).await.0, 401);
    let (status, _, body) = get(url.clone(), Some("Bearer blox-key-rules")).await;
    assert_eq!(status, 401, "a scheme in front of the key is not the key");
    assert!(body["error"].is_string());
    assert_eq!(get(url, Some("blox-key-rules")).await.0, 200);
    let other = blox_url(&fake, GUILD + 1, MEMBER);
    assert_eq!(get(other, Some("blox-key-rules")).await.0, 403);
}

#[tokio::test]
async fn bloxlink_l2_l3_linked_unlinked_and_strangers() {
    let clock = ManualClock::shared(0);
    let fake = FakeBloxlink::start(bloxlink_config(RateLimit::GENEROUS, true), clock.clone())
        .await
        .unwrap();
    fake.link(MEMBER, ROBLOX);
    fake.join(MEMBER + 1);
    let (status, _, body) = get(blox_url(&fake, GUILD, MEMBER), Some("blox-key-rules")).await;
    assert_eq!(status, 200);
    assert_eq!(body["robloxID"], Value::String(ROBLOX.to_string()));
    assert!(body["resolved"].is_object());
    for member in [MEMBER + 1, MEMBER + 2] {
        let (status, _, body) = get(blox_url(&fake, GUILD, member), Some("blox-key-rules")).await;
        assert_eq!(status, 404);
        assert!(body["error"].is_string(), "{body}");
    }
    // The SDK's spelling, when configured.
    let mut config = bloxlink_config(RateLimit::GENEROUS, true);
    config.id_field = BloxlinkIdField::RobloxId;
    let sdk = FakeBloxlink::start(config, clock).await.unwrap();
    sdk.link(MEMBER, ROBLOX);
    let (_, _, body) = get(blox_url(&sdk, GUILD, MEMBER), Some("blox-key-rules")).await;
    assert_eq!(body["robloxId"], Value::String(ROBLOX.to_string()));
    assert!(body.get("robloxID").is_none());
}

#[tokio::test]
async fn bloxlink_l4_l5_rate_limit_on_the_tests_clock_and_outage() {
    let clock = ManualClock::shared(1_000);
    let limit = RateLimit {
        max: 2,
        window_ms: 60_000,
    };
    let fake = FakeBloxlink::start(bloxlink_config(limit, true), clock.clone())
        .await
        .unwrap();
    let url = blox_url(&fake, GUILD, MEMBER);
    assert_eq!(get(url.clone(), Some("blox-key-rules")).await.0, 404);
    assert_eq!(get(url.clone(), Some("blox-key-rules")).await.0, 404);
    clock.advance(20_000);
    let (status, headers, body) = get(url.clone(), Some("blox-key-rules")).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "40");
    assert!(body["error"].is_string());
    clock.advance(40_000);
    assert_eq!(get(url.clone(), Some("blox-key-rules")).await.0, 404);
    fake.set_down(true);
    assert_eq!(get(url.clone(), Some("blox-key-rules")).await.0, 503);
    assert_eq!(fake.requests(), 5);

    let quiet = FakeBloxlink::start(
        bloxlink_config(
            RateLimit {
                max: 0,
                window_ms: 1,
            },
            false,
        ),
        clock,
    )
    .await
    .unwrap();
    let (status, headers, _) = get(blox_url(&quiet, GUILD, MEMBER), Some("blox-key-rules")).await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_none());
}

#[tokio::test]
async fn rover_l6_bearer_key_for_one_server() {
    let clock = ManualClock::shared(0);
    let fake = FakeRover::start(
        rover_config(RateLimit::GENEROUS, true, RoverShape::Flat),
        clock,
    )
    .await
    .unwrap();
    fake.link(MEMBER, ROBLOX);
    let url = rover_url(&fake, GUILD, MEMBER);
    let (status, _, body) = get(url.clone(), Some("rover-key-rules")).await;
    assert_eq!(status, 401, "the bare key without Bearer is refused");
    assert!(body["errorCode"].is_string() && body["message"].is_string());
    assert_eq!(get(url.clone(), None).await.0, 401);
    assert_eq!(get(url, Some("Bearer rover-key-rules")).await.0, 200);
    let other = rover_url(&fake, GUILD + 1, MEMBER);
    assert_eq!(get(other, Some("Bearer rover-key-rules")).await.0, 403);
}

#[tokio::test]
async fn rover_l7_l8_both_shapes_and_the_error_body() {
    let clock = ManualClock::shared(0);
    let flat = FakeRover::start(
        rover_config(RateLimit::GENEROUS, true, RoverShape::Flat),
        clock.clone(),
    )
    .await
    .unwrap();
    flat.link(MEMBER, ROBLOX);
    flat.join(MEMBER + 1);
    let (status, _, body) = get(
        rover_url(&flat, GUILD, MEMBER),
        Some("Bearer rover-key-rules"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["robloxId"], Value::from(ROBLOX));
    assert_eq!(body["discordId"], Value::String(MEMBER.to_string()));
    assert_eq!(body["guildId"], Value::String(GUILD.to_string()));
    assert!(body["cachedUsername"].is_string());
    for member in [MEMBER + 1, MEMBER + 2] {
        let (status, _, body) = get(
            rover_url(&flat, GUILD, member),
            Some("Bearer rover-key-rules"),
        )
        .await;
        assert_eq!(status, 404);
        assert!(body["errorCode"].is_string() && body["message"].is_string());
    }
    let nested = FakeRover::start(
        rover_config(RateLimit::GENEROUS, true, RoverShape::Nested),
        clock,
    )
    .await
    .unwrap();
    nested.link(MEMBER, ROBLOX);
    let (_, _, body) = get(
        rover_url(&nested, GUILD, MEMBER),
        Some("Bearer rover-key-rules"),
    )
    .await;
    assert_eq!(body["roblox"]["id"], Value::from(ROBLOX));
    assert!(body.get("robloxId").is_none());
}

#[tokio::test]
async fn rover_l9_l10_rate_limit_headers_both_ways_and_outage() {
    let clock = ManualClock::shared(0);
    let limit = RateLimit {
        max: 1,
        window_ms: 10_000,
    };
    let fake = FakeRover::start(rover_config(limit, true, RoverShape::Flat), clock.clone())
        .await
        .unwrap();
    let url = rover_url(&fake, GUILD, MEMBER);
    let (status, headers, _) = get(url.clone(), Some("Bearer rover-key-rules")).await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-limit"], "1");
    clock.advance(2_500);
    let (status, headers, body) = get(url.clone(), Some("Bearer rover-key-rules")).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "8");
    assert_eq!(headers["x-ratelimit-reset-after"], "7.500");
    assert_eq!(body["errorCode"], "rate_limited");
    fake.set_down(true);
    assert_eq!(get(url, Some("Bearer rover-key-rules")).await.0, 503);

    let quiet = FakeRover::start(
        rover_config(
            RateLimit {
                max: 0,
                window_ms: 1,
            },
            false,
            RoverShape::Flat,
        ),
        clock,
    )
    .await
    .unwrap();
    let (status, headers, _) = get(
        rover_url(&quiet, GUILD, MEMBER),
        Some("Bearer rover-key-rules"),
    )
    .await;
    assert_eq!(status, 429);
    assert!(
        headers.get("retry-after").is_none() && headers.get("x-ratelimit-reset-after").is_none()
    );
}

#[tokio::test]
async fn a_stopped_fake_refuses_connections() {
    let clock = ManualClock::shared(0);
    let mut fake = FakeRover::start(
        rover_config(RateLimit::GENEROUS, true, RoverShape::Flat),
        clock,
    )
    .await
    .unwrap();
    let url = rover_url(&fake, GUILD, MEMBER);
    let client = reqwest::Client::new();
    let first = client
        .get(&url)
        .bearer_auth("rover-key-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 404);
    drop(first);
    fake.stop().await;
    let err = client
        .get(&url)
        .bearer_auth("rover-key-rules")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err}");
}
