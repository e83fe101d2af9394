//! Paging of the list endpoints: page sizes, page tokens bound to their query, and the `filter`
//! expressions Roblox documents.

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::errors::invalid;
use crate::emulator::http::query::Query;
use crate::timefmt;

/// List entries: default and largest page (Roblox: default 10, max 256).
pub(super) const LIST_PAGE: (usize, usize) = (10, 256);
/// List revisions: default and largest page (Roblox: default 10, max 100).
pub(super) const REVISIONS_PAGE: (usize, usize) = (10, 100);

/// A page token that remembers the query it belongs to: reusing it with other parameters is a
/// 400, as Roblox documents.
pub(super) fn encode_token(fingerprint: &str, cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!([fingerprint, cursor]).to_string())
}

/// The cursor inside a page token, or 400 when the token is not ours or belongs to another query.
pub(super) fn decode_token(token: &str, fingerprint: &str) -> Result<String, Response> {
    let bad = || invalid("Invalid page token.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let (sent, cursor): (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if sent != fingerprint {
        return Err(invalid(
            "The page token was issued for a request with other parameters.",
        ));
    }
    Ok(cursor)
}

/// `maxPageSize`: absent or 0 is the default, larger than the maximum is clamped.
pub(super) fn page_size(q: &Query, (default, max): (usize, usize)) -> Result<usize, Response> {
    match q.get("maxPageSize") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) => Ok(default),
            Ok(n) => Ok(n.min(max)),
            Err(_) => Err(invalid("maxPageSize must be a non-negative integer.")),
        },
    }
}

/// `id.startsWith("prefix")` (the only list filter Roblox documents); none = every id.
pub(super) fn parse_id_filter(filter: Option<&str>) -> Result<String, Response> {
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(String::new());
    };
    let bad = || invalid("filter must have the form id.startsWith(\"prefix\").");
    let inner = filter
        .strip_prefix("id.startsWith(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    match serde_json::from_str::<Value>(inner.trim()).map_err(|_| bad())? {
        Value::String(prefix) => Ok(prefix),
        _ => Err(bad()),
    }
}

/// `revision_create_time >= T && revision_create_time <= T` (either side, `>`/`<` too).
pub(super) fn parse_time_filter(
    filter: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), Response> {
    let mut bounds = (None, None);
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(bounds);
    };
    let bad = || {
        invalid(
            "filter must compare revision_create_time with >=, >, <= or < and an RFC 3339 time.",
        )
    };
    for clause in filter.split("&&") {
        let rest = clause
            .trim()
            .strip_prefix("revision_create_time")
            .ok_or_else(bad)?
            .trim_start();
        let (op, time) = [">=", "<=", ">", "<"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|t| (*op, t.trim())))
            .ok_or_else(bad)?;
        let at = timefmt::parse(time.trim_matches('"')).map_err(|_| bad())?;
        match op {
            ">=" => bounds.0 = Some(at),
            ">" => bounds.0 = Some(at.saturating_add(1)),
            "<=" => bounds.1 = Some(at),
            _ => bounds.1 = Some(at.saturating_sub(1)),
        }
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_or_refuse() {
        assert_eq!(parse_id_filter(None).ok(), Some(String::new()));
        assert_eq!(
            parse_id_filter(Some(r#"id.startsWith("wallet_")"#)).ok(),
            Some("wallet_".into())
        );
        assert!(parse_id_filter(Some("id == 3")).is_err());
        assert!(parse_id_filter(Some("id.startsWith(3)")).is_err());
        assert_eq!(
            parse_time_filter(Some(
                "revision_create_time >= 1970-01-01T00:00:01Z && revision_create_time < 1970-01-01T00:00:02Z"
            ))
            .ok(),
            Some((Some(1000), Some(1999)))
        );
        assert!(parse_time_filter(Some("create_time >= 1970-01-01T00:00:01Z")).is_err());
        assert!(parse_time_filter(Some("revision_create_time >= yesterday")).is_err());
    }

    #[test]
    fn page_tokens_are_bound_to_their_query() {
        let token = encode_token("global|w|false", "cursor");
        assert_eq!(
            decode_token(&token, "global|w|false").ok(),
            Some("cursor".into())
        );
        assert!(decode_token(&token, "global|x|false").is_err());
        assert!(decode_token("!!", "global|w|false").is_err());
    }
}
