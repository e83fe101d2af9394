//! `/audit`: pages with the Older button (only the invoker's presses), the CSV attachment, a date
//! range with player names next to ids, and the totals view.

use crate::harness::*;
use crate::support::{ALICE, BOB, request};
use shared::Op;

/// `n` offline gives of 1 by the service's staff actor.
async fn records(e: &E2e, n: usize) {
    e.world.seed_offline_profile(ALICE, 0);
    for _ in 0..n {
        e.service
            .execute(request(Op::Give, ALICE, 1))
            .await
            .unwrap();
    }
}

fn fields(m: &discord_fake::Seen) -> usize {
    m.embeds
        .iter()
        .filter_map(|e| e.get("fields").and_then(serde_json::Value::as_array))
        .map(Vec::len)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_pages_older_records_on_the_invokers_press() {
    let e = E2e::start().await;
    records(&e, 12).await;
    let ix = e.run(MOD, "audit", &[("user", "alice".into())]);
    let first = e
        .fake
        .wait_reply(ix, WAIT, |m| m.button("Older").is_some())
        .await
        .unwrap();
    assert_eq!(fields(&first), 10, "ten records per page");
    e.press(MOD, &first, "Older").await;
    let second = e
        .fake
        .wait_reply(ix, WAIT, |m| m.id == first.id && fields(m) == 2)
        .await
        .unwrap();
    assert!(
        second.buttons.is_empty(),
        "no Older button on the last page"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_csv_attaches_every_matching_record() {
    let e = E2e::start().await;
    // One page (an Older button would keep the command open for its two minutes).
    records(&e, 7).await;
    let ix = e.run(
        MOD,
        "audit",
        &[("user", "1001".into()), ("csv", true.into())],
    );
    let reply = e
        .fake
        .wait_reply(ix, WAIT, |m| m.file("audit.csv").is_some())
        .await
        .unwrap();
    let csv = String::from_utf8(reply.file("audit.csv").unwrap().bytes.clone()).unwrap();
    assert_eq!(csv.lines().count(), 8, "a header and seven records: {csv}");
    assert_eq!(fields(&reply), 7);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_csv_stays_attached_when_the_older_page_is_shown() {
    let e = E2e::start().await;
    records(&e, 12).await;
    let ix = e.run(
        MOD,
        "audit",
        &[("user", "alice".into()), ("csv", true.into())],
    );
    let first = e
        .fake
        .wait_reply(ix, WAIT, |m| {
            m.button("Older").is_some() && m.file("audit.csv").is_some()
        })
        .await
        .unwrap();
    e.press(MOD, &first, "Older").await;
    let second = e
        .fake
        .wait_reply(ix, WAIT, |m| m.id == first.id && fields(m) == 2)
        .await
        .unwrap();
    // Discord keeps only the files an edit lists: an edit without the CSV's id drops it.
    let csv = second
        .file("audit.csv")
        .unwrap_or_else(|| panic!("the CSV is gone after Older: {second:#?}"));
    let csv = String::from_utf8(csv.bytes.clone()).unwrap();
    assert_eq!(
        csv.lines().count(),
        13,
        "a header and twelve records: {csv}"
    );
    e.finish().await;
}

/// Movements on two days: on 2026-11-21 a give of 3 to alice; on 2026-11-22 (from 01:00 UTC) a
/// give of 5 to alice, 7 to bob and a deduct of 2 from alice.
async fn two_days(e: &E2e) {
    e.world.seed_offline_profile(ALICE, 0);
    e.world.seed_offline_profile(BOB, 0);
    e.service
        .execute(request(Op::Give, ALICE, 3))
        .await
        .unwrap();
    e.world.clock.advance(25 * 3_600_000);
    for (op, user, amount) in [
        (Op::Give, ALICE, 5),
        (Op::Give, BOB, 7),
        (Op::Deduct, ALICE, 2),
    ] {
        e.service.execute(request(op, user, amount)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reads_a_date_range_with_player_names_next_to_ids() {
    let e = E2e::start().await;
    two_days(&e).await;
    let ix = e.run(
        MOD,
        "audit",
        &[
            ("since", "2026-11-22".into()),
            ("until", "2026-11-22".into()),
        ],
    );
    let reply = e.reply_containing(ix, "3 record(s)").await;
    let text = plain(&reply.text());
    assert_eq!(fields(&reply), 3, "only the second day: {text}");
    assert!(text.contains("user 1001 (@alice)"), "{text}");
    assert!(text.contains("user 1002 (@bob)"), "{text}");
    // The first day alone.
    let ix = e.run(
        MOD,
        "audit",
        &[
            ("since", "2026-11-21 00:00".into()),
            ("until", "2026-11-22T00:00:00Z".into()),
        ],
    );
    let reply = e.reply_containing(ix, "1 record(s)").await;
    assert_eq!(fields(&reply), 1);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_totals_sum_per_staff_member_and_per_player_over_the_range() {
    let e = E2e::start().await;
    two_days(&e).await;
    let ix = e.run(
        MOD,
        "audit",
        &[("since", "2026-11-22".into()), ("totals", true.into())],
    );
    let reply = e.reply_containing(ix, "Audit totals").await;
    let text = plain(&reply.text());
    // Overall, then the one staff member, then each player (largest first).
    assert!(
        text.contains("given 12 (2) · deducted 2 (1)"),
        "the second day only: {text}"
    );
    assert!(
        text.contains("Staff Mod (") && text.contains("123456789012345678"),
        "{text}"
    );
    assert!(text.contains("Player user 1002 (@bob)"), "{text}");
    assert!(text.contains("given 7 (1) · deducted 0 (0)"), "{text}");
    assert!(text.contains("Player user 1001 (@alice)"), "{text}");
    assert!(text.contains("given 5 (1) · deducted 2 (1)"), "{text}");
    assert_eq!(
        fields(&reply),
        3,
        "one staff member and two players: {text}"
    );
    // A bad range is refused by name and nothing is asked of the audit API.
    let ix = e.run(
        MOD,
        "audit",
        &[
            ("since", "2026-11-22".into()),
            ("until", "2026-11-21".into()),
        ],
    );
    e.reply_containing(ix, "must be later than").await;
    e.finish().await;
}
