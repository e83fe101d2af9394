//! Open Cloud timestamps: ISO-8601 / RFC 3339 text ↔ Unix milliseconds (UTC only, no leap seconds).
//!
//! v1 headers look like `2022-02-02T23:30:06.5388799+00:00` (7 fractional digits, .NET style);
//! v2 bodies like `2023-07-05T12:34:56.789Z`. Parsing accepts either, with any offset.

use shared::calendar::civil;
pub use shared::calendar::{TimeParseError, format_rfc3339};

/// v1 header form: `2022-02-02T23:30:06.5380000+00:00`.
pub fn format_v1(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}0000+00:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millisecond
    )
}

/// Parses an RFC 3339 timestamp (fraction optional, `Z` or `±hh:mm`) to Unix milliseconds.
pub fn parse(text: &str) -> Result<i64, TimeParseError> {
    shared::calendar::parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_headers_round_trip() {
        let ms = 1_643_844_606_538; // 2022-02-02T23:30:06.538Z
        assert_eq!(format_v1(ms), "2022-02-02T23:30:06.5380000+00:00");
        assert_eq!(parse("2022-02-02T23:30:06.5388799+00:00"), Ok(ms));
        for ms in [-86_400_001, 0, 951_782_400_000, 4_102_444_800_000] {
            assert_eq!(parse(&format_v1(ms)), Ok(ms));
        }
    }
}
