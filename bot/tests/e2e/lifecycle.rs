//! The bot's life on the gateway: a restart re-registers without creating anything new, a
//! RECONNECT is resumed without a new IDENTIFY, and a wrong token stops the bot with an error.

use crate::harness::*;
use crate::support::{ALICE, World};
use bot::config::SecretString;
use bot::discord::{DiscordSettings, Endpoint, RunOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_serves_again_with_the_same_command_ids() {
    let mut e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 1);
    let ids = |e: &E2e| -> Vec<String> {
        e.fake
            .commands(Some(GUILD))
            .iter()
            .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let before = ids(&e);
    e.stop_bot().await.unwrap();
    assert!(!e.status.gateway_connected());
    e.restart_bot().await;
    assert_eq!(ids(&e), before, "a bulk overwrite keeps each command");
    let ix = e.run(MOD, "balance", &[("user", "1001".into())]);
    e.reply_containing(ix, "Balance: 1").await;
    assert_eq!(e.fake.gateway_counts().0, 2, "one IDENTIFY per start");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_request_is_resumed_and_commands_keep_working() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 4);
    e.fake.request_reconnect().unwrap();
    e.fake
        .wait_until("a RESUME", WAIT, |f| {
            (f.gateway_counts().1 == 1 && f.connected()).then_some(())
        })
        .await
        .unwrap();
    let ix = e.run(MOD, "balance", &[("user", "alice".into())]);
    e.reply_containing(ix, "Balance: 4").await;
    assert_eq!(
        e.fake.gateway_counts(),
        (1, 1),
        "resumed, not identified again"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_the_bot_with_an_error() {
    let fake = discord().await;
    let world = World::new();
    let api = crate::support::AuditApi::start().await;
    let service = std::sync::Arc::new(world.service(&api, crate::support::service_config()).await);
    let settings = DiscordSettings {
        token: SecretString::new("d3Jvbmc.d3Jvbmc.d3Jvbmc-not-the-token".into()),
        guild_id: Some(GUILD),
        log_channel_id: None,
        confirm_timeout: Duration::from_secs(60),
        reconcile_every: Duration::from_secs(3600),
        log_max_attempts: 10,
    };
    let options = RunOptions {
        endpoint: Endpoint::local(&fake.rest_base()).unwrap(),
        ..RunOptions::default()
    };
    let run = bot::discord::run_with(service, settings, options, std::future::pending());
    let result = tokio::time::timeout(WAIT, run)
        .await
        .expect("the bot gives up");
    let err = format!("{:#}", result.expect_err("a wrong token is an error"));
    assert!(err.contains("DISCORD_TOKEN"), "{err}");
    assert!(
        !err.contains("not-the-token"),
        "the token is never shown: {err}"
    );
    assert!(!fake.connected());
}

fn give(amount: i64) -> Vec<(&'static str, discord_fake::OptionValue)> {
    vec![
        ("user", "alice".into()),
        ("amount", amount.into()),
        ("reason", "tournament".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_an_open_prompt_and_moves_nothing() {
    let mut e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &give(500_000));
    let prompt = e.reply_containing(ix, "Confirm: Give 500000").await;
    let confirm = prompt.button("Confirm").unwrap().custom_id.clone();
    let before = e.world.calls();
    e.stop_bot().await.unwrap();
    let closed = e
        .reply_containing(ix, "restarted before this was confirmed")
        .await;
    assert_eq!(closed.id, prompt.id, "the prompt itself says so");
    assert!(closed.buttons.is_empty(), "no live buttons: {closed:#?}");
    assert!(
        e.fake.press(MOD, prompt.id, &confirm).is_err(),
        "the Confirm button is gone"
    );
    let calls = e.world.calls().since(&before);
    assert_eq!((calls.set, calls.publish), (0, 0), "nothing sent");
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_a_confirmed_give_is_pending_settles_it_once() {
    let mut config = crate::support::service_config();
    // The game server holds the command: the bot answers "pending" after 5 s (its clock).
    config.reply_budget = Duration::from_secs(5);
    let mut e = E2e::start_with(Setup {
        config,
        ..Setup::default()
    })
    .await;
    let server = crate::support::StandInServer::start(&e.world, "job-1", Some(e.api.game_client()));
    server.join(ALICE);
    server.pause();
    let ix = e.run(MOD, "give", &give(150_000));
    let prompt = e.reply_containing(ix, "Confirm: Give 150000").await;
    e.press(MOD, &prompt, "Confirm").await;
    e.reply_containing(ix, "this receipt is updated when it settles")
        .await;
    // Shutdown ends the follow-up at once; the receipt says where the outcome will appear.
    e.stop_bot().await.unwrap();
    let last = e.reply_containing(ix, "no longer updated").await;
    assert!(last.text().contains("/audit"), "{}", last.text());
    assert_eq!(server.applied(), 0);
    assert!(e.fake.seen_by(BYSTANDER, LOGS).is_empty());
    // While the bot is down the server applies the command and records it.
    server.resume(true);
    assert_eq!(server.applied(), 1);
    e.world.clock.advance(10_000);
    e.restart_bot().await;
    let posts = e.log_posts(1).await;
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(posts[0].text().contains("150000") || plain(&posts[0].text()).contains("150000"));
    // The bot marks a movement posted only after reading Discord's answer, which the fake shows
    // before the bot has read it: wait for the mark rather than expect it already.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !e.service.unlogged(10).await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing left to post: {:?}",
            e.service.unlogged(10).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(e.fake.seen_by(BYSTANDER, LOGS).len(), 1, "posted once");
    assert_eq!(server.applied(), 1, "exactly one movement");
    assert_eq!(e.world.wallet(ALICE).balance, 150_000);
    e.finish().await;
}
