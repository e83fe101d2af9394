//! Buttons nothing listens to any more: a press on the Confirm / Cancel of an ended prompt, or on
//! `/audit`'s Older after paging ended, is answered through the press's own interaction (its
//! fresh token) with callback type 7, which removes the buttons and says in words that the press
//! did nothing; it never confirms or moves money. The command's own token (15 minutes) is spent
//! by then, so the bot could not have removed them through it.

use crate::harness::*;
use crate::support::{ALICE, BOB, request};
use discord_fake::{InteractionRef, Seen};
use shared::Op;
use std::time::Duration;

/// Past the command's interaction token (15 minutes, valid at exactly 15).
const PAST_THE_TOKEN: Duration = Duration::from_secs(15 * 60 + 1);

/// `member` presses `label` on `message` until a press is answered with type 7 (a press that
/// reaches the bot while the command is still winding down is acknowledged without a change,
/// type 6, and the button stays). Returns the type 7 press.
async fn press_until_cleared(e: &E2e, member: u64, message: &Seen, label: &str) -> InteractionRef {
    for _ in 0..20 {
        let press = e.press(member, message, label).await;
        if e.fake.response_type(press) == Some(7) {
            return press;
        }
    }
    panic!(
        "{label} was never answered with type 7; requests: {:#?}",
        e.fake.requests()
    );
}

/// The message `id` as `member` sees it now.
fn seen(e: &E2e, member: u64, id: u64) -> Seen {
    e.fake
        .seen_by(member, CHANNEL)
        .into_iter()
        .find(|m| m.id == id)
        .expect("the message is still there")
}

/// The callback of `press` went through (its own token, not the command's).
fn answered_through_its_own_token(e: &E2e, press: InteractionRef) {
    let route = format!("/interactions/{}/{{token}}/callback", press.id);
    let calls: Vec<u16> = e
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.route == route)
        .map(|r| r.status)
        .collect();
    assert_eq!(calls, vec![204], "one answer to the press, accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_preview_pressed_after_its_token_expired_loses_its_buttons_and_pays_nothing() {
    let mut e = E2e::start_with(Setup {
        // The prompt times out on the bot's clock after the fake's clock has jumped (at once
        // after the preview appears): 10 s leaves a stalled machine a wide margin, and the
        // wait for the timeout (`WAIT`, 20 s) as much again.
        confirm_timeout: Duration::from_secs(10),
        ..Setup::default()
    })
    .await;
    e.expect_calls_after_the_token();
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(
        MOD,
        "payout",
        &[
            ("amount", 250.into()),
            ("reason", "winter cup".into()),
            ("players", "alice 1002".into()),
        ],
    );
    let prompt = e.reply_containing(ix, "Pay 2 players 250 each").await;
    e.fake.advance(PAST_THE_TOKEN);
    // The prompt times out; its edit goes to the spent token and is refused, so the preview
    // keeps its buttons.
    e.fake
        .wait_until("the timed-out prompt's refused edit", WAIT, |f| {
            f.requests()
                .iter()
                .any(|r| r.status == 401 && r.route.starts_with("/webhooks/"))
                .then_some(())
        })
        .await
        .unwrap();
    let stale = seen(&e, MOD, prompt.id);
    assert!(stale.button("Confirm").is_some(), "{stale:#?}");

    let press = press_until_cleared(&e, MOD, &stale, "Confirm").await;
    answered_through_its_own_token(&e, press);
    let cleared = seen(&e, MOD, prompt.id);
    assert!(cleared.buttons.is_empty(), "{cleared:#?}");
    let text = cleared.text();
    assert!(text.contains("This prompt has ended"), "{text}");
    assert!(text.contains("moved no money"), "{text}");
    assert!(cleared.mentions_nobody());
    // Nothing was paid, then or later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    assert!(e.world.stored(BOB).is_none(), "bob was never paid");
    assert!(
        e.fake
            .seen_by(MOD, CHANNEL)
            .iter()
            .all(|m| m.files.is_empty()),
        "no payout summary"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_older_button_pressed_after_a_restart_is_removed_and_the_page_and_csv_stay() {
    let mut e = E2e::start().await;
    e.expect_calls_after_the_token();
    e.world.seed_offline_profile(ALICE, 0);
    for _ in 0..12 {
        e.service
            .execute(request(Op::Give, ALICE, 1))
            .await
            .unwrap();
    }
    let ix = e.run(
        MOD,
        "audit",
        &[("user", "alice".into()), ("csv", true.into())],
    );
    let page = e
        .fake
        .wait_reply(ix, WAIT, |m| {
            m.button("Older").is_some() && m.file("audit.csv").is_some()
        })
        .await
        .unwrap();
    // The token runs out, then the bot restarts: paging ends, and its edit removing Older goes
    // to the spent token.
    e.fake.advance(PAST_THE_TOKEN);
    e.stop_bot().await.expect("the bot stops cleanly");
    e.restart_bot().await;
    let stale = seen(&e, MOD, page.id);
    assert!(stale.button("Older").is_some(), "{stale:#?}");

    let press = press_until_cleared(&e, MOD, &stale, "Older").await;
    answered_through_its_own_token(&e, press);
    let cleared = seen(&e, MOD, page.id);
    assert!(cleared.buttons.is_empty(), "{cleared:#?}");
    assert!(
        cleared.text().contains("no longer live") && cleared.text().contains("/audit again"),
        "{}",
        cleared.text()
    );
    assert_eq!(cleared.embeds, stale.embeds, "the page itself stays");
    assert!(cleared.file("audit.csv").is_some(), "the CSV stays");
    e.finish().await;
}
