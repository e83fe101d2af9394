//! Discord's rules that bite, each as the fake enforces it, driven through serenity's own HTTP
//! client (docs/platform.md D6 cites the source of each).

mod support;

use discord_fake::drive::ATTACHMENT_SIZE_LIMIT;
use discord_fake::{BucketKind, Fault, FileUpload, Limit, Member, OptionValue, UseError};
use serde_json::Value;
use serde_json::json;
use serenity::all as s;
use serenity::builder::Builder as _;
use std::time::Duration;
use support::*;

const DEFER_EPHEMERAL: u64 = 5;

async fn typed(
    fake: &discord_fake::DiscordFake,
    bot: &mut RawBot,
) -> (discord_fake::InteractionRef, s::CommandInteraction) {
    let ix = fake
        .run_command(MOD, CHANNEL, "ping", &[("text", "hi".into())])
        .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("not a command interaction")
    };
    assert_eq!(c.id.get(), ix.id);
    (ix, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_after_three_seconds_is_an_unknown_interaction() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (_, c) = typed(&fake, &mut bot).await;
    fake.advance(Duration::from_millis(3001));
    let late = http
        .create_interaction_response(
            c.id,
            &c.token,
            &json!({"type": DEFER_EPHEMERAL, "data": {"flags": 64}}),
            vec![],
        )
        .await;
    assert_eq!(refused(late), (404, 10062));
    // The token is dead for webhooks too.
    let followup = http
        .create_followup_message(&c.token, &json!({"content": "x"}), vec![])
        .await;
    assert_eq!(refused(followup), (401, 50027));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_acknowledgement_is_refused() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (ix, c) = typed(&fake, &mut bot).await;
    fake.advance(Duration::from_millis(2900));
    http.create_interaction_response(
        c.id,
        &c.token,
        &json!({"type": 5, "data": {"flags": 64}}),
        vec![],
    )
    .await
    .unwrap();
    let again = http
        .create_interaction_response(
            c.id,
            &c.token,
            &json!({"type": 4, "data": {"content": "x"}}),
            vec![],
        )
        .await;
    assert_eq!(refused(again), (400, 40060));
    assert_eq!(fake.response_type(ix), Some(5));
    // A command cannot be answered with a component-only type.
    let (_, c2) = typed(&fake, &mut bot).await;
    let wrong = http
        .create_interaction_response(c2.id, &c2.token, &json!({"type": 6}), vec![])
        .await;
    assert_eq!(refused(wrong), (400, 50035));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_calls_more_than_fifteen_minutes_after_the_interaction_are_refused() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (_, c) = typed(&fake, &mut bot).await;
    http.create_interaction_response(
        c.id,
        &c.token,
        &json!({"type": 5, "data": {"flags": 64}}),
        vec![],
    )
    .await
    .unwrap();
    fake.advance(Duration::from_secs(15 * 60));
    // Exactly 15 minutes: still valid.
    http.edit_original_interaction_response(&c.token, &json!({"content": "in time"}), vec![])
        .await
        .unwrap();
    fake.advance(Duration::from_millis(1));
    let late = http
        .edit_original_interaction_response(&c.token, &json!({"content": "late"}), vec![])
        .await;
    assert_eq!(refused(late), (401, 50027));
    let late = http
        .create_followup_message(&c.token, &json!({"content": "late"}), vec![])
        .await;
    assert_eq!(refused(late), (401, 50027));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followup_right_after_a_defer_edits_the_loading_message() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (ix, c) = typed(&fake, &mut bot).await;
    http.create_interaction_response(
        c.id,
        &c.token,
        &json!({"type": 5, "data": {"flags": 64}}),
        vec![],
    )
    .await
    .unwrap();
    let loading = fake.replies(ix);
    assert_eq!(loading.len(), 1);
    assert!(loading[0].loading && loading[0].ephemeral);
    // Not ephemeral on the followup: the defer's choice stays.
    let first = http
        .create_followup_message(&c.token, &json!({"content": "first"}), vec![])
        .await
        .unwrap();
    assert_eq!(
        first.id.get(),
        loading[0].id,
        "the loading message was edited"
    );
    assert!(first.flags.unwrap().contains(s::MessageFlags::EPHEMERAL));
    let second = http
        .create_followup_message(&c.token, &json!({"content": "second"}), vec![])
        .await
        .unwrap();
    assert_ne!(second.id, first.id, "later followups are new messages");
    let seen = fake.replies(ix);
    assert_eq!(
        seen.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["first", "second"]
    );
    assert!(!seen[0].loading);
    assert!(!seen[1].ephemeral, "a followup without the flag is public");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_edit_an_attachments_array_keeps_only_the_listed_files_and_omitting_it_keeps_all() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (ix, c) = typed(&fake, &mut bot).await;
    http.create_interaction_response(
        c.id,
        &c.token,
        &json!({"type": 5, "data": {"flags": 64}}),
        vec![],
    )
    .await
    .unwrap();
    let m = s::CreateInteractionResponseFollowup::new()
        .content("page 1")
        .add_file(s::CreateAttachment::bytes(b"a,b\n".to_vec(), "audit.csv"))
        .add_file(s::CreateAttachment::bytes(b"x".to_vec(), "other.txt"))
        .execute(&http, (None, &c.token))
        .await
        .unwrap();
    assert_eq!(m.attachments.len(), 2);
    // No `attachments`: every file stays.
    http.edit_followup_message(&c.token, m.id, &json!({"content": "page 2"}), vec![])
        .await
        .unwrap();
    let seen = fake.replies(ix);
    assert_eq!(seen[0].files.len(), 2);
    assert_eq!(seen[0].file("audit.csv").unwrap().bytes, b"a,b\n");
    // `attachments` lists one: only that one stays.
    let keep =
        json!({"content": "page 3", "attachments": [{"id": m.attachments[0].id.to_string()}]});
    http.edit_followup_message(&c.token, m.id, &keep, vec![])
        .await
        .unwrap();
    let seen = fake.replies(ix);
    assert_eq!(
        seen[0]
            .files
            .iter()
            .map(|f| f.filename.as_str())
            .collect::<Vec<_>>(),
        ["audit.csv"]
    );
    // serenity's followup builder always sends its (here empty) list: an edit through it
    // without files removes them all (the trap behind issue 15's item 2).
    s::CreateInteractionResponseFollowup::new()
        .content("page 4")
        .execute(&http, (Some(m.id), &c.token))
        .await
        .unwrap();
    let seen = fake.replies(ix);
    assert_eq!(seen[0].content, "page 4");
    assert!(seen[0].files.is_empty(), "{:?}", seen[0].files);
    assert!(fake.replies(ix)[0].files.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_messages_are_seen_only_by_their_member() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    let (_, c) = typed(&fake, &mut bot).await;
    http.create_interaction_response(c.id, &c.token, &json!({"type": 4, "data": {"content": "secret", "flags": 64,
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]}}), vec![])
        .await
        .unwrap();
    http.send_message(
        s::ChannelId::new(CHANNEL),
        vec![],
        &json!({"content": "public"}),
    )
    .await
    .unwrap();
    let mine: Vec<String> = fake
        .seen_by(MOD, CHANNEL)
        .into_iter()
        .map(|m| m.content)
        .collect();
    let theirs: Vec<String> = fake
        .seen_by(BYSTANDER, CHANNEL)
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(mine, ["secret", "public"]);
    assert_eq!(theirs, ["public"]);
    // Without `allowed_mentions`, Discord's defaults let mentions notify.
    assert!(
        fake.seen_by(MOD, CHANNEL)
            .iter()
            .all(|m| !m.mentions_nobody())
    );
    http.send_message(
        s::ChannelId::new(LOGS),
        vec![],
        &json!({"content": "<@1>", "allowed_mentions": {"parse": []}}),
    )
    .await
    .unwrap();
    assert!(fake.seen_by(MOD, LOGS)[0].mentions_nobody());
    // A bystander cannot press a button they cannot see.
    let secret = fake.seen_by(MOD, CHANNEL)[0].id;
    assert!(fake.press(BYSTANDER, secret, "go").is_err());
    let press = fake.press(MOD, secret, "go").unwrap();
    let s::Interaction::Component(p) = bot.interaction().await else {
        panic!("not a press")
    };
    assert_eq!(
        (p.id.get(), p.data.custom_id.as_str(), p.message.id.get()),
        (press.id, "go", secret)
    );
    // Type 7 edits the message the button is on.
    http.create_interaction_response(
        p.id,
        &p.token,
        &json!({"type": 7, "data": {"content": "pressed", "components": []}}),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(fake.seen_by(MOD, CHANNEL)[0].content, "pressed");
    assert!(fake.seen_by(MOD, CHANNEL)[0].buttons.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_rate_limit_headers_and_a_spent_bucket_answers_429() {
    let fake = fake().await;
    fake.set_rate_limit(
        BucketKind::ChannelMessages,
        Limit {
            limit: 2,
            window: Duration::from_secs(5),
        },
    );
    let path = format!("/api/v10/channels/{LOGS}/messages");
    let body = r#"{"content":"log"}"#;
    let (status, headers, _) = raw(&fake, "POST", &path, body).await;
    assert_eq!(status, 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(
            headers.iter().any(|(k, _)| k == h),
            "{h} missing: {headers:?}"
        );
    }
    let (_, headers, _) = raw(&fake, "GET", "/api/v10/gateway", "").await;
    assert!(
        headers.iter().any(|(k, _)| k == "x-ratelimit-bucket"),
        "{headers:?}"
    );
    raw(&fake, "POST", &path, body).await;
    fake.advance(Duration::from_secs(2));
    let (status, headers, body429) = raw(&fake, "POST", &path, body).await;
    assert_eq!(status, 429);
    let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(h("retry-after").as_deref(), Some("3"));
    assert_eq!(h("x-ratelimit-scope").as_deref(), Some("user"));
    let v: serde_json::Value = serde_json::from_str(&body429).unwrap();
    assert_eq!(v["retry_after"], 3.0);
    // serenity without its rate limiter reports the 429 to the caller.
    let http = http(&fake);
    let r = http
        .send_message(s::ChannelId::new(LOGS), vec![], &json!({"content": "log"}))
        .await;
    assert_eq!(refused(r).0, 429);
    fake.advance(Duration::from_secs(3));
    assert_eq!(
        raw(&fake, "POST", &path, r#"{"content":"log"}"#).await.0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_in_a_guild_the_bot_is_not_in_is_missing_access() {
    let fake = fake().await;
    let http = http(&fake);
    let cmds = json!([{"name": "balance", "description": "Show a balance", "type": 1}]);
    let r = http
        .create_guild_commands(s::GuildId::new(123_456), &cmds)
        .await;
    assert_eq!(refused(r), (403, 50001));
    fake.fail_registrations([Fault::ServerError]);
    assert_eq!(
        refused(
            http.create_guild_commands(s::GuildId::new(GUILD), &cmds)
                .await
        )
        .0,
        500
    );
    // Bulk overwrite replaces the whole list; a command keeps its id.
    let first = http
        .create_guild_commands(s::GuildId::new(GUILD), &cmds)
        .await
        .unwrap();
    let again = http
        .create_guild_commands(s::GuildId::new(GUILD), &cmds)
        .await
        .unwrap();
    assert_eq!(first[0].id, again[0].id);
    assert_eq!(fake.commands(Some(GUILD)).len(), 1, "/ping was replaced");
    http.create_global_commands(&json!([])).await.unwrap();
    assert_eq!(fake.registrations(), [Some(GUILD), Some(GUILD), None]);
    let bad = http
        .create_guild_commands(
            s::GuildId::new(GUILD),
            &json!([{"name": "Bad Name", "description": "x"}]),
        )
        .await;
    assert_eq!(refused(bad), (400, 50035));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_and_closed_with_4004_and_privileged_intents_with_4014() {
    let fake = fake().await;
    let wrong = s::HttpBuilder::new("d3Jvbmc.d3Jvbmc.d3Jvbmc")
        .proxy(fake.rest_base())
        .ratelimiter_disabled(true)
        .build();
    assert_eq!(
        refused(wrong.get_current_application_info().await),
        (401, 0)
    );
    let mut bot = RawBot::connect(&fake).await;
    assert_eq!(
        bot.identify("d3Jvbmc.d3Jvbmc.d3Jvbmc").await.unwrap_err(),
        Some(4004)
    );
    assert!(!fake.connected());
    // A privileged intent the application was not granted (MESSAGE_CONTENT) is closed with 4014.
    let mut bot = RawBot::connect(&fake).await;
    let refused = bot.identify_with(&fake.token(), 1 | (1 << 15)).await;
    assert_eq!(refused.unwrap_err(), Some(4014));
    assert!(!fake.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_refuses_options_discord_would_not_send_and_hidden_commands() {
    let fake = fake().await;
    let _bot = bot(&fake).await;
    let run = |opts: &[(&str, OptionValue)]| fake.run_command(MOD, CHANNEL, "ping", opts);
    assert!(run(&[]).is_err(), "a required option is missing");
    assert!(run(&[("text", "toolong".into())]).is_err());
    assert!(run(&[("text", "ok".into()), ("n", 11_i64.into())]).is_err());
    assert!(run(&[("text", 3_i64.into())]).is_err());
    assert!(
        run(&[
            ("text", "ok".into()),
            ("n", 10_i64.into()),
            ("who", OptionValue::User(BYSTANDER))
        ])
        .is_ok()
    );
    assert!(fake.run_command(MOD, CHANNEL, "nope", &[]).is_err());
    fake.preregister(
        Some(GUILD),
        &[json!({"name": "admin", "description": "x", "default_member_permissions": "32"})],
    );
    assert!(matches!(
        fake.run_command(BYSTANDER, CHANNEL, "admin", &[]),
        Err(discord_fake::UseError::Hidden(_))
    ));
    assert!(fake.run_command(MOD, CHANNEL, "admin", &[]).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_with_subcommands_is_typed_with_one_and_its_options_nest_under_it() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    fake.preregister(
        Some(GUILD),
        &[json!({"name": "link", "description": "x", "options": [
            {"type": 1, "name": "me", "description": "x"},
            {"type": 1, "name": "set", "description": "x", "options": [
                {"type": 6, "name": "member", "description": "x", "required": true}
            ]}
        ]})],
    );
    assert!(
        fake.run_command(MOD, CHANNEL, "link", &[]).is_err(),
        "the base of a command with subcommands is not usable"
    );
    assert!(fake.run_command(MOD, CHANNEL, "link nope", &[]).is_err());
    assert!(
        fake.run_command(MOD, CHANNEL, "link set", &[]).is_err(),
        "the subcommand's required option"
    );
    fake.run_command(
        MOD,
        CHANNEL,
        "link set",
        &[("member", OptionValue::User(BYSTANDER))],
    )
    .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("not a command interaction")
    };
    assert_eq!(c.data.name, "link");
    let [sub] = c.data.options.as_slice() else {
        panic!("one subcommand: {:?}", c.data.options)
    };
    assert_eq!(sub.name, "set");
    let s::CommandDataOptionValue::SubCommand(inner) = &sub.value else {
        panic!("a subcommand: {sub:?}")
    };
    assert_eq!(inner[0].name, "member");
    assert!(
        c.data
            .resolved
            .members
            .contains_key(&s::UserId::new(BYSTANDER))
    );

    // A user outside the guild is resolved in `users` only.
    const OUTSIDER: u64 = 700_000_000_000_000_099;
    let outsider = [("member", OptionValue::User(OUTSIDER))];
    assert!(
        fake.run_command(MOD, CHANNEL, "link set", &outsider)
            .is_err(),
        "an unknown user"
    );
    fake.add_outsider(OUTSIDER, "gone");
    fake.run_command(MOD, CHANNEL, "link set", &outsider)
        .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("not a command interaction")
    };
    let id = s::UserId::new(OUTSIDER);
    assert!(c.data.resolved.users.contains_key(&id));
    assert!(!c.data.resolved.members.contains_key(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_is_answered_with_type_8_and_at_most_25_choices() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let http = http(&fake);
    fake.preregister(
        Some(GUILD),
        &[json!({"name": "find", "description": "x", "options": [
            {"type": 4, "name": "n", "description": "x", "required": true},
            {"type": 3, "name": "who", "description": "x", "autocomplete": true},
            {"type": 3, "name": "plain", "description": "x"}
        ]})],
    );
    assert!(
        fake.autocomplete(MOD, CHANNEL, "find", &[], ("plain", "a"))
            .is_err(),
        "only an option registered with autocomplete is suggested for"
    );
    // Required options may still be missing while typing.
    let ix = fake
        .autocomplete(MOD, CHANNEL, "find", &[], ("who", "al"))
        .unwrap();
    let s::Interaction::Autocomplete(c) = bot.interaction().await else {
        panic!("not an autocomplete interaction")
    };
    assert_eq!(c.id.get(), ix.id);
    let focused = c.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("who", "al"));
    let choice = |n: usize| json!({"name": format!("alice {n}"), "value": n.to_string()});
    let too_many: Vec<_> = (0..26).map(choice).collect();
    let wrong = http
        .create_interaction_response(
            c.id,
            &c.token,
            &json!({"type": 4, "data": {"content": "x"}}),
            vec![],
        )
        .await;
    assert_eq!(
        refused(wrong).0,
        400,
        "a message does not answer autocomplete"
    );
    let many = http
        .create_interaction_response(
            c.id,
            &c.token,
            &json!({"type": 8, "data": {"choices": too_many}}),
            vec![],
        )
        .await;
    assert_eq!(refused(many).0, 400, "more than 25 choices");
    let two: Vec<_> = (0..2).map(choice).collect();
    http.create_interaction_response(
        c.id,
        &c.token,
        &json!({"type": 8, "data": {"choices": two}}),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(fake.response_type(ix), Some(8));
    let got = fake.choices(ix).unwrap();
    assert_eq!(got[1], ("alice 1".to_owned(), json!("1")));
    // Type 8 answers only autocomplete interactions.
    fake.run_command(MOD, CHANNEL, "find", &[("n", 1_i64.into())])
        .unwrap();
    let s::Interaction::Command(cmd) = bot.interaction().await else {
        panic!("not a command interaction")
    };
    let not_autocomplete = http
        .create_interaction_response(
            cmd.id,
            &cmd.token,
            &json!({"type": 8, "data": {"choices": []}}),
            vec![],
        )
        .await;
    assert_eq!(refused(not_autocomplete).0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_then_resume_replays_what_was_missed() {
    let fake = fake().await;
    let mut bot = bot(&fake).await;
    let session = match &bot.events[1] {
        s::GatewayEvent::Dispatch(_, s::Event::Ready(r)) => r.ready.session_id.clone(),
        other => panic!("{other:?}"),
    };
    fake.request_reconnect().unwrap();
    assert!(matches!(bot.next().await, Ok(s::GatewayEvent::Reconnect)));
    drop(bot);
    fake.wait_until("the old connection to go", WAIT, |f| {
        (!f.connected()).then_some(())
    })
    .await
    .unwrap();
    // Missed while away: nobody can type a command without a connected bot.
    assert!(
        fake.run_command(MOD, CHANNEL, "ping", &[("text", "hi".into())])
            .is_err()
    );
    let mut again = RawBot::connect(&fake).await;
    again.send(json!({"op": 6, "d": {"token": format!("Bot {}", fake.token()), "session_id": session, "seq": 1}})).await;
    // GUILD_CREATE (seq 2) is replayed, then RESUMED.
    assert!(matches!(
        again.next().await,
        Ok(s::GatewayEvent::Dispatch(2, s::Event::GuildCreate(_)))
    ));
    assert!(matches!(
        again.next().await,
        Ok(s::GatewayEvent::Dispatch(3, s::Event::Resumed(_)))
    ));
    assert_eq!(fake.gateway_counts(), (1, 1));
    // Heartbeats are acknowledged.
    again.send(json!({"op": 1, "d": 3})).await;
    assert!(matches!(
        again.next().await,
        Ok(s::GatewayEvent::HeartbeatAck)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_and_attachment_options_carry_ids_resolved_and_the_client_sends_only_real_ones() {
    let fake = fake().await;
    fake.preregister(
        Some(GUILD),
        &[json!({
            "name": "grant", "description": "Grant", "type": 1,
            "options": [
                {"type": 8, "name": "role", "description": "r"},
                {"type": 11, "name": "file", "description": "f"}
            ]
        })],
    );
    let mut bot = bot(&fake).await;
    let grant = |opts: &[(&str, OptionValue)]| fake.run_command(MOD, CHANNEL, "grant", opts);
    // A role of another guild (or none) cannot be picked.
    assert_eq!(
        grant(&[("role", OptionValue::Role(123))]).unwrap_err(),
        UseError::Unknown("role")
    );
    // A file over the upload limit (10 MiB without boosts) is not sent.
    let huge = FileUpload::new("big.csv", "x").claiming_size(ATTACHMENT_SIZE_LIMIT + 1);
    assert!(matches!(
        grant(&[("file", OptionValue::Attachment(huge))]),
        Err(UseError::BadOption(_))
    ));
    // A string is not a role.
    assert!(grant(&[("role", "Staff".into())]).is_err());
    // @everyone (the guild's id) is a role too.
    grant(&[("role", OptionValue::Role(GUILD))]).unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("command")
    };
    let raw = serde_json::to_value(&c.data).unwrap();
    assert_eq!(raw["options"][0]["value"], json!(GUILD.to_string()));
    assert_eq!(
        raw["resolved"]["roles"][GUILD.to_string()]["name"],
        json!("@everyone")
    );

    // A file's option value is its attachment id; the object sits in resolved.attachments,
    // its URL serves the bytes; a URL naming no file is a 404.
    let claimed = FileUpload::new("list.csv", "1001\n").claiming_size(4096);
    grant(&[("file", OptionValue::Attachment(claimed))]).unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("command")
    };
    let raw = serde_json::to_value(&c.data).unwrap();
    let id = raw["options"][0]["value"].as_str().unwrap().to_owned();
    let object = &raw["resolved"]["attachments"][&id];
    assert_eq!(object["id"], json!(id));
    assert_eq!(object["size"], json!(4096), "the size the test claimed");
    let path = format!("/attachments/{CHANNEL}/{id}/list.csv");
    let url = object["url"].as_str().unwrap();
    let signed = url.strip_prefix(&fake.rest_base()).unwrap();
    assert!(signed.starts_with(&format!("{path}?ex=")), "{url}");
    let (status, _, body) = raw_get(&fake, signed).await;
    assert_eq!((status, body.as_str()), (200, "1001\n"));
    // The signature covers the path: the same query on another file or channel is refused.
    let query = signed.strip_prefix(&path).unwrap();
    let other = format!("/attachments/{CHANNEL}/{id}/other.csv{query}");
    assert_eq!(raw_get(&fake, &other).await.0, 404);
    let other = format!("/attachments/{LOGS}/{id}/list.csv{query}");
    assert_eq!(raw_get(&fake, &other).await.0, 404);
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

/// `ex`, `is` and `hm` of a signed URL (Discord's order, with its trailing `&`).
fn signed_parts(url: &str) -> (i64, i64, String) {
    let query = url.split_once('?').unwrap().1;
    let get = |k: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };
    let hex = |k: &str| i64::from_str_radix(&get(k), 16).unwrap();
    (hex("ex"), hex("is"), get("hm"))
}

/// A member runs `grant` with `upload` attached; the attachment as the bot receives it.
async fn grant_file(
    fake: &discord_fake::DiscordFake,
    bot: &mut RawBot,
    upload: FileUpload,
) -> s::Attachment {
    fake.run_command(
        MOD,
        CHANNEL,
        "grant",
        &[("file", OptionValue::Attachment(upload))],
    )
    .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("command")
    };
    c.data.resolved.attachments.values().next().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_urls_are_signed_refused_when_altered_and_expire_after_a_day() {
    let fake = fake().await;
    fake.preregister(
        Some(GUILD),
        &[json!({"name": "grant", "description": "Grant", "type": 1,
            "options": [{"type": 11, "name": "file", "description": "f"}]})],
    );
    let mut bot = bot(&fake).await;
    let file = grant_file(&fake, &mut bot, FileUpload::new("list.csv", "1001\n")).await;
    let base = fake.rest_base();
    let signed = file.url.strip_prefix(&base).unwrap().to_owned();
    // Issued now on the fake's clock, valid for a day; a trailing `&` as in Discord's example.
    let (ex, is, hm) = signed_parts(&signed);
    assert_eq!(is, discord_fake::clock::START_MS / 1000);
    assert_eq!(ex - is, 24 * 60 * 60);
    assert!(signed.ends_with('&'), "{signed}");
    // Fresh: serenity's own download gets the bytes.
    assert_eq!(file.download().await.unwrap(), b"1001\n");
    // Altered: a changed signature, an expiry moved later, or no signature at all.
    let flipped = format!(
        "{}{}",
        if hm.starts_with('0') { '1' } else { '0' },
        &hm[1..]
    );
    let tampered = signed.replace(&hm, &flipped);
    let later = signed.replace(&format!("ex={ex:x}"), &format!("ex={:x}", ex + 3600));
    let bare = signed.split_once('?').unwrap().0.to_owned();
    for url in [&tampered, &later, &bare] {
        let (status, _, body) = raw_get(&fake, url).await;
        assert_eq!(
            (status, body.as_str()),
            (404, "This content is no longer available."),
            "{url}"
        );
    }
    // Valid up to the second before `ex`, refused from `ex` on.
    fake.advance(Duration::from_secs(24 * 60 * 60 - 1));
    assert_eq!(raw_get(&fake, &signed).await.0, 200);
    fake.advance(Duration::from_secs(1));
    assert_eq!(raw_get(&fake, &signed).await.0, 404);
    // Each payload carries a URL issued when it is sent, as Discord refreshes them.
    fake.set_attachment_url_lifetime(Duration::ZERO);
    let again = grant_file(&fake, &mut bot, FileUpload::new("again.csv", "1002\n")).await;
    let (ex, is, _) = signed_parts(&again.url);
    assert_eq!(is, discord_fake::clock::START_MS / 1000 + 24 * 60 * 60);
    assert_eq!(ex, is, "a zero lifetime hands out an already expired URL");
    let path = again.url.strip_prefix(&base).unwrap().to_owned();
    assert_eq!(raw_get(&fake, &path).await.0, 404);
    let fetches: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.route.starts_with("/attachments/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(fetches, [200, 404, 404, 404, 200, 404, 404]);
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

async fn raw_get(
    fake: &discord_fake::DiscordFake,
    path: &str,
) -> (u16, Vec<(String, String)>, String) {
    raw(fake, "GET", path, "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_guild_members_needs_the_members_intent_and_pages_by_user_id() {
    let fake = fake().await;
    let http = http(&fake);
    let guild = s::GuildId::new(GUILD);
    // Off in the portal (the default): 403 / 50001 Missing Access.
    assert_eq!(
        refused(http.get_guild_members(guild, Some(10), None).await),
        (403, 50001)
    );
    // A guild the bot is not in.
    fake.set_members_intent(true);
    assert_eq!(
        refused(
            http.get_guild_members(s::GuildId::new(GUILD + 99), Some(10), None)
                .await
        ),
        (403, 50001)
    );
    const EXTRA: u64 = 700_000_000_000_000_005;
    fake.add_member(
        GUILD,
        Member {
            user_id: EXTRA,
            name: "helper".into(),
            roles: vec![STAFF_ROLE],
            permissions: 0,
            bot: true,
        },
    );
    // Sorted by user id; `after` is the highest id of the previous page.
    let first = http.get_guild_members(guild, Some(2), None).await.unwrap();
    let ids = |page: &[s::Member]| page.iter().map(|m| m.user.id.get()).collect::<Vec<_>>();
    assert_eq!(ids(&first), vec![EXTRA, MOD]);
    assert!(first[0].user.bot, "a bot member is a bot user");
    let second = http
        .get_guild_members(guild, Some(2), Some(MOD))
        .await
        .unwrap();
    assert_eq!(ids(&second), vec![BYSTANDER, fake.application_id()]);
    let last = http
        .get_guild_members(guild, Some(2), Some(fake.application_id()))
        .await
        .unwrap();
    assert!(last.is_empty());
    // `limit` defaults to 1 and must be 1-1000 (serenity checks it before sending: raw calls).
    let path = format!("/api/v10/guilds/{GUILD}/members");
    let (status, headers, body) = raw(&fake, "GET", &path, "").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 1);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-ratelimit-bucket" && v == "guild-members"),
        "{headers:?}"
    );
    for bad in ["limit=0", "limit=1001", "limit=x", "after=-1"] {
        let (status, _, _) = raw(&fake, "GET", &format!("{path}?{bad}"), "").await;
        assert_eq!(status, 400, "{bad}");
    }
    // With the intent on, IDENTIFY may ask for GUILD_MEMBERS (the other privileged ones stay
    // refused).
    let mut bot = RawBot::connect(&fake).await;
    bot.identify_with(&fake.token(), 1 | (1 << 1))
        .await
        .unwrap();
    let mut other = RawBot::connect(&fake).await;
    assert_eq!(
        other
            .identify_with(&fake.token(), 1 | (1 << 8))
            .await
            .unwrap_err(),
        Some(4014)
    );
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_message_with_a_file_needs_attach_files() {
    let fake = fake().await;
    let http = http(&fake);
    let file = || vec![s::CreateAttachment::bytes(b"a,b\n".to_vec(), "out.csv")];
    // Granted by default (Discord's @everyone permissions include Attach Files).
    http.send_message(
        s::ChannelId::new(LOGS),
        file(),
        &json!({"content": "with a file"}),
    )
    .await
    .unwrap();
    assert_eq!(fake.seen_by(MOD, LOGS)[0].files[0].filename, "out.csv");
    fake.deny_attach_files(CHANNEL);
    assert_eq!(
        refused(
            http.send_message(s::ChannelId::new(CHANNEL), file(), &json!({"content": "x"}))
                .await
        ),
        (403, 50013)
    );
    http.send_message(
        s::ChannelId::new(CHANNEL),
        vec![],
        &json!({"content": "no file"}),
    )
    .await
    .unwrap();
    let texts: Vec<String> = fake
        .seen_by(MOD, CHANNEL)
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(texts, ["no file"]);
}

/// Not a Discord rule: the test control that stands for a slow Discord. A held request waits
/// unanswered (and is counted) while other routes are answered; release answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_route_waits_until_released_and_other_routes_go_on() {
    let fake = fake().await;
    fake.hold("GET", "/gateway");
    let held = raw(&fake, "GET", "/api/v10/gateway", "");
    tokio::pin!(held);
    tokio::select! {
        _ = &mut held => panic!("answered while held"),
        counted = fake.wait_until("the request held", Duration::from_secs(10), |f| {
            (f.holding() == 1).then_some(())
        }) => counted.unwrap(),
    }
    assert_eq!(raw(&fake, "GET", "/api/v10/users/@me", "").await.0, 200);
    assert_eq!(fake.holding(), 1, "still held");
    fake.release();
    assert_eq!(held.await.0, 200);
    assert_eq!(fake.holding(), 0);
    let gateway: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.route == "/gateway")
        .map(|r| r.status)
        .collect();
    assert_eq!(gateway, [200], "answered once, after the release");
}
