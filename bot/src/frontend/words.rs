//! The words of every answer, in one place: receipts for each outcome, the confirmation prompt,
//! cancels, "sending", balances, audit pages and records, log posts and errors. Each answer is a
//! [`Card`] (title, tone, fields); Discord draws it as an embed, the CLI as lines, the console as
//! a text box. What differs per front end (escaping, times, how an option is written) is its
//! [`Dialect`].

pub use super::audit_words::{
    audit_filter, audit_page, audit_totals, range_words, record_line, record_line_named, sums_line,
    user_with_name,
};
use super::flow::{CancelReason, Prompt};
use super::link::LinkChange;
pub use super::payout_words::{
    payout_cancelled, payout_csv, payout_done, payout_preview, payout_progress, payout_summary,
};
use crate::links::{MemberLink, SignIn};
use crate::service::{
    BalanceView, Committer, Outcome, Policy, Receipt, RobloxUser, SettledTxn, WalletRead,
};
use shared::{Op, RejectReason};
use std::time::Duration;

/// How an answer reads at a glance (Discord picks a colour from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Money moved.
    Applied,
    /// Refused, or an error.
    Rejected,
    /// Nothing new: a duplicate or a cancel.
    Duplicate,
    /// Waiting: sending, pending, a prompt.
    Pending,
    /// Final without moving money.
    NotDelivered,
    /// Information (balance, audit).
    Info,
}

/// One labelled value of a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Label.
    pub name: String,
    /// Value (may span lines).
    pub value: String,
    /// Whether Discord may put it beside its neighbours.
    pub inline: bool,
}

/// One answer: what a Discord embed holds, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Title line.
    pub title: String,
    /// Tone.
    pub tone: Tone,
    /// Text under the title.
    pub description: Option<String>,
    /// Labelled values, in order.
    pub fields: Vec<Field>,
    /// Small print at the end.
    pub footer: Option<String>,
}

impl Card {
    pub(super) fn new(title: impl Into<String>, tone: Tone) -> Self {
        Self {
            title: title.into(),
            tone,
            description: None,
            fields: Vec::new(),
            footer: None,
        }
    }

    pub(super) fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }

    /// Puts the member the player was named through right after the "Player" field.
    pub fn with_member(mut self, link: &MemberLink, d: &dyn Dialect) -> Self {
        let at = self
            .fields
            .iter()
            .position(|f| f.name == "Player")
            .map_or(0, |i| i + 1);
        self.fields.insert(
            at,
            Field {
                name: "Discord member".into(),
                value: member_line(link, d),
                inline: false,
            },
        );
        self
    }

    pub(super) fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    pub(super) fn footer(mut self, text: impl Into<String>) -> Self {
        self.footer = Some(text.into());
        self
    }
}

/// What differs in how each front end writes the same words.
pub trait Dialect {
    /// Text typed by people (names, reasons, ids from storage), made safe and cut to `max`
    /// characters.
    fn typed(&self, text: &str, max: usize) -> String;
    /// Text shown as code (ids, job ids): as stored, never escaped (a code span shows every
    /// character as is), cut to `max` characters.
    fn code(&self, text: &str, max: usize) -> String;
    /// The bot's own words, in which `` `name` `` marks code (an option name); anything
    /// interpolated into them is escaped like [`Dialect::typed`]. Cut to `max` characters.
    fn prose(&self, text: &str, max: usize) -> String;
    /// A button name in running text.
    fn button(&self, label: &str) -> String;
    /// A moment (Unix ms).
    fn time(&self, unix_ms: i64) -> String;
    /// A Discord member by id.
    fn member(&self, id: &str) -> String;
    /// How a command option is written (`txn` → "the txn option", "--txn <id>", "txn:<id>").
    fn option(&self, name: &str) -> String;
    /// Whether a pending receipt is updated in place when its txn settles.
    fn updates_receipts(&self) -> bool;
    /// A Discord role by id.
    fn role(&self, id: &str) -> String {
        format!("role {}", cut(id, 20))
    }
}

/// Plain text (the CLI, the sandbox console): nothing escaped, times in UTC.
#[derive(Debug, Clone, Copy)]
pub struct PlainText {
    /// How this front end writes option `name`.
    pub option: fn(&str) -> String,
}

impl Dialect for PlainText {
    fn typed(&self, text: &str, max: usize) -> String {
        cut(text, max)
    }

    fn code(&self, text: &str, max: usize) -> String {
        cut(text, max)
    }

    fn prose(&self, text: &str, max: usize) -> String {
        cut(text, max)
    }

    fn button(&self, label: &str) -> String {
        label.to_owned()
    }

    fn time(&self, unix_ms: i64) -> String {
        utc(unix_ms)
    }

    fn member(&self, id: &str) -> String {
        format!("member {}", cut(id, 20))
    }

    fn option(&self, name: &str) -> String {
        (self.option)(name)
    }

    fn updates_receipts(&self) -> bool {
        false
    }
}

/// `text` on one line (control characters as spaces), cut to `max` characters with `…`.
pub fn cut(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// An amount or balance as staff read it: digits grouped by thousands (`1,250,000`). Ids are
/// never written this way.
pub fn amount(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS UTC` (on the shared calendar).
pub fn utc(ms: i64) -> String {
    let c = shared::calendar::civil(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// "Give" / "Deduct".
pub fn verb(op: Op) -> &'static str {
    match op {
        Op::Give => "Give",
        Op::Deduct => "Deduct",
    }
}

/// `/link`: the member's private Roblox sign-in link (shown to them only).
pub fn link_sign_in(sign_in: &SignIn, d: &dyn Dialect) -> Card {
    Card::new("Link your Roblox account", Tone::Info)
        .description(format!(
            "Open this link and sign in to Roblox to verify your account. It is yours only \
             (do not share it), works once, and expires {}.",
            d.time(sign_in.expires_at_ms)
        ))
        .field("Sign-in link", sign_in.url.clone(), false)
}

/// `/link set` / `/link remove`: what staff changed (also the log channel's post).
pub fn link_change(change: &LinkChange, actor_id: &str, d: &dyn Dialect) -> Card {
    match change {
        LinkChange::Set {
            member,
            player,
            replaced,
            counts,
        } => {
            let mut card = Card::new("Account link set by staff", Tone::Info)
                .field("Discord member", d.member(&member.to_string()), false)
                .field("Player", player_line(player, d), false)
                .field("Set by", d.member(actor_id), true);
            if let Some(old) = replaced {
                card = card.field("Replaced", format!("Roblox id {old}"), true);
            }
            if !counts {
                card = card.description(
                    "Staff links are not among the configured link sources (LINK_SOURCES), so \
                     this link is stored but not used until `staff` is added.",
                );
            }
            card
        }
        LinkChange::Removed { member, existed } => {
            let title = if *existed {
                "Staff account link removed"
            } else {
                "No staff account link to remove"
            };
            Card::new(title, Tone::Info)
                .field("Discord member", d.member(&member.to_string()), false)
                .field("By", d.member(actor_id), true)
        }
    }
}

/// A Discord member named as the player: the member, and where the link came from ("linked via
/// Bloxlink", "verified with Roblox", "set by staff"), with the sources that agree.
pub fn member_line(link: &MemberLink, d: &dyn Dialect) -> String {
    let mut line = format!(
        "{} ({})",
        d.member(&link.member_id.to_string()),
        link.source.receipt_phrase()
    );
    if !link.confirmed_by.is_empty() {
        let also: Vec<String> = link.confirmed_by.iter().map(ToString::to_string).collect();
        line = format!("{line}; {} agrees", also.join(", "));
    }
    line
}

/// A Roblox player as shown on every answer: display name (@username, id).
pub fn player_line(user: &RobloxUser, d: &dyn Dialect) -> String {
    format!(
        "{} (@{}, {})",
        d.typed(&user.display_name, 40),
        d.typed(&user.name, 40),
        d.code(&user.id.to_string(), 20)
    )
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
        RejectReason::AlreadyReversed => {
            "the original was already reversed by another txn; a txn is reversed at most once"
        }
    }
}

fn committer_words(by: &Committer, d: &dyn Dialect) -> String {
    match by {
        Committer::Bot => "the bot (player offline)".to_owned(),
        Committer::GameServer(Some(job)) => format!("game server {}", d.code(job, 64)),
        Committer::GameServer(None) => "the game server".to_owned(),
    }
}

/// Title, tone and extra fields of an outcome.
fn outcome_parts(
    outcome: &Outcome,
    d: &dyn Dialect,
) -> (&'static str, Tone, Vec<(String, String)>) {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => (
            "✅ Applied",
            Tone::Applied,
            vec![
                ("New balance".into(), amount(*balance_after)),
                ("Saved by".into(), committer_words(committed_by, d)),
            ],
        ),
        Outcome::Rejected { reason, balance } => (
            "⛔ Rejected",
            Tone::Rejected,
            vec![
                ("Why".into(), reject_words(*reason).to_owned()),
                ("Balance (unchanged)".into(), amount(*balance)),
            ],
        ),
        Outcome::AlreadyProcessed { original } => {
            let (title, _, mut fields) = outcome_parts(original, d);
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
            ("🔁 Already processed", Tone::Duplicate, fields)
        }
        Outcome::NotDelivered => (
            "❌ Not delivered",
            Tone::NotDelivered,
            vec![(
                "Why".into(),
                "no game server applied it before it expired; nothing moved".into(),
            )],
        ),
        Outcome::Pending => {
            let status = if d.updates_receipts() {
                "sent, not confirmed yet; this receipt is updated when it settles".to_owned()
            } else {
                format!(
                    "sent, not confirmed yet; the bot keeps following it up (replay with {} to \
                     see where it stands)",
                    d.option("txn")
                )
            };
            ("⏳ Pending", Tone::Pending, vec![("Status".into(), status)])
        }
    }
}

/// The receipt of a give / deduct, for every outcome; `reason` is shown when given.
pub fn receipt(r: &Receipt, reason: Option<&str>, d: &dyn Dialect) -> Card {
    let (title, tone, extra) = outcome_parts(&r.outcome, d);
    let mut card = Card::new(
        format!("{title}: {} {}", verb(r.op), amount(r.amount)),
        tone,
    )
    .field("Player", player_line(&r.user, d), false)
    .field("Amount", amount(r.amount), true);
    for (name, value) in extra {
        card = card.field(name, value, true);
    }
    if let Some(reason) = reason {
        card = card.field("Reason", d.typed(reason, 200), false);
    }
    if let Some(original) = &r.reverses {
        card = card.field("Reversal of", reversal_of(original, d), false);
    }
    card.field("Txn id", d.code(r.txn.as_str(), 26), false)
        .footer(format!(
            "Replay with {} to re-check without moving money twice.",
            d.option("txn")
        ))
}

/// How a reversal names its original: the original's receipt may be long gone, so this says
/// where both are found.
fn reversal_of(original: &shared::TxnId, d: &dyn Dialect) -> String {
    format!(
        "txn {} (both stay in the audit log; the reversal names the original)",
        d.code(original.as_str(), 26)
    )
}

/// A pending receipt whose follow-up has ended (Discord allows edits for 15 minutes after the
/// command): it says that it is no longer updated and where the outcome will appear.
/// `log_channel` is the log channel as the front end names it, when there is one.
pub fn no_longer_followed(r: &Receipt, log_channel: Option<&str>, d: &dyn Dialect) -> Card {
    let mut card = receipt(r, None, d);
    let places = match log_channel {
        Some(channel) => format!("in {channel} and in {}", d.code("/audit", 10)),
        None => format!("in {}", d.code("/audit", 10)),
    };
    let status = format!(
        "sent, not confirmed yet; this message is no longer updated. The bot keeps following \
         it up: the outcome will appear {places} (or replay with {}).",
        d.option("txn")
    );
    for f in card.fields.iter_mut().filter(|f| f.name == "Status") {
        f.value.clone_from(&status);
    }
    card
}

/// The question asked before a large amount moves.
pub fn confirm_prompt(p: &Prompt<'_>, timeout: Duration, d: &dyn Dialect) -> Card {
    let card = Card::new(
        format!("Confirm: {} {}?", verb(p.op), amount(p.amount)),
        Tone::Pending,
    )
    .description(format!(
        "This is above the confirmation threshold of {}. Press {} within {} s to \
             send it; nothing moves otherwise.",
        amount(p.threshold),
        d.button("Confirm"),
        timeout.as_secs()
    ))
    .field("Player", player_line(p.player, d), false);
    let card = match p.member {
        Some(link) => card.with_member(link, d),
        None => card,
    };
    let card = match p.wallet {
        Some(w) => card.field("Current balance", prompt_balance(w), true),
        None => card,
    };
    let card = match p.reverses {
        Some(original) => card.field("Reversal of", reversal_of(original, d), false),
        None => card,
    };
    card.field("Reason", d.typed(p.reason, 200), false)
}

/// The balance on a confirmation prompt, as of the wallet's last save.
pub fn prompt_balance(w: &WalletRead) -> String {
    if w.in_live_server {
        format!(
            "{} (last save; the player is in a game server, so it may be newer)",
            amount(w.balance)
        )
    } else {
        amount(w.balance)
    }
}

/// Shown when a confirmation ends without going ahead.
pub fn cancelled(op: Op, how_much: i64, why: CancelReason) -> Card {
    let text = match why {
        CancelReason::ByInvoker => "Cancelled: nothing was sent and nothing moved.".to_owned(),
        CancelReason::TimedOut => {
            "Not confirmed in time: nothing was sent and nothing moved.".to_owned()
        }
        CancelReason::Restarting => "The bot restarted before this was confirmed: nothing was \
                                     sent and nothing moved. Run the command again in a minute."
            .to_owned(),
        CancelReason::NotConfirmed { flag, threshold } => format!(
            "Not confirmed: {} is above the confirmation threshold ({}); repeat the command \
             with {flag}. Nothing was sent and nothing moved.",
            amount(how_much),
            amount(threshold)
        ),
    };
    Card::new(
        format!("Cancelled: {} {}", verb(op), amount(how_much)),
        Tone::Duplicate,
    )
    .description(text)
}

/// Shown while a command is being delivered (right away, or after Confirm).
pub fn working(op: Op, how_much: i64, user: &RobloxUser, d: &dyn Dialect) -> Card {
    Card::new(
        format!("⏳ Sending: {} {}", verb(op), amount(how_much)),
        Tone::Pending,
    )
    .field("Player", player_line(user, d), false)
}

/// A balance.
pub fn balance(view: &BalanceView, d: &dyn Dialect) -> Card {
    let live = if view.in_live_server {
        "yes: a game server holds the wallet; its unsaved balance may be newer"
    } else {
        "no"
    };
    let as_of = match view.as_of_ms {
        Some(ms) => d.time(ms),
        None => "never saved (new wallet)".to_owned(),
    };
    Card::new("Balance", Tone::Info)
        .field("Player", player_line(&view.user, d), false)
        .field("Balance", amount(view.balance), true)
        .field("As of", as_of, true)
        .field("In a live server", live, false)
}

/// The log channel's post for one settled movement.
pub fn log_post(t: &SettledTxn, d: &dyn Dialect) -> Card {
    let (title, tone, extra) = outcome_parts(&t.outcome, d);
    let mut card = Card::new(
        format!("{title}: {} {}", verb(t.op), amount(t.amount)),
        tone,
    )
    .field("Roblox user id", d.code(&t.user_id.to_string(), 20), true)
    .field(
        "By",
        format!("{} ({})", d.typed(&t.actor_name, 32), d.member(&t.actor_id)),
        true,
    )
    .field("Reason", d.typed(&t.reason, 200), false);
    for (name, value) in extra {
        card = card.field(name, value, true);
    }
    if let Some(original) = &t.reverses {
        card = card.field("Reversal of", d.code(original.as_str(), 26), false);
    }
    card.field("Txn id", d.code(t.txn.as_str(), 26), false)
}

/// `/help`: what each command does and who may use it. `mine` is the asking member's largest
/// amount per command, `None` when none of their roles is a staff role.
pub fn help(
    policy: &Policy,
    mine: Option<i64>,
    confirm_timeout: Duration,
    d: &dyn Dialect,
) -> Card {
    let roles: Vec<String> = policy.role_max.keys().map(|r| d.role(r)).collect();
    let you = match mine {
        Some(max) => format!("You may move up to {} per command.", amount(max)),
        None => format!(
            "None of your roles is a staff role, so the staff commands will refuse you; {} \
             (your own balance) and {} work for every member.",
            d.code("/balance", 10),
            d.code("/link me", 12)
        ),
    };
    let confirm = format!(
        "Above {} you are shown the player first and press {} within {} s to send it.",
        amount(policy.confirm_above),
        d.button("Confirm"),
        confirm_timeout.as_secs()
    );
    Card::new("Economy commands", Tone::Info)
        .description(format!(
            "Staff give and deduct the game's currency for Roblox players; every movement is \
             confirmed by the game and recorded in the audit log. Who may use them: members \
             holding a staff role ({}), each up to that role's maximum per command. {you}",
            if roles.is_empty() {
                "none configured".to_owned()
            } else {
                roles.join(", ")
            }
        ))
        .field(
            "/give",
            format!(
                "Give currency to a player (Roblox user id or username, or a Discord member: \
                 their linked Roblox account), with a reason for the audit log. {confirm}"
            ),
            false,
        )
        .field(
            "/deduct",
            format!("Take currency from a player; refused when the balance is smaller. {confirm}"),
            false,
        )
        .field(
            "/reverse",
            format!(
                "Undo an applied movement by its txn id: the opposite movement of the same \
                 amount, naming the original. Once per txn; refused for a rejected or unknown \
                 txn, for a reversal, and when the balance cannot cover it. {confirm}"
            ),
            false,
        )
        .field(
            "/payout",
            format!(
                "Pay many players the same amount with one reason: a role's members (their \
                 linked Roblox accounts) or a list of ids and usernames ({} pasted, or {} as a \
                 CSV). Shows the count, the total and how many are online, and always asks for \
                 {}; each player is paid once, at the pace Roblox's budget allows, and you get \
                 a CSV of every player's outcome.",
                d.code("players", 10),
                d.code("file", 10),
                d.button("Confirm")
            ),
            false,
        )
        .field(
            "/balance",
            "Your own balance (your linked Roblox account; any member), or a player's or \
             member's (staff): as last saved, and whether a game server holds the wallet now.",
            false,
        )
        .field(
            "/audit",
            format!(
                "Recent movements, newest first, for a player and/or by a staff member; {} shows \
                 older ones, {} attaches up to 1,000 records as a spreadsheet file. {} and {} \
                 bound the range (UTC, e.g. 2026-12-01 or 2026-12-01 14:30); {} sums what each \
                 staff member and each player gave and deducted.",
                d.button("Older"),
                d.code("csv:True", 10),
                d.code("since", 10),
                d.code("until", 10),
                d.code("totals:True", 12)
            ),
            false,
        )
        .field(
            "/link",
            format!(
                "{}: your private Roblox sign-in link, to link your account (any member). {} \
                 and {}: staff link a member to a Roblox account or remove that link.",
                d.code("/link me", 12),
                d.code("/link set", 12),
                d.code("/link remove", 14)
            ),
            false,
        )
        .field("/help", "This message.", false)
        .field(
            "Limits per staff member",
            format!(
                "{} in any 24 hours; {} s between two commands.",
                amount(policy.daily_cap),
                policy.cooldown.as_secs_f64()
            ),
            false,
        )
        .footer(format!(
            "Every receipt shows a txn id: repeat the command with {} to see its outcome; money \
             never moves twice.",
            d.option("txn")
        ))
}

/// A command that did not go through: the message from [`super::error`], in plain words.
pub fn not_done(message: &str, d: &dyn Dialect) -> Card {
    Card::new("Not done", Tone::Rejected).description(d.prose(message, 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_132_800_000), "2026-11-20 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn plain_text_cuts_and_flattens_typed_text() {
        let d = PlainText {
            option: |n| format!("--{n}"),
        };
        assert_eq!(d.typed("a\nb", 10), "a b");
        assert_eq!(d.typed("abcdef", 3), "abc…");
        assert_eq!(d.typed("abc", 3), "abc");
        assert_eq!(d.option("txn"), "--txn");
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        for (n, shown) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_250_000, "1,250,000"),
            (-1_234, "-1,234"),
            (i64::MIN, "-9,223,372,036,854,775,808"),
        ] {
            assert_eq!(amount(n), shown);
        }
    }
}
