//! The account-link sources (`LINK_SOURCES`): each remote provider answers one harmless look-up
//! with the operator's key, and the bot's own sources say what they need.
//!
//! The look-up asks for the Discord server's own id as a member: no member has that id, so a
//! working key gets "not linked" and nothing about any real member is read.

use super::report::Check;
use crate::links::bloxlink::{self, Bloxlink};
use crate::links::rover::{self, Rover};
use crate::links::{LinkSettings, LinkSource, ProviderError, SourceKind};

/// The line name of each source's check.
fn name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Bloxlink => "account links: Bloxlink",
        SourceKind::Rover => "account links: RoVer",
        SourceKind::RobloxOAuth => "account links: Roblox OAuth",
        SourceKind::Staff => "account links: set by staff",
    }
}

/// One line per configured source, in `LINK_SOURCES` order. `guild_id` is `DISCORD_GUILD_ID`
/// (the providers' keys belong to one server).
pub async fn check(
    settings: &LinkSettings,
    guild_id: Option<u64>,
    http: &reqwest::Client,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for &kind in &settings.sources {
        let line = match kind {
            SourceKind::Bloxlink => match &settings.bloxlink {
                Some(p) => {
                    let source = Bloxlink::new(http.clone(), p.base_url.clone(), p.key.clone());
                    probe(&source, guild_id, bloxlink::KEY_SETTING).await
                }
                None => missing(kind, bloxlink::KEY_SETTING),
            },
            SourceKind::Rover => match &settings.rover {
                Some(p) => {
                    let source = Rover::new(http.clone(), p.base_url.clone(), p.key.clone());
                    probe(&source, guild_id, rover::KEY_SETTING).await
                }
                None => missing(kind, rover::KEY_SETTING),
            },
            SourceKind::RobloxOAuth => match &settings.oauth {
                Some(app) => Check::ok(
                    name(kind),
                    format!(
                        "app {} with callback {} (Roblox checks the secret when a member \
                         signs in: try `/link me` once)",
                        app.client_id,
                        super::shown_url(app.redirect_uri.as_str())
                    ),
                ),
                None => Check::skipped(
                    name(kind),
                    "listed, but no OAuth app is set: members cannot verify with `/link me`",
                ),
            },
            SourceKind::Staff => Check::ok(
                name(kind),
                "links set by staff are read from the bot's database",
            ),
        };
        checks.push(line);
    }
    checks
}

/// A provider listed without its key (the configuration check reports it too).
fn missing(kind: SourceKind, setting: &str) -> Check {
    Check::problem(
        name(kind),
        format!("LINK_SOURCES lists it but {setting} is not set"),
        format!("set {setting}, or remove it from LINK_SOURCES"),
    )
}

/// One look-up of a member nobody is (the server's own id) with the configured key.
async fn probe(source: &dyn LinkSource, guild_id: Option<u64>, setting: &str) -> Check {
    let kind = source.kind();
    let Some(guild) = guild_id else {
        return Check::skipped(
            name(kind),
            "needs DISCORD_GUILD_ID (the provider's key belongs to one Discord server)",
        );
    };
    match source.lookup(guild, guild).await {
        Ok(_) => Check::ok(
            name(kind),
            format!("the key is accepted for server {guild}"),
        ),
        Err(e) => {
            let fix = match &e {
                ProviderError::KeyRefused { .. } => format!(
                    "put this server's key in {setting} (a key only answers for the server it \
                     was made for)"
                ),
                ProviderError::RateLimited { .. } => {
                    "wait, and keep other tools off this key".to_owned()
                }
                ProviderError::Down { .. } | ProviderError::BadAnswer { .. } => {
                    "check the provider's status and its base URL setting".to_owned()
                }
                ProviderError::Store { .. } => "check the bot's database".to_owned(),
            };
            Check::problem(name(kind), e.to_string(), fix)
        }
    }
}
