//! The shared words (`bot::frontend::words`) drawn as Discord shows them: an embed with a title,
//! labelled fields and small print, in a text box.

use bot::frontend::CancelReason;
use bot::frontend::flow::{AuditAnswer, TotalsAnswer};
use bot::frontend::link::LinkChange;
use bot::frontend::words::{self, Card, PlainText};
use bot::links::MemberLink;
use bot::service::names::Names;
use bot::service::{AuditPage, BalanceView, Receipt};
use shared::Op;

/// How the console writes the shared words: plain text, options as `name:…`.
pub const DIALECT: PlainText = PlainText {
    option: |name| format!("{name}:…"),
};

/// An embed: title line and `(label, value)` fields, boxed.
pub fn embed(title: &str, fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
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

/// Longest label drawn beside its value; longer ones (an audit record's headline) get a line of
/// their own so the values stay readable.
const LABEL_MAX: usize = 16;

/// A shared card, boxed: the description and the small print as unlabelled lines.
pub fn card(card: &Card) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(d) = &card.description {
        fields.push(("", d.clone()));
    }
    for f in &card.fields {
        if f.name.chars().count() > LABEL_MAX {
            fields.push(("", f.name.clone()));
            let indented: Vec<String> = f.value.lines().map(|l| format!("  {l}")).collect();
            fields.push(("", indented.join("\n")));
        } else {
            fields.push((f.name.as_str(), f.value.clone()));
        }
    }
    if let Some(f) = &card.footer {
        fields.push(("", f.clone()));
    }
    embed(&card.title, &fields)
}

/// A give / deduct receipt, with the reason it was given for.
pub fn receipt(r: &Receipt, reason: &str, member: Option<&MemberLink>) -> String {
    let c = words::receipt(r, Some(reason), &DIALECT);
    card(&match member {
        Some(link) => c.with_member(link, &DIALECT),
        None => c,
    })
}

/// A balance, with the member the player was named through.
pub fn balance_of(b: &BalanceView, member: Option<&MemberLink>) -> String {
    let c = words::balance(b, &DIALECT);
    card(&match member {
        Some(link) => c.with_member(link, &DIALECT),
        None => c,
    })
}

/// A staff link set or removed.
pub fn link_change(change: &LinkChange, actor_id: &str) -> String {
    card(&words::link_change(change, actor_id, &DIALECT))
}

/// A give / deduct that was not confirmed.
pub fn cancelled(op: Op, amount: i64, why: CancelReason) -> String {
    card(&words::cancelled(op, amount, why))
}

/// A command that did not go through (Discord answers these ephemerally).
pub fn refusal(command: &str, message: &str) -> String {
    let mut c = words::not_done(message, &DIALECT);
    c.title = format!("{command} — {}", c.title);
    card(&c)
}

/// A `/balance` answer.
pub fn balance(b: &BalanceView) -> String {
    card(&words::balance(b, &DIALECT))
}

/// An `/audit` page (newest first) under `filter` ("All movements" when empty), with the
/// command that shows the next page.
pub fn audit_page(page: &AuditPage, filter: &str) -> String {
    audit_page_named(page, &Names::new(), filter)
}

/// [`audit_page`] with the players' usernames next to their ids when `names` has them.
pub fn audit_page_named(page: &AuditPage, names: &Names, filter: &str) -> String {
    let filter = if filter.is_empty() {
        "All movements"
    } else {
        filter
    };
    let more = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/audit cursor:{c}"));
    card(&words::audit_page(
        filter,
        &page.records,
        names,
        more.as_deref(),
        200,
        &DIALECT,
    ))
}

/// An `/audit` answer, its filter in the shared words.
pub fn audit_answer(a: &AuditAnswer) -> String {
    let filter = words::audit_filter(a.player.as_ref(), a.query.actor_id.as_deref(), &DIALECT);
    audit_page_named(&a.page, &a.names, &filter)
}

/// An `/audit totals:yes` answer.
pub fn totals_answer(a: &TotalsAnswer) -> String {
    let filter = words::audit_filter(a.player.as_ref(), a.actor.as_deref(), &DIALECT);
    card(&words::audit_totals(&filter, a, &DIALECT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bot::service::{Committer, Outcome, RobloxUser};
    use shared::{RejectReason, TxnId};

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
            reverses: None,
        }
    }

    #[test]
    fn receipts_name_player_amount_outcome_and_txn() {
        let r = receipt_of(Outcome::Applied {
            balance_after: 110,
            committed_by: Committer::GameServer(Some("job-1".into())),
        });
        let text = receipt(&r, "event prize", None);
        assert!(text.starts_with("╭─ ✅ Applied: Give 10"), "{text}");
        for part in [
            "Amber (@amber_1001, 1001)",
            "Amount       10",
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
        .map(|o| receipt(&receipt_of(o), "x", None))
        .collect();
        assert!(texts[0].contains("⛔ Rejected") && texts[0].contains("insufficient funds"));
        assert!(
            texts[1].contains("already processed (Applied)"),
            "{}",
            texts[1]
        );
        assert!(texts[1].contains("nothing changed") && texts[1].contains("the bot"));
        assert!(texts[2].contains("Not delivered") && texts[2].contains("nothing moved"));
        assert!(texts[3].contains("Pending") && texts[3].contains("txn:…"));
    }

    #[test]
    fn a_refusal_names_the_command_and_the_shared_message() {
        let text = refusal("/give", "`user` is not a Roblox username");
        assert!(text.starts_with("╭─ /give — Not done"), "{text}");
        assert!(text.contains("`user` is not a Roblox username"), "{text}");
    }
}
