//! Discord settings (`DISCORD_*`): the bot token (never printed), where commands are registered
//! and the log channel. Read like the rest of the configuration: one clear line per problem.

use crate::config::{ConfigError, SecretString};
use std::time::Duration;

/// What the Discord front end needs besides the service.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// Bot token (`DISCORD_TOKEN`); `Debug` shows `<redacted>`.
    pub token: SecretString,
    /// Register the commands in this guild only (instant, for one community / staging);
    /// `None` registers them globally (`DISCORD_GUILD_ID`).
    pub guild_id: Option<u64>,
    /// Channel that gets one embed per settled movement (`DISCORD_LOG_CHANNEL_ID`).
    pub log_channel_id: Option<u64>,
    /// How long the Confirm / Cancel buttons wait (`DISCORD_CONFIRM_TIMEOUT_SECONDS`, 10-600).
    pub confirm_timeout: Duration,
    /// Pause between reconciler passes (`RECONCILE_EVERY_SECONDS`, 1-3600).
    pub reconcile_every: Duration,
    /// Failed posts of one movement before the log channel sets it aside as a dead letter
    /// (`DISCORD_LOG_MAX_ATTEMPTS`, 1-100).
    pub log_max_attempts: u32,
}

/// What the bot needs in a guild, as Discord permission bits (topics/permissions): View Channel
/// (`1 << 10`), Send Messages (`1 << 11`) and Embed Links (`1 << 14`) for posting embeds in the
/// log channel, and Attach Files (`1 << 15`) for the CSV of a payout that outlived its
/// interaction token (its summary is then a channel message). Nothing else: replies to commands
/// are interaction responses, which need no channel permission, and the bot reads no messages.
pub const BOT_PERMISSIONS: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15);

/// The OAuth2 scopes the bot is installed with: `bot` (the bot user, for the gateway and the log
/// channel) and `applications.commands` (its slash commands).
pub const OAUTH2_SCOPES: [&str; 2] = ["bot", "applications.commands"];

/// The link a server admin opens to add the bot: the scopes above, [`BOT_PERMISSIONS`], and the
/// guild install only (`integration_type=0`, matching the commands' install context).
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope={}&permissions={BOT_PERMISSIONS}&integration_type=0",
        OAUTH2_SCOPES.join("+")
    )
}

fn whole(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    errors: &mut Vec<String>,
) -> u32 {
    let Some(v) = get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return default;
    };
    match v.parse::<u32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.push(format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ));
            default
        }
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    errors: &mut Vec<String>,
) -> Duration {
    Duration::from_secs(u64::from(whole(get, name, default, range, errors)))
}

fn snowflake(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    errors: &mut Vec<String>,
) -> Option<u64> {
    let raw = get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && raw.len() <= 20 => Some(id),
        _ => {
            errors.push(format!("{name} must be a Discord id (digits only)"));
            None
        }
    }
}

impl DiscordSettings {
    /// Reads the process environment (after `.env` was loaded by the caller).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut errors = Vec::new();
        let token = get("DISCORD_TOKEN")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        match &token {
            None => errors.push("DISCORD_TOKEN is missing: the Discord bot token".to_owned()),
            // A token is three base64url parts joined by dots; anything else is a paste error.
            Some(t)
                if t.split('.').count() != 3
                    || !t
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
            {
                errors.push(
                    "DISCORD_TOKEN does not look like a bot token (three dot-separated parts)"
                        .to_owned(),
                )
            }
            Some(_) => {}
        }
        let guild_id = snowflake(&get, "DISCORD_GUILD_ID", &mut errors);
        // In Discord a guild's @everyone role has the guild's own id: listing it as a staff role
        // would make every member staff.
        if let Some(guild) = guild_id
            && let Some(spec) = get("STAFF_ROLES")
            && let Ok(roles) = crate::config::parse_roles(&spec)
            && roles.contains_key(&guild.to_string())
        {
            errors.push(
                "STAFF_ROLES lists DISCORD_GUILD_ID, which is the guild's @everyone role: every \
                 member would be staff; list only staff roles"
                    .to_owned(),
            );
        }
        let log_channel_id = snowflake(&get, "DISCORD_LOG_CHANNEL_ID", &mut errors);
        let confirm_timeout = seconds(
            &get,
            "DISCORD_CONFIRM_TIMEOUT_SECONDS",
            60,
            10..=600,
            &mut errors,
        );
        let reconcile_every = seconds(&get, "RECONCILE_EVERY_SECONDS", 15, 1..=3600, &mut errors);
        let log_max_attempts = whole(&get, "DISCORD_LOG_MAX_ATTEMPTS", 10, 1..=100, &mut errors);
        match token {
            Some(token) if errors.is_empty() => Ok(Self {
                token: SecretString::new(token),
                guild_id,
                log_channel_id,
                confirm_timeout,
                reconcile_every,
                log_max_attempts,
            }),
            _ => Err(ConfigError(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn the_invite_asks_for_the_two_scopes_and_four_permissions() {
        assert_eq!(BOT_PERMISSIONS, 52_224);
        assert_eq!(
            invite_url(1234),
            "https://discord.com/oauth2/authorize?client_id=1234&scope=bot+applications.commands&permissions=52224&integration_type=0"
        );
    }

    #[test]
    fn the_everyone_role_cannot_be_a_staff_role() {
        let lookup = |roles: &'static str| {
            move |k: &str| match k {
                "DISCORD_TOKEN" => Some(TOKEN.into()),
                "DISCORD_GUILD_ID" => Some("123456789012345678".into()),
                "STAFF_ROLES" => Some(roles.into()),
                _ => None,
            }
        };
        let err = DiscordSettings::from_lookup(lookup("111:10,123456789012345678:5")).unwrap_err();
        assert!(err.to_string().contains("@everyone"), "{err}");
        assert!(DiscordSettings::from_lookup(lookup("111:10")).is_ok());
    }

    #[test]
    fn token_is_never_shown_and_ids_parse() {
        let s = DiscordSettings::from_lookup(|k| match k {
            "DISCORD_TOKEN" => Some(TOKEN.into()),
            "DISCORD_GUILD_ID" => Some("123456789012345678".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.guild_id, Some(123456789012345678));
        assert_eq!(s.log_channel_id, None);
        assert_eq!(s.confirm_timeout, Duration::from_secs(60));
        assert_eq!(s.log_max_attempts, 10);
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("GhIjKl") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn every_problem_is_listed_without_the_token() {
        let err = DiscordSettings::from_lookup(|k| match k {
            "DISCORD_TOKEN" => Some("not a token secret".into()),
            "DISCORD_LOG_CHANNEL_ID" => Some("#logs".into()),
            "DISCORD_CONFIRM_TIMEOUT_SECONDS" => Some("5".into()),
            "DISCORD_LOG_MAX_ATTEMPTS" => Some("0".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(err.0.len(), 4, "{:?}", err.0);
        assert!(
            err.0
                .contains(&"DISCORD_LOG_MAX_ATTEMPTS must be a whole number from 1 to 100".into()),
            "{:?}",
            err.0
        );
        assert!(!err.to_string().contains("secret"));
        let missing = DiscordSettings::from_lookup(|_| None).unwrap_err();
        assert!(missing.0[0].starts_with("DISCORD_TOKEN is missing"));
    }
}
