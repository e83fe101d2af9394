//! Counts calls through the Open Cloud ports, for tests and the calls-per-command benchmark.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals (shared by the adapters of one service).
#[derive(Debug, Default)]
pub struct CallCounter {
    get: AtomicU64,
    set: AtomicU64,
    publish: AtomicU64,
    users: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Data store entry reads.
    pub get: u64,
    /// Data store entry writes.
    pub set: u64,
    /// Message publishes.
    pub publish: u64,
    /// User look-ups (id or username).
    pub users: u64,
}

impl Calls {
    /// Open Cloud data store and messaging calls (what the Roblox budgets count).
    pub fn open_cloud(&self) -> u64 {
        self.get + self.set + self.publish
    }

    /// Calls made since `earlier`.
    pub fn since(&self, earlier: &Calls) -> Calls {
        Calls {
            get: self.get - earlier.get,
            set: self.set - earlier.set,
            publish: self.publish - earlier.publish,
            users: self.users - earlier.users,
        }
    }
}

impl CallCounter {
    /// Counts a read.
    pub fn get(&self) {
        self.get.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a write.
    pub fn set(&self) {
        self.set.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a publish.
    pub fn publish(&self) {
        self.publish.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a user look-up.
    pub fn users(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// The totals now.
    pub fn snapshot(&self) -> Calls {
        Calls {
            get: self.get.load(Ordering::Relaxed),
            set: self.set.load(Ordering::Relaxed),
            publish: self.publish.load(Ordering::Relaxed),
            users: self.users.load(Ordering::Relaxed),
        }
    }
}
