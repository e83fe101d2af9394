//! The Open Cloud backend a universe runs on: the data stores, topics and experience limits it
//! shares with the bot's Open Cloud emulator, and the clock the universe moves.

use std::sync::Arc;

use opencloud::emulator::{
    Bus, Clock, Experience, ExperienceLimits, ManualClock, ReceiveLimit, Store,
};

/// The Open Cloud backend a universe shares with the bot (store, bus, experience and their clock).
#[derive(Clone)]
pub struct Backend {
    /// Data stores.
    pub store: Store,
    /// MessagingService topics.
    pub bus: Bus,
    /// Experience-wide data-store budgets and per-key throughput, shared by the universe's game
    /// servers and the Open Cloud emulator (off until set, e.g. by [`Backend::roblox_limits`]).
    pub experience: Experience,
    /// The clock both run on; the universe moves it.
    pub clock: Arc<ManualClock>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("now_ms", &self.clock.now_ms())
            .finish()
    }
}

impl Backend {
    /// A fresh backend whose clock reads `start_unix_ms`.
    pub fn new(start_unix_ms: i64) -> Self {
        let clock = ManualClock::shared(start_unix_ms);
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        Self {
            store: Store::new(dyn_clock.clone()),
            bus: Bus::new(dyn_clock),
            experience: Experience::default(),
            clock,
        }
    }

    /// Turns on Roblox's documented shared limits: the experience-wide data-store budgets and
    /// per-key throughput, and MessagingService's receive limits (per topic and per game). The
    /// per-server limits are [`crate::UniverseConfig`]'s.
    pub fn roblox_limits(&self) {
        self.experience.set_limits(ExperienceLimits::roblox());
        self.bus.set_receive_limit(Some(ReceiveLimit::ROBLOX));
    }
}
