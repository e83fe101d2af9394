//! Discord members as targets (issue 17) through Discord: `/give`, `/deduct`, `/balance` and
//! `/audit` name a member (a USER option) whose linked Roblox account is the player. The prompt
//! and the receipt show both identities and where the link came from; every way a member cannot
//! be resolved is refused in words and moves nothing; a member without a staff role may read
//! only their own balance.

use crate::harness::*;
use crate::support::{ALICE, BOB};
use discord_fake::OptionValue;
use link_fakes::RateLimit;

fn to_member(member: u64, amount: i64) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("member", OptionValue::User(member)),
        ("amount", amount.into()),
        ("reason", "event prize".into()),
    ]
}

fn with_links(sources: &'static str) -> Setup {
    Setup {
        link_sources: Some(sources),
        ..Setup::default()
    }
}

fn links(e: &E2e) -> &LinkWorld {
    e.links.as_ref().expect("links are configured")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_give_to_a_member_linked_by_staff_shows_both_identities_and_the_source() {
    let e = E2e::start_with(with_links("staff")).await;
    e.world.seed_offline_profile(ALICE, 5);
    links(&e)
        .links
        .set_staff_link(GUILD, PLAYER_MEMBER, ALICE, &MOD.to_string())
        .await
        .unwrap();
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    let receipt = e.reply_containing(ix, "New balance: 12").await;
    let text = receipt.text();
    assert!(text.contains("Alice the Brave"), "the player: {text}");
    assert!(
        text.contains(&format!("<@{PLAYER_MEMBER}>")),
        "the member: {text}"
    );
    assert!(text.contains("set by staff"), "the source: {text}");
    assert_eq!(e.world.wallet(ALICE).balance, 12);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_give_to_a_member_verified_with_roblox_names_the_oauth_source() {
    // The link the OAuth callback stores once the member signed in (the sign-in itself, with
    // the emulator's login page and the bot's callback page, is `bot/tests/links_oauth.rs`).
    let e = E2e::start_with(with_links("oauth,staff")).await;
    e.world.seed_offline_profile(BOB, 1);
    links(&e)
        .links
        .store_verified(GUILD, PLAYER_MEMBER, BOB)
        .await
        .unwrap();
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 9));
    let receipt = e.reply_containing(ix, "New balance: 10").await;
    let text = receipt.text();
    assert!(
        text.contains(&format!("<@{PLAYER_MEMBER}>")),
        "the member: {text}"
    );
    assert!(text.contains("verified with Roblox"), "the source: {text}");
    assert!(!text.contains("set by staff"), "{text}");
    assert_eq!(e.world.wallet(BOB).balance, 10);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_give_to_a_member_linked_via_bloxlink_asks_with_both_identities() {
    let e = E2e::start_with(with_links("bloxlink,rover,staff")).await;
    e.world.seed_offline_profile(BOB, 0);
    links(&e).bloxlink.link(PLAYER_MEMBER, BOB);
    links(&e).rover.link(PLAYER_MEMBER, BOB);
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 150_000));
    let prompt = e.reply_containing(ix, "Confirm").await;
    let text = prompt.text();
    assert!(text.contains(&format!("<@{PLAYER_MEMBER}>")), "{text}");
    assert!(text.contains("linked via Bloxlink"), "{text}");
    assert!(text.contains("RoVer agrees"), "{text}");
    assert!(
        text.contains(&BOB.to_string()),
        "the Roblox account: {text}"
    );
    assert_eq!(e.world.wallet(BOB).balance, 0, "nothing before Confirm");
    e.press(MOD, &prompt, "Confirm").await;
    let receipt = e.reply_containing(ix, "New balance: 150000").await;
    assert!(
        receipt.text().contains("linked via Bloxlink"),
        "{}",
        receipt.text()
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deduct_from_a_member_linked_via_rover_names_rover() {
    let e = E2e::start_with(with_links("rover")).await;
    e.world.seed_offline_profile(ALICE, 50);
    links(&e).rover.link(PLAYER_MEMBER, ALICE);
    let ix = e.run(MOD, "deduct", &to_member(PLAYER_MEMBER, 20));
    let receipt = e.reply_containing(ix, "New balance: 30").await;
    assert!(
        receipt.text().contains("linked via RoVer"),
        "{}",
        receipt.text()
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_a_link_or_with_conflicting_links_is_refused() {
    let e = E2e::start_with(with_links("bloxlink,staff")).await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    let reply = e.reply_containing(ix, "has no linked Roblox account").await;
    assert!(
        reply.text().contains("Bloxlink, staff links"),
        "asked: {}",
        reply.text()
    );
    assert!(reply.text().contains("Nothing moved"), "{}", reply.text());

    links(&e).bloxlink.link(OTHER_MEMBER, ALICE);
    links(&e)
        .links
        .set_staff_link(GUILD, OTHER_MEMBER, BOB, &MOD.to_string())
        .await
        .unwrap();
    let ix = e.run(MOD, "give", &to_member(OTHER_MEMBER, 7));
    let reply = e
        .reply_containing(ix, "two different Roblox accounts")
        .await;
    assert!(
        reply.text().contains("fix one of the links"),
        "{}",
        reply.text()
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5, "nothing moved");
    assert_eq!(e.world.wallet(BOB).balance, 0, "nothing moved");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_or_rate_limiting_is_named_and_nothing_moves() {
    let setup = Setup {
        link_limit: RateLimit {
            max: 1,
            window_ms: 60_000,
        },
        ..with_links("bloxlink,rover")
    };
    let e = E2e::start_with(setup).await;
    e.world.seed_offline_profile(ALICE, 5);
    links(&e).rover.set_down(true);
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    let reply = e.reply_containing(ix, "RoVer is unavailable").await;
    assert!(reply.text().contains("Nothing moved"), "{}", reply.text());
    links(&e).rover.set_down(false);
    // Bloxlink answered once above (and that answer is cached); a new member is a second call
    // inside its one-request window.
    let ix = e.run(MOD, "give", &to_member(OTHER_MEMBER, 7));
    let reply = e.reply_containing(ix, "Bloxlink is rate").await;
    assert!(
        reply.text().contains("try again in"),
        "the wait: {}",
        reply.text()
    );
    assert_eq!(e.world.wallet(ALICE).balance, 5);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_is_not_a_member_of_the_server_is_refused() {
    const GONE: u64 = 800_000_000_000_000_099;
    let e = E2e::start_with(with_links("staff")).await;
    e.fake.add_outsider(GONE, "gone");
    // Even with a link left over from when they were a member.
    links(&e)
        .links
        .set_staff_link(GUILD, GONE, ALICE, &MOD.to_string())
        .await
        .unwrap();
    let ix = e.run(MOD, "give", &to_member(GONE, 7));
    let reply = e
        .reply_containing(ix, "is not a member of this server")
        .await;
    assert!(reply.text().contains("Nothing moved"), "{}", reply.text());
    assert_eq!(e.world.wallet(ALICE).balance, 0);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_both_a_user_and_a_member_or_neither_is_refused() {
    let e = E2e::start_with(with_links("staff")).await;
    let mut both = to_member(PLAYER_MEMBER, 7);
    both.push(("user", "alice".into()));
    let ix = e.run(MOD, "give", &both);
    e.reply_containing(ix, "name the player one way").await;
    let neither = vec![("amount", 7.into()), ("reason", "x".into())];
    let ix = e.run(MOD, "deduct", &neither);
    e.reply_containing(ix, "name the player").await;
    assert_eq!(e.world.wallet(ALICE).balance, 0);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_can_read_only_their_own_balance_and_never_move_money() {
    let e = E2e::start_with(with_links("staff")).await;
    e.world.seed_offline_profile(ALICE, 42);
    links(&e)
        .links
        .set_staff_link(GUILD, PLAYER_MEMBER, ALICE, &MOD.to_string())
        .await
        .unwrap();
    // Self-service: no option, no role, answered privately.
    let ix = e.run(PLAYER_MEMBER, "balance", &[]);
    let reply = e.reply_containing(ix, "Balance: 42").await;
    assert!(reply.ephemeral, "private");
    assert!(reply.text().contains("set by staff"), "{}", reply.text());
    assert!(
        e.fake.seen_by(BYSTANDER, CHANNEL).is_empty(),
        "nobody else sees it"
    );
    // A member without a link is told so.
    let ix = e.run(OTHER_MEMBER, "balance", &[]);
    e.reply_containing(ix, "has no linked Roblox account").await;
    // Someone else's balance needs a staff role.
    let ix = e.run(PLAYER_MEMBER, "balance", &[("user", "alice".into())]);
    e.reply_containing(ix, "not allowed").await;
    let ix = e.run(
        PLAYER_MEMBER,
        "balance",
        &[("member", OptionValue::User(MOD))],
    );
    e.reply_containing(ix, "not allowed").await;
    // Moving money needs a staff role: a plain member does not even see /give, and a member
    // who sees it (Manage Server) without a staff role is refused.
    assert!(
        e.fake
            .run_command(PLAYER_MEMBER, CHANNEL, "give", &to_member(PLAYER_MEMBER, 7))
            .is_err(),
        "hidden from a member without Manage Server"
    );
    let ix = e.run(OUTSIDER, "give", &to_member(PLAYER_MEMBER, 7));
    e.reply_containing(ix, "not allowed").await;
    assert_eq!(e.world.wallet(ALICE).balance, 42, "nothing moved");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_a_members_balance_and_audit() {
    let e = E2e::start_with(with_links("staff")).await;
    e.world.seed_offline_profile(ALICE, 5);
    links(&e)
        .links
        .set_staff_link(GUILD, PLAYER_MEMBER, ALICE, &MOD.to_string())
        .await
        .unwrap();
    let ix = e.run(
        MOD,
        "balance",
        &[("member", OptionValue::User(PLAYER_MEMBER))],
    );
    let reply = e.reply_containing(ix, "Balance: 5").await;
    assert!(
        reply.text().contains(&format!("<@{PLAYER_MEMBER}>")),
        "{}",
        reply.text()
    );
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    e.reply_containing(ix, "New balance: 12").await;
    let ix = e.run(
        MOD,
        "audit",
        &[("member", OptionValue::User(PLAYER_MEMBER))],
    );
    let page = e.reply_containing(ix, "event prize").await;
    assert!(page.text().contains("1001"), "{}", page.text());
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_me_hands_a_member_their_private_sign_in_link() {
    let e = E2e::start_with(with_links("oauth,staff")).await;
    let ix = e.run(PLAYER_MEMBER, "link me", &[]);
    let reply = e.reply_containing(ix, "Sign-in link").await;
    assert!(reply.ephemeral, "private");
    let text = reply.text();
    assert!(text.contains("code_challenge_method=S256"), "PKCE: {text}");
    assert!(text.contains("state="), "{text}");
    assert!(
        e.fake.seen_by(BYSTANDER, CHANNEL).is_empty(),
        "nobody else sees it"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_me_says_when_sign_in_is_not_configured() {
    let e = E2e::start_with(with_links("staff")).await;
    let ix = e.run(PLAYER_MEMBER, "link me", &[]);
    e.reply_containing(ix, "is not configured on this bot")
        .await;
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_set_and_remove_a_link_recorded_in_the_log_channel_and_others_are_refused() {
    let e = E2e::start_with(with_links("staff")).await;
    e.world.seed_offline_profile(ALICE, 5);
    let set = [
        ("member", OptionValue::User(PLAYER_MEMBER)),
        ("roblox", "alice".into()),
    ];
    // No staff role: refused, nothing stored.
    let ix = e.run(OUTSIDER, "link set", &set);
    e.reply_containing(ix, "not allowed").await;
    let ix = e.run(PLAYER_MEMBER, "link set", &set);
    e.reply_containing(ix, "not allowed").await;
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    e.reply_containing(ix, "has no linked Roblox account").await;

    let ix = e.run(MOD, "link set", &set);
    let reply = e.reply_containing(ix, "Account link set by staff").await;
    assert!(reply.text().contains("Alice the Brave"), "{}", reply.text());
    let posts = e.log_posts(1).await;
    assert!(
        posts[0].text().contains(&format!("<@{MOD}>")),
        "who: {}",
        posts[0].text()
    );
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    let receipt = e.reply_containing(ix, "New balance: 12").await;
    assert!(
        receipt.text().contains("set by staff"),
        "{}",
        receipt.text()
    );

    let remove = [("member", OptionValue::User(PLAYER_MEMBER))];
    let ix = e.run(OUTSIDER, "link remove", &remove);
    e.reply_containing(ix, "not allowed").await;
    let ix = e.run(MOD, "link remove", &remove);
    e.reply_containing(ix, "Staff account link removed").await;
    let ix = e.run(MOD, "give", &to_member(PLAYER_MEMBER, 7));
    e.reply_containing(ix, "has no linked Roblox account").await;
    assert_eq!(
        e.world.wallet(ALICE).balance,
        12,
        "only the linked give moved money"
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_option_suggests_recent_targets_and_linked_accounts() {
    let e = E2e::start_with(with_links("staff")).await;
    e.world.seed_offline_profile(ALICE, 5);
    let ix = e.run(
        MOD,
        "give",
        &[
            ("user", "alice".into()),
            ("amount", 1.into()),
            ("reason", "x".into()),
        ],
    );
    e.reply_containing(ix, "New balance: 6").await;
    links(&e)
        .links
        .set_staff_link(GUILD, PLAYER_MEMBER, BOB, &MOD.to_string())
        .await
        .unwrap();
    let all = choices(&e, "").await;
    let values: Vec<String> = all
        .iter()
        .map(|(_, v)| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        values,
        vec![ALICE.to_string(), BOB.to_string()],
        "recent first: {all:?}"
    );
    assert!(all[0].0.contains("alice"), "named: {all:?}");
    let some = choices(&e, "AL").await;
    assert_eq!(some.len(), 1, "{some:?}");
    assert_eq!(some[0].1, serde_json::json!(ALICE.to_string()));
    // `/balance` is open to every member; who staff paid is not suggested to them.
    let ix = e
        .fake
        .autocomplete(PLAYER_MEMBER, CHANNEL, "balance", &[], ("user", ""))
        .unwrap();
    let none = e
        .fake
        .wait_until("autocomplete choices", WAIT, |f| f.choices(ix))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    e.finish().await;
}

/// What the bot suggests while MOD types `typed` into `/give`'s `user` option.
async fn choices(e: &E2e, typed: &str) -> Vec<(String, serde_json::Value)> {
    let ix = e
        .fake
        .autocomplete(MOD, CHANNEL, "give", &[], ("user", typed))
        .unwrap();
    e.fake
        .wait_until("autocomplete choices", WAIT, |f| f.choices(ix))
        .await
        .unwrap()
}
