//! The service layer against the Open Cloud emulator (store, bus, users), the audit API on SQLite
//! and the bot's SQLite database. Game servers are the labelled stand-in in `support`.

mod support;

use api::testing::TestKeys;
use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::Calls;
use bot::service::{
    BoxFut, Committer, Outcome, PortError, Refusal, ServiceError, Target, WalletEntry, WalletStore,
    WalletWrite, WriteError,
};
use serde_json::json;
use shared::{Op, RecordOutcome, RejectReason};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::*;

fn applied(outcome: &Outcome) -> (i64, Committer) {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => (*balance_after, committed_by.clone()),
        other => panic!("expected applied, got {other:?}"),
    }
}

#[tokio::test]
async fn offline_player_is_paid_by_compare_and_swap_keeping_metadata() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    world.seed_offline_profile(ALICE, 40);
    let before = world.stored(ALICE).unwrap();
    let c0 = world.calls();

    let receipt = service.execute(request(Op::Give, ALICE, 60)).await.unwrap();
    assert_eq!(applied(&receipt.outcome), (100, Committer::Bot));
    assert_eq!(receipt.user.display_name, "Alice the Brave");
    let c = world.calls().since(&c0);
    assert_eq!(
        (c.get, c.set, c.publish),
        (1, 1, 0),
        "one read, one CAS write, no publish"
    );

    let after = world.stored(ALICE).unwrap();
    for k in ["MetaData", "RobloxMetaData", "UserIds", "GlobalUpdates"] {
        assert_eq!(after[k], before[k], "{k} kept");
    }
    let entry = world.emulator.store.get(&wallet_key(ALICE)).unwrap();
    assert_eq!(entry.attributes.as_deref(), Some("{\"tier\":\"gold\"}"));
    assert_eq!(entry.user_ids, vec![ALICE]);
    let wallet = world.wallet(ALICE);
    assert_eq!(wallet.balance, 100);
    assert_eq!(
        wallet.find(&receipt.txn).unwrap().outcome,
        RecordOutcome::Applied
    );
    assert_eq!(
        wallet.outbox.len(),
        1,
        "the audit record was committed with the txn"
    );
    let logged = api.record(&receipt.txn).await.expect("posted after commit");
    assert_eq!(logged.balance_after, 100);
    assert_eq!(logged.server_job_id, None);

    // The next offline write drops the outbox record the API acknowledged.
    let second = service
        .execute(request(Op::Deduct, ALICE, 30))
        .await
        .unwrap();
    assert_eq!(applied(&second.outcome).0, 70);
    let wallet = world.wallet(ALICE);
    assert_eq!(wallet.outbox.len(), 1);
    assert_eq!(wallet.outbox[0].txn_id, second.txn);
    world.assert_single_writer();
}

#[tokio::test]
async fn a_player_who_never_played_gets_a_new_profile() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let receipt = service
        .execute(bot::service::MoveRequest {
            target: Target::Name("BOB".into()),
            ..request(Op::Give, 0, 5)
        })
        .await
        .unwrap();
    assert_eq!(receipt.user.id, BOB);
    assert_eq!(applied(&receipt.outcome).0, 5);
    let stored = world.stored(BOB).unwrap();
    assert!(stored["MetaData"].is_object() && stored["MetaData"].get("ActiveSession").is_none());
    assert_eq!(stored["GlobalUpdates"], json!([0, []]));
    let entry = world.emulator.store.get(&wallet_key(BOB)).unwrap();
    assert_eq!(entry.user_ids, vec![BOB]);
}

#[tokio::test]
async fn online_player_is_paid_by_the_session_holder_and_confirmed_through_the_audit_api() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-A", Some(api.game_client()));
    server.join(ALICE);
    let mut config = service_config();
    config.long_poll = Duration::from_secs(2);
    let service = world.service(&api, config).await;
    let c0 = world.calls();

    let receipt = service.execute(request(Op::Give, ALICE, 25)).await.unwrap();
    assert_eq!(
        applied(&receipt.outcome),
        (25, Committer::GameServer(Some("job-A".into())))
    );
    let c = world.calls().since(&c0);
    assert_eq!(
        (c.get, c.set, c.publish),
        (1, 0, 1),
        "read + publish: {c:?}"
    );
    assert_eq!(server.applied(), 1);
    assert_eq!(world.wallet(ALICE).balance, 25);
    world.assert_single_writer();
}

/// Wraps the emulator store: right before the bot's first write, the player joins a server.
struct JoinBeforeFirstWrite {
    inner: Arc<bot::adapters::emulator::EmulatorPorts>,
    server: Arc<StandInServer>,
    user: u64,
    fired: AtomicBool,
}

impl WalletStore for JoinBeforeFirstWrite {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        self.inner.read(user_id)
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            self.server.join(self.user);
        }
        self.inner.write(write)
    }
}

/// A store whose 412s carry no entry: Roblox does not document a 412's body.
struct ErrorOnlyConflicts<W>(W);

impl<W: WalletStore> WalletStore for ErrorOnlyConflicts<W> {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        self.0.read(user_id)
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            match self.0.write(write).await {
                Err(WriteError::Conflict { .. }) => Err(WriteError::Conflict { current: None }),
                other => other,
            }
        })
    }
}

/// An offline give whose one compare-and-swap write meets a player who just joined a server (a
/// 412, carrying the entry or not): the holder applies it, exactly once. Answers the calls made.
async fn join_mid_command(job: &str, entry_in_412: bool) -> Calls {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 10);
    let server = StandInServer::start(&world, job, Some(api.game_client()));
    let joining = JoinBeforeFirstWrite {
        inner: world.ports.clone(),
        server: server.clone(),
        user: ALICE,
        fired: AtomicBool::new(false),
    };
    let wallets: Arc<dyn WalletStore> = if entry_in_412 {
        Arc::new(joining)
    } else {
        Arc::new(ErrorOnlyConflicts(joining))
    };
    let audit = Arc::new(ApiAuditLog::new(api.bot_client()));
    let service = world.service_with(audit, wallets, service_config()).await;
    let c0 = world.calls();
    let receipt = service.execute(request(Op::Give, ALICE, 5)).await.unwrap();
    let (balance, by) = applied(&receipt.outcome);
    assert_eq!(balance, 15);
    assert!(matches!(by, Committer::GameServer(_)), "{by:?}");
    let c = world.calls().since(&c0);
    assert_eq!(
        c.set, 1,
        "one CAS write, refused with 412; no write on a guessed entry: {c:?}"
    );
    assert!(c.publish >= 1);
    assert_eq!(world.wallet(ALICE).balance, 15, "applied exactly once");
    world.assert_single_writer();
    c
}

#[tokio::test]
async fn a_player_joining_mid_command_turns_the_write_into_a_412_and_a_publish() {
    join_mid_command("job-B", true).await;
}

#[tokio::test]
async fn a_412_without_the_entry_is_followed_by_one_read_not_blind_writes() {
    let c = join_mid_command("job-B2", false).await;
    assert!(c.get >= 2, "the entry was read again after the 412: {c:?}");
}

#[tokio::test]
async fn lost_messages_are_re_published_until_confirmed() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-C", Some(api.game_client()));
    server.join(ALICE);
    server.drop_next(2);
    let service = world.service(&api, service_config()).await;
    let c0 = world.calls();
    let receipt = service.execute(request(Op::Give, ALICE, 7)).await.unwrap();
    assert_eq!(applied(&receipt.outcome).0, 7);
    let c = world.calls().since(&c0);
    assert_eq!(c.publish, 3, "two lost, the third delivered: {c:?}");
    assert_eq!(server.seen(), 3);
    assert_eq!(world.wallet(ALICE).balance, 7);
}

#[tokio::test]
async fn with_the_audit_api_down_the_wallet_read_confirms() {
    let world = World::new();
    let dead = dead_api();
    let keys = TestKeys::generate();
    let server = StandInServer::start(
        &world,
        "job-D",
        Some(audit_client::AuditClient::new(
            &dead.url(),
            keys.game.clone(),
        )),
    );
    server.join(ALICE);
    let audit = Arc::new(ApiAuditLog::new(audit_client::AuditClient::new(
        &dead.url(),
        keys.bot.clone(),
    )));
    let service = world
        .service_with(audit, world.ports.clone(), service_config())
        .await;
    let receipt = service.execute(request(Op::Give, ALICE, 9)).await.unwrap();
    assert_eq!(applied(&receipt.outcome).0, 9);
    let wallet = world.wallet(ALICE);
    assert_eq!(
        wallet.outbox.len(),
        1,
        "unposted record waits in the outbox"
    );
}

#[tokio::test]
async fn offline_commit_with_the_api_down_is_posted_later_by_the_reconciler() {
    let world = World::new();
    let dead = dead_api();
    let keys = TestKeys::generate();
    let audit = Arc::new(ApiAuditLog::new(audit_client::AuditClient::new(
        &dead.url(),
        keys.bot.clone(),
    )));
    let service = world
        .service_with(audit, world.ports.clone(), service_config())
        .await;
    let receipt = service.execute(request(Op::Give, ALICE, 11)).await.unwrap();
    assert_eq!(
        applied(&receipt.outcome).0,
        11,
        "committed: success regardless of the API"
    );
    assert_eq!(service.db().unacked_records().await.unwrap().len(), 1);
    service.db().close().await;
    drop(service);

    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let report = service.reconcile(Duration::from_secs(5)).await.unwrap();
    assert_eq!(report.audit_posted, 1);
    assert_eq!(api.record(&receipt.txn).await.unwrap().balance_after, 11);
    assert!(service.db().unacked_records().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_undelivered_command_is_final_after_its_window_and_late_delivery_changes_nothing() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-E", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let mut config = service_config();
    config.reply_budget = Duration::from_secs(120);
    let service = world.service(&api, config).await;
    let start = world.now_ms();
    let receipt = service.execute(request(Op::Give, ALICE, 3)).await.unwrap();
    // Past expiresAt + grace, but the holder has not saved since the command expired: it may
    // have applied it just before and not saved yet, so nothing is final.
    assert_eq!(receipt.outcome, Outcome::Pending);
    assert!(
        world.now_ms() > start + 60_000 + 10_000,
        "waited past expiresAt + grace"
    );
    // The holder's next save (its library's periodic one) lacks the txn: now it is final.
    server.autosave(ALICE);
    let outcome = service
        .confirm(&receipt.txn, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::NotDelivered);
    // The held copies arrive late: the apply rule refuses them as expired; nothing moves.
    server.resume(true);
    let wallet = world.wallet(ALICE);
    assert_eq!(wallet.balance, 0);
    let rec = wallet.find(&receipt.txn).unwrap();
    assert_eq!(rec.reject_reason, Some(RejectReason::Expired));
    let row = service.db().get(&receipt.txn).await.unwrap().unwrap();
    assert_eq!(row.outcome, Outcome::NotDelivered);
}

#[tokio::test]
async fn replaying_a_txn_id_returns_the_original_outcome() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let first = service.execute(request(Op::Give, ALICE, 50)).await.unwrap();
    let mut again = request(Op::Give, ALICE, 50);
    again.replay = Some(first.txn.clone());
    let replay = service.execute(again.clone()).await.unwrap();
    assert_eq!(
        replay.outcome,
        Outcome::AlreadyProcessed {
            original: Box::new(first.outcome.clone())
        }
    );
    assert_eq!(world.wallet(ALICE).balance, 50);

    // A different command under the same id is refused.
    let mut other = again.clone();
    other.amount = 51;
    let err = service.execute(other).await.unwrap_err();
    assert!(matches!(
        err,
        ServiceError::Refused(Refusal::ReplayMismatch(_))
    ));

    // A bot that lost its database still answers from the audit log.
    service.db().close().await;
    drop(service);
    let fresh = World::new();
    let other_bot = fresh.service(&api, service_config()).await;
    let replay = other_bot.execute(again).await.unwrap();
    assert!(matches!(replay.outcome, Outcome::AlreadyProcessed { .. }));
    assert_eq!(
        fresh.wallet(ALICE).balance,
        0,
        "nothing applied in the other world"
    );
}

#[tokio::test]
async fn insufficient_funds_is_a_recorded_rejection() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 20);
    let service = world.service(&api, service_config()).await;
    let receipt = service
        .execute(request(Op::Deduct, ALICE, 21))
        .await
        .unwrap();
    assert_eq!(
        receipt.outcome,
        Outcome::Rejected {
            reason: RejectReason::InsufficientFunds,
            balance: 20
        }
    );
    let wallet = world.wallet(ALICE);
    assert_eq!(wallet.balance, 20);
    assert_eq!(
        wallet.find(&receipt.txn).unwrap().outcome,
        RecordOutcome::Rejected
    );
    let logged = api.record(&receipt.txn).await.unwrap();
    assert_eq!(logged.reject_reason, Some(RejectReason::InsufficientFunds));
}

#[tokio::test]
async fn unauthorized_actors_and_bad_input_change_nothing() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let mut guest = request(Op::Give, ALICE, 5);
    guest.actor.roles = vec!["12345".into()];
    let mut junior = request(Op::Give, ALICE, 51);
    junior.actor.roles = vec!["901".into()];
    let zero = request(Op::Give, ALICE, 0);
    let mut blank = request(Op::Give, ALICE, 5);
    blank.reason = "   ".into();
    let unknown = request(Op::Give, 999_999, 5);
    let c0 = world.calls();
    for (req, want) in [
        (guest, "NotAllowed"),
        (junior, "OverRoleMax"),
        (zero, "AmountOutOfRange"),
        (blank, "BadReason"),
        (unknown, "UnknownUser"),
    ] {
        let err = service.execute(req).await.unwrap_err();
        assert!(format!("{err:?}").contains(want), "{err:?} is not {want}");
    }
    let c = world.calls().since(&c0);
    assert_eq!(c.open_cloud(), 0, "no wallet read, write or publish");
    assert!(world.stored(ALICE).is_none());
    assert!(service.db().pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn daily_cap_and_cooldown_are_enforced_from_the_database() {
    let world = World::new();
    let api = AuditApi::start().await;
    let mut config = service_config();
    config.policy.daily_cap = 150;
    config.policy.cooldown = Duration::from_secs(10);
    let service = world.service(&api, config.clone()).await;
    service
        .execute(request(Op::Give, ALICE, 100))
        .await
        .unwrap();
    let err = service
        .execute(request(Op::Give, ALICE, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Refused(Refusal::Cooldown { .. })),
        "{err:?}"
    );
    world.clock.advance(10_000);
    let err = service
        .execute(request(Op::Give, BOB, 60))
        .await
        .unwrap_err();
    assert_eq!(
        format!("{err}"),
        "this would pass your daily cap of 150 (used in the last 24 h: 100)"
    );
    // A restarted bot remembers.
    service.db().close().await;
    drop(service);
    let service = world.service(&api, config).await;
    assert!(service.execute(request(Op::Give, BOB, 60)).await.is_err());
    assert_eq!(
        applied(
            &service
                .execute(request(Op::Give, BOB, 50))
                .await
                .unwrap()
                .outcome
        )
        .0,
        50
    );
    world.clock.advance(24 * 3_600_000);
    assert!(
        service.execute(request(Op::Give, BOB, 150)).await.is_ok(),
        "a new day"
    );
}

#[tokio::test]
async fn a_restarted_bot_resumes_pending_confirmations() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-F", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let mut config = service_config();
    config.reply_budget = Duration::from_secs(5);
    let service = world.service(&api, config.clone()).await;
    let receipt = service.execute(request(Op::Give, ALICE, 8)).await.unwrap();
    assert_eq!(receipt.outcome, Outcome::Pending);
    service.db().close().await;
    drop(service); // the bot stops; what the server held is lost with its queue

    server.resume(false);
    let service = world.service(&api, config).await;
    let report = service.reconcile(Duration::from_secs(30)).await.unwrap();
    assert_eq!((report.settled, report.still_pending), (1, 0));
    let outcome = service.confirm(&receipt.txn, Duration::ZERO).await.unwrap();
    assert_eq!(applied(&outcome).0, 8);
    assert_eq!(world.wallet(ALICE).balance, 8);
    assert_eq!(server.applied(), 1);
}

#[tokio::test]
async fn a_dead_session_lock_is_released_then_the_bot_writes() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 1);
    // A server crashed while holding the lock, long ago (past ProfileStore's 630 s).
    let now_s = world.now_ms() / 1000;
    world
        .emulator
        .store
        .update(
            &wallet_key(ALICE),
            &opencloud::emulator::Writer::game_server("crashed"),
            |cur| {
                let e = cur.unwrap();
                let mut v: serde_json::Value = serde_json::from_str(&e.value).unwrap();
                v["MetaData"]["ActiveSession"] = json!([1, "crashed", "s"]);
                v["MetaData"]["LastUpdate"] = json!(now_s - 2_000);
                opencloud::emulator::Transform::Write {
                    value: v.to_string(),
                    attributes: e.attributes.clone(),
                    user_ids: e.user_ids.clone(),
                }
            },
        )
        .unwrap();
    let service = world.service(&api, service_config()).await;
    let receipt = service.execute(request(Op::Give, ALICE, 4)).await.unwrap();
    assert_eq!(applied(&receipt.outcome), (5, Committer::Bot));
    assert!(
        world.stored(ALICE).unwrap()["MetaData"]
            .get("ActiveSession")
            .is_none()
    );
    world.assert_single_writer();
}

#[tokio::test]
async fn balance_shows_the_saved_balance_and_the_live_session() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 33);
    let service = world.service(&api, service_config()).await;
    let view = service
        .balance(&staff(), &Target::Name("alice".into()))
        .await
        .unwrap();
    assert_eq!((view.balance, view.in_live_server), (33, false));
    let server = StandInServer::start(&world, "job-G", None);
    server.join(ALICE);
    let view = service.balance(&staff(), &Target::Id(ALICE)).await.unwrap();
    assert!(view.in_live_server);
    let mut guest = staff();
    guest.roles.clear();
    assert!(service.balance(&guest, &Target::Id(ALICE)).await.is_err());
}

/// The wallet read for a Confirm prompt is the delivery's first read; when another movement
/// lands in between, a refusal decided on it (here: insufficient funds) is checked on a fresh
/// read, and a write based on it fails its compare-and-swap.
#[tokio::test]
async fn a_stale_prompt_read_never_decides_the_outcome() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    world.seed_offline_profile(ALICE, 5);
    let alice = service.resolve(&Target::Id(ALICE)).await.unwrap();
    let stale = service.read_wallet(&alice).await.unwrap();
    assert_eq!(stale.balance, 5);
    service
        .execute(request(Op::Give, ALICE, 200))
        .await
        .unwrap();
    let r = service
        .execute_after_read(request(Op::Deduct, ALICE, 100), stale.clone())
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Applied { .. }), "{r:?}");
    assert_eq!(world.wallet(ALICE).balance, 105);
    let r = service
        .execute_after_read(request(Op::Give, ALICE, 1), stale)
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Applied { .. }), "{r:?}");
    assert_eq!(
        world.wallet(ALICE).balance,
        106,
        "the stale read did not win"
    );
}

type ReadHook = Box<dyn Fn(u64) + Send + Sync>;

/// The wallet store with something happening around the first read after `after_ms` on the
/// service's clock: `before` runs just before that read, `after` just after it (so the bot
/// decides on an entry the world has already moved past).
struct AroundFirstLateRead {
    inner: Arc<dyn WalletStore>,
    clock: Arc<opencloud::emulator::ManualClock>,
    after_ms: i64,
    before: ReadHook,
    after: ReadHook,
    done: AtomicBool,
}

impl WalletStore for AroundFirstLateRead {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        Box::pin(async move {
            use opencloud::emulator::Clock as _;
            let late =
                self.clock.now_ms() > self.after_ms && !self.done.swap(true, Ordering::SeqCst);
            if late {
                (self.before)(user_id);
            }
            let r = self.inner.read(user_id).await;
            if late {
                (self.after)(user_id);
            }
            r
        })
    }
    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        self.inner.write(write)
    }
}

/// Regression (issue 19, found by the campaign): a holder applied the command just before it
/// expired and its save landed after expiresAt + grace. The bot read the entry without the txn
/// and reported "not delivered" for a txn that then committed; it must wait for a save by the
/// holder made after the expiry.
#[tokio::test]
async fn an_apply_saved_after_the_window_is_applied_not_undelivered() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-L", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let config = service_config();
    let start = world.now_ms();
    let expires_at = start + config.command_ttl.as_millis() as i64;
    let final_at = expires_at + config.grace.as_millis() as i64;
    let holder = server.clone();
    let wallets = Arc::new(AroundFirstLateRead {
        inner: world.ports.clone(),
        clock: world.clock.clone(),
        after_ms: final_at,
        before: Box::new(|_| {}),
        // The bot holds an entry without the txn; the holder's save, which applied it in
        // memory before it expired, lands right after this read.
        after: Box::new(move |_| holder.apply_held_as_of(expires_at - 1_000)),
        done: AtomicBool::new(false),
    });
    let audit = Arc::new(ApiAuditLog::new(api.bot_client()));
    let service = world.service_with(audit, wallets, config).await;
    let receipt = service.execute(request(Op::Give, ALICE, 7)).await.unwrap();
    assert_eq!(
        applied(&receipt.outcome),
        (7, Committer::GameServer(Some("job-L".into()))),
        "the holder's late save committed it"
    );
    assert_eq!(world.wallet(ALICE).balance, 7);
    world.assert_single_writer();
}

/// Campaign seed 4994: the player left before the command was applied, so after `expiresAt` (by
/// the bot's clock) nobody held the wallet; a server whose clock ran behind the bot's then
/// started the player's session and applied a late copy of the message, still valid by its own
/// clock. "Not delivered" must wait out the grace even when nobody holds the session.
#[tokio::test]
async fn no_holder_after_expiry_is_not_final_before_the_grace_ends() {
    let world = World::new();
    let api = AuditApi::start().await;
    let left = StandInServer::start(&world, "job-A", Some(api.game_client()));
    let joined = StandInServer::start(&world, "job-B", Some(api.game_client()));
    left.join(ALICE);
    left.pause();
    joined.pause();
    let config = service_config();
    let expires_at = world.now_ms() + config.command_ttl.as_millis() as i64;
    let wallets = Arc::new(AroundFirstLateRead {
        inner: world.ports.clone(),
        clock: world.clock.clone(),
        after_ms: expires_at,
        // The player left without the command applied: the bot reads no holder.
        before: Box::new(move |user| left.leave(user)),
        // Then they join a server that holds a delayed copy of the message and applies it as
        // of a moment still inside the window by its own clock.
        after: Box::new(move |user| {
            joined.join(user);
            joined.apply_held_as_of(expires_at - 1_000);
        }),
        done: AtomicBool::new(false),
    });
    let audit = Arc::new(ApiAuditLog::new(api.bot_client()));
    let service = world.service_with(audit, wallets, config).await;
    let receipt = service.execute(request(Op::Give, ALICE, 7)).await.unwrap();
    assert_eq!(
        applied(&receipt.outcome),
        (7, Committer::GameServer(Some("job-B".into()))),
        "the server the player joined after the expiry applied it"
    );
    assert_eq!(world.wallet(ALICE).balance, 7);
    world.assert_single_writer();
}
