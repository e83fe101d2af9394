//! Serves the in-memory Open Cloud emulator standalone, e.g. for the sandbox or manual testing.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use opencloud::emulator::bus::MessageFaults;
use opencloud::emulator::{
    ApiKey, BudgetConfig, Emulator, EmulatorConfig, ExperienceLimits, SystemClock, User,
    VersionRetention,
};

/// An in-memory Roblox Open Cloud (data stores v1/v2, messaging, users) on one address.
#[derive(Parser)]
#[command(name = "opencloud-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:8787",
        env = "OPENCLOUD_EMULATOR_LISTEN"
    )]
    listen: SocketAddr,
    /// API keys with every scope on every universe, as `name=secret[,name=secret...]`.
    /// Read from the environment so secrets stay out of process listings.
    #[arg(long, env = "OPENCLOUD_EMULATOR_API_KEYS", hide_env_values = true)]
    api_keys: String,
    /// Known users as `id:name[,id:name...]`.
    #[arg(long, default_value = "", env = "OPENCLOUD_EMULATOR_USERS")]
    users: String,
    /// Make HTTP publishes best effort like Roblox (1-2 s delays, rare loss/duplicates/reordering).
    #[arg(long)]
    lossy_messaging: bool,
    /// Seed for message faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Disable every budget (Open Cloud and experience requests, per-key throughput; no 429s).
    #[arg(long)]
    unlimited: bool,
    /// Keep every version instead of Roblox's retention (one per UTC hour, 30-day expiry).
    #[arg(long)]
    keep_all_versions: bool,
}

fn parse_keys(text: &str) -> anyhow::Result<Vec<ApiKey>> {
    let mut keys = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, secret)) = part.split_once('=') else {
            bail!("each API key must look like name=secret");
        };
        if name.is_empty() || secret.is_empty() {
            bail!("API key names and secrets must not be empty");
        }
        keys.push(ApiKey::full_access(name, secret));
    }
    if keys.is_empty() {
        bail!("at least one API key is required");
    }
    Ok(keys)
}

fn parse_users(text: &str) -> anyhow::Result<Vec<User>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (id, name) = part
                .split_once(':')
                .context("each user must look like id:name")?;
            let id = id.parse().context("user ids must be numbers")?;
            Ok(User::new(id, name))
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let config = EmulatorConfig {
        api_keys: parse_keys(&args.api_keys)?,
        users: parse_users(&args.users)?,
        // Standalone, be Roblox: byte throughput and version retention included.
        budgets: if args.unlimited {
            BudgetConfig::unlimited()
        } else {
            BudgetConfig::default()
        },
        experience: if args.unlimited {
            ExperienceLimits::unlimited()
        } else {
            ExperienceLimits::roblox()
        },
        retention: if args.keep_all_versions {
            VersionRetention::keep_all()
        } else {
            VersionRetention::roblox()
        },
        message_faults: args
            .lossy_messaging
            .then(|| MessageFaults::realistic(args.seed)),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::new(Arc::new(SystemClock), config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "Open Cloud emulator listening");
    tokio::select! {
        result = emulator.serve(listener) => result.context("server failed")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}
