//! The words of `/audit` answers (re-exported by `words`): the filter, record lines with player
//! names next to ids, a page of records, and the totals view over a range.

use super::flow::TotalsAnswer;
use super::words::{Card, Dialect, Tone, amount, player_line, reject_words, verb};
use crate::service::names::Names;
use crate::service::{RobloxUser, Sums};
use shared::{AuditRecord, RecordOutcome};

/// What an audit page is filtered by: "player …, by …" or "All movements".
pub fn audit_filter(player: Option<&RobloxUser>, actor: Option<&str>, d: &dyn Dialect) -> String {
    let mut filter = Vec::new();
    if let Some(p) = player {
        filter.push(format!("player {}", player_line(p, d)));
    }
    if let Some(a) = actor {
        filter.push(format!("by {}", d.member(a)));
    }
    if filter.is_empty() {
        "All movements".to_owned()
    } else {
        filter.join(", ")
    }
}

/// A player by id, with the username when it is known: "user 1001 (@alice)" or "user 1001".
pub fn user_with_name(id: u64, names: &Names, d: &dyn Dialect) -> String {
    match names.get(&id) {
        Some(name) => format!("user {id} (@{})", d.typed(name, 20)),
        None => format!("user {id}"),
    }
}

/// One audit record: a headline and the details (time, balance, who, reason, txn id), with the
/// reason cut to `reason_chars`.
pub fn record_line(r: &AuditRecord, reason_chars: usize, d: &dyn Dialect) -> (String, String) {
    record_line_named(r, &Names::new(), reason_chars, d)
}

/// [`record_line`] with the player's username next to the id when `names` has it.
pub fn record_line_named(
    r: &AuditRecord,
    names: &Names,
    reason_chars: usize,
    d: &dyn Dialect,
) -> (String, String) {
    let outcome = match (r.outcome, r.reject_reason) {
        (RecordOutcome::Applied, _) => "applied".to_owned(),
        (RecordOutcome::Rejected, Some(reason)) => format!("rejected ({})", reject_words(reason)),
        (RecordOutcome::Rejected, None) => "rejected".to_owned(),
    };
    // A reversal names its original on the record's own line, so an investigation sees the pair.
    let reversal = match &r.reverses {
        Some(original) => format!(" · reversal of {}", d.code(original.as_str(), 26)),
        None => String::new(),
    };
    let by = match (&r.actor_name, &r.actor_id) {
        (Some(name), Some(id)) => format!("{} ({})", d.typed(name, 32), d.code(id, 20)),
        (Some(name), None) => d.typed(name, 32),
        _ => r.source.as_str().to_owned(),
    };
    (
        format!(
            "{} {} · {} · {outcome}{reversal}",
            verb(r.op),
            amount(r.amount),
            user_with_name(r.user_id, names, d)
        ),
        format!(
            "{} · balance {} · by {by}\n{}\n{}",
            d.time(r.applied_at),
            amount(r.balance_after),
            d.typed(&r.reason, reason_chars),
            d.code(r.txn_id.as_str(), 26)
        ),
    )
}

/// One audit page, newest first; `more` says how to reach older records when there are some.
pub fn audit_page(
    filter: &str,
    records: &[AuditRecord],
    names: &Names,
    more: Option<&str>,
    reason_chars: usize,
    d: &dyn Dialect,
) -> Card {
    let mut card = Card::new("Audit log", Tone::Info).description(if records.is_empty() {
        format!("{filter}: no records.")
    } else {
        format!("{filter}: {} record(s), newest first.", records.len())
    });
    for r in records {
        let (name, value) = record_line_named(r, names, reason_chars, d);
        card = card.field(name, value, false);
    }
    if let Some(how) = more {
        card = card.footer(format!("Older records exist: {how}."));
    }
    card
}

/// A range in words: "from … to …", "from …", "before …" or "all time".
pub fn range_words(since: Option<i64>, until: Option<i64>, d: &dyn Dialect) -> String {
    match (since, until) {
        (Some(s), Some(u)) => format!("from {} to {}", d.time(s), d.time(u)),
        (Some(s), None) => format!("from {} on", d.time(s)),
        (None, Some(u)) => format!("before {}", d.time(u)),
        (None, None) => "all time".to_owned(),
    }
}

/// Counters in words: "given 1,200 (3) · deducted 50 (1) · 2 rejected".
pub fn sums_line(s: &Sums) -> String {
    let mut line = format!(
        "given {} ({}) · deducted {} ({})",
        amount(s.given),
        s.gives,
        amount(s.deducted),
        s.deducts
    );
    if s.rejected > 0 {
        line.push_str(&format!(" · {} rejected", s.rejected));
    }
    line
}

/// The totals view of `/audit`: the overall sums, then one line per staff member and per player
/// (largest first), the players' usernames next to their ids when known.
pub fn audit_totals(filter: &str, a: &TotalsAnswer, d: &dyn Dialect) -> Card {
    let o = &a.by_actor.overall;
    let mut card = Card::new("Audit totals", Tone::Info).description(format!(
        "{filter}, {}: {}.",
        range_words(a.since, a.until, d),
        sums_line(o)
    ));
    if o.gives + o.deducts + o.rejected == 0 {
        return card;
    }
    for g in &a.by_actor.groups {
        let who = match (&g.actor_id, &g.actor_name) {
            (Some(id), Some(name)) => format!("Staff {} ({})", d.typed(name, 32), d.code(id, 20)),
            (Some(id), None) => format!("Staff {}", d.code(id, 20)),
            (None, _) => "Game servers".to_owned(),
        };
        card = card.field(who, sums_line(&g.sums), false);
    }
    for g in &a.by_player.groups {
        if let Some(id) = g.user_id.and_then(|u| u64::try_from(u).ok()) {
            card = card.field(
                format!("Player {}", user_with_name(id, &a.names, d)),
                sums_line(&g.sums),
                false,
            );
        }
    }
    if a.by_actor.more || a.by_player.more {
        card = card.footer(d.prose(
            "Only the largest are listed: narrow the range, or ask for one `user` or `actor`.",
            200,
        ));
    }
    card
}
