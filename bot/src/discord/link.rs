//! `/link me` (any member: their private Roblox sign-in link), `/link set` and `/link remove`
//! (staff: a member's staff link). The logic is the front end's (`crate::frontend::link`); this
//! reads the options, draws the answer and posts staff changes to the log channel.

use super::commands::{is_staff, member_ref};
use super::data::{Context, Error};
use super::error::CommandError;
use super::render;
use super::reply::embed_reply;
use crate::frontend::link::{self, LinkChange};
use crate::frontend::words;
use serenity::all as s;

/// Link your Discord account to your Roblox account
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    subcommands("link_me", "link_set", "link_remove"),
    subcommand_required,
    category = "Accounts"
)]
pub async fn link(_ctx: Context<'_>) -> Result<(), Error> {
    // Discord never invokes a command that has subcommands by itself.
    Ok(())
}

/// Get your private Roblox sign-in link (verifies your account)
#[poise::command(slash_command, guild_only, ephemeral, rename = "me")]
pub async fn link_me(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let result: Result<(), CommandError> = async {
        let guild = ctx.guild_id().ok_or(CommandError::NotInGuild)?.get();
        let oauth = ctx.data().oauth.as_deref();
        let sign_in = link::sign_in(oauth, guild, ctx.author().id.get()).await?;
        let card = words::link_sign_in(&sign_in, &render::DiscordDialect);
        ctx.send(embed_reply(render::embed(&card))).await?;
        Ok(())
    }
    .await;
    counted("link_me", result)
}

/// Staff: link a member to a Roblox account (recorded with who set it)
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    rename = "set",
    check = "is_staff"
)]
pub async fn link_set(
    ctx: Context<'_>,
    #[description = "The Discord member"] member: s::User,
    #[description = "Their Roblox user id or username"]
    #[min_length = 1]
    #[max_length = 32]
    roblox: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let result: Result<(), CommandError> = async {
        let guild = ctx.guild_id().ok_or(CommandError::NotInGuild)?.get();
        let actor = super::commands::actor_of(ctx).await?;
        let links = ctx.data().links.as_deref();
        let who = member_ref(ctx, &member);
        let change = link::set_staff_link(&ctx.data().service, &actor, links, guild, who, &roblox)
            .await
            .map_err(CommandError::from)?;
        answer_and_log(ctx, &change, &actor.id).await
    }
    .await;
    counted("link_set", result)
}

/// Staff: remove a member's staff-set link
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    rename = "remove",
    check = "is_staff"
)]
pub async fn link_remove(
    ctx: Context<'_>,
    #[description = "The Discord member"] member: s::User,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let result: Result<(), CommandError> = async {
        let guild = ctx.guild_id().ok_or(CommandError::NotInGuild)?.get();
        let actor = super::commands::actor_of(ctx).await?;
        let links = ctx.data().links.as_deref();
        let who = member_ref(ctx, &member);
        let change = link::remove_staff_link(&ctx.data().service, &actor, links, guild, who)
            .await
            .map_err(CommandError::from)?;
        answer_and_log(ctx, &change, &actor.id).await
    }
    .await;
    counted("link_remove", result)
}

/// Answers staff privately, then posts the change to the log channel (the record of the bot's
/// own actions beside the link table's who / when; a failed post is only logged).
async fn answer_and_log(
    ctx: Context<'_>,
    change: &LinkChange,
    actor_id: &str,
) -> Result<(), CommandError> {
    let card = words::link_change(change, actor_id, &render::DiscordDialect);
    ctx.send(embed_reply(render::embed(&card))).await?;
    if let Some(channel) = ctx.data().settings.log_channel_id {
        let message = s::CreateMessage::new()
            .embed(render::embed(&card))
            .allowed_mentions(s::CreateAllowedMentions::new());
        if let Err(e) = s::ChannelId::new(channel)
            .send_message(ctx.http(), message)
            .await
        {
            tracing::warn!(error = %e, "could not post the link change to the log channel");
        }
    }
    Ok(())
}

fn counted(command: &'static str, result: Result<(), CommandError>) -> Result<(), Error> {
    let label = result.as_ref().map_or_else(|e| e.metric_label(), |_| "ok");
    crate::metrics::command(command, label);
    result.map_err(Into::into)
}
