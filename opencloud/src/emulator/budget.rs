//! Open Cloud's own request budgets per universe and class, answered with 429 when spent
//! (<https://create.roblox.com/docs/cloud/guides/data-stores/throttling>): the legacy v1 data-store
//! Read and Write classes, publishes and user look-ups. v2 data-store calls spend the experience
//! budgets they share with game servers instead ([`super::experience`]), and every data-store
//! call spends its key's byte throughput there too.
//!
//! Fixed one-minute windows on the emulator's clock. Roblox's exact windowing is undocumented; a
//! fixed window is the simplest model that produces the documented headers.

use std::collections::HashMap;

use parking_lot::Mutex;

/// What a request spends budget on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetClass {
    /// Legacy v1 Read: get entry, get version, list data stores / keys / versions.
    Read,
    /// Legacy v1 Write: set, increment, delete entry.
    Write,
    /// Messaging publish.
    Publish,
    /// User look-ups.
    Users,
}

/// Requests per minute per universe and class.
#[derive(Clone, Debug)]
pub struct BudgetConfig {
    /// Limits; a class not present is unlimited.
    pub per_minute: HashMap<BudgetClass, u32>,
}

impl Default for BudgetConfig {
    /// Roblox's documented budgets: legacy v1 reads and writes 300/min per universe, publishes
    /// 5,000/min and user look-ups 1,000/min (per key owner at Roblox, per universe here).
    fn default() -> Self {
        Self {
            per_minute: HashMap::from([
                (BudgetClass::Read, 300),
                (BudgetClass::Write, 300),
                (BudgetClass::Publish, 5_000),
                (BudgetClass::Users, 1_000),
            ]),
        }
    }
}

impl BudgetConfig {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Self {
            per_minute: HashMap::new(),
        }
    }
}

/// The state of a budget after a request, for the `x-ratelimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Seconds until the window resets (≥ 1).
    pub reset_seconds: u64,
}

/// Live budget counters.
#[derive(Debug)]
pub struct Budgets {
    config: BudgetConfig,
    used: Mutex<HashMap<(u64, BudgetClass), (i64, u32)>>,
}

/// A fixed one-minute window: `(window index, seconds until it resets)`.
pub(crate) fn window(now_ms: i64) -> (i64, u64) {
    let index = now_ms.div_euclid(60_000);
    let reset_ms = (index + 1) * 60_000 - now_ms;
    let reset_seconds = u64::try_from((reset_ms + 999) / 1000).unwrap_or(60).max(1);
    (index, reset_seconds)
}

impl Budgets {
    /// Fresh counters.
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            used: Mutex::default(),
        }
    }

    /// Spends one request; `Err` (with the headers' values) when the window is exhausted.
    /// `Ok(None)` when the class is unlimited.
    pub fn take(
        &self,
        universe_id: u64,
        class: BudgetClass,
        now_ms: i64,
    ) -> Result<Option<RateInfo>, RateInfo> {
        let Some(&limit) = self.config.per_minute.get(&class) else {
            return Ok(None);
        };
        let (window, reset_seconds) = window(now_ms);
        let mut used = self.used.lock();
        let slot = used.entry((universe_id, class)).or_insert((window, 0));
        if slot.0 != window {
            *slot = (window, 0);
        }
        if slot.1 >= limit {
            return Err(RateInfo {
                limit,
                remaining: 0,
                reset_seconds,
            });
        }
        slot.1 += 1;
        Ok(Some(RateInfo {
            limit,
            remaining: limit - slot.1,
            reset_seconds,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_exhausts_and_resets_per_window() {
        let budgets = Budgets::new(BudgetConfig {
            per_minute: HashMap::from([(BudgetClass::Write, 2)]),
        });
        let t0 = 60_000 * 100 + 15_000;
        assert_eq!(
            budgets
                .take(1, BudgetClass::Write, t0)
                .unwrap()
                .unwrap()
                .remaining,
            1
        );
        assert_eq!(
            budgets
                .take(1, BudgetClass::Write, t0)
                .unwrap()
                .unwrap()
                .remaining,
            0
        );
        let refused = budgets.take(1, BudgetClass::Write, t0).unwrap_err();
        assert_eq!(refused.reset_seconds, 45);
        // Other universes and classes are independent.
        assert!(budgets.take(2, BudgetClass::Write, t0).is_ok());
        assert_eq!(budgets.take(1, BudgetClass::Read, t0), Ok(None));
        // The next window starts fresh.
        assert!(budgets.take(1, BudgetClass::Write, t0 + 45_000).is_ok());
    }
}
