//! Bulk payouts through the service (issue 18): one txn per distinct player under an id derived
//! from the batch, never paid twice (a run again, a service dropped mid-batch and recreated on
//! the same database), refusals of bad lists, the write budget's pace and a 429's Retry-After.

mod support;

use bot::service::{
    BatchCounts, BatchId, BatchProgress, BatchRequest, BoxFut, BulkConfig, ItemState, Outcome,
    PortError, Refusal, Service, ServiceError, WalletEntry, WalletStore, WalletWrite, WriteError,
};
use parking_lot::Mutex;
use shared::RecordOutcome;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::*;

fn payout(user_ids: &[u64], amount: i64) -> BatchRequest {
    BatchRequest {
        actor: staff(),
        amount,
        reason: "event winners".into(),
        user_ids: user_ids.to_vec(),
    }
}

fn refusal(e: ServiceError) -> Refusal {
    match e {
        ServiceError::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Every count the batch reported, in order.
#[derive(Default, Clone)]
struct Recorded(Arc<Mutex<Vec<BatchCounts>>>);

impl BatchProgress for Recorded {
    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        self.0.lock().push(*counts);
        Box::pin(async {})
    }
}

/// Each player's wallet holds exactly one ring entry for their derived txn, applied, and the
/// balance went up by `amount` once.
fn assert_paid_once(world: &World, batch: &BatchId, players: &[u64], before: i64, amount: i64) {
    for &p in players {
        let wallet = world.wallet(p);
        assert_eq!(wallet.balance, before + amount, "player {p} paid once");
        let txn = batch.item_txn(p);
        let entries = wallet.ring.iter().filter(|r| r.id == txn).count();
        assert_eq!(entries, 1, "player {p}: one ring entry");
        assert_eq!(wallet.find(&txn).unwrap().outcome, RecordOutcome::Applied);
    }
    world.assert_single_writer();
}

#[tokio::test]
async fn a_batch_pays_each_distinct_player_once_and_a_second_run_pays_nobody() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-A", Some(api.game_client()));
    server.join(BOB);
    world.seed_offline_profile(ALICE, 0);
    let mut config = service_config();
    config.long_poll = Duration::from_secs(2);
    let service = world.service(&api, config).await;

    let plan = service
        .plan_batch(payout(&[ALICE, BOB, ALICE, 3003, BOB], 250))
        .await
        .unwrap();
    assert_eq!(plan.user_ids, vec![ALICE, BOB, 3003]);
    assert_eq!(plan.duplicates, 2);
    assert_eq!(plan.total(), 750);
    assert_eq!(
        (plan.online.read, plan.online.online, plan.online.of),
        (3, 1, 3),
        "every wallet read for a small batch; Bob is in a server"
    );
    assert!(plan.online.is_exact());

    // Planning stores nothing: a plan never confirmed leaves no batch behind.
    assert!(service.batch_report(&plan.batch).await.is_err());
    service.start_batch(&plan).await.unwrap();
    let progress = Recorded::default();
    let report = service
        .run_batch(&plan.batch, &mut progress.clone())
        .await
        .unwrap();
    let counts = report.counts();
    assert_eq!(
        (counts.players, counts.applied, counts.pending, counts.todo),
        (3, 3, 0, 0)
    );
    assert_eq!(counts.paid, 750);
    assert!(report.batch.finished_at_ms.is_some());
    assert_paid_once(&world, &plan.batch, &[ALICE, BOB, 3003], 0, 250);
    assert_eq!(
        server.applied(),
        1,
        "the online player was paid by the holder"
    );
    for item in &report.items {
        assert_eq!(item.txn, plan.batch.item_txn(item.user_id));
        assert!(
            api.record_posted(&item.txn).await.is_some(),
            "audit record of {}",
            item.txn
        );
    }
    // Progress only moves forward and ends at the report's counts.
    let seen = progress.0.lock().clone();
    assert_eq!(seen.first().map(|c| c.todo), Some(3));
    assert_eq!(seen.last(), Some(&counts));
    assert!(seen.windows(2).all(|w| w[1].settled() >= w[0].settled()));

    // Running the same batch again (a retried command) pays nobody twice.
    let again = service
        .run_batch(&plan.batch, &mut bot::service::bulk::Silent)
        .await
        .unwrap();
    assert_eq!(again.counts(), counts);
    assert_paid_once(&world, &plan.batch, &[ALICE, BOB, 3003], 0, 250);
    // A fresh plan for the same players is a new batch: new txn ids.
    let other = service.plan_batch(payout(&[ALICE], 250)).await.unwrap();
    assert_ne!(other.batch.item_txn(ALICE), plan.batch.item_txn(ALICE));
}

#[tokio::test]
async fn empty_oversized_and_over_the_cap_lists_are_refused_and_change_nothing() {
    let world = World::new();
    let api = AuditApi::start().await;
    let mut config = service_config();
    config.bulk = BulkConfig {
        max_items: 3,
        ..BulkConfig::default()
    };
    config.policy.daily_cap = 1_000;
    let service = world.service(&api, config).await;
    let c0 = world.calls();

    let e = service.plan_batch(payout(&[], 10)).await.unwrap_err();
    assert_eq!(refusal(e), Refusal::BatchEmpty);
    let e = service
        .plan_batch(payout(&[1, 2, 3, 4], 10))
        .await
        .unwrap_err();
    let r = refusal(e);
    assert_eq!(r, Refusal::BatchTooLarge { max: 3, got: 4 });
    assert!(r.to_string().contains("at most 3"), "{r}");
    // Repeats do not count towards the limit.
    let plan = service
        .plan_batch(payout(&[1, 2, 3, 3, 2], 10))
        .await
        .unwrap();
    assert_eq!((plan.user_ids.len(), plan.duplicates), (3, 2));
    // The daily cap applies to the batch's total.
    let e = service
        .plan_batch(payout(&[1, 2, 3], 400))
        .await
        .unwrap_err();
    assert!(matches!(refusal(e), Refusal::DailyCap { .. }));
    // The role maximum applies to each player's amount.
    let mut small = staff();
    small.roles = vec!["901".into()];
    let e = service
        .plan_batch(BatchRequest {
            actor: small,
            ..payout(&[1], 51)
        })
        .await
        .unwrap_err();
    assert_eq!(refusal(e), Refusal::OverRoleMax { max: 50 });
    let e = service
        .plan_batch(BatchRequest {
            reason: "  ".into(),
            ..payout(&[1], 5)
        })
        .await
        .unwrap_err();
    assert_eq!(refusal(e), Refusal::BadReason);
    assert_eq!(
        world.calls().since(&c0).set,
        0,
        "nothing written for refused payouts"
    );
    assert!(service.db().unfinished_batches().await.unwrap().is_empty());
}

/// Stops reporting (and so stops the batch's run) after `after` reports, and says so.
struct StallAfter {
    left: usize,
    stalled: Arc<tokio::sync::Notify>,
}

impl BatchProgress for StallAfter {
    fn progress<'a>(&'a mut self, _counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        if self.left == 0 {
            self.stalled.notify_one();
            return Box::pin(std::future::pending());
        }
        self.left -= 1;
        Box::pin(async {})
    }
}

async fn dropped_mid_batch_resumes_without_paying_twice(world: World) {
    let api = AuditApi::start().await;
    let players: Vec<u64> = (5001..5041).collect();
    for &p in &players {
        world.seed_offline_profile(p, 7);
    }
    let mut config = service_config();
    config.bulk.concurrency = 4;
    let batch = {
        let service = world.service(&api, config.clone()).await;
        let plan = service.plan_batch(payout(&players, 100)).await.unwrap();
        service.start_batch(&plan).await.unwrap();
        let stalled = Arc::new(tokio::sync::Notify::new());
        let mut progress = StallAfter {
            left: 12,
            stalled: stalled.clone(),
        };
        tokio::select! {
            biased;
            () = stalled.notified() => {}
            r = service.run_batch(&plan.batch, &mut progress) => panic!("the run ended: {r:?}"),
        }
        // The run future (and with it every item in flight) is dropped here, then the service.
        plan.batch
    };
    let paid_before = players
        .iter()
        .filter(|&&p| world.wallet(p).balance == 107)
        .count();
    assert!(
        (11..players.len()).contains(&paid_before),
        "stopped mid-batch: {paid_before} paid"
    );

    // A new service on the same database (a restart) resumes the batch on startup.
    let service = world.service(&api, config).await;
    assert_eq!(
        service.db().unfinished_batches().await.unwrap(),
        vec![batch.clone()]
    );
    let reports = service.resume_batches().await.unwrap();
    assert_eq!(reports.len(), 1);
    let counts = reports[0].counts();
    assert_eq!(
        (counts.applied, counts.pending, counts.todo),
        (40, 0, 0),
        "{counts:?}"
    );
    assert_paid_once(&world, &batch, &players, 7, 100);
    assert!(service.db().unfinished_batches().await.unwrap().is_empty());
    // Resuming again finds nothing to do.
    assert!(service.resume_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_dropped_mid_run_resumes_after_a_restart_without_paying_twice() {
    dropped_mid_batch_resumes_without_paying_twice(World::new()).await;
}

#[tokio::test]
async fn a_batch_dropped_mid_run_resumes_on_postgres_too() {
    dropped_mid_batch_resumes_without_paying_twice(World::on_postgres().await).await;
}

#[tokio::test]
async fn items_start_no_faster_than_the_budget_allows() {
    let world = World::new();
    let api = AuditApi::start().await;
    let mut config = service_config();
    // The floor (300 writes a minute), half kept for game servers: 150 a minute, 2.5 a second.
    config.bulk = BulkConfig {
        reserved_percent: 50,
        assumed_ccu: 0,
        concurrency: 1,
        ..BulkConfig::default()
    };
    let service = world.service(&api, config).await;
    assert_eq!(service.write_budget().per_minute(), 150.0);
    let players: Vec<u64> = (7001..7021).collect();
    let plan = service.plan_batch(payout(&players, 1)).await.unwrap();
    service.start_batch(&plan).await.unwrap();
    let t0 = world.now_ms();
    let report = service
        .run_batch(&plan.batch, &mut bot::service::bulk::Silent)
        .await
        .unwrap();
    assert_eq!(report.counts().applied, 20);
    // The budget starts empty: one every 400 ms, so 20 items take 8 s; never sooner, and the
    // runner keeps that pace (items take no time offline here).
    let elapsed = world.now_ms() - t0;
    assert!(
        (8_000..=8_400).contains(&elapsed),
        "20 items in {elapsed} ms"
    );
}

/// A wallet store whose first write is answered 429 with Retry-After (nothing written).
struct ThrottledOnce {
    inner: Arc<bot::adapters::emulator::EmulatorPorts>,
    fired: AtomicBool,
}

impl WalletStore for ThrottledOnce {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        self.inner.read(user_id)
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            let e = PortError::throttled(
                "open cloud",
                "throttled (429)",
                Some(Duration::from_secs(30)),
            );
            return Box::pin(async move { Err(WriteError::Port(e)) });
        }
        self.inner.write(write)
    }
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_batch_and_nobody_is_paid_twice() {
    let world = World::new();
    let api = AuditApi::start().await;
    let mut config = service_config();
    config.bulk = BulkConfig {
        assumed_ccu: 10_000,
        concurrency: 1,
        ..BulkConfig::default()
    };
    let store = Arc::new(ThrottledOnce {
        inner: world.ports.clone(),
        fired: AtomicBool::new(false),
    });
    let audit = Arc::new(bot::adapters::audit_api::ApiAuditLog::new(api.bot_client()));
    let service: Service = world.service_with(audit, store, config).await;
    let players = [8001, 8002, 8003];
    let plan = service.plan_batch(payout(&players, 5)).await.unwrap();
    service.start_batch(&plan).await.unwrap();
    let t0 = world.now_ms();
    let report = service
        .run_batch(&plan.batch, &mut bot::service::bulk::Silent)
        .await
        .unwrap();
    assert_eq!(report.counts().applied, 3);
    assert!(
        world.now_ms() - t0 >= 30_000,
        "the next item waited for Retry-After"
    );
    assert_paid_once(&world, &plan.batch, &players, 0, 5);
    assert!(matches!(
        report.items[0].state,
        ItemState::Issued(Outcome::Applied { .. })
    ));
}
