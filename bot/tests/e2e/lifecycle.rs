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
