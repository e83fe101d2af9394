//! Limits game servers share with each other and with Open Cloud (docs/platform.md R8, R9): the
//! experience-wide DataStore request budgets (300 + k × CCU a minute), per-key throughput (4 MB
//! write / 25 MB read a minute per key), and MessagingService's per-server limits (messages sent,
//! subscriptions, subscribe requests) and whole-game receive limit.

use opencloud::emulator::experience::KeyDirection;
use opencloud::emulator::{Clock, EntryKey, ExperienceLimits, RequestType, ThroughputConfig};
use roblox_emu::{Place, Universe, UniverseConfig};

fn printed(u: &Universe, s: usize) -> Vec<String> {
    u.server(s).unwrap().printed()
}

/// A universe with Roblox's shared limits on and `servers` servers running `src`.
fn universe(src: &str, servers: usize) -> Universe {
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(UniverseConfig::default(), place);
    u.backend().roblox_limits();
    for _ in 0..servers {
        u.start_server().unwrap();
    }
    u
}

/// Spends `n` requests of a type as Open Cloud (or other servers) would, now.
fn spend_elsewhere(u: &Universe, t: RequestType, n: usize) {
    let now = u.backend().clock.now_ms();
    for _ in 0..n {
        u.backend()
            .experience
            .take_requests(u.config().universe_id, &[t], now)
            .unwrap();
    }
}

const WRITE_ON_SIGNAL: &str = r#"
    local ds = game:GetService("DataStoreService"):GetDataStore("S")
    local n = 0
    game:GetService("ReplicatedStorage"):WaitForChild("Go")
    while true do
        task.wait(1)
        n += 1
        local ok, e = pcall(function() ds:SetAsync("k" .. n, n) end)
        print(ok, ok or e)
        local ok2, e2 = pcall(function()
            return ds:UpdateAsync("u" .. n, function(v) return (v or 0) + 1 end)
        end)
        print(ok2, ok2 or e2)
    end
"#;

#[test]
fn game_servers_and_open_cloud_share_the_experience_budget() {
    let mut u = universe(WRITE_ON_SIGNAL, 1);
    u.run_for(1.0).unwrap();
    // Open Cloud (the bot) has spent the experience's 300 writes of this minute (nobody plays).
    spend_elsewhere(&u, RequestType::Write, 300);
    u.run_snippet(
        0,
        "Go",
        "Instance.new('Folder', game.ReplicatedStorage).Name = 'Go'",
    )
    .unwrap();
    u.run_for(1.5).unwrap();
    let out = printed(&u, 0);
    assert_eq!(
        out[..2],
        [
            "false StandardWriteExperienceThrottled: StandardWrite request was throttled by experience limits.",
            "false StandardWriteExperienceThrottled: StandardWrite request was throttled by experience limits.",
        ],
        "{out:?}"
    );
    // Nothing was written.
    let key = EntryKey::new(u.config().universe_id, "S", "k1");
    assert_eq!(u.backend().store.get(&key), None);
    // Two players join: writes become 300 + 20 × 2 a minute, so the server writes again; its
    // UpdateAsync spent a read as well as a write.
    let stats_before = u.backend().experience.stats();
    u.player_join(0, 1).unwrap();
    u.player_join(0, 2).unwrap();
    assert_eq!(u.backend().experience.concurrent_users(1_000), 2);
    u.run_for(1.2).unwrap();
    let out = printed(&u, 0);
    assert_eq!(out[2..4], ["true true", "true true"], "{out:?}");
    let stats = u.backend().experience.stats();
    let spent = |s: &opencloud::emulator::ExperienceStats, t| s.spent.get(&t).copied().unwrap_or(0);
    assert_eq!(
        spent(&stats, RequestType::Write) - spent(&stats_before, RequestType::Write),
        2
    );
    assert_eq!(
        spent(&stats, RequestType::Read) - spent(&stats_before, RequestType::Read),
        1
    );
    // A server that stops takes its players out of the CCU.
    u.crash(0).unwrap();
    assert_eq!(u.backend().experience.concurrent_users(1_000), 0);
}

#[test]
fn the_experience_budget_is_off_unless_turned_on() {
    // Tests of other behaviour run without it; Roblox's sizes are `Backend::roblox_limits`.
    let mut place = Place::new();
    place.script(
        "ServerScriptService.Test",
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S")
        print(pcall(function() return ds:GetAsync("a") end))
        "#,
    );
    let mut u = Universe::new(UniverseConfig::default(), place);
    assert_eq!(
        u.backend().experience.limits(),
        ExperienceLimits::unlimited()
    );
    let s = u.start_server().unwrap();
    let now = u.backend().clock.now_ms();
    for _ in 0..1000 {
        assert_eq!(
            u.backend()
                .experience
                .take_requests(1_000, &[RequestType::Read], now),
            Ok(None)
        );
    }
    u.run_for(1.0).unwrap();
    assert_eq!(printed(&u, s), ["true nil nil"]);
}

#[test]
fn engine_calls_spend_the_keys_throughput_shared_with_open_cloud() {
    let mut u = universe(
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S")
        task.wait(1)
        local big = string.rep("x", 3000) -- 3,002 bytes as JSON: billed as 3 KB
        for i = 1, 3 do
            print("set", pcall(function() ds:SetAsync("k", big) end))
            task.wait(7) -- past the per-key write cooldown
        end
        local ok, e = pcall(function() ds:UpdateAsync("k", function(v) return v end) end)
        print("update", ok, e)
        print("get", pcall(function() return #ds:GetAsync("other") end))
        "#,
        1,
    );
    u.backend().experience.set_limits(ExperienceLimits {
        requests: None,
        throughput: ThroughputConfig {
            key_write_bytes_per_minute: Some(8 * 1024),
            key_read_bytes_per_minute: Some(2 * 1024),
            ..ThroughputConfig::unlimited()
        },
    });
    // Open Cloud read "other" once (2 KB of its 2 KB of reads).
    let other = EntryKey::new(1_000, "S", "other");
    u.backend()
        .store
        .set(
            &other,
            &opencloud::emulator::Writer::open_cloud("bot"),
            "\"hi\"",
            None,
            vec![],
            Default::default(),
        )
        .unwrap();
    u.backend()
        .experience
        .take_key_bytes(&other, KeyDirection::Read, 2000, u.backend().clock.now_ms())
        .unwrap();
    u.run_for(25.0).unwrap();
    let out = printed(&u, 0);
    assert_eq!(out[0..2], ["set true", "set true"], "{out:?}");
    assert!(out[2].starts_with("set false KeyThrottled: The request rate exceeds the allowed maximum for the key. Key = S/global/k"), "{out:?}");
    // UpdateAsync's read of the 3 KB value does not fit the key's 2 KB of reads; GetAsync finds the
    // reads of "other" spent by Open Cloud.
    assert!(out[3].starts_with("update false KeyThrottled"), "{out:?}");
    assert!(out[4].starts_with("get false KeyThrottled"), "{out:?}");
    // The refused writes changed nothing: the value is the second set's.
    let key = EntryKey::new(1_000, "S", "k");
    assert_eq!(u.backend().store.get(&key).unwrap().value.len(), 3002);
}

#[test]
fn a_server_sends_at_most_600_plus_240_per_player_messages_a_minute() {
    let mut u = universe(
        r#"
        local ms = game:GetService("MessagingService")
        game:GetService("ReplicatedStorage"):WaitForChild("Go")
        local sent, refused, last = 0, 0, nil
        for i = 1, 900 do
            task.spawn(function()
                local ok, e = pcall(function() ms:PublishAsync("t", "m") end)
                if ok then sent += 1 else refused += 1; last = e end
            end)
        end
        task.wait(5)
        print(sent, refused, last)
        "#,
        1,
    );
    u.player_join(0, 1).unwrap();
    u.run_snippet(
        0,
        "Go",
        "Instance.new('Folder', game.ReplicatedStorage).Name = 'Go'",
    )
    .unwrap();
    u.run_for(30.0).unwrap();
    let out = printed(&u, 0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].starts_with("840 60 PublishAsync: request was throttled"),
        "{out:?}"
    );
}

#[test]
fn subscriptions_are_capped_per_server_and_disconnect_frees_them() {
    let mut u = universe(
        r#"
        local ms = game:GetService("MessagingService")
        local conns = {}
        for i = 1, 21 do
            local ok, c = pcall(function() return ms:SubscribeAsync("t" .. i, function() end) end)
            if ok then table.insert(conns, c) else print(i, c) end
        end
        conns[1]:Disconnect()
        conns[1]:Disconnect() -- twice frees one subscription only
        print(pcall(function() return ms:SubscribeAsync("again", function() end) ~= nil end))
        print(pcall(function() return ms:SubscribeAsync("more", function() end) ~= nil end))
        "#,
        1,
    );
    u.run_for(20.0).unwrap();
    let out = printed(&u, 0);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(
        out[0].starts_with("21 SubscribeAsync: this server already holds 20 subscriptions"),
        "{out:?}"
    );
    assert_eq!(out[1], "true true");
    assert!(
        out[2].starts_with("false SubscribeAsync: this server already holds 20"),
        "{out:?}"
    );
    // The disconnected topic left the bus: the server no longer receives it.
    assert_eq!(u.backend().bus.subscriber_count(1_000, "t1"), 0);
    assert_eq!(u.backend().bus.subscriber_count(1_000, "t2"), 1);
}

#[test]
fn subscribe_requests_are_limited_to_240_a_minute() {
    let mut u = universe(
        r#"
        local ms = game:GetService("MessagingService")
        local ok_n, last = 0, nil
        for i = 1, 250 do
            local ok, c = pcall(function() return ms:SubscribeAsync("t", function() end) end)
            if ok then ok_n += 1; c:Disconnect() else last = c end
        end
        print(ok_n, last)
        "#,
        1,
    );
    u.run_for(70.0).unwrap();
    let out = printed(&u, 0);
    assert!(
        out[0].starts_with("240 SubscribeAsync: request was throttled: 240 subscribe requests"),
        "{out:?}"
    );
}

#[test]
fn the_whole_game_receives_at_most_400_plus_200_per_server_messages_a_minute() {
    // Two servers, each subscribed to 8 topics: per topic 40 + 80 × 2 = 200 receipts a minute, for
    // the whole game 400 + 200 × 2 = 800.
    let mut u = universe(
        r#"
        local ms = game:GetService("MessagingService")
        _G.got = 0
        for i = 1, 8 do
            ms:SubscribeAsync("t" .. i, function() _G.got += 1 end)
        end
        task.wait(50)
        print(_G.got)
        "#,
        2,
    );
    u.run_for(5.0).unwrap();
    for i in 1..=8 {
        for _ in 0..60 {
            u.publish(&format!("t{i}"), "m");
        }
    }
    u.run_for(50.0).unwrap();
    let total: u64 = (0..2)
        .map(|s| printed(&u, s)[0].parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        total, 800,
        "8 topics × 60 messages × 2 servers = 960 receipts asked"
    );
    assert_eq!(u.backend().bus.stats().over_game_receive_limit, 160);
}

#[test]
fn open_cloud_publishes_reach_live_servers_but_never_studio_servers() {
    // "The API can only target live game servers": a Studio server ignores Open Cloud publishes,
    // and still gets other servers' messages.
    let src = r#"
        local ms = game:GetService("MessagingService")
        ms:SubscribeAsync("t", function(m) print("got", m.Data) end)
    "#;
    for studio in [false, true] {
        let mut place = Place::new();
        place.script("ServerScriptService.Test", src);
        let mut u = Universe::new(
            UniverseConfig {
                studio,
                ..UniverseConfig::default()
            },
            place,
        );
        let s = u.start_server().unwrap();
        u.run_for(2.0).unwrap();
        u.backend()
            .bus
            .publish_open_cloud(1_000, "t", "from-open-cloud");
        u.publish("t", "from-a-server");
        u.run_for(3.0).unwrap();
        let mut got = printed(&u, s);
        got.sort(); // delivery latency is random per message
        if studio {
            assert_eq!(got, ["got from-a-server"], "studio");
        } else {
            assert_eq!(got, ["got from-a-server", "got from-open-cloud"], "live");
        }
    }
}

#[test]
fn messages_are_at_most_1_kib_and_topics_1_to_80_characters() {
    // The size is measured on the message's JSON text: a string of n characters is n + 2 bytes.
    let mut u = universe(
        r#"
        local ms = game:GetService("MessagingService")
        print(pcall(function() ms:PublishAsync("t", string.rep("x", 1022)) end))
        print(pcall(function() ms:PublishAsync("t", string.rep("x", 1023)) end))
        print(pcall(function() ms:PublishAsync(string.rep("t", 80), "m") end))
        print(pcall(function() ms:PublishAsync(string.rep("t", 81), "m") end))
        print(pcall(function() ms:PublishAsync("", "m") end))
        print(pcall(function() ms:SubscribeAsync(string.rep("t", 81), function() end) end))
        "#,
        1,
    );
    u.run_for(10.0).unwrap();
    assert_eq!(
        printed(&u, 0),
        [
            "true",
            "false PublishAsync: message size 1025 exceeds the 1kB limit",
            "true",
            "false PublishAsync: topic must be 1 to 80 characters",
            "false PublishAsync: topic must be 1 to 80 characters",
            "false SubscribeAsync: topic must be 1 to 80 characters",
        ]
    );
}
