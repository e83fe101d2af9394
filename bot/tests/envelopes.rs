//! Batch envelopes through the service (docs/protocol.md §3.1): a payout's online players are
//! published several to a signed message, each still applied, recorded and confirmed on its
//! own; servers that predate envelopes still get every player, from the single re-publishes.

mod support;

use bot::service::{
    BatchId, BatchReport, BatchRequest, BoxFut, BulkConfig, Messaging, PortError, Service,
    ServiceConfig, bulk::Silent,
};
use parking_lot::Mutex;
use shared::{KeyRing, RecordOutcome};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::*;

fn payout(user_ids: &[u64]) -> BatchRequest {
    BatchRequest {
        actor: staff(),
        amount: 40,
        reason: "winter event winners".into(),
        user_ids: user_ids.to_vec(),
    }
}

/// Publishes wait behind a gate the test opens (messaging that is slow to accept, as the real
/// client's limiter is once its burst is spent).
struct Gate {
    inner: Arc<dyn Messaging>,
    open: AtomicBool,
    /// Every message published through the gate, in order.
    sent: Mutex<Vec<String>>,
}

impl Gate {
    /// The players each of the first `n` published messages carried, all together.
    fn players_in_first(&self, n: usize) -> HashSet<u64> {
        let keys = KeyRing::parse(COMMAND_KEYS).unwrap();
        let sent = self.sent.lock();
        sent.iter()
            .take(n)
            .flat_map(|m| shared::decode_message(m, &keys).unwrap())
            .map(|c| c.user_id)
            .collect()
    }
}

impl Messaging for Gate {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            while !self.open.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            self.sent.lock().push(message.to_owned());
            self.inner.publish(topic, message).await
        })
    }
}

/// Each player's wallet holds one applied ring entry for their derived txn, paid `amount` once,
/// and the audit log holds one record for it.
async fn assert_paid_once(world: &World, api: &AuditApi, batch: &BatchId, players: &[u64]) {
    for &p in players {
        let wallet = world.wallet(p);
        assert_eq!(wallet.balance, 40, "player {p} paid once");
        let txn = batch.item_txn(p);
        assert_eq!(wallet.ring.iter().filter(|r| r.id == txn).count(), 1);
        assert_eq!(wallet.find(&txn).unwrap().outcome, RecordOutcome::Applied);
        assert!(
            api.record_posted(&txn).await.is_some(),
            "audit record of {p}"
        );
    }
    world.assert_single_writer();
}

/// A service whose publishes wait behind a [`Gate`].
async fn gated_service(
    world: &World,
    api: &AuditApi,
    config: ServiceConfig,
) -> (Service, Arc<Gate>) {
    let gate = Arc::new(Gate {
        inner: world.ports.clone(),
        open: AtomicBool::new(false),
        sent: Mutex::new(Vec::new()),
    });
    let audit = Arc::new(bot::adapters::audit_api::ApiAuditLog::new(api.bot_client()));
    let service = world
        .service_over(audit, world.ports.clone(), gate.clone(), config)
        .await;
    (service, gate)
}

/// Runs the batch, opening the gate once all `online` players' items wait on the packer
/// (queued, or in the publish held at the gate): from then on what is packed together is
/// decided, whatever the machine's speed.
async fn run_gated(service: &Service, gate: &Gate, batch: &BatchId, online: usize) -> BatchReport {
    let opener = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let s = service.pack_stats();
            if s.queued + s.sending == online {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "items never queued: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        gate.open.store(true, Ordering::SeqCst);
    };
    let mut silent = Silent;
    let (report, ()) = tokio::join!(service.run_batch(batch, &mut silent), opener);
    report.unwrap()
}

fn fast_budget() -> BulkConfig {
    BulkConfig {
        assumed_ccu: 100_000,
        concurrency: 64,
        ..BulkConfig::default()
    }
}

#[tokio::test]
async fn online_players_share_envelopes_and_each_is_paid_once_by_their_holder() {
    let world = World::new();
    let api = AuditApi::start().await;
    let servers: Vec<Arc<StandInServer>> = ["job-A", "job-B", "job-C"]
        .iter()
        .map(|j| StandInServer::start(&world, j, Some(api.game_client())))
        .collect();
    let online: Vec<u64> = (5001..5031).collect();
    for (i, &p) in online.iter().enumerate() {
        servers[i % 3].join(p);
    }
    let offline: Vec<u64> = (6001..6011).collect();
    for &p in &offline {
        world.seed_offline_profile(p, 0);
    }
    let mut config = service_config();
    config.bulk = fast_budget();
    let (service, gate) = gated_service(&world, &api, config).await;
    let everyone: Vec<u64> = online.iter().chain(&offline).copied().collect();
    let plan = service.plan_batch(payout(&everyone)).await.unwrap();
    service.start_batch(&plan).await.unwrap();
    let report = run_gated(&service, &gate, &plan.batch, online.len()).await;
    assert_eq!(report.counts().applied, 40);
    assert_paid_once(&world, &api, &plan.batch, &everyone).await;

    // The first two messages (the one held at the gate, then the rest) carried all thirty.
    let first_two = gate.players_in_first(2);
    assert_eq!(first_two, online.iter().copied().collect::<HashSet<_>>());
    let stats = service.pack_stats();
    assert!(
        stats.envelopes >= 1 && stats.enveloped_items >= 15,
        "{stats:?}"
    );
    for (i, s) in servers.iter().enumerate() {
        assert_eq!(s.applied(), 10, "server {i} paid only the players it holds");
        assert!(s.envelopes() >= 1, "server {i} read an envelope");
    }
}

#[tokio::test]
async fn servers_that_predate_envelopes_still_pay_every_player_once_from_single_republishes() {
    let world = World::new();
    let api = AuditApi::start().await;
    let old = StandInServer::start(&world, "job-old", Some(api.game_client()));
    old.predate_envelopes();
    let online: Vec<u64> = (5101..5113).collect();
    for &p in &online {
        old.join(p);
    }
    let mut config = service_config();
    config.bulk = fast_budget();
    let (service, gate) = gated_service(&world, &api, config).await;
    let plan = service.plan_batch(payout(&online)).await.unwrap();
    service.start_batch(&plan).await.unwrap();
    let report = run_gated(&service, &gate, &plan.batch, online.len()).await;
    assert_eq!(report.counts().applied, 12, "{:?}", report.counts());
    assert_paid_once(&world, &api, &plan.batch, &online).await;
    assert_eq!(old.envelopes(), 0, "an old server reads no envelope");
    assert_eq!(old.applied(), 12);
    // The first two messages carried all twelve, at least eleven inside an envelope the old
    // server refused: those were paid thanks to their single re-publishes.
    assert_eq!(gate.players_in_first(2).len(), 12);
    let stats = service.pack_stats();
    assert!(
        stats.envelopes >= 1 && stats.enveloped_items >= 11,
        "{stats:?}"
    );
}

#[tokio::test]
async fn with_envelopes_off_every_online_player_gets_their_own_message() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-A", Some(api.game_client()));
    let online: Vec<u64> = (5201..5209).collect();
    for &p in &online {
        server.join(p);
    }
    let mut config = service_config();
    config.bulk = BulkConfig {
        envelopes: false,
        ..fast_budget()
    };
    let service = world.service(&api, config).await;
    let plan = service.plan_batch(payout(&online)).await.unwrap();
    service.start_batch(&plan).await.unwrap();
    let before = world.calls().publish;
    let report = service.run_batch(&plan.batch, &mut Silent).await.unwrap();
    assert_eq!(report.counts().applied, 8);
    assert_paid_once(&world, &api, &plan.batch, &online).await;
    assert_eq!(server.envelopes(), 0);
    assert!(
        world.calls().publish - before >= 8,
        "one message per player"
    );
    assert_eq!(service.pack_stats(), bot::service::PackStats::default());
}
