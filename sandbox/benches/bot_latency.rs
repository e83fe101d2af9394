//! The bot's Open Cloud calls per command and its confirmation latency against the real stack:
//! game servers running the real Luau bridge on ProfileStore (the holder's save is real), the Open
//! Cloud emulator over HTTP with 100–300 ms per request, MessagingService delivering after 1–2 s,
//! DataStore calls on the servers taking 100–300 ms, and the audit API on SQLite. Wall-clock time,
//! the bot's production settings. Prints the table kept in docs/benchmarks.md.
//!
//! Run (after `tools/fetch-luau-libs.sh`):
//! `cargo bench -p sandbox --bench bot_latency` (`BOT_BENCH_COMMANDS`, default 20 per row).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bot::service::{BoxFut, Db, Messaging, MoveRequest, Outcome, PortError, Service, Target};
use opencloud::emulator::{FaultPlan, Latency};
use parking_lot::Mutex;
use sandbox::stack::{console_actor, default_service_config};
use sandbox::world::Pace;
use sandbox::{Options, Sandbox};
use shared::Op;

/// Records when the first copy of the current command was published.
struct TimedMessaging {
    inner: Arc<dyn Messaging>,
    first: Mutex<Option<Instant>>,
}

impl Messaging for TimedMessaging {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            let result = self.inner.publish(topic, message).await;
            self.first.lock().get_or_insert_with(Instant::now);
            result
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

struct Row {
    name: &'static str,
    commands: usize,
    get: u64,
    set: u64,
    publish: u64,
    users: u64,
    total: Vec<Duration>,
    confirm: Vec<Duration>,
}

impl Row {
    fn print(&mut self) {
        self.total.sort();
        self.confirm.sort();
        let n = self.commands as f64;
        let calls = (self.get + self.set + self.publish) as f64 / n;
        println!(
            "| {} | {:.2} | {} / {} / {} | {:.2} | {} | {} | {} | {} |",
            self.name,
            calls,
            self.get,
            self.set,
            self.publish,
            self.users as f64 / n,
            ms(percentile(&self.total, 0.5)),
            ms(percentile(&self.total, 0.9)),
            if self.confirm.is_empty() {
                "–".to_owned()
            } else {
                ms(percentile(&self.confirm, 0.5))
            },
            if self.confirm.is_empty() {
                "–".to_owned()
            } else {
                ms(percentile(&self.confirm, 0.9))
            },
        );
    }
}

async fn run(n: usize) -> anyhow::Result<()> {
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| eprintln!("▸ {l}"));
    let sb = Sandbox::start(
        Options {
            servers: 7,
            players: 0,
            online: 0,
            pace: Pace::RealTime,
            seed: 2026_1202,
            datastore_latency_s: Some((0.1, 0.3)),
            message_latency_s: Some((1.0, 2.0)),
            ..Options::default()
        },
        status,
    )
    .await?;
    sb.stack.emulator.set_fault_plan(FaultPlan {
        seed: 7,
        rules: Vec::new(),
        latency: Latency::Uniform { min: 100, max: 300 },
    });
    let timed = Arc::new(TimedMessaging {
        inner: sb.stack.ports.messaging.clone(),
        first: Mutex::new(None),
    });
    let mut ports = sb.stack.ports.clone();
    ports.messaging = timed.clone();
    let dir = tempfile::tempdir()?;
    let db = Db::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let service = Service::new(
        ports,
        db,
        sb.stack.secrets.command_keys(),
        default_service_config(),
    );

    // Online: n players spread over the 7 servers; a quiet 8 s after their sessions started so no
    // save waits for the 6 s per-key cooldown of the session start.
    let online: Vec<u64> = (0..n as u64).map(|i| 3_001 + i).collect();
    let offline: Vec<u64> = (0..n as u64).map(|i| 4_001 + i).collect();
    for id in online.iter().chain(&offline) {
        sb.know_user(*id);
    }
    for (i, id) in online.iter().enumerate() {
        sb.world.join(*id, i % 7).await?;
    }
    let start = Instant::now();
    while !online
        .iter()
        .all(|id| sb.stack.session_holder(*id).is_some())
    {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "sessions did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(8)).await;

    let mut rows = Vec::new();
    for (name, users) in [
        ("online (live session: publish, server saves)", &online),
        ("offline (compare-and-swap)", &offline),
    ] {
        let mut row = Row {
            name,
            commands: users.len(),
            get: 0,
            set: 0,
            publish: 0,
            users: 0,
            total: Vec::new(),
            confirm: Vec::new(),
        };
        for id in users {
            *timed.first.lock() = None;
            let before = sb.stack.calls.snapshot();
            let t0 = Instant::now();
            let receipt = service
                .execute(MoveRequest {
                    actor: console_actor(),
                    op: Op::Give,
                    target: Target::Id(*id),
                    amount: 5,
                    reason: "bench".into(),
                    replay: None,
                })
                .await?;
            let done = Instant::now();
            anyhow::ensure!(
                matches!(receipt.outcome, Outcome::Applied { .. }),
                "user {id}: {:?}",
                receipt.outcome
            );
            let c = sb.stack.calls.snapshot().since(&before);
            row.get += c.get;
            row.set += c.set;
            row.publish += c.publish;
            row.users += c.users;
            row.total.push(done - t0);
            if let Some(first) = *timed.first.lock() {
                row.confirm.push(done - first);
            }
        }
        rows.push(row);
    }

    println!(
        "\n| path | Open Cloud calls / command | get / set / publish (total) | user look-ups / command | command p50 | command p90 | publish→confirmed p50 | publish→confirmed p90 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &mut rows {
        row.print();
    }
    let snap = sb.world.snapshot().await?;
    println!(
        "\n{} commands per row; session-lock violations: {}; script errors: {}",
        n,
        snap.violations.len(),
        snap.servers.iter().map(|s| s.script_errors).sum::<usize>()
    );
    service.db().close().await;
    drop(service);
    sb.shutdown().await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let n = std::env::var("BOT_BENCH_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(n))
}
