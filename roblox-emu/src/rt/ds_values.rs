//! What DataStoreService accepts and answers: name, key, value, user-id and metadata checks with
//! Roblox's error codes, store errors as Roblox's messages, and entries as Luau values.

use mlua::{Lua, Value};
use opencloud::emulator::{Entry, StoreError};

use crate::json::{self, Rules};

/// What every DataStore call fails with while the server is cut off (a zombie).
pub(super) fn cutoff_error() -> String {
    "502: API Services rejected request with error. HTTP 0 (HttpError: ConnectFail)".to_owned()
}

/// A store error as the message Roblox gives.
pub(super) fn store_error(e: &StoreError) -> String {
    match e {
        StoreError::Limit(l) => {
            let text = l.to_string();
            if text.contains("too big") || text.contains("large") {
                "105: Serialized value exceeds 4MB limit.".to_owned()
            } else {
                format!("103: Value is not allowed in data store: {text}")
            }
        }
        StoreError::ExistingValueNotNumeric => {
            "IncrementAsync: the existing value is not an integer".to_owned()
        }
        StoreError::IncrementOutOfRange { .. } => {
            "IncrementAsync: the result is out of the 64-bit integer range".to_owned()
        }
        StoreError::VersionNotFound | StoreError::InvalidVersionId => {
            "Version id is not valid".to_owned()
        }
        StoreError::InvalidCursor => "The cursor is not valid".to_owned(),
        other => format!("502: API Services rejected request with error. {other}"),
    }
}

/// The fields the engine builds a `DataStoreKeyInfo` from.
fn key_info(lua: &Lua, e: &Entry) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.set("version", e.version.as_str())?;
    t.set("created", e.created_ms as f64)?;
    t.set("updated", e.updated_ms as f64)?;
    let ids = lua.create_table()?;
    for (i, id) in e.user_ids.iter().enumerate() {
        ids.raw_set(i + 1, *id as f64)?;
    }
    t.set("userIds", ids)?;
    let meta = match &e.attributes {
        Some(text) => json::decode(lua, text).unwrap_or(Value::Nil),
        None => Value::Nil,
    };
    t.set("metadata", meta)?;
    Ok(Value::Table(t))
}

/// The stored value as a Luau value.
fn entry_value(lua: &Lua, e: &Entry) -> mlua::Result<Value> {
    json::decode(lua, &e.value).map_err(mlua::Error::runtime)
}

/// The value and its key info, or two nils for an absent entry.
pub(super) fn value_and_info(lua: &Lua, e: Option<&Entry>) -> mlua::Result<Vec<Value>> {
    Ok(match e {
        Some(e) => vec![entry_value(lua, e)?, key_info(lua, e)?],
        None => vec![Value::Nil, Value::Nil],
    })
}

/// `SetOptions` user ids: an array of at most 4 non-negative integers.
pub(super) fn user_ids(v: &Value) -> Result<Vec<u64>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Table(t) => {
            let mut out = Vec::new();
            for item in t.clone().sequence_values::<Value>() {
                match item.map_err(|e| e.to_string())? {
                    Value::Number(n) if n >= 0.0 && n.fract() == 0.0 => out.push(n as u64),
                    Value::Integer(i) if i >= 0 => out.push(i as u64),
                    _ => {
                        return Err(
                            "Unable to cast to Array of user ids (non-negative integers)"
                                .to_owned(),
                        );
                    }
                }
            }
            if out.len() > 4 {
                return Err("512: UserID size exceeds limit of 4".to_owned());
            }
            Ok(out)
        }
        _ => Err("Unable to cast to Array of user ids".to_owned()),
    }
}

/// `SetOptions` metadata: a dictionary of at most 300 bytes of JSON (empty = none).
pub(super) fn metadata(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::Table(t) if t.is_empty() => Ok(None),
        Value::Table(_) => {
            let text = json::encode(v, Rules::DataStore)?;
            if !text.starts_with('{') {
                return Err("511: Metadata must be a dictionary".to_owned());
            }
            if text.len() > 300 {
                return Err("511: Metadata attribute size exceeds 300 bytes limit".to_owned());
            }
            Ok(Some(text))
        }
        _ => Err("511: Metadata must be a table".to_owned()),
    }
}

/// A value as the JSON text the store keeps (at most 4 MB).
pub(super) fn value_text(v: &Value) -> Result<String, String> {
    let text = json::encode(v, Rules::DataStore)?;
    if text.len() > 4 * 1024 * 1024 {
        return Err("105: Serialized value exceeds 4MB limit.".to_owned());
    }
    Ok(text)
}

/// What a write stores: the value's JSON text, the user ids and the metadata JSON.
pub(super) struct WriteArgs {
    /// JSON text of the value.
    pub text: String,
    /// User ids.
    pub user_ids: Vec<u64>,
    /// Metadata JSON object text, if any.
    pub metadata: Option<String>,
}

impl WriteArgs {
    /// Checks a write's value, user ids and metadata, in Roblox's order.
    pub fn check(value: &Value, ids: &Value, meta: &Value) -> Result<Self, String> {
        Ok(Self {
            text: value_text(value)?,
            user_ids: user_ids(ids)?,
            metadata: metadata(meta)?,
        })
    }

    /// A write of a value already encoded by `ds_encode` (JSON text), with its ids and metadata.
    pub fn encoded(text: String, ids: &Value, meta: &Value) -> Result<Self, String> {
        Ok(Self {
            text,
            user_ids: user_ids(ids)?,
            metadata: metadata(meta)?,
        })
    }
}

/// DataStore name (1–50 characters) and scope (1–50).
pub(super) fn check_names(name: &str, scope: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("DataStore name can't be empty".to_owned());
    }
    if name.len() > 50 {
        return Err("DataStore name exceeds the 50 character limit".to_owned());
    }
    if scope.is_empty() || scope.len() > 50 {
        return Err("DataStore scope must be 1 to 50 characters".to_owned());
    }
    Ok(())
}

/// Key name (1–50 characters).
pub(super) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("101: Key name can't be empty.".to_owned());
    }
    if key.len() > 50 {
        return Err("102: Key name exceeds the 50 character limit.".to_owned());
    }
    Ok(())
}

/// A list cursor argument (anything but a string means "from the start").
pub(super) fn cursor(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        _ => None,
    }
}

/// The next page's cursor, or nil on the last page.
pub(super) fn next_cursor(lua: &Lua, next: Option<String>) -> mlua::Result<Value> {
    match next {
        Some(cur) => Ok(Value::String(lua.create_string(&cur)?)),
        None => Ok(Value::Nil),
    }
}
