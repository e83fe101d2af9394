//! Batch ids and the txn id of each player's payment in a batch.
//!
//! A player's txn id is derived from (batch id, player id), never minted: a batch retried or
//! resumed after a restart names the same txn for the same player, so the bot's database (one
//! row per txn id), the wallet's ring and the audit log (one record per txn id) all see one
//! payment, whoever runs it again and however often.

use shared::TxnId;
use std::fmt;
use std::str::FromStr;

/// Domain separation of [`BatchId::item_txn`]'s hash (distinct from reversals').
const ITEM_DOMAIN: &[u8] = b"economy-batch-item/v1:";

/// A batch id: a ULID minted when the batch is planned.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(TxnId);

impl BatchId {
    /// A fresh batch id.
    pub fn generate() -> Self {
        Self(TxnId::generate())
    }

    /// A batch id with a chosen timestamp and randomness (deterministic tests).
    pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
        Self(TxnId::from_parts(timestamp_ms, random))
    }

    /// The id as its canonical 26-character string.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The txn id of `user_id`'s payment in this batch: the batch's timestamp and the first 80
    /// bits of SHA-256(`economy-batch-item/v1:` ‖ batch id ‖ `:` ‖ user id) as randomness.
    pub fn item_txn(&self, user_id: u64) -> TxnId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(ITEM_DOMAIN)
            .chain_update(self.0.as_str().as_bytes())
            .chain_update(b":")
            .chain_update(user_id.to_string().as_bytes())
            .finalize();
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        TxnId::from_parts(self.0.timestamp_ms(), u128::from_be_bytes(random))
    }
}

impl FromStr for BatchId {
    type Err = shared::TxnIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_item_txn_is_pinned() {
        // Pinned: a change to the derivation would pay every resumed batch's players again.
        let batch = BatchId::from_parts(1_795_219_200_000, 7);
        let a = batch.item_txn(1001);
        assert_eq!(a, batch.item_txn(1001));
        assert_eq!(a.timestamp_ms(), 1_795_219_200_000);
        assert_eq!(a.as_str(), "01M7XPE600TSEBCWH922VG2JT1");
    }

    proptest! {
        #[test]
        fn item_txns_are_stable_and_distinct(seed in any::<u128>(), a in 1u64..=9_007_199_254_740_991, b in 1u64..=9_007_199_254_740_991) {
            let batch = BatchId::from_parts(1_795_219_200_000, seed >> 48);
            prop_assert_eq!(batch.item_txn(a), batch.item_txn(a));
            prop_assert_eq!(batch.item_txn(a) == batch.item_txn(b), a == b);
            let other = BatchId::from_parts(1_795_219_200_000, (seed >> 48) ^ 1);
            prop_assert_ne!(batch.item_txn(a), other.item_txn(a));
            // Valid ids, distinct from the batch's own and from a reversal of it.
            let txn = batch.item_txn(a);
            prop_assert_eq!(txn.as_str().parse::<TxnId>().ok(), Some(txn.clone()));
            prop_assert_ne!(txn.as_str(), batch.as_str());
        }
    }
}
