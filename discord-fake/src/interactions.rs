//! Discord's interaction rules on the REST side: the callback (types 4, 5, 6, 7) within 3 s and
//! only once, webhook followups and edits while the token lives (15 minutes), a followup right
//! after a defer editing the loading message, ephemeral answers seen only by their user.

use crate::check::Shape;
use crate::error::ApiError;
use crate::messages::{self, Body, Place};
use crate::model;
use crate::world::{EPHEMERAL, InteractionKind, LOADING, Message, World};
use serde_json::Value;

/// The initial response must come within this long of the interaction.
pub const ACK_WITHIN_MS: i64 = 3_000;
/// Interaction tokens live this long.
pub const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1_000;

/// A successful answer: status, body and the serenity type it must read as.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body (none for 204).
    pub body: Option<Value>,
    /// What serenity reads it into.
    pub shape: Shape,
}

impl Reply {
    /// 204 No Content.
    pub fn empty() -> Self {
        Self {
            status: 204,
            body: None,
            shape: Shape::Empty,
        }
    }
    /// 200 with a message.
    pub fn message(m: &Message, w: &World) -> Self {
        Self {
            status: 200,
            body: Some(model::message(m, w)),
            shape: Shape::Message,
        }
    }
}

/// The callback body's `data` as a message body (the files travel beside it).
fn data_body(body: &Body) -> Body {
    Body {
        json: body
            .json
            .get("data")
            .cloned()
            .unwrap_or(Value::Object(Default::default())),
        files: body.files.clone(),
    }
}

/// Most choices an autocomplete answer may hold.
pub const MAX_CHOICES: usize = 25;

/// An autocomplete answer's `data.choices`: at most 25, each a 1-100 character `name` and a
/// `value` (a string of at most 100 characters, or a number).
fn autocomplete_choices(body: &Body) -> Result<Vec<Value>, ApiError> {
    let choices = body
        .json
        .get("data")
        .and_then(|d| d.get("choices"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::invalid_form("data.choices is required for type 8"))?;
    if choices.len() > MAX_CHOICES {
        return Err(ApiError::invalid_form(format!(
            "data.choices: at most {MAX_CHOICES} choices"
        )));
    }
    for c in &choices {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        let value_ok = match c.get("value") {
            Some(Value::String(v)) => v.chars().count() <= 100,
            Some(Value::Number(_)) => true,
            _ => false,
        };
        if !(1..=100).contains(&name.chars().count()) || !value_ok {
            return Err(ApiError::invalid_form(
                "a choice needs a 1-100 character name and a string (≤ 100) or number value",
            ));
        }
    }
    Ok(choices)
}

/// `POST /interactions/{id}/{token}/callback`.
pub fn callback(w: &mut World, id: u64, token: &str, body: &Body) -> Result<Reply, ApiError> {
    let now = w.now_ms();
    let Some(i) = w
        .interactions
        .get(&id)
        .filter(|i| i.token == token)
        .cloned()
    else {
        return Err(ApiError::unknown_interaction());
    };
    if i.response.is_some() {
        return Err(ApiError::already_acknowledged());
    }
    if now - i.created_ms > ACK_WITHIN_MS {
        return Err(ApiError::unknown_interaction());
    }
    let kind = body.json.get("type").and_then(Value::as_u64).unwrap_or(0);
    if matches!(i.kind, InteractionKind::Autocomplete) != (kind == 8) {
        return Err(ApiError::invalid_form(
            "an autocomplete interaction is answered with type 8 only, and type 8 only answers one",
        ));
    }
    if kind == 8 {
        let choices = autocomplete_choices(body)?;
        if let Some(stored) = w.interactions.get_mut(&id) {
            stored.response = Some(8);
            stored.choices = Some(choices);
        }
        return Ok(Reply::empty());
    }
    let place = Place {
        channel_id: i.channel_id,
        guild_id: i.guild_id,
        visible_to: None,
        interaction: Some(i.id),
    };
    let original = match (kind, i.kind) {
        (4, _) => {
            let data = data_body(body);
            let mut m = messages::create(&data, place, w)?;
            if m.flags & EPHEMERAL != 0 {
                m.visible_to = Some(i.user_id);
            }
            let mid = m.id;
            w.messages.insert(mid, m);
            mid
        }
        (5, _) => {
            let data = data_body(body);
            let flags = messages::flags(&data.json)?;
            if flags & !EPHEMERAL != 0 {
                return Err(ApiError::invalid_form(
                    "a deferred response may only set the EPHEMERAL flag",
                ));
            }
            let mid = w.next_id();
            w.messages.insert(
                mid,
                Message {
                    id: mid,
                    channel_id: i.channel_id,
                    guild_id: i.guild_id,
                    content: String::new(),
                    embeds: Vec::new(),
                    components: Vec::new(),
                    attachments: Vec::new(),
                    flags: flags | LOADING,
                    visible_to: (flags & EPHEMERAL != 0).then_some(i.user_id),
                    interaction: Some(i.id),
                    loading: true,
                    allowed_mentions: serde_json::json!({"parse": ["users"]}),
                    deleted: false,
                    created_ms: now,
                    edited_ms: None,
                },
            );
            mid
        }
        (6, InteractionKind::Component { message }) => message,
        (7, InteractionKind::Component { message }) => {
            let data = data_body(body);
            let target = w
                .messages
                .get(&message)
                .cloned()
                .ok_or_else(ApiError::unknown_message)?;
            let mut edited = target;
            messages::edit(&mut edited, &data, w)?;
            w.messages.insert(message, edited);
            message
        }
        (6 | 7, InteractionKind::Command) => {
            return Err(ApiError::invalid_form(
                "callback types 6 and 7 are for component interactions",
            ));
        }
        (other, _) => {
            return Err(ApiError::invalid_form(format!(
                "callback type {other} is not supported here"
            )));
        }
    };
    if let Some(stored) = w.interactions.get_mut(&id) {
        stored.response = Some(kind as u8);
        stored.original = Some(original);
    }
    Ok(Reply::empty())
}

/// The interaction behind a webhook token, if the token is still good.
fn by_token(w: &World, app: u64, token: &str) -> Result<crate::world::Interaction, ApiError> {
    let i = w
        .interactions
        .values()
        .find(|i| i.token == token)
        .filter(|_| app == w.config.application_id)
        .cloned()
        .ok_or_else(ApiError::unknown_webhook)?;
    let age = w.now_ms() - i.created_ms;
    if age > TOKEN_LIFETIME_MS || (i.response.is_none() && age > ACK_WITHIN_MS) {
        return Err(ApiError::invalid_webhook_token());
    }
    if i.response.is_none() {
        // Not acknowledged yet: the webhook does not exist until the interaction is answered.
        return Err(ApiError::unknown_webhook());
    }
    Ok(i)
}

/// `POST /webhooks/{app}/{token}`: a followup, or the deferred answer's edit.
pub fn followup(w: &mut World, app: u64, token: &str, body: &Body) -> Result<Reply, ApiError> {
    let i = by_token(w, app, token)?;
    if let Some(orig) = i.original.filter(|_| i.response == Some(5))
        && w.messages
            .get(&orig)
            .is_some_and(|m| m.loading && !m.deleted)
    {
        // Right after a defer, a followup edits the loading message; its ephemeral state
        // stays as the defer chose.
        let mut m = w
            .messages
            .get(&orig)
            .cloned()
            .ok_or_else(ApiError::unknown_message)?;
        let mut edit = body.clone();
        if let Some(o) = edit.json.as_object_mut() {
            o.remove("flags");
        }
        messages::edit(&mut m, &edit, w)?;
        let reply = Reply::message(&m, w);
        w.messages.insert(orig, m);
        return Ok(reply);
    }
    let place = Place {
        channel_id: i.channel_id,
        guild_id: i.guild_id,
        visible_to: None,
        interaction: Some(i.id),
    };
    let mut m = messages::create(body, place, w)?;
    if m.flags & EPHEMERAL != 0 {
        m.visible_to = Some(i.user_id);
    }
    let reply = Reply::message(&m, w);
    if let Some(stored) = w.interactions.get_mut(&i.id) {
        stored.followups.push(m.id);
    }
    w.messages.insert(m.id, m);
    Ok(reply)
}

/// Which message of a token a route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `@original`.
    Original,
    /// A message id.
    Id(u64),
}

/// `GET` / `PATCH` / `DELETE /webhooks/{app}/{token}/messages/{@original|id}`.
pub fn webhook_message(
    w: &mut World,
    method: &str,
    app: u64,
    token: &str,
    target: Target,
    body: &Body,
) -> Result<Reply, ApiError> {
    let i = by_token(w, app, token)?;
    let id = match target {
        Target::Original => i.original.ok_or_else(ApiError::unknown_message)?,
        Target::Id(id) if i.original == Some(id) || i.followups.contains(&id) => id,
        Target::Id(_) => return Err(ApiError::unknown_message()),
    };
    let mut m = w
        .messages
        .get(&id)
        .filter(|m| !m.deleted)
        .cloned()
        .ok_or_else(ApiError::unknown_message)?;
    match method {
        "GET" => Ok(Reply::message(&m, w)),
        "DELETE" => {
            m.deleted = true;
            w.messages.insert(id, m);
            Ok(Reply::empty())
        }
        "PATCH" => {
            // A message's ephemeral state cannot change.
            let mut edit = body.clone();
            if let Some(o) = edit.json.as_object_mut() {
                o.remove("flags");
            }
            messages::edit(&mut m, &edit, w)?;
            let reply = Reply::message(&m, w);
            w.messages.insert(id, m);
            Ok(reply)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `POST /channels/{id}/messages`.
pub fn channel_message(w: &mut World, channel: u64, body: &Body) -> Result<Reply, ApiError> {
    let guild = w
        .guild_of_channel(channel)
        .ok_or_else(ApiError::unknown_channel)?;
    let guild_id = guild.id;
    let Some(c) = guild.channels.get(&channel).filter(|c| c.bot_can_post) else {
        return Err(ApiError::missing_permissions());
    };
    // Uploading files to a channel needs Attach Files (interaction answers do not: apps always
    // have it when responding).
    if !body.files.is_empty() && !c.bot_can_attach {
        return Err(ApiError::missing_permissions());
    }
    let place = Place {
        channel_id: channel,
        guild_id,
        visible_to: None,
        interaction: None,
    };
    let m = messages::create(body, place, w)?;
    if m.flags & EPHEMERAL != 0 {
        return Err(ApiError::invalid_form(
            "channel messages cannot be ephemeral",
        ));
    }
    let reply = Reply::message(&m, w);
    w.messages.insert(m.id, m);
    Ok(reply)
}
