//! `/give`, `/deduct` and `/balance` through Discord: offline and online players, the Confirm /
//! Cancel prompt, its timeout, refusals, bad input, and the log channel.

use crate::harness::*;
use crate::support::{ALICE, StandInServer, wallet_key};
use discord_fake::OptionValue;
use std::time::Duration;

fn give(user: &str, amount: i64, reason: &str) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("user", user.into()),
        ("amount", amount.into()),
        ("reason", reason.into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_shows_the_wallet_only_to_the_member_who_asked() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "balance", &[("user", "alice".into())]);
    let reply = e.reply_containing(ix, "Balance: 5").await;
    assert!(reply.ephemeral, "answers are ephemeral");
    assert!(reply.text().contains("Alice the Brave"), "{}", reply.text());
    assert!(
        e.fake.seen_by(BYSTANDER, CHANNEL).is_empty(),
        "a bystander sees nothing"
    );
    assert_eq!(
        e.fake.response_type(ix),
        Some(5),
        "deferred first (Discord's 3 s)"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn give_and_deduct_to_an_offline_player_move_money_once_and_post_to_the_log_channel() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &give("1001", 7, "event prize"));
    e.reply_containing(ix, "New balance: 12").await;
    assert_eq!(e.world.wallet(ALICE).balance, 12);
    let ix = e.run(MOD, "deduct", &give("alice", 2, "refund"));
    e.reply_containing(ix, "New balance: 10").await;
    assert_eq!(e.world.wallet(ALICE).balance, 10);
    let posts = e.log_posts(2).await;
    assert_eq!(posts.len(), 2, "one post per movement");
    assert!(
        posts
            .iter()
            .all(|p| !p.ephemeral && p.text().contains("1001"))
    );
    assert!(posts[0].text().contains("event prize") || posts[1].text().contains("event prize"));
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_give_to_an_online_player_waits_for_confirm_and_is_applied_by_the_game_server() {
    let e = E2e::start().await;
    let server = StandInServer::start(&e.world, "job-1", Some(e.api.game_client()));
    server.join(ALICE);
    let ix = e.run(MOD, "give", &give("alice", 150_000, "tournament"));
    let prompt = e.reply_containing(ix, "150000").await;
    assert!(prompt.button("Cancel").is_some());
    assert_eq!(server.seen(), 0, "nothing is published before Confirm");
    e.press(MOD, &prompt, "Confirm").await;
    let receipt = e.reply_containing(ix, "New balance: 150000").await;
    assert!(receipt.buttons.is_empty(), "no live buttons on a receipt");
    assert!(
        receipt.text().contains("job-1") || receipt.text().contains("job\\-1"),
        "{}",
        receipt.text()
    );
    assert_eq!(server.applied(), 1);
    assert_eq!(e.world.wallet(ALICE).balance, 150_000);
    e.log_posts(1).await;
    e.finish().await;
}

/// A second press on Confirm while the money moves: Discord has not yet shown the bot's edit
/// after the first press (held here), so the buttons are still on screen and pressed again. The
/// prompt has decided and its command runs on (the server holds the message), so the press is
/// acknowledged without a change (type 6), not answered as an ended prompt, and the player is
/// paid once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_confirm_press_while_the_money_moves_is_acknowledged_and_pays_once() {
    let e = E2e::start().await;
    let server = StandInServer::start(&e.world, "job-1", Some(e.api.game_client()));
    server.join(ALICE);
    server.pause();
    let ix = e.run(MOD, "give", &give("alice", 150_000, "tournament"));
    let prompt = e.reply_containing(ix, "150000").await;
    e.fake.hold("PATCH", "/webhooks/");
    let first = e.press(MOD, &prompt, "Confirm").await;
    e.fake
        .wait_until("the bot's edit after Confirm", WAIT, |f| {
            (f.holding() > 0).then_some(())
        })
        .await
        .unwrap();
    let confirm = &prompt
        .button("Confirm")
        .expect("a Confirm button")
        .custom_id;
    let second = e
        .fake
        .press(MOD, prompt.id, confirm)
        .expect("the buttons are still on screen");
    let answer = e
        .fake
        .wait_until("the second press answered", WAIT, |f| {
            f.response_type(second)
        })
        .await
        .unwrap();
    assert_eq!(
        [e.fake.response_type(first), Some(answer)],
        [Some(6), Some(6)],
        "each press acknowledged once, the message unchanged"
    );
    e.fake.release();
    // Only now may the server apply it: both presses came while the command was running.
    server.resume(true);
    let receipt = e.reply_containing(ix, "New balance: 150000").await;
    assert!(
        !receipt.text().contains("has ended"),
        "the receipt is not marked ended: {}",
        receipt.text()
    );
    assert_eq!(server.applied(), 1, "paid once");
    assert_eq!(e.world.wallet(ALICE).balance, 150_000);
    assert_eq!(e.log_posts(1).await.len(), 1, "one movement");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deduct_from_an_online_player_is_applied_by_the_game_server_once() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 50);
    let server = StandInServer::start(&e.world, "job-2", Some(e.api.game_client()));
    server.join(ALICE);
    // Below the confirmation threshold: no prompt, the game server applies it.
    let ix = e.run(MOD, "deduct", &give("alice", 20, "penalty"));
    let receipt = e.reply_containing(ix, "New balance: 30").await;
    assert!(receipt.buttons.is_empty());
    assert_eq!(server.applied(), 1);
    assert_eq!(e.world.wallet(ALICE).balance, 30);
    let posts = e.log_posts(1).await;
    assert!(posts[0].text().contains("penalty"), "{}", posts[0].text());
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_moves_nothing() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &give("alice", 500_000, "oops"));
    let prompt = e.reply_containing(ix, "500000").await;
    e.press(MOD, &prompt, "Cancel").await;
    let done = e.reply_containing(ix, "Cancelled").await;
    assert!(done.buttons.is_empty(), "no live buttons after a decision");
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    assert!(
        e.world
            .stored(ALICE)
            .is_some_and(|v| v["Data"]["ring"].as_array().is_some_and(Vec::is_empty))
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_press_before_the_confirm_timeout_cancels() {
    let e = E2e::start_with(Setup {
        confirm_timeout: Duration::from_millis(300),
        ..Setup::default()
    })
    .await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &give("alice", 500_000, "late"));
    let done = e.reply_containing(ix, "Not confirmed in time").await;
    assert!(done.buttons.is_empty());
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_a_staff_role_or_over_their_role_maximum_are_refused() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(OUTSIDER, "give", &give("alice", 1, "hi"));
    e.reply_containing(ix, "not allowed").await;
    let ix = e.run(JUNIOR_MOD, "give", &give("alice", 51, "too much"));
    e.reply_containing(ix, "at most 50").await;
    let ix = e.run(JUNIOR_MOD, "give", &give("alice", 50, "fine"));
    e.reply_containing(ix, "New balance: 55").await;
    assert_eq!(e.world.wallet(ALICE).balance, 55);
    // Discord itself hides the commands from a member without Manage Server.
    assert!(
        e.fake
            .run_command(BYSTANDER, CHANNEL, "give", &give("alice", 1, "x"))
            .is_err()
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_in_words_and_changes_nothing() {
    let e = E2e::start().await;
    let ix = e.run(MOD, "give", &give("not a name!", 5, "x"));
    let reply = e.reply_containing(ix, "user").await;
    assert!(
        reply.text().contains("not a Roblox username"),
        "{}",
        reply.text()
    );
    let ix = e.run(MOD, "give", &give("nobody_here", 5, "x"));
    e.reply_containing(ix, "No Roblox user named").await;
    let ix = e.run(MOD, "balance", &[("user", "0".into())]);
    e.reply_containing(ix, "not a Roblox user id").await;
    assert!(e.world.emulator.store.get(&wallet_key(ALICE)).is_none());
    let calls = e.world.calls();
    assert_eq!(
        (calls.set, calls.publish),
        (0, 0),
        "nothing written or published"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_shows_the_current_balance_and_a_join_before_confirm_still_applies_once() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 1_234_567);
    let ix = e.run(MOD, "give", &give("alice", 150_000, "tournament"));
    let prompt = e.reply_containing(ix, "Confirm: Give").await;
    assert!(
        prompt.text().contains("Current balance") && prompt.text().contains("1,234,567"),
        "the balance with separators: {}",
        prompt.text()
    );
    let before = e.world.calls();
    // The player joins a server between the prompt and Confirm: the wallet read for the
    // prompt is stale (no session), so the bot's compare-and-swap fails and it publishes.
    let server = StandInServer::start(&e.world, "job-1", Some(e.api.game_client()));
    server.join(ALICE);
    e.press(MOD, &prompt, "Confirm").await;
    e.reply_containing(ix, "New balance: 1384567").await;
    assert_eq!(server.applied(), 1, "applied once, by the server");
    assert_eq!(e.world.wallet(ALICE).balance, 1_384_567);
    let calls = e.world.calls().since(&before);
    assert!(calls.publish >= 1, "{calls:?}");
    e.log_posts(1).await;
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_outlives_its_follow_up_gets_a_last_edit_and_nothing_after_the_token() {
    let mut config = crate::support::service_config();
    config.reply_budget = Duration::from_secs(5);
    let e = E2e::start_with(Setup {
        config,
        // 14 minutes in production; short here so the test takes no time.
        follow_up: bot::frontend::FollowUp {
            within: Duration::from_millis(600),
            every: Duration::from_millis(100),
        },
        ..Setup::default()
    })
    .await;
    let server = StandInServer::start(&e.world, "job-1", Some(e.api.game_client()));
    server.join(ALICE);
    server.pause();
    let ix = e.run(MOD, "give", &give("alice", 1_000, "late"));
    let last = e.reply_containing(ix, "no longer updated").await;
    assert!(last.buttons.is_empty());
    // Discord's token expires; the txn settles afterwards. The bot must not touch the reply
    // any more (a late edit is refused with 401 / 50027 and fails `finish`).
    e.fake.advance(Duration::from_secs(15 * 60 + 1));
    server.resume(true);
    e.world.clock.advance(10_000);
    let report = e
        .service
        .reconcile_older_than(Duration::from_secs(5), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(server.applied(), 1);
    let replies = e.fake.replies(ix);
    assert!(
        replies
            .iter()
            .all(|m| !plain(&m.text()).contains("New balance: 1000")),
        "the expired reply was not edited: {replies:#?}"
    );
    e.finish().await;
}
