//! `/payout` through Discord: the preview lists the unknown username and waits for Confirm (no
//! money before it); after Confirm each known player is paid once and the summary carries a CSV
//! of every player's outcome.

use crate::harness::*;
use crate::support::{ALICE, BOB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_shows_a_preview_waits_for_confirm_and_ends_with_a_csv() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(
        MOD,
        "payout",
        &[
            ("amount", 250.into()),
            ("reason", "winter cup".into()),
            ("players", "alice ghost_1 1002 alice".into()),
        ],
    );
    let prompt = e.reply_containing(ix, "Pay 2 players 250 each").await;
    let text = prompt.text();
    assert!(text.contains("ghost"), "unknown username listed: {text}");
    assert!(text.contains("500"), "the total: {text}");
    assert_eq!(
        e.world.wallet(ALICE).balance,
        5,
        "nothing moves before Confirm"
    );
    e.press(MOD, &prompt, "Confirm").await;
    let summary = e
        .fake
        .wait_reply(ix, WAIT, |m| {
            m.files.iter().any(|f| f.filename.starts_with("payout-"))
        })
        .await
        .expect("a summary with the CSV");
    assert!(
        plain(&summary.text()).contains("2 of 2 players paid"),
        "{}",
        summary.text()
    );
    let file = summary
        .files
        .iter()
        .find(|f| f.filename.starts_with("payout-"))
        .unwrap();
    let csv = String::from_utf8(file.bytes.clone()).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(&format!("{ALICE},")) && csv.contains(&format!("{BOB},")));
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",applied,")),
        "{csv}"
    );
    assert_eq!(e.world.wallet(ALICE).balance, 255);
    assert_eq!(e.world.wallet(BOB).balance, 250);
    e.finish().await;
}
