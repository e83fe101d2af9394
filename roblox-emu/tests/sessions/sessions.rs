//! Session scenarios on the real ProfileStore 1.0.3 and ProfileService 1.4.2 (fetched by
//! tools/fetch-luau-libs.sh): start, conflict, release, crash-then-steal and
//! zombie-returns, across 2 and 7 servers, with the session-lock invariant on every write.

use roblox_emu::scenario::{self, COMMAND_TOPIC};
use roblox_emu::{Library, Universe, UniverseConfig};

const USER: u64 = 7;

fn universe(lib: Library, servers: usize, seed: u64) -> Universe {
    let cfg = UniverseConfig {
        seed,
        fps: 20,
        ..UniverseConfig::default()
    };
    let mut u = match scenario::harness_universe(lib, cfg) {
        Ok(u) => u,
        Err(e) => panic!("{e}"),
    };
    for _ in 0..servers {
        u.start_server().unwrap();
    }
    u
}

fn job(u: &Universe, s: usize) -> String {
    u.server(s).unwrap().job_id().to_owned()
}

fn holds(u: &Universe, s: usize) -> bool {
    scenario::holder(u, USER).as_deref() == Some(job(u, s).as_str())
}

fn started(u: &Universe, s: usize) -> bool {
    holds(u, s) && printed(u, s, "SESSION_START")
}

fn printed(u: &Universe, s: usize, prefix: &str) -> bool {
    u.server(s)
        .is_some_and(|srv| srv.output().iter().any(|l| l.text.starts_with(prefix)))
}

fn assert_clean(u: &Universe) {
    assert!(
        u.violations().is_empty(),
        "violations: {:?}",
        u.violations()
    );
    assert_eq!(u.script_errors(), 0, "script errors");
}

fn start_and_release(lib: Library, servers: usize) {
    let mut u = universe(lib, servers, 11);
    let s = servers - 1;
    u.run_for(2.0).unwrap();
    u.player_join(s, USER).unwrap();
    assert!(
        u.run_until(30.0, |u| started(u, s)).unwrap(),
        "session start"
    );
    u.publish(COMMAND_TOPIC, &scenario::command(USER, "a", 5, true));
    u.run_for(15.0).unwrap();
    u.player_leave(s, USER).unwrap();
    assert!(
        u.run_until(30.0, |u| scenario::holder(u, USER).is_none())
            .unwrap(),
        "session released"
    );
    let entry = u
        .backend()
        .store
        .get(&scenario::wallet_key(u.config().universe_id, USER))
        .unwrap();
    assert!(entry.value.contains(r#""balance":5"#), "{}", entry.value);
    assert_eq!(entry.user_ids, vec![USER]);
    assert_clean(&u);
}

fn conflict(lib: Library, servers: usize) {
    let mut u = universe(lib, servers, 12);
    let (a, b) = (0, servers - 1);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    assert!(u.run_until(30.0, |u| started(u, a)).unwrap());
    // The player appears on B while A still holds the session (a hop mid-session).
    u.player_join(b, USER).unwrap();
    assert!(
        u.run_until(120.0, |u| started(u, b)).unwrap(),
        "B takes over"
    );
    assert!(printed(&u, a, "SESSION_END"), "A ended its session");
    assert_clean(&u);
}

fn crash_then_steal(lib: Library, servers: usize, min_s: f64) {
    let mut u = universe(lib, servers, 13);
    let (a, b) = (0, servers - 1);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    assert!(u.run_until(30.0, |u| started(u, a)).unwrap());
    u.crash(a).unwrap();
    let crashed_at = u.now_s();
    u.player_join(b, USER).unwrap();
    assert!(u.run_until(300.0, |u| holds(u, b)).unwrap(), "B steals");
    let took = u.now_s() - crashed_at;
    assert!(
        took >= min_s,
        "stolen after {took:.1}s, before the library's timeout {min_s}s"
    );
    assert_clean(&u);
}

fn zombie_returns(lib: Library, servers: usize) {
    let mut u = universe(lib, servers, 14);
    let (a, b) = (0, servers - 1);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    assert!(u.run_until(30.0, |u| started(u, a)).unwrap());
    u.publish(COMMAND_TOPIC, &scenario::command(USER, "before", 3, true));
    u.run_for(10.0).unwrap();
    // A loses the DataStore and messaging for longer than the steal time; B takes the session.
    u.cut_off(a, 200.0, true).unwrap();
    // A changes its copy while cut off (it cannot save); only A holds a session now.
    u.publish(
        COMMAND_TOPIC,
        &scenario::command(USER, "zombie", 1000, true),
    );
    u.run_for(5.0).unwrap();
    assert!(printed(&u, a, "APPLIED"), "A applied in memory");
    u.player_join(b, USER).unwrap();
    assert!(
        u.run_until(190.0, |u| holds(u, b)).unwrap(),
        "B steals from the zombie"
    );
    // A returns after the cut: its stale copy must not overwrite B's session.
    u.run_for(240.0).unwrap();
    assert!(holds(&u, b), "B still holds after A returned");
    assert!(
        printed(&u, a, "SESSION_END"),
        "A noticed it lost the session"
    );
    let entry = u
        .backend()
        .store
        .get(&scenario::wallet_key(u.config().universe_id, USER))
        .unwrap();
    assert!(
        !entry.value.contains("zombie"),
        "zombie write landed: {}",
        entry.value
    );
    assert_clean(&u);
}

macro_rules! suite {
    ($m:ident, $lib:expr, $steal:expr) => {
        mod $m {
            use super::*;
            #[test]
            fn start_and_release_2() {
                start_and_release($lib, 2);
            }
            #[test]
            fn start_and_release_7() {
                start_and_release($lib, 7);
            }
            #[test]
            fn conflict_2() {
                conflict($lib, 2);
            }
            #[test]
            fn conflict_7() {
                conflict($lib, 7);
            }
            #[test]
            fn crash_then_steal_2() {
                crash_then_steal($lib, 2, $steal);
            }
            #[test]
            fn crash_then_steal_7() {
                crash_then_steal($lib, 7, $steal);
            }
            #[test]
            fn zombie_returns_2() {
                zombie_returns($lib, 2);
            }
            #[test]
            fn zombie_returns_7() {
                zombie_returns($lib, 7);
            }
        }
    };
}

// ProfileStore steals after SESSION_STEAL = 40 s; ProfileService after ForceLoadMaxSteps.
suite!(profile_store, Library::ProfileStore, 40.0);
suite!(profile_service, Library::ProfileService, 30.0);
