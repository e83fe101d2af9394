//! `/payout` by role and by CSV attachment through Discord (issue 18), with the Discord fake
//! sending ROLE and ATTACHMENT options, serving the file at its URL and listing the guild's
//! members behind the Server Members Intent: who is paid (linked role members, once each; never
//! a bot, an unlinked member or a member without the role), what is refused in words with
//! nothing moved, and where the summary goes once the interaction token is spent.

use crate::harness::*;
use crate::support::{ALICE, BOB};
use discord_fake::{FileUpload, Member, OptionValue, Seen};
use std::time::Duration;

/// The role a role payout names.
const WINNERS: u64 = 800_000_000_000_000_020;
/// A role whose only human member has no link.
const NEWCOMERS: u64 = 800_000_000_000_000_021;
/// Role members: linked by staff (first page of the member list), linked via Bloxlink (second
/// page), without a link, and a bot account (linked by staff: paid only if bots are not left out).
const ANN: u64 = 800_000_000_000_000_030;
const BEN: u64 = 800_000_000_000_002_031;
const UNA: u64 = 800_000_000_000_000_032;
const HELPER_BOT: u64 = 800_000_000_000_002_033;
/// Roblox accounts nobody should be paid: the bot's and the member's without the role.
const BOT_ACCOUNT: u64 = 1003;
const NOT_IN_ROLE_ACCOUNT: u64 = 1004;
/// Members that push the role's second half onto the member list's second page.
const FILLERS: u64 = 1000;
const FILLER_BASE: u64 = 800_000_000_000_001_000;

fn with_links() -> Setup {
    Setup {
        link_sources: Some("bloxlink,staff"),
        ..Setup::default()
    }
}

fn links(e: &E2e) -> &LinkWorld {
    e.links.as_ref().expect("links are configured")
}

fn add(e: &E2e, user_id: u64, name: &str, roles: Vec<u64>, bot: bool) {
    e.fake.add_member(
        GUILD,
        Member {
            bot,
            ..member(user_id, name, roles, 0)
        },
    );
}

fn by_role(role: u64, amount: i64) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("amount", amount.into()),
        ("reason", "season winners".into()),
        ("role", OptionValue::Role(role)),
    ]
}

fn by_file(file: FileUpload) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("amount", 30.into()),
        ("reason", "tournament".into()),
        ("file", OptionValue::Attachment(file)),
    ]
}

/// The summary carrying the payout's CSV, among `ix`'s replies.
async fn summary_with_csv(e: &E2e, ix: discord_fake::InteractionRef) -> (Seen, String) {
    let summary = e
        .fake
        .wait_reply(ix, WAIT, |m| {
            m.files.iter().any(|f| f.filename.starts_with("payout-"))
        })
        .await
        .expect("a summary with the CSV");
    let csv = csv_of(&summary);
    (summary, csv)
}

fn csv_of(m: &Seen) -> String {
    let file = m
        .files
        .iter()
        .find(|f| f.filename.starts_with("payout-") && f.filename.ends_with(".csv"))
        .expect("the payout's CSV");
    String::from_utf8(file.bytes.clone()).unwrap()
}

/// The CSV's data rows as (user id, outcome).
fn rows(csv: &str) -> Vec<(u64, String)> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].parse().unwrap(), cells[2].to_owned())
        })
        .collect()
}

/// Presses Confirm on `prompt` and checks the summary: each of `paid` (player, balance after)
/// applied exactly once, and no one else in the CSV; returns the summary.
async fn confirm_and_check_paid(
    e: &E2e,
    prompt: &Seen,
    ix: discord_fake::InteractionRef,
    paid: &[(u64, i64)],
) -> Seen {
    e.press(MOD, prompt, "Confirm").await;
    let (summary, csv) = summary_with_csv(e, ix).await;
    let n = paid.len();
    assert!(
        plain(&summary.text()).contains(&format!("{n} of {n} players paid")),
        "{}",
        summary.text()
    );
    let mut rows = rows(&csv);
    rows.sort();
    let mut expected: Vec<(u64, String)> = paid
        .iter()
        .map(|(id, _)| (*id, "applied".to_owned()))
        .collect();
    expected.sort();
    assert_eq!(rows, expected, "{csv}");
    for (id, balance) in paid {
        assert_eq!(e.world.wallet(*id).balance, *balance, "{id} paid once");
    }
    summary
}

fn member_list_calls(e: &E2e) -> Vec<u16> {
    e.fake
        .requests()
        .into_iter()
        .filter(|r| r.route == format!("/guilds/{GUILD}/members"))
        .map(|r| r.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_payout_pays_each_linked_member_once_and_leaves_out_bots_and_the_unlinked() {
    let e = E2e::start_with(with_links()).await;
    e.fake.set_members_intent(true);
    e.fake.add_role(GUILD, WINNERS, "Winners");
    add(&e, ANN, "Ann", vec![WINNERS], false);
    add(&e, BEN, "Ben", vec![WINNERS], false);
    add(&e, UNA, "Una", vec![WINNERS], false);
    add(&e, HELPER_BOT, "Helper", vec![WINNERS], true);
    for i in 0..FILLERS {
        add(&e, FILLER_BASE + i, &format!("fan{i}"), vec![], false);
    }
    let l = links(&e);
    l.links
        .set_staff_link(GUILD, ANN, ALICE, &MOD.to_string())
        .await
        .unwrap();
    l.bloxlink.link(BEN, BOB);
    l.links
        .set_staff_link(GUILD, HELPER_BOT, BOT_ACCOUNT, &MOD.to_string())
        .await
        .unwrap();
    // Linked, but without the role.
    l.links
        .set_staff_link(GUILD, PLAYER_MEMBER, NOT_IN_ROLE_ACCOUNT, &MOD.to_string())
        .await
        .unwrap();
    e.world.seed_offline_profile(ALICE, 5);

    let ix = e.run(MOD, "payout", &by_role(WINNERS, 250));
    let prompt = e.reply_containing(ix, "Pay 2 players 250 each").await;
    let text = plain(&prompt.text());
    assert!(text.contains("Total: 500"), "{text}");
    assert!(text.contains(&format!("<@&{WINNERS}>")), "the role: {text}");
    assert!(
        text.contains("Members without a link (1 not paid)")
            && text.contains(&format!("<@{UNA}> (no linked Roblox account)")),
        "the unlinked member is listed: {text}"
    );
    assert!(
        !text.contains(&HELPER_BOT.to_string()),
        "bots are left out: {text}"
    );
    // The list was read page by page (1,000 a page): Ben and the bot are on the second page.
    assert_eq!(member_list_calls(&e), vec![200, 200]);
    assert_eq!(e.world.wallet(ALICE).balance, 5, "nothing before Confirm");
    assert_eq!(e.world.wallet(BOB).balance, 0);

    let summary = confirm_and_check_paid(&e, &prompt, ix, &[(ALICE, 255), (BOB, 250)]).await;
    assert!(
        plain(&summary.text()).contains("1 member without a link (listed before Confirm)"),
        "the summary says who was left out: {}",
        summary.text()
    );
    assert_eq!(
        e.world.wallet(BOT_ACCOUNT).balance,
        0,
        "a bot is never paid"
    );
    assert_eq!(
        e.world.wallet(NOT_IN_ROLE_ACCOUNT).balance,
        0,
        "a member without the role is not paid"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_linked_members_is_refused_and_nothing_moves() {
    let e = E2e::start_with(with_links()).await;
    e.fake.set_members_intent(true);
    e.fake.add_role(GUILD, NEWCOMERS, "Newcomers");
    add(&e, UNA, "Una", vec![NEWCOMERS], false);
    // A linked bot in the role does not make it payable.
    add(&e, HELPER_BOT, "Helper", vec![NEWCOMERS], true);
    links(&e)
        .links
        .set_staff_link(GUILD, HELPER_BOT, BOT_ACCOUNT, &MOD.to_string())
        .await
        .unwrap();
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "payout", &by_role(NEWCOMERS, 100));
    let refusal = e.reply_containing(ix, "has a linked Roblox account").await;
    let text = refusal.text();
    assert!(
        text.contains(&format!("No member of role {NEWCOMERS}"))
            && text.contains("1 members asked")
            && text.contains("Nothing moved"),
        "the bot is not counted: {text}"
    );
    assert!(refusal.buttons.is_empty(), "nothing to confirm");
    assert_eq!(e.world.wallet(BOT_ACCOUNT).balance, 0);
    assert!(
        e.world.stored(BOT_ACCOUNT).is_none(),
        "no wallet was written"
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_server_members_intent_a_role_payout_says_how_to_turn_it_on() {
    let e = E2e::start_with(with_links()).await;
    // The intent stays off (as for a new application).
    e.fake.add_role(GUILD, WINNERS, "Winners");
    add(&e, ANN, "Ann", vec![WINNERS], false);
    links(&e)
        .links
        .set_staff_link(GUILD, ANN, ALICE, &MOD.to_string())
        .await
        .unwrap();
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "payout", &by_role(WINNERS, 100));
    let refusal = e
        .reply_containing(ix, "turn on the Server Members Intent")
        .await;
    assert!(
        refusal.text().contains("Nothing moved"),
        "{}",
        refusal.text()
    );
    assert!(refusal.buttons.is_empty(), "nothing to confirm");
    assert_eq!(
        member_list_calls(&e),
        vec![403],
        "one refused call, no retry loop"
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_attachment_pays_each_known_player_once_and_lists_repeats_and_unknown_names() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    // A header row, alice twice (any case) and by id, bob by id twice, one unknown username.
    let csv = "user_id,note\nalice,first\n1002,second\nghost_77,third\nALICE,again\n1001,by id\n\"1002\",quoted\n";
    let ix = e.run(MOD, "payout", &by_file(FileUpload::new("winners.csv", csv)));
    let prompt = e.reply_containing(ix, "Pay 2 players 30 each").await;
    let text = plain(&prompt.text());
    // Typed text is shown markdown-escaped.
    assert!(text.contains("ghost\\_77"), "the unknown username: {text}");
    assert!(text.contains("Unknown usernames (1 not paid)"), "{text}");
    assert!(
        text.contains("3 left out: each player is paid once"),
        "the repeats: {text}"
    );
    assert!(text.contains("Total: 60"), "{text}");
    // The bot fetched the file from the attachment's URL.
    assert!(
        e.fake
            .requests()
            .iter()
            .any(|r| r.route.starts_with(&format!("/attachments/{CHANNEL}/"))
                && r.route.ends_with("/winners.csv")
                && r.status == 200),
        "{:#?}",
        e.fake.requests()
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5, "nothing before Confirm");
    let summary = confirm_and_check_paid(&e, &prompt, ix, &[(ALICE, 35), (BOB, 30)]).await;
    assert!(
        plain(&summary.text()).contains("1 unknown username (listed before Confirm)"),
        "the summary says who was left out: {}",
        summary.text()
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_or_non_text_attachment_is_refused_in_words_and_nothing_moves() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    // 5 MiB claimed (under Discord's 10 MiB upload limit, over the bot's 4 MiB): refused from
    // the attachment's size, before any download.
    let big = FileUpload::new("huge.csv", "alice\n").claiming_size(5 * 1024 * 1024);
    let ix = e.run(MOD, "payout", &by_file(big));
    let refusal = e.reply_containing(ix, "is larger than 4 MiB").await;
    assert!(
        refusal.text().contains("split the payout"),
        "{}",
        refusal.text()
    );
    assert!(refusal.buttons.is_empty());
    assert!(
        !e.fake
            .requests()
            .iter()
            .any(|r| r.route.ends_with("/huge.csv")),
        "an oversized file is never downloaded"
    );

    // Latin-1 bytes ("alicé" as 0xE9): not UTF-8.
    let latin1 = FileUpload::new("latin1.csv", b"alice\nalic\xe9\n".to_vec());
    let ix = e.run(MOD, "payout", &by_file(latin1));
    let refusal = e.reply_containing(ix, "is not a text").await;
    assert!(refusal.text().contains("CSV file"), "{}", refusal.text());
    assert!(refusal.buttons.is_empty());
    assert_eq!(e.world.wallet(ALICE).balance, 5, "nothing moved");
    assert!(e.world.stored(BOB).is_none(), "nothing moved");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_whose_link_the_cdn_refuses_is_refused_in_words_and_nothing_moves() {
    let e = E2e::start().await;
    e.world.seed_offline_profile(ALICE, 5);
    // The URL in the payload has already expired (as one read from an old payload would be):
    // Discord's CDN refuses it, and its error page must not be read as the file.
    e.fake.set_attachment_url_lifetime(Duration::ZERO);
    let file = FileUpload::new("winners.csv", "alice\n1002\n");
    let ix = e.run(MOD, "payout", &by_file(file));
    let refusal = e
        .reply_containing(ix, "could not download `file` from Discord")
        .await;
    let text = refusal.text();
    assert!(text.contains("Nothing moved"), "{text}");
    assert!(text.contains("run the command again"), "{text}");
    assert!(refusal.buttons.is_empty(), "nothing to confirm");
    let fetches: Vec<u16> = e
        .fake
        .requests()
        .iter()
        .filter(|r| r.route.ends_with("/winners.csv"))
        .map(|r| r.status)
        .collect();
    assert_eq!(fetches, vec![404], "one refused download, no retry");
    assert_eq!(e.world.wallet(ALICE).balance, 5, "nothing moved");
    assert!(e.world.stored(BOB).is_none(), "nothing moved");
    e.finish().await;
}

/// Starts a payout of 40 to alice and bob whose token window is already spent, moves the fake's
/// clock past the token's 15 minutes and confirms it: any use of the token after that would be
/// refused with 401 (`E2e::finish` fails on one). Nothing here depends on how long the run takes.
async fn confirmed_after_the_token(e: &E2e) -> discord_fake::InteractionRef {
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(
        MOD,
        "payout",
        &[
            ("amount", 40.into()),
            ("reason", "late prize".into()),
            ("players", "alice 1002".into()),
        ],
    );
    let prompt = e.reply_containing(ix, "Pay 2 players 40 each").await;
    e.fake.advance(Duration::from_secs(15 * 60 + 1));
    // The press is an interaction of its own, with a fresh token.
    e.press(MOD, &prompt, "Confirm").await;
    ix
}

fn token_spent() -> Setup {
    // The bot stops using the interaction token at once (the window a test may shorten).
    Setup {
        token_usable_for: Duration::ZERO,
        ..Setup::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_outliving_the_token_posts_its_summary_in_the_channel_for_the_member() {
    let e = E2e::start_with(token_spent()).await;
    let ix = confirmed_after_the_token(&e).await;
    let posted = e
        .fake
        .wait_until("the summary in the channel", WAIT, |f| {
            f.seen_by(BYSTANDER, CHANNEL)
                .into_iter()
                .find(|m| m.files.iter().any(|f| f.filename.starts_with("payout-")))
        })
        .await
        .expect("the summary posted in the channel");
    assert!(
        !posted.ephemeral && posted.interaction.is_none(),
        "a channel message"
    );
    assert!(
        posted.content.starts_with(&format!("<@{MOD}>")),
        "mentions the member: {posted:#?}"
    );
    assert_eq!(
        posted.mentionable_users(),
        Some(vec![MOD]),
        "only the member is notified"
    );
    assert!(
        plain(&posted.text()).contains("2 of 2 players paid"),
        "{}",
        posted.text()
    );
    let csv = csv_of(&posted);
    let mut paid = rows(&csv);
    paid.sort();
    assert_eq!(
        paid,
        vec![(ALICE, "applied".to_owned()), (BOB, "applied".to_owned())],
        "{csv}"
    );
    assert_eq!(e.world.wallet(ALICE).balance, 45);
    assert_eq!(e.world.wallet(BOB).balance, 40);
    // No reply through the dead token: the prompt is the interaction's last message.
    let replies = e.fake.replies(ix);
    assert!(
        replies.iter().all(|m| m.files.is_empty()),
        "no summary as a reply: {replies:#?}"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_to_everyone_pays_every_linked_human_member() {
    // @everyone is the role with the guild's id, which no member's role list holds: the bot
    // used to find no member in it ("0 members asked").
    let e = E2e::start_with(with_links()).await;
    e.fake.set_members_intent(true);
    add(&e, ANN, "Ann", vec![], false);
    add(&e, HELPER_BOT, "Helper", vec![], true);
    let l = links(&e);
    l.links
        .set_staff_link(GUILD, ANN, ALICE, &MOD.to_string())
        .await
        .unwrap();
    l.bloxlink.link(PLAYER_MEMBER, BOB);
    l.links
        .set_staff_link(GUILD, HELPER_BOT, BOT_ACCOUNT, &MOD.to_string())
        .await
        .unwrap();
    let ix = e.run(MOD, "payout", &by_role(GUILD, 10));
    let prompt = e.reply_containing(ix, "Pay 2 players 10 each").await;
    let text = plain(&prompt.text());
    // Mod, Junior, Outsider, Bystander and Other have no link.
    assert!(
        text.contains("Members without a link (5 not paid)"),
        "{text}"
    );
    let summary = confirm_and_check_paid(&e, &prompt, ix, &[(ALICE, 10), (BOB, 10)]).await;
    assert!(
        plain(&summary.text()).contains("5 members without a link"),
        "{}",
        summary.text()
    );
    assert_eq!(
        e.world.wallet(BOT_ACCOUNT).balance,
        0,
        "a bot is never paid"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_channel_without_attach_files_the_summary_is_posted_without_its_csv() {
    let e = E2e::start_with(token_spent()).await;
    e.fake.deny_attach_files(CHANNEL);
    let ix = confirmed_after_the_token(&e).await;
    let posted = e
        .fake
        .wait_until("the summary in the channel", WAIT, |f| {
            f.seen_by(BYSTANDER, CHANNEL)
                .into_iter()
                .find(|m| plain(&m.text()).contains("2 of 2 players paid"))
        })
        .await
        .expect("the summary posted in the channel");
    assert!(posted.files.is_empty());
    assert!(
        posted.content.starts_with(&format!("<@{MOD}>"))
            && posted.content.contains("needs Attach Files"),
        "{posted:#?}"
    );
    assert_eq!(posted.mentionable_users(), Some(vec![MOD]));
    // The first post, with the CSV, was refused for the missing permission.
    let posts: Vec<u16> = e
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.route == format!("/channels/{CHANNEL}/messages"))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, vec![403, 200]);
    assert!(e.fake.replies(ix).iter().all(|m| m.files.is_empty()));
    assert_eq!(e.world.wallet(ALICE).balance, 45);
    assert_eq!(e.world.wallet(BOB).balance, 40);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payout_whose_channel_refuses_the_bot_never_calls_the_dead_token() {
    let mut e = E2e::start_with(token_spent()).await;
    // The bot may not post in the channel at all (interaction answers need no channel
    // permission, so the command still runs there).
    e.fake.add_channel(GUILD, CHANNEL, "staff", false);
    confirmed_after_the_token(&e).await;
    let paid = e
        .fake
        .wait_until("the payout to end", WAIT, |f| {
            f.requests()
                .iter()
                .any(|r| r.route == format!("/channels/{CHANNEL}/messages"))
                .then_some(())
        })
        .await;
    assert!(paid.is_ok(), "{:#?}", e.fake.requests());
    // Stopping drains the running command: everything it did is in the record now.
    e.stop_bot().await.unwrap();
    let posts: Vec<u16> = e
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.route == format!("/channels/{CHANNEL}/messages"))
        .map(|r| r.status)
        .collect();
    // With the CSV, then (a missing permission) without it: both refused.
    assert_eq!(posts, vec![403, 403]);
    // Paid all the same (the log channel and /audit show it); `finish` fails on any call to
    // the expired token (an error edit, or poise's error reply).
    assert_eq!(e.world.wallet(ALICE).balance, 45);
    assert_eq!(e.world.wallet(BOB).balance, 40);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_payout_by_a_bot_run_without_links_says_so() {
    // No links passed to the bot: it used to answer "no member of role … has a linked Roblox
    // account (0 members asked)", as if the members had not linked.
    let e = E2e::start().await;
    e.fake.set_members_intent(true);
    let ix = e.run(MOD, "payout", &by_role(STAFF, 10));
    let refusal = e.reply_containing(ix, "this bot runs without them").await;
    assert!(
        refusal.text().contains("Nothing moved"),
        "{}",
        refusal.text()
    );
    assert!(refusal.buttons.is_empty());
    assert!(
        member_list_calls(&e).is_empty(),
        "no member list read for nothing"
    );
    e.finish().await;
}
