//! The link settings (`LINK_*`, `BLOXLINK_*`, `ROVER_*`), one clear line per problem, and building
//! the configured sources from them.

use super::bloxlink::{self, Bloxlink};
use super::oauth::{self, OAuthSettings, RobloxOAuth};
use super::resolver::{Freshness, Links};
use super::rover::{self, Rover};
use super::source::{LinkSource, SourceKind};
use super::stored::StoredSource;
use crate::config::SecretString;
use crate::service::db::Db;
use crate::service::ports::Clock;
use std::sync::Arc;
use std::time::Duration;

/// A remote provider's key and address.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The API key (never printed).
    pub key: SecretString,
    /// The API's base URL (the provider's own unless overridden for a stand-in).
    pub base_url: url::Url,
}

/// Every link setting.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The sources, in the order they are asked and credited.
    pub sources: Vec<SourceKind>,
    /// How long cached provider answers are used.
    pub freshness: Freshness,
    /// Per-call timeout of a provider.
    pub timeout: Duration,
    /// Bloxlink, when listed.
    pub bloxlink: Option<ProviderSettings>,
    /// RoVer, when listed.
    pub rover: Option<ProviderSettings>,
    /// The bot's Roblox OAuth 2.0 app, when set (members can then verify with `/link`).
    pub oauth: Option<OAuthSettings>,
}

/// The sources used when `LINK_SOURCES` is unset: the bot's own links only (no third party).
pub const DEFAULT_SOURCES: &str = "oauth,staff";

fn raw(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn secs(
    get: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Duration {
    let n = match raw(get, name) {
        None => default,
        Some(v) => match v.replace('_', "").parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                errors.push(format!(
                    "{name} must be a whole number of seconds from {} to {}",
                    range.start(),
                    range.end()
                ));
                default
            }
        },
    };
    Duration::from_secs(n)
}

/// Parses `LINK_SOURCES`: an ordered, comma-separated list of known, distinct source names.
pub fn parse_sources(spec: &str) -> Result<Vec<SourceKind>, String> {
    let mut out = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = SourceKind::parse(name).ok_or_else(|| {
            format!("unknown source {name:?} (use bloxlink, rover, oauth or staff)")
        })?;
        if out.contains(&kind) {
            return Err(format!("{} is listed twice", kind.as_str()));
        }
        out.push(kind);
    }
    if out.is_empty() {
        return Err("no source listed".into());
    }
    Ok(out)
}

fn provider(
    get: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
    listed: bool,
    name: &str,
    key_setting: &str,
    url_setting: &str,
    default_url: &str,
) -> Option<ProviderSettings> {
    let key = raw(get, key_setting);
    let url = match raw(get, url_setting) {
        None => url::Url::parse(default_url).ok(),
        Some(v) => match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Some(u),
            _ => {
                errors.push(format!(
                    "{url_setting} must be an http(s) URL without a query"
                ));
                None
            }
        },
    };
    match (listed, key) {
        (true, None) => {
            errors.push(format!(
                "{key_setting} is missing: LINK_SOURCES lists {name}, which needs its API key"
            ));
            None
        }
        (false, Some(_)) => {
            errors.push(format!(
                "{key_setting} is set but LINK_SOURCES does not list {name}: add it or remove the key"
            ));
            None
        }
        (true, Some(key)) => url.map(|base_url| ProviderSettings {
            key: SecretString::new(key),
            base_url,
        }),
        (false, None) => None,
    }
}

/// Whether `url` may receive members' codes: https, or plain http on a loopback host only.
fn safe_redirect(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

/// The OAuth app: all of client id, secret and redirect URI, or none of them.
fn oauth_app(
    get: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
    listed: bool,
) -> Option<OAuthSettings> {
    let id = raw(get, "ROBLOX_OAUTH_CLIENT_ID");
    let secret = raw(get, "ROBLOX_OAUTH_CLIENT_SECRET");
    let redirect = raw(get, "ROBLOX_OAUTH_REDIRECT_URI");
    let state_ttl = secs(get, errors, "LINK_OAUTH_STATE_TTL_SECONDS", 600, 60..=3_600);
    let base = raw(get, "ROBLOX_OAUTH_BASE_URL");
    if id.is_none() && secret.is_none() && redirect.is_none() {
        return None;
    }
    let (Some(client_id), Some(secret), Some(redirect)) = (id, secret, redirect) else {
        errors.push(
            "ROBLOX_OAUTH_CLIENT_ID, ROBLOX_OAUTH_CLIENT_SECRET and ROBLOX_OAUTH_REDIRECT_URI go \
             together: set all three or none"
                .into(),
        );
        return None;
    };
    if !listed {
        errors.push(
            "ROBLOX_OAUTH_CLIENT_ID is set but LINK_SOURCES does not list oauth: add it or remove \
             the OAuth settings"
                .into(),
        );
        return None;
    }
    let redirect_uri = match url::Url::parse(&redirect) {
        // Roblox registers redirect URLs of at most 256 characters.
        Ok(u)
            if safe_redirect(&u)
                && u.query().is_none()
                && u.fragment().is_none()
                && u.as_str().len() <= 256 =>
        {
            Some(u)
        }
        _ => {
            errors.push(
                "ROBLOX_OAUTH_REDIRECT_URI must be an https URL (plain http only on a loopback host) \
                 without a query, at most 256 characters"
                    .into(),
            );
            None
        }
    };
    let base_url = match base {
        None => url::Url::parse(oauth::DEFAULT_BASE_URL).ok(),
        Some(v) => match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Some(u),
            _ => {
                errors.push("ROBLOX_OAUTH_BASE_URL must be an http(s) URL without a query".into());
                None
            }
        },
    };
    Some(OAuthSettings {
        client_id,
        client_secret: SecretString::new(secret),
        redirect_uri: redirect_uri?,
        base_url: base_url?,
        state_ttl,
    })
}

impl LinkSettings {
    /// Reads the link settings through `get`, adding one line per problem to `errors`.
    pub fn read(get: &dyn Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Self {
        let sources = match parse_sources(
            &raw(get, "LINK_SOURCES").unwrap_or_else(|| DEFAULT_SOURCES.to_owned()),
        ) {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("LINK_SOURCES: {e}"));
                Vec::new()
            }
        };
        let freshness = Freshness {
            linked: secs(get, errors, "LINK_MAX_AGE_SECONDS", 86_400, 60..=2_592_000),
            not_linked: secs(
                get,
                errors,
                "LINK_NOT_FOUND_MAX_AGE_SECONDS",
                300,
                0..=86_400,
            ),
        };
        let timeout = secs(get, errors, "LINK_TIMEOUT_SECONDS", 10, 1..=60);
        let bloxlink = provider(
            get,
            errors,
            sources.contains(&SourceKind::Bloxlink),
            "bloxlink",
            bloxlink::KEY_SETTING,
            "BLOXLINK_BASE_URL",
            bloxlink::DEFAULT_BASE_URL,
        );
        let rover = provider(
            get,
            errors,
            sources.contains(&SourceKind::Rover),
            "rover",
            rover::KEY_SETTING,
            "ROVER_BASE_URL",
            rover::DEFAULT_BASE_URL,
        );
        let oauth = oauth_app(get, errors, sources.contains(&SourceKind::RobloxOAuth));
        Self {
            sources,
            freshness,
            timeout,
            bloxlink,
            rover,
            oauth,
        }
    }

    /// The OAuth flow when the app is configured (`None` otherwise: `/link` is unavailable).
    pub fn oauth_flow(&self, db: Db, clock: Arc<dyn Clock>) -> Result<Option<RobloxOAuth>, String> {
        let Some(settings) = &self.oauth else {
            return Ok(None);
        };
        let http = super::http::client(self.timeout)?;
        Ok(Some(RobloxOAuth::new(http, settings.clone(), db, clock)))
    }

    /// The resolver over the configured sources, in order.
    pub fn build(&self, db: Db, clock: Arc<dyn Clock>) -> Result<Links, String> {
        let http = super::http::client(self.timeout)?;
        let missing = |name: &str| format!("{name} is listed but not configured");
        let mut sources: Vec<Arc<dyn LinkSource>> = Vec::new();
        for kind in &self.sources {
            let source: Arc<dyn LinkSource> = match kind {
                SourceKind::Bloxlink => {
                    let p = self.bloxlink.as_ref().ok_or_else(|| missing("bloxlink"))?;
                    Arc::new(Bloxlink::new(
                        http.clone(),
                        p.base_url.clone(),
                        p.key.clone(),
                    ))
                }
                SourceKind::Rover => {
                    let p = self.rover.as_ref().ok_or_else(|| missing("rover"))?;
                    Arc::new(Rover::new(http.clone(), p.base_url.clone(), p.key.clone()))
                }
                SourceKind::RobloxOAuth => Arc::new(StoredSource::roblox_oauth(db.clone())),
                SourceKind::Staff => Arc::new(StoredSource::staff(db.clone())),
            };
            sources.push(source);
        }
        Ok(Links::new(sources, db, clock, self.freshness))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> (LinkSettings, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = move |k: &str| map.get(k).cloned();
        let mut errors = Vec::new();
        let s = LinkSettings::read(&get, &mut errors);
        (s, errors)
    }

    #[test]
    fn defaults_are_the_bots_own_links_only() {
        let (s, errors) = read(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(s.sources, vec![SourceKind::RobloxOAuth, SourceKind::Staff]);
        assert_eq!(s.freshness.linked, Duration::from_secs(86_400));
        assert_eq!(s.freshness.not_linked, Duration::from_secs(300));
        assert!(s.bloxlink.is_none() && s.rover.is_none());
    }

    #[test]
    fn the_order_is_kept_and_keys_are_never_shown() {
        let (s, errors) = read(&[
            ("LINK_SOURCES", "Rover, bloxlink,staff"),
            ("BLOXLINK_API_KEY", "blox-secret-1"),
            ("ROVER_API_KEY", "rover-secret-2"),
            ("ROVER_BASE_URL", "http://127.0.0.1:9/"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            s.sources,
            vec![SourceKind::Rover, SourceKind::Bloxlink, SourceKind::Staff]
        );
        assert_eq!(
            s.bloxlink.as_ref().unwrap().base_url.as_str(),
            "https://api.blox.link/"
        );
        assert_eq!(
            s.rover.as_ref().unwrap().base_url.as_str(),
            "http://127.0.0.1:9/"
        );
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("blox-secret-1") && !shown.contains("rover-secret-2"),
            "{shown}"
        );
    }

    #[test]
    fn every_misconfiguration_gets_its_own_line() {
        let (_, errors) = read(&[
            ("LINK_SOURCES", "bloxlink,rover,rover"),
            ("LINK_MAX_AGE_SECONDS", "5"),
            ("LINK_TIMEOUT_SECONDS", "soon"),
        ]);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with("LINK_SOURCES: rover is listed twice"));
        assert!(errors[1].starts_with("LINK_MAX_AGE_SECONDS must be"));
        assert!(errors[2].starts_with("LINK_TIMEOUT_SECONDS must be"));

        let (_, errors) = read(&[
            ("LINK_SOURCES", "bloxlink,rover"),
            ("BLOXLINK_BASE_URL", "ftp://x"),
        ]);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with("BLOXLINK_BASE_URL must be an http(s) URL"));
        assert!(errors[1].starts_with("BLOXLINK_API_KEY is missing: LINK_SOURCES lists bloxlink"));
        assert!(errors[2].starts_with("ROVER_API_KEY is missing: LINK_SOURCES lists rover"));

        let (_, errors) = read(&[
            ("ROBLOX_OAUTH_CLIENT_ID", "77"),
            ("ROBLOX_OAUTH_CLIENT_SECRET", "oauth-secret-3"),
        ]);
        assert_eq!(
            errors,
            [
                "ROBLOX_OAUTH_CLIENT_ID, ROBLOX_OAUTH_CLIENT_SECRET and ROBLOX_OAUTH_REDIRECT_URI go \
              together: set all three or none"
            ]
        );
        let (_, errors) = read(&[
            ("ROBLOX_OAUTH_CLIENT_ID", "77"),
            ("ROBLOX_OAUTH_CLIENT_SECRET", "oauth-secret-3"),
            ("ROBLOX_OAUTH_REDIRECT_URI", "http://bot.example/cb"),
        ]);
        assert_eq!(
            errors,
            [
                "ROBLOX_OAUTH_REDIRECT_URI must be an https URL (plain http only on a loopback host) \
              without a query, at most 256 characters"
            ]
        );
        let (_, errors) = read(&[
            ("LINK_SOURCES", "staff"),
            ("ROBLOX_OAUTH_CLIENT_ID", "77"),
            ("ROBLOX_OAUTH_CLIENT_SECRET", "oauth-secret-3"),
            ("ROBLOX_OAUTH_REDIRECT_URI", "https://bot.example/cb"),
        ]);
        assert_eq!(
            errors,
            [
                "ROBLOX_OAUTH_CLIENT_ID is set but LINK_SOURCES does not list oauth: add it or remove \
              the OAuth settings"
            ]
        );
        assert!(!errors.iter().any(|e| e.contains("oauth-secret-3")));
        let (s, errors) = read(&[
            ("ROBLOX_OAUTH_CLIENT_ID", "77"),
            ("ROBLOX_OAUTH_CLIENT_SECRET", "oauth-secret-3"),
            (
                "ROBLOX_OAUTH_REDIRECT_URI",
                "http://127.0.0.1:9464/oauth/roblox/callback",
            ),
        ]);
        assert!(errors.is_empty(), "{errors:#?}");
        let app = s.oauth.as_ref().unwrap();
        assert_eq!(app.base_url.as_str(), "https://apis.roblox.com/");
        assert_eq!(app.state_ttl, Duration::from_secs(600));
        assert!(!format!("{s:?}").contains("oauth-secret-3"));

        let (_, errors) = read(&[("LINK_SOURCES", "discord"), ("ROVER_API_KEY", "k")]);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("unknown source \"discord\""));
        assert!(errors[1].starts_with("ROVER_API_KEY is set but LINK_SOURCES does not list rover"));
        assert!(!errors.iter().any(|e| e.contains("\"k\"")));
    }
}
