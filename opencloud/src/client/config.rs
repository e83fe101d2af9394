//! Client configuration: base URLs, the API key (never printed), timeouts, retries and budgets.

use std::fmt;
use std::time::Duration;

use url::Url;

use super::limiter::LimiterConfig;

/// An Open Cloud API key; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key text, only for the `x-api-key` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Which messaging endpoint publishes use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessagingApi {
    /// `POST /cloud/v2/universes/{u}:publishMessage` (current, stable).
    #[default]
    V2,
    /// `POST /messaging-service/v1/universes/{u}/topics/{topic}` (legacy).
    V1,
}

/// Retry settings (exponential backoff with jitter, via `backon`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (≥ 1).
    pub max_attempts: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Largest wait a `retry-after` / `x-ratelimit-reset` hint may impose; longer hints fail fast.
    pub max_hinted_delay: Duration,
    /// Randomise delays so many clients do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_hinted_delay: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// Everything the client needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Open Cloud base URL (`https://apis.roblox.com`, or an emulator).
    pub base_url: Url,
    /// Base URL of the legacy users web API used for username → id (`https://users.roblox.com`).
    /// This is not Open Cloud: it needs no key, is not covered by Open Cloud's guarantees and "can
    /// break without notice".
    pub users_base_url: Url,
    /// The API key.
    pub api_key: ApiKey,
    /// Per-request timeout (connect + response); `None` waits forever (tests on paused time).
    pub timeout: Option<Duration>,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// Client-side budgets.
    pub limiter: LimiterConfig,
    /// Publish endpoint.
    pub messaging_api: MessagingApi,
}

impl ClientConfig {
    /// Defaults pointing at Roblox.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            base_url: Url::parse("https://apis.roblox.com").expect("constant URL parses"),
            users_base_url: Url::parse("https://users.roblox.com").expect("constant URL parses"),
            api_key,
            timeout: Some(Duration::from_secs(15)),
            retry: RetryPolicy::default(),
            limiter: LimiterConfig::default(),
            messaging_api: MessagingApi::V2,
        }
    }

    /// Points both Open Cloud and the users API at one base URL (the emulator serves both).
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.users_base_url = base.clone();
        self.base_url = base;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_never_printed() {
        let config = ClientConfig::new(ApiKey::new("very-secret-key"));
        let text = format!("{config:?} {:?}", config.api_key);
        assert!(!text.contains("very-secret-key"));
        assert!(text.contains("redacted"));
    }
}
