//! What the two remote providers (Bloxlink, RoVer) share: one HTTP client with a timeout, and how
//! an HTTP answer becomes an [`Answer`] or a [`ProviderError`]. Keys travel only in headers and
//! never appear in an error (reqwest's own error text, which names the URL, is not passed on).

use super::source::{Answer, ProviderError, SourceKind};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// The longest answer body the bot reads from a provider (Bloxlink's `resolved` profile with
/// groups and badges can be tens of KiB; anything near this is not an answer to a look-up).
const MAX_BODY: usize = 1024 * 1024;

/// An HTTP client for link providers: `timeout` per call, no redirects (a redirect would carry
/// the `Authorization` header somewhere else).
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| "cannot build the link providers' HTTP client".to_owned())
}

/// How the provider's answer names the Roblox id: the JSON path tried in order.
pub type IdPaths = &'static [&'static [&'static str]];

/// Sends `request` and reads the answer: 200 with an id at one of `id_paths` → linked; 404 → no
/// link; 401 / 403 → key refused; 429 → rate-limited; 5xx or no answer → down.
pub async fn lookup(
    provider: SourceKind,
    key_setting: &'static str,
    request: reqwest::RequestBuilder,
    id_paths: IdPaths,
) -> Result<Answer, ProviderError> {
    let response = request.send().await.map_err(|e| ProviderError::Down {
        provider,
        detail: transport_detail(&e).to_owned(),
    })?;
    let status = response.status();
    let retry_after_ms = retry_after_ms(response.headers());
    let body = read_body(response)
        .await
        .map_err(|detail| ProviderError::Down {
            provider,
            detail: detail.to_owned(),
        })?;
    match status {
        StatusCode::OK => {
            let json: Value =
                serde_json::from_slice(&body).map_err(|_| ProviderError::BadAnswer {
                    provider,
                    detail: "the body is not JSON".into(),
                })?;
            match roblox_id(&json, id_paths) {
                Some(roblox_id) => Ok(Answer::Linked { roblox_id }),
                None => Err(ProviderError::BadAnswer {
                    provider,
                    detail: "no Roblox user id in the answer".into(),
                }),
            }
        }
        StatusCode::NOT_FOUND => Ok(Answer::NotLinked),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(ProviderError::KeyRefused {
            provider,
            setting: key_setting,
        }),
        StatusCode::TOO_MANY_REQUESTS => Err(ProviderError::RateLimited {
            provider,
            retry_after_ms: retry_after_ms.or_else(|| body_retry_after_ms(&body)),
        }),
        s if s.is_server_error() => Err(ProviderError::Down {
            provider,
            detail: format!("HTTP {}", s.as_u16()),
        }),
        s => Err(ProviderError::BadAnswer {
            provider,
            detail: format!("unexpected HTTP {}", s.as_u16()),
        }),
    }
}

fn transport_detail(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "the answer was cut off")?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err("the answer is too large");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first positive Roblox id found at one of `paths`, written as a JSON number or as a
/// string of digits (providers differ, and their documents disagree with their SDKs).
pub fn roblox_id(json: &Value, paths: IdPaths) -> Option<u64> {
    paths.iter().find_map(|path| {
        let v = path.iter().try_fold(json, |v, key| v.get(*key))?;
        let id = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        }?;
        (id > 0).then_some(id)
    })
}

/// The wait a 429 asks for, from `Retry-After` (seconds) or, failing that, Discord-style
/// `X-RateLimit-Reset-After` (seconds, may be fractional).
pub fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    ["retry-after", "x-ratelimit-reset-after"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok().and_then(seconds_to_ms))
}

/// A `retry_after` (seconds) field in a JSON 429 body.
fn body_retry_after_ms(body: &[u8]) -> Option<u64> {
    let json: Value = serde_json::from_slice(body).ok()?;
    match json.get("retry_after")? {
        Value::Number(n) => n.as_f64().and_then(|s| seconds_to_ms(&s.to_string())),
        Value::String(s) => seconds_to_ms(s),
        _ => None,
    }
}

fn seconds_to_ms(text: &str) -> Option<u64> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| (secs * 1000.0).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PATHS: IdPaths = &[&["robloxID"], &["robloxId"], &["roblox", "id"]];

    #[test]
    fn ids_are_read_as_numbers_or_digit_strings_at_any_known_path() {
        assert_eq!(roblox_id(&json!({"robloxID": "156"}), PATHS), Some(156));
        assert_eq!(roblox_id(&json!({"robloxId": 156}), PATHS), Some(156));
        assert_eq!(roblox_id(&json!({"roblox": {"id": 7}}), PATHS), Some(7));
        assert_eq!(roblox_id(&json!({"robloxID": "15x"}), PATHS), None);
        assert_eq!(roblox_id(&json!({"robloxID": 0}), PATHS), None);
        assert_eq!(roblox_id(&json!({"robloxID": -4}), PATHS), None);
        assert_eq!(roblox_id(&json!({"other": 1}), PATHS), None);
    }

    #[test]
    fn retry_after_comes_from_either_header_or_the_body() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_ms(&h), None);
        h.insert("x-ratelimit-reset-after", "1.5".parse().unwrap());
        assert_eq!(retry_after_ms(&h), Some(1500));
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after_ms(&h), Some(3000));
        assert_eq!(body_retry_after_ms(br#"{"retry_after": 2.25}"#), Some(2250));
        assert_eq!(body_retry_after_ms(br#"{"retry_after": "nope"}"#), None);
        assert_eq!(seconds_to_ms("-1"), None);
    }
}
