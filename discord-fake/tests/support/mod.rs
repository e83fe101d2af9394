//! A raw gateway client and an HTTP helper for the fake's own tests: they speak to the fake as a
//! bot would, and read every frame back with serenity's model types.
#![allow(dead_code)]

use discord_fake::{DiscordFake, FakeConfig, MANAGE_GUILD, Member};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serenity::all as s;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Frame;

pub const GUILD: u64 = 700_000_000_000_000_001;
pub const CHANNEL: u64 = 700_000_000_000_000_002;
pub const LOGS: u64 = 700_000_000_000_000_003;
pub const STAFF_ROLE: u64 = 700_000_000_000_000_004;
pub const MOD: u64 = 700_000_000_000_000_010;
pub const BYSTANDER: u64 = 700_000_000_000_000_011;
pub const WAIT: Duration = Duration::from_secs(10);

/// A fake with one guild, two channels, a staff member and a bystander, and `/ping` registered.
pub async fn fake() -> DiscordFake {
    let fake = DiscordFake::start(FakeConfig::default()).await.unwrap();
    fake.add_guild(GUILD, "Test guild");
    fake.add_role(GUILD, STAFF_ROLE, "Staff");
    fake.add_channel(GUILD, CHANNEL, "general", true);
    fake.add_channel(GUILD, LOGS, "economy-log", true);
    fake.add_member(
        GUILD,
        Member {
            user_id: MOD,
            name: "mod".into(),
            roles: vec![STAFF_ROLE],
            permissions: MANAGE_GUILD,
            bot: false,
        },
    );
    fake.add_member(
        GUILD,
        Member {
            user_id: BYSTANDER,
            name: "bystander".into(),
            roles: vec![],
            permissions: 0,
            bot: false,
        },
    );
    fake.preregister(Some(GUILD), &[json!({
        "name": "ping", "description": "Ping", "type": 1,
        "options": [
            {"type": 3, "name": "text", "description": "t", "required": true, "min_length": 1, "max_length": 5},
            {"type": 4, "name": "n", "description": "n", "min_value": 1, "max_value": 10},
            {"type": 6, "name": "who", "description": "w"}
        ]
    })]);
    fake
}

/// serenity's HTTP client pointed at the fake, as the bot builds it.
pub fn http(fake: &DiscordFake) -> s::Http {
    s::HttpBuilder::new(fake.token())
        .proxy(fake.rest_base())
        .ratelimiter_disabled(true)
        .application_id(s::ApplicationId::new(fake.application_id()))
        .build()
}

/// Status and Discord error code of a failed serenity call.
pub fn refused<T: std::fmt::Debug>(r: Result<T, s::Error>) -> (u16, isize) {
    match r {
        Err(s::Error::Http(s::HttpError::UnsuccessfulRequest(e))) => {
            (e.status_code.as_u16(), e.error.code)
        }
        other => panic!("expected Discord to refuse, got {other:?}"),
    }
}

/// A bare gateway client.
pub struct RawBot {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Every frame received, as serenity read it.
    pub events: Vec<s::GatewayEvent>,
}

impl RawBot {
    /// Connects and reads HELLO.
    pub async fn connect(fake: &DiscordFake) -> Self {
        let url = format!("{}/?v=10", fake.gateway_url());
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut bot = Self {
            ws,
            events: Vec::new(),
        };
        let hello = bot.next().await.unwrap();
        assert!(matches!(hello, s::GatewayEvent::Hello(41_250)), "{hello:?}");
        bot
    }

    /// The next frame, read with serenity's `GatewayEvent` (a frame it cannot read fails the
    /// test); `None` when the connection closed (the close code is returned in `Err`).
    pub async fn next(&mut self) -> Result<s::GatewayEvent, Option<u16>> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Frame::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if let Err(why) = discord_fake::check::gateway(&v) {
                        panic!("serenity drops a frame: {why}");
                    }
                    let e: s::GatewayEvent = serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("serenity cannot read {t}: {e}"));
                    self.events.push(e.clone());
                    return Ok(e);
                }
                Some(Ok(Frame::Close(c))) => return Err(c.map(|c| u16::from(c.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Frame::Text(v.to_string())).await.unwrap();
    }

    /// IDENTIFY with `token`; returns READY's event and the GUILD_CREATEs.
    pub async fn identify(&mut self, token: &str) -> Result<Vec<s::Event>, Option<u16>> {
        self.identify_with(token, 1).await
    }

    /// IDENTIFY with `token` and `intents`.
    pub async fn identify_with(
        &mut self,
        token: &str,
        intents: u64,
    ) -> Result<Vec<s::Event>, Option<u16>> {
        self.send(
            json!({"op": 2, "d": {"token": format!("Bot {token}"), "intents": intents,
            "properties": {"os": "linux", "browser": "t", "device": "t"}}}),
        )
        .await;
        let mut got = Vec::new();
        loop {
            match self.next().await? {
                s::GatewayEvent::Dispatch(_, e @ s::Event::Ready(_)) => got.push(e),
                s::GatewayEvent::Dispatch(_, e @ s::Event::GuildCreate(_)) => {
                    got.push(e);
                    return Ok(got);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The next INTERACTION_CREATE.
    pub async fn interaction(&mut self) -> s::Interaction {
        loop {
            if let s::GatewayEvent::Dispatch(_, s::Event::InteractionCreate(e)) =
                self.next().await.unwrap()
            {
                return e.interaction;
            }
        }
    }
}

/// A connected bot.
pub async fn bot(fake: &DiscordFake) -> RawBot {
    let mut b = RawBot::connect(fake).await;
    b.identify(&fake.token()).await.unwrap();
    b
}

/// One raw HTTP/1.1 request: status, headers (lowercase names), body.
pub async fn raw(
    fake: &DiscordFake,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let addr = fake.rest_base().trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bot {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        fake.token(),
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}
