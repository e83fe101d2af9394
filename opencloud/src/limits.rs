//! Roblox's documented limits, enforced by the client before sending and by the emulator on
//! receipt, so both agree on what is too big. Data stores:
//! <https://create.roblox.com/docs/cloud-services/data-stores/error-codes-and-limits>; messaging:
//! <https://create.roblox.com/docs/reference/engine/classes/MessagingService>.

use thiserror::Error;

/// Largest data-store value, in bytes of its JSON text (v1 body schema `maxLength: 4194304`).
pub const MAX_VALUE_BYTES: usize = 4_194_304;
/// Longest data-store name, scope or entry key (Roblox: 50 characters; we count bytes, the stricter reading).
pub const MAX_NAME_BYTES: usize = 50;
/// Longest serialized attributes object, in characters.
pub const MAX_ATTRIBUTES_CHARS: usize = 300;
/// Longest attribute key, in characters.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 50;
/// Longest serialized attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 250;
/// Most user ids an entry may carry.
pub const MAX_USER_IDS: usize = 4;
/// Roblox's limit on one message, in bytes (the protocol's own constant).
pub use shared::limits::MAX_MESSAGE_BYTES;
/// Longest MessagingService topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 80;

/// Which kind of name failed a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A data store's name.
    DataStore,
    /// A data-store scope.
    Scope,
    /// An entry key.
    EntryKey,
}

impl NameKind {
    fn label(self) -> &'static str {
        match self {
            NameKind::DataStore => "data store name",
            NameKind::Scope => "scope",
            NameKind::EntryKey => "entry key",
        }
    }
}

/// A value that breaks one of Roblox's limits.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LimitError {
    /// A data store name, scope or key is empty or too long.
    #[error("{} must be 1 to {MAX_NAME_BYTES} bytes long (got {len})", .kind.label())]
    Name {
        /// Which name.
        kind: NameKind,
        /// Its length in bytes.
        len: usize,
    },
    /// A value is larger than 4 MiB.
    #[error("value is {len} bytes; the limit is {MAX_VALUE_BYTES}")]
    ValueTooBig {
        /// Its length in bytes.
        len: usize,
    },
    /// A value is not JSON text.
    #[error("value is not valid JSON")]
    ValueNotJson,
    /// Attributes are not a JSON object within the size limits.
    #[error("attributes: {0}")]
    Attributes(&'static str),
    /// Too many user ids.
    #[error("at most {MAX_USER_IDS} user ids are allowed (got {0})")]
    TooManyUserIds(usize),
    /// A message topic is empty or longer than 80 characters.
    #[error("topic must be 1 to {MAX_TOPIC_CHARS} characters long (got {0})")]
    Topic(usize),
    /// A message is larger than 1 KiB.
    #[error("message is {0} bytes; the limit is {MAX_MESSAGE_BYTES}")]
    MessageTooBig(usize),
}

/// Checks a data store name, scope or entry key.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), LimitError> {
    let len = name.len();
    if len == 0 || len > MAX_NAME_BYTES {
        return Err(LimitError::Name { kind, len });
    }
    Ok(())
}

/// Checks a value's size and that it is JSON text.
pub fn check_value(value: &str) -> Result<(), LimitError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(LimitError::ValueTooBig { len: value.len() });
    }
    serde_json::from_str::<serde::de::IgnoredAny>(value).map_err(|_| LimitError::ValueNotJson)?;
    Ok(())
}

/// Checks attributes: a JSON object, ≤ 300 characters, keys ≤ 50, serialized values ≤ 250.
pub fn check_attributes(attributes: &str) -> Result<(), LimitError> {
    if attributes.chars().count() > MAX_ATTRIBUTES_CHARS {
        return Err(LimitError::Attributes("longer than 300 characters"));
    }
    let parsed: serde_json::Value =
        serde_json::from_str(attributes).map_err(|_| LimitError::Attributes("not valid JSON"))?;
    let object = parsed
        .as_object()
        .ok_or(LimitError::Attributes("not a JSON object"))?;
    for (key, value) in object {
        if key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
            return Err(LimitError::Attributes("a key is longer than 50 characters"));
        }
        if value.to_string().chars().count() > MAX_ATTRIBUTE_VALUE_CHARS {
            return Err(LimitError::Attributes(
                "a value is longer than 250 characters",
            ));
        }
    }
    Ok(())
}

/// Checks the number of user ids.
pub fn check_user_ids(user_ids: &[u64]) -> Result<(), LimitError> {
    if user_ids.len() > MAX_USER_IDS {
        return Err(LimitError::TooManyUserIds(user_ids.len()));
    }
    Ok(())
}

/// Checks a MessagingService topic.
pub fn check_topic(topic: &str) -> Result<(), LimitError> {
    let chars = topic.chars().count();
    if chars == 0 || chars > MAX_TOPIC_CHARS {
        return Err(LimitError::Topic(chars));
    }
    Ok(())
}

/// Checks a MessagingService message's size.
pub fn check_message(message: &str) -> Result<(), LimitError> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(LimitError::MessageTooBig(message.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded() {
        assert!(check_name(NameKind::EntryKey, "wallet_1").is_ok());
        assert_eq!(
            check_name(NameKind::EntryKey, ""),
            Err(LimitError::Name {
                kind: NameKind::EntryKey,
                len: 0
            })
        );
        assert!(check_name(NameKind::Scope, &"a".repeat(50)).is_ok());
        assert!(check_name(NameKind::Scope, &"a".repeat(51)).is_err());
    }

    #[test]
    fn values_must_be_json_and_small() {
        assert!(check_value("{\"a\":1}").is_ok());
        assert!(check_value("750").is_ok());
        assert_eq!(check_value("{oops"), Err(LimitError::ValueNotJson));
        let big = format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES));
        assert!(matches!(
            check_value(&big),
            Err(LimitError::ValueTooBig { .. })
        ));
    }

    #[test]
    fn attributes_rules() {
        assert!(check_attributes("{\"k\":\"v\"}").is_ok());
        assert!(check_attributes("[1]").is_err());
        assert!(check_attributes(&format!("{{\"{}\":1}}", "k".repeat(51))).is_err());
        assert!(check_attributes(&format!("{{\"k\":\"{}\"}}", "v".repeat(260))).is_err());
    }

    #[test]
    fn topic_and_message_rules() {
        assert!(check_topic("discord-commands").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic(&"t".repeat(81)).is_err());
        assert!(check_message(&"m".repeat(1024)).is_ok());
        assert_eq!(
            check_message(&"m".repeat(1025)),
            Err(LimitError::MessageTooBig(1025))
        );
        assert!(check_user_ids(&[1, 2, 3, 4]).is_ok());
        assert!(check_user_ids(&[1, 2, 3, 4, 5]).is_err());
    }
}
