//! The Discord side of the shared flows: the one ephemeral reply a command edits as it goes
//! (prompt → sending → receipt, or a cancel), Confirm / Cancel presses from the gateway, and the
//! audit page with its Older button; a payout's preview, progress and summary.

use super::confirm::{self, BoxFut, Button, Confirmation, Incoming, PressSource};
use super::data::{Context, Data};
use super::error::CommandError;
use super::prompts::{self, Listening, acknowledge};
use super::render;
use crate::frontend::flow::{self, AuditAnswer};
use crate::frontend::payout::{PayoutPreview, PayoutResult, PayoutUi};
use crate::frontend::words;
use crate::frontend::{Confirm, Decision, MoveResult, Prompt};
use crate::links::MemberLink;
use crate::service::BatchCounts;
use crate::service::{ActorCtx, Receipt, RobloxUser};
use poise::{CreateReply, ReplyHandle};
use serenity::all as s;
use shared::Op;
use std::time::Duration;
use tokio::time::Instant;

/// Most records in one `/audit` CSV (well under Discord's 10 MiB per file).
const CSV_MAX_RECORDS: usize = 1000;
/// How long `/audit`'s Older button works.
const AUDIT_PAGING_FOR: Duration = Duration::from_secs(120);

/// An ephemeral reply holding one embed, mentions off.
pub fn embed_reply(embed: s::CreateEmbed) -> CreateReply {
    CreateReply::default()
        .embed(embed)
        .components(vec![])
        .ephemeral(true)
        .allowed_mentions(s::CreateAllowedMentions::new())
}

/// Shows `embed` as the command's reply: an edit of `handle` once there is one, else the first
/// message (kept in `handle`).
async fn show_in<'a>(
    ctx: Context<'a>,
    handle: &mut Option<ReplyHandle<'a>>,
    embed: s::CreateEmbed,
) -> Result<(), CommandError> {
    match handle {
        Some(h) => h.edit(ctx, embed_reply(embed)).await?,
        None => *handle = Some(ctx.send(embed_reply(embed)).await?),
    }
    Ok(())
}

/// The edit of an `/audit` message (the next page, or the last one without its button) that
/// keeps its files. Discord keeps only the attachments an edit's `attachments` array lists
/// (omitting the array keeps them all); poise's followup edits always send an empty array, which
/// dropped the CSV on the first Older press or when paging ended. This body lists every file
/// of `keep`, the message's current attachments.
pub fn audit_edit(
    embed: s::CreateEmbed,
    components: Vec<s::CreateActionRow>,
    keep: &[s::AttachmentId],
) -> s::EditWebhookMessage {
    let mut edit = s::EditWebhookMessage::new()
        .embeds(vec![embed])
        .components(components)
        .allowed_mentions(s::CreateAllowedMentions::new());
    for id in keep {
        edit = edit.keep_existing_attachment(*id);
    }
    edit
}

/// Sends an [`audit_edit`] for the followup message `message` of this interaction.
async fn edit_audit_message(
    ctx: Context<'_>,
    message: s::MessageId,
    edit: &s::EditWebhookMessage,
) -> Result<(), CommandError> {
    let poise::Context::Application(app) = ctx else {
        // The economy commands are slash commands only.
        return Ok(());
    };
    ctx.http()
        .edit_followup_message(&app.interaction.token, message, edit, vec![])
        .await?;
    Ok(())
}

/// A give / deduct's reply message as the shared flow drives it.
pub struct MoveReply<'a> {
    ctx: Context<'a>,
    handle: Option<ReplyHandle<'a>>,
    /// The member the player was named through, shown on every later message.
    member: Option<MemberLink>,
    /// The Confirm / Cancel buttons' routing, held until the command ends.
    listening: Option<Listening>,
}

impl<'a> MoveReply<'a> {
    /// No message yet (the command is deferred).
    pub fn new(ctx: Context<'a>) -> Self {
        Self {
            ctx,
            handle: None,
            member: None,
            listening: None,
        }
    }

    async fn show(&mut self, embed: s::CreateEmbed) -> Result<(), CommandError> {
        show_in(self.ctx, &mut self.handle, embed).await
    }

    /// Draws how the flow ended, in place of the prompt / "sending" message; a receipt still
    /// pending gets one last edit saying where its outcome will appear.
    pub async fn finish(&mut self, result: &MoveResult) -> Result<(), CommandError> {
        let last = render::final_embed_for(
            result,
            self.ctx.data().settings.log_channel_id,
            self.member.as_ref(),
        );
        match result {
            MoveResult::Cancelled { .. } | MoveResult::Done(_) => self.show(last).await,
            MoveResult::SettledLater(r) | MoveResult::StillPending(r) => {
                // The pending receipt is already on screen: a failed update is only logged.
                if let Err(e) = self.show(last).await {
                    tracing::warn!(error = %e, txn = %r.txn, "could not update the receipt");
                }
                Ok(())
            }
        }
    }

    /// The flow failed: the message on screen (the prompt, "sending") becomes the error, its
    /// buttons gone. `false` when there is no message or the edit failed (the caller then
    /// answers with a new message).
    pub async fn replace_with_error(&mut self, message: &str) -> bool {
        let Some(h) = &self.handle else {
            return false;
        };
        match h
            .edit(self.ctx, embed_reply(render::error_embed(message)))
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not turn the reply into the error");
                false
            }
        }
    }
}

impl Confirm for MoveReply<'_> {
    type Error = CommandError;

    fn confirm<'b>(&'b mut self, p: Prompt<'b>) -> BoxFut<'b, Result<Decision, CommandError>> {
        Box::pin(async move {
            let ctx = self.ctx;
            let timeout = ctx.data().settings.confirm_timeout;
            let prompt = render::confirm_prompt_embed(&p, timeout);
            let reply = embed_reply(prompt).components(render::confirm_buttons(ctx.id()));
            let (handle, decision) = prompt_and_wait(ctx, reply, &mut self.listening).await?;
            self.handle = Some(handle);
            Ok(decision)
        })
    }

    fn shows_balance(&self) -> bool {
        true
    }

    fn closing(&self) -> BoxFut<'static, ()> {
        Box::pin(self.ctx.data().in_flight.closing())
    }

    fn named_through(&mut self, link: &MemberLink) {
        self.member = Some(link.clone());
    }

    fn working<'b>(
        &'b mut self,
        op: Op,
        amount: i64,
        player: &'b RobloxUser,
    ) -> BoxFut<'b, Result<(), CommandError>> {
        Box::pin(async move {
            let working = render::working_embed_for(op, amount, player, self.member.as_ref());
            match &self.handle {
                // The prompt becomes "sending"; the resolved player stays on screen.
                Some(h) => {
                    if let Err(e) = h.edit(self.ctx, embed_reply(working)).await {
                        tracing::warn!(error = %e, "could not replace the confirmation prompt");
                    }
                }
                None => self.handle = Some(self.ctx.send(embed_reply(working)).await?),
            }
            Ok(())
        })
    }

    fn pending<'b>(&'b mut self, receipt: &'b Receipt) -> BoxFut<'b, Result<(), CommandError>> {
        Box::pin(async move {
            let embed = render::receipt_embed_for(receipt, self.member.as_ref());
            self.show(embed).await
        })
    }
}

/// Button presses from the gateway for one invocation's Confirm / Cancel buttons, as
/// [`Prompts`](super::prompts::Prompts) routes them.
struct GatewayPresses<'l> {
    http: std::sync::Arc<s::Http>,
    listening: &'l mut Listening,
    prefix: u64,
}

impl PressSource for GatewayPresses<'_> {
    type Handle = s::ComponentInteraction;

    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<Self::Handle>>> {
        Box::pin(async move {
            let until = Instant::now() + wait;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                let press = self.listening.next(left).await?;
                // Only this invocation's buttons are routed here; anything else is not a
                // Confirm / Cancel press.
                if let Some(button) = confirm::button_of(self.prefix, &press.data.custom_id) {
                    let button: Button = button;
                    return Some(Incoming {
                        user: press.user.id.get(),
                        button,
                        handle: press,
                    });
                }
                acknowledge(&self.http, &press).await;
            }
        })
    }

    fn refuse(&mut self, handle: Self::Handle) -> BoxFut<'_, ()> {
        Box::pin(async move {
            if let Err(e) = prompts::refuse(&self.http, &handle).await {
                tracing::warn!(error = %e, "could not answer a button press");
            }
        })
    }

    fn accept(&mut self, handle: Self::Handle) -> BoxFut<'_, ()> {
        Box::pin(async move { acknowledge(&self.http, &handle).await })
    }
}

/// Shows a Confirm / Cancel prompt for the invocation `ctx` and waits for the invoker's decision
/// (or the timeout, or shutdown). The buttons are routed to the prompt before it is shown; once
/// decided, `listening` keeps acknowledging presses without a change until the command ends.
async fn prompt_and_wait<'a>(
    ctx: Context<'a>,
    reply: CreateReply,
    listening: &mut Option<Listening>,
) -> Result<(ReplyHandle<'a>, Decision), CommandError> {
    let timeout = ctx.data().settings.confirm_timeout;
    let http = ctx.serenity_context().http.clone();
    let live = listening.insert(ctx.data().prompts.listen(ctx.id(), http.clone()));
    let handle = ctx.send(reply).await?;
    let mut presses = GatewayPresses {
        http,
        listening: live,
        prefix: ctx.id(),
    };
    let machine = Confirmation::new(ctx.author().id.get(), Instant::now() + timeout);
    crate::metrics::pending_confirmations(1.0);
    let closing = ctx.data().in_flight.closing();
    let decision = confirm::await_decision_until(&mut presses, machine, closing).await;
    crate::metrics::pending_confirmations(-1.0);
    live.decided();
    Ok((handle, decision))
}

/// Shows an audit answer, optionally with a CSV of every matching record, then pages older
/// records on the invoker's Older presses for two minutes.
pub async fn audit_pages(
    ctx: Context<'_>,
    me: &ActorCtx,
    answer: AuditAnswer,
    actor_filter: Option<&s::User>,
    csv: bool,
) -> Result<(), CommandError> {
    let data: &Data = ctx.data();
    let service = &data.service;
    let AuditAnswer {
        player,
        mut query,
        page,
        names,
    } = answer;
    let actor_id = actor_filter.map(|a| a.id.get().to_string());
    let filter = crate::frontend::words::audit_filter(
        player.as_ref(),
        actor_id.as_deref(),
        &render::DiscordDialect,
    );
    let older_id = format!("econ:{}:older", ctx.id());
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
    let mut shown = render::audit_embed(&filter, &page.records, &names, more);
    let mut first = embed_reply(shown.clone()).components(buttons(more));
    if csv {
        let records = flow::all_records(service, me, &query, CSV_MAX_RECORDS).await?;
        first = first.attachment(s::CreateAttachment::bytes(
            render::audit_csv(&records).into_bytes(),
            "audit.csv",
        ));
    }
    // Older presses are routed here from before the page is shown until paging ends.
    let mut listening = data
        .prompts
        .listen(ctx.id(), ctx.serenity_context().http.clone());
    let handle = ctx.send(first).await?;
    // After the defer this is a followup: poise hands back the message Discord returned, with
    // the ids of its files, without another request.
    let sent = handle.into_message().await?;
    let (message, files) = (
        sent.id,
        sent.attachments.iter().map(|a| a.id).collect::<Vec<_>>(),
    );
    query.cursor = page.next_cursor;
    let until = Instant::now() + AUDIT_PAGING_FOR;
    // Shutdown ends paging at once (its presses come over the gateway, about to close).
    let mut closing = std::pin::pin!(data.in_flight.closing());
    while query.cursor.is_some() {
        let wait = until.saturating_duration_since(Instant::now());
        let next = tokio::select! {
            biased;
            () = &mut closing => None,
            press = listening.next(wait) => press,
        };
        let Some(press) = next else {
            break;
        };
        if press.data.custom_id != older_id {
            acknowledge(ctx.http(), &press).await;
            continue;
        }
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
        let page = service.audit(me, &query).await?;
        let more = page.next_cursor.is_some();
        let names = flow::page_names(service, &page).await;
        shown = render::audit_embed(&filter, &page.records, &names, more);
        let edit = audit_edit(shown.clone(), buttons(more), &files);
        edit_audit_message(ctx, message, &edit).await?;
        query.cursor = page.next_cursor;
    }
    // Presses from here on are acknowledged without a change while the button is removed.
    listening.decided();
    if query.cursor.is_some() {
        // Paging timed out: drop the button so nobody presses a dead one.
        edit_audit_message(ctx, message, &audit_edit(shown, vec![], &files)).await?;
    }
    Ok(())
}

/// Discord refused a request for a missing permission (`50013 Missing Permissions`).
fn missing_permissions(e: &s::Error) -> bool {
    matches!(e, s::Error::Http(s::HttpError::UnsuccessfulRequest(r)) if r.error.code == 50013)
}

/// How often a payout's progress message is redrawn (Discord rate-limits edits).
const PROGRESS_EVERY: Duration = Duration::from_secs(3);
/// The interaction token lives 15 minutes: past this (counted from the command's start, a
/// minute to spare), the payout's messages go to the channel. `RunOptions::token_usable_for`
/// (tests shorten it).
pub const TOKEN_USABLE_FOR: Duration = Duration::from_secs(14 * 60);

/// A `/payout`'s messages: the preview with Confirm / Cancel, then the same message redrawn with
/// the progress, then the summary with the CSV of every player's outcome (posted in the
/// channel, mentioning the member, when the payout outlived the interaction's token).
pub struct PayoutReply<'a> {
    ctx: Context<'a>,
    handle: Option<ReplyHandle<'a>>,
    started: Instant,
    /// How long the interaction's token is used ([`TOKEN_USABLE_FOR`] unless a test shortens it).
    token_usable_for: Duration,
    last_drawn: Option<Instant>,
    /// The Confirm / Cancel buttons' routing, held until the command ends.
    listening: Option<Listening>,
}

impl<'a> PayoutReply<'a> {
    /// No message yet (the command is deferred).
    pub fn new(ctx: Context<'a>) -> Self {
        Self {
            ctx,
            handle: None,
            started: Instant::now(),
            token_usable_for: ctx.data().token_usable_for,
            last_drawn: None,
            listening: None,
        }
    }

    /// Whether the interaction's token may still be used (within its window).
    pub fn token_alive(&self) -> bool {
        self.started.elapsed() < self.token_usable_for
    }

    async fn show(&mut self, embed: s::CreateEmbed) -> Result<(), CommandError> {
        show_in(self.ctx, &mut self.handle, embed).await
    }

    /// Draws how the payout ended: a cancel in place of the prompt; after a run, the summary
    /// and the CSV as a new message.
    pub async fn finish(&mut self, result: &PayoutResult) -> Result<(), CommandError> {
        let dialect = render::DiscordDialect;
        match result {
            PayoutResult::Cancelled { preview, why } => {
                self.show(render::embed(&words::payout_cancelled(preview, *why)))
                    .await
            }
            PayoutResult::Done { preview, report } => {
                let summary = render::embed(&words::payout_done(preview, report, &dialect));
                let file = s::CreateAttachment::bytes(
                    words::payout_csv(report).into_bytes(),
                    format!("payout-{}.csv", report.batch.batch),
                );
                if self.token_alive() {
                    let counts = render::embed(&words::payout_progress(&report.counts(), &dialect));
                    if let Err(e) = self.show(counts).await {
                        tracing::warn!(error = %e, "could not redraw the payout's progress");
                    }
                    let reply = embed_reply(summary.clone()).attachment(file.clone());
                    match self.ctx.send(reply).await {
                        Ok(_) => return Ok(()),
                        Err(e) => {
                            tracing::warn!(error = %e, "payout summary as a reply failed; posting it in the channel")
                        }
                    }
                }
                let me = self.ctx.author().id;
                let channel = self.ctx.channel_id();
                let message = s::CreateMessage::new()
                    .content(format!("<@{me}> your payout has finished."))
                    .embed(summary.clone())
                    .add_file(file)
                    .allowed_mentions(s::CreateAllowedMentions::new().users(vec![me]));
                match channel.send_message(self.ctx.http(), message).await {
                    Ok(_) => Ok(()),
                    // A channel may deny the bot Attach Files (the invite asks for it, a channel
                    // can still take it away): the summary still gets there, saying where every
                    // outcome is.
                    Err(e) if missing_permissions(&e) => {
                        tracing::warn!(error = %e, "the payout's CSV was refused in the channel; posting the summary alone");
                        let bare = s::CreateMessage::new()
                            .content(format!(
                                "<@{me}> your payout has finished. The CSV could not be attached \
                                 here (the bot needs Attach Files in this channel); every \
                                 payment is in `/audit`."
                            ))
                            .embed(summary)
                            .allowed_mentions(s::CreateAllowedMentions::new().users(vec![me]));
                        channel.send_message(self.ctx.http(), bare).await?;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The payout failed: the message on screen becomes the error (see [`MoveReply`]); not once
    /// the token's window has passed (the edit would go to an expired token).
    pub async fn replace_with_error(&mut self, message: &str) -> bool {
        let Some(h) = self.handle.as_ref().filter(|_| self.token_alive()) else {
            return false;
        };
        h.edit(self.ctx, embed_reply(render::error_embed(message)))
            .await
            .is_ok()
    }
}

impl PayoutUi for PayoutReply<'_> {
    type Error = CommandError;

    fn confirm_payout<'b>(
        &'b mut self,
        preview: &'b PayoutPreview,
    ) -> BoxFut<'b, Result<Decision, CommandError>> {
        Box::pin(async move {
            let ctx = self.ctx;
            let card = words::payout_preview(preview, &render::DiscordDialect);
            let reply =
                embed_reply(render::embed(&card)).components(render::confirm_buttons(ctx.id()));
            let (handle, decision) = prompt_and_wait(ctx, reply, &mut self.listening).await?;
            self.handle = Some(handle);
            Ok(decision)
        })
    }

    fn progress<'b>(&'b mut self, counts: &'b BatchCounts) -> BoxFut<'b, ()> {
        Box::pin(async move {
            let due = self
                .last_drawn
                .is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
            if !due || !self.token_alive() {
                return;
            }
            self.last_drawn = Some(Instant::now());
            let card = words::payout_progress(counts, &render::DiscordDialect);
            if let Err(e) = self.show(render::embed(&card)).await {
                tracing::warn!(error = %e, "could not redraw the payout's progress");
            }
        })
    }
}
