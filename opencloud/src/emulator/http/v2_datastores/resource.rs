//! What a v2 entry path names: the collection (universe, data store, scope), the entry id with its
//! optional revision or `:method` suffix, and the resource path of an entry in answers.

use axum::response::Response;
use thiserror::Error;

use super::errors::invalid;
use crate::emulator::experience::RequestType;
use crate::emulator::faults::Operation;
use crate::emulator::http::call::Call;
use crate::emulator::http::errors::Shape;
use crate::emulator::http::gate::Needs;
use crate::emulator::store::{DEFAULT_SCOPE, EntryKey};
use crate::timefmt;

/// The scope id that lists every scope.
pub(super) const ALL_SCOPES: &str = "-";

/// Which revision a get asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Revision {
    Latest,
    LatestAt(i64),
    Id(String),
}

/// Splits `key@suffix`: the text after the last `@` is the revision (`latest`, `latest:<time>`, or
/// an id); without `@` the latest revision is meant.
pub(super) fn parse_entry_id(raw: &str) -> Result<(String, Revision), String> {
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

/// How far ahead of the emulator's clock an `@latest:<time>` may point (Roblox: ten minutes).
const LATEST_AT_MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// Why an `@latest:<time>` time is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub(super) enum LatestAtError {
    /// At or before 1970-01-01T00:00:00Z.
    #[error("The time of @latest:<time> must be after the Unix epoch.")]
    NotAfterEpoch,
    /// More than ten minutes ahead of now.
    #[error("The time of @latest:<time> must be at most ten minutes in the future.")]
    TooFarAhead,
}

/// Roblox's rule for `@latest:<time>`: after the Unix epoch and not more than ten minutes in the
/// future (Get entry reference). Checked against the emulator's clock, not the wall clock.
pub(super) fn check_latest_at(at_ms: i64, now_ms: i64) -> Result<(), LatestAtError> {
    if at_ms <= 0 {
        Err(LatestAtError::NotAfterEpoch)
    } else if at_ms > now_ms.saturating_add(LATEST_AT_MAX_AHEAD_MS) {
        Err(LatestAtError::TooFarAhead)
    } else {
        Ok(())
    }
}

/// Splits a trailing `:method` off an entry id (`key:increment`, `key:listRevisions`).
pub(super) fn split_method<'a>(raw_id: &'a str, method: &str) -> Option<&'a str> {
    raw_id
        .strip_suffix(method)
        .and_then(|k| k.strip_suffix(':'))
}

/// The entry id of the path (with any `@revision` or `:method` suffix still on it).
pub(super) fn entry_id(call: &Call) -> &str {
    call.param("entry").unwrap_or_default()
}

/// Which of the two documented forms of an entry's resource path a request used: `DataStoreEntry`
/// lists `…/entries/{id}` and `…/scopes/{scope}/entries/{id}`, so an answer names the entry the way
/// it was asked for and a `/scopes/global/…` request keeps its scope segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PathForm {
    /// `…/data-stores/{ds}/entries/…`: scope `global` implied.
    Unscoped,
    /// `…/data-stores/{ds}/scopes/{scope}/entries/…` (including `scopes/-`).
    Scoped,
}

/// The resource path of an entry (`id` may carry `@<revision>`) in `form`; an entry outside
/// `global` always names its scope, since the unscoped form would point at another entry.
pub(super) fn entry_path(key: &EntryKey, id: &str, form: PathForm) -> String {
    let scope_part = if form == PathForm::Unscoped && key.scope == DEFAULT_SCOPE {
        String::new()
    } else {
        format!("/scopes/{}", key.scope)
    };
    format!(
        "universes/{}/data-stores/{}{}/entries/{}",
        key.universe_id, key.datastore, scope_part, id
    )
}

/// Path of an entry collection: universe, data store, scope.
pub(super) struct Collection<'a> {
    universe: &'a str,
    /// The data store name.
    pub datastore: &'a str,
    /// The scope, `global` on unscoped paths, `-` for every scope.
    pub scope: &'a str,
    /// Whether the path named the scope, which the answers' entry paths repeat.
    pub form: PathForm,
}

impl<'a> Collection<'a> {
    /// The collection a path names; unscoped paths mean scope `global`.
    pub(super) fn of(call: &'a Call) -> Self {
        Self {
            universe: call.param("universe").unwrap_or_default(),
            datastore: call.param("datastore").unwrap_or_default(),
            scope: call.param("scope").unwrap_or(DEFAULT_SCOPE),
            form: match call.param("scope") {
                Some(_) => PathForm::Scoped,
                None => PathForm::Unscoped,
            },
        }
    }

    /// The universe id, when the path carries one.
    pub(super) fn universe_id(&self) -> Option<u64> {
        self.universe.parse().ok()
    }

    /// The entry `key` of this collection, validated; `-` is not a scope here.
    pub(super) fn key(&self, key: &str) -> Result<EntryKey, Response> {
        let u = self
            .universe_id()
            .ok_or_else(|| invalid("Invalid universe id."))?;
        if self.scope == ALL_SCOPES {
            return Err(invalid("Scope '-' is only valid when listing entries."));
        }
        let key = EntryKey::scoped(u, self.datastore, self.scope, key);
        key.validate().map_err(|e| invalid(&e.to_string()))?;
        Ok(key)
    }
}

/// A v2 entry call's gate: v2 error bodies, `scopes` on the universe, one request of `class`.
pub(super) fn needs<'a>(
    op: Operation,
    u: Option<u64>,
    scopes: &'a [&'a str],
    request_type: RequestType,
) -> Needs<'a> {
    Needs::shared(op, Shape::V2, u, scopes, request_type)
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

    #[test]
    fn latest_at_is_after_the_epoch_and_at_most_ten_minutes_ahead() {
        let now = 1_795_219_200_000;
        assert_eq!(check_latest_at(1, now), Ok(()));
        assert_eq!(check_latest_at(now + 600_000, now), Ok(()));
        assert_eq!(check_latest_at(0, now), Err(LatestAtError::NotAfterEpoch));
        assert_eq!(
            check_latest_at(-86_400_000, now),
            Err(LatestAtError::NotAfterEpoch)
        );
        assert_eq!(
            check_latest_at(now + 600_001, now),
            Err(LatestAtError::TooFarAhead)
        );
    }

    #[test]
    fn method_suffixes_split_only_exact_names() {
        assert_eq!(split_method("k:increment", "increment"), Some("k"));
        assert_eq!(
            split_method("a:b:listRevisions", "listRevisions"),
            Some("a:b")
        );
        assert_eq!(split_method("kincrement", "increment"), None);
        assert_eq!(
            split_method("k@latest:2026-01-01T00:00:00Z", "increment"),
            None
        );
    }
}
