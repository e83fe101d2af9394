//! How far this machine's clock is from a server's, from the server's `Date` header (RFC 9110
//! §5.6.7: IMF-fixdate, whole seconds) and the request's round trip.

use shared::calendar::days_from_civil;

/// Beyond this the doctor reports a problem: game servers refuse a command whose `issuedAt` is
/// more than `MAX_FUTURE_SKEW_MS` (60 s) ahead of their clock, and the audit API a signature
/// more than 300 s off; half the smaller margin leaves room for the servers' own drift.
pub const SKEW_PROBLEM_MS: i64 = shared::limits::MAX_FUTURE_SKEW_MS / 2;

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix milliseconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let rest = text.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + m) * 60_000 + s * 1000)
}

/// The server's clock minus ours, in ms, as well as one `Date` header can tell: the header was
/// written somewhere between our send and receive times and truncated to the second, so the
/// estimate is the distance from the header's second to the interval between send and receive;
/// zero when they overlap (then the clocks agree within the measurement's resolution).
pub fn skew_ms(sent_ms: i64, received_ms: i64, server_ms: i64) -> i64 {
    // The header's second covers [server_ms, server_ms + 1000).
    let server_end = server_ms + 999;
    if server_end < sent_ms {
        server_end - sent_ms
    } else if server_ms > received_ms {
        server_ms - received_ms
    } else {
        0
    }
}

/// "12.3 s ahead" / "4.0 s behind" / "in step", for a line.
pub fn describe(skew_ms: i64) -> String {
    let secs = skew_ms.unsigned_abs() as f64 / 1000.0;
    match skew_ms {
        0 => "in step (within a second)".to_owned(),
        s if s > 0 => format!("{secs:.1} s ahead of this machine"),
        _ => format!("{secs:.1} s behind this machine"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_imf_fixdate_and_refuses_other_forms() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn skew_is_the_gap_between_the_header_second_and_the_round_trip() {
        // Header second overlaps the round trip: in step.
        assert_eq!(skew_ms(10_500, 10_700, 10_000), 0);
        // Server 60 s ahead.
        assert_eq!(skew_ms(10_000, 10_200, 70_000), 59_800);
        // Server 60 s behind.
        assert_eq!(skew_ms(70_000, 70_200, 10_000), -59_001);
        assert!(describe(59_800).contains("ahead"));
        assert!(describe(-59_001).contains("behind"));
        assert!(describe(0).contains("in step"));
    }
}
