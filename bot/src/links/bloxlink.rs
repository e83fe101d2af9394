//! Bloxlink's v4 guild API: `GET /v4/public/guilds/{guildId}/discord-to-roblox/{discordUserId}`
//! with the server's API key as the whole `Authorization` header (no scheme). docs/platform.md
//! L1–L5 list what the bot relies on.

use super::http::{self, IdPaths};
use super::source::{Answer, LinkSource, ProviderError, SourceKind};
use crate::config::SecretString;
use crate::service::ports::BoxFut;

/// Bloxlink's public API host.
pub const DEFAULT_BASE_URL: &str = "https://api.blox.link";
/// The setting holding the key (named in errors).
pub const KEY_SETTING: &str = "BLOXLINK_API_KEY";

/// Where the Roblox id is in a 200 answer: `robloxID` in what integrations read, `robloxId` in
/// the official SDK's typings (L2), so both.
const ID_PATHS: IdPaths = &[&["robloxID"], &["robloxId"]];

/// The Bloxlink source.
#[derive(Debug, Clone)]
pub struct Bloxlink {
    http: reqwest::Client,
    base: url::Url,
    key: SecretString,
}

impl Bloxlink {
    /// A client of the API at `base` (normally [`DEFAULT_BASE_URL`]) with the server's `key`.
    pub fn new(http: reqwest::Client, base: url::Url, key: SecretString) -> Self {
        Self { http, base, key }
    }

    fn url(&self, guild_id: u64, member_id: u64) -> String {
        format!(
            "{}/v4/public/guilds/{guild_id}/discord-to-roblox/{member_id}",
            self.base.as_str().trim_end_matches('/')
        )
    }
}

impl LinkSource for Bloxlink {
    fn kind(&self) -> SourceKind {
        SourceKind::Bloxlink
    }

    fn lookup(&self, guild_id: u64, member_id: u64) -> BoxFut<'_, Result<Answer, ProviderError>> {
        Box::pin(async move {
            let request = self
                .http
                .get(self.url(guild_id, member_id))
                .header(reqwest::header::AUTHORIZATION, self.key.expose());
            http::lookup(SourceKind::Bloxlink, KEY_SETTING, request, ID_PATHS).await
        })
    }
}
