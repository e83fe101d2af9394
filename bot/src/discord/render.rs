//! Pure rendering: the shared words (`crate::frontend::words`) as serenity embeds, in Discord's
//! dialect (markdown escaped, relative times, mentions), plus the buttons, the audit CSV and the
//! embed-limit check. No I/O, so every variant is tested without a gateway.

use super::confirm::custom_ids;
use crate::frontend::flow::TotalsAnswer;
use crate::frontend::words::{self, Card, Dialect, Tone};
use crate::frontend::{CancelReason, MoveResult, Prompt};
use crate::links::MemberLink;
use crate::service::names::Names;
use crate::service::{BalanceView, Policy, Receipt, RobloxUser, SettledTxn};
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

/// Colours by tone.
fn colour(tone: Tone) -> u32 {
    match tone {
        Tone::Applied => 0x2e_cc_71,
        Tone::Rejected => 0xe7_4c_3c,
        Tone::Duplicate => 0x95_a5_a6,
        Tone::Pending => 0xf1_c4_0f,
        Tone::NotDelivered => 0x99_2d_22,
        Tone::Info => 0x34_98_db,
    }
}

/// Escapes Discord markdown and mentions in text typed by people (names, reasons), and cuts it
/// to `max` characters.
pub fn plain(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(2)));
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

/// `text` as an inline code span: Discord shows everything inside as is, so nothing is escaped;
/// a backtick (which would end the span) becomes U+02CB, a look-alike, and line breaks become
/// spaces. Cut to `max` characters.
pub fn code_span(text: &str, max: usize) -> String {
    let inner = words::cut(text, max).replace('`', "\u{2cb}");
    if inner.trim().is_empty() {
        // An empty span would show its two backticks.
        return "(none)".to_owned();
    }
    format!("`{inner}`")
}

/// The bot's own words with `` `code` `` spans: the spans are kept as code (their text as
/// is), everything between them is escaped like text typed by people (anything interpolated
/// into a message may be), and a backtick without a partner is shown as a backtick.
pub fn prose(text: &str, max: usize) -> String {
    let text = words::cut(text, max);
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        let is_code = i % 2 == 1 && i + 1 < parts.len();
        if is_code {
            out.push_str(&code_span(part, usize::MAX));
        } else {
            if i % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&plain(part, usize::MAX));
        }
    }
    out
}

/// How Discord writes the shared words: markdown escaped, ids as code, relative timestamps,
/// member mentions (never pinging: mentions are disabled on every message).
pub struct DiscordDialect;

impl Dialect for DiscordDialect {
    fn typed(&self, text: &str, max: usize) -> String {
        plain(text, max)
    }

    fn code(&self, text: &str, max: usize) -> String {
        code_span(text, max)
    }

    fn prose(&self, text: &str, max: usize) -> String {
        prose(text, max)
    }

    fn button(&self, label: &str) -> String {
        format!("**{label}**")
    }

    fn time(&self, unix_ms: i64) -> String {
        format!("<t:{}:R>", unix_ms.div_euclid(1000))
    }

    fn member(&self, id: &str) -> String {
        if (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
            format!("<@{id}>")
        } else {
            code_span(id, 20)
        }
    }

    fn option(&self, name: &str) -> String {
        format!("the {name} option")
    }

    fn updates_receipts(&self) -> bool {
        true
    }

    fn role(&self, id: &str) -> String {
        if (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
            format!("<@&{id}>")
        } else {
            code_span(id, 20)
        }
    }
}

/// A shared card as an embed.
pub fn embed(card: &Card) -> CreateEmbed {
    let mut e = CreateEmbed::new()
        .title(card.title.clone())
        .colour(colour(card.tone));
    if let Some(d) = &card.description {
        e = e.description(d.clone());
    }
    for f in &card.fields {
        e = e.field(f.name.clone(), f.value.clone(), f.inline);
    }
    if let Some(f) = &card.footer {
        e = e.footer(CreateEmbedFooter::new(f.clone()));
    }
    e
}

/// A Roblox player as shown on every embed: display name (@username, id).
pub fn player_line(user: &RobloxUser) -> String {
    words::player_line(user, &DiscordDialect)
}

/// A rejection reason in plain words.
pub fn reject_words(reason: RejectReason) -> &'static str {
    words::reject_words(reason)
}

/// The receipt of a give / deduct, for every outcome.
pub fn receipt_embed(receipt: &Receipt) -> CreateEmbed {
    receipt_embed_for(receipt, None)
}

/// How a give / deduct's reply ends: the cancel, the receipt, or (a receipt still pending when
/// its follow-up ended) where the outcome will appear, naming the log channel when there is one.
pub fn final_embed(result: &MoveResult, log_channel: Option<u64>) -> CreateEmbed {
    final_embed_for(result, log_channel, None)
}

/// [`final_embed`] showing the Discord member the player was named through, when one was.
pub fn final_embed_for(
    result: &MoveResult,
    log_channel: Option<u64>,
    member: Option<&MemberLink>,
) -> CreateEmbed {
    match result {
        MoveResult::Cancelled { op, amount, why } => cancelled_embed(*op, *amount, *why),
        MoveResult::Done(r) | MoveResult::SettledLater(r) => receipt_embed_for(r, member),
        MoveResult::StillPending(r) => {
            let channel = log_channel.map(|id| format!("<#{id}>"));
            let card = words::no_longer_followed(r, channel.as_deref(), &DiscordDialect);
            embed(&with_member(card, member))
        }
    }
}

/// The receipt of a give / deduct, showing the member the player was named through.
pub fn receipt_embed_for(receipt: &Receipt, member: Option<&MemberLink>) -> CreateEmbed {
    let card = words::receipt(receipt, None, &DiscordDialect);
    embed(&with_member(card, member))
}

fn with_member(card: Card, member: Option<&MemberLink>) -> words::Card {
    match member {
        Some(link) => card.with_member(link, &DiscordDialect),
        None => card,
    }
}

/// The question asked before a large amount moves.
pub fn confirm_prompt_embed(prompt: &Prompt<'_>, timeout: Duration) -> CreateEmbed {
    embed(&words::confirm_prompt(prompt, timeout, &DiscordDialect))
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
    embed(&words::cancelled(op, amount, why))
}

/// Shown while a command is being delivered (right away, or after Confirm).
pub fn working_embed(op: Op, amount: i64, user: &RobloxUser) -> CreateEmbed {
    working_embed_for(op, amount, user, None)
}

/// [`working_embed`] showing the member the player was named through.
pub fn working_embed_for(
    op: Op,
    amount: i64,
    user: &RobloxUser,
    member: Option<&MemberLink>,
) -> CreateEmbed {
    embed(&with_member(
        words::working(op, amount, user, &DiscordDialect),
        member,
    ))
}

/// `/balance`.
pub fn balance_embed(view: &BalanceView) -> CreateEmbed {
    balance_embed_for(view, None)
}

/// `/balance` showing the member the player was named through.
pub fn balance_embed_for(view: &BalanceView, member: Option<&MemberLink>) -> CreateEmbed {
    embed(&with_member(words::balance(view, &DiscordDialect), member))
}

/// `/audit`: one page of records, newest first. Reasons are shortened when the page would not
/// fit one embed (6000 characters); records are never dropped (paging relies on them).
pub fn audit_embed(
    filter: &str,
    records: &[AuditRecord],
    names: &Names,
    more: bool,
) -> CreateEmbed {
    let shown = &records[..records.len().min(limits::FIELDS)];
    let more = more.then_some("press Older");
    let mut reason_chars = 200;
    loop {
        let e = embed(&words::audit_page(
            filter,
            shown,
            names,
            more,
            reason_chars,
            &DiscordDialect,
        ));
        if reason_chars <= 10 || embed_limit_problems(&e).is_empty() {
            return e;
        }
        reason_chars /= 2;
    }
}

/// `/audit totals:True`: the sums per staff member and per player (at most ten of each, so the
/// embed keeps under Discord's 25 fields).
pub fn totals_embed(filter: &str, answer: &TotalsAnswer) -> CreateEmbed {
    embed(&words::audit_totals(filter, answer, &DiscordDialect))
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
    embed(&words::log_post(t, &DiscordDialect)).timestamp(
        Timestamp::from_unix_timestamp(t.settled_at_ms.div_euclid(1000))
            .unwrap_or_else(|_| Timestamp::now()),
    )
}

/// `/help` for a member whose largest amount per command is `mine` (`None`: not staff).
pub fn help_embed(policy: &Policy, mine: Option<i64>, confirm_timeout: Duration) -> CreateEmbed {
    embed(&words::help(policy, mine, confirm_timeout, &DiscordDialect))
}

/// A message for the member, in plain words (never internals).
pub fn error_embed(message: &str) -> CreateEmbed {
    embed(&words::not_done(message, &DiscordDialect))
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
