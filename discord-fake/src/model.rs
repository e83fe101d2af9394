//! The JSON the fake sends, shaped like Discord's objects (users, members, guilds, channels,
//! messages, interactions, READY). Each is checked against serenity's model types
//! (`check.rs`, and the crate's `payloads` tests).

use crate::clock::iso8601;
use crate::world::{Guild, Interaction, InteractionKind, Member, Message, World};
use serde_json::{Value, json};

/// A user object.
pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(), "username": name, "global_name": name, "discriminator": "0",
        "avatar": null, "bot": bot, "public_flags": 0
    })
}

/// The bot's user object.
pub fn bot_user(w: &World) -> Value {
    user(w.config.application_id, &w.config.bot_name, true)
}

/// A guild member object as interactions carry it (with `permissions`).
pub fn member(m: &Member, joined_ms: i64) -> Value {
    let mut v = guild_member(m, joined_ms);
    v["permissions"] = json!(m.permissions.to_string());
    v
}

/// A guild member object as REST answers it (List Guild Members: no `permissions`, which
/// Discord computes only for interactions).
pub fn guild_member(m: &Member, joined_ms: i64) -> Value {
    json!({
        "user": user(m.user_id, &m.name, m.bot),
        "nick": null, "avatar": null, "banner": null,
        "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": iso8601(joined_ms), "premium_since": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false,
        "communication_disabled_until": null
    })
}

/// A role object (`position` 0 is @everyone, whose id is the guild's).
pub fn role(id: u64, name: &str, position: usize) -> Value {
    json!({
        "id": id.to_string(), "name": name, "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false, "icon": null,
        "unicode_emoji": null, "position": position, "permissions": "0", "managed": false,
        "mentionable": false, "flags": 0
    })
}

fn text_channel(guild: u64, id: u64, name: &str, position: usize) -> Value {
    json!({
        "id": id.to_string(), "type": 0, "guild_id": guild.to_string(), "name": name,
        "position": position, "permission_overwrites": [], "nsfw": false, "topic": null,
        "last_message_id": null, "rate_limit_per_user": 0, "parent_id": null
    })
}

/// A GUILD_CREATE payload (a full guild as the bot first sees it).
pub fn guild_create(g: &Guild, w: &World) -> Value {
    let mut roles = vec![role(g.id, "@everyone", 0)];
    roles.extend(
        g.roles
            .iter()
            .enumerate()
            .map(|(i, (id, name))| role(*id, name, i + 1)),
    );
    let channels: Vec<Value> = g
        .channels
        .values()
        .enumerate()
        .map(|(i, c)| text_channel(g.id, c.id, &c.name, i))
        .collect();
    let bot = json!({
        "user": bot_user(w), "nick": null, "avatar": null, "roles": [],
        "joined_at": iso8601(crate::clock::START_MS), "deaf": false, "mute": false,
        "flags": 0, "pending": false
    });
    json!({
        "id": g.id.to_string(), "name": g.name, "icon": null, "icon_hash": null, "splash": null,
        "discovery_splash": null, "owner_id": g.members.keys().next().copied().unwrap_or(1).to_string(),
        "region": null, "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
        "widget_channel_id": null, "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0, "roles": roles, "emojis": [], "features": [],
        "mfa_level": 0, "application_id": null, "system_channel_id": null,
        "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "joined_at": iso8601(crate::clock::START_MS), "large": false, "unavailable": false,
        "member_count": g.members.len() + 1, "voice_states": [], "members": [bot],
        "channels": channels, "threads": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": []
    })
}

/// The READY payload.
pub fn ready(w: &World, session_id: &str, resume_url: &str) -> Value {
    let guilds: Vec<Value> = w
        .guilds
        .keys()
        .map(|id| json!({"id": id.to_string(), "unavailable": true}))
        .collect();
    json!({
        "v": 10, "user": {
            "id": w.config.application_id.to_string(), "username": w.config.bot_name,
            "global_name": null, "discriminator": "0", "avatar": null, "bot": true,
            "verified": true, "mfa_enabled": false, "flags": 0, "email": null
        },
        "guilds": guilds, "session_id": session_id, "resume_gateway_url": resume_url,
        "shard": [0, 1],
        "application": {"id": w.config.application_id.to_string(), "flags": 0},
        "private_channels": [], "presences": [], "relationships": [], "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["local"]
    })
}

fn attachment(a: &crate::world::Attachment, channel: u64, w: &World) -> Value {
    let url = w.attachment_url(channel, a.id, &a.filename);
    json!({
        "id": a.id.to_string(), "filename": a.filename, "size": a.bytes.len(),
        "url": url, "proxy_url": url,
        "content_type": a.content_type, "ephemeral": false
    })
}

/// The attachment object of a file a member attached to an ATTACHMENT option (in the
/// interaction's `resolved.attachments`). `proxy_url` is the same route: the fake has one CDN.
pub fn upload(u: &crate::world::Upload, w: &World) -> Value {
    let url = w.attachment_url(u.channel_id, u.id, &u.filename);
    let mut v = json!({
        "id": u.id.to_string(), "filename": u.filename, "size": u.size,
        "url": url, "proxy_url": url, "ephemeral": true
    });
    if let Some(t) = &u.content_type {
        v["content_type"] = json!(t);
    }
    v
}

/// A message object (the bot is the author).
pub fn message(m: &Message, w: &World) -> Value {
    let interaction = m
        .interaction
        .and_then(|id| w.interactions.get(&id))
        .map(|i| interaction_metadata(i, w));
    json!({
        "id": m.id.to_string(), "channel_id": m.channel_id.to_string(),
        "author": bot_user(w), "content": m.content,
        "timestamp": iso8601(m.created_ms), "edited_timestamp": m.edited_ms.map(iso8601),
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": m.attachments.iter().map(|a| attachment(a, m.channel_id, w)).collect::<Vec<_>>(),
        "embeds": m.embeds, "components": m.components, "pinned": false,
        "webhook_id": m.interaction.map(|_| w.config.application_id.to_string()),
        "type": if m.interaction.is_some() { 20 } else { 0 },
        "application_id": m.interaction.map(|_| w.config.application_id.to_string()),
        "flags": m.flags, "interaction_metadata": interaction,
    })
}

fn interaction_metadata(i: &Interaction, w: &World) -> Value {
    let name = w
        .guilds
        .get(&i.guild_id)
        .and_then(|g| g.members.get(&i.user_id))
        .map_or("someone", |m| m.name.as_str());
    json!({
        "id": i.id.to_string(),
        "type": match i.kind {
            InteractionKind::Command => 2,
            InteractionKind::Component { .. } => 3,
            InteractionKind::Autocomplete => 4,
        },
        "user": user(i.user_id, name, false),
        "authorizing_integration_owners": {"0": i.guild_id.to_string()}
    })
}

/// The parts of an INTERACTION_CREATE both kinds share.
fn interaction_base(i: &Interaction, m: &Member, w: &World) -> Value {
    json!({
        "id": i.id.to_string(), "application_id": w.config.application_id.to_string(),
        "guild_id": i.guild_id.to_string(), "channel_id": i.channel_id.to_string(),
        "channel": {"id": i.channel_id.to_string(), "type": 0, "guild_id": i.guild_id.to_string()},
        "member": member(m, crate::clock::START_MS), "token": i.token, "version": 1,
        "app_permissions": "2251799813685247", "locale": "en-US", "guild_locale": "en-US",
        "entitlements": [], "authorizing_integration_owners": {"0": i.guild_id.to_string()},
        "context": 0, "attachment_size_limit": 10_485_760
    })
}

/// An INTERACTION_CREATE for a slash command.
pub fn command_interaction(
    i: &Interaction,
    m: &Member,
    command: &Value,
    options: Vec<Value>,
    resolved: Option<Value>,
    w: &World,
) -> Value {
    let mut data = json!({
        "id": command.get("id").cloned().unwrap_or(Value::Null),
        "name": command.get("name").cloned().unwrap_or(Value::Null),
        "type": 1, "options": options, "guild_id": i.guild_id.to_string()
    });
    if let Some(r) = resolved {
        data["resolved"] = r;
    }
    let mut v = interaction_base(i, m, w);
    v["type"] = json!(match i.kind {
        InteractionKind::Autocomplete => 4,
        _ => 2,
    });
    v["data"] = data;
    v
}

/// An INTERACTION_CREATE for a button press on `message`.
pub fn component_interaction(
    i: &Interaction,
    m: &Member,
    custom_id: &str,
    message: Value,
    w: &World,
) -> Value {
    let mut v = interaction_base(i, m, w);
    v["type"] = json!(3);
    v["data"] = json!({"custom_id": custom_id, "component_type": 2});
    v["message"] = message;
    v
}

/// A registered command as Discord returns it: the sent fields plus id, application id,
/// version and defaults.
pub fn stored_command(sent: &Value, id: u64, guild: Option<u64>, w: &World) -> Value {
    let mut c = sent.clone();
    if let Some(o) = c.as_object_mut() {
        o.insert("id".into(), json!(id.to_string()));
        o.insert(
            "application_id".into(),
            json!(w.config.application_id.to_string()),
        );
        o.insert("version".into(), json!(id.to_string()));
        o.entry("type").or_insert(json!(1));
        o.entry("default_member_permissions").or_insert(Value::Null);
        o.entry("nsfw").or_insert(json!(false));
        if let Some(g) = guild {
            o.insert("guild_id".into(), json!(g.to_string()));
        }
    }
    c
}

/// The application object (`GET /oauth2/applications/@me`).
pub fn application(w: &World) -> Value {
    json!({
        "id": w.config.application_id.to_string(), "name": w.config.bot_name, "icon": null,
        "description": "", "bot_public": false, "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "owner": user(1, "owner", false), "team": null, "flags": 0,
        "bot": bot_user(w), "summary": ""
    })
}
