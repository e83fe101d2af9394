//! The Open Cloud client used by the bot: one reused `reqwest::Client`, retries, budgets and
//! typed errors over data stores (v1, v2 get), messaging, users and Luau Execution.

mod config;
mod datastores;
mod error;
mod limiter;
mod luau_execution;
mod messaging;
mod transport;
mod types;
mod users;

use std::sync::Arc;

pub use config::{ApiKey, ClientConfig, MessagingApi, RetryPolicy};
pub use error::{ApiError, Error};
pub use limiter::{Limiter, LimiterConfig, OpClass, Rate, topic_publishes_per_minute};
pub use luau_execution::{LuauTask, LuauTaskError, LuauTaskOutput};
pub use types::{
    DataStoreEntry, EntryPath, EntryV2, EntryVersion, KeyRef, KeysPage, ListKeys, ListVersions,
    SetOptions, UserInfo, UsernameMatch, VersionsPage,
};

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    limiter: Limiter,
}

/// An Open Cloud client; clones share the connection pool and the budget limiter.
#[derive(Clone)]
pub struct OpenCloud {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OpenCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCloud")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl OpenCloud {
    /// A client with its own connection pool.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder().user_agent(concat!(
            "economy-bridge-opencloud/",
            env!("CARGO_PKG_VERSION")
        ));
        if let Some(timeout) = config.timeout {
            builder = builder.connect_timeout(timeout);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Transport(e.to_string()))?;
        Ok(Self::with_http(config, http))
    }

    /// A client over an existing `reqwest::Client` (to share one pool across the process).
    pub fn with_http(config: ClientConfig, http: reqwest::Client) -> Self {
        let limiter = Limiter::new(config.limiter.clone());
        Self {
            inner: Arc::new(Inner {
                http,
                config,
                limiter,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// An Open Cloud URL from path segments (each percent-encoded) and query pairs.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> url::Url {
        build_url(&self.inner.config.base_url, segments, query)
    }
}

fn build_url(base: &url::Url, segments: &[&str], query: &[(&str, String)]) -> url::Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in query {
            pairs.append_pair(name, value);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        let base = url::Url::parse("http://127.0.0.1:1/prefix/").unwrap();
        let url = build_url(
            &base,
            &["topics", "a b/c?d"],
            &[("entryKey", "k&=x".into())],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/prefix/topics/a%20b%2Fc%3Fd?entryKey=k%26%3Dx"
        );
    }
}
