//! A payout to many players, half of them online across 50 game servers, against the Open Cloud
//! emulator with the experience's documented DataStore write budget (`300 + 20 × CCU` per minute,
//! half kept for the game servers). Checks that every player is paid once, that the writes the
//! payout caused stay within its share, and that one writer held each wallet; reports the rate
//! achieved against the rate the budget allows, Open Cloud calls per player and the wall time.
//!
//! In every test run it pays 200 players (a few seconds). The benchmark of docs/benchmarks.md is
//! the same test at full size:
//! `BENCH_PLAYERS=10000 cargo nextest run -p bot --test bulk_bench --no-capture`
//! (`BENCH_CCU` sets the assumed CCU; by default the online players).

mod support;

use bot::service::{BatchRequest, BulkConfig, Ports, Service};
use opencloud::emulator::WriteEvent;
use shared::KeyRing;
use shared::clock::TokioClock;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;

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
    config.policy.daily_cap = i64::MAX / 4;
    config.bulk = BulkConfig {
        reserved_percent: 50,
        assumed_ccu: ccu,
        max_items: 10_000,
        concurrency: 64,
    };
    let allowed_per_minute = config.bulk.batch_writes_per_minute();
    let experience_per_minute = config.bulk.experience_writes_per_minute();
    let ports = Ports {
        wallets: world.ports.clone(),
        messaging: world.ports.clone(),
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
    println!(
        "players {players} (online {online} on {servers} servers), assumed CCU {ccu}\n\
         budget: experience {experience_per_minute:.0} writes/min, payout share {allowed_per_minute:.0}/min\n\
         wall time {:.1} s; {rate:.0} players/min = {:.1} % of the share\n\
         writes caused {caused} = {write_rate:.0}/min ({:.1} % of the share; the game servers' half untouched: {})\n\
         Open Cloud calls per player: {:.2} (reads {:.2}, writes {:.2}, publishes {:.2})\n\
         preview online: {} of {} read\n\
         outcomes: applied {}, refused {}, not delivered {}, pending {}",
        wall.as_secs_f64(),
        100.0 * rate / allowed_per_minute,
        100.0 * write_rate / allowed_per_minute,
        write_rate <= allowed_per_minute * 1.01,
        calls.open_cloud() as f64 / n,
        calls.get as f64 / n,
        calls.set as f64 / n,
        calls.publish as f64 / n,
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
