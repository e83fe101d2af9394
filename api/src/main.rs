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
    /// Verify the hash chain in DATABASE_URL (opened read-only), optionally against signed
    /// checkpoints; exit 0 when intact, 1 when broken, 2 on error.
    Verify {
        /// A file of checkpoints (one JSON per line, as written to API_CHECKPOINT_FILE or
        /// fetched from GET /log/checkpoints/latest) the chain must still contain.
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
        /// Checkpoint public keys, `id:hex[,id:hex]` (printed by `checkpoint-keygen`).
        #[arg(long, env = "API_CHECKPOINT_PUBLIC_KEYS")]
        public_keys: Option<String>,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
    /// Generate a checkpoint signing key: prints API_CHECKPOINT_KEY (secret) and
    /// API_CHECKPOINT_PUBLIC_KEYS (for verifiers).
    CheckpointKeygen {
        /// Key id to embed in checkpoints (e.g. cp-2026a).
        #[arg(long, default_value = "cp-1")]
        key_id: String,
    },
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
        Cmd::CheckpointKeygen { key_id } => {
            let signer = api::checkpoint::CheckpointSigner::generate(&key_id);
            if api::checkpoint::CheckpointSigner::parse(&signer.secret_spec()).is_err() {
                eprintln!("key id must be 1-64 characters of A-Z a-z 0-9 - _ .");
                return ExitCode::from(2);
            }
            println!("API_CHECKPOINT_KEY={}", signer.secret_spec());
            println!("API_CHECKPOINT_PUBLIC_KEYS={}", signer.public_spec());
            ExitCode::SUCCESS
        }
        Cmd::Verify {
            checkpoints,
            public_keys,
        } => match rt.block_on(verify(checkpoints, public_keys)) {
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

/// Verification needs only DATABASE_URL (no API keys); the database is opened read-only.
async fn verify(
    checkpoints: Option<std::path::PathBuf>,
    public_keys: Option<String>,
) -> anyhow::Result<bool> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "sqlite://economy-audit.db".into());
    let database = if url.starts_with("sqlite:") {
        Database::Sqlite(url)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Database::Postgres(url)
    } else {
        anyhow::bail!("DATABASE_URL: must start with sqlite: or postgres://");
    };
    let (cps, keys) = match checkpoints {
        None => (Vec::new(), api::checkpoint::PublicKeys::default()),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let cps = api::checkpoint::read_file(&text)?;
            let keys = api::checkpoint::PublicKeys::parse(public_keys.as_deref().unwrap_or(""))
                .context("--public-keys / API_CHECKPOINT_PUBLIC_KEYS")?;
            if keys.is_empty() {
                anyhow::bail!(
                    "--checkpoints needs --public-keys (or API_CHECKPOINT_PUBLIC_KEYS) to check signatures"
                );
            }
            (cps, keys)
        }
    };
    let db = api::ReadOnlyDb::open(&database).await?;
    let report = api::verify_against(&db, &cps, &keys).await;
    db.close().await;
    let report = report?;
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
    if let Some(c) = &report.checkpoints {
        match &c.first_failure {
            None => eprintln!("checkpoints: all {} hold", c.checked),
            Some(f) => eprintln!(
                "checkpoint FAILED at seq {} ({:?}) of {} checked",
                f.seq, f.problem, c.checked
            ),
        }
    }
    Ok(report.ok)
}
