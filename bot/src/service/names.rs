//! A small cache of Roblox usernames by id, for showing names next to ids in audit answers. Only
//! names found are kept (a failed or empty look-up is asked again next time), for an hour (names
//! can change), and at most [`NAME_CACHE_ENTRIES`] of them.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most names kept.
pub const NAME_CACHE_ENTRIES: usize = 2048;
/// How long a name is trusted (ms).
pub const NAME_TTL_MS: i64 = 60 * 60 * 1000;
/// Most look-ups one answer may cost: ids beyond this are shown without a name.
pub const MAX_LOOKUPS_PER_ANSWER: usize = 25;

/// Usernames by user id.
pub type Names = HashMap<u64, String>;

/// Usernames by id with the time each was looked up.
#[derive(Debug, Default)]
pub struct NameCache {
    entries: Mutex<HashMap<u64, (String, i64)>>,
}

impl NameCache {
    /// The cached name of `id`, if looked up less than [`NAME_TTL_MS`] before `now_ms`.
    pub fn get(&self, id: u64, now_ms: i64) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|(_, at)| now_ms - at < NAME_TTL_MS)
            .map(|(name, _)| name.clone())
    }

    /// Keeps `name` for `id`; when full, expired names go first, then everything (a cache this
    /// small refills in a few answers).
    pub fn put(&self, id: u64, name: String, now_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= NAME_CACHE_ENTRIES && !entries.contains_key(&id) {
            entries.retain(|_, (_, at)| now_ms - *at < NAME_TTL_MS);
            if entries.len() >= NAME_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(id, (name, now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_expire_and_the_cache_stays_small() {
        let c = NameCache::default();
        c.put(1, "alice".into(), 0);
        assert_eq!(c.get(1, NAME_TTL_MS - 1).as_deref(), Some("alice"));
        assert_eq!(c.get(1, NAME_TTL_MS), None);
        for id in 0..(NAME_CACHE_ENTRIES as u64 + 10) {
            c.put(id, format!("u{id}"), 5);
        }
        assert!(c.entries.lock().unwrap().len() <= NAME_CACHE_ENTRIES);
        let last = NAME_CACHE_ENTRIES as u64 + 9;
        assert_eq!(c.get(last, 6), Some(format!("u{last}")));
    }
}
