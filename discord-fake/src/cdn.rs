//! Discord's CDN for the files members attach: an attachment object's `url` points here
//! (`/attachments/{channel}/{attachment}/{filename}` on the fake's own server), so a bot's plain
//! HTTP download (serenity's `Attachment::download`) fetches the bytes a test supplied. Requests
//! are recorded like REST calls, so a test can tell whether a file was ever fetched.

use crate::Shared;
use crate::world::RequestRecord;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The bytes and content type at one attachment URL, if there is a file there.
fn find(
    w: &crate::world::World,
    channel: u64,
    id: u64,
    filename: &str,
) -> Option<(Vec<u8>, Option<String>)> {
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

/// `GET /attachments/{channel}/{id}/{filename}`: the file, or 404 (a URL naming no file, as the
/// CDN answers for content that is gone).
pub async fn serve(
    State(shared): State<Arc<Shared>>,
    Path((channel, id, filename)): Path<(String, String, String)>,
) -> Response {
    let found = {
        let mut w = shared.world.lock();
        let found = match (channel.parse::<u64>(), id.parse::<u64>()) {
            (Ok(c), Ok(i)) => find(&w, c, i, &filename),
            _ => None,
        };
        w.requests.push(RequestRecord {
            method: "GET".into(),
            route: format!("/attachments/{channel}/{id}/{filename}"),
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
