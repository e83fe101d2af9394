//! The bot's service against the real thing: the Open Cloud emulator over HTTP, the audit API on
//! SQLite, and game servers running the real Luau bridge on the real ProfileStore in the engine
//! emulator (real time). Each scenario of issue 7 that involves a game server: online player,
//! a player joining mid-command (the 412 path), lost messages (re-publish), the audit API down
//! (Open Cloud read confirms), the validity window passing (final "not delivered"), a replayed txn
//! id, insufficient funds, and a bot restarted mid-confirmation; plus refusals that must publish
//! and write nothing. Every scenario ends with the session-lock invariant checked on every
//! DataStore write and no Luau script error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bot::service::{
    ActorCtx, BoxFut, Committer, Db, MoveRequest, Outcome, PortError, Refusal, Service,
    ServiceConfig, ServiceError, Target, WalletEntry, WalletStore, WalletWrite, WriteError,
};
use opencloud::emulator::MessageFaults;
use sandbox::stack::{console_actor, default_service_config};
use sandbox::world::Pace;
use sandbox::{Options, Sandbox};
use shared::{Op, RecordOutcome, RejectReason, TxnId};

const ALICE: u64 = 1001;
const BOB: u64 = 1002;

/// Scenarios run one at a time: each runs real-time servers, and two cores are shared.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Short windows so the slow paths finish in seconds: a 12 s validity window, re-publish every
/// 2 s, long-poll 2 s per round.
fn quick_config() -> ServiceConfig {
    let mut c = default_service_config();
    c.command_ttl = Duration::from_secs(12);
    c.grace = Duration::from_secs(3);
    c.long_poll = Duration::from_secs(2);
    c.round_pause = Duration::from_millis(200);
    c.republish_every = Duration::from_secs(2);
    c.reply_budget = Duration::from_secs(60);
    c
}

async fn start(config: ServiceConfig) -> Sandbox {
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| println!("▸ {l}"));
    Sandbox::start(
        Options {
            servers: 2,
            players: 0,
            online: 0,
            pace: Pace::RealTime,
            bridge_log_level: "debug".into(),
            extra_roles: [("small".to_owned(), 10)].into(),
            service: Some(config),
            ..Options::default()
        },
        status,
    )
    .await
    .expect("sandbox starts")
}

fn request(op: Op, user: u64, amount: i64) -> MoveRequest {
    MoveRequest {
        actor: console_actor(),
        op,
        target: Target::Id(user),
        amount,
        reason: "bot on bridge".into(),
        replay: None,
    }
}

async fn job(sb: &Sandbox, server: usize) -> String {
    let snap = sb.world.snapshot().await.expect("snapshot");
    snap.servers[server].job_id.clone()
}

/// Joins `user` to `server` and waits (real time) until that server holds the wallet session.
async fn join_and_hold(sb: &Sandbox, user: u64, server: usize) {
    sb.world.join(user, server).await.expect("join");
    let job = job(sb, server).await;
    let start = Instant::now();
    while sb.stack.session_holder(user).as_deref() != Some(job.as_str()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "user {user}'s session never reached server {server}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn balance(sb: &Sandbox, user: u64) -> i64 {
    sb.stack.stored_wallet(user).map_or(0, |w| w.balance)
}

fn in_ring(sb: &Sandbox, user: u64, txn: &TxnId) -> Option<shared::TxnRecord> {
    sb.stack
        .stored_wallet(user)
        .and_then(|w| w.ring.iter().find(|r| &r.id == txn).cloned())
}

/// Audit rows of `txn` (the API is read with the bot's key).
async fn rows(sb: &Sandbox, user: u64, txn: &TxnId) -> Vec<api::LoggedRecord> {
    let page = sb
        .stack
        .audit_client
        .list(&api::ListParams {
            user_id: Some(user),
            limit: Some(500),
            ..api::ListParams::default()
        })
        .await
        .expect("audit list");
    page.items
        .into_iter()
        .filter(|r| &r.record.txn_id == txn)
        .collect()
}

/// Waits until `txn` has exactly one audit row (the server's outbox flush is asynchronous).
async fn one_row(sb: &Sandbox, user: u64, txn: &TxnId, within: Duration) -> api::LoggedRecord {
    let start = Instant::now();
    loop {
        let mut r = rows(sb, user, txn).await;
        assert!(r.len() <= 1, "txn {txn} has {} audit rows", r.len());
        if let Some(row) = r.pop() {
            return row;
        }
        assert!(
            start.elapsed() < within,
            "txn {txn} has no audit row after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Counts the command messages delivered on the commands topic from now on.
fn count_commands(sb: &Sandbox) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    sb.stack.backend.bus.subscribe(
        sb.stack.universe_id,
        "discord-commands",
        Arc::new(move |_: &opencloud::emulator::Message| {
            seen.fetch_add(1, Ordering::SeqCst);
        }),
    );
    n
}

/// Bridge lines (all servers) containing `needle`.
/// Bridge log lines containing `needle`, as of now: the snapshot makes the world thread
/// harvest every server's output first (a wallet read or an audit row can otherwise arrive
/// before the periodic harvest has collected the line that preceded it).
async fn bridge_lines(sb: &Sandbox, needle: &str) -> Vec<String> {
    sb.world.snapshot().await.expect("snapshot");
    sb.world
        .log_since(0)
        .into_iter()
        .filter(|l| l.text.contains("[EconomyBridge]") && l.text.contains(needle))
        .map(|l| l.text)
        .collect()
}

/// The session-lock invariant held on every DataStore write, and no server hit a script error.
async fn assert_clean(sb: &Sandbox) {
    let snap = sb.world.snapshot().await.expect("snapshot");
    assert!(snap.violations.is_empty(), "{:?}", snap.violations);
    for s in &snap.servers {
        assert_eq!(s.script_errors, 0, "server {} had script errors", s.job_id);
    }
}

fn applied(o: &Outcome) -> (i64, Committer) {
    match o {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => (*balance_after, committed_by.clone()),
        other => panic!("expected applied, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_player_is_paid_once_by_the_holder_and_confirmed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 1).await;
    let holder = job(&sb, 1).await;
    let copies = count_commands(&sb);

    let receipt = sb
        .stack
        .service
        .execute(request(Op::Give, ALICE, 25))
        .await
        .expect("give");
    assert_eq!(
        applied(&receipt.outcome),
        (25, Committer::GameServer(Some(holder.clone())))
    );
    // The bot may re-publish while the holder waits out the 6 s per-key write cooldown after its
    // session start; every copy after the first is a duplicate the ring answers.
    let copies = copies.load(Ordering::SeqCst);
    assert!(copies >= 1);
    assert_eq!(
        bridge_lines(
            &sb,
            &format!("txn {} user {ALICE} give 25: applied", receipt.txn)
        )
        .await
        .len(),
        1,
        "applied once whatever the number of copies ({copies})"
    );
    assert_eq!(balance(&sb, ALICE), 25, "committed before the bot said so");
    let rec = in_ring(&sb, ALICE, &receipt.txn).expect("in the stored ring");
    assert_eq!(rec.balance_after, 25);
    let row = one_row(&sb, ALICE, &receipt.txn, Duration::from_secs(10)).await;
    assert_eq!(row.record.server_job_id.as_deref(), Some(holder.as_str()));
    assert_eq!(
        bridge_lines(&sb, &format!("committed txn {}", receipt.txn))
            .await
            .len(),
        1,
        "applied and announced by exactly one server"
    );
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

/// A wallet store that lets the player join a game server right before the bot's first
/// compare-and-swap write, and waits until that server's session is saved: the write must then
/// be refused (412) and the bot must go the online way.
struct JoinBeforeFirstWrite {
    inner: Arc<dyn WalletStore>,
    sb: Arc<Sandbox>,
    user: u64,
    fired: AtomicBool,
}

impl WalletStore for JoinBeforeFirstWrite {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        self.inner.read(user_id)
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            if !self.fired.swap(true, Ordering::SeqCst) {
                join_and_hold(&self.sb, self.user, 0).await;
            }
            self.inner.write(write).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_joining_mid_command_turns_the_write_into_a_412_and_a_publish() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = Arc::new(start(quick_config()).await);
    // Bob played before: his wallet exists, offline, with 10.
    join_and_hold(&sb, BOB, 1).await;
    let first = sb
        .stack
        .service
        .execute(request(Op::Give, BOB, 10))
        .await
        .expect("give");
    applied(&first.outcome);
    sb.world.leave(BOB).await.expect("leave");
    let start_wait = Instant::now();
    while sb.stack.session_holder(BOB).is_some() {
        assert!(
            start_wait.elapsed() < Duration::from_secs(30),
            "never released"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut ports = sb.stack.ports.clone();
    let wrapped = Arc::new(JoinBeforeFirstWrite {
        inner: ports.wallets.clone(),
        sb: sb.clone(),
        user: BOB,
        fired: AtomicBool::new(false),
    });
    ports.wallets = wrapped.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(&format!(
        "sqlite://{}",
        dir.path().join("bot2.db").display()
    ))
    .await
    .expect("bot db");
    let service = Service::new(ports, db, sb.stack.secrets.command_keys(), quick_config());
    let receipt = service
        .execute(request(Op::Give, BOB, 5))
        .await
        .expect("give");
    let holder = job(&sb, 0).await;
    assert_eq!(
        applied(&receipt.outcome),
        (15, Committer::GameServer(Some(holder))),
        "applied by the server the player joined, not by the bot"
    );
    assert!(
        wrapped.fired.load(Ordering::SeqCst),
        "the bot tried the offline write first"
    );
    assert_eq!(balance(&sb, BOB), 15, "applied exactly once");
    one_row(&sb, BOB, &receipt.txn, Duration::from_secs(10)).await;
    assert_clean(&sb).await;
    service.db().close().await;
    drop(service);
    drop(wrapped);
    let sb = Arc::into_inner(sb).expect("sole owner");
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_messages_are_re_published_until_the_holder_applies() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 0).await;
    let bus = sb.stack.backend.bus.clone();
    let before = bus.stats();
    let delivered = count_commands(&sb);
    bus.set_faults(Some(MessageFaults {
        drop: 1.0,
        ..MessageFaults::none(7)
    }));
    let service = sb.stack.service.clone();
    let run = tokio::spawn(async move { service.execute(request(Op::Give, ALICE, 7)).await });
    // Two copies lost, then delivery works again.
    let start_wait = Instant::now();
    while bus.stats().dropped - before.dropped < 2 {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "no re-publish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bus.set_faults(None);
    let receipt = run.await.expect("task").expect("give");
    assert_eq!(applied(&receipt.outcome).0, 7);
    assert!(
        bus.stats().dropped - before.dropped >= 2 && delivered.load(Ordering::SeqCst) >= 1,
        "two copies lost, a later copy delivered"
    );
    assert_eq!(balance(&sb, ALICE), 7);
    one_row(&sb, ALICE, &receipt.txn, Duration::from_secs(10)).await;
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_audit_api_down_the_wallet_read_confirms_and_the_row_follows() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 0).await;
    sb.stack.api.stop().await.expect("API stops");
    let receipt = sb
        .stack
        .service
        .execute(request(Op::Give, ALICE, 9))
        .await
        .expect("give");
    assert_eq!(applied(&receipt.outcome).0, 9, "confirmed from the wallet");
    assert_eq!(balance(&sb, ALICE), 9);
    // The record waits in the stored outbox (committed with the txn) until the API is back.
    let outbox = sb.stack.stored_wallet(ALICE).expect("wallet").outbox;
    assert!(
        outbox
            .iter()
            .any(|r| r.txn_id.as_str() == receipt.txn.as_str()),
        "record kept in the outbox while the API is down"
    );
    sb.stack.api.restart().await.expect("API restarts");
    let row = one_row(&sb, ALICE, &receipt.txn, Duration::from_secs(60)).await;
    assert_eq!(row.record.balance_after, 9);
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_command_is_final_after_its_window_and_late_delivery_moves_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 0).await;
    let bus = sb.stack.backend.bus.clone();
    bus.set_faults(Some(MessageFaults {
        drop: 1.0,
        ..MessageFaults::none(8)
    }));
    // Past expiresAt + grace the holder may still hold an apply it has not saved: the outcome is
    // final only after a save of the holder's made after the expiry. Here the player leaves once
    // the window and the grace have passed, and the session's release save is that save.
    let world = sb.world.clone();
    let leaves = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(17)).await;
        world.leave(ALICE).await.expect("leave");
    });
    let receipt = sb
        .stack
        .service
        .execute(request(Op::Give, ALICE, 11))
        .await
        .expect("give");
    leaves.await.expect("the player left");
    assert_eq!(receipt.outcome, Outcome::NotDelivered);
    assert_eq!(balance(&sb, ALICE), 0);
    assert!(in_ring(&sb, ALICE, &receipt.txn).is_none());
    // Messaging recovers and a stale copy arrives late: the window has passed, nothing moves.
    bus.set_faults(None);
    let signed = sb
        .stack
        .service
        .db()
        .get(&receipt.txn)
        .await
        .expect("db")
        .expect("the txn is stored")
        .message;
    let stats = bus.stats();
    bus.publish(sb.stack.universe_id, "discord-commands", signed);
    let start_wait = Instant::now();
    while bus.stats().delivered == stats.delivered {
        assert!(
            start_wait.elapsed() < Duration::from_secs(10),
            "not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(balance(&sb, ALICE), 0, "a late copy moves nothing");
    if let Some(rec) = in_ring(&sb, ALICE, &receipt.txn) {
        assert_eq!(rec.outcome, RecordOutcome::Rejected);
        assert_eq!(rec.reject_reason, Some(RejectReason::Expired));
    }
    assert!(
        bridge_lines(
            &sb,
            &format!("txn {} user {ALICE} give 11: applied", receipt.txn)
        )
        .await
        .is_empty()
    );
    // Asking again answers the stored final outcome.
    assert_eq!(
        sb.stack
            .service
            .stored_outcome(&receipt.txn)
            .await
            .expect("db"),
        Some(Outcome::NotDelivered)
    );
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_txn_id_is_already_processed_and_insufficient_funds_is_recorded() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 1).await;
    let give = sb
        .stack
        .service
        .execute(request(Op::Give, ALICE, 30))
        .await
        .expect("give");
    applied(&give.outcome);

    let mut again = request(Op::Give, ALICE, 30);
    again.replay = Some(give.txn.clone());
    let replay = sb.stack.service.execute(again).await.expect("replay");
    assert_eq!(replay.txn, give.txn);
    assert!(
        matches!(&replay.outcome, Outcome::AlreadyProcessed { original } if matches!(**original, Outcome::Applied { balance_after: 30, .. })),
        "{:?}",
        replay.outcome
    );
    assert_eq!(balance(&sb, ALICE), 30, "nothing moved on replay");

    let deduct = sb
        .stack
        .service
        .execute(request(Op::Deduct, ALICE, 31))
        .await
        .expect("deduct");
    assert_eq!(
        deduct.outcome,
        Outcome::Rejected {
            reason: RejectReason::InsufficientFunds,
            balance: 30
        }
    );
    let rec = in_ring(&sb, ALICE, &deduct.txn).expect("the rejection is recorded");
    assert_eq!(rec.outcome, RecordOutcome::Rejected);
    let row = one_row(&sb, ALICE, &deduct.txn, Duration::from_secs(10)).await;
    assert_eq!(row.record.outcome, RecordOutcome::Rejected);
    assert_eq!(balance(&sb, ALICE), 30);
    assert_eq!(
        rows(&sb, ALICE, &give.txn).await.len(),
        1,
        "one row per txn"
    );
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

/// What a refused request must be refused for.
type RefusalCheck = fn(&Refusal) -> bool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_publish_nothing_and_write_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sb = start(quick_config()).await;
    join_and_hold(&sb, ALICE, 0).await;
    let published = sb.stack.backend.bus.stats().published;
    let stranger = ActorCtx {
        id: "42".into(),
        name: "stranger".into(),
        roles: vec!["not-staff".into()],
    };
    let small = ActorCtx {
        id: "43".into(),
        name: "helper".into(),
        roles: vec!["small".into()],
    };
    let cases: Vec<(MoveRequest, RefusalCheck)> = vec![
        (
            MoveRequest {
                actor: stranger,
                ..request(Op::Give, ALICE, 5)
            },
            |r| matches!(r, Refusal::NotAllowed),
        ),
        (
            MoveRequest {
                actor: small,
                ..request(Op::Give, ALICE, 11)
            },
            |r| matches!(r, Refusal::OverRoleMax { max: 10 }),
        ),
        (request(Op::Give, ALICE, 0), |r| {
            matches!(r, Refusal::AmountOutOfRange { .. })
        }),
        (
            MoveRequest {
                reason: String::new(),
                ..request(Op::Give, ALICE, 5)
            },
            |r| matches!(r, Refusal::BadReason),
        ),
        (
            MoveRequest {
                target: Target::Name("nobody_here".into()),
                ..request(Op::Give, ALICE, 5)
            },
            |r| matches!(r, Refusal::UnknownUser(_)),
        ),
    ];
    for (req, expected) in cases {
        match sb.stack.service.execute(req.clone()).await {
            Err(ServiceError::Refused(r)) => assert!(expected(&r), "{req:?}: {r:?}"),
            other => panic!("{req:?} was not refused: {other:?}"),
        }
    }
    assert_eq!(
        sb.stack.backend.bus.stats().published,
        published,
        "nothing published"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(balance(&sb, ALICE), 0);
    assert!(
        sb.stack
            .stored_wallet(ALICE)
            .is_none_or(|w| w.ring.is_empty()),
        "nothing recorded"
    );
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_resumes_the_pending_confirmation() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut config = quick_config();
    config.reply_budget = Duration::from_secs(3);
    config.command_ttl = Duration::from_secs(60);
    let sb = start(config.clone()).await;
    join_and_hold(&sb, ALICE, 1).await;
    let bus = sb.stack.backend.bus.clone();
    bus.set_faults(Some(MessageFaults {
        drop: 1.0,
        ..MessageFaults::none(9)
    }));
    let receipt = sb
        .stack
        .service
        .execute(request(Op::Give, ALICE, 13))
        .await
        .expect("give");
    assert_eq!(receipt.outcome, Outcome::Pending, "not confirmed in 3 s");
    // The bot goes away (its database closes); a new process opens the same database.
    sb.stack.service.db().close().await;
    bus.set_faults(None);
    let db = Db::open(&format!("sqlite://{}", sb.stack.bot_db.display()))
        .await
        .expect("reopen");
    let restarted = Service::new(
        sb.stack.ports.clone(),
        db,
        sb.stack.secrets.command_keys(),
        config,
    );
    let report = restarted
        .reconcile(Duration::from_secs(30))
        .await
        .expect("reconcile");
    assert_eq!(report.settled, 1, "{report:?}");
    let outcome = restarted
        .stored_outcome(&receipt.txn)
        .await
        .expect("db")
        .expect("known");
    assert_eq!(applied(&outcome).0, 13);
    assert_eq!(balance(&sb, ALICE), 13, "applied once");
    one_row(&sb, ALICE, &receipt.txn, Duration::from_secs(10)).await;
    assert_clean(&sb).await;
    restarted.db().close().await;
    sb.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_s_envelopes_are_read_by_the_real_bridge_and_each_player_is_paid_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut config = quick_config();
    // A budget that starts every item at once, so the online ones are due together.
    config.bulk.assumed_ccu = 100_000;
    let sb = start(config).await;
    let online: Vec<u64> = (2001..2007).collect();
    for (i, &p) in online.iter().enumerate() {
        join_and_hold(&sb, p, i % 2).await;
    }
    let offline = [2101, 2102];
    let everyone: Vec<u64> = online.iter().chain(&offline).copied().collect();
    let service = &sb.stack.service;
    let plan = service
        .plan_batch(bot::service::BatchRequest {
            actor: console_actor(),
            amount: 40,
            reason: "winter event winners".into(),
            user_ids: everyone.clone(),
        })
        .await
        .expect("plan");
    service.start_batch(&plan).await.expect("start");
    let report = service
        .run_batch(&plan.batch, &mut bot::service::bulk::Silent)
        .await
        .expect("run");
    assert_eq!(report.counts().applied, 8, "{:?}", report.counts());
    for &p in &everyone {
        let txn = plan.batch.item_txn(p);
        assert_eq!(balance(&sb, p), 40, "player {p} paid once");
        assert!(
            in_ring(&sb, p, &txn).is_some(),
            "player {p}: the derived txn"
        );
        let row = one_row(&sb, p, &txn, Duration::from_secs(10)).await;
        assert_eq!(row.record.server_job_id.is_some(), online.contains(&p));
    }
    for (i, &p) in online.iter().enumerate() {
        let holder = job(&sb, i % 2).await;
        let txn = plan.batch.item_txn(p);
        let lines = bridge_lines(&sb, &format!("txn {txn} user {p} give 40: applied")).await;
        assert_eq!(lines.len(), 1, "applied once, by {holder}");
    }
    // Whatever the packer made of them (envelopes, or packs of one sent as the player's own
    // command), the real bridge read every message it sent: nothing refused, and each envelope
    // announced once on each of the two servers.
    let stats = service.pack_stats();
    println!("packed: {stats:?}");
    assert!(stats.enveloped_items + stats.singles >= 6, "{stats:?}");
    assert!(bridge_lines(&sb, "command refused").await.is_empty());
    let announced = bridge_lines(&sb, &format!("batch envelope {}", plan.batch)).await;
    assert!(
        announced.len() as u64 >= 2 * stats.envelopes,
        "{stats:?}: {announced:?}"
    );
    assert_clean(&sb).await;
    sb.shutdown().await.expect("shutdown");
}
