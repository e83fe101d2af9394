//! The invariants every run must keep (docs/architecture.md, "Invariants"), checked after the
//! settle phase against the ground truth: the stored wallets, the audit API's rows, the bot's
//! database and what the bot reported.
//!
//! 1. at most one writer per wallet at every DataStore write (the store's write hook, on every
//!    write of the servers and of the bot);
//! 2. no txn applied twice (one audit row per txn, one "committed" announcement, one RemoteEvent);
//! 3. balance = Σ applied movements of the wallet's audit rows;
//! 4. the bot never reports a txn applied that is not committed, nor rejected / not delivered
//!    one that was (every receipt and every settled outcome in its database);
//! 5. every committed txn (ring entry) has exactly one audit row, and they agree;
//! 6. the audit chain verifies;
//! 7. nothing left: no outbox record in a wallet, no pending txn or unacknowledged record in the
//!    bot's database; no Luau script error.

use std::collections::{BTreeMap, HashMap};

use bot::service::Outcome;
use bot::service::db::TxnRow;
use shared::{Op, RecordOutcome, Source, TxnId};

use crate::error::HarnessError;
use crate::run::Driver;
use crate::schedule::USERS;
use crate::view;

/// Every txn id in the bot's database (SQLite at `url`).
pub async fn txn_ids(url: &str) -> Result<Vec<TxnId>, HarnessError> {
    use sqlx::Row as _;
    let pool = sqlx::SqlitePool::connect(url)
        .await
        .map_err(|e| HarnessError::Bot(e.to_string()))?;
    let rows = sqlx::query("SELECT txn_id FROM txns ORDER BY created_at")
        .fetch_all(&pool)
        .await
        .map_err(|e| HarnessError::Bot(e.to_string()))?;
    pool.close().await;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0).map_err(|e| HarnessError::Bot(e.to_string()))?;
            id.parse::<TxnId>()
                .map_err(|e| HarnessError::Bot(format!("txn id {id:?}: {e}")))
        })
        .collect()
}

/// What the ground truth says of a txn the bot reported on.
fn judge(
    what: &str,
    txn: &TxnId,
    outcome: &Outcome,
    rows: &HashMap<String, &api::LoggedRecord>,
) -> Option<String> {
    let row = rows.get(txn.as_str());
    let applied_row = row.filter(|r| r.record.outcome == RecordOutcome::Applied);
    match outcome.settled() {
        Outcome::Applied { balance_after, .. } => match applied_row {
            None => Some(format!(
                "{what}: txn {txn} reported applied (balance {balance_after}) but not committed as applied ({:?})",
                row.map(|r| r.record.outcome)
            )),
            Some(r) if r.record.balance_after != *balance_after => Some(format!(
                "{what}: txn {txn} reported balance {balance_after}, committed {}",
                r.record.balance_after
            )),
            Some(_) => None,
        },
        Outcome::Rejected { reason, .. } => applied_row.map(|_| {
            format!("{what}: txn {txn} reported rejected ({reason:?}) but it was applied")
        }),
        Outcome::NotDelivered => applied_row
            .map(|_| format!("{what}: txn {txn} reported not delivered but it was applied")),
        Outcome::Pending | Outcome::AlreadyProcessed { .. } => None,
    }
}

/// Checks a settled run; the violations found.
pub(crate) async fn check(d: &mut Driver) -> Vec<String> {
    let mut out = Vec::new();
    for v in d.u.violations() {
        out.push(format!(
            "single writer: {} at {} on {}: {}",
            v.invariant, v.at_ms, v.key, v.detail
        ));
    }
    if d.u.script_errors() != 0 {
        out.push(format!("{} Luau script errors", d.u.script_errors()));
    }
    let rows = match d.api.rows().await {
        Ok(r) => r,
        Err(e) => {
            out.push(format!("harness: {e}"));
            return out;
        }
    };
    d.stats.audit_rows = rows.len();
    match d.api.ops_client().verify().await {
        Ok(rep) if rep.ok => {}
        Ok(rep) => out.push(format!("audit chain broken: {:?}", rep.first_broken)),
        Err(e) => out.push(format!("audit chain not verifiable: {e}")),
    }
    let mut per_txn: HashMap<String, usize> = HashMap::new();
    let mut by_txn: HashMap<String, &api::LoggedRecord> = HashMap::new();
    let mut sums: BTreeMap<u64, i64> = BTreeMap::new();
    for r in &rows {
        *per_txn.entry(r.record.txn_id.to_string()).or_default() += 1;
        by_txn.insert(r.record.txn_id.to_string(), r);
        if r.record.outcome == RecordOutcome::Applied {
            let delta = match r.record.op {
                Op::Give => r.record.amount,
                Op::Deduct => -r.record.amount,
            };
            *sums.entry(r.record.user_id).or_default() += delta;
        }
    }
    if let Some((t, n)) = per_txn.iter().find(|(_, n)| **n != 1) {
        out.push(format!("txn {t} has {n} audit rows"));
    }
    for uid in 1..=USERS {
        if view::stored(&d.u, uid).is_none() {
            if sums.get(&uid).copied().unwrap_or(0) != 0 {
                out.push(format!("user {uid}: applied rows but no wallet"));
            }
            continue;
        }
        let balance = view::data(&d.u, uid)["balance"].as_i64().unwrap_or(0);
        let sum = sums.get(&uid).copied().unwrap_or(0);
        if balance != sum {
            out.push(format!(
                "user {uid}: balance {balance} != sum of applied rows {sum}"
            ));
        }
        if !view::outbox(&d.u, uid).is_empty() {
            out.push(format!("user {uid}: outbox not empty"));
        }
        for entry in view::ring(&d.u, uid) {
            let id = entry["id"].as_str().unwrap_or_default();
            match by_txn.get(id) {
                None => out.push(format!("committed txn {id} has no audit row")),
                Some(row) if Some(row.record.balance_after) != entry["balanceAfter"].as_i64() => {
                    out.push(format!("txn {id}: audit row and ring disagree"));
                }
                Some(_) => {}
            }
        }
    }
    // No server announced a txn twice, nor fired the RemoteEvent twice.
    let mut committed: HashMap<String, usize> = HashMap::new();
    for line in view::bridge_lines(&d.u, "committed txn ") {
        if let Some(id) = line.split_whitespace().nth(3) {
            *committed.entry(id.to_owned()).or_default() += 1;
        }
    }
    if let Some((t, n)) = committed.iter().find(|(_, n)| **n > 1) {
        out.push(format!("txn {t} announced {n} times"));
    }
    for r in &rows {
        let fires = view::remote_fires(&d.u, r.record.user_id, r.record.txn_id.as_str());
        if fires > 1 {
            out.push(format!(
                "txn {} fired the RemoteEvent {fires} times",
                r.record.txn_id
            ));
        }
    }
    // What the bot said, against what happened.
    let bot_rows: Vec<TxnRow> = match d.bot_txns().await {
        Ok(r) => r,
        Err(e) => {
            out.push(format!("harness: {e}"));
            return out;
        }
    };
    let reported = d
        .reported
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for rep in &reported {
        if let Some(v) = judge("receipt", &rep.txn, &rep.outcome, &by_txn) {
            out.push(format!("{v} (said at {:.1}s)", rep.at_s));
        }
    }
    for row in &bot_rows {
        match &row.outcome {
            Outcome::Pending => out.push(format!("txn {} still pending after settling", row.txn)),
            Outcome::Applied { .. } => d.stats.applied += 1,
            Outcome::Rejected { .. } => d.stats.rejected += 1,
            Outcome::NotDelivered => d.stats.not_delivered += 1,
            Outcome::AlreadyProcessed { .. } => {}
        }
        if let Some(v) = judge("bot database", &row.txn, &row.outcome, &by_txn) {
            out.push(v);
        }
    }
    if let Some(bot) = d.bot_unacked().await {
        if bot > 0 {
            out.push(format!(
                "{bot} audit records of the bot still unacknowledged"
            ));
        }
    }
    // Every Discord row is a txn the bot issued.
    for r in &rows {
        if r.record.source == Source::Discord && !bot_rows.iter().any(|b| b.txn == r.record.txn_id)
        {
            out.push(format!(
                "audit row for a txn the bot never issued: {}",
                r.record.txn_id
            ));
        }
    }
    if rows.is_empty() {
        out.push("no audit rows at all: the run exercised nothing".into());
    }
    out
}
