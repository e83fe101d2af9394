//! Open Cloud timestamps: ISO-8601 / RFC 3339 text ↔ Unix milliseconds (UTC only, no leap seconds).
//!
//! v1 headers look like `2022-02-02T23:30:06.5388799+00:00` (7 fractional digits, .NET style);
//! v2 bodies like `2023-07-05T12:34:56.789Z`. Parsing accepts either, with any offset.

use thiserror::Error;

/// Text that is not an RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("not an RFC 3339 timestamp (expected e.g. 2024-01-31T12:00:00Z)")]
pub struct TimeParseError;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date for a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    (
        y,
        mo,
        d,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    )
}

/// v1 header form: `2022-02-02T23:30:06.5380000+00:00`.
pub fn format_v1(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = split(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}0000+00:00")
}

/// RFC 3339 UTC with milliseconds: `2023-07-05T12:34:56.789Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = split(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Result<i64, TimeParseError> {
    let part = s.get(range).ok_or(TimeParseError)?;
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeParseError);
    }
    part.parse().map_err(|_| TimeParseError)
}

/// Parses an RFC 3339 timestamp (fraction optional, `Z` or `±hh:mm`) to Unix milliseconds.
pub fn parse(text: &str) -> Result<i64, TimeParseError> {
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
        let frac = &t[start..end];
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
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
    let days = days_from_civil(y, mo, d);
    Ok((((days * 24 + h) * 60 + mi - offset_min) * 60 + s) * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2022-02-02T23:30:06.538Z
        let ms = 1_643_844_606_538;
        assert_eq!(format_rfc3339(ms), "2022-02-02T23:30:06.538Z");
        assert_eq!(format_v1(ms), "2022-02-02T23:30:06.5380000+00:00");
        assert_eq!(parse("2022-02-02T23:30:06.5388799+00:00"), Ok(ms));
        assert_eq!(parse("2022-02-03T01:30:06.538+02:00"), Ok(ms));
        assert_eq!(parse("2022-02-02T23:30:06Z"), Ok(ms - 538));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2022-02-02",
            "2022-13-02T00:00:00Z",
            "2022-02-02T00:00:00",
            "x022-02-02T00:00:00Z",
        ] {
            assert_eq!(parse(bad), Err(TimeParseError), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for ms in [
            -86_400_001,
            0,
            951_782_400_000,
            1_700_000_000_123,
            4_102_444_800_000,
        ] {
            assert_eq!(parse(&format_rfc3339(ms)), Ok(ms));
            assert_eq!(parse(&format_v1(ms)), Ok(ms));
        }
    }
}
