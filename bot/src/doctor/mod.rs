//! `economy-bot doctor`: checks a deployment with the operator's real settings, without moving
//! money, and prints one line per check (`ok`, `problem … fix: …` or `skipped`).
//!
//! - [`report`]: the check lines and the report.
//! - [`audit`]: the audit API's reachability, clock and keys.
//! - [`clock_skew`]: the server's `Date` header against this machine's clock.
//! - [`open_cloud`]: the Open Cloud key's permissions, by harmless calls.
//! - [`discord`]: the Discord token, application, guild, command registration and log channel.
//! - [`links`]: the account-link sources, each remote provider's key by one harmless look-up.
//! - [`canary`]: the live canary, the bridge's self-test run in a server through Luau Execution.

pub mod audit;
pub mod canary;
pub mod clock_skew;
pub mod discord;
pub mod links;
pub mod open_cloud;
pub mod report;

pub use report::{Check, Report, Status};

use crate::config::{Config, SecretString};
use crate::discord::DiscordSettings;
use opencloud::client::{ApiKey, ClientConfig, OpenCloud, RetryPolicy};
use shared::clock::Clock;
use std::sync::Arc;
use std::time::Duration;

/// How long the doctor waits for any one answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Discord's part of the settings, as found.
pub enum DiscordInput {
    /// `DISCORD_TOKEN` is not set: the Discord checks are skipped.
    NotConfigured,
    /// The settings, valid.
    Settings(DiscordSettings),
    /// `DISCORD_*` settings with problems (one line each).
    Invalid(Vec<String>),
}

impl DiscordInput {
    /// Reads `DISCORD_*` through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let has_token = get("DISCORD_TOKEN").is_some_and(|t| !t.trim().is_empty());
        if !has_token {
            return Self::NotConfigured;
        }
        match DiscordSettings::from_lookup(get) {
            Ok(s) => Self::Settings(s),
            Err(e) => Self::Invalid(e.0),
        }
    }
}

/// Everything one doctor run uses.
pub struct Inputs<'a> {
    /// The bot's settings.
    pub config: &'a Config,
    /// The Discord settings.
    pub discord: &'a DiscordInput,
    /// Discord's API base ([`discord::DISCORD_API`]; a stub in tests).
    pub discord_api: &'a str,
    /// The live canary, when asked for.
    pub canary: Option<canary::CanaryOptions>,
    /// This machine's clock (a skewed one in tests).
    pub clock: Arc<dyn Clock>,
}

/// An Open Cloud client for the doctor: the operator's key and base URL, short timeouts, one
/// retry (a doctor reports trouble rather than waiting it out).
pub fn open_cloud_client(
    base_url: Option<&url::Url>,
    key: &SecretString,
) -> Result<OpenCloud, opencloud::client::Error> {
    let mut config = ClientConfig::new(ApiKey::new(key.expose()));
    if let Some(base) = base_url {
        config = config.with_base_url(base.clone());
    }
    config.timeout = Some(CALL_TIMEOUT);
    config.retry = RetryPolicy {
        max_attempts: 2,
        max_hinted_delay: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    OpenCloud::new(config)
}

/// A URL as a line may show it: no user name, password, query or fragment.
pub fn shown_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "(the configured URL)".to_owned(),
    }
}

/// Runs every check and returns the report (printing is the caller's).
pub async fn run(inputs: Inputs<'_>) -> Report {
    let config = inputs.config;
    let mut report = Report::default();
    let http = match reqwest::Client::builder().timeout(CALL_TIMEOUT).build() {
        Ok(h) => h,
        Err(_) => {
            report.extend([Check::problem(
                "HTTP client",
                "this machine cannot set up an HTTP client (TLS roots?)",
                "check the system's certificate store",
            )]);
            return report;
        }
    };
    let audit_target = audit::AuditTarget {
        base_url: &config.audit_api_url,
        key: config.audit_api_key.signing_key(),
    };
    report.extend(audit::check(&audit_target, inputs.clock.as_ref(), &http).await);
    match open_cloud_client(
        config.open_cloud_base_url.as_ref(),
        &config.open_cloud_api_key,
    ) {
        Ok(client) => {
            let target = open_cloud::OpenCloudTarget {
                client: &client,
                universe_id: config.universe_id,
                datastore: &config.wallet_datastore,
                topic: &config.command_topic,
            };
            report.extend(open_cloud::check(&target).await);
        }
        Err(e) => report.extend([Check::problem(
            "Open Cloud client",
            format!("cannot set up the Open Cloud client ({e})"),
            "check ROBLOX_OPEN_CLOUD_BASE_URL",
        )]),
    }
    match inputs.discord {
        DiscordInput::NotConfigured => report.extend([discord::skipped_without_token()]),
        DiscordInput::Invalid(lines) => {
            report.extend(lines.iter().map(|line| {
                Check::problem("Discord settings", line.clone(), "correct that setting")
            }))
        }
        DiscordInput::Settings(s) => {
            let target = discord::DiscordTarget {
                base_url: inputs.discord_api,
                token: &s.token,
                guild_id: s.guild_id,
                log_channel_id: s.log_channel_id,
            };
            report.extend(discord::check(&target, &http).await);
        }
    }
    let guild_id = match inputs.discord {
        DiscordInput::Settings(s) => s.guild_id,
        _ => None,
    };
    report.extend(links::check(&config.links, guild_id, &http).await);
    match inputs.canary {
        None => report.extend([Check::skipped(
            canary::TASK,
            "no --canary-place given (the live canary runs the bridge's self-test in a test place)",
        )]),
        Some(options) => report.extend(canary::run(config, &options, inputs.clock.as_ref()).await),
    }
    report
}

/// `economy-bot doctor`: reads the settings from the environment, runs every check, prints the
/// report; an error (non-zero exit) when any check found a problem.
pub async fn command(canary_place: Option<u64>, canary_version: Option<u64>) -> anyhow::Result<()> {
    let report = match Config::from_env() {
        Err(e) => Report {
            checks: e
                .0
                .into_iter()
                .map(|line| {
                    Check::problem(
                        "configuration",
                        line,
                        "correct that setting (see .env.sample)",
                    )
                })
                .collect(),
        },
        Ok(config) => {
            let get = |k: &str| std::env::var(k).ok();
            let discord = DiscordInput::from_lookup(get);
            let canary_key = get("DOCTOR_CANARY_API_KEY")
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .map(SecretString::new);
            let canary = canary_place
                .map(|place| canary::CanaryOptions::new(place, canary_version, canary_key));
            run(Inputs {
                config: &config,
                discord: &discord,
                discord_api: discord::DISCORD_API,
                canary,
                clock: Arc::new(shared::clock::SystemClock),
            })
            .await
        }
    };
    println!("{report}");
    if report.has_problems() {
        anyhow::bail!("doctor found problems: fix them and run it again");
    }
    Ok(())
}
