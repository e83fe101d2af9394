//! Command arguments: the raw option values a front end received (strings and numbers as typed)
//! in, checked typed arguments out, or an [`OptionError`] whose text names the problem. Pure, and
//! the same rules for Discord, the CLI and the sandbox console.

use crate::service::Target;
use shared::TxnId;
use shared::limits::MAX_SAFE_INTEGER;

/// Largest reason length (the protocol's limit).
pub const MAX_REASON_CHARS: usize = 200;

/// An option that cannot be used; the text is shown to the member as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// `user` is empty.
    #[error("`user` is empty: enter a Roblox user id or username")]
    EmptyUser,
    /// Both `user` and `member` name the player.
    #[error("name the player one way: `user` (Roblox id or username) or `member`, not both")]
    UserAndMember,
    /// A text front end's `member:<id>` does not hold a Discord user id.
    #[error("`member:` must be followed by a Discord user id (digits)")]
    MemberId,
    /// Neither `user` nor `member` names the player.
    #[error("name the player: `user` (Roblox id or username) or `member` (a Discord member)")]
    NoTarget,
    /// `user` is digits but not a possible Roblox user id.
    #[error("`user` {0} is not a Roblox user id (1 to 9007199254740991)")]
    UserIdRange(String),
    /// `user` is neither digits nor a possible Roblox username.
    #[error("`user` is not a Roblox username (3-20 letters, digits or one _ inside) nor a user id")]
    BadUsername,
    /// `amount` is out of range.
    #[error("`amount` must be a whole number from 1 to {}", super::words::amount(*max))]
    Amount {
        /// The configured maximum.
        max: i64,
    },
    /// `reason` is empty, too long or holds control characters.
    #[error("`reason` must be 1-200 characters on one line")]
    Reason,
    /// `txn` is not a txn id.
    #[error("`txn` must be a 26-character txn id as shown on an earlier receipt")]
    Txn,
    /// `limit` is out of range.
    #[error("`limit` must be from 1 to {max}")]
    Limit {
        /// This front end's largest page.
        max: u32,
    },
    /// `actor` is not a Discord user id.
    #[error("`actor` must be a Discord user id (digits)")]
    Actor,
    /// `since` / `until` is not in an accepted format.
    #[error(
        "`{0}` must be a UTC date or date-time: 2026-12-01, 2026-12-01 14:30 or 2026-12-01T14:30:05Z"
    )]
    DateFormat(&'static str),
    /// `since` / `until` carries a time-zone offset.
    #[error("`{0}` is read as UTC: leave out the offset (or end with Z)")]
    DateOffset(&'static str),
    /// `since` / `until` names a day or time that does not exist.
    #[error("`{0}` is not a real date and time (UTC, from 1970)")]
    NoSuchDate(&'static str),
    /// `since` is later than now.
    #[error("`since` is in the future: nothing has been recorded there yet")]
    SinceFuture,
    /// `until` is too far ahead.
    #[error("`until` is more than 2 days ahead: leave it out to read up to now")]
    UntilFarAhead,
    /// `until` is not after `since`.
    #[error("`until` must be later than `since`")]
    RangeOrder,
    /// An option that lists records was given with `totals`.
    #[error("`{0}` lists records: leave it out with `totals`")]
    NotWithTotals(&'static str),
    /// A payout names its players in none, or more than one, of its ways.
    #[error("name the players one way: `role`, `players` or `file`")]
    PayoutTargets,
    /// A payout's list holds no player.
    #[error("`{0}` names no player: list Roblox user ids or usernames")]
    NoPlayers(&'static str),
    /// A payout's list holds entries that are neither ids nor usernames.
    #[error(
        "`{option}` holds {count} entries that are neither a Roblox user id nor a username: {shown}"
    )]
    BadPlayers {
        /// Which option.
        option: &'static str,
        /// How many.
        count: usize,
        /// The first few, quoted.
        shown: String,
    },
    /// A payout's list is longer than one payout pays.
    #[error(
        "`{option}` names {} players; one payout pays at most {}",
        super::words::amount(i64::try_from(*got).unwrap_or(i64::MAX)),
        super::words::amount(i64::try_from(*max).unwrap_or(i64::MAX))
    )]
    TooManyPlayers {
        /// Which option.
        option: &'static str,
        /// Distinct players named.
        got: usize,
        /// The limit (`BULK_MAX_PLAYERS`).
        max: usize,
    },
}

/// Whose wallet a command names: a Roblox player as typed, or a Discord member (resolved
/// through the member's account link, `super::member`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A Roblox user id or username.
    Player(Target),
    /// A Discord member.
    Member(MemberRef),
}

/// A Discord member as a front end received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's Discord user id.
    pub id: u64,
    /// Whether the user is a member of the server (Discord sends users who left too).
    pub in_server: bool,
}

impl MemberRef {
    /// A member of the server.
    pub fn in_server(id: u64) -> Self {
        Self {
            id,
            in_server: true,
        }
    }
}

/// Exactly one of `user` (as typed) and `member`.
pub fn parse_who(user: Option<&str>, member: Option<MemberRef>) -> Result<Who, OptionError> {
    match (user, member) {
        (Some(_), Some(_)) => Err(OptionError::UserAndMember),
        (None, None) => Err(OptionError::NoTarget),
        (Some(u), None) => Ok(Who::Player(parse_user(u)?)),
        (None, Some(m)) => Ok(Who::Member(m)),
    }
}

/// A player as typed in a text front end (the CLI): `member:<Discord user id>` names a member
/// (whose server membership a text front end cannot check), anything else a Roblox user.
pub fn split_member(raw: &str) -> Result<(Option<String>, Option<MemberRef>), OptionError> {
    let s = raw.trim();
    match s.strip_prefix("member:") {
        Some(id) => {
            let id = parse_actor(id).map_err(|_| OptionError::MemberId)?;
            let id = id.parse::<u64>().map_err(|_| OptionError::MemberId)?;
            Ok((None, Some(MemberRef::in_server(id))))
        }
        None => Ok((Some(raw.to_owned()), None)),
    }
}

/// A give / deduct as a front end received it (nothing checked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveInput {
    /// Roblox user id or username as typed (or `member`).
    pub user: Option<String>,
    /// A Discord member whose linked account is the player (or `user`).
    pub member: Option<MemberRef>,
    /// Amount as received.
    pub amount: i64,
    /// Why, as typed.
    pub reason: String,
    /// Txn id of an earlier command, as typed.
    pub txn: Option<String>,
}

/// A checked give / deduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveArgs {
    /// Whose wallet.
    pub target: Who,
    /// How much.
    pub amount: i64,
    /// Why (trimmed).
    pub reason: String,
    /// Replay of an earlier txn.
    pub replay: Option<TxnId>,
}

impl MoveArgs {
    /// Checks every option in the order the member typed them; the first problem is reported.
    pub fn parse(input: &MoveInput, max_amount: i64) -> Result<Self, OptionError> {
        Ok(Self {
            target: parse_who(input.user.as_deref(), input.member)?,
            amount: parse_amount(input.amount, max_amount)?,
            reason: parse_reason(&input.reason)?,
            replay: parse_txn(input.txn.as_deref())?,
        })
    }
}

/// A reversal as a front end received it (nothing checked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseInput {
    /// Txn id of the txn to reverse, as typed.
    pub txn: String,
    /// Why, as typed.
    pub reason: String,
}

/// A checked reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseArgs {
    /// The txn to reverse.
    pub original: TxnId,
    /// Why (trimmed).
    pub reason: String,
}

impl ReverseArgs {
    /// Checks `txn` (required) then `reason`.
    pub fn parse(input: &ReverseInput) -> Result<Self, OptionError> {
        Ok(Self {
            original: parse_txn(Some(&input.txn))?.ok_or(OptionError::Txn)?,
            reason: parse_reason(&input.reason)?,
        })
    }
}

/// A checked balance question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceArgs {
    /// Whose wallet.
    pub target: Who,
}

impl BalanceArgs {
    /// Checks `user`.
    pub fn parse(user: &str) -> Result<Self, OptionError> {
        Ok(Self {
            target: Who::Player(parse_user(user)?),
        })
    }

    /// Checks that exactly one of `user` and `member` is given.
    pub fn parse_one(user: Option<&str>, member: Option<MemberRef>) -> Result<Self, OptionError> {
        Ok(Self {
            target: parse_who(user, member)?,
        })
    }
}

/// Page sizes of one front end: Discord fits ten records in one embed, text front ends more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// Records per page when `limit` is absent.
    pub default: u32,
    /// Largest `limit`.
    pub max: u32,
}

/// An audit query as a front end received it (nothing checked yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditInput {
    /// Only this Roblox user (id or username), as typed.
    pub user: Option<String>,
    /// Only this Discord member's linked account (or `user`).
    pub member: Option<MemberRef>,
    /// Only movements by this Discord user id, as typed.
    pub actor: Option<String>,
    /// Records per page, as received.
    pub limit: Option<i64>,
    /// Cursor of the next page, as printed on the previous one.
    pub cursor: Option<String>,
    /// From this UTC date or date-time on, as typed (see `dates`).
    pub since: Option<String>,
    /// Up to this UTC date or date-time, as typed (see `dates`).
    pub until: Option<String>,
    /// Sums per staff member and per player instead of records.
    pub totals: bool,
    /// A CSV of the records was asked for (Discord's `csv`).
    pub csv: bool,
}

/// A checked audit query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditArgs {
    /// Only this player.
    pub user: Option<Who>,
    /// Only movements by this Discord user id.
    pub actor: Option<String>,
    /// Records per page.
    pub limit: u32,
    /// Cursor of the next page.
    pub cursor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Sums per staff member and per player instead of records.
    pub totals: bool,
}

impl AuditArgs {
    /// Checks every option against this front end's page sizes and the current time (`now_ms`,
    /// for the range rules in `dates`).
    pub fn parse(input: &AuditInput, pages: PageLimits, now_ms: i64) -> Result<Self, OptionError> {
        let user = match (input.user.as_deref(), input.member) {
            (None, None) => None,
            (user, member) => Some(parse_who(user, member)?),
        };
        let actor = input.actor.as_deref().map(parse_actor).transpose()?;
        let limit = parse_limit(input.limit, pages)?;
        let cursor = input
            .cursor
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let (since, until) =
            super::dates::parse_range(input.since.as_deref(), input.until.as_deref(), now_ms)?;
        if input.totals {
            if cursor.is_some() {
                return Err(OptionError::NotWithTotals("cursor"));
            }
            if input.csv {
                return Err(OptionError::NotWithTotals("csv"));
            }
        }
        Ok(Self {
            user,
            actor,
            limit,
            cursor,
            since,
            until,
            totals: input.totals,
        })
    }
}

/// A bulk payout as a front end received it (nothing checked yet): exactly one of `role`,
/// `players` (pasted text) and `file` (a CSV's text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutInput {
    /// Amount per player, as received.
    pub amount: i64,
    /// Why, as typed.
    pub reason: String,
    /// A Discord role id (its members' linked accounts).
    pub role: Option<u64>,
    /// Roblox ids / usernames separated by spaces, commas, semicolons or lines.
    pub players: Option<String>,
    /// A CSV file's text: the first column of each row (a header row is skipped).
    pub file: Option<String>,
}

/// Whose wallets a checked payout names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutPlayers {
    /// A Discord role's members (resolved through their account links).
    Role(u64),
    /// Roblox ids and usernames, distinct, in the order first named.
    List {
        /// The players.
        targets: Vec<Target>,
        /// Repeats left out.
        duplicates: usize,
    },
}

/// A checked payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutArgs {
    /// Whose wallets.
    pub players: PayoutPlayers,
    /// Amount per player.
    pub amount: i64,
    /// Why (trimmed).
    pub reason: String,
}

/// Header cells a CSV's first row may hold instead of a player.
const CSV_HEADERS: [&str; 8] = [
    "user",
    "userid",
    "user_id",
    "id",
    "username",
    "name",
    "roblox_id",
    "player",
];

impl PayoutArgs {
    /// Checks the options: one way of naming players, the amount, the reason, then every list
    /// entry (each a user id or a username; repeats counted once; at most `max_players`).
    pub fn parse(
        input: &PayoutInput,
        max_amount: i64,
        max_players: usize,
    ) -> Result<Self, OptionError> {
        let ways = [
            input.role.is_some(),
            input.players.is_some(),
            input.file.is_some(),
        ];
        if ways.iter().filter(|w| **w).count() != 1 {
            return Err(OptionError::PayoutTargets);
        }
        let amount = parse_amount(input.amount, max_amount)?;
        let reason = parse_reason(&input.reason)?;
        let players = match (input.role, &input.players, &input.file) {
            (Some(role), _, _) => PayoutPlayers::Role(role),
            (_, Some(text), _) => parse_player_list("players", list_entries(text), max_players)?,
            (_, _, Some(csv)) => parse_player_list("file", csv_entries(csv), max_players)?,
            _ => return Err(OptionError::PayoutTargets),
        };
        Ok(Self {
            players,
            amount,
            reason,
        })
    }
}

/// Entries of pasted text: split on whitespace, commas and semicolons.
fn list_entries(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .collect()
}

/// Entries of a CSV: the first cell of each non-empty row (quotes removed), without a header.
fn csv_entries(csv: &str) -> Vec<&str> {
    let mut cells: Vec<&str> = csv
        .lines()
        .map(|line| {
            let first = line.split([',', ';', '\t']).next().unwrap_or_default();
            first.trim().trim_matches('"').trim()
        })
        .filter(|s| !s.is_empty())
        .collect();
    if cells
        .first()
        .is_some_and(|h| CSV_HEADERS.contains(&h.to_ascii_lowercase().as_str()))
    {
        cells.remove(0);
    }
    cells
}

/// Checks every entry; repeats (the same id, or the same username in any case) count once.
fn parse_player_list(
    option: &'static str,
    entries: Vec<&str>,
    max: usize,
) -> Result<PayoutPlayers, OptionError> {
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut targets = Vec::new();
    let mut duplicates = 0;
    for entry in &entries {
        match parse_user(entry) {
            Ok(t) => {
                let key = match &t {
                    Target::Id(id) => id.to_string(),
                    Target::Name(n) => n.to_ascii_lowercase(),
                };
                if seen.insert(key) {
                    targets.push(t);
                } else {
                    duplicates += 1;
                }
            }
            Err(_) => bad.push(*entry),
        }
    }
    if !bad.is_empty() {
        let shown: Vec<String> = bad
            .iter()
            .take(5)
            .map(|b| format!("{:?}", b.chars().take(24).collect::<String>()))
            .collect();
        return Err(OptionError::BadPlayers {
            option,
            count: bad.len(),
            shown: shown.join(", "),
        });
    }
    if targets.is_empty() {
        return Err(OptionError::NoPlayers(option));
    }
    if targets.len() > max {
        return Err(OptionError::TooManyPlayers {
            option,
            got: targets.len(),
            max,
        });
    }
    Ok(PayoutPlayers::List {
        targets,
        duplicates,
    })
}

/// Roblox usernames: 3-20 characters, ASCII letters, digits and at most one underscore that is
/// neither first nor last.
fn is_roblox_username(s: &str) -> bool {
    let len_ok = (3..=20).contains(&s.len());
    let chars_ok = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let underscores = s.bytes().filter(|b| *b == b'_').count();
    len_ok && chars_ok && underscores <= 1 && !s.starts_with('_') && !s.ends_with('_')
}

/// `user`: a Roblox user id (digits) or username (a leading `@` is accepted).
pub fn parse_user(raw: &str) -> Result<Target, OptionError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(OptionError::EmptyUser);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<i64>() {
            Ok(id) if (1..=MAX_SAFE_INTEGER).contains(&id) => Ok(Target::Id(id.unsigned_abs())),
            _ => Err(OptionError::UserIdRange(s.chars().take(24).collect())),
        };
    }
    let name = s.strip_prefix('@').unwrap_or(s);
    if is_roblox_username(name) {
        Ok(Target::Name(name.to_owned()))
    } else {
        Err(OptionError::BadUsername)
    }
}

/// `amount`: 1 ..= `max`.
pub fn parse_amount(amount: i64, max: i64) -> Result<i64, OptionError> {
    if (1..=max).contains(&amount) {
        Ok(amount)
    } else {
        Err(OptionError::Amount { max })
    }
}

/// `reason`: trimmed, 1-200 characters, no control characters (line breaks included).
pub fn parse_reason(raw: &str) -> Result<String, OptionError> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 || n > MAX_REASON_CHARS || s.chars().any(char::is_control) {
        return Err(OptionError::Reason);
    }
    Ok(s.to_owned())
}

/// `txn`: absent, or a txn id.
pub fn parse_txn(raw: Option<&str>) -> Result<Option<TxnId>, OptionError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<TxnId>().map(Some).map_err(|_| OptionError::Txn),
    }
}

/// `limit`: absent (the front end's default) or 1 ..= its maximum.
pub fn parse_limit(raw: Option<i64>, pages: PageLimits) -> Result<u32, OptionError> {
    let Some(n) = raw else {
        return Ok(pages.default);
    };
    match u32::try_from(n) {
        Ok(n) if (1..=pages.max).contains(&n) => Ok(n),
        _ => Err(OptionError::Limit { max: pages.max }),
    }
}

/// `actor`: a Discord user id (a snowflake: 1-20 digits).
pub fn parse_actor(raw: &str) -> Result<String, OptionError> {
    let s = raw.trim();
    if (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(OptionError::Actor)
    }
}
