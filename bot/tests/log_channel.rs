//! Log-channel delivery on SQLite and PostgreSQL with a fake channel (the `LogSink` seam): a
//! crash at any point loses no post (at-least-once), one refused post blocks nothing behind it,
//! a post refused too often is set aside as a dead letter, and an operator can retry it.

mod support;

use bot::adapters::audit_api::ApiAuditLog;
use bot::service::db::NewTxn;
use bot::service::{BoxFut, Db, LogPolicy, LogSink, Outcome, PostFailure, Service, SettledTxn};
use parking_lot::Mutex;
use shared::{Actor, Command, KeyRing, Op, TxnId, encode_command_message};
use std::collections::HashMap;
use std::sync::Arc;
use support::*;

const MINUTE_MS: i64 = 60_000;

/// Where a fake post stops the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// Before Discord accepted the message.
    BeforeAccepted,
    /// After Discord accepted it, before the bot heard back.
    AfterAccepted,
}

/// A log channel that shows what it accepted (the rendered embed, as members would see it) and
/// refuses, crashes or is down on request.
#[derive(Default)]
struct FakeChannel {
    /// Accepted posts in order: (txn, the embed's JSON).
    shown: Mutex<Vec<(TxnId, String)>>,
    /// Posts attempted, per txn.
    tries: Mutex<HashMap<TxnId, u32>>,
    /// Txns whose post is refused, and whether the refusal is channel-wide (e.g. a 500).
    refuse: Mutex<HashMap<TxnId, bool>>,
    /// Stop the process while posting this txn.
    crash: Mutex<Option<(TxnId, Crash)>>,
    crashed: tokio::sync::Notify,
}

impl FakeChannel {
    fn shown(&self) -> Vec<TxnId> {
        self.shown.lock().iter().map(|(t, _)| t.clone()).collect()
    }

    fn tries(&self, txn: &TxnId) -> u32 {
        self.tries.lock().get(txn).copied().unwrap_or(0)
    }
}

impl LogSink for FakeChannel {
    fn post<'a>(&'a self, t: &'a SettledTxn) -> BoxFut<'a, Result<(), PostFailure>> {
        Box::pin(async move {
            *self.tries.lock().entry(t.txn.clone()).or_default() += 1;
            let embed = serde_json::to_string(&bot::discord::render::log_embed(t)).unwrap();
            let crash = self.crash.lock().clone();
            if let Some((txn, at)) = crash
                && txn == t.txn
            {
                if at == Crash::AfterAccepted {
                    self.shown.lock().push((t.txn.clone(), embed.clone()));
                }
                self.crashed.notify_one();
                std::future::pending::<()>().await;
            }
            if let Some(&channel_wide) = self.refuse.lock().get(&t.txn) {
                return Err(PostFailure {
                    error: "400 Bad Request: Invalid Form Body (code 50035)".into(),
                    channel_wide,
                });
            }
            self.shown.lock().push((t.txn.clone(), embed));
            Ok(())
        })
    }
}

/// The bot's service over `world`'s database (no audit API: delivery never asks it).
async fn service(world: &World, dead: &api::testing::ReservedPort) -> Service {
    let keys = api::testing::TestKeys::generate();
    let audit = Arc::new(ApiAuditLog::new(audit_client::AuditClient::new(
        &dead.url(),
        keys.bot.clone(),
    )));
    world
        .service_with(audit, world.ports.clone(), service_config())
        .await
}

/// `n` movements settled one millisecond apart, oldest first.
async fn settled(world: &World, db: &Db, n: usize) -> Vec<TxnId> {
    let keys = KeyRing::parse(COMMAND_KEYS).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let now = world.now_ms();
        let cmd = Command {
            v: 1,
            txn: TxnId::generate(),
            op: Op::Give,
            user_id: ALICE,
            amount: 10 + i as i64,
            reason: format!("prize {i}"),
            actor: Actor {
                id: "42".into(),
                name: "Mod".into(),
            },
            issued_at: now,
            expires_at: now + MINUTE_MS,
            reverses: None,
        };
        let message = encode_command_message(&cmd, keys.signing_key()).unwrap();
        let new = NewTxn {
            txn: &cmd.txn,
            actor_id: "42",
            actor_name: "Mod",
            user_id: ALICE,
            op: Op::Give,
            amount: cmd.amount,
            now_ms: now,
            expires_at: cmd.expires_at,
            message: &message,
            reverses: None,
        };
        db.reserve(&new, 0, i64::MAX).await.unwrap().unwrap();
        db.settle(&cmd.txn, &Outcome::NotDelivered, None, now)
            .await
            .unwrap();
        world.clock.advance(1);
        out.push(cmd.txn);
    }
    out
}

/// Runs a delivery pass until the fake channel stops the process; the pass is dropped there,
/// as a killed process would leave it.
async fn crash_during_pass(service: &Service, channel: &FakeChannel, policy: &LogPolicy) {
    tokio::select! {
        r = service.deliver_logs(channel, policy) => panic!("the pass ended without crashing: {r:?}"),
        _ = channel.crashed.notified() => {}
    }
}

async fn world_on(pg: bool) -> World {
    if pg {
        World::on_postgres().await
    } else {
        World::new()
    }
}

/// A crash after the claim but before Discord accepted the post: the movement is posted after
/// the restart, once.
async fn crash_before_the_post_loses_nothing(pg: bool) {
    let world = world_on(pg).await;
    let dead = dead_api();
    let policy = LogPolicy::new(5);
    let first = service(&world, &dead).await;
    let txns = settled(&world, first.db(), 3).await;
    let channel = FakeChannel::default();
    *channel.crash.lock() = Some((txns[1].clone(), Crash::BeforeAccepted));
    crash_during_pass(&first, &channel, &policy).await;
    assert_eq!(channel.shown(), vec![txns[0].clone()]);
    first.db().close().await;
    drop(first);

    let channel = FakeChannel::default();
    let second = service(&world, &dead).await;
    world.clock.advance(10 * MINUTE_MS);
    let pass = second.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!(channel.shown(), vec![txns[1].clone(), txns[2].clone()]);
    assert_eq!(pass.posted, 2);
    assert!(second.unlogged(10).await.unwrap().is_empty());
}

/// A crash after Discord accepted a post but before it was marked: posted once more after the
/// restart (at-least-once); both copies carry the txn id, so the duplicate is recognisable.
async fn crash_after_the_post_posts_again_once(pg: bool) {
    let world = world_on(pg).await;
    let dead = dead_api();
    let policy = LogPolicy::new(5);
    let first = service(&world, &dead).await;
    let txns = settled(&world, first.db(), 2).await;
    let channel = FakeChannel::default();
    *channel.crash.lock() = Some((txns[0].clone(), Crash::AfterAccepted));
    crash_during_pass(&first, &channel, &policy).await;
    first.db().close().await;
    drop(first);

    *channel.crash.lock() = None;
    let second = service(&world, &dead).await;
    world.clock.advance(10 * MINUTE_MS);
    second.deliver_logs(&channel, &policy).await.unwrap();
    second.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!(
        channel.shown(),
        vec![txns[0].clone(), txns[0].clone(), txns[1].clone()]
    );
    for (txn, embed) in channel.shown.lock().iter() {
        assert!(embed.contains(txn.as_str()), "{embed}");
    }
}

/// A post Discord always refuses (a bad body, or a 500 for that message) does not hold back the
/// movements settled after it.
async fn a_refused_post_blocks_nothing(pg: bool) {
    for channel_wide in [false, true] {
        let world = world_on(pg).await;
        let dead = dead_api();
        let policy = LogPolicy::new(5);
        let service = service(&world, &dead).await;
        let txns = settled(&world, service.db(), 4).await;
        let channel = FakeChannel::default();
        channel.refuse.lock().insert(txns[0].clone(), channel_wide);
        for _ in 0..3 {
            service.deliver_logs(&channel, &policy).await.unwrap();
            world.clock.advance(1_000);
        }
        assert_eq!(
            channel.shown(),
            txns[1..].to_vec(),
            "channel-wide: {channel_wide}"
        );
        assert_eq!(
            service
                .unlogged(10)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.txn)
                .collect::<Vec<_>>(),
            vec![txns[0].clone()]
        );
    }
}

/// A post refused every time becomes a dead letter after `max_attempts` failures, each after
/// its backoff; it is then skipped, listed with the channel's error, and counted.
async fn dead_letter_after_n_failures(pg: bool) {
    let world = world_on(pg).await;
    let dead = dead_api();
    let policy = LogPolicy::new(3);
    let service = service(&world, &dead).await;
    let txns = settled(&world, service.db(), 2).await;
    let channel = FakeChannel::default();
    channel.refuse.lock().insert(txns[0].clone(), false);
    let first = service.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!((first.posted, first.failed, first.dead_lettered), (1, 1, 0));
    for failures in 1..3 {
        // Not before its backoff is over; exactly then.
        let wait = policy.backoff(failures).as_millis() as i64;
        world.clock.advance(wait - 1);
        service.deliver_logs(&channel, &policy).await.unwrap();
        assert_eq!(channel.tries(&txns[0]), failures, "tried during backoff");
        world.clock.advance(1);
        let pass = service.deliver_logs(&channel, &policy).await.unwrap();
        assert_eq!(channel.tries(&txns[0]), failures + 1);
        assert_eq!(pass.dead_lettered, u32::from(failures == 2));
    }
    assert_eq!(service.log_queue_sizes().await.unwrap(), (0, 1));
    world.clock.advance(24 * 60 * MINUTE_MS);
    service.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!(
        channel.tries(&txns[0]),
        3,
        "a dead letter is not tried again"
    );
    let letters = service.log_dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!((&letters[0].txn, letters[0].attempts), (&txns[0], 3));
    assert!(
        letters[0].error.contains("Invalid Form Body"),
        "{}",
        letters[0].error
    );
    assert_eq!(channel.shown(), vec![txns[1].clone()]);
}

/// The operator's retry puts a dead letter back with fresh attempts; it is posted once the
/// channel takes it. Retrying a txn that is not a dead letter changes nothing.
async fn retry_brings_a_dead_letter_back(pg: bool) {
    let world = world_on(pg).await;
    let dead = dead_api();
    let policy = LogPolicy::new(1);
    let service = service(&world, &dead).await;
    let txns = settled(&world, service.db(), 3).await;
    let channel = FakeChannel::default();
    channel.refuse.lock().insert(txns[0].clone(), false);
    channel.refuse.lock().insert(txns[1].clone(), false);
    let pass = service.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!((pass.posted, pass.dead_lettered), (1, 2));
    assert_eq!(service.log_queue_sizes().await.unwrap(), (0, 2));

    channel.refuse.lock().clear();
    assert_eq!(
        service
            .retry_log_dead_letters(Some(&txns[2]))
            .await
            .unwrap(),
        0,
        "posted, not a dead letter"
    );
    assert_eq!(
        service
            .retry_log_dead_letters(Some(&txns[1]))
            .await
            .unwrap(),
        1
    );
    assert_eq!(service.log_queue_sizes().await.unwrap(), (1, 1));
    service.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!(channel.shown(), vec![txns[2].clone(), txns[1].clone()]);
    assert_eq!(service.retry_log_dead_letters(None).await.unwrap(), 1);
    service.deliver_logs(&channel, &policy).await.unwrap();
    assert_eq!(
        channel.shown(),
        vec![txns[2].clone(), txns[1].clone(), txns[0].clone()]
    );
    assert_eq!(service.log_queue_sizes().await.unwrap(), (0, 0));
}

#[test]
fn backoff_doubles_up_to_its_ceiling() {
    let policy = LogPolicy::new(10);
    let waits: Vec<u64> = (1..=9).map(|n| policy.backoff(n).as_secs()).collect();
    assert_eq!(waits, vec![10, 20, 40, 80, 160, 320, 640, 900, 900]);
    assert_eq!(policy.backoff(u32::MAX).as_secs(), 900);
    assert!(
        policy.lease > std::time::Duration::from_secs(30),
        "longer than a post may take"
    );
    assert_eq!(LogPolicy::new(0).max_attempts, 1);
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(false).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(true).await
            })*
        }
    };
}

on_both_backends!(
    crash_before_the_post_loses_nothing,
    crash_after_the_post_posts_again_once,
    a_refused_post_blocks_nothing,
    dead_letter_after_n_failures,
    retry_brings_a_dead_letter_back,
);
