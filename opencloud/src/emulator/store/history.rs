//! One key's history: its versions, oldest first, and their expiry.

use super::entry::Entry;

#[derive(Debug, Default)]
pub(super) struct KeyRecord {
    /// Oldest first; the last one is the head.
    pub(super) versions: Vec<Entry>,
    /// Tick component of the newest version id; never decreases.
    pub(super) last_ticks: i64,
    /// Number of versions ever written.
    pub(super) sequence: u64,
}

impl KeyRecord {
    pub(super) fn live(&self) -> Option<&Entry> {
        self.versions.last().filter(|e| !e.deleted)
    }

    /// Drops versions past their retention at `now`: a version superseded more than `retention`
    /// ago, and the whole history once its tombstone is that old. The sequence and ticks stay, so
    /// ids keep increasing if the key is written again.
    pub(super) fn expire(&mut self, retention: Option<i64>, now: i64) {
        let Some(retention) = retention else {
            return;
        };
        let Some(head) = self.versions.last() else {
            return;
        };
        if head.deleted && head.updated_ms.saturating_add(retention) <= now {
            self.versions.clear();
            return;
        }
        // Version i was superseded when version i + 1 was written.
        let superseded: Vec<i64> = self.versions.iter().skip(1).map(|e| e.updated_ms).collect();
        let mut index = 0;
        self.versions.retain(|_| {
            let keep = superseded
                .get(index)
                .is_none_or(|at| at.saturating_add(retention) > now);
            index += 1;
            keep
        });
    }
}
