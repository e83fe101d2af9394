//! `DateTime` and `os.date` text over virtual Unix time (UTC), on the shared calendar.

pub use shared::calendar::{Civil, civil, days_from_civil};

/// `DateTime:ToIsoDate()` text, e.g. `2026-11-21T00:00:00.000Z`.
pub fn iso(ms: i64) -> String {
    shared::calendar::format_rfc3339(ms)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` into Unix ms.
pub fn parse_iso(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, "0"),
    };
    let mut t = hms.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let s: i64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac_ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    Some(days_from_civil(y, m, day) * 86_400_000 + ((h * 60 + mi) * 60 + s) * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips_the_reference_date() {
        assert_eq!(iso(1_795_219_200_000), "2026-11-21T00:00:00.000Z");
        assert_eq!(
            parse_iso("2026-11-21T00:00:00.000Z"),
            Some(1_795_219_200_000)
        );
        assert_eq!(parse_iso("2024-02-29T12:34:56.5Z"), Some(1_709_210_096_500));
        assert_eq!(parse_iso("not a date"), None);
    }
}
