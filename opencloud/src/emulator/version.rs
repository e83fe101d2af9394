//! Roblox-format version ids, e.g. `08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01`.
//!
//! Layout used here: `<version time, .NET ticks, 16 hex>.<sequence in this key's history, 10
//! digits>.<object creation time, .NET ticks, 16 hex>.01`. Roblox calls the id opaque; the only
//! property callers may rely on is that ids of one key are distinct and (as strings) increasing,
//! which the store guarantees by never reusing or lowering the tick component.

/// .NET ticks (100 ns since 0001-01-01) at the Unix epoch.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// .NET ticks for a Unix-millisecond time.
pub fn ticks_from_ms(ms: i64) -> i64 {
    UNIX_EPOCH_TICKS.saturating_add(ms.saturating_mul(10_000))
}

/// Formats a version id.
pub fn format(version_ticks: i64, sequence: u64, created_ticks: i64) -> String {
    format!("{version_ticks:016X}.{sequence:010}.{created_ticks:016X}.01")
}

/// True when `text` has the shape of a version id (used to answer `InvalidVersionId`).
pub fn is_well_formed(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 4
        && parts[0].len() == 16
        && parts[0].bytes().all(|b| b.is_ascii_hexdigit())
        && !parts[1].is_empty()
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 16
        && parts[2].bytes().all(|b| b.is_ascii_hexdigit())
        && parts[3].len() == 2
        && parts[3].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_roblox_shape() {
        // 2022-01-31 (the docs' example era) gives ticks starting 08D9E...
        let ticks = ticks_from_ms(1_643_587_200_000);
        let id = format(ticks, 1, ticks);
        assert!(id.starts_with("08D9E"), "{id}");
        assert!(is_well_formed(&id));
        assert!(is_well_formed(
            "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01"
        ));
        assert!(!is_well_formed("nope"));
        assert!(!is_well_formed(
            "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF"
        ));
    }

    #[test]
    fn later_ticks_sort_later() {
        let a = format(ticks_from_ms(1_000), 1, 0);
        let b = format(ticks_from_ms(1_001), 2, 0);
        assert!(a < b);
    }
}
