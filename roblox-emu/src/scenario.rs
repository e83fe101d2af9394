//! Seeded session scenarios on ProfileStore / ProfileService: a harness Script per library, a
//! random schedule of joins, leaves, hops, commands and faults drawn from the seed, and the
//! checks every run must pass (no invariant violation, no script error, wallets consistent).

use std::path::Path;
use std::time::{Duration, Instant};

use opencloud::emulator::EntryKey;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::action::Action;
use crate::config::{Faults, UniverseConfig};
use crate::error::EmuError;
use crate::invariant;
use crate::libs::Library;
use crate::place::Place;
use crate::universe::Universe;

/// The wallet data store the harness uses.
pub const WALLET_STORE: &str = "EconomyWallet";
/// The topic the harness takes commands on.
pub const COMMAND_TOPIC: &str = "harness-commands";

/// The place of a scenario: the library under `ServerStorage.Packages` and its harness Script.
pub fn harness_place(lib: Library, libs_dir: Option<&Path>) -> Result<Place, EmuError> {
    let mut place = Place::new();
    place.library(lib, libs_dir)?;
    let harness = match lib {
        Library::ProfileStore => include_str!("../harness/ProfileStoreHarness.server.luau"),
        Library::ProfileService => include_str!("../harness/ProfileServiceHarness.server.luau"),
    };
    place.script("ServerScriptService.Harness", harness);
    Ok(place)
}

/// A universe running the harness, with the session-lock invariant installed.
pub fn harness_universe(lib: Library, cfg: UniverseConfig) -> Result<Universe, EmuError> {
    let place = harness_place(lib, cfg.libs_dir.as_deref())?;
    let u = Universe::new(cfg, place);
    u.add_invariant("session-lock", Box::new(invariant::session_lock));
    Ok(u)
}

/// The wallet key of a user.
pub fn wallet_key(universe_id: u64, user_id: u64) -> EntryKey {
    EntryKey::scoped(
        universe_id,
        WALLET_STORE,
        "global",
        format!("wallet_{user_id}"),
    )
}

/// The JobId holding a user's wallet session, read from the store.
pub fn holder(u: &Universe, user_id: u64) -> Option<String> {
    let entry = u
        .backend()
        .store
        .get(&wallet_key(u.config().universe_id, user_id))?;
    let value: serde_json::Value = serde_json::from_str(&entry.value).ok()?;
    invariant::session_holder(&value)
}

/// A command message for the harness.
pub fn command(user_id: u64, txn: &str, amount: i64, save: bool) -> String {
    serde_json::json!({ "userId": user_id, "txn": txn, "amount": amount, "save": save }).to_string()
}

/// Settings of a random run.
#[derive(Clone, Debug)]
pub struct RandomRun {
    /// Library under test.
    pub library: Library,
    /// Seed.
    pub seed: u64,
    /// Servers at start.
    pub servers: usize,
    /// Distinct users.
    pub users: u64,
    /// Commands published.
    pub commands: usize,
    /// Virtual seconds of activity (a settle phase follows).
    pub duration_s: f64,
    /// Frames per second.
    pub fps: u32,
    /// Inject crashes, zombies, throttling, message and DataStore faults.
    pub faults: bool,
    /// Keep the trace lines (for replay output).
    pub keep_trace: bool,
    /// Share of schedule steps that are commands (the rest: hops, leaves, faults).
    pub command_ratio: f64,
}

impl RandomRun {
    /// A small run suited to CI: `servers` servers, a few minutes of virtual time.
    pub fn small(library: Library, seed: u64, servers: usize) -> Self {
        Self {
            library,
            seed,
            servers,
            users: 6,
            commands: 30,
            duration_s: 150.0,
            fps: 20,
            faults: true,
            keep_trace: false,
            command_ratio: 0.6,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// Seed.
    pub seed: u64,
    /// Invariant violations.
    pub violations: Vec<invariant::Violation>,
    /// Uncaught errors in script threads.
    pub script_errors: usize,
    /// Wallets whose balance is not the sum of their applied amounts.
    pub inconsistent_wallets: Vec<String>,
    /// Commands applied (APPLIED lines across servers still alive at the end).
    pub sessions_started: usize,
    /// Trace digest.
    pub digest: String,
    /// Trace events.
    pub events: u64,
    /// Virtual seconds run.
    pub virtual_s: f64,
    /// Wall time.
    pub wall: Duration,
    /// Peak total Lua heap, bytes.
    pub peak_lua_bytes: usize,
    /// Trace lines when kept.
    pub trace: Vec<String>,
}

impl Report {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
            && self.script_errors == 0
            && self.inconsistent_wallets.is_empty()
    }
}

/// Checks every wallet: balance equals the sum of its applied amounts.
pub fn inconsistent_wallets(u: &Universe, users: u64) -> Vec<String> {
    let mut bad = Vec::new();
    for uid in 1..=users {
        let Some(entry) = u
            .backend()
            .store
            .get(&wallet_key(u.config().universe_id, uid))
        else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&entry.value) else {
            bad.push(format!("wallet_{uid}: not JSON"));
            continue;
        };
        let data = &v["Data"];
        let balance = data["balance"].as_i64().unwrap_or(i64::MIN);
        let sum: i64 = data["applied"]
            .as_object()
            .map(|m| m.values().filter_map(serde_json::Value::as_i64).sum())
            .unwrap_or(0);
        if balance != sum {
            bad.push(format!(
                "wallet_{uid}: balance {balance} != applied sum {sum}"
            ));
        }
    }
    bad
}

/// Schedules the loss of a random server of `live` at `t` (a graceful shutdown or a crash, even
/// odds) and a replacement one second later. `alive` (which servers are up, by index) and `at`
/// (which server each user is on, by user id) are the caller's schedule bookkeeping, updated here.
pub fn schedule_server_loss(
    u: &mut Universe,
    rng: &mut impl Rng,
    t: f64,
    live: &[usize],
    alive: &mut Vec<bool>,
    at: &mut [Option<usize>],
) {
    let s = live[rng.random_range(0..live.len())];
    let graceful = rng.random_bool(0.5);
    u.schedule(
        t,
        if graceful {
            Action::Shutdown(s)
        } else {
            Action::Crash(s)
        },
    );
    alive[s] = false;
    for slot in at.iter_mut() {
        if *slot == Some(s) {
            *slot = None;
        }
    }
    u.schedule(t + 1.0, Action::StartServer);
    alive.push(true);
}

/// Runs one seeded random scenario.
pub fn run_random(run: &RandomRun, libs_dir: Option<&Path>) -> Result<Report, EmuError> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(run.seed ^ 0x5eed_5eed);
    let faults = if run.faults {
        Faults {
            datastore_error_rate: 0.02,
            // Off here: the recorded replays of this runner must keep their paths.
            datastore_lost_answer_rate: 0.0,
            message_drop: 0.05,
            message_duplicate: 0.05,
            message_delay: 0.1,
            message_delay_s: (1.0, 10.0),
        }
    } else {
        Faults::default()
    };
    let cfg = UniverseConfig {
        seed: run.seed,
        fps: run.fps,
        faults,
        libs_dir: libs_dir.map(Path::to_path_buf),
        keep_trace: run.keep_trace,
        ..UniverseConfig::default()
    };
    let mut u = harness_universe(run.library, cfg)?;
    for _ in 0..run.servers {
        u.start_server()?;
    }
    // Where each user is (server index), as the schedule intends it.
    let mut at: Vec<Option<usize>> = vec![None; run.users as usize + 1];
    let mut alive: Vec<bool> = vec![true; run.servers];
    let mut txn = 0u64;
    let mut t: f64 = 1.0;
    for uid in 1..=run.users {
        let s = rng.random_range(0..run.servers);
        u.schedule(
            t + rng.random_range(0.0..10.0),
            Action::Join {
                server: s,
                user_id: uid,
            },
        );
        at[uid as usize] = Some(s);
    }
    t += 12.0;
    let steps = run.commands.max(1);
    let dt = (run.duration_s - 12.0).max(1.0) / steps as f64;
    for _ in 0..steps {
        t += dt;
        let uid = rng.random_range(1..=run.users);
        let roll: f64 = rng.random();
        let live: Vec<usize> = (0..alive.len()).filter(|i| alive[*i]).collect();
        if live.is_empty() {
            break;
        }
        if roll < run.command_ratio {
            txn += 1;
            let data = command(
                uid,
                &format!("t{txn}"),
                rng.random_range(1..100),
                rng.random_bool(0.5),
            );
            u.schedule(
                t,
                Action::Publish {
                    topic: COMMAND_TOPIC.into(),
                    data,
                },
            );
        } else if roll < run.command_ratio + (1.0 - run.command_ratio) * 0.5 {
            // Hop: sometimes joining the new server before leaving the old one.
            let to = live[rng.random_range(0..live.len())];
            if let Some(from) = at[uid as usize] {
                let overlap = rng.random_bool(0.3);
                let gap: f64 = rng.random_range(0.0..3.0);
                u.schedule(
                    t,
                    Action::Leave {
                        server: from,
                        user_id: uid,
                    },
                );
                let join_t = if overlap {
                    t - gap.min(dt * 0.5)
                } else {
                    t + gap
                };
                u.schedule(
                    join_t.max(0.0),
                    Action::Join {
                        server: to,
                        user_id: uid,
                    },
                );
            } else {
                u.schedule(
                    t,
                    Action::Join {
                        server: to,
                        user_id: uid,
                    },
                );
            }
            at[uid as usize] = Some(to);
        } else if roll < run.command_ratio + (1.0 - run.command_ratio) * 0.675 || !run.faults {
            if let Some(from) = at[uid as usize].take() {
                u.schedule(
                    t,
                    Action::Leave {
                        server: from,
                        user_id: uid,
                    },
                );
            }
        } else if roll < run.command_ratio + (1.0 - run.command_ratio) * 0.8 {
            // Zombie: cut off longer than the library's steal time, then return.
            let s = live[rng.random_range(0..live.len())];
            let secs: f64 = rng.random_range(45.0..120.0);
            u.schedule(
                t,
                Action::CutOff {
                    server: s,
                    seconds: secs,
                    messaging: rng.random_bool(0.5),
                },
            );
        } else if roll < run.command_ratio + (1.0 - run.command_ratio) * 0.875 {
            let s = live[rng.random_range(0..live.len())];
            u.schedule(t, Action::DrainBudget(s));
        } else if live.len() > 1 {
            schedule_server_loss(&mut u, &mut rng, t, &live, &mut alive, &mut at);
        }
    }
    u.run_for(run.duration_s)?;
    // Settle: everyone leaves, then give the libraries time to release and save.
    for s in 0..u.server_count() {
        if let Some(server) = u.server(s) {
            for uid in server.player_ids()? {
                u.player_leave(s, uid)?;
            }
        }
    }
    u.run_for(60.0)?;
    let sessions_started = (0..u.server_count())
        .filter_map(|s| u.server(s))
        .flat_map(|s| s.output())
        .filter(|l| l.text.starts_with("SESSION_START"))
        .count();
    Ok(Report {
        seed: run.seed,
        violations: u.violations(),
        script_errors: u.script_errors(),
        inconsistent_wallets: inconsistent_wallets(&u, run.users),
        sessions_started,
        digest: u.trace_digest(),
        events: u.trace_events(),
        virtual_s: u.now_s(),
        wall: started.elapsed(),
        peak_lua_bytes: u.peak_lua_bytes(),
        trace: u.trace_lines(),
    })
}
