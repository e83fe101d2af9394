//! Shared setup: an emulator on 127.0.0.1:0 and a client pointed at it.

#![allow(dead_code)]

use std::sync::Arc;

use opencloud::client::{ClientConfig, LimiterConfig, RetryPolicy};
use opencloud::emulator::auth::scopes;
use opencloud::emulator::{
    ApiKey, BudgetConfig, Clock, Emulator, EmulatorConfig, RunningEmulator, TokioClock, User,
};
use opencloud::{ApiKey as ClientKey, OpenCloud};
use serde_json::Value;

pub const UNIVERSE: u64 = 4242;
/// The data store the raw v2 helper talks to.
pub const DS: &str = "EconomyWallet";
pub const ADMIN_SECRET: &str = "admin-secret-value";
pub const READER_SECRET: &str = "reader-secret-value";
pub const OTHER_UNIVERSE_SECRET: &str = "other-universe-secret";

pub struct Harness {
    pub emulator: Arc<Emulator>,
    pub server: RunningEmulator,
    pub client: OpenCloud,
}

pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        api_keys: vec![
            ApiKey::full_access("bot", ADMIN_SECRET),
            ApiKey::new(
                "reader",
                READER_SECRET,
                [scopes::OBJECTS_READ, scopes::OBJECTS_LIST],
                Some(vec![UNIVERSE]),
            ),
            ApiKey::full_access_on("elsewhere", OTHER_UNIVERSE_SECRET, vec![UNIVERSE + 1]),
        ],
        budgets: BudgetConfig::unlimited(),
        users: vec![User::new(156, "builderman"), User::new(1, "Roblox")],
        ..EmulatorConfig::default()
    }
}

/// Fast, deterministic retries: no jitter, 100 ms first delay.
pub fn client_config(base: &str, secret: &str) -> ClientConfig {
    let mut config =
        ClientConfig::new(ClientKey::new(secret)).with_base_url(url::Url::parse(base).unwrap());
    config.limiter = LimiterConfig::unlimited();
    config.retry = RetryPolicy {
        max_attempts: 4,
        min_delay: std::time::Duration::from_millis(100),
        max_delay: std::time::Duration::from_secs(5),
        max_hinted_delay: std::time::Duration::from_secs(60),
        jitter: false,
    };
    config.timeout = None;
    config
}

pub async fn start(config: EmulatorConfig) -> Harness {
    start_with(config, |c| c).await
}

pub async fn start_with(
    config: EmulatorConfig,
    tweak: impl FnOnce(ClientConfig) -> ClientConfig,
) -> Harness {
    // Emulated time follows tokio time, so paused-clock tests move both together.
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::new(1_795_219_200_000));
    start_on(clock, config, tweak).await
}

/// An emulator on an explicit clock (e.g. a `ManualClock` a test moves by days).
pub async fn start_on(
    clock: Arc<dyn Clock>,
    config: EmulatorConfig,
    tweak: impl FnOnce(ClientConfig) -> ClientConfig,
) -> Harness {
    let emulator = Emulator::new(clock, config);
    let server = emulator
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = OpenCloud::new(tweak(client_config(&server.base_url(), ADMIN_SECRET))).unwrap();
    Harness {
        emulator,
        server,
        client,
    }
}

impl Harness {
    pub fn client_with(&self, secret: &str) -> OpenCloud {
        OpenCloud::new(client_config(&self.server.base_url(), secret)).unwrap()
    }
}

/// A raw v2 caller with a chosen API key.
pub struct V2 {
    http: reqwest::Client,
    base: String,
    secret: &'static str,
}

impl V2 {
    pub fn new(h: &Harness) -> Self {
        Self::with_key(h, ADMIN_SECRET)
    }

    pub fn with_key(h: &Harness, secret: &'static str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!(
                "{}/cloud/v2/universes/{UNIVERSE}/data-stores/{DS}",
                h.server.base_url()
            ),
            secret,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", self.secret);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// The v2 error code of a body.
pub fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}
