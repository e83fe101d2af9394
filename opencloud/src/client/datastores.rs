//! Standard data stores: v1 get/set/increment/delete/list keys/list versions/get version, v2 get.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use super::OpenCloud;
use super::error::Error;
use super::limiter::OpClass;
use super::transport::{Call, Idempotency, Reply};
use super::types::{
    DataStoreEntry, EntryPath, EntryV2, EntryVersion, KeysPage, ListKeys, ListVersions, SetOptions,
    VersionsPage,
};
use crate::limits::{self, NameKind};
use crate::timefmt;

const V1: [&str; 3] = ["datastores", "v1", "universes"];

fn check_path(path: &EntryPath) -> Result<(), Error> {
    limits::check_name(NameKind::DataStore, &path.datastore)?;
    limits::check_name(NameKind::Scope, &path.scope)?;
    limits::check_name(NameKind::EntryKey, &path.key)?;
    Ok(())
}

fn entry_query(path: &EntryPath) -> Vec<(&'static str, String)> {
    vec![
        ("datastoreName", path.datastore.clone()),
        ("entryKey", path.key.clone()),
        ("scope", path.scope.clone()),
    ]
}

/// Reads the value and `roblox-entry-*` headers of a v1 entry response.
fn entry_from_reply(reply: &Reply) -> Result<DataStoreEntry, Error> {
    let version = reply
        .header("roblox-entry-version")
        .ok_or_else(|| Error::Decode("missing roblox-entry-version header".into()))?
        .to_owned();
    let user_ids = match reply.header("roblox-entry-userids") {
        None => Vec::new(),
        Some(text) => serde_json::from_str(text)
            .map_err(|_| Error::Decode("roblox-entry-userids is not a JSON array of ids".into()))?,
    };
    let value = String::from_utf8(reply.body.to_vec())
        .map_err(|_| Error::Decode("entry value is not UTF-8".into()))?;
    if let Some(sent) = reply.header("content-md5") {
        if sent != STANDARD.encode(Md5::digest(value.as_bytes())) {
            return Err(Error::Decode("content-md5 does not match the value".into()));
        }
    }
    Ok(DataStoreEntry {
        value,
        version,
        created_ms: reply
            .header("roblox-entry-created-time")
            .and_then(|t| timefmt::parse(t).ok()),
        version_created_ms: reply
            .header("roblox-entry-version-created-time")
            .and_then(|t| timefmt::parse(t).ok()),
        attributes: reply.header("roblox-entry-attributes").map(str::to_owned),
        user_ids,
    })
}

/// 412: the current entry, when the body and headers carry one (Roblox's emulator does when the
/// entry exists; Roblox does not document the body, so `None` means "unknown").
fn precondition_failed(reply: &Reply) -> Error {
    let current = reply
        .header("roblox-entry-version")
        .and_then(|_| entry_from_reply(reply).ok())
        .map(Box::new);
    Error::PreconditionFailed { current }
}

fn decode<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| Error::Decode(e.to_string()))
}

/// Treats an empty `nextPageCursor` as the last page.
fn normalise_cursor(cursor: Option<String>) -> Option<String> {
    cursor.filter(|c| !c.is_empty())
}

impl OpenCloud {
    fn v1_url(&self, universe_id: u64, suffix: &[&str], query: &[(&str, String)]) -> url::Url {
        let universe = universe_id.to_string();
        let mut segments: Vec<&str> = V1.to_vec();
        segments.push(&universe);
        segments.push("standard-datastores");
        segments.extend_from_slice(suffix);
        self.url(&segments, query)
    }

    async fn simple_get(
        &self,
        op: &'static str,
        universe_id: u64,
        url: url::Url,
    ) -> Result<Reply, Error> {
        let key = self.inner.config.api_key.expose();
        self.execute(Call {
            op,
            universe_id,
            class: OpClass::Read,
            idempotency: Idempotency::Safe,
            build: |http: &reqwest::Client| http.get(url.clone()).header("x-api-key", key),
        })
        .await
    }

    /// v1 get entry; `None` if the key does not exist or is deleted.
    pub async fn get_entry(&self, path: &EntryPath) -> Result<Option<DataStoreEntry>, Error> {
        check_path(path)?;
        let url = self.v1_url(
            path.universe_id,
            &["datastore", "entries", "entry"],
            &entry_query(path),
        );
        let reply = self.simple_get("get_entry", path.universe_id, url).await?;
        match reply.status {
            200 => entry_from_reply(&reply).map(Some),
            // 204 is what one line of Roblox's spec says a deleted key returns.
            204 | 404 => Ok(None),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 set entry. Sends `content-md5` always and the attributes / user ids of `options`
    /// (Roblox clears them when omitted: use [`SetOptions::replacing`] for read-modify-write).
    /// A failed `matchVersion` / `exclusiveCreate` is [`Error::PreconditionFailed`] with the current
    /// entry. Without either condition the call is not safe to repeat, so a lost response is
    /// [`Error::OutcomeUnknown`]; with one, it is retried, and a 412 after a retry may mean the
    /// earlier attempt was applied: compare the current entry before deciding.
    pub async fn set_entry(
        &self,
        path: &EntryPath,
        value: &str,
        options: &SetOptions,
    ) -> Result<EntryVersion, Error> {
        check_path(path)?;
        limits::check_value(value)?;
        if let Some(attributes) = &options.attributes {
            limits::check_attributes(attributes)?;
        }
        limits::check_user_ids(&options.user_ids)?;
        if options.exclusive_create && options.match_version.is_some() {
            return Err(Error::InvalidArgument(
                "matchVersion and exclusiveCreate cannot both be set",
            ));
        }
        let mut query = entry_query(path);
        if let Some(version) = &options.match_version {
            query.push(("matchVersion", version.clone()));
        }
        if options.exclusive_create {
            query.push(("exclusiveCreate", "true".into()));
        }
        let url = self.v1_url(path.universe_id, &["datastore", "entries", "entry"], &query);
        let md5 = STANDARD.encode(Md5::digest(value.as_bytes()));
        let user_ids = serde_json::to_string(&options.user_ids).unwrap_or_else(|_| "[]".into());
        let key = self.inner.config.api_key.expose();
        let conditional = options.match_version.is_some() || options.exclusive_create;
        let body = value.to_owned();
        let reply = self
            .execute(Call {
                op: "set_entry",
                universe_id: path.universe_id,
                class: OpClass::Write,
                idempotency: if conditional {
                    Idempotency::Safe
                } else {
                    Idempotency::Unsafe
                },
                build: |http: &reqwest::Client| {
                    let mut request = http
                        .post(url.clone())
                        .header("x-api-key", key)
                        .header("content-type", "application/json")
                        .header("content-md5", &md5)
                        .header("roblox-entry-userids", &user_ids)
                        .body(body.clone());
                    if let Some(attributes) = &options.attributes {
                        request = request.header("roblox-entry-attributes", attributes);
                    }
                    request
                },
            })
            .await?;
        match reply.status {
            200 => decode(&reply),
            412 => Err(precondition_failed(&reply)),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 increment (creates the key with `by` if absent). Never retried after a possible send:
    /// a lost response is [`Error::OutcomeUnknown`]. Attributes and user ids replace the stored ones.
    pub async fn increment_entry(
        &self,
        path: &EntryPath,
        by: i64,
        attributes: Option<&str>,
        user_ids: &[u64],
    ) -> Result<DataStoreEntry, Error> {
        check_path(path)?;
        if let Some(attributes) = attributes {
            limits::check_attributes(attributes)?;
        }
        limits::check_user_ids(user_ids)?;
        let mut query = entry_query(path);
        query.push(("incrementBy", by.to_string()));
        let url = self.v1_url(
            path.universe_id,
            &["datastore", "entries", "entry", "increment"],
            &query,
        );
        let ids = serde_json::to_string(user_ids).unwrap_or_else(|_| "[]".into());
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op: "increment_entry",
                universe_id: path.universe_id,
                class: OpClass::Write,
                idempotency: Idempotency::Unsafe,
                build: |http: &reqwest::Client| {
                    let mut request = http
                        .post(url.clone())
                        .header("x-api-key", key)
                        .header("content-length", "0")
                        .header("roblox-entry-userids", &ids);
                    if let Some(attributes) = attributes {
                        request = request.header("roblox-entry-attributes", attributes);
                    }
                    request
                },
            })
            .await?;
        match reply.status {
            200 => entry_from_reply(&reply),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 delete (writes a tombstone). `Ok(false)` if there was nothing to delete — which after a
    /// retried attempt can also mean the first attempt did it.
    pub async fn delete_entry(&self, path: &EntryPath) -> Result<bool, Error> {
        check_path(path)?;
        let url = self.v1_url(
            path.universe_id,
            &["datastore", "entries", "entry"],
            &entry_query(path),
        );
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op: "delete_entry",
                universe_id: path.universe_id,
                class: OpClass::Write,
                idempotency: Idempotency::Safe,
                build: |http: &reqwest::Client| http.delete(url.clone()).header("x-api-key", key),
            })
            .await?;
        match reply.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 list keys of a data store.
    pub async fn list_keys(
        &self,
        universe_id: u64,
        datastore: &str,
        query: &ListKeys,
    ) -> Result<KeysPage, Error> {
        limits::check_name(NameKind::DataStore, datastore)?;
        let mut q = vec![("datastoreName", datastore.to_owned())];
        match &query.scope {
            Some(scope) => q.push(("scope", scope.clone())),
            None => q.push(("allScopes", "true".into())),
        }
        if let Some(prefix) = &query.prefix {
            q.push(("prefix", prefix.clone()));
        }
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &query.cursor {
            q.push(("cursor", cursor.clone()));
        }
        let url = self.v1_url(universe_id, &["datastore", "entries"], &q);
        let reply = self.simple_get("list_keys", universe_id, url).await?;
        match reply.status {
            200 => {
                let mut page: KeysPage = decode(&reply)?;
                page.next_page_cursor = normalise_cursor(page.next_page_cursor);
                Ok(page)
            }
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 list versions of an entry.
    pub async fn list_versions(
        &self,
        path: &EntryPath,
        query: &ListVersions,
    ) -> Result<VersionsPage, Error> {
        check_path(path)?;
        let mut q = entry_query(path);
        if let Some(start) = query.start_ms {
            q.push(("startTime", timefmt::format_rfc3339(start)));
        }
        if let Some(end) = query.end_ms {
            q.push(("endTime", timefmt::format_rfc3339(end)));
        }
        q.push((
            "sortOrder",
            if query.descending {
                "Descending"
            } else {
                "Ascending"
            }
            .into(),
        ));
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &query.cursor {
            q.push(("cursor", cursor.clone()));
        }
        let url = self.v1_url(
            path.universe_id,
            &["datastore", "entries", "entry", "versions"],
            &q,
        );
        let reply = self
            .simple_get("list_versions", path.universe_id, url)
            .await?;
        match reply.status {
            200 => {
                let mut page: VersionsPage = decode(&reply)?;
                page.next_page_cursor = normalise_cursor(page.next_page_cursor);
                Ok(page)
            }
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v1 get version; `None` if there is no such version (or it is a tombstone).
    pub async fn get_version(
        &self,
        path: &EntryPath,
        version_id: &str,
    ) -> Result<Option<DataStoreEntry>, Error> {
        check_path(path)?;
        let mut q = entry_query(path);
        q.push(("versionId", version_id.to_owned()));
        let url = self.v1_url(
            path.universe_id,
            &["datastore", "entries", "entry", "versions", "version"],
            &q,
        );
        let reply = self
            .simple_get("get_version", path.universe_id, url)
            .await?;
        match reply.status {
            200 => entry_from_reply(&reply).map(Some),
            204 | 404 => Ok(None),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// v2 get entry (latest revision); `None` if absent or deleted.
    pub async fn get_entry_v2(&self, path: &EntryPath) -> Result<Option<EntryV2>, Error> {
        check_path(path)?;
        let universe = path.universe_id.to_string();
        // Always name the revision: a key containing `@` would otherwise be misread.
        let entry_id = format!("{}@latest", path.key);
        let mut segments = vec![
            "cloud",
            "v2",
            "universes",
            &universe,
            "data-stores",
            &path.datastore,
        ];
        if path.scope != "global" {
            segments.extend(["scopes", path.scope.as_str()]);
        }
        segments.extend(["entries", entry_id.as_str()]);
        let url = self.url(&segments, &[]);
        let reply = self
            .simple_get("get_entry_v2", path.universe_id, url)
            .await?;
        match reply.status {
            200 => decode(&reply).map(Some),
            404 => Ok(None),
            _ => Err(Error::Api(reply.api_error())),
        }
    }
}
