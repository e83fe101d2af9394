//! `sandbox demo`: the seed's acceptance checks, end to end on the real pieces (7 game servers
//! running the Luau bridge on ProfileStore, the Open Cloud emulator over HTTP, the audit API on
//! SQLite, the bot's service), with a pass/fail table. Virtual time is paced to the wall clock
//! and fast-forwarded only where the library's own timeouts would take minutes; each row says
//! which.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::{Options, Sandbox};
use crate::world::Pace;

mod checks;
mod driver;

use checks::*;
use driver::{Demo, Fail};

/// How a check used time.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeUse {
    /// Virtual time paced to the wall clock (as a real universe runs).
    RealTime,
    /// Part of it ran in fast-forwarded virtual time (seconds skipped).
    FastForward(f64),
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// How time was used.
    pub time: TimeUse,
    /// What was seen (numbers, ids).
    pub detail: String,
}

/// The demo's result.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The checks in order.
    pub checks: Vec<Check>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

impl Report {
    /// Whether every check passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The pass/fail table.
    pub fn table(&self) -> String {
        let name_w = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(5);
        let mut out = format!("{:<4}  {:<name_w$}  {:<22}  detail\n", "", "check", "time");
        for c in &self.checks {
            let time = match c.time {
                TimeUse::RealTime => "real time".to_owned(),
                TimeUse::FastForward(s) => format!("virtual, {s:.0} s skipped"),
            };
            out.push_str(&format!(
                "{:<4}  {:<name_w$}  {:<22}  {}\n",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                time,
                c.detail
            ));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        out.push_str(&format!(
            "{} of {} checks passed in {:.0} s{}",
            self.checks.len() - failed,
            self.checks.len(),
            self.wall.as_secs_f64(),
            if failed > 0 { " — FAILED" } else { "" }
        ));
        out
    }
}

/// Demo settings.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Seed of the universe and the simulated players.
    pub seed: u64,
    /// Game servers (the acceptance check asks for 7).
    pub servers: usize,
    /// Databases go here (temporary when `None`).
    pub data_dir: Option<std::path::PathBuf>,
    /// Print receipts and progress while running.
    pub verbose: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 20_261_122,
            servers: 7,
            data_dir: None,
            verbose: true,
        }
    }
}

fn row(name: &'static str, time: TimeUse, result: Result<String, Fail>) -> Check {
    match result {
        Ok(detail) => Check {
            name,
            passed: true,
            time,
            detail,
        },
        Err(detail) => Check {
            name,
            passed: false,
            time,
            detail,
        },
    }
}

fn ff(skipped: f64) -> TimeUse {
    if skipped > 0.0 {
        TimeUse::FastForward(skipped)
    } else {
        TimeUse::RealTime
    }
}

/// The names of the checks, in table order.
pub const CHECKS: &[&str] = &[
    "online give applied by the lock holder",
    "same balance read from every server",
    "replayed txn ignored, reported as already processed",
    "/audit lists the last N entries",
    "lock holder crashes, another server continues",
    "offline player credited (bot's CAS)",
    "API down: no audit row lost",
    "7 servers, single writer",
];

/// Runs the demo. A check that cannot run (its precondition failed) fails with the reason;
/// nothing is ever reported as passed without being checked.
pub async fn run(options: DemoOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    let verbose = options.verbose;
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |line: &str| {
        if verbose {
            println!("▸ {line}");
        }
    });
    let sandbox = Sandbox::start(
        Options {
            servers: options.servers,
            seed: options.seed,
            data_dir: options.data_dir.clone(),
            players: 12,
            online: 6,
            churn_per_minute: 12.0,
            pace: Pace::PacedVirtual,
            ..Options::default()
        },
        status,
    )
    .await;
    let sandbox = match sandbox {
        Ok(s) => s,
        Err(e) => {
            // Nothing could run: every row fails with the reason.
            let reason = format!("the sandbox did not start: {e:#}");
            return Ok(Report {
                checks: CHECKS
                    .iter()
                    .map(|name| row(name, TimeUse::RealTime, Err(reason.clone())))
                    .collect(),
                wall: started.elapsed(),
            });
        }
    };
    let mut d = Demo {
        sb: sandbox,
        verbose,
        committed: Vec::new(),
    };
    let mut checks = Vec::new();

    let first = online_give(&mut d).await;
    let first_txn = d.committed.first().cloned();
    let first_ok = first.is_ok();
    checks.push(row(CHECKS[0], TimeUse::RealTime, first));
    let needs_first = || Err::<String, Fail>("skipped: the first give did not apply".into());
    checks.push(row(
        CHECKS[1],
        TimeUse::RealTime,
        if first_ok {
            same_balance(&mut d).await
        } else {
            needs_first()
        },
    ));
    checks.push(row(
        CHECKS[2],
        TimeUse::RealTime,
        match (&first_txn, first_ok) {
            (Some(txn), true) => replay(&mut d, &txn.clone()).await,
            _ => needs_first(),
        },
    ));
    checks.push(row(
        CHECKS[3],
        TimeUse::RealTime,
        if first_ok {
            audit_last_n(&mut d).await
        } else {
            needs_first()
        },
    ));
    let (crash, skipped) = match crash_takeover(&mut d).await {
        Ok((detail, s)) => (Ok(detail), s),
        Err(e) => (Err(e), 0.0),
    };
    checks.push(row(CHECKS[4], ff(skipped), crash));
    checks.push(row(
        CHECKS[5],
        TimeUse::RealTime,
        offline_credit(&mut d).await,
    ));
    let (down, skipped) = if first_ok {
        match api_down(&mut d).await {
            Ok((detail, s)) => (Ok(detail), s),
            Err(e) => (Err(e), 0.0),
        }
    } else {
        (needs_first(), 0.0)
    };
    checks.push(row(CHECKS[6], ff(skipped), down));
    let total_skipped = d.skipped().await;
    checks.push(row(
        CHECKS[7],
        ff(total_skipped),
        single_writer(&d, options.servers).await,
    ));
    if let Err(e) = d.sb.shutdown().await {
        tracing::warn!(error = %e, "sandbox shutdown after the demo");
    }
    Ok(Report {
        checks,
        wall: started.elapsed(),
    })
}
