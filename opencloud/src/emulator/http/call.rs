//! [`Call`]: the preamble every handler shares (the emulator, path parameters, decoded query,
//! headers) as one axum extractor, and the steps every handler body goes through.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::errors::{self, Shape};
use super::gate::{Admitted, Needs, gate};
use super::query::Query;
use crate::emulator::auth::scopes;
use crate::emulator::experience::KeyDirection;
use crate::emulator::server::Emulator;
use crate::emulator::store::EntryKey;

/// One request as every handler sees it, before its body.
pub(crate) struct Call {
    /// The emulator behind the router.
    pub emu: Arc<Emulator>,
    /// Path parameters by route name (`universe`, `datastore`, `scope`, `entry`, `topic`, `user`).
    params: HashMap<String, String>,
    /// The query string, decoded; names match in any letter case.
    pub query: Query,
    /// The request headers.
    pub headers: HeaderMap,
}

impl FromRequestParts<Arc<Emulator>> for Call {
    // The path extractor's own rejection, unchanged (a path segment that is not UTF-8).
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        emu: &Arc<Emulator>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, emu)
            .await
            .map_err(IntoResponse::into_response)?;
        let raw = parts.uri.query();
        Ok(Self {
            emu: Arc::clone(emu),
            params,
            query: Query::parse(raw),
            headers: parts.headers.clone(),
        })
    }
}

impl Call {
    /// A path parameter; none when the route has none of that name.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The `universe` path parameter as an id, when it is one.
    pub(crate) fn universe_id(&self) -> Option<u64> {
        self.param("universe").and_then(|u| u.parse().ok())
    }

    /// Runs a handler body between the gate and [`Admitted::finish`]: the body sees the admitted
    /// request and answers with a response either way.
    pub(crate) async fn handle(
        &self,
        needs: Needs<'_>,
        body: impl FnOnce(&Admitted) -> Result<Response, Response>,
    ) -> Response {
        match gate(&self.emu, &self.headers, needs).await {
            Ok(admitted) => {
                let response = body(&admitted).unwrap_or_else(|refused| refused);
                admitted.finish(response).await
            }
            Err(refused) => refused,
        }
    }

    /// Spends a key's per-minute throughput for `len` bytes (and, for v1, the universe's), or
    /// answers 429.
    pub(crate) fn spend_key(
        &self,
        shape: Shape,
        key: &EntryKey,
        direction: KeyDirection,
        len: usize,
    ) -> Result<(), Response> {
        let now = self.emu.clock.now_ms();
        let experience = &self.emu.experience;
        match shape {
            Shape::V1DataStore => experience.take_v1_bytes(key, direction, len, now),
            Shape::V2 => experience.take_key_bytes(key, direction, len, now),
        }
        .map_err(|t| errors::key_throttled(shape, direction, t))
    }

    /// Write scopes: `objects:create` for a new key, `objects:update` for an existing one, plus
    /// `control:create` when the write creates the data store.
    pub(crate) fn write_scopes(&self, key: Option<&EntryKey>) -> Vec<&'static str> {
        let Some(key) = key else {
            return vec![scopes::OBJECTS_CREATE];
        };
        let store = &self.emu.store;
        let mut needed = vec![if store.get(key).is_some() {
            scopes::OBJECTS_UPDATE
        } else {
            scopes::OBJECTS_CREATE
        }];
        if !store.datastore_exists(key.universe_id, &key.datastore) {
            needed.push(scopes::CONTROL_CREATE);
        }
        needed
    }
}
