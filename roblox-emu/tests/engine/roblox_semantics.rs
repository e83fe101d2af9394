//! Behaviours scripts rely on that must match Roblox: pcall across yields, engine errors reach Luau
//! as strings, safeenv is on, os.clock does not start at zero (ProfileStore ignores messages in a
//! server's first seconds of uptime); plus determinism of a seeded run, UpdateAsync semantics (no
//! yield, nil cancels, conflict re-runs), and loud errors for missing emulation.

use roblox_emu::scenario::{RandomRun, run_random};
use roblox_emu::{Library, Place, Universe, UniverseConfig};

fn run(src: &str, seconds: f64) -> Vec<String> {
    run_cfg(src, seconds, UniverseConfig::default())
}

fn run_cfg(src: &str, seconds: f64, cfg: UniverseConfig) -> Vec<String> {
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(cfg, place);
    let s = u.start_server().unwrap();
    u.run_for(seconds).unwrap();
    u.server(s)
        .unwrap()
        .output()
        .into_iter()
        .filter(|l| l.level != "warn")
        .map(|l| l.text)
        .collect()
}

#[test]
fn pcall_across_yields_works() {
    let out = run(
        r#"
        local ok, v = pcall(function() task.wait(1) return "after" end)
        print(ok, v)
        local ok2, e = pcall(function() task.wait(0.5) error("boom", 0) end)
        print(ok2, e)
        "#,
        3.0,
    );
    assert_eq!(out, vec!["true after", "false boom"]);
}

#[test]
fn engine_errors_reach_luau_as_strings() {
    let out = run(
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S")
        local ok, e = pcall(function() ds:SetAsync("k", function() end) end)
        print(ok, type(e), string.find(e, "104") ~= nil)
        local ok2, e2 = pcall(function() return game:GetService("HttpService"):JSONDecode("{") end)
        print(ok2, type(e2), e2:find("Can't parse JSON") ~= nil)
        local ok3, e3 = pcall(function() return game:GetService("Teams") end)
        print(ok3, type(e3), e3:find("not emulated") ~= nil)
        local ok4, e4 = pcall(function() return game.Workspace.Nope end)
        print(ok4, e4:find("Nope is not a valid member of Workspace") ~= nil)
        "#,
        3.0,
    );
    assert_eq!(
        out,
        vec![
            "false string true",
            "false string true",
            "false string true",
            "false true"
        ]
    );
}

// safeenv itself is checked in src/server.rs (`scripts_compile_with_safeenv_on`), which can
// patch a script's environment from outside after its closures were created.

#[test]
fn os_clock_does_not_start_at_zero() {
    let out = run("print(os.clock() > 100)", 1.0);
    assert_eq!(out, vec!["true"]);
    let zero = run_cfg(
        "print(os.clock() < 1)",
        1.0,
        UniverseConfig {
            clock_zero: true,
            ..UniverseConfig::default()
        },
    );
    assert_eq!(zero, vec!["true"]);
}

#[test]
fn update_async_cannot_yield_and_nil_cancels() {
    let out = run(
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S")
        ds:SetAsync("k", 1)
        local ok, e = pcall(function()
            return ds:UpdateAsync("k", function(v) task.wait(1) return v + 1 end)
        end)
        print(ok, e:find("cannot yield") ~= nil)
        print(ds:UpdateAsync("k", function() return nil end))
        print((ds:UpdateAsync("k", function(v) return v + 1 end)))
        "#,
        30.0,
    );
    assert_eq!(out, vec!["false true", "nil nil", "2"]);
}

#[test]
fn update_async_reruns_the_transform_on_conflict() {
    let mut place = Place::new();
    place.script(
        "ServerScriptService.Test",
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S")
        local calls = 0
        local v = ds:UpdateAsync("k", function(old)
            calls += 1
            return (old or 0) + 1
        end)
        print(v, calls)
        "#,
    );
    let mut u = Universe::new(UniverseConfig::default(), place);
    let s = u.start_server().unwrap();
    // Another writer lands between the server's read and its commit.
    let key = opencloud::emulator::EntryKey::scoped(u.config().universe_id, "S", "global", "k");
    let store = u.backend().store.clone();
    u.step().unwrap();
    store
        .set(
            &key,
            &opencloud::emulator::Writer::other("test"),
            "10",
            None,
            vec![],
            Default::default(),
        )
        .unwrap();
    u.run_for(5.0).unwrap();
    let out: Vec<String> = u
        .server(s)
        .unwrap()
        .output()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(out == vec!["11 2"] || out == vec!["11 1"], "{out:?}");
}

#[test]
fn typeof_matches_roblox() {
    let out = run(
        r#"
        print(typeof(game), typeof(Enum.SortDirection.Ascending), typeof(DateTime.now()), typeof(game:GetService("RunService").Heartbeat))
        "#,
        1.0,
    );
    assert_eq!(out, vec!["Instance EnumItem DateTime RBXScriptSignal"]);
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let run = RandomRun::small(Library::ProfileStore, 42, 3);
    let a = run_random(&run, None).unwrap();
    let b = run_random(&run, None).unwrap();
    assert_eq!(a.digest, b.digest);
    assert!(a.events > 100);
    let other = run_random(&RandomRun { seed: 43, ..run }, None).unwrap();
    assert_ne!(a.digest, other.digest);
}
