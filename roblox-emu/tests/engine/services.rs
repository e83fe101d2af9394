//! The service surface on one or two servers: HttpService against a real local HTTP server,
//! RemoteEvents recorded, Players, BindToClose on graceful shutdown, crash without it,
//! EncodingService SHA-256, JSON rules, DateTime, MessagingService between servers.

use std::io::{Read, Write};
use std::net::TcpListener;

use roblox_emu::{HeaderNames, Lifecycle, Place, Universe, UniverseConfig};

fn prints(u: &Universe, s: usize) -> Vec<String> {
    u.server(s).unwrap().printed()
}

/// One server running `src`, in an experience that allows HTTP requests.
fn one(src: &str) -> (Universe, usize) {
    one_with(
        src,
        UniverseConfig {
            http_enabled: true,
            ..UniverseConfig::default()
        },
    )
}

fn one_with(src: &str, cfg: UniverseConfig) -> (Universe, usize) {
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(cfg, place);
    let s = u.start_server().unwrap();
    (u, s)
}

/// A local server answering one request with `answer`.
fn answer_once(answer: &'static str) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut req = Vec::new();
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        conn.write_all(answer.as_bytes()).unwrap();
    });
    (port, server)
}

#[test]
fn http_is_off_until_the_experience_allows_it() {
    // Roblox: HttpService requests fail until Game Settings > Security > Allow HTTP Requests.
    let (mut u, s) = one_with(
        r#"
        local ok, e = pcall(function()
            return game:GetService("HttpService"):RequestAsync({ Url = "http://127.0.0.1:1/" })
        end)
        print(ok, e)
        "#,
        UniverseConfig::default(),
    );
    u.run_for(1.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec!["false Http requests are not enabled. Enable via game settings"]
    );
}

#[test]
fn response_header_names_are_spelled_either_way() {
    // How RequestAsync spells header names is undocumented: the emulator answers both ways.
    const ANSWER: &str =
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 7\r\nContent-Length: 0\r\n\r\n";
    for (names, expected) in [
        (HeaderNames::Lowercase, "retry-after=7 content-length=0"),
        (HeaderNames::Capitalized, "Retry-After=7 Content-Length=0"),
    ] {
        let (port, server) = answer_once(ANSWER);
        let (mut u, s) = one_with(
            &format!(
                r#"
                local res = game:GetService("HttpService"):RequestAsync({{ Url = "http://127.0.0.1:{port}/" }})
                local names = {{}}
                for k, v in res.Headers do table.insert(names, k .. "=" .. v) end
                table.sort(names, function(a, b) return string.lower(a) > string.lower(b) end)
                print(table.concat(names, " "))
                "#
            ),
            UniverseConfig {
                http_enabled: true,
                http_header_names: names,
                ..UniverseConfig::default()
            },
        );
        u.run_for(3.0).unwrap();
        server.join().unwrap();
        assert_eq!(prints(&u, s), vec![expected.to_owned()]);
    }
}

#[test]
fn request_async_reaches_a_real_local_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // The client writes head and body separately: read until the whole body is in.
        let mut req = String::new();
        let mut buf = vec![0u8; 4096];
        while !req.ends_with(r#"{"a":1}"#) {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            req.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let body = r#"{"ok":true}"#;
        write!(
            conn,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        req
    });
    let (mut u, s) = one(&format!(
        r#"
        local Http = game:GetService("HttpService")
        local res = Http:RequestAsync({{ Url = "http://127.0.0.1:{port}/audit?x=1", Method = "POST",
            Headers = {{ ["Content-Type"] = "application/json", ["X-Key"] = "k1" }}, Body = Http:JSONEncode({{ a = 1 }}) }})
        print(res.Success, res.StatusCode, Http:JSONDecode(res.Body).ok, res.Headers["content-type"])
        local ok, e = pcall(function() return Http:RequestAsync({{ Url = "http://127.0.0.1:1/" }}) end)
        print(ok, e)
        "#
    ));
    u.run_for(3.0).unwrap();
    let req = server.join().unwrap();
    assert!(req.starts_with("POST /audit?x=1 HTTP/1.1\r\n"), "{req}");
    assert!(
        req.contains("X-Key: k1") && req.ends_with(r#"{"a":1}"#),
        "{req}"
    );
    assert_eq!(
        prints(&u, s),
        vec![
            "true 201 true application/json",
            "false HttpError: ConnectFail"
        ]
    );
}

#[test]
fn http_is_limited_to_500_requests_per_minute() {
    let (mut u, s) = one(r#"
        local Http = game:GetService("HttpService")
        local refused = 0
        for i = 1, 501 do
            local ok, e = pcall(function() return Http:RequestAsync({ Url = "http://127.0.0.1:1/" }) end)
            if not ok and e == "Number of requests exceeded limit" then refused += 1 end
        end
        print(refused)
        "#);
    u.run_for(60.0).unwrap();
    assert_eq!(prints(&u, s), vec!["1"]);
}

#[test]
fn remote_events_are_recorded_and_players_work() {
    let (mut u, s) = one(r#"
        local Players = game:GetService("Players")
        local folder = Instance.new("Folder")
        folder.Name = "Economy"
        folder.Parent = game:GetService("ReplicatedStorage")
        local changed = Instance.new("RemoteEvent", folder)
        changed.Name = "WalletChanged"
        changed.OnServerEvent:Connect(function(player, n) print("client", player.Name, n) end)
        Players.PlayerAdded:Connect(function(p)
            changed:FireClient(p, { balance = 10 })
            print("added", p.Name, p.UserId, Players:GetUserIdFromNameAsync("alice"), #Players:GetPlayers())
        end)
        Players.PlayerRemoving:Connect(function(p) print("removing", p.Name) end)
        "#);
    u.register_user(9, "Alice");
    u.run_for(1.0).unwrap();
    u.player_join(s, 9).unwrap();
    u.run_for(2.0).unwrap();
    u.client_fire(s, "ReplicatedStorage.Economy.WalletChanged", 9, "[5]")
        .unwrap();
    u.player_leave(s, 9).unwrap();
    u.run_for(1.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec!["added Alice 9 9 1", "client Alice 5", "removing Alice"]
    );
    let calls = u.server(s).unwrap().remote_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].remote, "ReplicatedStorage.Economy.WalletChanged");
    assert_eq!(
        (calls[0].method.as_str(), calls[0].user_id),
        ("FireClient", Some(9))
    );
    assert_eq!(calls[0].args, r#"[{"balance":10}]"#);
}

#[test]
fn bind_to_close_runs_on_shutdown_but_not_on_crash() {
    let src = r#"
        game:BindToClose(function()
            task.wait(2)
            game:GetService("DataStoreService"):GetDataStore("S"):SetAsync("closed_" .. game.JobId, true)
        end)
    "#;
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(UniverseConfig::default(), place);
    let a = u.start_server().unwrap();
    let b = u.start_server().unwrap();
    let (ja, jb) = (
        u.server(a).unwrap().job_id().to_owned(),
        u.server(b).unwrap().job_id().to_owned(),
    );
    u.run_for(1.0).unwrap();
    u.shutdown(a).unwrap();
    u.crash(b).unwrap();
    assert!(matches!(u.lifecycle(a), Some(Lifecycle::Closing { .. })));
    u.run_for(5.0).unwrap();
    assert_eq!(u.lifecycle(a), Some(Lifecycle::Dead));
    let store = &u.backend().store;
    let key = |j: &str| {
        opencloud::emulator::EntryKey::scoped(1_000, "S", "global", format!("closed_{j}"))
    };
    assert!(
        store.get(&key(&ja)).is_some(),
        "graceful shutdown ran BindToClose"
    );
    assert!(store.get(&key(&jb)).is_none(), "a crash runs nothing");
}

#[test]
fn encoding_json_and_datetime() {
    let (mut u, s) = one(r#"
        local Enc = game:GetService("EncodingService")
        local h = Enc:ComputeBufferHash(buffer.fromstring("abc"), Enum.HashAlgorithm.Sha256)
        print(buffer.len(h), string.format("%02x%02x", buffer.readu8(h, 0), buffer.readu8(h, 1)))
        print(buffer.tostring(Enc:Base64Encode(buffer.fromstring("hi"))))
        local Http = game:GetService("HttpService")
        print(Http:JSONEncode({ 1, 2, 3 }), Http:JSONEncode({}), pcall(Http.JSONEncode, Http, { [1] = 1, [3] = 3 }))
        print(DateTime.fromUnixTimestamp(0):ToIsoDate(), os.time() == DateTime.now().UnixTimestamp)
        print(#Http:GenerateGUID(false), Http:GenerateGUID():sub(1, 1))
        "#);
    u.run_for(1.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec![
            "32 ba78",
            "aGk=",
            "[1,2,3] [] false Can't convert to JSON: tables with mixed or sparse keys are not supported",
            "1970-01-01T00:00:00.000Z true",
            "36 {",
        ]
    );
}

#[test]
fn messaging_reaches_other_servers_with_latency() {
    let src = r#"
        local M = game:GetService("MessagingService")
        M:SubscribeAsync("t", function(m) print("got", m.Data.n, type(m.Sent)) end)
    "#;
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(UniverseConfig::default(), place);
    let a = u.start_server().unwrap();
    let b = u.start_server().unwrap();
    u.run_for(2.0).unwrap();
    u.run_snippet(
        a,
        "Pub",
        r#"game:GetService("MessagingService"):PublishAsync("t", { n = 4 })"#,
    )
    .unwrap();
    u.run_for(2.0).unwrap();
    assert_eq!(prints(&u, a), vec!["got 4 number"]);
    assert_eq!(prints(&u, b), vec!["got 4 number"]);
}

#[test]
fn real_time_mode_paces_virtual_time_to_the_wall_clock() {
    let mut place = Place::new();
    place.script("ServerScriptService.Test", "task.wait(0.2) print('tick')");
    let cfg = UniverseConfig {
        mode: roblox_emu::TimeMode::RealTime,
        ..UniverseConfig::default()
    };
    let mut u = Universe::new(cfg, place);
    let s = u.start_server().unwrap();
    let started = std::time::Instant::now();
    u.run_for(0.4).unwrap();
    assert!(
        started.elapsed().as_secs_f64() >= 0.35,
        "virtual time ran ahead of the wall clock"
    );
    assert_eq!(prints(&u, s), vec!["tick"]);
}

#[test]
fn a_rojo_project_directory_loads_scripts_and_modules() {
    let root = std::env::temp_dir().join(format!("roblox-emu-rojo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "default.project.json",
        r#"{ "name": "t", "tree": { "$className": "DataModel",
            "ServerScriptService": { "$path": "src/server" },
            "ReplicatedStorage": { "Shared": { "$path": "src/shared" } } } }"#,
    );
    write(
        "src/server/Main.server.luau",
        "local Lib = require(game:GetService('ReplicatedStorage').Shared.Lib)\nprint(Lib.name, Lib.Helper.x, script:GetFullName())",
    );
    write(
        "src/server/Ignored.client.luau",
        "print('client code must not run')",
    );
    write(
        "src/shared/Lib/init.luau",
        "return { name = script.Name, Helper = require(script.Helper) }",
    );
    write("src/shared/Lib/Helper.luau", "return { x = 42 }");
    let place = Place::from_dir(&root).unwrap();
    let mut u = Universe::new(UniverseConfig::default(), place);
    let s = u.start_server().unwrap();
    u.run_for(1.0).unwrap();
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(prints(&u, s), vec!["Lib 42 ServerScriptService.Main"]);
}

#[test]
fn a_write_stores_the_value_as_it_was_when_handed_over() {
    // SetAsync and UpdateAsync encode the value when it is handed over; a change made while the
    // request is in flight is not stored.
    let (mut u, s) = one(r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("E")
        local fresh = Instance.new("DataStoreGetOptions")
        fresh.UseCache = false
        local a = { n = 1 }
        task.defer(function() a.n = 99 end)
        ds:SetAsync("set", a)
        print(ds:GetAsync("set", fresh).n, a.n)
        local b = { n = 2 }
        ds:UpdateAsync("update", function()
            task.defer(function() b.n = 99 end)
            return b
        end)
        print(ds:GetAsync("update", fresh).n, b.n)
        "#);
    u.run_for(20.0).unwrap();
    assert_eq!(prints(&u, s), vec!["1 99", "2 99"]);
}

#[test]
fn a_write_can_land_and_still_answer_an_error() {
    let cfg = UniverseConfig {
        faults: roblox_emu::Faults {
            datastore_lost_answer_rate: 1.0,
            ..roblox_emu::Faults::default()
        },
        ..UniverseConfig::default()
    };
    let (mut u, s) = one_with(
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("L")
        local fresh = Instance.new("DataStoreGetOptions")
        fresh.UseCache = false
        print(pcall(function() return ds:SetAsync("k", 1) end))
        print((ds:GetAsync("k", fresh)))
        print(pcall(function() return ds:UpdateAsync("k", function(v) return v + 1 end) end))
        print((ds:GetAsync("k", fresh)))
        "#,
        cfg,
    );
    u.run_for(20.0).unwrap();
    let printed = prints(&u, s);
    assert_eq!(printed.len(), 4, "{printed:?}");
    assert!(printed[0].starts_with("false 502: "), "{printed:?}");
    assert_eq!(printed[1], "1", "the failed SetAsync landed");
    assert!(printed[2].starts_with("false 502: "), "{printed:?}");
    assert_eq!(printed[3], "2", "the failed UpdateAsync landed");
}

/// Two servers: `reader` runs on the first while the second writes `k = 2` after 1 s (the reader
/// has written `k = 1` first); answers what the reader printed.
fn read_while_another_server_writes(reader: &str) -> Vec<String> {
    let mut u = Universe::new(UniverseConfig::default(), Place::new());
    let (a, b) = (u.start_server().unwrap(), u.start_server().unwrap());
    u.run_snippet(a, "Reader", reader).unwrap();
    u.run_snippet(
        b,
        "Writer",
        r#"
        task.wait(1)
        game:GetService("DataStoreService"):GetDataStore("C"):SetAsync("k", 2)
        "#,
    )
    .unwrap();
    u.run_for(10.0).unwrap();
    prints(&u, a)
}

#[test]
fn get_async_serves_its_cache_unless_use_cache_is_false() {
    // DataStoreGetOptions.UseCache: false reads the store even within the 4 s cache; the cached
    // read spends no budget.
    let printed = read_while_another_server_writes(
        r#"
        local DataStoreService = game:GetService("DataStoreService")
        local ds = DataStoreService:GetDataStore("C")
        local function budget()
            return DataStoreService:GetRequestBudgetForRequestType(Enum.DataStoreRequestType.GetAsync)
        end
        ds:SetAsync("k", 1)
        print((ds:GetAsync("k")))
        task.wait(2)
        local before = budget()
        print((ds:GetAsync("k")), budget() == before)
        local fresh = Instance.new("DataStoreGetOptions")
        fresh.UseCache = false
        print((ds:GetAsync("k", fresh)))
        "#,
    );
    assert_eq!(printed, vec!["1", "1 true", "2"]);
    // The cache expires: a plain read 4 s after the last one sees the other server's write.
    let printed = read_while_another_server_writes(
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("C")
        ds:SetAsync("k", 1)
        print((ds:GetAsync("k")))
        task.wait(5)
        print((ds:GetAsync("k")))
        "#,
    );
    assert_eq!(printed, vec!["1", "2"]);
}

#[test]
fn datastore_versions_metadata_and_cache() {
    let (mut u, s) = one(r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("S", "scope1")
        local opts = Instance.new("DataStoreSetOptions")
        opts:SetMetadata({ tag = "a" })
        local v1 = ds:SetAsync("k", { n = 1 }, { 7 }, opts)
        task.wait(7)
        ds:SetAsync("k", { n = 2 })
        local value, info = ds:GetAsync("k")
        print(value.n, info.Version ~= v1, #info:GetUserIds())
        local pages = ds:ListVersionsAsync("k", Enum.SortDirection.Ascending)
        local page = pages:GetCurrentPage()
        print(#page, page[1].Version == v1)
        local old, oldInfo = ds:GetVersionAsync("k", v1)
        print(old.n, oldInfo:GetMetadata().tag, oldInfo:GetUserIds()[1])
        local keys = ds:ListKeysAsync():GetCurrentPage()
        print(#keys, keys[1].KeyName)
        print(game:GetService("DataStoreService"):GetRequestBudgetForRequestType(Enum.DataStoreRequestType.GetAsync) > 0)
        "#);
    u.run_for(30.0).unwrap();
    assert_eq!(
        prints(&u, s),
        vec!["2 true 0", "2 true", "1 a 7", "1 k", "true"]
    );
}
