//! Pure rendering: receipts, balances, audit pages, confirmation prompts, log-channel posts and
//! error messages as serenity builders. No I/O, so every variant is tested without a gateway.

use super::confirm::{CancelReason, custom_ids};
use crate::service::{BalanceView, Committer, Outcome, Receipt, RobloxUser, SettledTxn};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, Timestamp,
};
use shared::{AuditRecord, Op, RecordOutcome, RejectReason};
use std::time::Duration;

/// Discord's embed limits (message.mdx).
pub mod limits {
    /// Title.
    pub const TITLE: usize = 256;
    /// Description.
    pub const DESCRIPTION: usize = 4096;
    /// Fields per embed.
    pub const FIELDS: usize = 25;
    /// Field name.
    pub const FIELD_NAME: usize = 256;
    /// Field value.
    pub const FIELD_VALUE: usize = 1024;
    /// Footer text.
    pub const FOOTER: usize = 2048;
    /// All text of one embed.
    pub const TOTAL: usize = 6000;
}

/// Colours by outcome.
mod colour {
    pub const APPLIED: u32 = 0x2e_cc_71;
    pub const REJECTED: u32 = 0xe7_4c_3c;
    pub const DUPLICATE: u32 = 0x95_a5_a6;
    pub const PENDING: u32 = 0xf1_c4_0f;
    pub const NOT_DELIVERED: u32 = 0x99_2d_22;
    pub const INFO: u32 = 0x34_98_db;
}

/// Escapes Discord markdown and mentions in text typed by people (names, reasons), and cuts it
/// to `max` characters.
pub fn plain(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 2));
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space after @ keeps @everyone / @here from pinging.
            '@' => out.push_str("@\u{200b}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Roblox player as shown on every embed: display name (@username, id).
pub fn player_line(user: &RobloxUser) -> String {
    format!(
        "{} (@{}, `{}`)",
        plain(&user.display_name, 40),
        plain(&user.name, 40),
        user.id
    )
}

fn verb(op: Op) -> &'static str {
    match op {
        Op::Give => "Give",
        Op::Deduct => "Deduct",
    }
}

/// A rejection reason in plain words.
pub fn reject_words(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::InsufficientFunds => {
            "insufficient funds: the balance is smaller than the amount"
        }
        RejectReason::AmountOutOfRange => "the amount is outside the range the game allows",
        RejectReason::BalanceOverflow => "the balance would pass the game's maximum balance",
        RejectReason::Expired => "it reached the game after its validity window closed",
        RejectReason::NotYetValid => "the game server's clock is behind; nothing moved, try again",
        RejectReason::Stale => "too old to be checked against the wallet's history; nothing moved",
    }
}

fn committer_words(by: &Committer) -> String {
    match by {
        Committer::Bot => "the bot (player offline)".to_owned(),
        Committer::GameServer(Some(job)) => format!("game server `{}`", plain(job, 64)),
        Committer::GameServer(None) => "the game server".to_owned(),
    }
}

/// Title, colour and extra fields for an outcome.
fn outcome_parts(outcome: &Outcome) -> (&'static str, u32, Vec<(String, String)>) {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => (
            "✅ Applied",
            colour::APPLIED,
            vec![
                ("New balance".into(), balance_after.to_string()),
                ("Saved by".into(), committer_words(committed_by)),
            ],
        ),
        Outcome::Rejected { reason, balance } => (
            "⛔ Rejected",
            colour::REJECTED,
            vec![
                ("Why".into(), reject_words(*reason).to_owned()),
                ("Balance (unchanged)".into(), balance.to_string()),
            ],
        ),
        Outcome::AlreadyProcessed { original } => {
            let (title, _, mut fields) = outcome_parts(original);
            fields.insert(
                0,
                (
                    "Duplicate".into(),
                    format!(
                        "this txn was already processed ({}); nothing changed now",
                        title.trim_start_matches(|c: char| !c.is_ascii_alphabetic())
                    ),
                ),
            );
            ("🔁 Already processed", colour::DUPLICATE, fields)
        }
        Outcome::NotDelivered => (
            "❌ Not delivered",
            colour::NOT_DELIVERED,
            vec![(
                "Why".into(),
                "no game server applied it before it expired; nothing moved".into(),
            )],
        ),
        Outcome::Pending => (
            "⏳ Pending",
            colour::PENDING,
            vec![(
                "Status".into(),
                "sent, not confirmed yet; this receipt is updated when it settles".into(),
            )],
        ),
    }
}

/// The receipt of a give / deduct, for every outcome.
pub fn receipt_embed(receipt: &Receipt) -> CreateEmbed {
    let (title, colour, extra) = outcome_parts(&receipt.outcome);
    let mut e = CreateEmbed::new()
        .title(format!("{title}: {} {}", verb(receipt.op), receipt.amount))
        .colour(colour)
        .field("Player", player_line(&receipt.user), false)
        .field("Amount", receipt.amount.to_string(), true);
    for (name, value) in extra {
        e = e.field(name, value, true);
    }
    e.field("Txn id", format!("`{}`", receipt.txn), false)
        .footer(CreateEmbedFooter::new(
            "Replay with the txn option to re-check without moving money twice.",
        ))
}

/// The question asked before a large amount moves.
pub fn confirm_prompt_embed(
    op: Op,
    amount: i64,
    user: &RobloxUser,
    reason: &str,
    threshold: i64,
    timeout: Duration,
) -> CreateEmbed {
    CreateEmbed::new()
        .title(format!("Confirm: {} {amount}?", verb(op)))
        .description(format!(
            "This is above the confirmation threshold of {threshold}. Press **Confirm** within \
             {} s to send it; nothing moves otherwise.",
            timeout.as_secs()
        ))
        .colour(colour::PENDING)
        .field("Player", player_line(user), false)
        .field("Reason", plain(reason, 200), false)
}

/// Confirm / Cancel buttons of invocation `prefix`.
pub fn confirm_buttons(prefix: u64) -> Vec<CreateActionRow> {
    let (ok, no) = custom_ids(prefix);
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(ok)
            .style(ButtonStyle::Danger)
            .label("Confirm"),
        CreateButton::new(no)
            .style(ButtonStyle::Secondary)
            .label("Cancel"),
    ])]
}

/// Shown in place of the prompt when the confirmation ends without going ahead.
pub fn cancelled_embed(op: Op, amount: i64, why: CancelReason) -> CreateEmbed {
    let text = match why {
        CancelReason::ByInvoker => "Cancelled: nothing was sent and nothing moved.",
        CancelReason::TimedOut => "Not confirmed in time: nothing was sent and nothing moved.",
    };
    CreateEmbed::new()
        .title(format!("Cancelled: {} {amount}", verb(op)))
        .description(text)
        .colour(colour::DUPLICATE)
}

/// Shown while a command is being delivered (right away, or after Confirm).
pub fn working_embed(op: Op, amount: i64, user: &RobloxUser) -> CreateEmbed {
    CreateEmbed::new()
        .title(format!("⏳ Sending: {} {amount}", verb(op)))
        .colour(colour::PENDING)
        .field("Player", player_line(user), false)
}

fn unix_ms_to_discord(ms: i64) -> String {
    format!("<t:{}:R>", ms.div_euclid(1000))
}

/// `/balance`.
pub fn balance_embed(view: &BalanceView) -> CreateEmbed {
    let live = if view.in_live_server {
        "yes: a game server holds the wallet; its unsaved balance may be newer"
    } else {
        "no"
    };
    let as_of = match view.as_of_ms {
        Some(ms) => unix_ms_to_discord(ms),
        None => "never saved (new wallet)".to_owned(),
    };
    CreateEmbed::new()
        .title("Balance")
        .colour(colour::INFO)
        .field("Player", player_line(&view.user), false)
        .field("Balance", view.balance.to_string(), true)
        .field("As of", as_of, true)
        .field("In a live server", live, false)
}

fn record_line(r: &AuditRecord, reason_chars: usize) -> (String, String) {
    let outcome = match (r.outcome, r.reject_reason) {
        (RecordOutcome::Applied, _) => "applied".to_owned(),
        (RecordOutcome::Rejected, Some(reason)) => format!("rejected ({})", reject_words(reason)),
        (RecordOutcome::Rejected, None) => "rejected".to_owned(),
    };
    let by = match (&r.actor_name, &r.actor_id) {
        (Some(name), Some(id)) => format!("{} (`{}`)", plain(name, 32), plain(id, 20)),
        (Some(name), None) => plain(name, 32),
        _ => r.source.as_str().to_owned(),
    };
    (
        format!(
            "{} {} · user {} · {outcome}",
            verb(r.op),
            r.amount,
            r.user_id
        ),
        format!(
            "{} · balance {} · by {by}\n{}\n`{}`",
            unix_ms_to_discord(r.applied_at),
            r.balance_after,
            plain(&r.reason, reason_chars),
            r.txn_id
        ),
    )
}

/// `/audit`: one page of records, newest first. Reasons are shortened when the page would not
/// fit one embed (6000 characters); records are never dropped (paging relies on them).
pub fn audit_embed(filter: &str, records: &[AuditRecord], more: bool) -> CreateEmbed {
    let build = |reason_chars: usize| {
        let mut e = CreateEmbed::new()
            .title("Audit log")
            .colour(colour::INFO)
            .description(if records.is_empty() {
                format!("{filter}: no records.")
            } else {
                format!("{filter}: {} record(s), newest first.", records.len())
            });
        for r in records.iter().take(limits::FIELDS) {
            let (name, value) = record_line(r, reason_chars);
            e = e.field(name, value, false);
        }
        if more {
            e = e.footer(CreateEmbedFooter::new("Older records exist: press Older."));
        }
        e
    };
    let mut reason_chars = 200;
    loop {
        let e = build(reason_chars);
        if reason_chars <= 10 || embed_limit_problems(&e).is_empty() {
            return e;
        }
        reason_chars /= 2;
    }
}

/// One CSV cell: quoted when needed, and a leading `= + - @` (a spreadsheet formula) defused
/// with an apostrophe, since reasons and names are typed by people.
fn csv_cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// `/audit csv:True`: the records as CSV (RFC 4180, header line first).
pub fn audit_csv(records: &[AuditRecord]) -> String {
    let mut out = String::from(
        "applied_at_ms,txn_id,user_id,op,amount,outcome,reject_reason,balance_after,\
         actor_id,actor_name,source,server_job_id,issued_at_ms,reason\r\n",
    );
    for r in records {
        let outcome = match r.outcome {
            RecordOutcome::Applied => "applied",
            RecordOutcome::Rejected => "rejected",
        };
        let row = [
            r.applied_at.to_string(),
            r.txn_id.to_string(),
            r.user_id.to_string(),
            r.op.as_str().to_owned(),
            r.amount.to_string(),
            outcome.to_owned(),
            r.reject_reason
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
            r.balance_after.to_string(),
            csv_cell(r.actor_id.as_deref().unwrap_or_default()),
            csv_cell(r.actor_name.as_deref().unwrap_or_default()),
            r.source.as_str().to_owned(),
            csv_cell(r.server_job_id.as_deref().unwrap_or_default()),
            r.issued_at.to_string(),
            csv_cell(&r.reason),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The log channel's post for one settled movement.
pub fn log_embed(t: &SettledTxn) -> CreateEmbed {
    let receipt = Receipt {
        txn: t.txn.clone(),
        user: RobloxUser {
            id: t.user_id,
            name: format!("{}", t.user_id),
            display_name: "Roblox user".into(),
        },
        op: t.op,
        amount: t.amount,
        outcome: t.outcome.clone(),
    };
    let (title, colour, extra) = outcome_parts(&receipt.outcome);
    let mut e = CreateEmbed::new()
        .title(format!("{title}: {} {}", verb(t.op), t.amount))
        .colour(colour)
        .field("Roblox user id", format!("`{}`", t.user_id), true)
        .field(
            "By",
            format!(
                "{} (<@{}>)",
                plain(&t.actor_name, 32),
                plain(&t.actor_id, 20)
            ),
            true,
        )
        .field("Reason", plain(&t.reason, 200), false);
    for (name, value) in extra {
        e = e.field(name, value, true);
    }
    e.field("Txn id", format!("`{}`", t.txn), false).timestamp(
        Timestamp::from_unix_timestamp(t.settled_at_ms.div_euclid(1000))
            .unwrap_or_else(|_| Timestamp::now()),
    )
}

/// A message for the member, in plain words (never internals).
pub fn error_embed(message: &str) -> CreateEmbed {
    CreateEmbed::new()
        .title("Not done")
        .description(plain(message, 1000))
        .colour(colour::REJECTED)
}

/// Every Discord limit an embed breaks, empty when it is valid (used by tests and debug checks).
pub fn embed_limit_problems(embed: &CreateEmbed) -> Vec<String> {
    let v = serde_json::to_value(embed).unwrap_or_default();
    let len = |p: &serde_json::Value| p.as_str().map_or(0, |s| s.chars().count());
    let mut parts: Vec<(String, usize, usize)> = vec![
        ("title".into(), len(&v["title"]), limits::TITLE),
        (
            "description".into(),
            len(&v["description"]),
            limits::DESCRIPTION,
        ),
        ("footer".into(), len(&v["footer"]["text"]), limits::FOOTER),
        ("author".into(), len(&v["author"]["name"]), limits::TITLE),
    ];
    let mut problems = Vec::new();
    let fields = v["fields"].as_array().cloned().unwrap_or_default();
    if fields.len() > limits::FIELDS {
        problems.push(format!("{} fields > {}", fields.len(), limits::FIELDS));
    }
    for (i, f) in fields.iter().enumerate() {
        let (name, value) = (len(&f["name"]), len(&f["value"]));
        if name == 0 || value == 0 {
            problems.push(format!("field {i} has an empty name or value"));
        }
        parts.push((format!("field {i} name"), name, limits::FIELD_NAME));
        parts.push((format!("field {i} value"), value, limits::FIELD_VALUE));
    }
    let total: usize = parts.iter().map(|(_, n, _)| n).sum();
    for (what, n, max) in parts {
        if n > max {
            problems.push(format!("{what}: {n} > {max}"));
        }
    }
    if total > limits::TOTAL {
        problems.push(format!("total {total} > {}", limits::TOTAL));
    }
    problems
}
