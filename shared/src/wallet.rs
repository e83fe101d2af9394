//! The wallet document exactly as stored in the profile's `Data`, and its txn ring.

use crate::audit::AuditRecord;
use crate::ids::TxnId;
use crate::limits::{MAX_SAFE_INTEGER, PROTOCOL_VERSION, RING_CAPACITY};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The ring entry lives with the outcome types (the audit record is built from it, and the
/// wallet holds audit records); re-exported here, where it is stored.
pub use crate::outcome::TxnRecord;

/// The wallet document (`Data` of the wallet profile).
///
/// Unknown fields are kept in `extra` and written back untouched, so a reader of an older
/// version never erases what a newer bridge stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    /// Document version, 1.
    #[serde(default = "version_one")]
    pub v: u32,
    /// Current balance (0 ≤ balance ≤ 2^53 − 1).
    #[serde(default)]
    pub balance: i64,
    /// The last processed remote txns, oldest first, at most 64.
    #[serde(default)]
    pub ring: VecDeque<TxnRecord>,
    /// The newest `issuedAt` ever evicted from the ring (Unix ms, 0 when none).
    #[serde(default)]
    pub watermark: i64,
    /// Audit records committed with their txn but not yet acknowledged by the audit API.
    #[serde(default)]
    pub outbox: Vec<AuditRecord>,
    /// Fields this version does not know, preserved on write.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Rewrites every integral number written with an exponent or a fraction part, within the exact
/// range of a double, as plain digits.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 {
                // Exact: |f| ≤ 2^53 − 1 and integral.
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn version_one() -> u32 {
    PROTOCOL_VERSION
}

impl Default for Wallet {
    fn default() -> Self {
        Self {
            v: PROTOCOL_VERSION,
            balance: 0,
            ring: VecDeque::new(),
            watermark: 0,
            outbox: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }
}

/// A stored wallet that breaks the document's invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// Balance negative or beyond 2^53 − 1.
    #[error("wallet balance out of range")]
    Balance,
    /// More than 64 ring entries.
    #[error("wallet ring holds more than {RING_CAPACITY} entries")]
    RingTooLong,
    /// The same txn id twice in the ring.
    #[error("wallet ring holds a txn id twice")]
    RingDuplicate,
    /// Unsupported document version.
    #[error("unsupported wallet version {0}")]
    Version(u32),
}

impl Wallet {
    /// Reads a stored wallet document. How a DataStore writes large numbers is undocumented
    /// (`JSONEncode` prints `1e+15`), so a number in exponent or decimal form counts as the
    /// integer it denotes when it is integral and within ±(2^53 − 1); any other fraction stays a
    /// fraction and the integer fields refuse it (testdata/stored_numbers.json).
    pub fn from_stored(value: &serde_json::Value) -> Result<Wallet, serde_json::Error> {
        let mut value = value.clone();
        integral_numbers(&mut value);
        serde_json::from_value(value)
    }

    /// Checks the invariants a stored wallet must satisfy before the apply rule trusts it.
    pub fn validate(&self) -> Result<(), WalletError> {
        if self.v != PROTOCOL_VERSION {
            return Err(WalletError::Version(self.v));
        }
        if !(0..=MAX_SAFE_INTEGER).contains(&self.balance) {
            return Err(WalletError::Balance);
        }
        if self.ring.len() > RING_CAPACITY {
            return Err(WalletError::RingTooLong);
        }
        let mut ids: Vec<&TxnId> = self.ring.iter().map(|r| &r.id).collect();
        ids.sort();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(WalletError::RingDuplicate);
        }
        Ok(())
    }

    /// The recorded outcome for `id`, if it is still in the ring.
    pub fn find(&self, id: &TxnId) -> Option<&TxnRecord> {
        self.ring.iter().find(|r| &r.id == id)
    }

    /// Appends a record, evicting the oldest beyond capacity and raising the watermark to its `issuedAt`.
    pub fn record(&mut self, rec: TxnRecord) {
        self.ring.push_back(rec);
        while self.ring.len() > RING_CAPACITY {
            if let Some(old) = self.ring.pop_front() {
                self.watermark = self.watermark.max(old.issued_at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Op;
    use crate::outcome::RecordOutcome;

    fn rec(n: u128, issued_at: i64) -> TxnRecord {
        TxnRecord {
            id: TxnId::from_parts(issued_at as u64, n),
            op: Op::Give,
            amount: 1,
            outcome: RecordOutcome::Applied,
            reject_reason: None,
            balance_after: 1,
            issued_at,
            at: issued_at,
            reverses: None,
        }
    }

    #[test]
    fn an_empty_profile_reads_as_the_empty_wallet() {
        let w: Wallet = serde_json::from_str("{}").unwrap();
        assert_eq!(w, Wallet::default());
        assert_eq!(w.validate(), Ok(()));
    }

    #[test]
    fn broken_documents_are_refused() {
        let mut w = Wallet {
            balance: -1,
            ..Wallet::default()
        };
        assert_eq!(w.validate(), Err(WalletError::Balance));
        w.balance = 0;
        w.ring.push_back(rec(1, 10));
        w.ring.push_back(rec(1, 10));
        assert_eq!(w.validate(), Err(WalletError::RingDuplicate));
        w.ring.clear();
        for n in 0..=RING_CAPACITY as u128 {
            w.ring.push_back(rec(n, 10));
        }
        assert_eq!(w.validate(), Err(WalletError::RingTooLong));
        w.ring.clear();
        w.v = 2;
        assert_eq!(w.validate(), Err(WalletError::Version(2)));
    }

    #[test]
    fn eviction_raises_the_watermark_monotonically() {
        let mut w = Wallet::default();
        for n in 0..RING_CAPACITY as u128 {
            w.record(rec(n, 1_000 + n as i64));
        }
        assert_eq!(w.watermark, 0);
        w.record(rec(100, 5_000));
        assert_eq!(w.watermark, 1_000);
        assert_eq!(w.ring.len(), RING_CAPACITY);
        w.watermark = 9_000;
        w.record(rec(101, 6_000));
        assert_eq!(w.watermark, 9_000, "never lowered");
    }
}
