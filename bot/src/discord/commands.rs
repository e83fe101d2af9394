//! The poise slash commands: thin glue that parses options, asks the service and renders the
//! answer. No business rule lives here (amount limits, roles, caps: the service / policy).

use super::confirm::{self, BoxFut, Button, Confirmation, Incoming, PressSource};
use super::error::CommandError;
use super::parse;
use super::render;
use super::settings::DiscordSettings;
use super::tasks::InFlight;
use crate::service::{ActorCtx, AuditQuery, MoveRequest, Outcome, Service, ServiceError, Target};
use poise::CreateReply;
use serenity::all as s;
use shared::Op;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What every command can reach.
pub struct Data {
    /// The service layer.
    pub service: Arc<Service>,
    /// Discord settings.
    pub settings: DiscordSettings,
    /// Commands still running (drained on shutdown).
    pub in_flight: InFlight,
    /// Wakes the log-channel poster after a settlement.
    pub log_wake: Arc<Notify>,
}

/// The error type of the commands (downcast to [`CommandError`] in `on_error`).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The poise context.
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Largest Discord interaction-token lifetime minus a margin: receipts are followed up until then.
const FOLLOW_UP_FOR: Duration = Duration::from_secs(14 * 60);
/// How often a pending receipt re-reads its txn's stored state.
const FOLLOW_UP_EVERY: Duration = Duration::from_secs(2);
/// Most records in one `/audit` CSV (well under Discord's 10 MiB per file).
const CSV_MAX_RECORDS: usize = 1000;
/// How long `/audit`'s Older button works.
const AUDIT_PAGING_FOR: Duration = Duration::from_secs(120);

/// Every command of the bot, in registration order.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![give(), deduct(), balance(), audit()]
}

/// The member as the service sees them: id, display name and role ids.
async fn actor_of(ctx: Context<'_>) -> Result<ActorCtx, CommandError> {
    let member = ctx.author_member().await.ok_or(CommandError::NotInGuild)?;
    Ok(ActorCtx {
        id: ctx.author().id.get().to_string(),
        name: member.display_name().to_owned(),
        roles: member.roles.iter().map(|r| r.get().to_string()).collect(),
    })
}

/// Role allowlist check (the configured policy), run by poise before each command.
async fn is_staff(ctx: Context<'_>) -> Result<bool, Error> {
    let actor = actor_of(ctx).await?;
    match ctx.data().service.config().policy.max_for(&actor) {
        Ok(_) => Ok(true),
        Err(refusal) => {
            tracing::warn!(actor = %actor.id, command = %ctx.command().name, %refusal, "economy command refused");
            Ok(false)
        }
    }
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Applied { .. } => "applied",
        Outcome::Rejected { .. } => "rejected",
        Outcome::AlreadyProcessed { .. } => "duplicate",
        Outcome::NotDelivered => "not_delivered",
        Outcome::Pending => "pending",
    }
}

fn embed_reply(embed: s::CreateEmbed) -> CreateReply {
    CreateReply::default()
        .embed(embed)
        .components(vec![])
        .ephemeral(true)
        .allowed_mentions(s::CreateAllowedMentions::new())
}

/// Give currency to a Roblox player
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn give(
    ctx: Context<'_>,
    #[description = "Roblox user id or username"]
    #[min_length = 1]
    #[max_length = 32]
    user: String,
    #[description = "How much to give"]
    #[min = 1]
    #[max = 9007199254740991_i64]
    amount: i64,
    #[description = "Why (recorded in the audit log)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
    #[description = "Txn id of an earlier command to re-check it (never moves money twice)"]
    #[min_length = 26]
    #[max_length = 26]
    txn: Option<String>,
) -> Result<(), Error> {
    run_move(ctx, Op::Give, user, amount, reason, txn).await
}

/// Deduct currency from a Roblox player
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn deduct(
    ctx: Context<'_>,
    #[description = "Roblox user id or username"]
    #[min_length = 1]
    #[max_length = 32]
    user: String,
    #[description = "How much to deduct (refused if the balance is smaller)"]
    #[min = 1]
    #[max = 9007199254740991_i64]
    amount: i64,
    #[description = "Why (recorded in the audit log)"]
    #[min_length = 1]
    #[max_length = 200]
    reason: String,
    #[description = "Txn id of an earlier command to re-check it (never moves money twice)"]
    #[min_length = 26]
    #[max_length = 26]
    txn: Option<String>,
) -> Result<(), Error> {
    run_move(ctx, Op::Deduct, user, amount, reason, txn).await
}

async fn run_move(
    ctx: Context<'_>,
    op: Op,
    user: String,
    amount: i64,
    reason: String,
    txn: Option<String>,
) -> Result<(), Error> {
    // Discord's 3 s limit: acknowledge before any remote call.
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter();
    let result = move_flow(ctx, op, &user, amount, &reason, txn.as_deref()).await;
    match &result {
        Ok(label) => crate::metrics::command(op.as_str(), label),
        Err(e) => crate::metrics::command(op.as_str(), e.metric_label()),
    }
    ctx.data().log_wake.notify_one();
    result.map(|_| ()).map_err(Into::into)
}

async fn move_flow(
    ctx: Context<'_>,
    op: Op,
    user: &str,
    amount: i64,
    reason: &str,
    txn: Option<&str>,
) -> Result<&'static str, CommandError> {
    let data = ctx.data();
    let service = &data.service;
    let args = parse::parse_move(
        user,
        amount,
        reason,
        txn,
        service.config().limits.max_amount,
    )?;
    let actor = actor_of(ctx).await?;
    // Refuse an amount over the member's role maximum before asking to confirm it.
    service
        .config()
        .policy
        .authorize(&actor, args.amount)
        .map_err(ServiceError::from)?;
    let player = service.resolve(&args.target).await?;
    let request = MoveRequest {
        actor,
        op,
        target: Target::Id(player.id),
        amount: args.amount,
        reason: args.reason.clone(),
        replay: args.replay,
    };

    let (handle, receipt) = if service.needs_confirmation(args.amount) {
        let timeout = data.settings.confirm_timeout;
        let prompt = render::confirm_prompt_embed(
            op,
            args.amount,
            &player,
            &args.reason,
            service.config().policy.confirm_above,
            timeout,
        );
        let handle = ctx
            .send(embed_reply(prompt).components(render::confirm_buttons(ctx.id())))
            .await?;
        let mut presses = GatewayPresses {
            ctx: ctx.serenity_context().clone(),
            prefix: ctx.id(),
        };
        let machine = Confirmation::new(ctx.author().id.get(), Instant::now() + timeout);
        crate::metrics::pending_confirmations(1.0);
        let handle_ref = &handle;
        let working = render::working_embed(op, args.amount, &player);
        let decided = confirm::confirm_then(&mut presses, machine, move || async move {
            if let Err(e) = handle_ref.edit(ctx, embed_reply(working)).await {
                tracing::warn!(error = %e, "could not replace the confirmation prompt");
            }
            service.execute(request).await
        })
        .await;
        crate::metrics::pending_confirmations(-1.0);
        match decided {
            Err(why) => {
                handle
                    .edit(
                        ctx,
                        embed_reply(render::cancelled_embed(op, args.amount, why)),
                    )
                    .await?;
                return Ok("cancelled");
            }
            Ok(receipt) => {
                let receipt = receipt?;
                handle
                    .edit(ctx, embed_reply(render::receipt_embed(&receipt)))
                    .await?;
                (handle, receipt)
            }
        }
    } else {
        // The resolved player is on screen before any money moves; the same message becomes the
        // receipt.
        let handle = ctx
            .send(embed_reply(render::working_embed(op, args.amount, &player)))
            .await?;
        let receipt = match service.execute(request).await {
            Ok(receipt) => receipt,
            Err(e) => {
                // Nothing moved: the error reply (on_error) replaces the "sending" message.
                if let Err(d) = handle.delete(ctx).await {
                    tracing::warn!(error = %d, "could not remove the sending message");
                }
                return Err(e.into());
            }
        };
        handle
            .edit(ctx, embed_reply(render::receipt_embed(&receipt)))
            .await?;
        (handle, receipt)
    };

    if receipt.outcome != Outcome::Pending {
        return Ok(outcome_label(&receipt.outcome));
    }
    // Pending: the reconciler keeps driving it; edit this receipt when its stored state settles.
    let until = Instant::now() + FOLLOW_UP_FOR;
    while Instant::now() < until {
        tokio::time::sleep(FOLLOW_UP_EVERY).await;
        match service.stored_outcome(&receipt.txn).await {
            Ok(Some(Outcome::Pending)) | Err(_) => continue,
            Ok(None) => break,
            Ok(Some(outcome)) => {
                let settled = crate::service::Receipt {
                    outcome,
                    ..receipt.clone()
                };
                if let Err(e) = handle
                    .edit(ctx, embed_reply(render::receipt_embed(&settled)))
                    .await
                {
                    tracing::warn!(error = %e, txn = %receipt.txn, "could not update the receipt");
                }
                data.log_wake.notify_one();
                return Ok(outcome_label(&settled.outcome));
            }
        }
    }
    Ok("pending")
}

/// Button presses from the gateway for one invocation's Confirm / Cancel buttons.
struct GatewayPresses {
    ctx: s::Context,
    prefix: u64,
}

impl PressSource for GatewayPresses {
    type Handle = s::ComponentInteraction;

    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<Self::Handle>>> {
        Box::pin(async move {
            let prefix = self.prefix;
            let press = s::ComponentInteractionCollector::new(&self.ctx)
                .timeout(wait)
                .filter(move |i| confirm::button_of(prefix, &i.data.custom_id).is_some())
                .next()
                .await?;
            let button: Button = confirm::button_of(prefix, &press.data.custom_id)?;
            Some(Incoming {
                user: press.user.id.get(),
                button,
                handle: press,
            })
        })
    }

    fn refuse(&mut self, handle: Self::Handle) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let reply = s::CreateInteractionResponseMessage::new()
                .content("Only the member who ran this command can press these buttons.")
                .ephemeral(true);
            if let Err(e) = handle
                .create_response(&self.ctx.http, s::CreateInteractionResponse::Message(reply))
                .await
            {
                tracing::warn!(error = %e, "could not answer a button press");
            }
        })
    }

    fn accept(&mut self, handle: Self::Handle) -> BoxFut<'_, ()> {
        Box::pin(async move {
            if let Err(e) = handle
                .create_response(&self.ctx.http, s::CreateInteractionResponse::Acknowledge)
                .await
            {
                tracing::warn!(error = %e, "could not acknowledge a button press");
            }
        })
    }
}

/// Show a Roblox player's balance
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn balance(
    ctx: Context<'_>,
    #[description = "Roblox user id or username"]
    #[min_length = 1]
    #[max_length = 32]
    user: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter();
    let result: Result<(), CommandError> = async {
        let target = parse::parse_user(&user)?;
        let actor = actor_of(ctx).await?;
        let view = ctx.data().service.balance(&actor, &target).await?;
        ctx.send(embed_reply(render::balance_embed(&view))).await?;
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
    ephemeral,
    default_member_permissions = "MANAGE_GUILD",
    check = "is_staff",
    category = "Economy"
)]
pub async fn audit(
    ctx: Context<'_>,
    #[description = "Only this Roblox user (id or username)"]
    #[min_length = 1]
    #[max_length = 32]
    user: Option<String>,
    #[description = "Only movements by this staff member"] actor: Option<s::User>,
    #[description = "Records per page (1-10, default 10)"]
    #[min = 1]
    #[max = 10]
    limit: Option<i64>,
    #[description = "Also attach up to 1000 matching records as CSV"] csv: Option<bool>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let _running = ctx.data().in_flight.enter();
    let result = audit_flow(
        ctx,
        user.as_deref(),
        actor.as_ref(),
        limit,
        csv.unwrap_or(false),
    )
    .await;
    let label = result.as_ref().map_or_else(|e| e.metric_label(), |_| "ok");
    crate::metrics::command("audit", label);
    result.map_err(Into::into)
}

async fn audit_flow(
    ctx: Context<'_>,
    user: Option<&str>,
    actor_filter: Option<&s::User>,
    limit: Option<i64>,
    csv: bool,
) -> Result<(), CommandError> {
    let service = &ctx.data().service;
    let limit = parse::parse_limit(limit)?;
    let target = user.map(parse::parse_user).transpose()?;
    let me = actor_of(ctx).await?;
    let player = match &target {
        Some(t) => Some(service.resolve(t).await?),
        None => None,
    };
    let mut filter = Vec::new();
    if let Some(p) = &player {
        filter.push(format!("player {}", render::player_line(p)));
    }
    if let Some(a) = actor_filter {
        filter.push(format!("by <@{}>", a.id.get()));
    }
    let filter = if filter.is_empty() {
        "All movements".to_owned()
    } else {
        filter.join(", ")
    };
    let mut query = AuditQuery {
        user_id: player.as_ref().map(|p| p.id),
        actor_id: actor_filter.map(|a| a.id.get().to_string()),
        limit,
        cursor: None,
    };
    let older_id = format!("econ:{}:older", ctx.id());
    let page = service.audit(&me, &query).await?;
    let buttons = |more: bool| {
        if more {
            vec![s::CreateActionRow::Buttons(vec![
                s::CreateButton::new(older_id.clone()).label("Older"),
            ])]
        } else {
            vec![]
        }
    };
    let more = page.next_cursor.is_some();
    let mut shown = render::audit_embed(&filter, &page.records, more);
    let mut first = embed_reply(shown.clone()).components(buttons(more));
    if csv {
        let records = csv_records(service, &me, &query).await?;
        first = first.attachment(s::CreateAttachment::bytes(
            render::audit_csv(&records).into_bytes(),
            "audit.csv",
        ));
    }
    let handle = ctx.send(first).await?;
    query.cursor = page.next_cursor;
    let until = Instant::now() + AUDIT_PAGING_FOR;
    while query.cursor.is_some() {
        let wait = until.saturating_duration_since(Instant::now());
        let wanted = older_id.clone();
        let Some(press) = s::ComponentInteractionCollector::new(ctx.serenity_context())
            .timeout(wait)
            .filter(move |i| i.data.custom_id == wanted)
            .next()
            .await
        else {
            break;
        };
        if press.user.id != ctx.author().id {
            let reply = s::CreateInteractionResponseMessage::new()
                .content("Only the member who ran this command can page it.")
                .ephemeral(true);
            press
                .create_response(ctx.http(), s::CreateInteractionResponse::Message(reply))
                .await?;
            continue;
        }
        press
            .create_response(ctx.http(), s::CreateInteractionResponse::Acknowledge)
            .await?;
        let page = service.audit(&me, &query).await?;
        let more = page.next_cursor.is_some();
        shown = render::audit_embed(&filter, &page.records, more);
        handle
            .edit(ctx, embed_reply(shown.clone()).components(buttons(more)))
            .await?;
        query.cursor = page.next_cursor;
    }
    if query.cursor.is_some() {
        // Paging timed out: drop the button so nobody presses a dead one.
        handle.edit(ctx, embed_reply(shown)).await?;
    }
    Ok(())
}

/// Up to [`CSV_MAX_RECORDS`] records matching `query`, newest first (pages of 100).
async fn csv_records(
    service: &Service,
    me: &ActorCtx,
    query: &AuditQuery,
) -> Result<Vec<shared::AuditRecord>, CommandError> {
    let mut q = AuditQuery {
        limit: 100,
        cursor: None,
        ..query.clone()
    };
    let mut out = Vec::new();
    loop {
        let page = service.audit(me, &q).await?;
        out.extend(page.records);
        match page.next_cursor {
            Some(c) if out.len() < CSV_MAX_RECORDS => q.cursor = Some(c),
            _ => break,
        }
    }
    out.truncate(CSV_MAX_RECORDS);
    Ok(out)
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
