//! `/reverse` through Discord: a large reversal waits for Confirm, moves the opposite amount
//! once and its receipt names the original; a second `/reverse` of the same txn is refused in
//! words and moves nothing.

use crate::harness::*;
use crate::support::ALICE;
use discord_fake::OptionValue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reversal_is_confirmed_applied_once_and_a_second_is_refused() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(
        MOD,
        "give",
        &[
            ("user", "alice".into()),
            ("amount", 200_000.into()),
            ("reason", "wrong player".into()),
        ],
    );
    let prompt = e.reply_containing(ix, "200000").await;
    e.press(MOD, &prompt, "Confirm").await;
    e.reply_containing(ix, "New balance: 200005").await;
    let original = e.world.wallet(ALICE).ring.back().unwrap().id.clone();

    let reverse = |reason: &str| -> Vec<(&'static str, OptionValue)> {
        vec![("txn", original.as_str().into()), ("reason", reason.into())]
    };
    let ix = e.run(MOD, "reverse", &reverse("paid the wrong player"));
    let prompt = e.reply_containing(ix, "Reversal of").await;
    assert!(
        prompt.text().contains(original.as_str()),
        "{}",
        prompt.text()
    );
    assert!(prompt.text().contains("Deduct"), "{}", prompt.text());
    assert_eq!(
        e.world.wallet(ALICE).balance,
        200_005,
        "nothing moves before Confirm"
    );
    e.press(MOD, &prompt, "Confirm").await;
    let receipt = e.reply_containing(ix, "New balance: 5").await;
    let text = receipt.text();
    assert!(text.contains("Reversal of"), "{text}");
    assert!(text.contains(original.as_str()), "{text}");
    assert!(
        text.contains(original.reversal_id().as_str()),
        "the derived txn id: {text}"
    );
    assert!(receipt.buttons.is_empty());
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    let logged = e.api.record(&original.reversal_id()).await.unwrap();
    assert_eq!(logged.reverses.as_ref(), Some(&original));

    let ix = e.run(MOD, "reverse", &reverse("again"));
    let refused = e.reply_containing(ix, "already has its one reversal").await;
    assert!(
        refused.text().contains("Nothing moved"),
        "{}",
        refused.text()
    );
    assert!(refused.buttons.is_empty());
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.log_posts(2).await;
    e.finish().await;
}
