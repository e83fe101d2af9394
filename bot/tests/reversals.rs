//! `/reverse` in the service (docs/protocol.md §2.1): the opposite movement of an applied txn's
//! amount under an id derived from the original, naming it in the ring, the audit record and the
//! receipt; every refusal (not logged, rejected, a reversal, already reversed — across a restart,
//! a lost bot database and two services racing on one PostgreSQL database —, a deduct the
//! balance cannot cover) changes nothing. Real audit API, the Open Cloud emulator, both databases.

mod support;

use bot::service::{Committer, Outcome, Receipt, Refusal, ReverseRequest, Service, ServiceError};
use shared::{Op, RecordOutcome, TxnId};
use std::time::Duration;
use support::*;

fn reverse(original: &TxnId) -> ReverseRequest {
    ReverseRequest {
        actor: staff(),
        original: original.clone(),
        reason: "wrong player".into(),
    }
}

fn balance_after(receipt: &Receipt) -> i64 {
    match &receipt.outcome {
        Outcome::Applied { balance_after, .. } => *balance_after,
        other => panic!("expected applied, got {other:?}"),
    }
}

fn refusal(result: Result<Receipt, ServiceError>) -> Refusal {
    match result {
        Err(ServiceError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Gives `amount` to ALICE (offline) and returns the receipt.
async fn give(service: &Service, amount: i64) -> Receipt {
    let r = service
        .execute(request(Op::Give, ALICE, amount))
        .await
        .unwrap();
    balance_after(&r);
    r
}

#[tokio::test]
async fn a_give_is_reversed_once_by_a_deduct_that_names_it() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 40);
    // A tight daily cap: the reversal is not held to it (with its original it nets to zero).
    let mut config = service_config();
    config.policy.daily_cap = 100;
    let service = world.service(&api, config).await;
    let original = give(&service, 60).await;

    let receipt = service.reverse(reverse(&original.txn)).await.unwrap();
    assert_eq!(
        receipt.txn,
        original.txn.reversal_id(),
        "derived, not minted"
    );
    assert_eq!(receipt.reverses.as_ref(), Some(&original.txn));
    assert_eq!((receipt.op, receipt.amount), (Op::Deduct, 60));
    assert_eq!(receipt.user.id, ALICE);
    assert_eq!(
        receipt.outcome,
        Outcome::Applied {
            balance_after: 40,
            committed_by: Committer::Bot
        }
    );
    let wallet = world.wallet(ALICE);
    assert_eq!(wallet.balance, 40);
    let entry = wallet.find(&receipt.txn).unwrap();
    assert_eq!(entry.reverses.as_ref(), Some(&original.txn));
    assert_eq!(entry.outcome, RecordOutcome::Applied);
    let logged = api.record(&receipt.txn).await.expect("audited");
    assert_eq!(logged.reverses.as_ref(), Some(&original.txn));
    assert_eq!((logged.op, logged.amount), (Op::Deduct, 60));
    assert_eq!(logged.reason, "wrong player");

    // Again: refused, naming the reversal; nothing moves.
    let again = refusal(service.reverse(reverse(&original.txn)).await);
    assert_eq!(
        again,
        Refusal::AlreadyReversed {
            original: original.txn.clone(),
            by: receipt.txn.clone(),
            state: "applied",
        }
    );
    assert!(again.to_string().contains("reversed at most once"));
    assert_eq!(world.wallet(ALICE).balance, 40);
    world.assert_single_writer();
}

#[tokio::test]
async fn an_online_deduct_is_reversed_by_a_give_the_session_holder_applies() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-R", Some(api.game_client()));
    server.join(ALICE);
    let mut config = service_config();
    config.long_poll = Duration::from_secs(2);
    let service = world.service(&api, config).await;
    service.execute(request(Op::Give, ALICE, 50)).await.unwrap();
    let deduct = service
        .execute(request(Op::Deduct, ALICE, 20))
        .await
        .unwrap();
    assert_eq!(balance_after(&deduct), 30);

    let receipt = service.reverse(reverse(&deduct.txn)).await.unwrap();
    assert_eq!(receipt.op, Op::Give);
    assert_eq!(
        receipt.outcome,
        Outcome::Applied {
            balance_after: 50,
            committed_by: Committer::GameServer(Some("job-R".into()))
        }
    );
    assert_eq!(server.applied(), 3, "the holder applied the reversal once");
    let logged = api.record(&receipt.txn).await.unwrap();
    assert_eq!(logged.reverses.as_ref(), Some(&deduct.txn));
    assert_eq!(logged.server_job_id.as_deref(), Some("job-R"));
    world.assert_single_writer();
}

#[tokio::test]
async fn refusals_name_the_problem_and_change_nothing() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 40);
    let service = world.service(&api, service_config()).await;

    // Not found: no such txn in the audit log.
    let unknown = TxnId::generate();
    let r = refusal(service.reverse(reverse(&unknown)).await);
    assert_eq!(r, Refusal::ReversalNotFound(unknown.clone()));
    assert!(r.to_string().contains("not in the audit log"), "{r}");

    // Rejected: it moved nothing.
    let rejected = service
        .execute(request(Op::Deduct, ALICE, 1_000))
        .await
        .unwrap();
    assert!(matches!(rejected.outcome, Outcome::Rejected { .. }));
    let r = refusal(service.reverse(reverse(&rejected.txn)).await);
    assert_eq!(
        r,
        Refusal::ReversalOfRejected {
            original: rejected.txn.clone(),
            reason: "insufficient_funds"
        }
    );

    // A deduct-reversal the balance cannot cover: refused with the shortfall.
    let original = give(&service, 50).await; // 90
    service
        .execute(request(Op::Deduct, ALICE, 70))
        .await
        .unwrap(); // 20
    let r = refusal(service.reverse(reverse(&original.txn)).await);
    assert_eq!(
        r,
        Refusal::ReversalShort {
            balance: 20,
            needs: 50
        }
    );
    assert_eq!(r.to_string(), "balance 20, reversal needs 50: short by 30");
    assert!(
        service
            .db()
            .reversal_of(&original.txn)
            .await
            .unwrap()
            .is_none()
    );
    assert!(api.record(&original.txn.reversal_id()).await.is_none());

    // Once covered, the same original reverses; its reversal is not reversed in turn.
    give(&service, 100).await; // 120
    let reversal = service.reverse(reverse(&original.txn)).await.unwrap();
    assert_eq!(balance_after(&reversal), 70);
    let r = refusal(service.reverse(reverse(&reversal.txn)).await);
    assert_eq!(
        r,
        Refusal::ReversalOfReversal {
            txn: reversal.txn.clone(),
            original: original.txn.clone()
        }
    );
    assert!(r.to_string().contains("a reversal is not reversed"), "{r}");
    assert_eq!(world.wallet(ALICE).balance, 70);
    assert_eq!(
        world.wallet(ALICE).ring.len(),
        5,
        "refusals recorded nothing"
    );
}

#[tokio::test]
async fn a_role_below_the_amount_cannot_reverse_it() {
    let world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 0);
    let service = world.service(&api, service_config()).await;
    let original = give(&service, 500).await;
    let mut small = reverse(&original.txn);
    small.actor.roles = vec!["901".into()]; // at most 50 per command
    let r = refusal(service.reverse(small).await);
    assert_eq!(r, Refusal::OverRoleMax { max: 50 });
    assert_eq!(world.wallet(ALICE).balance, 500);
}

#[tokio::test]
async fn once_per_original_across_a_restart_and_a_lost_bot_database() {
    let mut world = World::new();
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 10);
    let service = world.service(&api, service_config()).await;
    let original = give(&service, 30).await;
    let reversal = service.reverse(reverse(&original.txn)).await.unwrap();
    assert_eq!(balance_after(&reversal), 10);
    // The bot restarts on its database: the row remembers.
    service.db().close().await;
    drop(service);
    let service = world.service(&api, service_config()).await;
    let r = refusal(service.reverse(reverse(&original.txn)).await);
    assert!(
        matches!(
            r,
            Refusal::AlreadyReversed {
                state: "applied",
                ..
            }
        ),
        "{r:?}"
    );
    service.db().close().await;
    drop(service);
    // Its database is lost: the audit log still holds the reversal under the derived id.
    world.db_url = Some(format!(
        "sqlite://{}",
        world.db_dir.path().join("fresh.db").display()
    ));
    let service = world.service(&api, service_config()).await;
    assert!(service.db().get(&original.txn).await.unwrap().is_none());
    let r = refusal(service.reverse(reverse(&original.txn)).await);
    assert_eq!(
        r,
        Refusal::AlreadyReversed {
            original: original.txn.clone(),
            by: reversal.txn.clone(),
            state: "applied"
        }
    );
    assert_eq!(world.wallet(ALICE).balance, 10);
}

#[tokio::test]
async fn two_services_on_one_postgres_database_reverse_once() {
    let world = World::on_postgres().await;
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 0);
    let a = world.service(&api, service_config()).await;
    let b = world.service(&api, service_config()).await;
    let original = give(&a, 80).await;
    // Two members on two replicas at once (different actors: the per-actor lock does not
    // serialise them; the unique index on the original does).
    let mut other = reverse(&original.txn);
    other.actor.id = "223456789012345678".into();
    let (ra, rb) = tokio::join!(a.reverse(reverse(&original.txn)), b.reverse(other));
    let (won, lost) = match (ra, rb) {
        (Ok(w), l) | (l, Ok(w)) => (w, l),
        (ea, eb) => panic!("neither reversed: {ea:?} / {eb:?}"),
    };
    assert_eq!(balance_after(&won), 0);
    assert!(
        matches!(refusal(lost), Refusal::AlreadyReversed { ref by, .. } if *by == won.txn),
        "the loser names the winner"
    );
    assert_eq!(world.wallet(ALICE).balance, 0, "moved once");
    let ring = world.wallet(ALICE).ring;
    assert_eq!(
        ring.iter().filter(|r| r.reverses.is_some()).count(),
        1,
        "{ring:?}"
    );
    world.assert_single_writer();
}

fn new_txn<'a>(txn: &'a TxnId, original: &'a TxnId, now: i64) -> bot::service::db::NewTxn<'a> {
    bot::service::db::NewTxn {
        txn,
        actor_id: "1",
        actor_name: "a",
        user_id: ALICE,
        op: Op::Deduct,
        amount: 5,
        now_ms: now,
        expires_at: now + 60_000,
        message: "m",
        reverses: Some(original),
    }
}

#[tokio::test]
async fn the_database_holds_one_reversal_per_original_on_both_backends() {
    for world in [World::new(), World::on_postgres().await] {
        let api = AuditApi::start().await;
        world.seed_offline_profile(ALICE, 0);
        let service = world.service(&api, service_config()).await;
        let original = give(&service, 5).await;
        let db = service.db();
        let rid = original.txn.reversal_id();
        let now = world.now_ms();
        assert_eq!(
            db.reserve(&new_txn(&rid, &original.txn, now), 0, 10)
                .await
                .unwrap(),
            Ok(())
        );
        let other = TxnId::generate();
        assert_eq!(
            db.reserve(&new_txn(&other, &original.txn, now), 0, 10)
                .await
                .unwrap(),
            Err(bot::service::db::ReserveRefusal::Taken),
            "another id naming the same original"
        );
        assert_eq!(
            db.reserve(&new_txn(&rid, &original.txn, now), 0, 10)
                .await
                .unwrap(),
            Err(bot::service::db::ReserveRefusal::Taken),
            "the same id again"
        );
        assert_eq!(
            db.reversal_of(&original.txn).await.unwrap().unwrap().txn,
            rid
        );
        assert!(db.get(&other).await.unwrap().is_none());
    }
}
