//! Discord's CDN for the files members attach: an attachment object's `url` points here
//! (`/attachments/{channel}/{attachment}/{filename}` on the fake's own server), so a bot's plain
//! HTTP download fetches the bytes a test supplied. Requests are recorded like REST calls
//! (without the query), so a test can tell whether a file was ever fetched.
//!
//! URLs are signed as Discord's are (API Reference, "Signed Attachment CDN URLs"): `ex` is when
//! the URL expires and `is` when it was issued (hex Unix seconds, on the fake's clock), `hm` a
//! signature over the path and both times. Only a URL whose signature verifies and that has not
//! expired is served; a URL is handed out fresh every time a payload carries it, as Discord
//! refreshes them. What the CDN answers for an expired or altered URL is undocumented: the fake
//! answers as for a missing file, 404 "This content is no longer available.".

use crate::Shared;
use crate::world::{RequestRecord, World};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

/// How long a URL is valid after it is handed out: 24 hours. Discord does not document it (its
/// example URL spans 14 days from `is` to `ex`); a day is what bots observe for attachment URLs.
pub const URL_LIFETIME_S: i64 = 24 * 60 * 60;

/// The signature of one URL: HMAC-SHA256 under a key of this fake (the bot never knows it), over
/// the path and the two hex times as they appear in the URL.
fn signature(w: &World, path: &str, ex: &str, is: &str) -> Hmac<Sha256> {
    // Any key works for a fake; one per fake (its address) keeps fakes apart.
    let mut mac = Hmac::<Sha256>::new_from_slice(format!("cdn-key:{}", w.cdn_base).as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{path}\n{ex}\n{is}").as_bytes());
    mac
}

/// The signed URL of a file, issued now.
pub fn signed_url(w: &World, channel: u64, id: u64, filename: &str) -> String {
    let issued = w.now_ms().div_euclid(1000);
    let is = format!("{issued:x}");
    let ex = format!("{:x}", issued + w.url_lifetime_s);
    let path = format!("/attachments/{channel}/{id}/{filename}");
    let hm = hex::encode(signature(w, &path, &ex, &is).finalize().into_bytes());
    format!("{}{path}?ex={ex}&is={is}&hm={hm}&", w.cdn_base)
}

/// Why a URL is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `ex`, `is` or `hm` is missing or not hex.
    Unsigned,
    /// `hm` does not match the path and times.
    BadSignature,
    /// Now is at or past `ex`.
    Expired,
}

/// Checks a URL's query against its path, at the fake's now.
pub fn verify(w: &World, path: &str, query: &HashMap<String, String>) -> Result<(), Refused> {
    let (Some(ex), Some(is), Some(hm)) = (query.get("ex"), query.get("is"), query.get("hm")) else {
        return Err(Refused::Unsigned);
    };
    let expires = i64::from_str_radix(ex, 16).map_err(|_| Refused::Unsigned)?;
    i64::from_str_radix(is, 16).map_err(|_| Refused::Unsigned)?;
    let hm = hex::decode(hm).map_err(|_| Refused::Unsigned)?;
    signature(w, path, ex, is)
        .verify_slice(&hm)
        .map_err(|_| Refused::BadSignature)?;
    if w.now_ms().div_euclid(1000) >= expires {
        return Err(Refused::Expired);
    }
    Ok(())
}

/// The bytes and content type at one attachment URL, if there is a file there.
fn find(w: &World, channel: u64, id: u64, filename: &str) -> Option<(Vec<u8>, Option<String>)> {
    if let Some(u) = w
        .uploads
        .get(&id)
        .filter(|u| u.channel_id == channel && u.filename == filename)
    {
        return Some((u.bytes.clone(), u.content_type.clone()));
    }
    w.messages
        .values()
        .filter(|m| m.channel_id == channel && !m.deleted)
        .flat_map(|m| m.attachments.iter())
        .find(|a| a.id == id && a.filename == filename)
        .map(|a| (a.bytes.clone(), a.content_type.clone()))
}

/// `GET /attachments/{channel}/{id}/{filename}?ex=&is=&hm=`: the file, or 404 for a URL naming
/// no file, an unsigned, altered or expired one (as the CDN answers for content that is gone).
pub async fn serve(
    State(shared): State<Arc<Shared>>,
    Path((channel, id, filename)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let found = {
        let mut w = shared.world.lock();
        let path = format!("/attachments/{channel}/{id}/{filename}");
        let found = match (channel.parse::<u64>(), id.parse::<u64>()) {
            (Ok(c), Ok(i)) if verify(&w, &path, &query).is_ok() => find(&w, c, i, &filename),
            _ => None,
        };
        w.requests.push(RequestRecord {
            method: "GET".into(),
            route: path,
            status: if found.is_some() { 200 } else { 404 },
        });
        found
    };
    shared.changed();
    let Some((bytes, content_type)) = found else {
        return (
            StatusCode::NOT_FOUND,
            "This content is no longer available.",
        )
            .into_response();
    };
    let mut response = bytes.into_response();
    let kind = content_type.unwrap_or_else(|| "application/octet-stream".to_owned());
    if let Ok(v) = HeaderValue::from_str(&kind) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}
