//! `economy-api`: serve the audit API, verify the hash chain, or print the OpenAPI document.

use anyhow::Context as _;
use api::config::{Config, Database};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "economy-api", about = "Economy Bridge audit-log API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve HTTP (the default). Settings come from the environment and .env.
    Serve,
    /// Verify the hash chain in DATABASE_URL; exit 0 when intact, 1 when broken, 2 on error.
    Verify,
    /// Print the OpenAPI 3.1 document.
    Openapi,
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Openapi => {
            println!("{}", api::openapi::document());
            ExitCode::SUCCESS
        }
        Cmd::Verify => match rt.block_on(verify()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("verify failed: {e:#}");
                ExitCode::from(2)
            }
        },
        Cmd::Serve => {
            let config = match Config::from_env() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            api::telemetry::init_logging();
            match rt.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "audit API failed");
                    eprintln!("audit API failed: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    api::serve(config, listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Verification needs only DATABASE_URL (no keys), so it reads just that.
async fn verify() -> anyhow::Result<bool> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "sqlite://economy-audit.db".into());
    let keys = shared::KeyRing::parse(
        "verify:read:0000000000000000000000000000000000000000000000000000000000000000",
    )?;
    let database = if url.starts_with("sqlite:") {
        Database::Sqlite(url)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Database::Postgres(url)
    } else {
        anyhow::bail!("DATABASE_URL: must start with sqlite: or postgres://");
    };
    let store = api::open_store(&Config::new(database, keys))
        .await
        .context("cannot open the database")?;
    let report = api::verify_chain(store.as_ref()).await?;
    store.close().await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    match &report.first_broken {
        None => eprintln!(
            "chain intact: {} rows, head seq {} hash {}",
            report.rows_verified, report.head_seq, report.head_hash
        ),
        Some(b) => eprintln!(
            "chain BROKEN at seq {} ({:?}); {} rows before it verified",
            b.seq, b.problem, report.rows_verified
        ),
    }
    Ok(report.ok)
}
