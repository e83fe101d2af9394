//! Snowflake ids from the fake's clock: unique, and increasing in creation order like Discord's.

use std::sync::atomic::{AtomicU64, Ordering};

/// Discord's epoch (the first second of 2015) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// Hands out snowflakes.
#[derive(Debug, Default)]
pub struct Snowflakes {
    seq: AtomicU64,
}

impl Snowflakes {
    /// A new id for something created at `now_ms`.
    pub fn next(&self, now_ms: i64) -> u64 {
        let since = u64::try_from(now_ms - DISCORD_EPOCH_MS).unwrap_or(0);
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) & 0x3F_FFFF;
        (since << 22) | seq
    }
}
