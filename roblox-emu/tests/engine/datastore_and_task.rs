//! Parts of the emulated surface that the session libraries use rarely, driven from Luau:
//! `RemoveAsync` (returns the value it removed; the key then reads nil, on this server and on
//! another), `IncrementAsync` (creates the key, adds, refuses a stored non-number and a fractional
//! delta, and changes nothing when it refuses), `UpdateAsync` cancelled by returning nil, and the
//! ordering of `task.spawn` / `task.defer` / `task.delay` / `task.cancel`.

use roblox_emu::{Place, Universe, UniverseConfig};

fn prints(u: &Universe, s: usize) -> Vec<String> {
    u.server(s).unwrap().printed()
}

fn universe(scripts: &[(&str, &str)]) -> Universe {
    let mut place = Place::new();
    for (path, src) in scripts {
        place.script(path, *src);
    }
    Universe::new(UniverseConfig::default(), place)
}

#[test]
fn remove_increment_and_cancelled_update() {
    let mut u = universe(&[(
        "ServerScriptService.Test",
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("Store")
        ds:SetAsync("gone", { n = 7 })
        local old, info = ds:RemoveAsync("gone")
        print("removed", old.n, info:IsA("DataStoreKeyInfo"))
        print("after remove", (ds:GetAsync("gone")))
        print("remove missing", ds:RemoveAsync("never"))

        print("increment new", (ds:IncrementAsync("count")))
        print("increment by 5", (ds:IncrementAsync("count", 5)))
        print("increment by -2", (ds:IncrementAsync("count", -2)))
        local ok, err = pcall(function() return ds:IncrementAsync("count", 1.5) end)
        print("fractional delta refused", not ok, string.find(tostring(err), "integer") ~= nil)
        ds:SetAsync("text", "hello")
        ok = pcall(function() return ds:IncrementAsync("text", 1) end)
        print("non-number refused", not ok, (ds:GetAsync("text")))
        print("count unchanged", (ds:GetAsync("count")))

        ds:SetAsync("keep", 1)
        local calls = 0
        local result = ds:UpdateAsync("keep", function(current)
            calls += 1
            return nil
        end)
        print("cancelled update", result, calls, (ds:GetAsync("keep")))
        "#,
    )]);
    let s = u.start_server().unwrap();
    // Writes to one key are spaced by the 6 s per-key cooldown (queued, with Roblox's warning).
    u.run_for(120.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec![
            "removed 7 true",
            "after remove nil",
            "remove missing nil nil",
            "increment new 1",
            "increment by 5 6",
            "increment by -2 4",
            "fractional delta refused true true",
            "non-number refused true hello",
            "count unchanged 4",
            "cancelled update nil 1 1",
        ]
    );
    assert_eq!(u.server(s).unwrap().script_errors(), 0);
}

#[test]
fn a_removed_key_reads_nil_on_another_server() {
    let mut u = universe(&[]);
    let a = u.start_server().unwrap();
    let b = u.start_server().unwrap();
    u.run_snippet(
        a,
        "Remove",
        r#"
            local ds = game:GetService("DataStoreService"):GetDataStore("Store")
            ds:SetAsync("shared", 42)
            ds:RemoveAsync("shared")
            print("removed on a")
            "#,
    )
    .unwrap();
    u.run_for(10.0).unwrap();
    u.run_snippet(
        b,
        "Read",
        r#"
            local ds = game:GetService("DataStoreService"):GetDataStore("Store")
            print("b reads", (ds:GetAsync("shared")))
            "#,
    )
    .unwrap();
    u.run_for(10.0).unwrap();
    assert_eq!(prints(&u, a), vec!["removed on a"]);
    assert_eq!(prints(&u, b), vec!["b reads nil"]);
}

#[test]
fn task_spawn_defer_delay_and_cancel_run_in_roblox_order() {
    let mut u = universe(&[(
        "ServerScriptService.Test",
        r#"
        local order = {}
        local function log(s) table.insert(order, s) end
        task.delay(2, function() log("delay 2") end)
        local cancelled = task.delay(1, function() log("cancelled delay ran") end)
        task.delay(1, function() log("delay 1") end)
        task.defer(function() log("defer") end)
        task.spawn(function() log("spawn") end)
        log("after spawn")
        task.cancel(cancelled)
        local t0 = os.clock()
        task.wait(3)
        print(table.concat(order, ", "))
        print("waited at least 3 s", os.clock() - t0 >= 3)
        "#,
    )]);
    let s = u.start_server().unwrap();
    u.run_for(5.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec![
            "spawn, after spawn, defer, delay 1, delay 2",
            "waited at least 3 s true",
        ]
    );
    assert_eq!(u.server(s).unwrap().script_errors(), 0);
}
