//! API keys (`x-api-key`) with per-key scopes and universes, as Open Cloud checks them.

use std::collections::HashMap;
use std::fmt;

/// An emulated Open Cloud API key.
#[derive(Clone)]
pub struct ApiKey {
    /// A label used as the writer name and in logs (never the secret).
    pub name: String,
    secret: String,
    /// Granted scopes, e.g. `universe-datastores.objects:read`; `*` grants every scope.
    pub scopes: Vec<String>,
    /// Universes the key may touch; `None` means any.
    pub universes: Option<Vec<u64>>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("universes", &self.universes)
            .finish()
    }
}

/// Every scope the emulator checks.
pub const ALL_SCOPES: &[&str] = &[
    scopes::OBJECTS_READ,
    scopes::OBJECTS_CREATE,
    scopes::OBJECTS_UPDATE,
    scopes::OBJECTS_DELETE,
    scopes::OBJECTS_LIST,
    scopes::VERSIONS_READ,
    scopes::VERSIONS_LIST,
    scopes::CONTROL_LIST,
    scopes::CONTROL_CREATE,
    scopes::PUBLISH,
    scopes::LUAU_READ,
    scopes::LUAU_WRITE,
];

/// API-key scope names, as each endpoint's reference lists them (for example
/// <https://create.roblox.com/docs/cloud/reference/DataStoreEntry>).
pub mod scopes {
    /// Read an entry.
    pub const OBJECTS_READ: &str = "universe-datastores.objects:read";
    /// Create an entry.
    pub const OBJECTS_CREATE: &str = "universe-datastores.objects:create";
    /// Update an existing entry.
    pub const OBJECTS_UPDATE: &str = "universe-datastores.objects:update";
    /// Delete an entry.
    pub const OBJECTS_DELETE: &str = "universe-datastores.objects:delete";
    /// List keys.
    pub const OBJECTS_LIST: &str = "universe-datastores.objects:list";
    /// Read a version.
    pub const VERSIONS_READ: &str = "universe-datastores.versions:read";
    /// List versions.
    pub const VERSIONS_LIST: &str = "universe-datastores.versions:list";
    /// List data stores.
    pub const CONTROL_LIST: &str = "universe-datastores.control:list";
    /// Create a data store (by writing its first entry).
    pub const CONTROL_CREATE: &str = "universe-datastores.control:create";
    /// Publish messages.
    pub const PUBLISH: &str = "universe-messaging-service:publish";
    /// Read Luau Execution tasks and their logs (the write scope also allows it).
    pub const LUAU_READ: &str = "universe.place.luau-execution-session:read";
    /// Create Luau Execution tasks.
    pub const LUAU_WRITE: &str = "universe.place.luau-execution-session:write";
}

impl ApiKey {
    /// A key with explicit scopes and universes.
    pub fn new(
        name: impl Into<String>,
        secret: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
        universes: Option<Vec<u64>>,
    ) -> Self {
        Self {
            name: name.into(),
            secret: secret.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            universes,
        }
    }

    /// A key with every scope on every universe.
    pub fn full_access(name: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::new(name, secret, ["*"], None)
    }

    /// A key with every scope on the given universes only.
    pub fn full_access_on(
        name: impl Into<String>,
        secret: impl Into<String>,
        universes: Vec<u64>,
    ) -> Self {
        Self::new(name, secret, ["*"], Some(universes))
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == "*" || s == scope)
    }
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No key or an unknown key → 401.
    InvalidKey,
    /// The key lacks the universe or a scope → 403.
    Forbidden(String),
}

/// The set of keys the emulator accepts.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    by_secret: HashMap<String, ApiKey>,
}

impl ApiKeys {
    /// Keys from a list.
    pub fn new(keys: impl IntoIterator<Item = ApiKey>) -> Self {
        Self {
            by_secret: keys.into_iter().map(|k| (k.secret.clone(), k)).collect(),
        }
    }

    /// Checks a request's `x-api-key` against a universe and the scopes it needs.
    pub fn authorize(
        &self,
        presented: Option<&str>,
        universe_id: Option<u64>,
        needed: &[&str],
    ) -> Result<&ApiKey, AuthError> {
        let key = presented
            .and_then(|s| self.by_secret.get(s))
            .ok_or(AuthError::InvalidKey)?;
        if let (Some(universe), Some(allowed)) = (universe_id, &key.universes) {
            if !allowed.contains(&universe) {
                return Err(AuthError::Forbidden(format!(
                    "The API key is not allowed to access universe {universe}."
                )));
            }
        }
        if let Some(missing) = needed.iter().find(|s| !key.has_scope(s)) {
            return Err(AuthError::Forbidden(format!(
                "The API key lacks the scope {missing}."
            )));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_check_universe_and_scopes() {
        let keys = ApiKeys::new([
            ApiKey::new("reader", "r-secret", [scopes::OBJECTS_READ], Some(vec![1])),
            ApiKey::full_access("admin", "a-secret"),
        ]);
        assert_eq!(
            keys.authorize(None, Some(1), &[]).unwrap_err(),
            AuthError::InvalidKey
        );
        assert_eq!(
            keys.authorize(Some("nope"), Some(1), &[]).unwrap_err(),
            AuthError::InvalidKey
        );
        assert_eq!(
            keys.authorize(Some("r-secret"), Some(1), &[scopes::OBJECTS_READ])
                .unwrap()
                .name,
            "reader"
        );
        assert!(matches!(
            keys.authorize(Some("r-secret"), Some(2), &[scopes::OBJECTS_READ]),
            Err(AuthError::Forbidden(_))
        ));
        assert!(matches!(
            keys.authorize(Some("r-secret"), Some(1), &[scopes::OBJECTS_UPDATE]),
            Err(AuthError::Forbidden(_))
        ));
        assert!(
            keys.authorize(Some("a-secret"), Some(9), ALL_SCOPES)
                .is_ok()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = ApiKey::full_access("admin", "super-secret-value");
        assert!(!format!("{key:?}").contains("super-secret-value"));
    }
}
