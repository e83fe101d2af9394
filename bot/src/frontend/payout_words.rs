//! The words of `/payout` (re-exported by `words`): the preview to confirm, the progress line,
//! the summary, a cancel, and the CSV of every player's outcome.

use super::flow::CancelReason;
use super::payout::PayoutPreview;
use super::words::{Card, Dialect, Tone, amount, reject_words};
use crate::service::bulk::{BatchCounts, BatchReport, ItemState};
use crate::service::{Committer, Outcome};

/// How many left-out names or members a card lists before "and N more".
const LISTED: usize = 15;

fn count(n: usize) -> String {
    amount(i64::try_from(n).unwrap_or(i64::MAX))
}

/// `items` joined, at most [`LISTED`] of them, then "and N more".
fn some_of(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        out.push_str(&format!(" and {} more", count(items.len() - LISTED)));
    }
    out
}

/// "3 of 3" when every wallet was read, "about 40 of 1,000 (100 sampled)" otherwise.
fn online_words(p: &PayoutPreview) -> String {
    let o = p.plan.online;
    if o.is_exact() {
        format!("{} of {}", count(o.online), count(o.of))
    } else {
        format!(
            "about {} of {} ({} wallets sampled)",
            count(o.estimate()),
            count(o.of),
            count(o.read)
        )
    }
}

/// The confirmation prompt: players, total, online, who is left out, the batch id.
pub fn payout_preview(p: &PayoutPreview, d: &dyn Dialect) -> Card {
    let plan = &p.plan;
    let players = plan.user_ids.len();
    let mut card = Card::new(
        format!(
            "Pay {} players {} each?",
            count(players),
            amount(plan.amount)
        ),
        Tone::Pending,
    )
    .field("Players", count(players), true)
    .field("Total", amount(plan.total()), true)
    .field("Online now", online_words(p), true)
    .field("Reason", d.typed(&plan.reason, 200), false);
    if let Some(role) = p.role {
        card = card.field("From", d.role(&role.to_string()), false);
    }
    let repeats = p.repeats + plan.duplicates;
    if repeats > 0 {
        card = card.field(
            "Repeats",
            format!("{} left out: each player is paid once", count(repeats)),
            false,
        );
    }
    if !p.unknown.is_empty() {
        let names: Vec<String> = p.unknown.iter().map(|n| d.typed(n, 20)).collect();
        card = card.field(
            format!("Unknown usernames ({}, not paid)", count(names.len())),
            some_of(&names),
            false,
        );
    }
    if !p.unlinked.is_empty() {
        let members: Vec<String> = p
            .unlinked
            .iter()
            .map(|(m, why)| format!("{} ({why})", d.member(&m.to_string())))
            .collect();
        card = card.field(
            format!(
                "Members without a link ({}, not paid)",
                count(members.len())
            ),
            some_of(&members),
            false,
        );
    }
    card.footer(format!(
        "Payout {}: runs at the pace Roblox's DataStore budget allows, keeping the game servers' share.",
        d.code(plan.batch.as_str(), 26)
    ))
}

/// While the batch runs.
pub fn payout_progress(c: &BatchCounts, d: &dyn Dialect) -> Card {
    let _ = d;
    Card::new(
        format!(
            "⏳ Paying: {} of {} done",
            count(c.settled()),
            count(c.players)
        ),
        Tone::Pending,
    )
    .field("Paid", count(c.applied), true)
    .field("Refused", count(c.refused), true)
    .field("Waiting", count(c.pending + c.todo), true)
}

/// The end: counts, the sum paid, and where every player's outcome is (the CSV).
pub fn payout_summary(report: &BatchReport, d: &dyn Dialect) -> Card {
    let c = report.counts();
    let tone = if c.applied == c.players {
        Tone::Applied
    } else if c.applied == 0 {
        Tone::Rejected
    } else {
        Tone::Pending
    };
    let mut card = Card::new(
        format!(
            "Payout done: {} of {} players paid",
            count(c.applied),
            count(c.players)
        ),
        tone,
    )
    .field("Paid in total", amount(c.paid), true)
    .field("Refused", count(c.refused), true)
    .field("Not delivered", count(c.not_delivered), true);
    if c.pending > 0 {
        card = card.field(
            "Still pending",
            format!(
                "{}: settled by the reconciler; see the log channel or /audit",
                count(c.pending)
            ),
            false,
        );
    }
    card.field("Reason", d.typed(&report.batch.reason, 200), false)
        .footer(format!(
            "Payout {} · every player's outcome is in the CSV",
            d.code(report.batch.batch.as_str(), 26)
        ))
}

/// The end of a confirmed payout: [`payout_summary`], and who was left out before Confirm
/// (unknown usernames, members without a link), so the last message says it as the preview did.
pub fn payout_done(p: &PayoutPreview, report: &BatchReport, d: &dyn Dialect) -> Card {
    let card = payout_summary(report, d);
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let (unknown, unlinked) = (p.unknown.len(), p.unlinked.len());
    let mut parts = Vec::new();
    if unknown > 0 {
        parts.push(format!("{} unknown username{}", count(unknown), s(unknown)));
    }
    if unlinked > 0 {
        parts.push(format!(
            "{} member{} without a link",
            count(unlinked),
            s(unlinked)
        ));
    }
    if parts.is_empty() {
        return card;
    }
    card.field(
        "Not in the payout",
        format!("{} (listed before Confirm)", parts.join(", ")),
        false,
    )
}

/// A payout not confirmed.
pub fn payout_cancelled(p: &PayoutPreview, why: CancelReason) -> Card {
    let text = match why {
        CancelReason::ByInvoker => "Cancelled: nothing was sent and nothing moved.".to_owned(),
        CancelReason::TimedOut => {
            "Not confirmed in time: nothing was sent and nothing moved.".to_owned()
        }
        CancelReason::Restarting => {
            "The bot restarted before this was confirmed: nothing was sent and nothing moved."
                .to_owned()
        }
        CancelReason::NotConfirmed { flag, .. } => format!(
            "A payout always needs a confirmation: repeat the command with {flag}. Nothing \
             was sent and nothing moved."
        ),
    };
    Card::new(
        format!(
            "Cancelled: pay {} players {} each",
            count(p.plan.user_ids.len()),
            amount(p.plan.amount)
        ),
        Tone::Duplicate,
    )
    .description(text)
}

/// One CSV row's outcome words: (outcome, balance after, detail).
fn csv_outcome(state: &ItemState) -> (&'static str, String, String) {
    match state {
        ItemState::Todo => ("not_started", String::new(), String::new()),
        ItemState::Refused(why) => ("refused", String::new(), why.clone()),
        ItemState::Issued(outcome) => match outcome.settled() {
            Outcome::Applied {
                balance_after,
                committed_by,
            } => {
                let by = match committed_by {
                    Committer::Bot => "bot".to_owned(),
                    Committer::GameServer(Some(job)) => format!("game server {job}"),
                    Committer::GameServer(None) => "game server".to_owned(),
                };
                ("applied", balance_after.to_string(), by)
            }
            Outcome::Rejected { reason, balance } => (
                "rejected",
                balance.to_string(),
                reject_words(*reason).to_owned(),
            ),
            Outcome::NotDelivered => ("not_delivered", String::new(), String::new()),
            Outcome::Pending | Outcome::AlreadyProcessed { .. } => {
                ("pending", String::new(), String::new())
            }
        },
    }
}

/// A CSV field, quoted when it holds a separator, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Every player's outcome: `user_id,txn_id,outcome,balance_after,detail`, in the order given.
pub fn payout_csv(report: &BatchReport) -> String {
    let mut out = String::from("user_id,txn_id,outcome,balance_after,detail\n");
    for item in &report.items {
        let (outcome, balance, detail) = csv_outcome(&item.state);
        out.push_str(&format!(
            "{},{},{outcome},{balance},{}\n",
            item.user_id,
            item.txn,
            csv_field(&detail)
        ));
    }
    out
}
