//! A payout to many players, half of them online across 50 game servers, against the Open Cloud
//! emulator with the experience's documented DataStore write budget (`300 + 20 × CCU` per minute,
//! half kept for the game servers). Checks that every player is paid once, that the writes the
//! payout caused stay within its share, and that one writer held each wallet; reports the rate
//! achieved against the rate the budget allows, Open Cloud calls per player and the wall time.
//!
//! Publishes go through the Open Cloud client's own limiter, paced to the commands topic's
//! per-topic receive limit for 50 servers (docs/platform.md R9), so the messaging budget binds
//! as it would against Roblox; online players are packed into batch envelopes (protocol §3.1).
//! "The rate the budget allows" is the slower of the two budgets: every player is one write
//! (the payout's share of the write budget), and online players need publishes (the topic's
//! rate times the players one envelope holds, or one per message without envelopes).
//!
//! In every test run it pays 200 players (a few seconds). The benchmark of docs/benchmarks.md is
//! the same test at full size:
//! `BENCH_PLAYERS=10000 cargo nextest run -p bot --test bulk_bench --no-capture`
//! (`BENCH_CCU` sets the assumed CCU, by default the online players; `BENCH_ENVELOPES=0` sends
//! one message per online player).

mod support;

use bot::service::{BatchRequest, BoxFut, BulkConfig, Messaging, PortError, Ports, Service};
use opencloud::client::{Limiter, LimiterConfig, OpClass, topic_publishes_per_minute};
use opencloud::emulator::WriteEvent;
use shared::clock::TokioClock;
use shared::{Actor, BatchId, Envelope, KeyRing, Op, encode_batch_message};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;

/// Publishes paced by the Open Cloud client's limiter, as the bot's real messaging port is.
struct Paced {
    inner: Arc<dyn Messaging>,
    limiter: Limiter,
}

impl Messaging for Paced {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.limiter.acquire(UNIVERSE, OpClass::Publish).await;
            self.inner.publish(topic, message).await
        })
    }
}

/// How many of `ids` (in order) one envelope of this payout holds.
fn players_per_envelope(ids: &[u64], reason: &str) -> usize {
    let key = KeyRing::parse(COMMAND_KEYS).unwrap().signing_key().clone();
    let mut env = Envelope {
        v: 1,
        batch: BatchId::generate(),
        op: Op::Give,
        amount: 10,
        reason: reason.into(),
        actor: Actor {
            id: staff().id,
            name: staff().name,
        },
        issued_at: 1_795_219_200_000,
        expires_at: 1_795_219_260_000,
        users: Vec::new(),
    };
    for &id in ids {
        env.users.push(id);
        if encode_batch_message(&env, &key).is_err() {
            return env.users.len() - 1;
        }
    }
    ids.len()
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_half_online_across_50_servers_pays_each_once_within_its_share() {
    let players = env_or("BENCH_PLAYERS", 200);
    let servers = 50;
    let online = players / 2;
    let ccu = env_or("BENCH_CCU", online);
    let world = World::new();
    let api = AuditApi::start().await;
    let mut stand_ins = Vec::new();
    for s in 0..servers {
        stand_ins.push(StandInServer::start(
            &world,
            &format!("job-{s:02}"),
            Some(api.game_client()),
        ));
    }
    let ids: Vec<u64> = (1..=players).map(|i| 100_000 + i).collect();
    for (i, id) in ids
        .iter()
        .take(usize::try_from(online).unwrap())
        .enumerate()
    {
        stand_ins[i % stand_ins.len()].join(*id);
    }
    // Every DataStore write from here on is caused by the payout (the bot's or a holder's).
    let writes = Arc::new(AtomicU64::new(0));
    let counter = writes.clone();
    world
        .emulator
        .store
        .add_write_hook(Arc::new(move |_: &WriteEvent| {
            counter.fetch_add(1, Ordering::Relaxed);
        }));

    // The bot's clock runs in real time; the emulator's follows it (sessions stay live).
    let start_ms = world.now_ms();
    let clock = Arc::new(TokioClock::new(start_ms));
    let ticker = {
        let emulator_clock = world.clock.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let elapsed = i64::try_from(t0.elapsed().as_millis()).unwrap();
                emulator_clock.set(start_ms + elapsed);
            }
        })
    };
    let mut config = service_config();
    config.long_poll = Duration::from_secs(2);
    // The production default validity window (it bounds how many items wait for envelopes).
    config.command_ttl = Duration::from_secs(300);
    config.policy.daily_cap = i64::MAX / 4;
    config.bulk = BulkConfig {
        reserved_percent: 50,
        assumed_ccu: ccu,
        max_items: 10_000,
        concurrency: usize::try_from(env_or("BENCH_CONCURRENCY", 2048)).unwrap_or(2048),
        envelopes: env_or("BENCH_ENVELOPES", 1) != 0,
    };
    let envelopes = config.bulk.envelopes;
    let allowed_per_minute = config.bulk.batch_writes_per_minute();
    let experience_per_minute = config.bulk.experience_writes_per_minute();
    let paced = Arc::new(Paced {
        inner: world.ports.clone(),
        limiter: Limiter::new(LimiterConfig::default().for_game_servers(servers)),
    });
    let ports = Ports {
        wallets: world.ports.clone(),
        messaging: paced,
        audit: Arc::new(bot::adapters::audit_api::ApiAuditLog::new(api.bot_client())),
        users: world.ports.clone(),
        clock,
    };
    let db = bot::service::Db::open(&world.db_url()).await.unwrap();
    let service = Service::new(ports, db, KeyRing::parse(COMMAND_KEYS).unwrap(), config);

    let plan = service
        .plan_batch(BatchRequest {
            actor: staff(),
            amount: 10,
            reason: "benchmark payout".into(),
            user_ids: ids.clone(),
        })
        .await
        .unwrap();
    service.start_batch(&plan).await.unwrap();
    let c0 = world.calls();
    let w0 = writes.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let report = service
        .run_batch(&plan.batch, &mut bot::service::bulk::Silent)
        .await
        .unwrap();
    let wall = t0.elapsed();
    ticker.abort();
    let calls = world.calls().since(&c0);
    let caused = writes.load(Ordering::Relaxed) - w0;
    let counts = report.counts();
    let minutes = wall.as_secs_f64() / 60.0;
    let rate = counts.players as f64 / minutes;
    let write_rate = caused as f64 / minutes;
    let n = players as f64;
    // The rate the budgets allow: every player is one write of the payout's share; online
    // players also need the topic's publishes, each carrying up to `per_message` of them.
    let per_message = if envelopes {
        players_per_envelope(&ids, "benchmark payout") as f64
    } else {
        1.0
    };
    let publishes_per_minute = topic_publishes_per_minute(servers) - 1.0;
    let write_bound_min = n / allowed_per_minute;
    let publish_bound_min = online as f64 / (publishes_per_minute * per_message);
    let allowed_min = write_bound_min.max(publish_bound_min);
    let allowed_rate = n / allowed_min;
    let packed = service.pack_stats();
    println!(
        "players {players} (online {online} on {servers} servers), assumed CCU {ccu}, envelopes {envelopes}\n\
         budget: experience {experience_per_minute:.0} writes/min, payout share {allowed_per_minute:.0}/min; \
         topic {publishes_per_minute:.1} publishes/min x {per_message:.0} players each\n\
         allowed: {allowed_rate:.0} players/min ({} bound: writes {:.1} s, publishes {:.1} s)\n\
         wall time {:.1} s; {rate:.0} players/min = {:.1} % of what the budgets allow\n\
         writes caused {caused} = {write_rate:.0}/min ({:.1} % of the share; the game servers' half untouched: {})\n\
         Open Cloud calls per player: {:.2} (reads {:.2}, writes {:.2}, publishes {:.3})\n\
         packed: {} envelopes with {} players ({:.1} each), {} alone\n\
         preview online: {} of {} read\n\
         outcomes: applied {}, refused {}, not delivered {}, pending {}",
        if publish_bound_min > write_bound_min {
            "messaging"
        } else {
            "write"
        },
        write_bound_min * 60.0,
        publish_bound_min * 60.0,
        wall.as_secs_f64(),
        100.0 * rate / allowed_rate,
        100.0 * write_rate / allowed_per_minute,
        write_rate <= allowed_per_minute * 1.01,
        calls.open_cloud() as f64 / n,
        calls.get as f64 / n,
        calls.set as f64 / n,
        calls.publish as f64 / n,
        packed.envelopes,
        packed.enveloped_items,
        packed.enveloped_items as f64 / (packed.envelopes.max(1)) as f64,
        packed.singles,
        plan.online.online,
        plan.online.read,
        counts.applied,
        counts.refused,
        counts.not_delivered,
        counts.pending,
    );
    assert_eq!(counts.applied, counts.players, "{counts:?}");
    assert!(
        write_rate <= allowed_per_minute * 1.01,
        "the payout took from the game servers' share"
    );
    world.assert_single_writer();
}
