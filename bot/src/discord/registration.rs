//! Slash-command registration: the configured scope (one guild, or global) gets the bot's
//! commands by bulk overwrite, retried with backoff until it goes through (a 5xx, a missing
//! `applications.commands` scope or a wrong guild id are reported on every failure and in
//! `/healthz`), then the other scope is emptied so a switch between guild and global
//! registration leaves no duplicate commands behind.

use super::status::DiscordStatus;
use backon::{ExponentialBuilder, Retryable};
use serenity::all as s;
use std::time::Duration;
use tokio::sync::watch;

/// Where the commands go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only this guild (instant).
    Guild(s::GuildId),
    /// Every guild the bot is in.
    Global,
}

/// Discord's answer in words (status, code, message), for logs and `/healthz`.
pub fn describe(e: &s::Error) -> String {
    match e {
        s::Error::Http(s::HttpError::UnsuccessfulRequest(r)) => {
            let hint = match (r.status_code.as_u16(), r.error.code) {
                (403, 50001) => {
                    " (is the bot in that guild, invited with the applications.commands scope? \
                     check DISCORD_GUILD_ID)"
                }
                (401, _) => " (check DISCORD_TOKEN)",
                _ => "",
            };
            format!(
                "Discord answered {} code {}: {}{hint}",
                r.status_code.as_u16(),
                r.error.code,
                r.error.message
            )
        }
        // Other errors (network) never carry the token; the URL of an interaction webhook is
        // not involved here.
        other => other.to_string(),
    }
}

async fn write(
    http: &s::Http,
    scope: Scope,
    commands: &[s::CreateCommand],
) -> Result<(), s::Error> {
    match scope {
        Scope::Guild(g) => g.set_commands(http, commands.to_vec()).await.map(|_| ()),
        Scope::Global => s::Command::set_global_commands(http, commands.to_vec())
            .await
            .map(|_| ()),
    }
}

/// Empties every scope but `scope` that holds commands (global, and each of `guilds`).
async fn clean_others(http: &s::Http, scope: Scope, guilds: &[s::GuildId]) {
    let others = std::iter::once(Scope::Global)
        .chain(guilds.iter().map(|g| Scope::Guild(*g)))
        .filter(|o| *o != scope);
    for other in others {
        let held = match other {
            Scope::Global => s::Command::get_global_commands(http).await,
            Scope::Guild(g) => g.get_commands(http).await,
        };
        match held {
            Ok(list) if list.is_empty() => {}
            Ok(list) => match write(http, other, &[]).await {
                Ok(()) => tracing::info!(
                    scope = ?other,
                    removed = list.len(),
                    "removed the bot's commands from a scope it no longer registers in"
                ),
                Err(e) => {
                    tracing::warn!(scope = ?other, error = %describe(&e), "could not remove stale commands")
                }
            },
            Err(e) => {
                tracing::warn!(scope = ?other, error = %describe(&e), "could not list commands to clean up")
            }
        }
    }
}

/// Registers `commands` in `scope` until it goes through (or `stop` turns true), then cleans
/// the other scopes among `guilds`. `pauses` are the first pause after a failure and the
/// longest (the pause doubles in between).
pub async fn keep_registering(
    http: std::sync::Arc<s::Http>,
    commands: Vec<s::CreateCommand>,
    scope: Scope,
    guilds: Vec<s::GuildId>,
    status: DiscordStatus,
    pauses: (Duration, Duration),
    mut stop: watch::Receiver<bool>,
) {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(pauses.0)
        .with_max_delay(pauses.1)
        .with_jitter()
        .without_max_times();
    let attempt = || write(&http, scope, &commands);
    let registering = attempt
        .retry(backoff)
        .notify(|e: &s::Error, pause: Duration| {
            let why = describe(e);
            tracing::error!(
                scope = ?scope,
                retry_in_secs = pause.as_secs_f32(),
                error = %why,
                "slash command registration failed; retrying"
            );
            status.set_registration_failed(why);
        });
    tokio::select! {
        result = registering => {
            if let Err(e) = result {
                // Unreachable without a retry limit; reported anyway.
                status.set_registration_failed(describe(&e));
                return;
            }
        }
        _ = stop.wait_for(|s| *s) => return,
    }
    status.set_registered();
    tracing::info!(scope = ?scope, "slash commands registered");
    clean_others(&http, scope, &guilds).await;
}
