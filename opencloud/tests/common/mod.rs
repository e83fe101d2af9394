//! Shared setup: an emulator on 127.0.0.1:0 and a client pointed at it.

#![allow(dead_code)]

use std::sync::Arc;

use opencloud::client::{ClientConfig, LimiterConfig, RetryPolicy};
use opencloud::emulator::auth::scopes;
use opencloud::emulator::{
    ApiKey, BudgetConfig, Clock, Emulator, EmulatorConfig, RunningEmulator, TokioClock, User,
};
use opencloud::{ApiKey as ClientKey, OpenCloud};

pub const UNIVERSE: u64 = 4242;
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
