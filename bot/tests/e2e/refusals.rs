//! Refusals and replays through Discord: a replayed txn id, insufficient funds, the actor's
//! cooldown and daily cap. Each answers in words and moves nothing more.

use crate::harness::*;
use crate::support::{ALICE, service_config};
use discord_fake::OptionValue;
use std::time::Duration;

fn moved(user: &str, amount: i64, txn: Option<&str>) -> Vec<(&'static str, OptionValue)> {
    let mut o = vec![
        ("user", user.into()),
        ("amount", amount.into()),
        ("reason", "event prize".into()),
    ];
    if let Some(t) = txn {
        o.push(("txn", t.into()));
    }
    o
}

/// The txn id shown on a receipt (a 26-character ULID in a code span).
fn txn_of(text: &str) -> String {
    text.split('`')
        .find(|part| part.len() == 26 && part.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| panic!("no txn id in {text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_txn_is_answered_from_its_record_and_moves_nothing_again() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &moved("alice", 7, None));
    let receipt = e.reply_containing(ix, "New balance: 12").await;
    let txn = txn_of(&receipt.text());
    let again = e.run(MOD, "give", &moved("alice", 7, Some(&txn)));
    e.reply_containing(again, "Already processed").await;
    assert_eq!(e.world.wallet(ALICE).balance, 12, "applied once");
    let other = e.run(MOD, "give", &moved("alice", 8, Some(&txn)));
    e.reply_containing(other, "was issued for a different user")
        .await;
    assert_eq!(e.world.wallet(ALICE).balance, 12);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deduct_over_the_balance_is_rejected_with_the_balance_unchanged() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "deduct", &moved("alice", 10, None));
    let reply = e.reply_containing(ix, "Rejected").await;
    assert!(
        reply.text().contains("Balance (unchanged): 5"),
        "{}",
        reply.text()
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_and_the_daily_cap_refuse_before_anything_moves() {
    let mut config = service_config();
    config.policy.cooldown = Duration::from_secs(60);
    config.policy.daily_cap = 10;
    let e = E2e::start_with(Setup {
        config,
        ..Setup::default()
    })
    .await;
    e.world.seed_offline_profile(ALICE, 0);
    let ix = e.run(MOD, "give", &moved("alice", 6, None));
    e.reply_containing(ix, "New balance: 6").await;
    let ix = e.run(MOD, "give", &moved("alice", 1, None));
    e.reply_containing(ix, "try again in").await;
    e.world.clock.advance(61_000);
    let ix = e.run(MOD, "give", &moved("alice", 5, None));
    e.reply_containing(ix, "daily cap of 10").await;
    assert_eq!(e.world.wallet(ALICE).balance, 6);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_refusal_after_confirm_replaces_the_prompt() {
    let mut config = service_config();
    config.policy.daily_cap = 300_000;
    let e = E2e::start_with(Setup {
        config,
        ..Setup::default()
    })
    .await;
    e.world.seed_offline_profile(ALICE, 0);
    // Both prompts open at once: each passes the cap check before its prompt.
    let first = e.run(MOD, "give", &moved("alice", 200_000, None));
    let first_prompt = e.reply_containing(first, "Confirm: Give 200000").await;
    let second = e.run(MOD, "give", &moved("alice", 200_000, None));
    let second_prompt = e.reply_containing(second, "Confirm: Give 200000").await;
    e.press(MOD, &first_prompt, "Confirm").await;
    e.reply_containing(first, "New balance: 200000").await;
    e.press(MOD, &second_prompt, "Confirm").await;
    let refused = e.reply_containing(second, "daily cap of 300000").await;
    assert_eq!(refused.id, second_prompt.id, "the prompt itself answers");
    assert!(refused.buttons.is_empty(), "no live buttons: {refused:#?}");
    let on_screen = e.fake.seen_by(MOD, CHANNEL);
    assert!(
        on_screen.iter().all(|m| !m.text().contains("Sending")),
        "nothing is left saying \"Sending\": {:#?}",
        on_screen.iter().map(|m| m.text()).collect::<Vec<_>>()
    );
    assert_eq!(e.world.wallet(ALICE).balance, 200_000);
    e.finish().await;
}
