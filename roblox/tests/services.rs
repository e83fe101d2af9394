//! The service surface on one or two servers: HttpService against a real local HTTP server,
//! RemoteEvents recorded, Players, BindToClose on graceful shutdown, crash without it,
//! EncodingService SHA-256, JSON rules, DateTime, MessagingService between servers.

use std::io::{Read, Write};
use std::net::TcpListener;

use roblox::{Lifecycle, Place, Universe, UniverseConfig};

fn prints(u: &Universe, s: usize) -> Vec<String> {
    u.server(s)
        .unwrap()
        .output()
        .into_iter()
        .filter(|l| l.level == "print")
        .map(|l| l.text)
        .collect()
}

fn one(src: &str) -> (Universe, usize) {
    let mut place = Place::new();
    place.script("ServerScriptService.Test", src);
    let mut u = Universe::new(UniverseConfig::default(), place);
    let s = u.start_server().unwrap();
    (u, s)
}

#[test]
fn request_async_reaches_a_real_local_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
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
    assert!(req.contains("X-Key: k1") && req.ends_with(r#"{"a":1}"#), "{req}");
    assert_eq!(
        prints(&u, s),
        vec!["true 201 true application/json", "false HttpError: ConnectFail"]
    );
}

#[test]
fn http_is_limited_to_500_requests_per_minute() {
    let (mut u, s) = one(
        r#"
        local Http = game:GetService("HttpService")
        local refused = 0
        for i = 1, 501 do
            local ok, e = pcall(function() return Http:RequestAsync({ Url = "http://127.0.0.1:1/" }) end)
            if not ok and e == "Number of requests exceeded limit" then refused += 1 end
        end
        print(refused)
        "#,
    );
    u.run_for(60.0).unwrap();
    assert_eq!(prints(&u, s), vec!["1"]);
}

#[test]
fn remote_events_are_recorded_and_players_work() {
    let (mut u, s) = one(
        r#"
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
        "#,
    );
    u.register_user(9, "Alice");
    u.run_for(1.0).unwrap();
    u.player_join(s, 9).unwrap();
    u.run_for(2.0).unwrap();
    u.client_fire(s, "ReplicatedStorage.Economy.WalletChanged", 9, "[5]").unwrap();
    u.player_leave(s, 9).unwrap();
    u.run_for(1.0).unwrap();
    assert_eq!(prints(&u, s), vec!["added Alice 9 9 1", "client Alice 5", "removing Alice"]);
    let calls = u.server(s).unwrap().remote_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].remote, "ReplicatedStorage.Economy.WalletChanged");
    assert_eq!((calls[0].method.as_str(), calls[0].user_id), ("FireClient", Some(9)));
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
    let key = |j: &str| opencloud::emulator::EntryKey::scoped(1_000, "S", "global", format!("closed_{j}"));
    assert!(store.get(&key(&ja)).is_some(), "graceful shutdown ran BindToClose");
    assert!(store.get(&key(&jb)).is_none(), "a crash runs nothing");
}

#[test]
fn encoding_json_and_datetime() {
    let (mut u, s) = one(
        r#"
        local Enc = game:GetService("EncodingService")
        local h = Enc:ComputeBufferHash(buffer.fromstring("abc"), Enum.HashAlgorithm.Sha256)
        print(buffer.len(h), string.format("%02x%02x", buffer.readu8(h, 0), buffer.readu8(h, 1)))
        print(buffer.tostring(Enc:Base64Encode(buffer.fromstring("hi"))))
        local Http = game:GetService("HttpService")
        print(Http:JSONEncode({ 1, 2, 3 }), Http:JSONEncode({}), pcall(Http.JSONEncode, Http, { [1] = 1, [3] = 3 }))
        print(DateTime.fromUnixTimestamp(0):ToIsoDate(), os.time() == DateTime.now().UnixTimestamp)
        print(#Http:GenerateGUID(false), Http:GenerateGUID():sub(1, 1))
        "#,
    );
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
    u.run_snippet(a, "Pub", r#"game:GetService("MessagingService"):PublishAsync("t", { n = 4 })"#)
        .unwrap();
    u.run_for(2.0).unwrap();
    assert_eq!(prints(&u, a), vec!["got 4 number"]);
    assert_eq!(prints(&u, b), vec!["got 4 number"]);
}
