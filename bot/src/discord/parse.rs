//! Command-option parsing: raw slash-command values in, typed service arguments out, or a message
//! that names the problem. Pure, so it is tested without a gateway.

use crate::service::Target;
use shared::TxnId;
use shared::limits::MAX_SAFE_INTEGER;

/// Largest reason length (the protocol's limit).
pub const MAX_REASON_CHARS: usize = 200;
/// Default `/audit` page size.
pub const AUDIT_DEFAULT_LIMIT: i64 = 10;
/// Largest `/audit` page size: ten records with full reasons fit one embed's 6000 characters.
pub const AUDIT_MAX_LIMIT: i64 = 10;

/// A slash-command option that cannot be used; the text is shown to the member as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// `user` is empty.
    #[error("`user` is empty: enter a Roblox user id or username")]
    EmptyUser,
    /// `user` is digits but not a possible Roblox user id.
    #[error("`user` {0} is not a Roblox user id (1 to 9007199254740991)")]
    UserIdRange(String),
    /// `user` is neither digits nor a possible Roblox username.
    #[error("`user` is not a Roblox username (3-20 letters, digits or one _ inside) nor a user id")]
    BadUsername,
    /// `amount` is out of range.
    #[error("`amount` must be a whole number from 1 to {max}")]
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
    #[error("`limit` must be from 1 to 10")]
    Limit,
}

/// A checked give / deduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveArgs {
    /// Whose wallet.
    pub target: Target,
    /// How much.
    pub amount: i64,
    /// Why (trimmed).
    pub reason: String,
    /// Replay of an earlier txn.
    pub replay: Option<TxnId>,
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

/// `limit`: absent (10) or 1-10.
pub fn parse_limit(raw: Option<i64>) -> Result<u32, OptionError> {
    match raw.unwrap_or(AUDIT_DEFAULT_LIMIT) {
        n @ 1..=AUDIT_MAX_LIMIT => u32::try_from(n).map_err(|_| OptionError::Limit),
        _ => Err(OptionError::Limit),
    }
}

/// All options of `/give` and `/deduct`, checked in the order the member typed them.
pub fn parse_move(
    user: &str,
    amount: i64,
    reason: &str,
    txn: Option<&str>,
    max_amount: i64,
) -> Result<MoveArgs, OptionError> {
    Ok(MoveArgs {
        target: parse_user(user)?,
        amount: parse_amount(amount, max_amount)?,
        reason: parse_reason(reason)?,
        replay: parse_txn(txn)?,
    })
}
