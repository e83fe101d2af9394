//! `sandbox`: run the whole Economy Bridge locally (console prompt), or `sandbox demo` for the
//! acceptance checks with a pass/fail table.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use sandbox::console::{self, Reply};
use sandbox::world::{LogLine, Pace};
use sandbox::{DemoOptions, Options, Sandbox};

/// Economy Bridge sandbox: audit API, Open Cloud emulator, emulated game servers running the Luau
/// bridge, simulated players, and the bot's commands at a console prompt.
#[derive(Debug, Parser)]
#[command(
    name = "sandbox",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start everything and take commands at a prompt (the default).
    Run(RunArgs),
    /// Run the acceptance checks end to end and print a pass/fail table (exit 1 on a failure).
    Demo(DemoArgs),
}

/// Which server output the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServerLog {
    /// Lines of the economy bridge (`[EconomyBridge] …`) and world events (joins, crashes).
    Bridge,
    /// Everything the servers print.
    All,
    /// Nothing (use the `logs` command).
    None,
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Game servers to start.
    #[arg(long, env = "SANDBOX_SERVERS", default_value_t = 7)]
    servers: usize,
    /// Seed of the universe and of the simulated players.
    #[arg(long, env = "SANDBOX_SEED", default_value_t = 1)]
    seed: u64,
    /// Directory for the audit and bot SQLite databases (default: a temporary directory).
    #[arg(long, env = "SANDBOX_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Simulated players (0 turns the simulation off).
    #[arg(long, env = "SANDBOX_PLAYERS", default_value_t = 24)]
    players: usize,
    /// Simulated players online on average.
    #[arg(long, env = "SANDBOX_ONLINE", default_value_t = 10)]
    online: usize,
    /// Joins, leaves and hops per minute across the universe.
    #[arg(long, env = "SANDBOX_CHURN_PER_MINUTE", default_value_t = 6.0)]
    churn: f64,
    /// Server output shown on the console.
    #[arg(long, env = "SANDBOX_SERVER_LOG", value_enum, default_value_t = ServerLog::Bridge)]
    server_log: ServerLog,
    /// The bridge's log level (debug, info, warn).
    #[arg(long, env = "SANDBOX_BRIDGE_LOG_LEVEL", default_value = "info")]
    bridge_log_level: String,
}

#[derive(Debug, Clone, clap::Args)]
struct DemoArgs {
    /// Seed of the universe and of the simulated players.
    #[arg(long, env = "SANDBOX_SEED", default_value_t = 20_261_122)]
    seed: u64,
    /// Directory for the audit and bot SQLite databases (default: a temporary directory).
    #[arg(long, env = "SANDBOX_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Only print the table.
    #[arg(long)]
    quiet: bool,
}

fn shown(line: &LogLine, filter: ServerLog) -> bool {
    match filter {
        ServerLog::None => false,
        ServerLog::All => true,
        ServerLog::Bridge => line.server.is_none() || line.text.contains("[EconomyBridge]"),
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    if !(0.0..=600.0).contains(&args.churn) {
        anyhow::bail!("--churn must be 0-600 events per minute");
    }
    let discord = discord_front_end()?;
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| println!("▸ {line}"));
    let options = Options {
        servers: args.servers,
        seed: args.seed,
        data_dir: args.data_dir.clone(),
        players: args.players,
        online: args.online.min(args.players),
        churn_per_minute: args.churn,
        pace: Pace::RealTime,
        bridge_log_level: args.bridge_log_level.clone(),
        extra_roles: discord
            .as_ref()
            .map(|(_, roles)| roles.clone())
            .unwrap_or_default(),
        ..Options::default()
    };
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let sb = tokio::select! {
        sb = Sandbox::start(options, status) => sb?,
        _ = &mut ctrl_c => {
            println!("▸ interrupted during start-up; stopped");
            return Ok(());
        }
    };
    let sb = Arc::new(sb);
    // With DISCORD_TOKEN the real bot runs on the same service, against the emulated universe.
    let (discord_stop, discord_task) = match discord {
        Some((settings, _)) => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let service = sb.stack.service.clone();
            println!(
                "▸ Discord front end starting (commands registered {})",
                settings
                    .guild_id
                    .map_or_else(|| "globally".to_owned(), |g| format!("in guild {g}"))
            );
            let task = tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(e) = bot::discord::run_until(service, settings, shutdown).await {
                    println!("▸ Discord front end stopped: {e}");
                }
            });
            (Some(stop), Some(task))
        }
        None => (None, None),
    };

    // Server output and world events, printed as they come.
    let printer = {
        let sb = sb.clone();
        let filter = args.server_log;
        tokio::spawn(async move {
            let mut seen = sb.world.log_since(0).len();
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let lines = sb.world.log_since(seen);
                seen += lines.len();
                for line in lines.iter().filter(|l| shown(l, filter)) {
                    println!("{}", console::log_line(line));
                }
            }
        })
    };
    // The reconciler the Discord bot runs: pending txns and unacknowledged audit records (the
    // Discord front end, when running, runs its own and posts to the log channel).
    let discord_running = discord_task.is_some();
    let reconciler = {
        let sb = sb.clone();
        tokio::spawn(async move {
            if discord_running {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                match sb.stack.service.reconcile(Duration::from_secs(5)).await {
                    Ok(r) if r.settled + r.audit_posted > 0 => println!(
                        "▸ reconciler: {} pending txn(s) settled, {} audit record(s) re-posted",
                        r.settled, r.audit_posted
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
                }
            }
        })
    };

    // Stdin is read on a plain thread (a blocking read must not hold up shutdown).
    let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(l) = line else { break };
            if line_tx.send(l).is_err() {
                break;
            }
        }
    });
    println!("▸ ready: type help for the commands, quit or Ctrl-C to stop");
    println!(
        "  try: players · /give user:alice amount:10 reason:\"first try\" · /balance user:alice · /audit limit:5"
    );
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let line = tokio::select! {
            l = lines.recv() => l,
            _ = &mut ctrl_c => break,
        };
        let Some(line) = line else { break };
        let reply = tokio::select! {
            r = sb.run_line(&line) => r,
            _ = &mut ctrl_c => {
                println!("\n▸ interrupted");
                break;
            }
        };
        match reply {
            Some(Reply::Quit) => break,
            Some(Reply::Text(text)) => println!("{text}"),
            None => {}
        }
    }
    println!("▸ shutting down: game servers, Open Cloud emulator, audit API, bot database");
    if let (Some(stop), Some(task)) = (discord_stop, discord_task) {
        println!("▸ closing the Discord gateway (commands in flight get up to 30 s)");
        let _ = stop.send(());
        let _ = task.await;
    }
    printer.abort();
    reconciler.abort();
    let _ = printer.await;
    let _ = reconciler.await;
    let sb = Arc::into_inner(sb)
        .ok_or_else(|| anyhow::anyhow!("a task still holds the sandbox at shutdown"))?;
    sb.shutdown().await?;
    println!("▸ stopped cleanly");
    Ok(())
}

/// The Discord front end's settings when `DISCORD_TOKEN` is set (from the environment or `.env`):
/// `DISCORD_*` as for the bot, and `STAFF_ROLES` (required) for the members allowed to move money.
fn discord_front_end() -> anyhow::Result<
    Option<(
        bot::discord::DiscordSettings,
        std::collections::BTreeMap<String, i64>,
    )>,
> {
    if std::env::var_os("DISCORD_TOKEN").is_none() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let settings = bot::discord::DiscordSettings::from_env()
        .map_err(|e| problems.extend(e.0))
        .ok();
    let roles = match std::env::var("STAFF_ROLES") {
        Ok(spec) => bot::config::parse_roles(&spec)
            .map_err(|e| problems.push(format!("STAFF_ROLES: {e}")))
            .ok(),
        Err(_) => {
            problems.push(
                "STAFF_ROLES is missing: with DISCORD_TOKEN set, the Discord roles allowed to \
                 move money, role_id:max[,…]"
                    .to_owned(),
            );
            None
        }
    };
    match (settings, roles) {
        (Some(s), Some(r)) if problems.is_empty() => Ok(Some((s, r))),
        _ => anyhow::bail!(
            "the Discord front end is misconfigured:\n{}",
            problems.join("\n")
        ),
    }
}

async fn demo(args: DemoArgs) -> anyhow::Result<bool> {
    let report = sandbox::demo::run(DemoOptions {
        seed: args.seed,
        data_dir: args.data_dir,
        verbose: !args.quiet,
        ..DemoOptions::default()
    })
    .await?;
    println!("\n{}", report.table());
    Ok(report.passed())
}

fn main() -> ExitCode {
    // Before the log filter and the flags read the environment, so `.env` settles both.
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sandbox: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Some(Command::Demo(args)) => demo(args).await,
            Some(Command::Run(args)) => run(args).await.map(|()| true),
            None => run(cli.run).await.map(|()| true),
        }
    });
    // Blocking reads (stdin) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sandbox: {e:#}");
            ExitCode::FAILURE
        }
    }
}
