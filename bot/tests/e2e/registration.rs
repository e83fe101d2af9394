//! Command registration (issue 15, items 1 and 9): a failing registration is retried and
//! reported while commands registered by an earlier start keep working, and the scope the bot
//! does not register in is emptied.

use crate::harness::*;
use crate::support::{ALICE, World};
use discord_fake::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_registration_is_retried_and_reported_while_commands_keep_working() {
    let fake = discord().await;
    // An earlier start registered the commands; this start's registration keeps failing.
    let earlier = E2e::start().await;
    let registered = earlier.fake.commands(Some(GUILD));
    earlier.finish().await;
    fake.preregister(Some(GUILD), &registered);
    fake.fail_registrations_until_cleared(Fault::ServerError);
    let e = E2e::launch(fake, World::new(), Setup::default()).await;
    let why = e
        .wait_status("a reported registration failure", |s| {
            s.problems()
                .into_iter()
                .find(|p| p.contains("not registered:"))
        })
        .await;
    assert!(why.contains("500"), "{why}");
    e.world.seed_offline_profile(ALICE, 3);
    // Commands answer while registration fails (they used to hang until a restart).
    let ix = e.run(MOD, "balance", &[("user", "alice".into())]);
    e.reply_containing(ix, "Balance: 3").await;
    assert!(
        !e.status.commands_registered(),
        "still failing: the faults are not cleared"
    );
    let failures = e.status.failed_registrations();
    assert!(failures >= 1);
    e.fake.clear_registration_faults();
    e.ready().await;
    assert!(e.status.problems().is_empty(), "{:?}", e.status.problems());
    let puts: Vec<u16> = e
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.route.ends_with(&format!("/guilds/{GUILD}/commands")))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        puts.last(),
        Some(&200),
        "retried until it went through: {puts:?}"
    );
    assert!(puts[..puts.len() - 1].iter().all(|s| *s == 500), "{puts:?}");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guild_the_bot_is_not_in_is_reported_with_what_to_check() {
    let mut e = E2e::launch(
        discord().await,
        World::new(),
        Setup {
            guild_id: Some(123_456_789),
            ..Setup::default()
        },
    )
    .await;
    let why = e
        .wait_status("the 403 to be reported", |s| {
            s.problems().into_iter().find(|p| p.contains("50001"))
        })
        .await;
    assert!(why.contains("DISCORD_GUILD_ID"), "{why}");
    assert!(!e.status.commands_registered());
    // Shutdown is not held up by the retrying registration.
    e.stop_bot().await.unwrap();
    assert!(e.fake.problems().is_empty(), "{:?}", e.fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_between_guild_and_global_registration_leaves_no_duplicates() {
    let fake = discord().await;
    fake.preregister(
        None,
        &[serde_json::json!({"name": "give", "description": "old global give"})],
    );
    let mut e = E2e::launch(fake, World::new(), Setup::default()).await;
    e.ready().await;
    e.fake
        .wait_until("the global scope to be emptied", WAIT, |f| {
            f.commands(None).is_empty().then_some(())
        })
        .await
        .unwrap();
    let registered = e.fake.commands(Some(GUILD));
    assert_eq!(registered.len(), bot::discord::commands().len());
    for c in &registered {
        // Installable to guilds only, usable in guilds only.
        assert_eq!(c["integration_types"], serde_json::json!([0]), "{c}");
        assert_eq!(c["contexts"], serde_json::json!([0]), "{c}");
    }
    e.stop_bot().await.unwrap();

    // The same bot switched to global registration.
    let mut global = E2e::launch(
        e.fake,
        e.world,
        Setup {
            guild_id: None,
            ..Setup::default()
        },
    )
    .await;
    global.ready().await;
    global
        .fake
        .wait_until("the guild scope to be emptied", WAIT, |f| {
            f.commands(Some(GUILD)).is_empty().then_some(())
        })
        .await
        .unwrap();
    assert_eq!(
        global.fake.commands(None).len(),
        bot::discord::commands().len()
    );
    global.stop_bot().await.unwrap();
    assert!(
        global.fake.problems().is_empty(),
        "{:?}",
        global.fake.problems()
    );
}
