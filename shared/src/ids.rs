//! Transaction ids: canonical ULIDs.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Domain separation of [`TxnId::reversal_id`]'s hash.
const REVERSAL_DOMAIN: &[u8] = b"economy-reversal/v1:";

/// A transaction id: a ULID in its canonical 26-character upper-case Crockford form.
///
/// Only the canonical spelling is accepted, because de-duplication compares ids as strings:
/// a lower-case twin of an applied id must not slip past the ring as a "new" txn.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TxnId(String);

/// Why a string is not a transaction id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnIdError {
    /// Not exactly 26 characters.
    #[error("a txn id is a 26-character ULID")]
    Length,
    /// A character outside upper-case Crockford base32.
    #[error("a txn id uses only upper-case Crockford base32 (0-9, A-Z without I, L, O, U)")]
    Alphabet,
    /// The first character exceeds 7 (the value would overflow 128 bits).
    #[error("a txn id must start with 0-7")]
    Overflow,
}

impl TxnId {
    /// A fresh id for a txn originated now.
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// A fresh id with a chosen timestamp and randomness (deterministic tests, emulators).
    pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
        Self(ulid::Ulid::from_parts(timestamp_ms, random).to_string())
    }

    /// The id as its canonical string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the one reversal of this txn (docs/protocol.md §2.1): the original's timestamp
    /// and the first 80 bits of SHA-256(`economy-reversal/v1:` ‖ original id) as randomness.
    /// Derived, never minted, so a retried `/reverse` (any replica, after any restart) names the
    /// same txn and the ring, the bot's database and the audit log all see one reversal.
    pub fn reversal_id(&self) -> TxnId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(REVERSAL_DOMAIN)
            .chain_update(self.0.as_bytes())
            .finalize();
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        Self::from_parts(self.timestamp_ms(), u128::from_be_bytes(random))
    }

    /// The millisecond timestamp encoded in the first 10 characters.
    pub fn timestamp_ms(&self) -> u64 {
        self.0.bytes().take(10).fold(0u64, |acc, b| {
            let digit = CROCKFORD.iter().position(|&c| c == b).unwrap_or(0) as u64;
            (acc << 5) | digit
        })
    }
}

impl FromStr for TxnId {
    type Err = TxnIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 26 {
            return Err(TxnIdError::Length);
        }
        if !s.bytes().all(|b| CROCKFORD.contains(&b)) {
            return Err(TxnIdError::Alphabet);
        }
        if s.as_bytes()[0] > b'7' {
            return Err(TxnIdError::Overflow);
        }
        Ok(Self(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for TxnId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads the optional `reverses` field: when present it must be a txn id (`null` is refused
/// rather than read as absent, as the Luau decoder does; use with `#[serde(default)]`), and the
/// error names the field.
pub fn reverses_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TxnId>, D::Error> {
    TxnId::deserialize(d)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format_args!("reverses: {e}")))
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxnId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ulids_parse_and_others_do_not() {
        let id = TxnId::from_parts(1_700_000_000_000, 42);
        assert_eq!(id.as_str().parse::<TxnId>().unwrap(), id);
        assert_eq!(id.timestamp_ms(), 1_700_000_000_000);
        let lower = id.as_str().to_ascii_lowercase();
        assert_eq!(lower.parse::<TxnId>(), Err(TxnIdError::Alphabet));
        assert_eq!(
            "01ARZ3NDEKTSV4RRFFQ69G5FA".parse::<TxnId>(),
            Err(TxnIdError::Length)
        );
        assert_eq!(
            "81ARZ3NDEKTSV4RRFFQ69G5FAV".parse::<TxnId>(),
            Err(TxnIdError::Overflow)
        );
        assert_eq!(
            "01ARZ3NDEKTSV4RRFFQ69G5FAI".parse::<TxnId>(),
            Err(TxnIdError::Alphabet)
        );
        assert!(serde_json::from_str::<TxnId>("\"not-an-id\"").is_err());
    }

    #[test]
    fn a_reversal_id_is_derived_from_its_original_alone() {
        let a = TxnId::from_parts(1_700_000_000_000, 42);
        let b = TxnId::from_parts(1_700_000_000_000, 43);
        assert_eq!(
            a.reversal_id(),
            a.reversal_id(),
            "a retry names the same txn"
        );
        assert_ne!(a.reversal_id(), b.reversal_id());
        assert_ne!(a.reversal_id(), a);
        assert_eq!(a.reversal_id().timestamp_ms(), a.timestamp_ms());
        assert!(a.reversal_id().as_str().parse::<TxnId>().is_ok());
    }

    #[test]
    fn generated_ids_are_canonical_and_distinct() {
        let a = TxnId::generate();
        let b = TxnId::generate();
        assert_ne!(a, b);
        assert!(a.as_str().parse::<TxnId>().is_ok());
    }
}
