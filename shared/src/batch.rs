//! Batch envelopes (docs/protocol.md §3.1): one signed message carrying several players'
//! commands of one payout, each player's txn id derived from the batch id and the player.

use crate::command::{Actor, Command, CommandError, Op};
use crate::ids::TxnId;
use crate::limits::MAX_SAFE_INTEGER;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// Domain separation of [`BatchId::item_txn`]'s hash (distinct from reversals').
const ITEM_DOMAIN: &[u8] = b"economy-batch-item/v1:";

/// A batch id: a ULID minted when a payout is planned.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
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

    /// The txn id of `user_id`'s command in this batch: the batch's timestamp and the first 80
    /// bits of SHA-256(`economy-batch-item/v1:` ‖ batch id ‖ `:` ‖ user id in decimal) as
    /// randomness. Derived, never minted: a retried or resumed payout, and every receiver of
    /// an envelope, name the same txn for the same player.
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
    type Err = crate::ids::TxnIdError;

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

/// Several players' commands of one payout, signed once. Field order is the wire order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// Protocol version, always 1.
    pub v: u32,
    /// The payout's batch id; each player's txn id derives from it.
    pub batch: BatchId,
    /// Give or deduct, for every player.
    pub op: Op,
    /// Amount each player's command moves.
    pub amount: i64,
    /// Why, in the staff member's words.
    pub reason: String,
    /// Who asked.
    pub actor: Actor,
    /// When the bot issued the commands (Unix ms).
    pub issued_at: i64,
    /// After this instant (Unix ms) no server applies them.
    pub expires_at: i64,
    /// The players, distinct, in the order sent.
    pub users: Vec<u64>,
}

impl Envelope {
    /// An envelope with `cmd`'s shared fields, for the players in `users`. `cmd` is any one
    /// item of the batch (its own txn and user id are not used).
    pub fn from_item(batch: BatchId, cmd: &Command, users: Vec<u64>) -> Self {
        Self {
            v: cmd.v,
            batch,
            op: cmd.op,
            amount: cmd.amount,
            reason: cmd.reason.clone(),
            actor: cmd.actor.clone(),
            issued_at: cmd.issued_at,
            expires_at: cmd.expires_at,
            users,
        }
    }

    /// Whether `cmd` is `batch`'s command for its player with this envelope's shared fields,
    /// so it may travel in it (its txn id is the derived one, it reverses nothing).
    pub fn carries(&self, cmd: &Command) -> bool {
        cmd.reverses.is_none()
            && cmd.txn == self.batch.item_txn(cmd.user_id)
            && cmd.v == self.v
            && cmd.op == self.op
            && cmd.amount == self.amount
            && cmd.reason == self.reason
            && cmd.actor == self.actor
            && cmd.issued_at == self.issued_at
            && cmd.expires_at == self.expires_at
    }

    /// The command this envelope carries for `user_id` (whether it names the player or not).
    pub fn command_for(&self, user_id: u64) -> Command {
        Command {
            v: self.v,
            txn: self.batch.item_txn(user_id),
            op: self.op,
            user_id,
            amount: self.amount,
            reason: self.reason.clone(),
            actor: self.actor.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            reverses: None,
        }
    }

    /// Every command it carries, in the order of `users`.
    pub fn commands(&self) -> Vec<Command> {
        self.users.iter().map(|&u| self.command_for(u)).collect()
    }

    /// Structural checks (§3.1): at least one player, no player twice, each user id and the
    /// shared fields valid as in a command (§2).
    pub fn validate(&self) -> Result<(), CommandError> {
        let mut seen = HashSet::with_capacity(self.users.len());
        let in_range = 1..=MAX_SAFE_INTEGER.unsigned_abs();
        if self.users.is_empty() || !self.users.iter().all(|u| seen.insert(*u)) {
            return Err(CommandError::Players);
        }
        if !self.users.iter().all(|u| in_range.contains(u)) {
            return Err(CommandError::UserId);
        }
        // The shared fields are checked as one player's command would be.
        self.command_for(self.users[0]).validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn envelope(users: Vec<u64>) -> Envelope {
        Envelope {
            v: 1,
            batch: BatchId::from_parts(1_795_219_200_000, 7),
            op: Op::Give,
            amount: 10,
            reason: "event prize".into(),
            actor: Actor {
                id: "123456789012345678".into(),
                name: "Mod".into(),
            },
            issued_at: 1_795_219_200_000,
            expires_at: 1_795_219_500_000,
            users,
        }
    }

    #[test]
    fn an_item_txn_is_pinned() {
        // Pinned: a change to the derivation would pay every resumed batch's players again
        // (the Python model pins the same value in testdata/batches.json).
        let batch = BatchId::from_parts(1_795_219_200_000, 7);
        let a = batch.item_txn(1001);
        assert_eq!(a.timestamp_ms(), 1_795_219_200_000);
        assert_eq!(a.as_str(), "01M7XPE600TSEBCWH922VG2JT1");
    }

    #[test]
    fn players_must_be_distinct_present_and_in_range() {
        assert_eq!(envelope(vec![1, 2, 3]).validate(), Ok(()));
        assert_eq!(envelope(vec![]).validate(), Err(CommandError::Players));
        assert_eq!(
            envelope(vec![1, 2, 1]).validate(),
            Err(CommandError::Players)
        );
        assert_eq!(envelope(vec![1, 0]).validate(), Err(CommandError::UserId));
        assert_eq!(
            envelope(vec![1 << 53]).validate(),
            Err(CommandError::UserId)
        );
        let mut blank = envelope(vec![1]);
        blank.reason = " ".into();
        assert_eq!(blank.validate(), Err(CommandError::Reason));
    }

    #[test]
    fn an_envelope_carries_only_its_own_items() {
        let env = envelope(vec![5, 6]);
        let cmds = env.commands();
        assert!(cmds.iter().all(|c| env.carries(c)));
        assert_eq!(
            Envelope::from_item(env.batch.clone(), &cmds[1], vec![5, 6]),
            env
        );
        let mut minted = cmds[0].clone();
        minted.txn = TxnId::from_parts(1_795_219_200_000, 99);
        assert!(!env.carries(&minted), "a txn id not derived from the batch");
        let mut later = cmds[0].clone();
        later.issued_at += 1;
        assert!(!env.carries(&later), "another issue time");
        let mut reversal = cmds[0].clone();
        reversal.reverses = Some(TxnId::from_parts(1, 1));
        assert!(!env.carries(&reversal), "a reversal is never packed");
    }

    proptest! {
        #[test]
        fn item_txns_are_stable_and_distinct(seed in any::<u128>(), a in 1u64..=9_007_199_254_740_991, b in 1u64..=9_007_199_254_740_991) {
            let batch = BatchId::from_parts(1_795_219_200_000, seed >> 48);
            prop_assert_eq!(batch.item_txn(a), batch.item_txn(a));
            prop_assert_eq!(batch.item_txn(a) == batch.item_txn(b), a == b);
            let other = BatchId::from_parts(1_795_219_200_000, (seed >> 48) ^ 1);
            prop_assert_ne!(batch.item_txn(a), other.item_txn(a));
            let txn = batch.item_txn(a);
            prop_assert_eq!(txn.as_str().parse::<TxnId>().ok(), Some(txn.clone()));
            prop_assert_ne!(txn.as_str(), batch.as_str());
        }
    }
}
