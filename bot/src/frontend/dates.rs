//! `since` / `until` of `/audit`: the accepted UTC formats and the range rules, the same for every
//! front end.
//!
//! Accepted (always UTC, an ending `Z` allowed): `2026-12-01` (a whole day), `2026-12-01 14:30`,
//! `2026-12-01T14:30`, `2026-12-01 14:30:05`, `2026-12-01T14:30:05`. `since` is the first instant
//! included; `until` is the first instant excluded, except that a bare date as `until` includes
//! that whole day (it means the next midnight), so `since:2026-12-01 until:2026-12-01` is that day.

use super::args::OptionError;
use shared::calendar::{civil_from_days, days_from_civil};

const MS_PER_DAY: i64 = 86_400_000;
/// How far ahead `until` may reach (a member a day ahead of UTC typing "tomorrow" still passes).
pub const UNTIL_AHEAD_MS: i64 = 2 * MS_PER_DAY;

/// Which end of the range an option is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `since`: a bare date means its midnight.
    Since,
    /// `until`: a bare date means the midnight after it.
    Until,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            Self::Since => "since",
            Self::Until => "until",
        }
    }
}

fn number(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// One end of the range as Unix ms (see the module docs for the formats).
pub fn parse_when(raw: &str, end: End) -> Result<i64, OptionError> {
    let name = end.name();
    let format = || OptionError::DateFormat(name);
    let s = raw.trim();
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .unwrap_or(s);
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(t) = time
        && (t.contains('+') || t.matches('-').count() > 0)
    {
        return Err(OptionError::DateOffset(name));
    }
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(format());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(format());
    }
    let (y, m, d) = (
        number(y).ok_or_else(format)?,
        number(m).ok_or_else(format)?,
        number(d).ok_or_else(format)?,
    );
    let (mu, du) = (
        u32::try_from(m).map_err(|_| format())?,
        u32::try_from(d).map_err(|_| format())?,
    );
    let days = days_from_civil(y, mu, du);
    if !(1..=12).contains(&m) || civil_from_days(days) != (y, mu, du) || y < 1970 {
        return Err(OptionError::NoSuchDate(name));
    }
    let Some(t) = time else {
        let day = if end == End::Until { days + 1 } else { days };
        return Ok(day * MS_PER_DAY);
    };
    let fields: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
        return Err(format());
    }
    let mut hms = [0i64; 3];
    for (slot, f) in hms.iter_mut().zip(&fields) {
        *slot = number(f).ok_or_else(format)?;
    }
    let [h, mi, sec] = hms;
    if h > 23 || mi > 59 || sec > 59 {
        return Err(OptionError::NoSuchDate(name));
    }
    Ok(days * MS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000)
}

/// An option's text, trimmed; empty counts as absent.
fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The range `[since, until)` in Unix ms, checked against `now_ms`: `since` not in the future,
/// `until` at most [`UNTIL_AHEAD_MS`] ahead and later than `since`.
pub fn parse_range(
    since: Option<&str>,
    until: Option<&str>,
    now_ms: i64,
) -> Result<(Option<i64>, Option<i64>), OptionError> {
    let since = present(since)
        .map(|s| parse_when(s, End::Since))
        .transpose()?;
    let until = present(until)
        .map(|s| parse_when(s, End::Until))
        .transpose()?;
    if since.is_some_and(|s| s > now_ms) {
        return Err(OptionError::SinceFuture);
    }
    if until.is_some_and(|u| u > now_ms.saturating_add(UNTIL_AHEAD_MS)) {
        return Err(OptionError::UntilFarAhead);
    }
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(OptionError::RangeOrder);
    }
    Ok((since, until))
}
