//! Secrets and key rings: HMAC keys with ids (for rotation) and scopes (for the audit API).

use std::fmt;
use zeroize::Zeroizing;

/// Shortest secret accepted from configuration, in bytes.
pub const MIN_CONFIG_SECRET_BYTES: usize = 32;

/// Secret key material. Never printed: `Debug` shows only that it is redacted.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps raw bytes (any length; configuration parsing enforces a minimum).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// The raw bytes, for computing an HMAC.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A key id: 1-32 characters of `[A-Za-z0-9_-]` (safe in headers and the message framing).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id.
    pub fn new(s: &str) -> Result<Self, KeyError> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(KeyError::BadId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an audit-API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Post transactions (game servers, the bot's offline path).
    Write,
    /// Read and export the log (the bot, operators).
    Read,
}

/// One key: id, secret and scopes (scopes are unused for command-signing keys).
#[derive(Clone, Debug)]
pub struct Key {
    /// The key id sent alongside signatures.
    pub id: KeyId,
    /// The secret.
    pub secret: Secret,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl Key {
    /// Builds a key.
    pub fn new(id: KeyId, secret: Secret, scopes: Vec<Scope>) -> Self {
        Self { id, secret, scopes }
    }

    /// Whether the key carries `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a key specification was refused; never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No keys at all.
    #[error("no keys configured")]
    Empty,
    /// An entry is not `id:secret` or `id:scopes:secret`.
    #[error("key entry {0} is not of the form id:secret or id:scopes:secret")]
    Shape(usize),
    /// A key id is malformed.
    #[error("key ids are 1-32 characters of A-Z a-z 0-9 _ -")]
    BadId,
    /// The same key id twice.
    #[error("key id {0} appears twice")]
    DuplicateId(String),
    /// Unknown scope name.
    #[error("key {0}: scopes are read, write or read+write")]
    Scope(String),
    /// The secret is not hex or too short.
    #[error("key {0}: the secret must be at least {MIN_CONFIG_SECRET_BYTES} bytes written as hex")]
    Secret(String),
}

/// The keys a party accepts (several during rotation); the first is the one it signs with.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// A ring of the given keys (must be non-empty, ids unique).
    pub fn new(keys: Vec<Key>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(KeyError::DuplicateId(k.id.to_string()));
            }
        }
        Ok(Self { keys })
    }

    /// Parses `id:secret-hex` or `id:scopes:secret-hex` entries separated by commas
    /// (scopes: `read`, `write`, `read+write`). Whitespace around entries is ignored.
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let parts: Vec<&str> = entry.split(':').collect();
            let (id, scopes, secret) = match parts.as_slice() {
                [id, secret] => (*id, None, *secret),
                [id, scopes, secret] => (*id, Some(*scopes), *secret),
                _ => return Err(KeyError::Shape(i + 1)),
            };
            let id = KeyId::new(id)?;
            let scopes = match scopes {
                None => Vec::new(),
                Some(s) => s
                    .split('+')
                    .map(|p| match p {
                        "read" => Ok(Scope::Read),
                        "write" => Ok(Scope::Write),
                        _ => Err(KeyError::Scope(id.to_string())),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let bytes = hex::decode(secret).map_err(|_| KeyError::Secret(id.to_string()))?;
            if bytes.len() < MIN_CONFIG_SECRET_BYTES {
                return Err(KeyError::Secret(id.to_string()));
            }
            keys.push(Key::new(id, Secret::from_bytes(bytes), scopes));
        }
        Self::new(keys)
    }

    /// The key senders sign with (the first).
    pub fn signing_key(&self) -> &Key {
        &self.keys[0]
    }

    /// Looks a key up by id.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.id.as_str() == id)
    }

    /// All keys, signing key first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX32: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn parses_rotation_rings_with_scopes() {
        let ring = KeyRing::parse(&format!("new:read+write:{HEX32}, old:write:{HEX32}")).unwrap();
        assert_eq!(ring.signing_key().id.as_str(), "new");
        assert!(ring.get("new").unwrap().allows(Scope::Read));
        assert!(!ring.get("old").unwrap().allows(Scope::Read));
        assert!(ring.get("gone").is_none());
    }

    #[test]
    fn refusals_never_quote_the_secret() {
        let secret = "zz".repeat(32);
        for (spec, want) in [
            ("".to_string(), KeyError::Empty),
            (format!("a:{secret}"), KeyError::Secret("a".into())),
            ("a:abcd".to_string(), KeyError::Secret("a".into())),
            (format!("a:admin:{HEX32}"), KeyError::Scope("a".into())),
            (format!("a b:{HEX32}"), KeyError::BadId),
            (
                format!("a:{HEX32},a:{HEX32}"),
                KeyError::DuplicateId("a".into()),
            ),
            ("a:b:c:d".to_string(), KeyError::Shape(1)),
        ] {
            let err = KeyRing::parse(&spec).unwrap_err();
            assert_eq!(err, want);
            assert!(!err.to_string().contains(&secret));
            assert!(!err.to_string().contains(HEX32));
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let ring = KeyRing::parse(&format!("k1:write:{HEX32}")).unwrap();
        let shown = format!("{ring:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(HEX32));
        assert!(!shown.contains("17, 34"), "no byte dump either: {shown}");
    }
}
