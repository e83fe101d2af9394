//! Many seeds: run them here or in parallel worker processes (each a copy of the campaign binary
//! running its share of the seeds), gather one JSON line per seed, write each failing seed as a
//! replayable trace, and sum it all up.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::run::{RunOptions, RunReport, run};
use crate::spec::{Broken, RunSpec, Trace};

/// One seed's line, as workers print it and the summary counts it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedLine {
    /// The run.
    pub spec: RunSpec,
    /// Violations (empty: passed).
    pub violations: Vec<String>,
    /// Commands, outcomes, restarts, kills.
    pub stats: serde_json::Value,
    /// Wall ms.
    pub wall_ms: u64,
    /// Where its trace was written, for a failing seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<PathBuf>,
}

/// What a campaign found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// First seed.
    pub from: u64,
    /// Seeds on ProfileStore / ProfileService.
    pub profile_store: u64,
    /// Seeds on ProfileService.
    pub profile_service: u64,
    /// Seeds with at least one violation.
    pub failed: u64,
    /// Each failing seed.
    pub failures: Vec<SeedLine>,
    /// Commands asked of the bot, in all.
    pub commands: u64,
    /// Bot restarts, in all.
    pub bot_restarts: u64,
    /// Audit API kills, in all.
    pub api_kills: u64,
    /// Wall seconds of the whole campaign.
    pub wall_s: f64,
    /// Worker processes.
    pub workers: usize,
    /// The broken rule, for a negative control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<Broken>,
}

impl Summary {
    fn add(&mut self, line: SeedLine) {
        self.seeds += 1;
        match line.spec.library {
            crate::spec::Lib::ProfileStore => self.profile_store += 1,
            crate::spec::Lib::ProfileService => self.profile_service += 1,
        }
        let n = |k: &str| {
            line.stats
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        self.commands += n("commands");
        self.bot_restarts += n("bot_restarts");
        self.api_kills += n("api_kills");
        if !line.violations.is_empty() {
            self.failed += 1;
            self.failures.push(line);
        }
    }

    /// A few lines for people.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} seeds from {} ({} ProfileStore, {} ProfileService){}: {} failed; {} commands, {} bot restarts, {} audit API kills; {:.1} s wall with {} worker(s), {:.2} seeds/s\n",
            self.seeds,
            self.from,
            self.profile_store,
            self.profile_service,
            self.broken
                .map(|b| format!(" with the broken rule {}", b.name()))
                .unwrap_or_default(),
            self.failed,
            self.commands,
            self.bot_restarts,
            self.api_kills,
            self.wall_s,
            self.workers,
            if self.wall_s > 0.0 {
                self.seeds as f64 / self.wall_s
            } else {
                0.0
            }
        );
        for f in &self.failures {
            s.push_str(&format!(
                "seed {} ({:?}): {}{}\n",
                f.spec.seed,
                f.spec.library,
                f.violations.first().map(String::as_str).unwrap_or_default(),
                f.trace
                    .as_ref()
                    .map(|p| format!(" [trace {}]", p.display()))
                    .unwrap_or_default()
            ));
        }
        s
    }
}

/// Writes a failing run's trace into `dir`; its path.
pub fn write_trace(dir: &Path, report: &RunReport) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("seed-{}.json", report.spec.seed));
    let trace = Trace {
        v: 1,
        spec: report.spec,
        violations: report.violations.clone(),
        events: report.events.clone(),
        digest: report.digest.clone(),
    };
    let text = serde_json::to_string_pretty(&trace).map_err(std::io::Error::other)?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Reads a trace.
pub fn read_trace(path: &Path) -> Result<Trace, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the trace {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a trace: {e}", path.display()))
}

/// Runs one seed and makes its line (writing its trace when it failed and `traces` is set).
pub fn run_line(spec: RunSpec, opts: &RunOptions, traces: Option<&Path>) -> SeedLine {
    let report = run(spec, opts);
    let trace = match traces {
        Some(dir) if !report.violations.is_empty() => write_trace(dir, &report).ok(),
        _ => None,
    };
    SeedLine {
        spec,
        violations: report.violations,
        stats: serde_json::to_value(&report.stats).unwrap_or_default(),
        wall_ms: report.wall_ms,
        trace,
    }
}

/// A campaign's settings.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    /// First seed.
    pub from: u64,
    /// How many seeds.
    pub seeds: u64,
    /// Worker processes (1: run here).
    pub workers: usize,
    /// Where failing seeds' traces go.
    pub traces: Option<PathBuf>,
    /// Negative control.
    pub broken: Option<Broken>,
    /// The campaign binary (workers and the audit API process are copies of it).
    pub exe: PathBuf,
    /// Called with each seed's line as it arrives.
    pub progress: fn(&SeedLine),
}

/// The seeds worker `k` of `n` runs: every n-th from `from + k`.
pub fn share(from: u64, seeds: u64, k: usize, n: usize) -> impl Iterator<Item = u64> {
    (from..from + seeds).filter(move |s| (s - from) % n as u64 == k as u64)
}

/// Runs the campaign.
pub fn run_campaign(cfg: &CampaignConfig) -> Result<Summary, String> {
    let started = Instant::now();
    let mut summary = Summary {
        from: cfg.from,
        workers: cfg.workers.max(1),
        broken: cfg.broken,
        ..Summary::default()
    };
    let opts = RunOptions {
        api_exe: cfg.exe.clone(),
        keep_trace: false,
    };
    if cfg.workers <= 1 {
        for seed in cfg.from..cfg.from + cfg.seeds {
            let line = run_line(
                RunSpec::campaign(seed, cfg.broken),
                &opts,
                cfg.traces.as_deref(),
            );
            (cfg.progress)(&line);
            summary.add(line);
        }
    } else {
        let mut children = Vec::new();
        for k in 0..cfg.workers {
            let mut cmd = Command::new(&cfg.exe);
            cmd.arg("--from")
                .arg(cfg.from.to_string())
                .arg("--seeds")
                .arg(cfg.seeds.to_string())
                .arg("--worker")
                .arg(format!("{k}/{}", cfg.workers));
            if let Some(dir) = &cfg.traces {
                cmd.arg("--traces").arg(dir);
            }
            if let Some(b) = cfg.broken {
                cmd.arg("--broken").arg(b.name());
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?;
            children.push(child);
        }
        // One reader thread per worker; lines arrive over a channel.
        let (tx, rx) = std::sync::mpsc::channel::<SeedLine>();
        let mut readers = Vec::new();
        for child in &mut children {
            let Some(out) = child.stdout.take() else {
                continue;
            };
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Ok(l) = serde_json::from_str::<SeedLine>(&line) {
                        let _ = tx.send(l);
                    }
                }
            }));
        }
        drop(tx);
        for line in rx {
            (cfg.progress)(&line);
            summary.add(line);
        }
        for r in readers {
            let _ = r.join();
        }
        for mut c in children {
            let status = c.wait().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("a worker failed: {status}"));
            }
        }
        if summary.seeds != cfg.seeds {
            return Err(format!(
                "the workers reported {} of {} seeds",
                summary.seeds, cfg.seeds
            ));
        }
    }
    summary.failures.sort_by_key(|f| f.spec.seed);
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A worker: runs its share and prints one JSON line per seed.
pub fn run_worker(cfg: &CampaignConfig, k: usize, n: usize) -> Result<(), String> {
    let opts = RunOptions {
        api_exe: cfg.exe.clone(),
        keep_trace: false,
    };
    let stdout = std::io::stdout();
    for seed in share(cfg.from, cfg.seeds, k, n) {
        let line = run_line(
            RunSpec::campaign(seed, cfg.broken),
            &opts,
            cfg.traces.as_deref(),
        );
        let text = serde_json::to_string(&line).map_err(|e| e.to_string())?;
        let mut out = stdout.lock();
        writeln!(out, "{text}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_share_every_seed_once() {
        let mut all: Vec<u64> = (0..3).flat_map(|k| share(10, 20, k, 3)).collect();
        all.sort_unstable();
        assert_eq!(all, (10..30).collect::<Vec<_>>());
    }
}
