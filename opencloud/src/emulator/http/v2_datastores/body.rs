//! Request bodies of the entry endpoints: `value`, `users`, `attributes` and `etag`.

use axum::response::Response;
use serde_json::Value;

use super::errors::invalid;

/// The writable fields of a `DataStoreEntry` body (`value`, `users`, `attributes`, `etag`).
pub(super) struct EntryBody {
    /// `value` as JSON text.
    pub value: String,
    /// `users` as ids.
    pub user_ids: Vec<u64>,
    /// `attributes` as JSON object text, none when empty or omitted.
    pub attributes: Option<String>,
    /// `etag`, none when empty or omitted.
    pub etag: Option<String>,
}

/// `users` as `["users/123"]`; omitted = none (which clears stored ids).
pub(super) fn parse_users(body: &Value) -> Result<Vec<u64>, Response> {
    let Some(users) = body.get("users") else {
        return Ok(Vec::new());
    };
    let bad = || invalid("users must be an array of \"users/<id>\" strings.");
    let list = users.as_array().ok_or_else(bad)?;
    let ids = list
        .iter()
        .map(|u| {
            u.as_str()
                .and_then(|s| s.strip_prefix("users/"))
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<u64>, Response>>()?;
    crate::limits::check_user_ids(&ids).map_err(|e| invalid(&e.to_string()))?;
    Ok(ids)
}

/// `attributes` as a JSON object; omitted = none (which clears stored attributes).
pub(super) fn parse_attributes(body: &Value) -> Result<Option<String>, Response> {
    match body.get("attributes") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.is_empty() => Ok(None),
        Some(a @ Value::Object(_)) => {
            let text = a.to_string();
            crate::limits::check_attributes(&text).map_err(|e| invalid(&e.to_string()))?;
            Ok(Some(text))
        }
        Some(_) => Err(invalid("attributes must be a JSON object.")),
    }
}

/// The body as a JSON object.
pub(super) fn parse_json_body(raw: &[u8]) -> Result<Value, Response> {
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| invalid("The request body must be JSON."))?;
    if !body.is_object() {
        return Err(invalid("The request body must be a JSON object."));
    }
    Ok(body)
}

/// A create/update body: `value` is required.
pub(super) fn parse_entry_body(raw: &[u8]) -> Result<EntryBody, Response> {
    let body = parse_json_body(raw)?;
    let value = body
        .get("value")
        .ok_or_else(|| invalid("value is required."))?
        .to_string();
    Ok(EntryBody {
        value,
        user_ids: parse_users(&body)?,
        attributes: parse_attributes(&body)?,
        etag: match body.get("etag") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid("etag must be a string.")),
        },
    })
}
