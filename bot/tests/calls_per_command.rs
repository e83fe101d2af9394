//! Open Cloud calls per command and confirmation latency under realistic emulator latencies
//! (messaging delivered after 1–2 s, DataStore calls 100–300 ms), in virtual time. Prints the
//! figures recorded in docs/benchmarks.md and checks the targets. Prompted commands run
//! through the shared flow with a front end that shows the balance on its Confirm prompt: the
//! wallet read for the prompt is the delivery's first, so they cost the same.
//! Run: `cargo test -p bot --test calls_per_command -- --nocapture`.

mod support;

use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::emulator::EmulatorPorts;
use bot::frontend::flow::{self, FollowUp};
use bot::frontend::{Confirm, Decision, MoveArgs, MoveResult, Prompt};
use bot::service::{
    AuditLog, AuditPage, AuditQuery, BoxFut, Outcome, PortError, WalletEntry, WalletStore,
    WalletWrite, WriteError,
};
use opencloud::emulator::{Emulator, ManualClock, MessageFaults};
use parking_lot::Mutex;
use shared::{AuditRecord, Op, TxnId};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// Seeded xorshift for latencies (no extra dependency).
struct Rng(u64);

impl Rng {
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (self.0 % (hi - lo + 1) as u64) as i64
    }
}

/// Adds 100–300 ms of virtual time to every DataStore call.
struct SlowStore {
    inner: Arc<EmulatorPorts>,
    clock: Arc<ManualClock>,
    rng: Mutex<Rng>,
}

impl SlowStore {
    fn pause(&self) {
        let ms = self.rng.lock().range(100, 300);
        self.clock.advance(ms);
    }
}

impl WalletStore for SlowStore {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        self.pause();
        self.inner.read(user_id)
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        self.pause();
        self.inner.write(write)
    }
}

/// The audit API's long-poll in virtual time: moves the clock in 50 ms steps, delivering due
/// messages, and asks the real API once a delivery happened (or at the start).
struct VirtualLongPoll {
    inner: ApiAuditLog,
    clock: Arc<ManualClock>,
    emulator: Arc<Emulator>,
}

impl AuditLog for VirtualLongPoll {
    fn post<'a>(&'a self, records: &'a [AuditRecord]) -> BoxFut<'a, Result<(), PortError>> {
        self.inner.post(records)
    }

    fn wait_for<'a>(
        &'a self,
        txn: &'a TxnId,
        wait: Duration,
    ) -> BoxFut<'a, Result<Option<AuditRecord>, PortError>> {
        Box::pin(async move {
            if let Some(r) = self.inner.wait_for(txn, Duration::ZERO).await? {
                return Ok(Some(r));
            }
            let mut waited = 0;
            while waited < wait.as_millis() as i64 {
                self.clock.advance(50);
                waited += 50;
                // Only a delivery can produce the record: ask the API (with a real long-poll,
                // answered as soon as the stand-in's post lands) only then, not every step.
                if self.emulator.bus.deliver_due() > 0 {
                    return self.inner.wait_for(txn, Duration::from_secs(2)).await;
                }
            }
            Ok(None)
        })
    }

    fn list<'a>(&'a self, query: &'a AuditQuery) -> BoxFut<'a, Result<AuditPage, PortError>> {
        self.inner.list(query)
    }

    fn totals<'a>(
        &'a self,
        query: &'a bot::service::TotalsQuery,
    ) -> BoxFut<'a, Result<bot::service::Totals, PortError>> {
        self.inner.totals(query)
    }
}

/// A front end that shows the balance on its prompt and confirms at once.
struct ShowsBalanceAndConfirms {
    balances_shown: usize,
}

impl Confirm for ShowsBalanceAndConfirms {
    type Error = bot::service::ServiceError;

    fn confirm<'a>(&'a mut self, p: Prompt<'a>) -> BoxFut<'a, Result<Decision, Self::Error>> {
        if p.wallet.is_some() {
            self.balances_shown += 1;
        }
        Box::pin(async { Ok(Decision::Confirmed) })
    }

    fn shows_balance(&self) -> bool {
        true
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_per_command_and_confirmation_latency() {
    const N: usize = 20;
    let world = World::new();
    let api = AuditApi::start().await;
    world.emulator.bus.set_faults(Some(MessageFaults {
        delay: 1.0,
        delay_ms: (1_000, 2_000),
        ..MessageFaults::none(7)
    }));
    let server = StandInServer::start(&world, "job-bench", Some(api.game_client()));
    let online: Vec<u64> = (0..N as u64).map(|i| 5_000 + i).collect();
    for u in &online {
        world
            .emulator
            .users
            .add(opencloud::emulator::User::new(*u, format!("online{u}")));
        server.join(*u);
    }
    let offline: Vec<u64> = (0..N as u64).map(|i| 6_000 + i).collect();
    for u in &offline {
        world
            .emulator
            .users
            .add(opencloud::emulator::User::new(*u, format!("offline{u}")));
    }
    let wallets = Arc::new(SlowStore {
        inner: world.ports.clone(),
        clock: world.clock.clone(),
        rng: Mutex::new(Rng(0x9E37_79B9_7F4A_7C15)),
    });
    let audit = Arc::new(VirtualLongPoll {
        inner: ApiAuditLog::new(api.bot_client()),
        clock: world.clock.clone(),
        emulator: world.emulator.clone(),
    });
    let mut config = service_config();
    config.long_poll = Duration::from_secs(10);
    config.round_pause = Duration::from_millis(250);
    let service = world.service_with(audit, wallets, config).await;

    let mut report = Vec::new();
    for (label, users) in [("online", &online), ("offline", &offline)] {
        let c0 = world.calls();
        let mut latencies = Vec::new();
        for u in users {
            let start = world.now_ms();
            let receipt = service.execute(request(Op::Give, *u, 10)).await.unwrap();
            assert!(
                matches!(receipt.outcome, Outcome::Applied { .. }),
                "{receipt:?}"
            );
            latencies.push(world.now_ms() - start);
        }
        let c = world.calls().since(&c0);
        latencies.sort_unstable();
        let mean_calls = c.open_cloud() as f64 / users.len() as f64;
        report.push((
            label,
            mean_calls,
            c,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
        ));

        // The same players, above the confirmation threshold, through the shared flow.
        let c0 = world.calls();
        let mut latencies = Vec::new();
        let mut ui = ShowsBalanceAndConfirms { balances_shown: 0 };
        for u in users {
            let start = world.now_ms();
            let args = MoveArgs {
                target: bot::frontend::Who::Player(bot::service::Target::Id(*u)),
                amount: 150_000,
                reason: "event prize".into(),
                replay: None,
            };
            let result = flow::run_move(&service, staff(), Op::Give, args, &mut ui, FollowUp::NONE)
                .await
                .unwrap();
            assert!(
                matches!(&result, MoveResult::Done(r) if matches!(r.outcome, Outcome::Applied { .. })),
                "{result:?}"
            );
            latencies.push(world.now_ms() - start);
        }
        assert_eq!(
            ui.balances_shown,
            users.len(),
            "every prompt shows the balance"
        );
        let c = world.calls().since(&c0);
        latencies.sort_unstable();
        let mean_calls = c.open_cloud() as f64 / users.len() as f64;
        report.push((
            if label == "online" {
                "online, prompted"
            } else {
                "offline, prompted"
            },
            mean_calls,
            c,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
        ));
    }
    println!(
        "| command | mean Open Cloud calls | reads / writes / publishes | p50 confirmation | p95 |"
    );
    println!("|---|---|---|---|---|");
    for (label, mean, c, p50, p95) in &report {
        println!(
            "| {label} | {mean:.2} | {} / {} / {} | {p50} ms | {p95} ms |",
            c.get, c.set, c.publish
        );
    }
    let (_, online_mean, _, online_p50, _) = report[0];
    let (_, online_prompted, ..) = report[1];
    let (_, offline_mean, ..) = report[2];
    let (_, offline_prompted, ..) = report[3];
    assert!(online_mean <= 2.0, "online mean {online_mean}");
    assert!(
        online_prompted <= 2.0,
        "online prompted mean {online_prompted}"
    );
    for (label, mean) in [
        ("offline", offline_mean),
        ("offline prompted", offline_prompted),
    ] {
        assert!((mean - 2.0).abs() < f64::EPSILON, "{label} mean {mean}");
    }
    // Target: messaging latency (≤ 2 s here) + one save (≤ 300 ms) + 250 ms; the first read
    // (≤ 300 ms) happens before the publish and is included in the measured figure.
    assert!(online_p50 <= 300 + 2_000 + 300 + 250, "p50 {online_p50} ms");
    assert_eq!(server.applied(), 2 * N);
}
