//! RoVer's guild API: `GET /api/guilds/{guildId}/discord-to-roblox/{discordUserId}` on
//! `registry.rover.link` with `Authorization: Bearer <key>`. docs/platform.md L6–L10 list what the
//! bot relies on.

use super::http::{self, IdPaths};
use super::source::{Answer, LinkSource, ProviderError, SourceKind};
use crate::config::SecretString;
use crate::service::ports::BoxFut;

/// RoVer's registry host.
pub const DEFAULT_BASE_URL: &str = "https://registry.rover.link";
/// The setting holding the key (named in errors).
pub const KEY_SETTING: &str = "ROVER_API_KEY";

/// Where the Roblox id is in a 200 answer: top-level `robloxId` in what integrations read,
/// a nested `roblox.id` in a published client's types (L7), so both.
const ID_PATHS: IdPaths = &[&["robloxId"], &["roblox", "id"]];

/// The RoVer source.
#[derive(Debug, Clone)]
pub struct Rover {
    http: reqwest::Client,
    base: url::Url,
    key: SecretString,
}

impl Rover {
    /// A client of the API at `base` (normally [`DEFAULT_BASE_URL`]) with the bearer `key`.
    pub fn new(http: reqwest::Client, base: url::Url, key: SecretString) -> Self {
        Self { http, base, key }
    }

    fn url(&self, guild_id: u64, member_id: u64) -> String {
        format!(
            "{}/api/guilds/{guild_id}/discord-to-roblox/{member_id}",
            self.base.as_str().trim_end_matches('/')
        )
    }
}

impl LinkSource for Rover {
    fn kind(&self) -> SourceKind {
        SourceKind::Rover
    }

    fn lookup(&self, guild_id: u64, member_id: u64) -> BoxFut<'_, Result<Answer, ProviderError>> {
        Box::pin(async move {
            let request = self
                .http
                .get(self.url(guild_id, member_id))
                .bearer_auth(self.key.expose());
            http::lookup(SourceKind::Rover, KEY_SETTING, request, ID_PATHS).await
        })
    }
}
