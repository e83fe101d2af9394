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

/// `amount` of an `:increment` body as an integer. The schema types it `number` (`double`) and
/// Roblox's v2 follows the proto3 JSON mapping, where `1.0` and `1e3` are valid spellings of
/// whole numbers, so any integral number within `i64` is accepted; fractions are refused because
/// "the increment amount must be [an integer]".
pub(super) fn parse_amount(body: &Value) -> Result<i64, Response> {
    let amount = body
        .get("amount")
        .ok_or_else(|| invalid("amount is required."))?;
    integral(amount).ok_or_else(|| invalid("amount must be a whole number within 64-bit range."))
}

/// A JSON number as an `i64` when it is a whole number in range, however it is written.
fn integral(value: &Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    // Floats (and integers beyond i64) arrive as f64: exact below 2^53, and any f64 at or above
    // 2^53 in magnitude is whole, so only the range decides.
    let f = value.as_f64()?;
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() != 0.0 || !(-TWO_POW_63..TWO_POW_63).contains(&f) {
        return None;
    }
    // Whole and in range (checked above), so the cast is exact.
    Some(f as i64)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_whole_numbers_however_written() {
        let amount = |text: &str| integral(&serde_json::from_str(text).unwrap());
        assert_eq!(amount("1"), Some(1));
        assert_eq!(amount("1.0"), Some(1));
        assert_eq!(amount("-2.000"), Some(-2));
        assert_eq!(amount("1e3"), Some(1000));
        assert_eq!(amount("2.5E1"), Some(25));
        assert_eq!(amount("9223372036854775807"), Some(i64::MAX));
        assert_eq!(amount("-9223372036854775808.0"), Some(i64::MIN));
        assert_eq!(amount("1.5"), None);
        assert_eq!(amount("1e-1"), None);
        assert_eq!(amount("9223372036854775808"), None);
        assert_eq!(amount("9.3e18"), None);
        assert_eq!(amount("\"1\""), None);
        assert_eq!(amount("null"), None);
        assert!(parse_amount(&json!({})).is_err());
    }
}
