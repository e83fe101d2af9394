//! Data stores v2 get entry (`/cloud/v2/universes/{u}/data-stores/{ds}[/scopes/{s}]/entries/{id}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::{Shape, v2};
use super::{Needs, either, gate};
use crate::emulator::auth::scopes;
use crate::emulator::budget::BudgetClass;
use crate::emulator::faults::Operation;
use crate::emulator::server::Emulator;
use crate::emulator::store::{DEFAULT_SCOPE, Entry, EntryKey};
use crate::timefmt;

/// Which revision an entry id asks for.
#[derive(Debug, PartialEq, Eq)]
enum Revision {
    Latest,
    LatestAt(i64),
    Id(String),
}

/// Splits `key@suffix`: the text after the last `@` is the revision (`latest`, `latest:<time>`, or
/// an id); without `@` the latest revision is meant.
fn parse_entry_id(raw: &str) -> Result<(String, Revision), String> {
    let Some((key, rev)) = raw.rsplit_once('@') else {
        return Ok((raw.to_owned(), Revision::Latest));
    };
    let revision = if rev == "latest" {
        Revision::Latest
    } else if let Some(time) = rev.strip_prefix("latest:") {
        Revision::LatestAt(timefmt::parse(time).map_err(|e| e.to_string())?)
    } else if crate::emulator::version::is_well_formed(rev) {
        Revision::Id(rev.to_owned())
    } else {
        return Err(format!("Invalid revision id '{rev}'."));
    };
    Ok((key.to_owned(), revision))
}

fn entry_json(key: &EntryKey, entry: &Entry, with_revision: bool) -> serde_json::Value {
    let value: serde_json::Value =
        serde_json::from_str(&entry.value).unwrap_or(serde_json::Value::Null);
    let attributes: serde_json::Value = entry
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_else(|| json!({}));
    let scope_part = if key.scope == DEFAULT_SCOPE {
        String::new()
    } else {
        format!("/scopes/{}", key.scope)
    };
    let id = if with_revision {
        format!("{}@{}", key.key, entry.version)
    } else {
        key.key.clone()
    };
    json!({
        "path": format!("universes/{}/data-stores/{}{}/entries/{}", key.universe_id, key.datastore, scope_part, id),
        "createTime": timefmt::format_rfc3339(entry.created_ms),
        "revisionId": entry.version,
        "revisionCreateTime": timefmt::format_rfc3339(entry.updated_ms),
        "state": if entry.deleted { "DELETED" } else { "ACTIVE" },
        "etag": entry.version,
        "value": value,
        "id": id,
        "users": entry.user_ids.iter().map(|u| format!("users/{u}")).collect::<Vec<_>>(),
        "attributes": attributes,
    })
}

async fn serve(
    emu: Arc<Emulator>,
    headers: HeaderMap,
    universe: String,
    datastore: String,
    scope: String,
    raw_id: String,
) -> Response {
    let u = universe.parse().ok();
    let gate = match gate(
        &emu,
        &headers,
        Needs {
            op: Operation::V2GetEntry,
            shape: Shape::V2,
            universe_id: u,
            scopes: &[scopes::OBJECTS_READ],
            budget: Some(BudgetClass::Read),
            auth: true,
        },
    )
    .await
    {
        Ok(g) => g,
        Err(r) => return r,
    };
    let result = (|| {
        let u = u.ok_or_else(|| v2(400, "INVALID_ARGUMENT", "Invalid universe id."))?;
        let (key_name, revision) =
            parse_entry_id(&raw_id).map_err(|m| v2(400, "INVALID_ARGUMENT", &m))?;
        let key = EntryKey::scoped(u, datastore, scope, key_name);
        key.validate()
            .map_err(|e| v2(400, "INVALID_ARGUMENT", &e.to_string()))?;
        let not_found = || v2(404, "NOT_FOUND", "The entry was not found.");
        let (entry, with_revision) = match revision {
            Revision::Latest => (emu.store.get(&key).ok_or_else(not_found)?, false),
            Revision::LatestAt(at) => {
                let e = emu
                    .store
                    .get_at(&key, at)
                    .filter(|e| !e.deleted)
                    .ok_or_else(not_found)?;
                (e, true)
            }
            Revision::Id(id) => {
                let e = emu.store.get_version(&key, &id).map_err(|_| not_found())?;
                if e.deleted {
                    return Err(not_found());
                }
                (e, true)
            }
        };
        Ok(Json(entry_json(&key, &entry, with_revision)).into_response())
    })();
    gate.finish(either(result)).await
}

/// `GET /cloud/v2/universes/{u}/data-stores/{ds}/entries/{id}` (scope `global`).
pub(crate) async fn get_entry(
    State(emu): State<Arc<Emulator>>,
    Path((universe, datastore, entry)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(
        emu,
        headers,
        universe,
        datastore,
        DEFAULT_SCOPE.to_owned(),
        entry,
    )
    .await
}

/// `GET /cloud/v2/universes/{u}/data-stores/{ds}/scopes/{scope}/entries/{id}`.
pub(crate) async fn get_scoped_entry(
    State(emu): State<Arc<Emulator>>,
    Path((universe, datastore, scope, entry)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    serve(emu, headers, universe, datastore, scope, entry).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_id_suffixes() {
        assert_eq!(
            parse_entry_id("wallet_1"),
            Ok(("wallet_1".into(), Revision::Latest))
        );
        assert_eq!(
            parse_entry_id("a@b@latest"),
            Ok(("a@b".into(), Revision::Latest))
        );
        assert_eq!(
            parse_entry_id("k@latest:1970-01-01T00:00:01Z"),
            Ok(("k".into(), Revision::LatestAt(1000)))
        );
        let id = "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01";
        assert_eq!(
            parse_entry_id(&format!("k@{id}")),
            Ok(("k".into(), Revision::Id(id.into())))
        );
        assert!(
            parse_entry_id("user@example").is_err(),
            "a key with @ needs @latest"
        );
    }
}
