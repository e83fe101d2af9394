//! Where the bot's Discord is: Discord itself, or a stand-in on this machine (tests and local
//! runs). It is a value the caller passes in code, never a setting read from the environment:
//! the bot token goes wherever the endpoint points, so only loopback addresses are accepted.

use thiserror::Error;
use url::{Host, Url};

/// Where REST calls go (the gateway address comes from `GET /gateway` there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// discord.com, with serenity's own rate limiter.
    #[default]
    Discord,
    /// A Discord stand-in at this loopback base URL (e.g. `http://127.0.0.1:40123`).
    Local(Url),
}

/// Why a local endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EndpointError {
    /// Not a URL.
    #[error("not a URL: {0}")]
    NotAUrl(String),
    /// Not `http://` on a loopback address: the bot token would leave this machine.
    #[error(
        "a local Discord endpoint must be http:// on a loopback address (127.0.0.1, ::1, localhost)"
    )]
    NotLoopback,
}

impl Endpoint {
    /// A stand-in at `base` (`http://` on a loopback address only).
    pub fn local(base: &str) -> Result<Self, EndpointError> {
        let url = Url::parse(base).map_err(|_| EndpointError::NotAUrl(base.to_owned()))?;
        let loopback = match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if url.scheme() != "http" || !loopback {
            return Err(EndpointError::NotLoopback);
        }
        Ok(Endpoint::Local(url))
    }

    /// serenity's HTTP client for this endpoint. For a stand-in, serenity puts the base URL in
    /// place of `https://discord.com` (its proxy setting); its rate limiter is off, because it
    /// ignores the proxy and would send to discord.com (a 429 then reaches the caller as an
    /// error, which is what the stand-in's tests exercise).
    pub fn http(&self, token: &str) -> serenity::all::Http {
        match self {
            Endpoint::Discord => serenity::all::Http::new(token),
            Endpoint::Local(base) => serenity::all::HttpBuilder::new(token)
                .proxy(base.as_str().trim_end_matches('/'))
                .ratelimiter_disabled(true)
                .build(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_is_accepted() {
        assert!(Endpoint::local("http://127.0.0.1:4000").is_ok());
        assert!(Endpoint::local("http://[::1]:4000").is_ok());
        assert!(Endpoint::local("http://localhost:4000").is_ok());
        assert_eq!(
            Endpoint::local("http://10.0.0.5:4000"),
            Err(EndpointError::NotLoopback)
        );
        assert_eq!(
            Endpoint::local("https://discord.example"),
            Err(EndpointError::NotLoopback)
        );
        assert_eq!(
            Endpoint::local("http://127.0.0.1.evil.example"),
            Err(EndpointError::NotLoopback)
        );
        assert!(matches!(
            Endpoint::local("nope"),
            Err(EndpointError::NotAUrl(_))
        ));
    }
}
