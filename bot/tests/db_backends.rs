//! The bot database on both backends: SQLite and PostgreSQL (a fresh schema per test on
//! `DATABASE_URL_PG`; the PostgreSQL cases FAIL when it is unreachable), plus representative
//! service scenarios with the bot's state in PostgreSQL.

mod support;

use bot::service::db::{LogFailure, NewTxn, ReserveRefusal};
use bot::service::{Committer, Db, DbKind, Outcome, Refusal, ServiceError};
use shared::{AuditRecord, Op, RecordOutcome, Source, TxnId};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const DAY_MS: i64 = 86_400_000;

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    (Db::open(&url).await.unwrap(), dir)
}

async fn postgres() -> Db {
    let db = Db::open(&pg::fresh_database_url().await).await.unwrap();
    assert_eq!(db.kind(), DbKind::Postgres);
    db
}

fn new_txn<'a>(txn: &'a TxnId, actor: &'a str, amount: i64, now_ms: i64) -> NewTxn<'a> {
    NewTxn {
        txn,
        actor_id: actor,
        actor_name: "Mod",
        user_id: ALICE,
        op: Op::Give,
        amount,
        now_ms,
        expires_at: now_ms + 60_000,
        message: "signed-message",
        reverses: None,
    }
}

fn record(txn: &TxnId) -> AuditRecord {
    AuditRecord {
        txn_id: txn.clone(),
        source: Source::Discord,
        user_id: ALICE,
        op: Op::Give,
        amount: 5,
        outcome: RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 5,
        reason: "prize".into(),
        actor_id: Some("1".into()),
        actor_name: Some("Mod".into()),
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
        reverses: None,
    }
}

/// Cooldown, rolling daily cap, first settlement wins, audit retry queue, log-channel delivery
/// state (claims, lapsed claims, backoff, dead letters, retry).
async fn ledger_rules(db: &Db) {
    let t0 = 1_800_000_000_000;
    let a = TxnId::generate();
    assert_eq!(
        db.reserve(&new_txn(&a, "7", 100, t0), 1_000, 150)
            .await
            .unwrap(),
        Ok(())
    );
    let b = TxnId::generate();
    assert_eq!(
        db.reserve(&new_txn(&b, "7", 10, t0 + 400), 1_000, 150)
            .await
            .unwrap(),
        Err(ReserveRefusal::Cooldown {
            retry_after_ms: 600
        })
    );
    assert_eq!(
        db.reserve(&new_txn(&b, "7", 60, t0 + 1_000), 1_000, 150)
            .await
            .unwrap(),
        Err(ReserveRefusal::DailyCap { used: 100 })
    );
    // Another actor has their own cap; refusals inserted nothing.
    assert_eq!(
        db.reserve(&new_txn(&b, "8", 60, t0), 1_000, 150)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(db.get(&b).await.unwrap().unwrap().actor_id, "8");
    assert_eq!(db.pending().await.unwrap().len(), 2);

    // First settlement wins.
    let applied = Outcome::Applied {
        balance_after: 100,
        committed_by: Committer::Bot,
    };
    assert_eq!(
        db.settle(&a, &applied, Some(&record(&a)), t0 + 5)
            .await
            .unwrap(),
        applied
    );
    assert_eq!(
        db.settle(&a, &Outcome::NotDelivered, None, t0 + 6)
            .await
            .unwrap(),
        applied
    );
    let row = db.get(&a).await.unwrap().unwrap();
    assert_eq!(
        (row.settled_at, row.actor_name.as_str()),
        (Some(t0 + 5), "Mod")
    );
    // Not-delivered does not count against the cap; applied does, for 24 h.
    db.settle(&b, &Outcome::NotDelivered, None, t0 + 7)
        .await
        .unwrap();
    let c = TxnId::generate();
    assert_eq!(
        db.reserve(&new_txn(&c, "8", 150, t0 + 2_000), 1_000, 150)
            .await
            .unwrap(),
        Ok(())
    );
    let d = TxnId::generate();
    assert_eq!(
        db.reserve(&new_txn(&d, "7", 60, t0 + DAY_MS + 1), 1_000, 150)
            .await
            .unwrap(),
        Ok(()),
        "a new day"
    );

    // Audit retry queue.
    assert_eq!(db.unacked_records().await.unwrap(), vec![record(&a)]);
    assert_eq!(db.unacked_count().await.unwrap(), 1);
    assert!(!db.audit_acked(&a).await.unwrap());
    db.mark_audit_acked(&a).await.unwrap();
    assert!(db.audit_acked(&a).await.unwrap());
    assert_eq!(db.unacked_count().await.unwrap(), 0);

    // Log channel: a claim holds a settled txn for its lease; a lapsed claim makes it due
    // again; a failure waits its backoff; a dead letter is set aside until retried.
    let due = |now| async move {
        db.log_due(now, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(r, attempts)| (r.txn, attempts))
            .collect::<Vec<_>>()
    };
    let now = t0 + 10_000;
    assert_eq!(due(now).await, vec![(a.clone(), 0), (b.clone(), 0)]);
    assert!(db.claim_log(&a, now, 1_000).await.unwrap());
    assert!(
        !db.claim_log(&a, now, 1_000).await.unwrap(),
        "claimed twice"
    );
    assert!(
        !db.claim_log(&c, now, 1_000).await.unwrap(),
        "pending txns are not logged"
    );
    assert_eq!(due(now).await, vec![(b.clone(), 0)]);
    assert_eq!(due(now + 1_000).await, vec![(a.clone(), 0), (b.clone(), 0)]);
    assert!(
        db.claim_log(&a, now + 1_000, 1_000).await.unwrap(),
        "lapsed"
    );
    db.mark_logged(&a).await.unwrap();
    assert!(
        !db.claim_log(&a, now + 5_000, 1_000).await.unwrap(),
        "posted"
    );
    assert!(db.claim_log(&b, now, 1_000).await.unwrap());
    let failure = |attempts, next_at_ms, dead| LogFailure {
        attempts,
        next_at_ms,
        error: "HTTP 400, Discord code 50035: Invalid Form Body",
        dead,
    };
    db.log_failed(&b, &failure(1, now + 10_000, false))
        .await
        .unwrap();
    assert_eq!(db.log_counts().await.unwrap(), (1, 0));
    assert!(due(now + 9_999).await.is_empty(), "in backoff");
    assert_eq!(due(now + 10_000).await, vec![(b.clone(), 1)]);
    db.log_failed(&b, &failure(2, now + 30_000, true))
        .await
        .unwrap();
    assert!(
        due(now + DAY_MS).await.is_empty(),
        "dead letters are skipped"
    );
    assert_eq!(db.log_counts().await.unwrap(), (0, 1));
    let dead = db.log_dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (&dead[0].txn, dead[0].attempts, dead[0].settled_at_ms),
        (&b, 2, t0 + 7)
    );
    assert!(dead[0].error.contains("50035"), "{}", dead[0].error);
    assert_eq!(
        db.retry_dead_letters(Some(&a)).await.unwrap(),
        0,
        "not dead"
    );
    assert_eq!(db.retry_dead_letters(None).await.unwrap(), 1);
    assert_eq!(due(now).await, vec![(b.clone(), 0)], "fresh attempts");
    assert!(db.log_dead_letters().await.unwrap().is_empty());
}

/// Many reservations of one actor at once: exactly as many as fit under the cap succeed.
async fn concurrent_reservations_respect_the_cap(db: &Db) {
    let t0 = 1_800_000_000_000;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let txn = TxnId::generate();
            db.reserve(&new_txn(&txn, "race", 10, t0 + i), 0, 100)
                .await
                .unwrap()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 10, "cap 100 / amount 10");
    let total: i64 = db
        .pending()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.actor_id == "race")
        .map(|r| r.amount)
        .sum();
    assert_eq!(total, 100);
}

#[tokio::test]
async fn sqlite_ledger_rules() {
    let (db, _dir) = sqlite().await;
    assert_eq!(db.kind(), DbKind::Sqlite);
    ledger_rules(&db).await;
}

#[tokio::test]
async fn postgres_ledger_rules() {
    ledger_rules(&postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_reservations() {
    let (db, _dir) = sqlite().await;
    concurrent_reservations_respect_the_cap(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_reservations() {
    concurrent_reservations_respect_the_cap(&postgres().await).await;
}

#[tokio::test]
async fn state_survives_reopening_on_postgres() {
    let url = pg::fresh_database_url().await;
    let db = Db::open(&url).await.unwrap();
    let a = TxnId::generate();
    db.reserve(&new_txn(&a, "7", 5, 1), 0, 100)
        .await
        .unwrap()
        .unwrap();
    db.close().await;
    // Migrations run again (no-op) and the pending txn is still there.
    let db = Db::open(&url).await.unwrap();
    assert_eq!(db.pending().await.unwrap()[0].txn, a);
}

#[tokio::test]
async fn unknown_database_schemes_are_refused() {
    let err = Db::open("mysql://localhost/x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "BOT_DATABASE_URL must start with sqlite: or postgres://"
    );
}

#[tokio::test]
async fn offline_give_with_state_in_postgres() {
    let world = World::on_postgres().await;
    let api = AuditApi::start().await;
    world.seed_offline_profile(ALICE, 10);
    let service = world.service(&api, service_config()).await;
    assert_eq!(service.db().kind(), DbKind::Postgres);
    let receipt = service.execute(request(Op::Give, ALICE, 25)).await.unwrap();
    assert!(
        matches!(
            receipt.outcome,
            Outcome::Applied {
                balance_after: 35,
                ..
            }
        ),
        "{:?}",
        receipt.outcome
    );
    assert_eq!(world.wallet(ALICE).balance, 35);
    assert_eq!(api.record(&receipt.txn).await.unwrap().balance_after, 35);
    // Replay: the stored outcome, nothing moves.
    let mut again = request(Op::Give, ALICE, 25);
    again.replay = Some(receipt.txn.clone());
    let replay = service.execute(again).await.unwrap();
    assert!(matches!(replay.outcome, Outcome::AlreadyProcessed { .. }));
    assert_eq!(world.wallet(ALICE).balance, 35);
    world.assert_single_writer();
}

#[tokio::test]
async fn daily_cap_across_a_restart_with_state_in_postgres() {
    let world = World::on_postgres().await;
    let api = AuditApi::start().await;
    let mut config = service_config();
    config.policy.daily_cap = 150;
    let service = world.service(&api, config.clone()).await;
    service
        .execute(request(Op::Give, ALICE, 100))
        .await
        .unwrap();
    service.db().close().await;
    drop(service);
    let service = world.service(&api, config).await;
    let err = service
        .execute(request(Op::Give, BOB, 60))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Refused(Refusal::DailyCap { used: 100, .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_restarted_bot_resumes_pending_confirmations_from_postgres() {
    let world = World::on_postgres().await;
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-PG", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let mut config = service_config();
    config.reply_budget = Duration::from_secs(5);
    let service = world.service(&api, config.clone()).await;
    let receipt = service.execute(request(Op::Give, ALICE, 8)).await.unwrap();
    assert_eq!(receipt.outcome, Outcome::Pending);
    service.db().close().await;
    drop(service);

    server.resume(false);
    let service = Arc::new(world.service(&api, config).await);
    let report = service.reconcile(Duration::from_secs(30)).await.unwrap();
    assert_eq!((report.settled, report.still_pending), (1, 0));
    assert!(matches!(
        service.stored_outcome(&receipt.txn).await.unwrap(),
        Some(Outcome::Applied {
            balance_after: 8,
            ..
        })
    ));
    assert_eq!(world.wallet(ALICE).balance, 8);
    // The settled txn waits for the log channel, with its reason decoded from the message.
    let logged = service.unlogged(10).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].txn, receipt.txn);
    assert!(!logged[0].reason.is_empty());
}

/// Concurrent reservations can commit in the other order than their clock readings: with the
/// cooldown off, the earlier reading must still be accepted; with it on, it is "too soon".
async fn out_of_order_clock_readings(db: &Db) {
    let t0 = 1_800_000_000_000;
    let (late, early, third) = (TxnId::generate(), TxnId::generate(), TxnId::generate());
    assert!(
        db.reserve(&new_txn(&late, "skew", 1, t0 + 5), 0, 100)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        db.reserve(&new_txn(&early, "skew", 1, t0 + 3), 0, 100)
            .await
            .unwrap()
            .is_ok(),
        "cooldown off: an earlier clock reading is not too soon"
    );
    assert!(
        db.reserve(&new_txn(&third, "skew", 1, t0 + 4), 1_000, 100)
            .await
            .unwrap()
            .is_err(),
        "cooldown on: within 1 s of the last reservation"
    );
}

#[tokio::test]
async fn sqlite_out_of_order_clock_readings() {
    let (db, _dir) = sqlite().await;
    out_of_order_clock_readings(&db).await;
}

#[tokio::test]
async fn postgres_out_of_order_clock_readings() {
    out_of_order_clock_readings(&postgres().await).await;
}

/// Gateway starts are kept for a day, oldest first, this one included.
async fn gateway_starts_are_kept_for_a_day(db: &Db) {
    let day = 86_400_000;
    let t0 = 1_800_000_000_000;
    assert_eq!(db.record_gateway_start(t0).await.unwrap(), vec![t0]);
    assert_eq!(
        db.record_gateway_start(t0 + 1_000).await.unwrap(),
        vec![t0, t0 + 1_000]
    );
    // A day after the first start, it no longer counts.
    assert_eq!(
        db.record_gateway_start(t0 + day).await.unwrap(),
        vec![t0 + 1_000, t0 + day]
    );
    let starts = db.record_gateway_start(t0 + day + 5_000).await.unwrap();
    assert_eq!(starts, vec![t0 + day, t0 + day + 5_000]);
    assert_eq!(
        bot::discord::identify_guard::pause_before_identify(&starts, t0 + day + 5_000),
        std::time::Duration::ZERO
    );
}

#[tokio::test]
async fn sqlite_gateway_starts() {
    let (db, _dir) = sqlite().await;
    gateway_starts_are_kept_for_a_day(&db).await;
}

#[tokio::test]
async fn postgres_gateway_starts() {
    gateway_starts_are_kept_for_a_day(&postgres().await).await;
}
