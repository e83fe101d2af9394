//! `/audit`: pages with the Older button (only the invoker's presses), and the CSV attachment.

use crate::harness::*;
use crate::support::{ALICE, request};
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
