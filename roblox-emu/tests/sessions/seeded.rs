//! Seeded fault runs: ≥ 200 random schedules (joins, leaves, hops, commands, crashes, graceful
//! shutdowns, zombies, throttling, message drop/dup/delay, DataStore 5xx) over both libraries
//! and 2 and 7 servers. Every run must end with 0 invariant violations, 0 script errors and every
//! wallet's balance equal to the sum of its applied amounts. A failing seed prints its replay
//! command. `ROBLOX_SEEDS` overrides the number of seeds per configuration (default 50).

use roblox_emu::Library;
use roblox_emu::scenario::{RandomRun, run_random};

fn seeds() -> u64 {
    std::env::var("ROBLOX_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

fn run_config(lib: Library, servers: usize, base: u64) {
    let n = seeds();
    let mut failures = Vec::new();
    let mut sessions = 0;
    for seed in base..base + n {
        let run = RandomRun::small(lib, seed, servers);
        let report = match run_random(&run, None) {
            Ok(r) => r,
            Err(e) => panic!("seed {seed}: {e}"),
        };
        sessions += report.sessions_started;
        if !report.ok() {
            failures.push(format!(
                "seed {seed}: violations {:?}, script errors {}, wallets {:?} — replay: cargo run -p roblox-emu -- run --library {} --servers {servers} --seed {seed} --faults",
                report.violations,
                report.script_errors,
                report.inconsistent_wallets,
                lib.cli_name()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The runs must actually exercise sessions, or 0 violations means nothing.
    assert!(
        sessions as u64 >= n,
        "only {sessions} sessions started over {n} seeds"
    );
}

#[test]
fn profile_store_2_servers() {
    run_config(Library::ProfileStore, 2, 1_000);
}

#[test]
fn profile_store_7_servers() {
    run_config(Library::ProfileStore, 7, 2_000);
}

#[test]
fn profile_service_2_servers() {
    run_config(Library::ProfileService, 2, 3_000);
}

#[test]
fn profile_service_7_servers() {
    run_config(Library::ProfileService, 7, 4_000);
}
