//! The log channel under Discord's rate limit: a post refused with 429 is not lost; it goes out
//! once the bucket's window has passed (on the fake's clock).

use crate::harness::*;
use crate::support::ALICE;
use discord_fake::{BucketKind, Limit};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_log_post_is_sent_after_the_window() {
    let e = E2e::start().await;
    e.fake.set_rate_limit(
        BucketKind::ChannelMessages,
        Limit {
            limit: 2,
            window: Duration::from_secs(60),
        },
    );
    e.world.seed_offline_profile(ALICE, 0);
    for n in 1..=3_i64 {
        let ix = e.run(
            MOD,
            "give",
            &[
                ("user", "alice".into()),
                ("amount", 1_i64.into()),
                ("reason", "x".into()),
            ],
        );
        e.reply_containing(ix, &format!("New balance: {n}")).await;
    }
    let logs = format!("/channels/{LOGS}/messages");
    e.fake
        .wait_until("a post refused with 429", WAIT, |f| {
            f.requests()
                .iter()
                .any(|r| r.route == logs && r.status == 429)
                .then_some(())
        })
        .await
        .unwrap();
    // The fake records the 429 before the bot reads it: wait until the bot has recorded the
    // failed attempt (its next try counted from its clock now), or the clock advance below
    // could land first and push that try past the movement that should carry it out.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let due = e.service.db().log_due(i64::MAX, 10).await.unwrap();
        if due.iter().any(|(_, attempts)| *attempts == 1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failed post is never recorded"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(e.fake.seen_by(BYSTANDER, LOGS).len(), 2);
    e.fake.advance(Duration::from_secs(60));

    // The refused movement waits out its own backoff (10 s on the bot's clock) as well as
    // Discord's window.
    e.world.clock.advance(10_000);
    // The next movement wakes the poster; the refused post goes out with it.
    let ix = e.run(
        MOD,
        "give",
        &[
            ("user", "alice".into()),
            ("amount", 1_i64.into()),
            ("reason", "x".into()),
        ],
    );
    e.reply_containing(ix, "New balance: 4").await;
    let posts = e.log_posts(4).await;
    assert_eq!(posts.len(), 4, "every movement posted once");
    e.finish().await;
}
