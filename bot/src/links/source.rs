//! The port every link source implements, what a source answers, and how a provider fails.

use crate::service::ports::BoxFut;
use std::fmt;

/// Where a link comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// Bloxlink's v4 guild API (`discord-to-roblox`).
    Bloxlink,
    /// RoVer's guild API (`discord-to-roblox`).
    Rover,
    /// A link the member verified with Roblox OAuth 2.0, stored by the bot.
    RobloxOAuth,
    /// A link a staff member set, stored by the bot.
    Staff,
}

impl SourceKind {
    /// Every source, in the order the settings list them in their help text.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Bloxlink,
        SourceKind::Rover,
        SourceKind::RobloxOAuth,
        SourceKind::Staff,
    ];

    /// The name used in `LINK_SOURCES` and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Bloxlink => "bloxlink",
            SourceKind::Rover => "rover",
            SourceKind::RobloxOAuth => "oauth",
            SourceKind::Staff => "staff",
        }
    }

    /// The source named `name` (as in `LINK_SOURCES`), case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// How a receipt says where the link came from.
    pub fn receipt_phrase(self) -> &'static str {
        match self {
            SourceKind::Bloxlink => "linked via Bloxlink",
            SourceKind::Rover => "linked via RoVer",
            SourceKind::RobloxOAuth => "verified with Roblox",
            SourceKind::Staff => "set by staff",
        }
    }

    /// Whether the source is a remote provider whose answers the bot caches (Bloxlink, RoVer);
    /// the others are the bot's own table, read live.
    pub fn is_remote(self) -> bool {
        matches!(self, SourceKind::Bloxlink | SourceKind::Rover)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Bloxlink => "Bloxlink",
            SourceKind::Rover => "RoVer",
            SourceKind::RobloxOAuth => "Roblox OAuth",
            SourceKind::Staff => "staff links",
        })
    }
}

/// What one source says about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The member is linked to this Roblox account.
    Linked {
        /// The Roblox user id.
        roblox_id: u64,
    },
    /// The source has no link for the member (not verified there, unknown in the server, or the
    /// link was removed).
    NotLinked,
}

impl Answer {
    /// The linked Roblox id, if any.
    pub fn roblox_id(&self) -> Option<u64> {
        match self {
            Answer::Linked { roblox_id } => Some(*roblox_id),
            Answer::NotLinked => None,
        }
    }
}

/// A source could not answer. Every message ends by saying nothing moved, and none carries a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached, timed out or answered 5xx.
    #[error("{provider} is unavailable ({detail}); nothing moved")]
    Down {
        /// Which source.
        provider: SourceKind,
        /// What happened, in plain words.
        detail: String,
    },
    /// The provider answered 429.
    #[error("{provider} is rate-limiting the bot{}; nothing moved", retry_text(*.retry_after_ms))]
    RateLimited {
        /// Which source.
        provider: SourceKind,
        /// How long the provider asked to wait, when it said.
        retry_after_ms: Option<u64>,
    },
    /// The provider refused the bot's API key (401 / 403).
    #[error("{provider} refused the bot's API key (check {setting}); nothing moved")]
    KeyRefused {
        /// Which source.
        provider: SourceKind,
        /// The setting that holds the key.
        setting: &'static str,
    },
    /// The provider answered something the bot cannot read.
    #[error("{provider} gave an answer the bot cannot read ({detail}); nothing moved")]
    BadAnswer {
        /// Which source.
        provider: SourceKind,
        /// What was wrong with it.
        detail: String,
    },
    /// The bot's own link table could not be read.
    #[error("the bot's link table is unavailable; nothing moved")]
    Store {
        /// Which source.
        provider: SourceKind,
    },
}

impl ProviderError {
    /// Which source failed.
    pub fn provider(&self) -> SourceKind {
        match self {
            ProviderError::Down { provider, .. }
            | ProviderError::RateLimited { provider, .. }
            | ProviderError::KeyRefused { provider, .. }
            | ProviderError::BadAnswer { provider, .. }
            | ProviderError::Store { provider } => *provider,
        }
    }
}

fn retry_text(retry_after_ms: Option<u64>) -> String {
    match retry_after_ms {
        Some(ms) => format!(" (try again in {} s)", ms.div_ceil(1000).max(1)),
        None => String::new(),
    }
}

/// One link source: a remote provider or the bot's own table.
pub trait LinkSource: Send + Sync {
    /// Which source this is.
    fn kind(&self) -> SourceKind;
    /// What the source says about `member_id` in guild `guild_id`.
    fn lookup(&self, guild_id: u64, member_id: u64) -> BoxFut<'_, Result<Answer, ProviderError>>;
}
