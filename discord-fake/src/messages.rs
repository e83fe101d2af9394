//! Message bodies: reading JSON or `multipart/form-data` (`payload_json` + `files[n]`), the
//! documented limits on content, embeds and components, creating a message and editing one
//! (an `attachments` array keeps only the listed files; without it every file stays and
//! uploads are appended).

use crate::error::ApiError;
use crate::multipart;
use crate::world::{Attachment, Message, World};
use serde_json::Value;

/// A file uploaded with a request.
#[derive(Debug, Clone)]
pub struct Upload {
    /// `n` of the `files[n]` field (the attachment placeholder id).
    pub index: u64,
    /// File name.
    pub filename: String,
    /// Content type.
    pub content_type: Option<String>,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// A request body: its JSON and its files.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The JSON (the body itself, or `payload_json`).
    pub json: Value,
    /// Uploaded files.
    pub files: Vec<Upload>,
}

/// Reads a body by its content type.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Body, ApiError> {
    if let Some(boundary) = content_type.and_then(multipart::boundary) {
        let parts = multipart::parse(bytes, &boundary)
            .map_err(|e| ApiError::invalid_form(e.to_string()))?;
        let mut body = Body {
            json: Value::Object(Default::default()),
            files: Vec::new(),
        };
        for p in parts {
            if p.name == "payload_json" {
                body.json =
                    serde_json::from_slice(&p.body).map_err(|_| ApiError::invalid_json())?;
            } else if let Some(n) = p
                .name
                .strip_prefix("files[")
                .and_then(|r| r.strip_suffix(']'))
            {
                let index = n
                    .parse()
                    .map_err(|_| ApiError::invalid_form(format!("bad file field {}", p.name)))?;
                let filename = p
                    .filename
                    .ok_or_else(|| ApiError::invalid_form("a file without a filename"))?;
                body.files.push(Upload {
                    index,
                    filename,
                    content_type: p.content_type,
                    bytes: p.body,
                });
            }
        }
        return Ok(body);
    }
    if bytes.is_empty() {
        return Ok(Body::default());
    }
    let json = serde_json::from_slice(bytes).map_err(|_| ApiError::invalid_json())?;
    Ok(Body {
        json,
        files: Vec::new(),
    })
}

fn text_len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str)
        .map_or(0, |s| s.trim().chars().count())
}

/// Discord's embed limits (per field and 6,000 in total over all embeds).
fn check_embeds(embeds: &[Value]) -> Result<(), ApiError> {
    if embeds.len() > 10 {
        return Err(ApiError::invalid_form("more than 10 embeds"));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let limited = [
            ("title", e.get("title"), 256),
            ("description", e.get("description"), 4096),
            (
                "footer.text",
                e.get("footer").and_then(|f| f.get("text")),
                2048,
            ),
            (
                "author.name",
                e.get("author").and_then(|a| a.get("name")),
                256,
            ),
        ];
        for (name, v, max) in limited {
            let n = text_len(v);
            if n > max {
                return Err(ApiError::invalid_form(format!(
                    "embeds[{i}].{name} is {n} characters (at most {max})"
                )));
            }
            total += n;
        }
        let fields = e
            .get("fields")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if fields.len() > 25 {
            return Err(ApiError::invalid_form(format!(
                "embeds[{i}] has more than 25 fields"
            )));
        }
        for (j, f) in fields.iter().enumerate() {
            let (name, value) = (text_len(f.get("name")), text_len(f.get("value")));
            if name == 0 || name > 256 || value == 0 || value > 1024 {
                return Err(ApiError::invalid_form(format!(
                    "embeds[{i}].fields[{j}]: name 1-256 and value 1-1024 characters"
                )));
            }
            total += name + value;
        }
    }
    if total > 6000 {
        return Err(ApiError::invalid_form(format!(
            "embeds hold {total} characters (at most 6000)"
        )));
    }
    Ok(())
}

/// Action rows of buttons: at most 5 rows of at most 5 buttons, `custom_id` 1-100 characters,
/// labels at most 80.
fn check_components(rows: &[Value]) -> Result<(), ApiError> {
    if rows.len() > 5 {
        return Err(ApiError::invalid_form("more than 5 action rows"));
    }
    for (i, row) in rows.iter().enumerate() {
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            return Err(ApiError::invalid_form(format!(
                "components[{i}] is not an action row"
            )));
        }
        let items = row
            .get("components")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if items.is_empty() || items.len() > 5 {
            return Err(ApiError::invalid_form(format!(
                "components[{i}] holds 1-5 buttons"
            )));
        }
        for b in items {
            let style = b.get("style").and_then(Value::as_u64).unwrap_or(0);
            let id = b.get("custom_id").and_then(Value::as_str).unwrap_or("");
            if style != 5 && (id.is_empty() || id.chars().count() > 100) {
                return Err(ApiError::invalid_form("custom_id must be 1-100 characters"));
            }
            if text_len(b.get("label")) > 80 {
                return Err(ApiError::invalid_form("a button label over 80 characters"));
            }
        }
    }
    Ok(())
}

fn array(v: &Value, key: &str) -> Result<Option<Vec<Value>>, ApiError> {
    match v.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Vec::new())),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(_) => Err(ApiError::invalid_form(format!("{key} must be an array"))),
    }
}

fn content(v: &Value) -> Result<Option<String>, ApiError> {
    match v.get("content") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) if s.chars().count() <= 2000 => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_form(
            "content must be a string of at most 2000 characters",
        )),
    }
}

fn id_of(v: &Value) -> Option<u64> {
    match v.get("id")? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn new_attachment(u: &Upload, w: &World) -> Attachment {
    Attachment {
        id: w.next_id(),
        filename: u.filename.clone(),
        bytes: u.bytes.clone(),
        content_type: u.content_type.clone(),
    }
}

/// Message flags a bot may set: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS,
/// IS_VOICE_MESSAGE, IS_COMPONENTS_V2.
const SETTABLE_FLAGS: u64 = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 13) | (1 << 15);

/// The flags a body asks for.
pub fn flags(v: &Value) -> Result<u64, ApiError> {
    let f = v.get("flags").and_then(Value::as_u64).unwrap_or(0);
    if f & !SETTABLE_FLAGS != 0 {
        return Err(ApiError::invalid_form(format!("flags {f} cannot be set")));
    }
    Ok(f)
}

/// Where and for whom a new message goes.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// Channel.
    pub channel_id: u64,
    /// Guild.
    pub guild_id: u64,
    /// Only this user sees it.
    pub visible_to: Option<u64>,
    /// The interaction it answers.
    pub interaction: Option<u64>,
}

/// A new message from a body (checked against the limits).
pub fn create(body: &Body, place: Place, w: &World) -> Result<Message, ApiError> {
    let embeds = array(&body.json, "embeds")?.unwrap_or_default();
    let components = array(&body.json, "components")?.unwrap_or_default();
    let text = content(&body.json)?.unwrap_or_default();
    check_embeds(&embeds)?;
    check_components(&components)?;
    if text.is_empty() && embeds.is_empty() && body.files.is_empty() && components.is_empty() {
        return Err(ApiError::empty_message());
    }
    let now = w.now_ms();
    // Discord's defaults when a body has none: users only for interaction answers and webhooks,
    // every kind for channel messages.
    let default = if place.interaction.is_some() {
        serde_json::json!({"parse": ["users"]})
    } else {
        serde_json::json!({"parse": ["users", "roles", "everyone"]})
    };
    Ok(Message {
        allowed_mentions: body
            .json
            .get("allowed_mentions")
            .cloned()
            .unwrap_or(default),
        id: w.next_id(),
        channel_id: place.channel_id,
        guild_id: place.guild_id,
        content: text,
        embeds,
        components,
        attachments: body.files.iter().map(|u| new_attachment(u, w)).collect(),
        flags: flags(&body.json)?,
        visible_to: place.visible_to,
        interaction: place.interaction,
        loading: false,
        deleted: false,
        created_ms: now,
        edited_ms: None,
    })
}

/// Applies an edit: only the fields present change. With `attachments`, the message keeps
/// exactly the listed files (existing ones by id, new uploads by their `files[n]` index);
/// without it, every file stays and uploads are appended.
pub fn edit(msg: &mut Message, body: &Body, w: &World) -> Result<(), ApiError> {
    let embeds = array(&body.json, "embeds")?;
    let components = array(&body.json, "components")?;
    let text = content(&body.json)?;
    if let Some(e) = &embeds {
        check_embeds(e)?;
    }
    if let Some(c) = &components {
        check_components(c)?;
    }
    let attachments = match body.json.get("attachments") {
        None => {
            let mut kept = msg.attachments.clone();
            kept.extend(body.files.iter().map(|u| new_attachment(u, w)));
            kept
        }
        Some(list) => {
            let list = list
                .as_array()
                .ok_or_else(|| ApiError::invalid_form("attachments must be an array"))?;
            let mut kept = Vec::new();
            for (i, a) in list.iter().enumerate() {
                let id = id_of(a)
                    .ok_or_else(|| ApiError::invalid_form(format!("attachments[{i}] has no id")))?;
                if let Some(old) = msg.attachments.iter().find(|o| o.id == id) {
                    kept.push(old.clone());
                } else if let Some(u) = body.files.iter().find(|u| u.index == id) {
                    kept.push(new_attachment(u, w));
                } else {
                    return Err(ApiError::invalid_form(format!(
                        "attachments[{i}]: no such attachment or upload"
                    )));
                }
            }
            kept
        }
    };
    // Build the edited message aside: a refused edit changes nothing.
    let mut next = msg.clone();
    if let Some(t) = text {
        next.content = t;
    }
    if let Some(e) = embeds {
        next.embeds = e;
    }
    if let Some(c) = components {
        next.components = c;
    }
    next.attachments = attachments;
    if let Some(a) = body.json.get("allowed_mentions") {
        next.allowed_mentions = a.clone();
    }
    if next.content.is_empty()
        && next.embeds.is_empty()
        && next.attachments.is_empty()
        && next.components.is_empty()
    {
        return Err(ApiError::empty_message());
    }
    *msg = next;
    msg.loading = false;
    msg.flags &= !crate::world::LOADING;
    msg.edited_ms = Some(w.now_ms());
    Ok(())
}
