//! Bulk payouts (issue 18): one amount and one reason to many players, as one batch.
//!
//! The rules (the runner is `Service::plan_batch` / `start_batch` / `run_batch` /
//! `resume_batches` in `txn/batch.rs`):
//! - a batch has one id (a ULID) and one txn per distinct player, its id derived from (batch
//!   id, player id) ([`shared::BatchId::item_txn`], docs/protocol.md §3.1), so a retried or
//!   resumed batch never pays a player twice; a player named twice is paid once;
//! - online players' first publishes are packed into batch envelopes ([`packer`]), several
//!   players signed once, within the messaging budget;
//! - an empty list and a list longer than [`BulkConfig::max_items`] are refused; the per-role
//!   maximum applies to each player's amount, the daily cap to the batch's total, the cooldown
//!   to the batch's start (not between its own items);
//! - the batch and every item's state live in the bot's database ([`store`], migration 0008)
//!   before the first payment, and a restart resumes every unfinished batch;
//! - items start at the pace of [`budget::WriteBudget`]: the experience's DataStore write
//!   budget less the share kept for the game servers, paused on a 429's `Retry-After`.

pub mod budget;
pub mod packer;
pub mod store;

pub use budget::{BulkConfig, WriteBudget};
pub use shared::BatchId;
pub use store::{ItemState, StoredBatch, StoredItem};

use super::outcome::{ActorCtx, Outcome};
use super::ports::BoxFut;

/// A bulk payout as asked: the players by Roblox id (names already resolved by the front end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    /// Who pays.
    pub actor: ActorCtx,
    /// What each player gets.
    pub amount: i64,
    /// Why (one reason for all).
    pub reason: String,
    /// The players, possibly with repeats (each is paid once).
    pub user_ids: Vec<u64>,
}

/// How many of the players a preview found in a live game server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineSample {
    /// Wallets read (all players up to [`ONLINE_SAMPLE`], else an even sample of them).
    pub read: usize,
    /// Of those, held by a live game server.
    pub online: usize,
    /// Players in the batch.
    pub of: usize,
}

/// Most wallets a preview reads to say how many players are online (reads cost budget too).
pub const ONLINE_SAMPLE: usize = 100;

impl OnlineSample {
    /// Whether every player's wallet was read (the figure is a count, not an estimate).
    pub fn is_exact(&self) -> bool {
        self.read == self.of
    }

    /// Players online: the count, or the sample scaled to the batch (rounded).
    pub fn estimate(&self) -> usize {
        if self.read == 0 {
            return 0;
        }
        (self.online * self.of + self.read / 2) / self.read
    }
}

/// A checked batch, not yet stored: what the preview shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    /// The batch id (its players' txn ids derive from it).
    pub batch: BatchId,
    /// Who pays.
    pub actor: ActorCtx,
    /// What each player gets.
    pub amount: i64,
    /// Why.
    pub reason: String,
    /// The distinct players, in the order first named.
    pub user_ids: Vec<u64>,
    /// Repeats left out (each player is paid once).
    pub duplicates: usize,
    /// How many are online.
    pub online: OnlineSample,
}

impl BatchPlan {
    /// The batch's total: amount × players.
    pub fn total(&self) -> i64 {
        batch_total(self.amount, self.user_ids.len())
    }
}

/// amount × players, saturating (the daily cap refuses a total that large anyway).
pub fn batch_total(amount: i64, players: usize) -> i64 {
    amount.saturating_mul(i64::try_from(players).unwrap_or(i64::MAX))
}

/// One player's result in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReport {
    /// Roblox user id.
    pub user_id: u64,
    /// Its txn id.
    pub txn: shared::TxnId,
    /// Where it stands.
    pub state: ItemState,
}

/// Counts of a batch's items by where they stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Players in the batch.
    pub players: usize,
    /// Paid.
    pub applied: usize,
    /// Refused by the wallet (e.g. the balance cap) or before a txn existed (e.g. daily cap).
    pub refused: usize,
    /// Expired before any server or the bot applied it (nothing moved).
    pub not_delivered: usize,
    /// Issued, outcome not known yet (the reconciler settles it).
    pub pending: usize,
    /// Not issued yet.
    pub todo: usize,
    /// Sum paid.
    pub paid: i64,
}

impl BatchCounts {
    /// Counts of `items`, each paid `amount` when applied.
    pub fn of<'a>(items: impl IntoIterator<Item = &'a ItemState>, amount: i64) -> Self {
        let mut c = Self::default();
        for state in items {
            c.add(state, amount);
        }
        c
    }

    /// Counts one more item.
    pub fn add(&mut self, state: &ItemState, amount: i64) {
        self.players += 1;
        match state {
            ItemState::Todo => self.todo += 1,
            ItemState::Refused(_) => self.refused += 1,
            ItemState::Issued(outcome) => match outcome.settled() {
                Outcome::Applied { .. } => {
                    self.applied += 1;
                    self.paid = self.paid.saturating_add(amount);
                }
                Outcome::Rejected { .. } => self.refused += 1,
                Outcome::NotDelivered => self.not_delivered += 1,
                Outcome::Pending | Outcome::AlreadyProcessed { .. } => self.pending += 1,
            },
        }
    }

    /// Counts `new` in place of `old` (an item moved on).
    pub fn replace(&mut self, old: &ItemState, new: &ItemState, amount: i64) {
        let mut gone = Self::default();
        gone.add(old, amount);
        self.add(new, amount);
        self.players -= gone.players;
        self.applied -= gone.applied;
        self.refused -= gone.refused;
        self.not_delivered -= gone.not_delivered;
        self.pending -= gone.pending;
        self.todo -= gone.todo;
        self.paid = self.paid.saturating_sub(gone.paid);
    }

    /// Items with a final answer (everything but to-do and pending).
    pub fn settled(&self) -> usize {
        self.players - self.todo - self.pending
    }
}

/// A batch and every player's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch as stored.
    pub batch: StoredBatch,
    /// Its players in the order given.
    pub items: Vec<ItemReport>,
}

impl BatchReport {
    /// Counts by where the items stand.
    pub fn counts(&self) -> BatchCounts {
        BatchCounts::of(self.items.iter().map(|i| &i.state), self.batch.amount)
    }
}

/// How a front end follows a running batch: told after each item settles or is issued.
pub trait BatchProgress: Send {
    /// The counts so far (a front end redraws at its own pace).
    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()>;
}

/// Follows a batch without showing anything (a batch resumed on startup).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl BatchProgress for Silent {
    fn progress<'a>(&'a mut self, _counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        Box::pin(async {})
    }
}
