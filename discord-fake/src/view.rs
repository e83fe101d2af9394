//! What a member sees: the messages of a channel visible to them (ephemeral ones only if they
//! are theirs), each with its text, embeds, buttons and files.

use crate::world::{EPHEMERAL, Message};
use serde_json::Value;

/// A button as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Its custom id (what a press sends).
    pub custom_id: String,
    /// Its label.
    pub label: String,
    /// Greyed out.
    pub disabled: bool,
}

/// A file as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Attachment id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// A message as a member sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Message id.
    pub id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Text content.
    pub content: String,
    /// Embeds (JSON objects as the bot sent them).
    pub embeds: Vec<Value>,
    /// Buttons, row by row.
    pub buttons: Vec<Button>,
    /// Files.
    pub files: Vec<File>,
    /// Only this member sees it.
    pub ephemeral: bool,
    /// Still "… is thinking" (a deferred answer not yet edited).
    pub loading: bool,
    /// The interaction it answers.
    pub interaction: Option<u64>,
    /// Which mentions in its content may notify (`allowed_mentions` as in effect).
    pub allowed_mentions: Value,
}

impl Seen {
    pub(crate) fn of(m: &Message) -> Self {
        let buttons = m
            .components
            .iter()
            .filter_map(|row| row.get("components").and_then(Value::as_array))
            .flatten()
            .map(|b| Button {
                custom_id: b
                    .get("custom_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                label: b
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                disabled: b.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect();
        Self {
            id: m.id,
            channel_id: m.channel_id,
            content: m.content.clone(),
            embeds: m.embeds.clone(),
            buttons,
            files: m
                .attachments
                .iter()
                .map(|a| File {
                    id: a.id,
                    filename: a.filename.clone(),
                    bytes: a.bytes.clone(),
                })
                .collect(),
            ephemeral: m.flags & EPHEMERAL != 0,
            loading: m.loading,
            interaction: m.interaction,
            allowed_mentions: m.allowed_mentions.clone(),
        }
    }

    /// Whether no mention in its content can notify anyone (no type parsed, no user or role
    /// listed).
    pub fn mentions_nobody(&self) -> bool {
        let empty = |k: &str| {
            self.allowed_mentions
                .get(k)
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        };
        self.allowed_mentions.get("parse").is_some()
            && empty("parse")
            && empty("users")
            && empty("roles")
    }

    /// The users its content may notify when those are the only mentions that can (no type
    /// parsed, no role listed); `None` when anything else may notify.
    pub fn mentionable_users(&self) -> Option<Vec<u64>> {
        let list = |k: &str| {
            self.allowed_mentions
                .get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        if self.allowed_mentions.get("parse").is_none()
            || !list("parse").is_empty()
            || !list("roles").is_empty()
        {
            return None;
        }
        list("users")
            .iter()
            .map(|u| match u {
                Value::String(s) => s.parse().ok(),
                Value::Number(n) => n.as_u64(),
                _ => None,
            })
            .collect()
    }

    /// Everything readable on the message in one string: content, then each embed's author,
    /// title, description, fields (`name: value`) and footer, one per line.
    pub fn text(&self) -> String {
        let mut out = vec![self.content.clone()];
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        for e in &self.embeds {
            out.extend(s(e.get("author").and_then(|a| a.get("name"))));
            out.extend(s(e.get("title")));
            out.extend(s(e.get("description")));
            for f in e
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(format!(
                    "{}: {}",
                    s(f.get("name")).unwrap_or_default(),
                    s(f.get("value")).unwrap_or_default()
                ));
            }
            out.extend(s(e.get("footer").and_then(|f| f.get("text"))));
        }
        out.retain(|l| !l.is_empty());
        out.join("\n")
    }

    /// The button with this label.
    pub fn button(&self, label: &str) -> Option<&Button> {
        self.buttons.iter().find(|b| b.label == label)
    }

    /// The file with this name.
    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.iter().find(|f| f.filename == name)
    }
}
