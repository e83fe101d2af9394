//! The one calendar: Unix milliseconds ↔ UTC dates (proleptic Gregorian, no leap seconds), and
//! RFC 3339 text. Open Cloud timestamps, the engine emulator's `DateTime` / `os.date` and the
//! consoles' receipts all go through here.

use thiserror::Error;

/// Text that is not an RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("not an RFC 3339 timestamp (expected e.g. 2024-01-31T12:00:00Z)")]
pub struct TimeParseError;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // In range by construction: day 1..=31, month 1..=12.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01 (Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down UTC time of a Unix millisecond instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month 1–12.
    pub month: u32,
    /// Day 1–31.
    pub day: u32,
    /// Hour 0–23.
    pub hour: u32,
    /// Minute 0–59.
    pub minute: u32,
    /// Second 0–59.
    pub second: u32,
    /// Millisecond 0–999.
    pub millisecond: u32,
}

/// Splits Unix ms into UTC calendar fields.
pub fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // Each part is below 86 400 000, so it fits u32.
    Civil {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        millisecond: (rem % 1000) as u32,
    }
}

/// RFC 3339 UTC with milliseconds: `2023-07-05T12:34:56.789Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millisecond
    )
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Result<i64, TimeParseError> {
    let part = s.get(range).ok_or(TimeParseError)?;
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeParseError);
    }
    part.parse().map_err(|_| TimeParseError)
}

/// Parses an RFC 3339 timestamp (fraction optional, `Z` or `±hh:mm`) to Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, TimeParseError> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(TimeParseError);
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(TimeParseError);
    }
    let (y, mo, d) = (digits(t, 0..4)?, digits(t, 5..7)?, digits(t, 8..10)?);
    let (h, mi, s) = (digits(t, 11..13)?, digits(t, 14..16)?, digits(t, 17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(TimeParseError);
    }
    let mut i = 19;
    let mut frac_ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return Err(TimeParseError);
        }
        let padded: String = t[start..end].chars().chain("000".chars()).take(3).collect();
        frac_ms = padded.parse::<i64>().map_err(|_| TimeParseError)?;
        i = end;
    }
    let offset_min = match &t[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (digits(rest, 1..3)? * 60 + digits(rest, 4..6)?)
        }
        _ => return Err(TimeParseError),
    };
    // Month and day were range-checked above.
    let days = days_from_civil(y, mo as u32, d as u32);
    Ok((((days * 24 + h) * 60 + mi - offset_min) * 60 + s) * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_795_219_200_000),
            "2026-11-21T00:00:00.000Z"
        );
        let ms = 1_643_844_606_538; // 2022-02-02T23:30:06.538Z
        assert_eq!(format_rfc3339(ms), "2022-02-02T23:30:06.538Z");
        assert_eq!(parse_rfc3339("2022-02-02T23:30:06.5388799+00:00"), Ok(ms));
        assert_eq!(parse_rfc3339("2022-02-03T01:30:06.538+02:00"), Ok(ms));
        assert_eq!(parse_rfc3339("2022-02-02T23:30:06Z"), Ok(ms - 538));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.5Z"),
            Ok(1_709_210_096_500)
        );
        assert_eq!(civil(-1).year, 1969);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2022-02-02",
            "2022-13-02T00:00:00Z",
            "2022-02-02T00:00:00",
            "x022-02-02T00:00:00Z",
            "2022-02-02T00:00:00.Z",
            "2022-02-02T00:00:00+0100",
        ] {
            assert_eq!(parse_rfc3339(bad), Err(TimeParseError), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn text_round_trips(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            prop_assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Ok(ms));
        }
    }
}
