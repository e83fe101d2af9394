//! Emulated Roblox users for `GET /cloud/v2/users/{id}` and the legacy username look-up.

use std::collections::HashMap;

use parking_lot::RwLock;

/// A Roblox user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Username (unique, case-insensitive).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Account creation time, Unix ms.
    pub created_ms: i64,
    /// Whether the account is banned (hidden by `excludeBannedUsers`).
    pub banned: bool,
}

impl User {
    /// A user whose display name equals the username.
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            id,
            display_name: name.clone(),
            name,
            created_ms: 1_262_304_000_000,
            banned: false,
        }
    }
}

/// All known users.
#[derive(Debug, Default)]
pub struct UserDirectory {
    by_id: RwLock<HashMap<u64, User>>,
}

impl UserDirectory {
    /// Adds or replaces a user.
    pub fn add(&self, user: User) {
        self.by_id.write().insert(user.id, user);
    }

    /// A user by id.
    pub fn by_id(&self, id: u64) -> Option<User> {
        self.by_id.read().get(&id).cloned()
    }

    /// A user by username, case-insensitively.
    pub fn by_name(&self, name: &str) -> Option<User> {
        self.by_id
            .read()
            .values()
            .find(|u| u.name.eq_ignore_ascii_case(name))
            .cloned()
    }
}
