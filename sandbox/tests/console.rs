//! The console over the real stack (2 game servers in real time): Discord's commands typed as
//! text, receipts, sandbox commands, and a clean shutdown that frees every port.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sandbox::console::Reply;
use sandbox::world::Pace;
use sandbox::{Options, Sandbox};

async fn text(sb: &Sandbox, line: &str) -> String {
    match sb.run_line(line).await {
        Some(Reply::Text(t)) => {
            println!("> {line}\n{t}");
            t
        }
        other => panic!("{line}: {other:?}"),
    }
}

async fn wait_holder(sb: &Sandbox, user: u64) {
    let start = Instant::now();
    while sb.stack.session_holder(user).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "user {user} never got a wallet session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_commands_move_money_and_shutdown_frees_the_ports() {
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| println!("▸ {l}"));
    let sb = Sandbox::start(
        Options {
            servers: 2,
            players: 4,
            online: 2,
            churn_per_minute: 30.0,
            pace: Pace::RealTime,
            ..Options::default()
        },
        status,
    )
    .await
    .expect("sandbox starts");

    assert!(text(&sb, "players").await.contains("server 1:"));
    assert!(text(&sb, "join 1001 0").await.contains("joins server 0"));
    wait_holder(&sb, 1001).await;

    let give = text(&sb, r#"/give user:alice amount:10 reason:"console test""#).await;
    assert!(give.contains("✅ Applied: Give 10"), "{give}");
    assert!(
        give.contains("New balance") && give.contains(" 10\n"),
        "{give}"
    );
    assert!(give.contains("Saved by     game server"), "{give}");

    let offline = text(&sb, "/give user:1006 amount:5 reason:offline").await;
    assert!(
        offline.contains("✅ Applied") && offline.contains("the bot"),
        "{offline}"
    );

    let balance = text(&sb, "/balance user:alice").await;
    assert!(
        balance.contains("10") && balance.contains("yes: a game server holds the wallet"),
        "{balance}"
    );

    let audit = text(&sb, "/audit limit:2").await;
    assert!(audit.contains("2 record(s), newest first"), "{audit}");
    assert!(
        audit.contains("user 1006") && audit.contains("user 1001"),
        "{audit}"
    );

    // A Discord member named through a staff link (issue 17), the same front-end code as Discord.
    let unlinked = text(&sb, "/give member:555 amount:1 reason:x").await;
    assert!(
        unlinked.contains("has no linked Roblox account"),
        "{unlinked}"
    );
    let set = text(&sb, "/link set member:555 roblox:1006").await;
    assert!(set.contains("Account link set by staff"), "{set}");
    let via = text(&sb, "/give member:555 amount:2 reason:linked").await;
    assert!(
        via.contains("✅ Applied: Give 2") && via.contains("set by staff"),
        "{via}"
    );
    let mine = text(&sb, "/balance member:555").await;
    assert!(
        mine.contains("set by staff") && mine.contains(" 7\n"),
        "{mine}"
    );
    let both = text(&sb, "/give user:1006 member:555 amount:1 reason:x").await;
    assert!(both.contains("name the player one way"), "{both}");
    assert!(
        text(&sb, "/link remove member:555")
            .await
            .contains("removed")
    );

    let unknown = text(&sb, "/give user:nobody_here amount:1 reason:x").await;
    assert!(
        unknown.contains("Not done") && unknown.contains("No Roblox user"),
        "{unknown}"
    );
    let big = text(&sb, "/give user:alice amount:200000 reason:x").await;
    assert!(big.contains("confirm:yes"), "{big}");
    let bad = text(&sb, "/give user:alice amount:ten reason:x").await;
    assert!(bad.contains("whole number"), "{bad}");
    // The shared option rules apply: the console once let any 40 characters through as a user.
    let bad = text(&sb, "/give user:a-b amount:1 reason:x").await;
    assert!(bad.contains("`user` is not a Roblox username"), "{bad}");
    let bad = text(
        &sb,
        &format!("/give user:alice amount:1 reason:{}", "x".repeat(201)),
    )
    .await;
    assert!(bad.contains("`reason` must be 1-200 characters"), "{bad}");

    assert!(text(&sb, "crash 1").await.contains("crashed"));
    let servers = text(&sb, "servers").await;
    assert!(
        servers.contains("dead") && servers.contains("0 single-writer violations"),
        "{servers}"
    );
    assert_eq!(sb.run_line("quit").await, Some(Reply::Quit));

    let api = sb.stack.api.base_url();
    let emulator = sb.stack.emulator_url().expect("emulator running");
    let world = sb.world.clone();
    sb.shutdown().await.expect("clean shutdown");
    assert!(
        world.snapshot().await.is_err(),
        "the universe thread stopped"
    );
    for url in [api, emulator] {
        let addr = url.trim_start_matches("http://").to_owned();
        assert!(
            tokio::net::TcpStream::connect(&addr).await.is_err(),
            "{addr} still accepts connections after shutdown"
        );
    }
}
