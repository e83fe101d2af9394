//! `economy-bot`: the CLI twin of the Discord bot, over the same service layer.

use anyhow::Context as _;
use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::CallCounter;
use bot::adapters::open_cloud::{OpenCloudPorts, WalletLocation};
use bot::cli::{self, Cli, CliCommand};
use bot::config::Config;
use bot::discord::DiscordSettings;
use bot::frontend::{AuditInput, Members};
use bot::service::{ActorCtx, Db, Ports, Service, ServiceConfig};
use clap::Parser;
use opencloud::client::{ApiKey, ClientConfig, OpenCloud};
use shared::Op;
use shared::clock::SystemClock;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

async fn build(config: &Config) -> anyhow::Result<Service> {
    let mut oc = ClientConfig::new(ApiKey::new(config.open_cloud_api_key.expose()));
    if let Some(base) = &config.open_cloud_base_url {
        oc = oc.with_base_url(base.clone());
    }
    let client = OpenCloud::new(oc).context("cannot set up the Open Cloud client")?;
    let location = WalletLocation {
        universe_id: config.universe_id,
        datastore: config.wallet_datastore.clone(),
        key_prefix: config.wallet_key_prefix.clone(),
    };
    let open_cloud = Arc::new(OpenCloudPorts::new(
        client,
        location,
        Arc::new(CallCounter::default()),
    ));
    let audit_key = config.audit_api_key.signing_key().clone();
    let audit = Arc::new(ApiAuditLog::new(audit_client::AuditClient::new(
        &config.audit_api_url,
        audit_key,
    )));
    let ports = Ports {
        wallets: open_cloud.clone(),
        messaging: open_cloud.clone(),
        audit,
        users: open_cloud,
        clock: Arc::new(SystemClock),
    };
    let db = Db::open(&config.database_url)
        .await
        .context("cannot open the bot database")?;
    let service_config = ServiceConfig {
        topic: config.command_topic.clone(),
        library: config.library,
        limits: config.limits,
        command_ttl: config.command_ttl,
        grace: config.grace,
        long_poll: config.long_poll,
        round_pause: config.round_pause,
        republish_every: config.republish_every,
        reply_budget: config.reply_budget,
        policy: config.policy.clone(),
        bulk: config.bulk,
    };
    Ok(Service::new(
        ports,
        db,
        config.command_keys.clone(),
        service_config,
    ))
}

fn actor(config: &Config) -> ActorCtx {
    ActorCtx {
        id: config.cli_actor.id.clone(),
        name: config.cli_actor.name.clone(),
        roles: config.cli_actor.roles.clone(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let CliCommand::InviteUrl { application_id } = cli.command {
        println!("{}", bot::discord::settings::invite_url(application_id));
        return Ok(());
    }
    if let CliCommand::Doctor {
        canary_place,
        canary_version,
    } = cli.command
    {
        // The doctor reports configuration problems as its own lines.
        return bot::doctor::command(canary_place, canary_version).await;
    }
    let config = Config::from_env()?;
    if matches!(cli.command, CliCommand::CheckConfig) {
        println!("configuration OK");
        return Ok(());
    }
    if matches!(cli.command, CliCommand::Serve) {
        // Every setting problem is reported before anything connects.
        let discord = DiscordSettings::from_env();
        let bind = bot::daemon::metrics_bind_from_env();
        let (discord, bind) = match (discord, bind) {
            (Ok(d), Ok(b)) => (d, b),
            (d, b) => {
                let mut lines = d.err().map(|e| e.0).unwrap_or_default();
                lines.extend(b.err());
                anyhow::bail!("invalid configuration:\n  {}", lines.join("\n  "));
            }
        };
        let service = Arc::new(build(&config).await?);
        // The Roblox OAuth callback, when an OAuth app is configured (members verify with it).
        let clock: Arc<dyn shared::clock::Clock> = Arc::new(shared::clock::SystemClock);
        let oauth = config
            .links
            .oauth_flow(service.db().clone(), clock.clone())
            .map_err(anyhow::Error::msg)?;
        let links = config
            .links
            .build(service.db().clone(), clock)
            .map_err(anyhow::Error::msg)?;
        let oauth = oauth.map(Arc::new);
        let extra = oauth
            .clone()
            .map(bot::links::callback::router)
            .unwrap_or_default();
        let links = Some(Arc::new(links));
        return bot::daemon::serve_with(service, discord, bind, extra, links, oauth).await;
    }
    let service = build(&config).await?;
    // `member:<id>` targets: the same link layer as the bot, in DISCORD_GUILD_ID.
    let clock: Arc<dyn shared::clock::Clock> = Arc::new(shared::clock::SystemClock);
    let links = config
        .links
        .build(service.db().clone(), clock)
        .map_err(anyhow::Error::msg)?;
    let guild = std::env::var("DISCORD_GUILD_ID")
        .ok()
        .and_then(|g| g.trim().parse::<u64>().ok());
    let members = guild.map(|guild_id| Members {
        guild_id,
        links: Some(&links),
    });
    match cli.command {
        CliCommand::Give(o) => {
            cli::run_move(&service, actor(&config), Op::Give, o, members).await?
        }
        CliCommand::Deduct(o) => {
            cli::run_move(&service, actor(&config), Op::Deduct, o, members).await?
        }
        CliCommand::Reverse { txn, reason, yes } => {
            cli::run_reverse(&service, actor(&config), txn, reason, yes).await?
        }
        CliCommand::Payout {
            amount,
            reason,
            players,
            file,
            report,
            yes,
        } => {
            let o = cli::PayoutOptions {
                amount,
                reason,
                players,
                file,
                report,
                yes,
            };
            cli::run_payout(&service, actor(&config), o).await?
        }
        CliCommand::ResumePayouts => {
            let done = service.resume_batches().await?;
            if done.is_empty() {
                println!("no unfinished payouts");
            }
            for report in done {
                println!(
                    "{}",
                    cli::draw(&bot::frontend::words::payout_summary(
                        &report,
                        &cli::DIALECT
                    ))
                );
            }
        }
        CliCommand::Balance { target } => {
            cli::run_balance(&service, &actor(&config), &target, members).await?
        }
        CliCommand::Audit {
            user,
            actor: actor_id,
            limit,
            cursor,
            since,
            until,
            totals,
        } => {
            let input = AuditInput {
                user,
                member: None,
                actor: actor_id,
                limit,
                cursor,
                since,
                until,
                totals,
                csv: false,
            };
            cli::run_audit(&service, &actor(&config), &input).await?
        }
        CliCommand::Reconcile { budget } => {
            let report = service.reconcile(Duration::from_secs(budget)).await?;
            println!(
                "settled {}, still pending {}, audit records posted {}",
                report.settled, report.still_pending, report.audit_posted
            );
        }
        CliCommand::LogChannel { action } => cli::run_log_channel(&service, action).await?,
        CliCommand::CheckConfig
        | CliCommand::Serve
        | CliCommand::InviteUrl { .. }
        | CliCommand::Doctor { .. } => {}
    }
    service.db().close().await;
    Ok(())
}

fn main() -> ExitCode {
    // A missing .env is fine; the environment may hold everything.
    let _ = dotenvy::dotenv();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // LOG_FORMAT=json: one JSON object per line for log collectors (secrets are never logged).
    if std::env::var("LOG_FORMAT").is_ok_and(|v| v.trim().eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
