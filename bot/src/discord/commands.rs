//! The poise slash commands: each reads its options into the shared raw input, checks them with
//! the shared rules, runs the shared flow and draws the answer (`crate::frontend`). No rule,
//! flow or wording lives here; the registration (names, descriptions, ranges) does.

use super::data::{Context, Data, Error};
use super::error::CommandError;
use super::reply::{self, MoveReply, PayoutReply, embed_reply};
use super::{render, settings};
use crate::frontend::flow;
use crate::frontend::payout::{self, PayoutResult, RoleMembers};
use crate::frontend::suggest;
use crate::frontend::{
    AuditArgs, AuditInput, BalanceArgs, MemberRef, Members, MoveArgs, MoveInput, MoveResult,
    PageLimits, PayoutArgs, PayoutInput, ReverseArgs, ReverseInput,
};
use crate::service::ActorCtx;
use serenity::all as s;
use shared::Op;

/// `/audit` pages: ten records with full reasons fit one embed's 6000 characters.
pub const AUDIT_PAGES: PageLimits = PageLimits {
    default: 10,
    max: 10,
};

/// Every command of the bot, in registration order.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![
        give(),
        deduct(),
        reverse(),
        payout(),
        balance(),
        audit(),
        super::link::link(),
        help(),
    ]
}

/// The member as the service sees them: id, display name and role ids.
pub(super) async fn actor_of(ctx: Context<'_>) -> Result<ActorCtx, CommandError> {
    let member = ctx.author_member().await.ok_or(CommandError::NotInGuild)?;
    Ok(ActorCtx {
        id: ctx.author().id.get().to_string(),
        name: member.display_name().to_owned(),
        roles: member.roles.iter().map(|r| r.get().to_string()).collect(),
    })
}

/// A USER option as the front end reads it: the user, and whether Discord resolved them as a
/// member of this server (`data.resolved.members` holds only members).
pub(super) fn member_ref(ctx: Context<'_>, user: &s::User) -> MemberRef {
    let in_server = match ctx {
        poise::Context::Application(app) => {
            app.interaction.data.resolved.members.contains_key(&user.id)
        }
        poise::Context::Prefix(_) => false,
    };
    MemberRef {
        id: user.id.get(),
        in_server,
    }
}

/// The server's members and the link layer that resolves them.
fn members(ctx: Context<'_>) -> Option<Members<'_>> {
    Some(Members {
        guild_id: ctx.guild_id()?.get(),
        links: ctx.data().links.as_deref(),
    })
}

/// Suggestions for a `user` option while it is typed (recent targets and linked accounts).
async fn suggest_user(ctx: Context<'_>, partial: &str) -> s::CreateAutocompleteResponse {
    // `/balance` is open to every member: who staff paid is shown to staff only.
    let staff = match actor_of(ctx).await {
        Ok(actor) => ctx.data().service.config().policy.max_for(&actor).is_ok(),
        Err(_) => false,
    };
    if !staff {
        return s::CreateAutocompleteResponse::new();
    }
    let guild = ctx.guild_id().map_or(0, |g| g.get());
    let choices = suggest::user_suggestions(&ctx.data().service, guild, partial)
        .await
        .into_iter()
        .map(|c| s::AutocompleteChoice::new(c.label, c.value))
        .collect();
    s::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Role allowlist check (the configured policy), run by poise before each command.
pub(super) async fn is_staff(ctx: Context<'_>) -> Result<bool, Error> {
    let actor = actor_of(ctx).await?;
    match ctx.data().service.config().policy.max_for(&actor) {
        Ok(_) => Ok(true),
        Err(refusal) => {
            tracing::warn!(actor = %actor.id, command = %ctx.command().name, %refusal, "economy command refused");
            Ok(false)
        }
    }
}

/// Give currency to a Roblox player
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn give(
    ctx: Context<'_>,
    #[description = "How much to give"]
    #[min = 1]
    #[max = 9007199254740991_i64]
    amount: i64,
    #[description = "Why (recorded in the audit log)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
    #[description = "Roblox user id or username (or name a member)"]
    #[autocomplete = "suggest_user"]
    #[min_length = 1]
    #[max_length = 32]
    user: Option<String>,
    #[description = "A Discord member: their linked Roblox account (or name a user)"]
    member: Option<s::User>,
    #[description = "Txn id of an earlier command to re-check it (never moves money twice)"]
    #[min_length = 26]
    #[max_length = 26]
    txn: Option<String>,
) -> Result<(), Error> {
    let input = MoveInput {
        user,
        member: member.as_ref().map(|m| member_ref(ctx, m)),
        amount,
        reason,
        txn,
    };
    run_move(ctx, Op::Give, input).await
}

/// Deduct currency from a Roblox player
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn deduct(
    ctx: Context<'_>,
    #[description = "How much to deduct (refused if the balance is smaller)"]
    #[min = 1]
    #[max = 9007199254740991_i64]
    amount: i64,
    #[description = "Why (recorded in the audit log)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
    #[description = "Roblox user id or username (or name a member)"]
    #[autocomplete = "suggest_user"]
    #[min_length = 1]
    #[max_length = 32]
    user: Option<String>,
    #[description = "A Discord member: their linked Roblox account (or name a user)"]
    member: Option<s::User>,
    #[description = "Txn id of an earlier command to re-check it (never moves money twice)"]
    #[min_length = 26]
    #[max_length = 26]
    txn: Option<String>,
) -> Result<(), Error> {
    let input = MoveInput {
        user,
        member: member.as_ref().map(|m| member_ref(ctx, m)),
        amount,
        reason,
        txn,
    };
    run_move(ctx, Op::Deduct, input).await
}

/// Undo an applied movement (the opposite movement, once per txn)
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn reverse(
    ctx: Context<'_>,
    #[description = "Txn id of the movement to undo (from its receipt or /audit)"]
    #[min_length = 26]
    #[max_length = 26]
    txn: String,
    #[description = "Why (recorded in the audit log)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
) -> Result<(), Error> {
    // Discord's 3 s limit: acknowledge before any remote call.
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter().map_err(CommandError::from)?;
    let mut reply = MoveReply::new(ctx);
    let input = ReverseInput { txn, reason };
    let result = reverse_flow(ctx, &input, &mut reply).await;
    answered(ctx, "reverse", result, &mut reply).await
}

async fn reverse_flow(
    ctx: Context<'_>,
    input: &ReverseInput,
    reply: &mut MoveReply<'_>,
) -> Result<MoveResult, CommandError> {
    let args = ReverseArgs::parse(input)?;
    let actor = actor_of(ctx).await?;
    let service = &ctx.data().service;
    let result = flow::run_reverse(service, actor, args, reply, ctx.data().follow_up).await?;
    reply.finish(&result).await?;
    Ok(result)
}

async fn run_move(ctx: Context<'_>, op: Op, input: MoveInput) -> Result<(), Error> {
    // Discord's 3 s limit: acknowledge before any remote call.
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter().map_err(CommandError::from)?;
    let mut reply = MoveReply::new(ctx);
    let result = move_flow(ctx, op, &input, &mut reply).await;
    answered(ctx, op.as_str(), result, &mut reply).await
}

/// Counts a give / deduct / reverse and, when it failed, turns the message on screen (the
/// prompt, "sending") into the error.
async fn answered(
    ctx: Context<'_>,
    command: &'static str,
    result: Result<MoveResult, CommandError>,
    reply: &mut MoveReply<'_>,
) -> Result<(), Error> {
    let label = match &result {
        Ok(r) => r.metric_label(),
        Err(e) => e.metric_label(),
    };
    crate::metrics::command(command, label);
    ctx.data().log_wake.notify_one();
    let Err(e) = result else {
        return Ok(());
    };
    // The refusal or error takes the place of the prompt or "sending" message when one is on
    // screen, so nothing is left saying "sending"; otherwise `on_error` answers.
    let r = reference(ctx);
    if reply.replace_with_error(&e.user_message(&r)).await {
        tracing::warn!(reference = %r, command = %ctx.command().name, error = %e, "command failed");
        return Ok(());
    }
    Err(e.into())
}

async fn move_flow(
    ctx: Context<'_>,
    op: Op,
    input: &MoveInput,
    reply: &mut MoveReply<'_>,
) -> Result<MoveResult, CommandError> {
    let service = &ctx.data().service;
    let args = MoveArgs::parse(input, service.config().limits.max_amount)?;
    let actor = actor_of(ctx).await?;
    let follow = ctx.data().follow_up;
    let result = flow::run_move_with(service, actor, op, args, members(ctx), reply, follow).await?;
    reply.finish(&result).await?;
    Ok(result)
}

/// Largest CSV a payout reads (10,000 rows of ids and names fit many times over).
const MAX_PAYOUT_FILE_BYTES: u32 = 4 * 1024 * 1024;
/// Members listed per request (Discord's maximum) and most members a role payout scans.
const MEMBERS_PAGE: u64 = 1000;
const MAX_MEMBERS_SCANNED: usize = 250_000;

/// Pay many players the same amount: a role's linked members, or a list of Roblox players
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn payout(
    ctx: Context<'_>,
    #[description = "Amount each player gets"]
    #[min = 1]
    #[max = 9007199254740991_i64]
    amount: i64,
    #[description = "Why (recorded in the audit log for every player)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
    #[description = "Pay this role's members (their linked Roblox accounts)"] role: Option<s::Role>,
    #[description = "Roblox user ids or usernames, separated by spaces or commas"]
    #[max_length = 6000]
    players: Option<String>,
    #[description = "A CSV whose first column lists Roblox user ids or usernames"] file: Option<
        s::Attachment,
    >,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter().map_err(CommandError::from)?;
    let mut reply = PayoutReply::new(ctx);
    let result = payout_flow(ctx, amount, reason, role, players, file, &mut reply).await;
    let label = match &result {
        Ok(r) => r.metric_label(),
        Err(e) => e.metric_label(),
    };
    crate::metrics::command("payout", label);
    ctx.data().log_wake.notify_one();
    let Err(e) = result else {
        return Ok(());
    };
    let r = reference(ctx);
    if reply.replace_with_error(&e.user_message(&r)).await {
        tracing::warn!(reference = %r, command = "payout", error = %e, "command failed");
        return Ok(());
    }
    if !reply.token_alive() {
        // Past the token's window nothing can answer the member (on_error would call the
        // expired token): the log channel and /audit show what was paid.
        tracing::warn!(reference = %r, command = "payout", error = %e, "command failed after its interaction token expired");
        return Ok(());
    }
    Err(e.into())
}

async fn payout_flow(
    ctx: Context<'_>,
    amount: i64,
    reason: String,
    role: Option<s::Role>,
    players: Option<String>,
    file: Option<s::Attachment>,
    reply: &mut PayoutReply<'_>,
) -> Result<PayoutResult, CommandError> {
    let service = &ctx.data().service;
    let file_text = match &file {
        Some(f) => Some(read_attachment(f).await?),
        None => None,
    };
    let input = PayoutInput {
        amount,
        reason,
        role: role.as_ref().map(|r| r.id.get()),
        players,
        file: file_text,
    };
    let config = service.config();
    let args = PayoutArgs::parse(&input, config.limits.max_amount, config.bulk.max_items)?;
    let actor = actor_of(ctx).await?;
    // Authorised before the member list is read (a long read for a member who may not pay).
    service
        .config()
        .policy
        .authorize(&actor, args.amount)
        .map_err(crate::service::ServiceError::from)?;
    let links = ctx.data().links.clone();
    if role.is_some() && links.is_none() {
        // A bot run without links (`run_with` without `RunOptions::links`; `economy-bot serve`
        // always has them) knows no member's Roblox account: say so rather than "no member has
        // a linked account".
        return Err(CommandError::PayoutInput(
            "paying a role needs member → Roblox account links, and this bot runs without \
             them: pay a list of players or a file instead. Nothing moved."
                .to_owned(),
        ));
    }
    let members = match (&role, &links) {
        (Some(role), Some(_)) => Some(role_members(ctx, role).await?),
        _ => None,
    };
    let role_members = match (members, links.as_deref()) {
        (Some(member_ids), Some(links)) => Some(RoleMembers {
            guild_id: ctx.guild_id().ok_or(CommandError::NotInGuild)?.get(),
            member_ids,
            links,
        }),
        _ => None,
    };
    let result = payout::run_payout(service, actor, args, role_members, reply).await?;
    reply.finish(&result).await?;
    Ok(result)
}

/// A CSV attachment's text, refused when too large or not text.
async fn read_attachment(file: &s::Attachment) -> Result<String, CommandError> {
    if file.size > MAX_PAYOUT_FILE_BYTES {
        return Err(CommandError::PayoutInput(format!(
            "`file` is larger than {} MiB: split the payout",
            MAX_PAYOUT_FILE_BYTES / 1024 / 1024
        )));
    }
    let bytes = download(&file.url, MAX_PAYOUT_FILE_BYTES as usize)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, file = %file.filename, "downloading a payout file failed");
            CommandError::PayoutInput(
                "the bot could not download `file` from Discord (its link may have expired): \
                 run the command again with the file attached. Nothing moved."
                    .to_owned(),
            )
        })?;
    String::from_utf8(bytes)
        .map_err(|_| CommandError::PayoutInput("`file` is not a text (UTF-8) CSV file".to_owned()))
}

/// Fetches an attachment from the URL Discord gave, exactly as given: Discord's CDN URLs are
/// signed (`ex`, `is`, `hm`) and refused once expired or altered. Only a success answer counts:
/// serenity's `Attachment::download` returns the body of any answer, so a refusal's error page
/// would be read as the file. At most `limit` bytes are read.
async fn download(url: &str, limit: usize) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.without_url().to_string())?;
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(format!("the file is larger than {limit} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The ids of `role`'s members, read page by page (needs the Server Members Intent).
async fn role_members(ctx: Context<'_>, role: &s::Role) -> Result<Vec<u64>, CommandError> {
    let guild = ctx.guild_id().ok_or(CommandError::NotInGuild)?;
    // @everyone (the role with the guild's id) is in no member's role list: every member has it.
    let everyone = role.id.get() == guild.get();
    let mut after = None;
    let mut scanned = 0;
    let mut ids = Vec::new();
    loop {
        let page = guild
            .members(ctx.http(), Some(MEMBERS_PAGE), after)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "listing the server's members failed");
                CommandError::PayoutInput(
                    "the bot could not list the role's members: turn on the Server Members \
                     Intent for the bot (docs/operations.md), or pay a list of players instead. \
                     Nothing moved."
                        .to_owned(),
                )
            })?;
        scanned += page.len();
        let full = page.len() as u64 == MEMBERS_PAGE;
        after = page.last().map(|m| m.user.id);
        ids.extend(
            page.iter()
                .filter(|m| (everyone || m.roles.contains(&role.id)) && !m.user.bot)
                .map(|m| m.user.id.get()),
        );
        if !full || after.is_none() || scanned >= MAX_MEMBERS_SCANNED {
            break;
        }
    }
    Ok(ids)
}

/// Show a balance: yours (your linked Roblox account), or a player's (staff)
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    category = "Economy"
)]
pub async fn balance(
    ctx: Context<'_>,
    #[description = "Roblox user id or username (staff; leave out for your own balance)"]
    #[autocomplete = "suggest_user"]
    #[min_length = 1]
    #[max_length = 32]
    user: Option<String>,
    #[description = "A Discord member's linked account (staff; leave out for your own balance)"]
    member: Option<s::User>,
) -> Result<(), Error> {
    // No staff check here: any member may read their own balance; naming someone else needs a
    // staff role, which the service checks (the same refusal as every economy command).
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter().map_err(CommandError::from)?;
    let result: Result<(), CommandError> = async {
        let service = &ctx.data().service;
        let answer = if user.is_none() && member.is_none() {
            let me = MemberRef::in_server(ctx.author().id.get());
            flow::run_own_balance(service, me, members(ctx)).await?
        } else {
            let member = member.as_ref().map(|m| member_ref(ctx, m));
            let args = BalanceArgs::parse_one(user.as_deref(), member)?;
            let actor = actor_of(ctx).await?;
            flow::run_balance_with(service, &actor, &args, members(ctx)).await?
        };
        let embed = render::balance_embed_for(&answer.view, answer.member.as_ref());
        ctx.send(embed_reply(embed)).await?;
        Ok(())
    }
    .await;
    let label = result.as_ref().map_or_else(|e| e.metric_label(), |_| "ok");
    crate::metrics::command("balance", label);
    result.map_err(Into::into)
}

/// Recent movements for a player and/or by a staff member
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
// poise reads each slash option from its own parameter.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    ctx: Context<'_>,
    #[description = "Only this Roblox user (id or username)"]
    #[autocomplete = "suggest_user"]
    #[min_length = 1]
    #[max_length = 32]
    user: Option<String>,
    #[description = "Only this Discord member's linked Roblox account"] member: Option<s::User>,
    #[description = "Only movements by this staff member"] actor: Option<s::User>,
    #[description = "Records per page (1-10, default 10)"]
    #[min = 1]
    #[max = 10]
    limit: Option<i64>,
    #[description = "Also attach up to 1000 matching records as CSV"] csv: Option<bool>,
    #[description = "From this UTC date or time on: 2026-12-01 or 2026-12-01 14:30"]
    #[min_length = 10]
    #[max_length = 20]
    since: Option<String>,
    #[description = "Up to this UTC date (that whole day) or time: 2026-12-07 or 2026-12-07 18:00"]
    #[min_length = 10]
    #[max_length = 20]
    until: Option<String>,
    #[description = "Sums given and deducted per staff member and per player instead of records"]
    totals: Option<bool>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter().map_err(CommandError::from)?;
    let input = AuditInput {
        user,
        member: member.as_ref().map(|m| member_ref(ctx, m)),
        actor: actor.as_ref().map(|a| a.id.get().to_string()),
        limit,
        cursor: None,
        since,
        until,
        totals: totals.unwrap_or(false),
        csv: csv.unwrap_or(false),
    };
    let result = audit_flow(ctx, input, actor.as_ref()).await;
    let label = result.as_ref().map_or_else(|e| e.metric_label(), |_| "ok");
    crate::metrics::command("audit", label);
    result.map_err(Into::into)
}

async fn audit_flow(
    ctx: Context<'_>,
    input: AuditInput,
    actor_filter: Option<&s::User>,
) -> Result<(), CommandError> {
    let service = &ctx.data().service;
    let args = AuditArgs::parse(&input, AUDIT_PAGES, service.clock().now_ms())?;
    let me = actor_of(ctx).await?;
    if args.totals {
        let answer = flow::run_audit_totals(service, &me, &args, members(ctx)).await?;
        let filter = crate::frontend::words::audit_filter(
            answer.player.as_ref(),
            answer.actor.as_deref(),
            &render::DiscordDialect,
        );
        ctx.send(embed_reply(render::totals_embed(&filter, &answer)))
            .await?;
        return Ok(());
    }
    let answer = flow::run_audit(service, &me, &args, members(ctx)).await?;
    reply::audit_pages(ctx, &me, answer, actor_filter, input.csv).await
}

/// What each economy command does and who may use it
#[poise::command(
    slash_command,
    guild_only,
    install_context = "Guild",
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    category = "Economy"
)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    // No staff check: a member the allowlist refuses learns why from the answer itself. Nothing
    // remote is called, so no defer is needed.
    let actor = actor_of(ctx).await.map_err(Error::from)?;
    let data = ctx.data();
    let policy = &data.service.config().policy;
    let mut embed = render::help_embed(
        policy,
        policy.max_for(&actor).ok(),
        data.settings.confirm_timeout,
    );
    if let Some(app) = ctx.http().application_id() {
        embed = embed.field(
            "Add the bot to a server",
            settings::invite_url(app.get()),
            false,
        );
    }
    ctx.send(embed_reply(embed)).await?;
    Ok(())
}

/// Reference shown to members for an error (the invocation id in hex; also in the log line).
fn reference(ctx: Context<'_>) -> String {
    format!("{:x}", ctx.id())
}

/// Plain-words error replies; internals go to the log only.
pub async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    use poise::FrameworkError as F;
    let (ctx, message) = match error {
        F::Command { error, ctx, .. } => {
            let r = reference(ctx);
            let message = match error.downcast_ref::<CommandError>() {
                Some(e) => {
                    tracing::warn!(reference = %r, command = %ctx.command().name, error = %e, "command failed");
                    e.user_message(&r)
                }
                None => {
                    tracing::error!(reference = %r, command = %ctx.command().name, error = %error, "command failed");
                    format!("Something went wrong (ref {r}). Check /balance before trying again.")
                }
            };
            (ctx, message)
        }
        F::CommandCheckFailed { ctx, error, .. } => {
            if let Some(e) = error {
                tracing::warn!(error = %e, "staff check failed");
            }
            (
                ctx,
                "You are not allowed to use economy commands: none of your roles is on the \
                 staff list."
                    .to_owned(),
            )
        }
        F::ArgumentParse { ctx, .. } => (
            ctx,
            "An option could not be read. Check the values and try again.".to_owned(),
        ),
        F::CommandStructureMismatch {
            ctx, description, ..
        } => {
            tracing::error!(%description, "registered command differs from the bot's");
            (
                poise::Context::Application(ctx),
                "The bot's commands were just updated. Reload Discord (Ctrl+R) and try again."
                    .to_owned(),
            )
        }
        F::GuildOnly { ctx, .. } => (
            ctx,
            "Economy commands work only inside the server.".to_owned(),
        ),
        F::MissingUserPermissions { ctx, .. } => (
            ctx,
            "You lack the Discord permission this command needs.".to_owned(),
        ),
        F::CooldownHit {
            ctx,
            remaining_cooldown,
            ..
        } => (
            ctx,
            format!(
                "Slow down: try again in {} s.",
                remaining_cooldown.as_secs().max(1)
            ),
        ),
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error handler failed");
            }
            return;
        }
    };
    if let Err(e) = ctx.send(embed_reply(render::error_embed(&message))).await {
        tracing::error!(error = %e, "could not tell the member about an error");
    }
}
