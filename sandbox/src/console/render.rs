//! Receipts as Discord shows them: an embed with a title, a colour (here an emoji) and labelled
//! fields, drawn in a text box.

use bot::service::{AuditPage, BalanceView, Committer, Outcome, Receipt};
use shared::{AuditRecord, Op, RecordOutcome, RejectReason};

/// Plain-words rejection reasons.
pub fn reason_text(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::InsufficientFunds => "insufficient funds",
        RejectReason::AmountOutOfRange => "amount out of range",
        RejectReason::BalanceOverflow => "the balance would pass its cap",
        RejectReason::Expired => "expired before a server applied it",
        RejectReason::NotYetValid => "issued in the future (clock skew)",
        RejectReason::Stale => "too old to tell whether it was applied",
    }
}

fn op_title(op: Op) -> &'static str {
    match op {
        Op::Give => "Give",
        Op::Deduct => "Deduct",
    }
}

fn committer_text(by: &Committer) -> String {
    match by {
        Committer::Bot => "the bot (player offline; compare-and-swap write)".to_owned(),
        Committer::GameServer(Some(job)) => format!("game server {job} (live session)"),
        Committer::GameServer(None) => "the game server holding the session".to_owned(),
    }
}

/// An embed: title line and `(label, value)` fields, boxed.
pub fn embed(title: &str, fields: &[(&str, String)]) -> String {
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = format!("╭─ {title}\n");
    for (label, value) in fields {
        for (i, line) in value.lines().enumerate() {
            let label = if i == 0 { *label } else { "" };
            out.push_str(&format!("│ {label:<width$}  {line}\n"));
        }
    }
    out.push_str("╰─");
    out
}

fn signed(op: Op, amount: i64) -> String {
    match op {
        Op::Give => format!("+{amount}"),
        Op::Deduct => format!("−{amount}"),
    }
}

fn outcome_fields(outcome: &Outcome, fields: &mut Vec<(&'static str, String)>) -> String {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => {
            fields.push(("Balance", balance_after.to_string()));
            fields.push(("Saved by", committer_text(committed_by)));
            "✅ applied".to_owned()
        }
        Outcome::Rejected { reason, balance } => {
            fields.push(("Why", reason_text(*reason).to_owned()));
            fields.push(("Balance", format!("{balance} (unchanged)")));
            "⛔ rejected".to_owned()
        }
        Outcome::AlreadyProcessed { original } => {
            let inner = outcome_fields(original, fields);
            fields.push((
                "Note",
                "replay of an earlier txn: nothing changed".to_owned(),
            ));
            format!(
                "↩️ already processed (originally {})",
                inner.trim_start_matches(|c: char| !c.is_alphabetic())
            )
        }
        Outcome::NotDelivered => {
            fields.push((
                "Why",
                "no game server applied it before it expired; nothing moved".to_owned(),
            ));
            "⌛ not delivered".to_owned()
        }
        Outcome::Pending => {
            fields.push((
                "Status",
                "not confirmed yet; the bot keeps following it up (ask again with the txn id)"
                    .to_owned(),
            ));
            "⏳ pending".to_owned()
        }
    }
}

/// A give / deduct receipt.
pub fn receipt(r: &Receipt, reason: &str) -> String {
    let mut fields = vec![(
        "Player",
        format!("{} (@{} · {})", r.user.display_name, r.user.name, r.user.id),
    )];
    fields.push(("Amount", signed(r.op, r.amount)));
    let status = outcome_fields(&r.outcome, &mut fields);
    fields.push(("Reason", reason.to_owned()));
    fields.push(("Txn", r.txn.to_string()));
    embed(&format!("{} — {status}", op_title(r.op)), &fields)
}

/// A refusal before anything moved (Discord answers these ephemerally).
pub fn refusal(command: &str, message: &str) -> String {
    embed(
        &format!("{command} — ⚠️ not done"),
        &[
            ("Why", message.to_owned()),
            ("Changed", "nothing".to_owned()),
        ],
    )
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A `/balance` answer.
pub fn balance(b: &BalanceView) -> String {
    let mut fields = vec![
        (
            "Player",
            format!("{} (@{} · {})", b.user.display_name, b.user.name, b.user.id),
        ),
        ("Balance", b.balance.to_string()),
    ];
    fields.push((
        "As of",
        b.as_of_ms
            .map_or_else(|| "never saved (new wallet)".to_owned(), utc),
    ));
    fields.push((
        "Live",
        if b.in_live_server {
            "in a game server now (its unsaved balance may be newer)".to_owned()
        } else {
            "not in a game server".to_owned()
        },
    ));
    embed("💰 Balance", &fields)
}

fn record_outcome(r: &AuditRecord) -> String {
    match (r.outcome, r.reject_reason) {
        (RecordOutcome::Applied, _) => "applied".to_owned(),
        (RecordOutcome::Rejected, Some(reason)) => format!("rejected ({})", reason_text(reason)),
        (RecordOutcome::Rejected, None) => "rejected".to_owned(),
    }
}

/// One audit record as a line.
pub fn audit_line(r: &AuditRecord) -> String {
    let by = match (&r.actor_name, &r.server_job_id) {
        (Some(actor), Some(job)) => format!("{actor} via server {}", short_job(job)),
        (Some(actor), None) => format!("{actor} via bot"),
        (None, Some(job)) => format!("game on server {}", short_job(job)),
        (None, None) => r.source.as_str().to_owned(),
    };
    format!(
        "{}  {}  user {}  {} {}  {} → {}  by {}  {:?}",
        utc(r.applied_at),
        r.txn_id,
        r.user_id,
        r.op.as_str(),
        r.amount,
        record_outcome(r),
        r.balance_after,
        by,
        r.reason
    )
}

fn short_job(job: &str) -> &str {
    job.get(..8).unwrap_or(job)
}

/// An `/audit` page (newest first) with the cursor of the next page.
pub fn audit_page(page: &AuditPage, shown_filter: &str) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    if page.records.is_empty() {
        fields.push(("Records", "none".to_owned()));
    } else {
        let lines: Vec<String> = page.records.iter().map(audit_line).collect();
        fields.push(("Records", lines.join("\n")));
    }
    if let Some(cursor) = &page.next_cursor {
        fields.push(("Next page", format!("/audit cursor:{cursor}")));
    }
    embed(
        &format!(
            "📜 Audit log{shown_filter} — {} newest first",
            page.records.len()
        ),
        &fields,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bot::service::RobloxUser;
    use shared::TxnId;

    fn receipt_of(outcome: Outcome) -> Receipt {
        Receipt {
            txn: TxnId::generate(),
            user: RobloxUser {
                id: 1001,
                name: "amber_1001".into(),
                display_name: "Amber".into(),
            },
            op: Op::Give,
            amount: 10,
            outcome,
        }
    }

    #[test]
    fn receipts_name_player_amount_outcome_and_txn() {
        let r = receipt_of(Outcome::Applied {
            balance_after: 110,
            committed_by: Committer::GameServer(Some("job-1".into())),
        });
        let text = receipt(&r, "event prize");
        assert!(text.starts_with("╭─ Give — ✅ applied"), "{text}");
        for part in [
            "Amber (@amber_1001 · 1001)",
            "+10",
            "110",
            "game server job-1",
            "event prize",
        ] {
            assert!(text.contains(part), "{part} missing in\n{text}");
        }
        assert!(text.contains(&r.txn.to_string()));
    }

    #[test]
    fn every_outcome_reads_differently() {
        let texts: Vec<String> = [
            Outcome::Rejected {
                reason: RejectReason::InsufficientFunds,
                balance: 3,
            },
            Outcome::AlreadyProcessed {
                original: Box::new(Outcome::Applied {
                    balance_after: 5,
                    committed_by: Committer::Bot,
                }),
            },
            Outcome::NotDelivered,
            Outcome::Pending,
        ]
        .into_iter()
        .map(|o| receipt(&receipt_of(o), "x"))
        .collect();
        assert!(texts[0].contains("⛔ rejected") && texts[0].contains("insufficient funds"));
        assert!(
            texts[1].contains("already processed (originally applied)"),
            "{}",
            texts[1]
        );
        assert!(texts[1].contains("nothing changed") && texts[1].contains("the bot"));
        assert!(texts[2].contains("not delivered") && texts[2].contains("nothing moved"));
        assert!(texts[3].contains("pending"));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_132_800_000), "2026-11-20 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
