//! The Discord front end: poise slash commands `/give`, `/deduct`, `/balance`, `/audit` over the
//! service layer, receipts that follow pending txns until they settle, a log channel, and the
//! reconciler loop.
//!
//! Arguments, flows and words are the shared front-end layer's ([`crate::frontend`]); this module
//! only reads Discord's options and draws the answers.
//!
//! - [`settings`]: `DISCORD_*` settings (the token is never printed).
//! - [`render`]: the shared words as embeds, and buttons (pure).
//! - [`confirm`]: the Confirm / Cancel state machine and its driver (pure, gateway-free).
//! - [`error`]: Discord's errors in plain words (the shared mapping plus Discord's own).
//! - [`data`]: what every command can reach, and poise's context and error types.
//! - [`commands`]: the poise commands (options → shared args → shared flow → reply) and
//!   `on_error`.
//! - [`reply`]: the reply message the shared flows drive (prompt, sending, receipt, audit pages).
//! - [`prompts`]: routes every button press to the prompt waiting for it, and answers a press on
//!   an ended prompt by removing its buttons (exactly one answer per press).
//! - [`shutdown`]: the gate commands pass, and the shutdown order (gateway-free).
//! - [`tasks`]: the reconciler loop, payouts resumed on startup and the log-channel poster.
//! - [`endpoint`]: where Discord is (discord.com, or a loopback stand-in in tests).
//! - [`registration`]: slash-command registration, retried until it goes through, and the
//!   other scope cleaned.
//! - [`status`]: gateway and registration health for `/healthz`.
//! - [`identify_guard`]: pauses a crash loop before it spends Discord's daily IDENTIFY budget.

pub mod commands;
pub mod confirm;
pub mod data;
pub mod endpoint;
pub mod error;
pub mod identify_guard;
pub mod link;
pub mod prompts;
pub mod registration;
pub mod render;
pub mod reply;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod tasks;

pub use commands::commands;
pub use endpoint::Endpoint;
pub use settings::DiscordSettings;
pub use status::DiscordStatus;

use crate::frontend::FollowUp;
use crate::service::Service;
use anyhow::Context as _;
use serenity::all as s;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How long shutdown waits for commands still running, with the gateway still open (a
/// confirmation in progress settles or answers "pending"; the reconciler resumes it after a
/// restart). The whole shutdown takes at most this plus [`tasks::LAST_LOG_PASS`] and a few
/// seconds: give the process manager a longer stop grace period (infra/docker-compose.yml).
pub const DRAIN_FOR: Duration = Duration::from_secs(30);

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Runs the Discord bot, the reconciler and the log-channel poster until Ctrl-C / SIGTERM.
pub async fn run(service: Arc<Service>, settings: DiscordSettings) -> anyhow::Result<()> {
    run_until(service, settings, shutdown_signal()).await
}

/// Like [`run`], stopping when `shutdown` resolves: new commands are refused ("restarting") and
/// open prompts closed, running commands get up to [`DRAIN_FOR`] to finish, then the gateway
/// closes and the log channel gets a last pass ([`shutdown::shut_down`]).
pub async fn run_until(
    service: Arc<Service>,
    settings: DiscordSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with(service, settings, RunOptions::default(), shutdown).await
}

/// How [`run_with`] reaches Discord and reports on it.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where Discord is (discord.com unless a test points at a loopback stand-in).
    pub endpoint: Endpoint,
    /// Gateway and registration health, shared with `/healthz`.
    pub status: DiscordStatus,
    /// First pause after a failed command registration (doubles up to `registration_retry_max`).
    pub registration_retry: Duration,
    /// Longest pause between two registration attempts.
    pub registration_retry_max: Duration,
    /// How long pending receipts are followed ([`FollowUp::DISCORD`]: within the interaction
    /// token's 15 minutes; tests shorten it).
    pub follow_up: FollowUp,
    /// How long a `/payout` edits its reply through the interaction's token
    /// ([`reply::TOKEN_USABLE_FOR`]: within the token's 15 minutes; tests shorten it); past it the
    /// summary and the CSV are posted in the channel, mentioning the member.
    pub token_usable_for: Duration,
    /// Member → Roblox account links (`/payout role:`); without them a role payout is refused.
    pub links: Option<Arc<crate::links::Links>>,
    /// Roblox OAuth sign-in (`/link me`); without it `/link me` says it is not configured.
    pub oauth: Option<Arc<crate::links::RobloxOAuth>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            endpoint: Endpoint::Discord,
            status: DiscordStatus::default(),
            registration_retry: Duration::from_secs(2),
            registration_retry_max: Duration::from_secs(300),
            follow_up: FollowUp::DISCORD,
            token_usable_for: reply::TOKEN_USABLE_FOR,
            links: None,
            oauth: None,
        }
    }
}

/// Keeps the status in step with the gateway, and answers button presses (events reach this
/// only after setup returned; poise itself handles only commands and autocomplete).
async fn on_event(
    ctx: &s::Context,
    event: &s::FullEvent,
    data: &data::Data,
) -> Result<(), data::Error> {
    if let s::FullEvent::InteractionCreate {
        interaction: s::Interaction::Component(press),
    } = event
    {
        data.prompts.route(&ctx.http, press.clone()).await;
        return Ok(());
    }
    track_gateway(event, &data.status).await
}

/// Keeps the status in step with the gateway.
async fn track_gateway(event: &s::FullEvent, status: &DiscordStatus) -> Result<(), data::Error> {
    match event {
        s::FullEvent::Ready { .. } | s::FullEvent::Resume { .. } => status.set_connected(true),
        s::FullEvent::ShardStageUpdate { event } => {
            status.set_connected(event.new == s::ConnectionStage::Connected)
        }
        _ => {}
    }
    Ok(())
}

/// Like [`run_until`], against `options.endpoint`, reporting into `options.status`.
pub async fn run_with(
    service: Arc<Service>,
    settings: DiscordSettings,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let RunOptions {
        endpoint,
        status,
        registration_retry,
        registration_retry_max,
        follow_up,
        token_usable_for,
        links,
        oauth,
    } = options;
    let in_flight = shutdown::InFlight::default();
    let log_wake = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);

    let data = data::Data {
        service: service.clone(),
        settings: settings.clone(),
        in_flight: in_flight.clone(),
        log_wake: log_wake.clone(),
        status: status.clone(),
        follow_up,
        token_usable_for,
        links,
        oauth,
        prompts: prompts::Prompts::default(),
    };
    let scope = match settings.guild_id {
        Some(g) => registration::Scope::Guild(s::GuildId::new(g)),
        None => registration::Scope::Global,
    };
    let setup_status = status.clone();
    let setup_stop = stop_rx.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands(),
            on_error: |e| Box::pin(commands::on_error(e)),
            allowed_mentions: Some(s::CreateAllowedMentions::new()),
            event_handler: |framework, event| {
                Box::pin(on_event(
                    framework.serenity_context,
                    event,
                    framework.user_data,
                ))
            },
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                // Registration runs beside the commands, never before them: until poise's setup
                // returns, every interaction waits, so a failing registration (a 5xx, a wrong
                // guild, a missing scope) must not hold it. Commands registered by an earlier
                // start keep working meanwhile; the bulk overwrite creates nothing new.
                let commands =
                    poise::builtins::create_application_commands(&framework.options().commands);
                let guilds = ready.guilds.iter().map(|g| g.id).collect();
                tokio::spawn(registration::keep_registering(
                    ctx.http.clone(),
                    commands,
                    scope,
                    guilds,
                    setup_status,
                    (registration_retry, registration_retry_max),
                    setup_stop,
                ));
                tracing::info!(bot = %ready.user.name, scope = ?scope, "connected to Discord");
                Ok(data)
            })
        })
        .build();

    // Slash commands and buttons arrive without privileged intents.
    let http = endpoint.http(settings.token.expose());
    let mut client = s::ClientBuilder::new_with_http(http, s::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .context("cannot set up the Discord client (check DISCORD_TOKEN)")?;

    let reconciler = tokio::spawn(tasks::reconciler(
        service.clone(),
        settings.reconcile_every,
        service.config().reply_budget,
        log_wake.clone(),
        stop_rx.clone(),
    ));
    let payouts = tokio::spawn(tasks::resume_payouts(service.clone(), stop_rx.clone()));
    let poster = settings.log_channel_id.map(|id| {
        let sink = tasks::DiscordLogChannel {
            http: client.http.clone(),
            channel: s::ChannelId::new(id),
            token: settings.token.clone(),
        };
        tokio::spawn(tasks::log_poster(
            service.clone(),
            Arc::new(sink),
            crate::service::LogPolicy::new(settings.log_max_attempts),
            log_wake.clone(),
            stop_rx.clone(),
        ))
    });

    let shards = client.shard_manager.clone();
    let gate = in_flight.clone();
    let watcher = tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            "shutting down: refusing new commands, closing open prompts, waiting for running commands"
        );
        shutdown::shut_down(&gate, DRAIN_FOR, async {
            tracing::info!("closing the gateway");
            shards.shutdown_all().await;
        })
        .await
    });

    // A crash loop must not spend Discord's daily IDENTIFY budget (identify_guard).
    let now = service.clock().now_ms();
    match service.db().record_gateway_start(now).await {
        Ok(starts) => {
            let pause = identify_guard::pause_before_identify(&starts, now);
            if !pause.is_zero() {
                tracing::warn!(
                    starts_today = starts.len(),
                    pause_secs = pause.as_secs(),
                    "many restarts: waiting before connecting to Discord so the daily IDENTIFY limit is not spent (check why the bot keeps exiting)"
                );
                crate::metrics::identify_paused(pause);
                tokio::time::sleep(pause).await;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not record the gateway start; connecting anyway")
        }
    }
    let result = client.start().await;
    status.set_connected(false);
    let still = if in_flight.is_closing() {
        // Shutting down: the watcher drained before closing the gateway.
        watcher.await.unwrap_or(0)
    } else {
        // The gateway ended on its own (an error): no press can arrive any more, so close the
        // prompts and let running commands finish their replies over HTTP.
        watcher.abort();
        shutdown::shut_down(&in_flight, DRAIN_FOR, async {}).await
    };
    if still > 0 {
        tracing::warn!(
            still,
            "commands still running at shutdown; the reconciler resumes their txns on the next start"
        );
    }
    let _ = stop_tx.send(true);
    let _ = reconciler.await;
    let _ = payouts.await;
    if let Some(p) = poster {
        let _ = p.await;
    }
    result.context("the Discord gateway failed (check DISCORD_TOKEN and the network)")?;
    tracing::info!("stopped");
    Ok(())
}
