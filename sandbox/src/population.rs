//! Simulated players: a seeded population that joins, leaves and hops between the live game
//! servers at a modest rate. Users moved by hand (console, demo) are pinned and never touched.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How the simulated players behave.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationConfig {
    /// The simulated users (id, username).
    pub users: Vec<(u64, String)>,
    /// How many of them are online on average.
    pub target_online: usize,
    /// Join / leave / hop events per virtual minute across the universe.
    pub events_per_minute: f64,
    /// Share of departures that are hops to another server (0–1).
    pub hop_share: f64,
    /// Seed of every choice.
    pub seed: u64,
}

/// One thing a simulated player does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// Joins a server.
    Join {
        /// User id.
        user: u64,
        /// Server index.
        server: usize,
    },
    /// Leaves the game.
    Leave {
        /// User id.
        user: u64,
        /// Server index.
        server: usize,
    },
    /// Leaves one server and joins another at once (a teleport; the sessions overlap).
    Hop {
        /// User id.
        user: u64,
        /// Server left.
        from: usize,
        /// Server joined.
        to: usize,
    },
}

/// Who is where, and the next moves.
#[derive(Debug)]
pub struct Population {
    config: PopulationConfig,
    rng: ChaCha8Rng,
    online: BTreeMap<u64, usize>,
    pinned: BTreeSet<u64>,
}

/// 24 first names for generated usernames.
const NAMES: &[&str] = &[
    "amber", "basil", "cedar", "dune", "ember", "fjord", "gale", "harbor", "iris", "juniper",
    "kestrel", "lumen", "maple", "nova", "onyx", "pike", "quill", "reed", "sable", "tide", "umber",
    "vale", "willow", "yarrow",
];

/// `count` users with ids from `first_id` and readable, unique usernames.
pub fn generated_users(first_id: u64, count: usize) -> Vec<(u64, String)> {
    (0..count)
        .map(|i| {
            let id = first_id + i as u64;
            (id, format!("{}_{id}", NAMES[i % NAMES.len()]))
        })
        .collect()
}

impl Population {
    /// A population with nobody online.
    pub fn new(config: PopulationConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            online: BTreeMap::new(),
            pinned: BTreeSet::new(),
        }
    }

    /// Where each online user is (simulated and pinned).
    pub fn online(&self) -> &BTreeMap<u64, usize> {
        &self.online
    }

    /// Whether the simulation may move `user`.
    pub fn is_simulated(&self, user: u64) -> bool {
        !self.pinned.contains(&user) && self.config.users.iter().any(|(id, _)| *id == user)
    }

    /// A user was placed by hand: from now on the simulation leaves them alone.
    pub fn placed(&mut self, user: u64, server: usize) {
        self.pinned.insert(user);
        self.online.insert(user, server);
    }

    /// A user left by hand.
    pub fn removed(&mut self, user: u64) {
        self.pinned.insert(user);
        self.online.remove(&user);
    }

    /// A server died: everyone on it is disconnected.
    pub fn server_gone(&mut self, server: usize) {
        self.online.retain(|_, s| *s != server);
    }

    /// The moves for the next `dt_s` virtual seconds, given the live servers. Applies them to
    /// its own view; the caller performs them on the universe.
    pub fn tick(&mut self, dt_s: f64, live: &[usize]) -> Vec<Move> {
        if live.is_empty() || self.config.users.is_empty() {
            return Vec::new();
        }
        let p = (self.config.events_per_minute / 60.0 * dt_s).clamp(0.0, 1.0);
        if p <= 0.0 || !self.rng.random_bool(p) {
            return Vec::new();
        }
        let simulated_online: Vec<(u64, usize)> = self
            .online
            .iter()
            .filter(|(u, _)| self.is_simulated(**u))
            .map(|(u, s)| (*u, *s))
            .collect();
        let offline: Vec<u64> = self
            .config
            .users
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !self.online.contains_key(id) && !self.pinned.contains(id))
            .collect();
        let join = (simulated_online.len() < self.config.target_online && !offline.is_empty())
            || simulated_online.is_empty();
        if join {
            if offline.is_empty() {
                return Vec::new();
            }
            let user = offline[self.rng.random_range(0..offline.len())];
            let server = live[self.rng.random_range(0..live.len())];
            self.online.insert(user, server);
            return vec![Move::Join { user, server }];
        }
        let (user, from) = simulated_online[self.rng.random_range(0..simulated_online.len())];
        let others: Vec<usize> = live.iter().copied().filter(|s| *s != from).collect();
        if !others.is_empty() && self.rng.random_bool(self.config.hop_share.clamp(0.0, 1.0)) {
            let to = others[self.rng.random_range(0..others.len())];
            self.online.insert(user, to);
            vec![Move::Hop { user, from, to }]
        } else {
            self.online.remove(&user);
            vec![Move::Leave { user, server: from }]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> PopulationConfig {
        PopulationConfig {
            users: generated_users(5_000, 12),
            target_online: 6,
            events_per_minute: 120.0,
            hop_share: 0.5,
            seed,
        }
    }

    fn run(seed: u64, frames: usize) -> (Vec<Move>, Population) {
        let mut pop = Population::new(config(seed));
        let live = [0, 1, 2];
        let mut all = Vec::new();
        for _ in 0..frames {
            all.extend(pop.tick(0.5, &live));
        }
        (all, pop)
    }

    #[test]
    fn the_same_seed_gives_the_same_players() {
        assert_eq!(run(7, 400).0, run(7, 400).0);
        assert_ne!(run(7, 400).0, run(8, 400).0);
    }

    #[test]
    fn players_join_leave_and_hop_around_the_target() {
        let (moves, pop) = run(3, 2_000);
        let count = |f: fn(&Move) -> bool| moves.iter().filter(|m| f(m)).count();
        assert!(count(|m| matches!(m, Move::Join { .. })) > 10);
        assert!(count(|m| matches!(m, Move::Leave { .. })) > 3);
        assert!(count(|m| matches!(m, Move::Hop { .. })) > 3);
        for m in &moves {
            if let Move::Hop { from, to, .. } = m {
                assert_ne!(from, to);
            }
        }
        assert!(pop.online().len() <= 7, "{:?}", pop.online());
    }

    #[test]
    fn pinned_users_and_dead_servers_are_left_alone() {
        let mut pop = Population::new(config(1));
        let pinned = 5_000;
        pop.placed(pinned, 2);
        for _ in 0..2_000 {
            for m in pop.tick(0.5, &[0, 1]) {
                let user = match m {
                    Move::Join { user, server } => {
                        assert_ne!(server, 2);
                        user
                    }
                    Move::Leave { user, .. } | Move::Hop { user, .. } => user,
                };
                assert_ne!(user, pinned);
            }
        }
        assert_eq!(pop.online().get(&pinned), Some(&2));
        pop.server_gone(2);
        assert!(!pop.online().contains_key(&pinned));
    }
}
