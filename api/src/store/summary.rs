//! The running totals kept beside the log (migrations `0004_totals_summary` on SQLite,
//! `0002_totals_summary` on PostgreSQL): per hour of `appliedAt` × actor and per hour × user, the
//! seven counters the totals query answers. Both backends' writers add a group's rows to them in
//! the same transaction as the insert, so a committed log and its summary never disagree; the
//! totals query reads whole hours from them and only the partial hours at a range's ends from the
//! log (`totals`).
//!
//! The amounts are kept in the same two halves the query sums (`totals` module docs), so a summary
//! cell never overflows and a total built from cells equals the one built from rows.

use crate::chain::LogRow;
use std::collections::BTreeMap;

/// One hour in milliseconds: the summary's time bucket (`applied_at / HOUR_MS`, appliedAt >= 1).
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// Where an amount is split into its high and low halves.
pub(crate) const SPLIT_BITS: u32 = 26;
/// The actor key of game-server records (no actor): actor ids are 1-20 digits, never empty.
pub(crate) const NO_ACTOR: &str = "";

/// The seven counters in column order: given high/low, deducted high/low, gives, deducts,
/// rejected.
pub(crate) type Counters = [i64; 7];

/// What one row adds to the counters (only applied records move money; rejected ones count).
pub(crate) fn counters_of(r: &LogRow) -> Counters {
    let (hi, lo) = (r.amount >> SPLIT_BITS, r.amount & ((1 << SPLIT_BITS) - 1));
    match (r.outcome.as_str(), r.op.as_str()) {
        ("applied", "give") => [hi, lo, 0, 0, 1, 0, 0],
        ("applied", "deduct") => [0, 0, hi, lo, 0, 1, 0],
        ("rejected", _) => [0, 0, 0, 0, 0, 0, 1],
        _ => [0; 7],
    }
}

fn add(into: &mut Counters, c: Counters) {
    for (a, b) in into.iter_mut().zip(c) {
        *a += b;
    }
}

/// The cells a group of rows adds to, per (hour, actor key) and per (hour, user), in key order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SummaryDelta {
    /// (hour, actor id or [`NO_ACTOR`]) → counters.
    pub by_actor: Vec<((i64, String), Counters)>,
    /// (hour, user id) → counters.
    pub by_user: Vec<((i64, i64), Counters)>,
}

impl SummaryDelta {
    /// Adds up `rows` per cell.
    pub(crate) fn of(rows: &[LogRow]) -> Self {
        let mut actor: BTreeMap<(i64, String), Counters> = BTreeMap::new();
        let mut user: BTreeMap<(i64, i64), Counters> = BTreeMap::new();
        for r in rows {
            let hour = r.applied_at.div_euclid(HOUR_MS);
            let c = counters_of(r);
            let key = r.actor_id.clone().unwrap_or_else(|| NO_ACTOR.to_owned());
            add(actor.entry((hour, key)).or_default(), c);
            add(user.entry((hour, r.user_id)).or_default(), c);
        }
        Self {
            by_actor: actor.into_iter().collect(),
            by_user: user.into_iter().collect(),
        }
    }
}

/// `SET` list of an upsert into `table` that adds the incoming counters to the stored cell.
pub(crate) fn add_counters(table: &str) -> String {
    [
        "given_hi",
        "given_lo",
        "deducted_hi",
        "deducted_lo",
        "gives",
        "deducts",
        "rejected",
    ]
    .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        user: i64,
        actor: Option<&str>,
        op: &str,
        outcome: &str,
        amount: i64,
        at: i64,
    ) -> LogRow {
        LogRow {
            seq: 1,
            txn_id: String::new(),
            source: String::new(),
            user_id: user,
            op: op.into(),
            amount,
            outcome: outcome.into(),
            reject_reason: None,
            balance_after: 0,
            reason: String::new(),
            actor_id: actor.map(str::to_owned),
            actor_name: None,
            server_job_id: None,
            reverses: None,
            issued_at: at,
            applied_at: at,
            received_at: at,
            key_id: String::new(),
            prev_hash: Vec::new(),
            row_hash: Vec::new(),
        }
    }

    #[test]
    fn rows_add_to_their_hour_and_key_and_rejected_ones_only_count() {
        let big = (3 << SPLIT_BITS) + 5;
        let rows = [
            row(7, Some("42"), "give", "applied", big, HOUR_MS - 1),
            row(7, Some("42"), "deduct", "applied", 4, HOUR_MS - 1),
            row(7, None, "give", "applied", 2, HOUR_MS),
            row(8, Some("42"), "deduct", "rejected", -9, HOUR_MS + 1),
        ];
        let d = SummaryDelta::of(&rows);
        assert_eq!(
            d.by_actor,
            vec![
                ((0, "42".into()), [3, 5, 0, 4, 1, 1, 0]),
                ((1, NO_ACTOR.into()), [0, 2, 0, 0, 1, 0, 0]),
                ((1, "42".into()), [0, 0, 0, 0, 0, 0, 1]),
            ]
        );
        assert_eq!(
            d.by_user,
            vec![
                ((0, 7), [3, 5, 0, 4, 1, 1, 0]),
                ((1, 7), [0, 2, 0, 0, 1, 0, 0]),
                ((1, 8), [0, 0, 0, 0, 0, 0, 1]),
            ]
        );
    }
}
