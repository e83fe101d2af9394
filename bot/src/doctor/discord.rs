//! The Discord token and application, the guild, the right to register commands there and the
//! log channel, by reads only (Discord developer docs, API v10):
//! `GET /users/@me` (<https://discord.com/developers/docs/resources/user#get-current-user>),
//! `GET /oauth2/applications/@me`
//! (<https://discord.com/developers/docs/topics/oauth2#get-current-bot-application-information>),
//! `GET /guilds/{id}` (<https://discord.com/developers/docs/resources/guild#get-guild>) or
//! `GET /users/@me/guilds` (<https://discord.com/developers/docs/resources/user#get-current-user-guilds>),
//! `GET /applications/{app}/guilds/{guild}/commands` or `GET /applications/{app}/commands`
//! (<https://discord.com/developers/docs/interactions/application-commands#get-guild-application-commands>),
//! `GET /channels/{id}` (<https://discord.com/developers/docs/resources/channel#get-channel>).

use super::report::Check;
use crate::config::SecretString;
use serde::Deserialize;

/// Discord's REST API (v10).
pub const DISCORD_API: &str = "https://discord.com/api/v10";

/// `Discord token`.
pub const TOKEN: &str = "Discord token";
/// `Discord application`.
pub const APPLICATION: &str = "Discord application";
/// `Discord guild`.
pub const GUILD: &str = "Discord guild";
/// `Discord command registration`.
pub const COMMANDS: &str = "Discord command registration";
/// `Discord log channel`.
pub const LOG_CHANNEL: &str = "Discord log channel";

/// The Discord settings the checks use.
pub struct DiscordTarget<'a> {
    /// Discord's API base ([`DISCORD_API`]; a local stub in tests).
    pub base_url: &'a str,
    /// `DISCORD_TOKEN`.
    pub token: &'a SecretString,
    /// `DISCORD_GUILD_ID`.
    pub guild_id: Option<u64>,
    /// `DISCORD_LOG_CHANNEL_ID`.
    pub log_channel_id: Option<u64>,
}

/// The one line printed when no token is configured.
pub fn skipped_without_token() -> Check {
    Check::skipped(
        "Discord",
        "DISCORD_TOKEN is not set (only `economy-bot serve` needs it); token, application, \
         guild, command registration and log channel not checked",
    )
}

#[derive(Deserialize)]
struct Me {
    id: String,
    username: String,
    #[serde(default)]
    bot: bool,
}

#[derive(Deserialize)]
struct Application {
    id: String,
    name: String,
    #[serde(default)]
    bot_public: bool,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    guild_id: Option<String>,
}

/// A call's result: the status and body, or why nothing came back.
async fn get(
    http: &reqwest::Client,
    target: &DiscordTarget<'_>,
    path: &str,
) -> Result<(u16, Vec<u8>), String> {
    let response = http
        .get(format!("{}{path}", target.base_url.trim_end_matches('/')))
        .header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", target.token.expose()),
        )
        // The same `DiscordBot (url, version)` agent the gateway client sends.
        .header(reqwest::header::USER_AGENT, serenity::constants::USER_AGENT)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "Discord did not answer in time".to_owned()
            } else {
                "Discord is not reachable from this machine".to_owned()
            }
        })?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|_| "the answer was cut off".to_owned())?
        .to_vec();
    Ok((status, body))
}

fn invite(app_id: &str) -> String {
    format!(
        "invite the bot with https://discord.com/oauth2/authorize?client_id={app_id}&scope=bot+applications.commands"
    )
}

fn unexpected(name: &'static str, what: &str, status: u16) -> Check {
    match status {
        429 => Check::problem(
            name,
            format!("Discord rate-limited {what} (429)"),
            "run doctor again in a minute",
        ),
        s => Check::problem(
            name,
            format!("Discord answered {s} to {what}"),
            "check Discord's status page and run doctor again",
        ),
    }
}

/// Runs the checks in order; a refused token or an unreachable Discord skips the rest.
pub async fn check(target: &DiscordTarget<'_>, http: &reqwest::Client) -> Vec<Check> {
    let rest = [APPLICATION, GUILD, COMMANDS, LOG_CHANNEL];
    let skip_rest = |first: Check, why: &str| {
        let mut v = vec![first];
        v.extend(rest.iter().map(|n| Check::skipped(n, why.to_owned())));
        v
    };
    let me = match get(http, target, "/users/@me").await {
        Err(why) => {
            return skip_rest(
                Check::problem(
                    TOKEN,
                    why,
                    "check this machine's network path to discord.com",
                ),
                "Discord is not reachable",
            );
        }
        Ok((401, _)) => {
            return skip_rest(
                Check::problem(
                    TOKEN,
                    "Discord refused the token (401)",
                    "reset the token (Developer Portal → your application → Bot → Reset Token) \
                     and set DISCORD_TOKEN to it",
                ),
                "the token was refused",
            );
        }
        Ok((200, body)) => match serde_json::from_slice::<Me>(&body) {
            Ok(me) => me,
            Err(_) => {
                return skip_rest(
                    Check::problem(
                        TOKEN,
                        "GET /users/@me answered an unexpected body",
                        "check that the Discord API is reachable without a proxy rewriting answers",
                    ),
                    "the token could not be checked",
                );
            }
        },
        Ok((status, _)) => {
            return skip_rest(
                unexpected(TOKEN, "GET /users/@me", status),
                "the token could not be checked",
            );
        }
    };
    if !me.bot {
        return skip_rest(
            Check::problem(
                TOKEN,
                format!(
                    "the token belongs to the user account {}, not to a bot",
                    me.username
                ),
                "use the bot's token (Developer Portal → your application → Bot)",
            ),
            "the token is not a bot token",
        );
    }
    let mut checks = vec![Check::ok(TOKEN, format!("bot {} ({})", me.username, me.id))];
    let app = match get(http, target, "/oauth2/applications/@me").await {
        Ok((200, body)) => serde_json::from_slice::<Application>(&body).ok(),
        _ => None,
    };
    let Some(app) = app else {
        checks.push(Check::problem(
            APPLICATION,
            "the bot's application could not be read (GET /oauth2/applications/@me)",
            "check the token belongs to the application you configured, then run doctor again",
        ));
        checks.extend(
            [GUILD, COMMANDS, LOG_CHANNEL]
                .iter()
                .map(|n| Check::skipped(n, "needs the application id")),
        );
        return checks;
    };
    checks.push(Check::ok(
        APPLICATION,
        format!(
            "{} ({}){}",
            app.name,
            app.id,
            if app.bot_public {
                "; public bot: anyone may add it to a server, commands still check STAFF_ROLES"
            } else {
                ""
            }
        ),
    ));
    checks.push(guild(target, http, &app.id).await);
    checks.push(commands(target, http, &app.id).await);
    checks.push(log_channel(target, http).await);
    checks
}

async fn guild(target: &DiscordTarget<'_>, http: &reqwest::Client, app_id: &str) -> Check {
    match target.guild_id {
        Some(id) => match get(http, target, &format!("/guilds/{id}")).await {
            Err(why) => Check::problem(GUILD, why, "run doctor again"),
            Ok((200, body)) => {
                let name = serde_json::from_slice::<Named>(&body)
                    .ok()
                    .and_then(|n| n.name)
                    .unwrap_or_default();
                Check::ok(GUILD, format!("the bot is a member of {name} ({id})"))
            }
            Ok((403 | 404, _)) => Check::problem(
                GUILD,
                format!("the bot is not a member of guild {id} (DISCORD_GUILD_ID)"),
                invite(app_id),
            ),
            Ok((status, _)) => unexpected(GUILD, "GET /guilds/{id}", status),
        },
        None => match get(http, target, "/users/@me/guilds").await {
            Err(why) => Check::problem(GUILD, why, "run doctor again"),
            Ok((200, body)) => {
                let count = serde_json::from_slice::<Vec<serde_json::Value>>(&body)
                    .map(|g| g.len())
                    .unwrap_or(0);
                if count == 0 {
                    Check::problem(GUILD, "the bot is in no guild", invite(app_id))
                } else {
                    Check::ok(
                        GUILD,
                        format!(
                            "no DISCORD_GUILD_ID: commands register globally; the bot is in {count} guild(s)"
                        ),
                    )
                }
            }
            Ok((status, _)) => unexpected(GUILD, "GET /users/@me/guilds", status),
        },
    }
}

async fn commands(target: &DiscordTarget<'_>, http: &reqwest::Client, app_id: &str) -> Check {
    let (path, place) = match target.guild_id {
        Some(g) => (
            format!("/applications/{app_id}/guilds/{g}/commands"),
            format!("guild {g}"),
        ),
        None => (
            format!("/applications/{app_id}/commands"),
            "every guild (global)".to_owned(),
        ),
    };
    match get(http, target, &path).await {
        Err(why) => Check::problem(COMMANDS, why, "run doctor again"),
        Ok((200, body)) => {
            let count = serde_json::from_slice::<Vec<serde_json::Value>>(&body)
                .map(|c| c.len())
                .unwrap_or(0);
            Check::ok(
                COMMANDS,
                format!("may register commands in {place} ({count} registered now)"),
            )
        }
        Ok((403, _)) => Check::problem(
            COMMANDS,
            format!(
                "the application may not manage commands in {place}: it was added without the \
                 applications.commands scope"
            ),
            invite(app_id),
        ),
        Ok((status, _)) => unexpected(COMMANDS, "the command list", status),
    }
}

async fn log_channel(target: &DiscordTarget<'_>, http: &reqwest::Client) -> Check {
    let Some(id) = target.log_channel_id else {
        return Check::skipped(LOG_CHANNEL, "DISCORD_LOG_CHANNEL_ID is not set");
    };
    let fix = "give the bot View Channel, Send Messages and Embed Links in that channel, or \
               correct DISCORD_LOG_CHANNEL_ID";
    match get(http, target, &format!("/channels/{id}")).await {
        Err(why) => Check::problem(LOG_CHANNEL, why, "run doctor again"),
        Ok((200, body)) => {
            let channel = serde_json::from_slice::<Named>(&body).ok();
            let in_guild = channel.as_ref().and_then(|c| c.guild_id.clone());
            let name = channel.and_then(|c| c.name).unwrap_or_default();
            match (target.guild_id, in_guild) {
                (Some(g), Some(c)) if c != g.to_string() => Check::problem(
                    LOG_CHANNEL,
                    format!("channel #{name} ({id}) is in guild {c}, not in DISCORD_GUILD_ID {g}"),
                    "use a channel of the configured guild",
                ),
                _ => Check::ok(
                    LOG_CHANNEL,
                    format!(
                        "the bot sees #{name} ({id}); posting needs Send Messages and Embed Links there"
                    ),
                ),
            }
        }
        Ok((403 | 404, _)) => {
            Check::problem(LOG_CHANNEL, format!("the bot cannot see channel {id}"), fix)
        }
        Ok((status, _)) => unexpected(LOG_CHANNEL, "GET /channels/{id}", status),
    }
}
