//! Every kind of payload the fake sends, read with the serenity model type the bot reads it
//! into, field by field where the bot depends on the value.

mod support;

use discord_fake::{FileUpload, OptionValue};
use serde_json::json;
use serenity::all as s;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_guild_create_and_interactions_read_as_serenity_types() {
    let fake = fake().await;
    let mut bot = RawBot::connect(&fake).await;
    let events = bot.identify(&fake.token()).await.unwrap();
    let s::Event::Ready(r) = &events[0] else {
        panic!("READY first")
    };
    assert_eq!(r.ready.application.id.get(), fake.application_id());
    assert_eq!(r.ready.user.id.get(), fake.application_id());
    assert_eq!(r.ready.guilds.len(), 1);
    let s::Event::GuildCreate(g) = &events[1] else {
        panic!("GUILD_CREATE")
    };
    assert_eq!(g.guild.id.get(), GUILD);
    assert!(g.guild.channels.contains_key(&s::ChannelId::new(LOGS)));
    assert!(g.guild.roles.contains_key(&s::RoleId::new(STAFF_ROLE)));

    let ix = fake
        .run_command(
            MOD,
            CHANNEL,
            "ping",
            &[
                ("text", "hi".into()),
                ("n", 3_i64.into()),
                ("who", OptionValue::User(BYSTANDER)),
            ],
        )
        .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("command")
    };
    assert_eq!(c.id.get(), ix.id);
    assert_eq!(c.data.name, "ping");
    assert_eq!(c.guild_id.map(s::GuildId::get), Some(GUILD));
    assert_eq!(c.channel_id.get(), CHANNEL);
    let member = c
        .member
        .as_ref()
        .expect("a guild interaction carries the member");
    assert_eq!(member.user.id.get(), MOD);
    assert_eq!(member.roles, [s::RoleId::new(STAFF_ROLE)]);
    assert_eq!(member.permissions, Some(s::Permissions::MANAGE_GUILD));
    let opts = c.data.options();
    assert!(matches!(opts[0].value, s::ResolvedValue::String("hi")));
    assert!(matches!(opts[1].value, s::ResolvedValue::Integer(3)));
    match &opts[2].value {
        s::ResolvedValue::User(u, m) => {
            assert_eq!(u.id.get(), BYSTANDER);
            assert!(m.is_some(), "resolved members accompany user options");
        }
        other => panic!("{other:?}"),
    }

    // A message the bot posts, read back as serenity's Message, and a press on its button.
    let http = http(&fake);
    http.create_interaction_response(c.id, &c.token, &json!({"type": 4, "data": {"content": "x", "flags": 64,
        "embeds": [{"title": "T", "fields": [{"name": "a", "value": "b", "inline": true}]}],
        "components": [{"type": 1, "components": [{"type": 2, "style": 3, "label": "Confirm", "custom_id": "econ:1:ok"}]}]}}), vec![])
        .await
        .unwrap();
    let original = http
        .get_original_interaction_response(&c.token)
        .await
        .unwrap();
    assert_eq!(original.embeds[0].title.as_deref(), Some("T"));
    assert_eq!(original.components.len(), 1);
    fake.press(MOD, original.id.get(), "econ:1:ok").unwrap();
    let s::Interaction::Component(p) = bot.interaction().await else {
        panic!("component")
    };
    assert_eq!(p.data.custom_id, "econ:1:ok");
    assert_eq!(p.user.id.get(), MOD);
    assert!(
        p.message
            .flags
            .unwrap()
            .contains(s::MessageFlags::EPHEMERAL)
    );
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_answers_read_as_serenity_types() {
    let fake = fake().await;
    let http = http(&fake);
    let gw = http.get_gateway().await.unwrap();
    assert_eq!(gw.url, fake.gateway_url());
    let bot_gw = http.get_bot_gateway().await.unwrap();
    assert_eq!(bot_gw.shards, 1);
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), fake.application_id());
    let me = http.get_current_user().await.unwrap();
    assert!(me.bot);
    let cmds = http
        .get_guild_commands(s::GuildId::new(GUILD))
        .await
        .unwrap();
    assert_eq!(cmds[0].name, "ping");
    let posted = http
        .send_message(
            s::ChannelId::new(LOGS),
            vec![],
            &json!({"embeds": [{"title": "log"}]}),
        )
        .await
        .unwrap();
    assert_eq!(posted.channel_id.get(), LOGS);
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_and_attachment_options_read_as_serenity_types_and_the_file_downloads() {
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
    let bytes = "user_id\n1001\n1002\n";
    let ix = fake
        .run_command(
            MOD,
            CHANNEL,
            "grant",
            &[
                ("role", OptionValue::Role(STAFF_ROLE)),
                (
                    "file",
                    OptionValue::Attachment(FileUpload::new("winners.csv", bytes)),
                ),
            ],
        )
        .unwrap();
    let s::Interaction::Command(c) = bot.interaction().await else {
        panic!("command")
    };
    assert_eq!(c.id.get(), ix.id);
    let opts = c.data.options();
    match &opts[0].value {
        s::ResolvedValue::Role(r) => {
            assert_eq!(r.id.get(), STAFF_ROLE);
            assert_eq!(r.name, "Staff");
        }
        other => panic!("{other:?}"),
    }
    let s::ResolvedValue::Attachment(a) = &opts[1].value else {
        panic!("{:?}", opts[1].value)
    };
    assert_eq!(a.filename, "winners.csv");
    assert_eq!(a.size as usize, bytes.len());
    assert_eq!(a.content_type.as_deref(), Some("text/csv; charset=utf-8"));
    assert!(
        a.url
            .starts_with(&format!("{}/attachments/{CHANNEL}/", fake.rest_base())),
        "{}",
        a.url
    );
    // serenity's own download (a plain GET of `url`) gets the bytes the test supplied.
    assert_eq!(a.download().await.unwrap(), bytes.as_bytes());
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_list_reads_as_serenity_members() {
    let fake = fake().await;
    fake.set_members_intent(true);
    let http = http(&fake);
    let members = http
        .get_guild_members(s::GuildId::new(GUILD), Some(1000), None)
        .await
        .unwrap();
    let ids: Vec<u64> = members.iter().map(|m| m.user.id.get()).collect();
    assert_eq!(ids, vec![MOD, BYSTANDER, fake.application_id()]);
    assert_eq!(members[0].roles, [s::RoleId::new(STAFF_ROLE)]);
    assert!(!members[0].user.bot);
    assert!(members[2].user.bot, "the bot itself is listed as a bot");
    assert_eq!(members[0].guild_id.get(), GUILD);
    assert!(fake.problems().is_empty(), "{:?}", fake.problems());
}
