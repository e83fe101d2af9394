//! `economy-bot`: the CLI twin of the Discord bot, over the same service layer.

use anyhow::Context as _;
use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::CallCounter;
use bot::adapters::open_cloud::{OpenCloudPorts, WalletLocation};
use bot::cli::{self, Cli, CliCommand, MoveArgs};
use bot::config::Config;
use bot::discord::{DiscordSettings, parse};
use bot::service::{ActorCtx, AuditQuery, Db, MoveRequest, Ports, Service, ServiceConfig, Target};
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

async fn run_move(
    service: &Service,
    config: &Config,
    op: Op,
    args: MoveArgs,
) -> anyhow::Result<()> {
    // The same option rules as the slash commands: bad input is refused before any call.
    let target = parse::parse_user(&args.target)?;
    parse::parse_amount(args.amount, config.limits.max_amount)?;
    let reason = parse::parse_reason(&args.reason)?;
    let user = service.resolve(&target).await?;
    println!(
        "target: {} (@{}, {})",
        user.display_name, user.name, user.id
    );
    if service.needs_confirmation(args.amount) && !args.yes {
        anyhow::bail!(
            "{} is above the confirmation threshold ({}): re-run with --yes",
            args.amount,
            config.policy.confirm_above
        );
    }
    let receipt = service
        .execute(MoveRequest {
            actor: actor(config),
            op,
            target: Target::Id(user.id),
            amount: args.amount,
            reason,
            replay: args.txn,
        })
        .await?;
    println!("{}", cli::render_receipt(&receipt));
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
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
        return bot::daemon::serve(service, discord, bind).await;
    }
    let service = build(&config).await?;
    match cli.command {
        CliCommand::Give(args) => run_move(&service, &config, Op::Give, args).await?,
        CliCommand::Deduct(args) => run_move(&service, &config, Op::Deduct, args).await?,
        CliCommand::Balance { target } => {
            let target = parse::parse_user(&target)?;
            let view = service.balance(&actor(&config), &target).await?;
            println!("{}", cli::render_balance(&view));
        }
        CliCommand::Audit {
            user,
            actor: actor_id,
            limit,
            cursor,
        } => {
            let user_id = match user {
                Some(u) => {
                    let target = parse::parse_user(&u)?;
                    Some(service.resolve(&target).await?.id)
                }
                None => None,
            };
            let page = service
                .audit(
                    &actor(&config),
                    &AuditQuery {
                        user_id,
                        actor_id,
                        limit,
                        cursor,
                    },
                )
                .await?;
            for record in &page.records {
                println!("{}", cli::render_record(record));
            }
            if let Some(next) = page.next_cursor {
                println!("next page: --cursor {next}");
            }
        }
        CliCommand::Reconcile { budget } => {
            let report = service.reconcile(Duration::from_secs(budget)).await?;
            println!(
                "settled {}, still pending {}, audit records posted {}",
                report.settled, report.still_pending, report.audit_posted
            );
        }
        CliCommand::CheckConfig | CliCommand::Serve => {}
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
