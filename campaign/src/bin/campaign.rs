//! `campaign`: seeded fault campaigns of the whole system (see campaign/README.md).
//!
//! ```text
//! campaign --seeds 10000 --workers 2 --traces traces/   # a campaign
//! campaign --replay traces/seed-1234.json               # one failing seed again
//! campaign --seeds 20 --broken bot-skips-cas            # the negative control
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use campaign::api_process::{SERVE_API, serve_api_main};
use campaign::campaign::{read_trace, run_worker};
use campaign::{Broken, CampaignConfig, RunOptions, RunSpec, SeedLine, run, run_campaign};
use clap::Parser;

/// Seeded fault campaigns of the whole system.
#[derive(Parser, Debug)]
#[command(name = "campaign")]
struct Args {
    /// How many seeds.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Worker processes running seeds in parallel.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Directory where each failing seed is written as a replayable trace.
    #[arg(long)]
    traces: Option<PathBuf>,
    /// Runs the seed of a trace again (same path) and prints what it finds.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Prints the summary as JSON.
    #[arg(long)]
    json: bool,
    /// With --replay: also prints the engine's trace (DataStore calls, messages, faults, the
    /// servers' output) and the bot's logs at the level of `RUST_LOG` (default `bot=debug`).
    #[arg(long)]
    verbose: bool,
    /// A deliberately broken rule (negative control): bot-skips-cas.
    #[arg(long, value_parser = Broken::parse)]
    broken: Option<Broken>,
    /// Internal: this process is worker K/N of a campaign.
    #[arg(long, hide = true)]
    worker: Option<String>,
}

fn progress(line: &SeedLine) {
    if !line.violations.is_empty() {
        eprintln!(
            "seed {} ({:?}) FAILED: {}",
            line.spec.seed,
            line.spec.library,
            line.violations.join(" | ")
        );
    }
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(SERVE_API) {
        return match serve_api_main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = Args::parse();
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot find this program's path: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.replay {
        let trace = match read_trace(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let spec: RunSpec = trace.spec;
        if args.verbose {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("bot=debug"));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .init();
        }
        let report = run(
            spec,
            &RunOptions {
                api_exe: exe,
                keep_trace: true,
            },
        );
        for e in &report.events {
            println!("{e}");
        }
        if args.verbose {
            println!("engine trace:");
            for line in &report.trace {
                println!("{line}");
            }
        }
        println!(
            "seed {} ({:?}{}): {} violation(s); engine digest {} (recorded {})",
            spec.seed,
            spec.library,
            spec.broken
                .map(|b| format!(", broken {}", b.name()))
                .unwrap_or_default(),
            report.violations.len(),
            report.digest,
            trace.digest
        );
        for v in &report.violations {
            println!("  {v}");
        }
        return if report.violations.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let cfg = CampaignConfig {
        from: args.from,
        seeds: args.seeds,
        workers: args.workers,
        traces: args.traces.clone(),
        broken: args.broken,
        exe,
        progress,
    };
    if let Some(w) = &args.worker {
        let parsed = w
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|(k, n)| k < n);
        let Some((k, n)) = parsed else {
            eprintln!("--worker takes K/N with K < N, got {w:?}");
            return ExitCode::FAILURE;
        };
        return match run_worker(&cfg, k, n) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.workers == 0 {
        eprintln!("--workers must be at least 1");
        return ExitCode::FAILURE;
    }
    match run_campaign(&cfg) {
        Ok(summary) => {
            if args.json {
                match serde_json::to_string_pretty(&summary) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("{e}"),
                }
            } else {
                print!("{}", summary.text());
            }
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
