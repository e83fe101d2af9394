//! `roblox-emu`: run seeded scenarios, replay a trace, benchmark, or run a Rojo project.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use roblox_emu::scenario::{RandomRun, run_random};
use roblox_emu::{Library, Place, TimeMode, Universe, UniverseConfig};

#[derive(Parser)]
#[command(
    name = "roblox-emu",
    about = "Roblox engine emulator: run real Luau server scripts in virtual time"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Lib {
    ProfileStore,
    ProfileService,
}

impl From<Lib> for Library {
    fn from(l: Lib) -> Self {
        match l {
            Lib::ProfileStore => Library::ProfileStore,
            Lib::ProfileService => Library::ProfileService,
        }
    }
}

#[derive(clap::Args, Clone, Debug)]
struct RunArgs {
    /// Library under test.
    #[arg(long, value_enum, default_value = "profile-store")]
    library: Lib,
    /// Servers at start.
    #[arg(long, default_value_t = 2)]
    servers: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Inject faults (crashes, zombies, throttling, message and DataStore faults).
    #[arg(long)]
    faults: bool,
    /// Distinct users.
    #[arg(long, default_value_t = 6)]
    users: u64,
    /// Commands published.
    #[arg(long, default_value_t = 30)]
    commands: usize,
    /// Virtual seconds of activity.
    #[arg(long, default_value_t = 150.0)]
    duration: f64,
    /// Frames per virtual second.
    #[arg(long, default_value_t = 20)]
    fps: u32,
    /// Share of schedule steps that are commands (the rest: hops, leaves, faults).
    #[arg(long, default_value_t = 0.6)]
    command_ratio: f64,
}

impl RunArgs {
    fn to_run(&self, keep_trace: bool) -> RandomRun {
        RandomRun {
            library: self.library.into(),
            seed: self.seed,
            servers: self.servers,
            users: self.users,
            commands: self.commands,
            duration_s: self.duration,
            fps: self.fps,
            faults: self.faults,
            keep_trace,
            command_ratio: self.command_ratio,
        }
    }

    fn header(&self, digest: &str) -> String {
        format!(
            "# roblox-emu library={:?} servers={} seed={} faults={} users={} commands={} duration={} fps={} command_ratio={} digest={digest}",
            self.library,
            self.servers,
            self.seed,
            self.faults,
            self.users,
            self.commands,
            self.duration,
            self.fps,
            self.command_ratio
        )
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run one seeded random scenario and check its invariants.
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Write the event trace here (replay it with `replay`).
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Re-run the scenario recorded in a trace file and check it takes the same path.
    Replay {
        /// A trace written by `run --trace`.
        file: PathBuf,
    },
    /// Benchmark: servers, commands and virtual duration on one library; prints wall time,
    /// virtual/wall ratio and peak memory.
    Bench {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Run a Rojo-style project directory on N servers and print their output.
    Place {
        /// The project directory (default.project.json or service folders).
        dir: PathBuf,
        /// Servers.
        #[arg(long, default_value_t = 1)]
        servers: usize,
        /// Virtual seconds to run.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Pace virtual time to the wall clock.
        #[arg(long)]
        realtime: bool,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Allow HTTP requests (Game Settings > Security; off by default, as on Roblox).
        #[arg(long)]
        allow_http: bool,
    },
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_header(line: &str) -> anyhow::Result<(RunArgs, String)> {
    let mut args = RunArgs {
        library: Lib::ProfileStore,
        servers: 2,
        seed: 1,
        faults: false,
        users: 6,
        commands: 30,
        duration: 150.0,
        fps: 20,
        command_ratio: 0.6,
    };
    let mut digest = String::new();
    for part in line.trim_start_matches("# roblox-emu").split_whitespace() {
        let (k, v) = part.split_once('=').context("malformed trace header")?;
        match k {
            "library" => {
                args.library = match v {
                    "ProfileStore" => Lib::ProfileStore,
                    "ProfileService" => Lib::ProfileService,
                    other => bail!("unknown library {other} in trace header"),
                }
            }
            "servers" => args.servers = v.parse()?,
            "seed" => args.seed = v.parse()?,
            "faults" => args.faults = v.parse()?,
            "users" => args.users = v.parse()?,
            "commands" => args.commands = v.parse()?,
            "duration" => args.duration = v.parse()?,
            "fps" => args.fps = v.parse()?,
            "command_ratio" => args.command_ratio = v.parse()?,
            "digest" => digest = v.to_owned(),
            other => bail!("unknown field {other} in trace header"),
        }
    }
    Ok((args, digest))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { args, trace } => {
            let report = run_random(&args.to_run(trace.is_some()), None)?;
            println!(
                "seed {} · {:.0} virtual s in {:.2} s · {} events · {} sessions · digest {}",
                report.seed,
                report.virtual_s,
                report.wall.as_secs_f64(),
                report.events,
                report.sessions_started,
                report.digest
            );
            if let Some(path) = trace {
                let mut text = args.header(&report.digest);
                text.push('\n');
                for l in &report.trace {
                    text.push_str(l);
                    text.push('\n');
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            for v in &report.violations {
                println!(
                    "VIOLATION {} at {} on {}: {}",
                    v.invariant, v.at_ms, v.key, v.detail
                );
            }
            for w in &report.inconsistent_wallets {
                println!("INCONSISTENT {w}");
            }
            if !report.ok() {
                bail!(
                    "seed {} failed ({} script errors)",
                    report.seed,
                    report.script_errors
                );
            }
            println!("ok: 0 violations, 0 script errors, wallets consistent");
        }
        Command::Replay { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut lines = text.lines();
            let header = lines.next().context("empty trace file")?;
            let (args, digest) = parse_header(header)?;
            let report = run_random(&args.to_run(true), None)?;
            let recorded: Vec<&str> = lines.collect();
            if report.digest == digest {
                println!(
                    "replayed seed {}: identical trace ({} events)",
                    args.seed, report.events
                );
            } else {
                let first = recorded
                    .iter()
                    .zip(report.trace.iter())
                    .position(|(a, b)| *a != b.as_str())
                    .unwrap_or(recorded.len().min(report.trace.len()));
                bail!(
                    "replay diverged at event {first}: recorded {:?}, now {:?}",
                    recorded.get(first),
                    report.trace.get(first)
                );
            }
            for l in report
                .trace
                .iter()
                .filter(|l| l.contains(" error ") || l.contains("VIOLATION"))
            {
                println!("{l}");
            }
        }
        Command::Bench { args } => {
            let report = run_random(&args.to_run(false), None)?;
            let wall = report.wall.as_secs_f64();
            println!("library            {:?}", args.library);
            println!("servers            {}", args.servers);
            println!("commands           {}", args.commands);
            println!("virtual time       {:.0} s", report.virtual_s);
            println!("wall time          {wall:.2} s");
            println!(
                "virtual/wall       {:.0}x",
                report.virtual_s / wall.max(1e-9)
            );
            println!(
                "peak Lua heap      {:.1} MiB (all servers)",
                report.peak_lua_bytes as f64 / 1048576.0
            );
            if let Some(kib) = peak_rss_kib() {
                println!(
                    "peak RSS           {:.1} MiB (process)",
                    kib as f64 / 1024.0
                );
            }
            println!("sessions started   {}", report.sessions_started);
            println!("violations         {}", report.violations.len());
            if !report.ok() {
                bail!("benchmark run failed its checks");
            }
        }
        Command::Place {
            dir,
            servers,
            seconds,
            realtime,
            seed,
            allow_http,
        } => {
            let place = Place::from_dir(&dir)?;
            let cfg = UniverseConfig {
                seed,
                mode: if realtime {
                    TimeMode::RealTime
                } else {
                    TimeMode::Deterministic
                },
                http_enabled: allow_http,
                ..UniverseConfig::default()
            };
            let mut u = Universe::new(cfg, place);
            for _ in 0..servers {
                u.start_server()?;
            }
            let started = Instant::now();
            u.run_for(seconds)?;
            for s in 0..u.server_count() {
                if let Some(server) = u.server(s) {
                    for l in server.output() {
                        println!(
                            "[{s} {:>8.3}s {}] {}",
                            l.t_ms as f64 / 1000.0,
                            l.level,
                            l.text
                        );
                    }
                }
            }
            println!(
                "{seconds} virtual s in {:.2} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_hints_name_libraries_as_the_command_line_takes_them() {
        for lib in [Library::ProfileStore, Library::ProfileService] {
            let parsed = Lib::from_str(lib.cli_name(), false);
            assert!(
                parsed.is_ok_and(|l| Library::from(l) == lib),
                "{}",
                lib.cli_name()
            );
        }
    }
}
