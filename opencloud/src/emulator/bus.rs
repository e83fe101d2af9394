//! MessagingService: per-universe topics, synchronous fan-out of `{Data, Sent}` to subscribers.
//!
//! [`Bus::publish`] delivers immediately and reliably; callers such as the engine emulator add their
//! own latency and loss on their side. [`Bus::publish_faulty`] applies the bus's own seeded
//! [`MessageFaults`] (drop, duplicate, delay, reorder) and is what the HTTP publish endpoints use,
//! because real Open Cloud messaging is best effort. Delayed and held messages are delivered by
//! [`Bus::deliver_due`], which the HTTP server calls on a timer and deterministic tests call after
//! moving their clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use shared::clock::Clock;

/// A message as a subscriber receives it (Roblox's `{Data, Sent}` table).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The topic it was published on.
    pub topic: String,
    /// The payload string (`Data`).
    pub data: String,
    /// Publish time in Unix seconds (`Sent`).
    pub sent_unix_seconds: f64,
    /// Published through Open Cloud's HTTP API ([`Bus::publish_open_cloud`]): only live game
    /// servers get it, never Studio's ("the API can only target live game servers").
    pub from_open_cloud: bool,
}

/// A subscriber callback; runs on the publishing thread without any bus lock held.
pub type Subscriber = Arc<dyn Fn(&Message) + Send + Sync>;

/// Identifies a subscription for [`Bus::unsubscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(u64);

/// Seeded, best-effort delivery faults for [`Bus::publish_faulty`].
#[derive(Clone, Debug, PartialEq)]
pub struct MessageFaults {
    /// Seed of the fault RNG (same seed + same publishes = same faults).
    pub seed: u64,
    /// Probability a message is never delivered.
    pub drop: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Probability a message is delayed by a uniform `delay_ms` range.
    pub delay: f64,
    /// Delay range, ms (inclusive).
    pub delay_ms: (i64, i64),
    /// Probability a message is held back until after the next message on its topic.
    pub reorder: f64,
    /// Longest a reordered message is held when no later message comes, ms.
    pub reorder_max_hold_ms: i64,
}

impl MessageFaults {
    /// No faults.
    pub fn none(seed: u64) -> Self {
        Self {
            seed,
            drop: 0.0,
            duplicate: 0.0,
            delay: 0.0,
            delay_ms: (0, 0),
            reorder: 0.0,
            reorder_max_hold_ms: 2_000,
        }
    }

    /// Roblox's documented behaviour: typically delivered within 1–2 s, best effort.
    pub fn realistic(seed: u64) -> Self {
        Self {
            seed,
            drop: 0.01,
            duplicate: 0.01,
            delay: 1.0,
            delay_ms: (50, 2_000),
            reorder: 0.02,
            reorder_max_hold_ms: 2_000,
        }
    }
}

/// Counters of what the bus did, for test assertions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Publish calls.
    pub published: u64,
    /// Callback invocations.
    pub delivered: u64,
    /// Messages dropped by faults.
    pub dropped: u64,
    /// Extra copies delivered by faults.
    pub duplicated: u64,
    /// Messages delayed by faults.
    pub delayed: u64,
    /// Messages held back for reordering.
    pub reordered: u64,
    /// Receipts not made because the topic's per-minute receive limit was spent.
    pub over_receive_limit: u64,
    /// Receipts not made because the whole game's per-minute receive limit was spent.
    pub over_game_receive_limit: u64,
}

/// MessagingService's receive limits (MessagingService › Limits), a receipt being one subscriber
/// getting one message: per topic `base + per_server × servers` a minute, servers counted as the
/// topic's subscriptions; for the whole game `game_base + game_per_server × servers` a minute,
/// servers being the universe's running game servers ([`Bus::set_game_servers`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveLimit {
    /// Receipts per topic per minute with no server.
    pub base: u64,
    /// Extra receipts per topic per minute per subscribed server.
    pub per_server: u64,
    /// Receipts per minute for the whole game with no server.
    pub game_base: u64,
    /// Extra receipts per minute for the whole game per running server.
    pub game_per_server: u64,
}

impl ReceiveLimit {
    /// Roblox's documented limits: 40 + 80 × servers per topic and 400 + 200 × servers for the
    /// whole game, per minute.
    pub const ROBLOX: ReceiveLimit = ReceiveLimit {
        base: 40,
        per_server: 80,
        game_base: 400,
        game_per_server: 200,
    };
}

type TopicKey = (u64, String);

/// A delayed message, keyed in [`BusState::pending`] by `(due ms, sequence)`.
struct Pending {
    universe_id: u64,
    message: Message,
}

/// A message held back for reordering; `seq` is taken when it is held, so release order never
/// depends on map iteration order.
struct Held {
    since_ms: i64,
    seq: u64,
    message: Message,
}

#[derive(Default)]
struct BusState {
    next_id: u64,
    next_seq: u64,
    subscribers: HashMap<TopicKey, Vec<(SubscriptionId, Subscriber)>>,
    faults: Option<(MessageFaults, ChaCha8Rng)>,
    /// Ordered by `(due ms, sequence)` so equal due times deliver in publish order.
    pending: BTreeMap<(i64, u64), Pending>,
    /// Ordered by topic so every walk over it is deterministic.
    held: BTreeMap<TopicKey, Vec<Held>>,
    stats: BusStats,
    receive_limit: Option<ReceiveLimit>,
    /// Receipts per topic in the current minute window: `(window index, count)`.
    received: HashMap<TopicKey, (i64, u64)>,
    /// Receipts per universe in the current minute window.
    game_received: HashMap<u64, (i64, u64)>,
    /// Running game servers per universe (for the whole-game limit).
    game_servers: HashMap<u64, u64>,
}

/// The messaging service of every emulated universe; clones share subscribers.
#[derive(Clone)]
pub struct Bus {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<BusState>>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("stats", &self.state.lock().stats)
            .finish()
    }
}

impl Bus {
    /// A bus with no subscribers and no faults.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Arc::default(),
        }
    }

    /// Registers `callback` for `topic` in `universe_id`.
    pub fn subscribe(
        &self,
        universe_id: u64,
        topic: impl Into<String>,
        callback: Subscriber,
    ) -> SubscriptionId {
        let mut state = self.state.lock();
        state.next_id += 1;
        let id = SubscriptionId(state.next_id);
        state
            .subscribers
            .entry((universe_id, topic.into()))
            .or_default()
            .push((id, callback));
        id
    }

    /// Subscribes a channel: every delivered message is sent to the returned receiver.
    pub fn subscribe_channel(
        &self,
        universe_id: u64,
        topic: impl Into<String>,
    ) -> (
        SubscriptionId,
        tokio::sync::mpsc::UnboundedReceiver<Message>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let id = self.subscribe(
            universe_id,
            topic,
            Arc::new(move |m: &Message| {
                // A dropped receiver just means nobody listens any more.
                let _ = tx.send(m.clone());
            }),
        );
        (id, rx)
    }

    /// Removes a subscription; true if it existed.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut state = self.state.lock();
        let mut found = false;
        for subs in state.subscribers.values_mut() {
            let before = subs.len();
            subs.retain(|(sid, _)| *sid != id);
            found |= subs.len() != before;
        }
        state.subscribers.retain(|_, subs| !subs.is_empty());
        found
    }

    /// Number of subscriptions on a topic.
    pub fn subscriber_count(&self, universe_id: u64, topic: &str) -> usize {
        self.state
            .lock()
            .subscribers
            .get(&(universe_id, topic.to_owned()))
            .map_or(0, Vec::len)
    }

    /// Sets (or with `None` clears) the faults applied by [`Bus::publish_faulty`].
    pub fn set_faults(&self, faults: Option<MessageFaults>) {
        self.state.lock().faults = faults.map(|f| {
            let rng = ChaCha8Rng::seed_from_u64(f.seed);
            (f, rng)
        });
    }

    /// Sets (or with `None` clears) the per-topic receive limit; none by default. What Roblox does
    /// with messages over the limit is undocumented: here they are not received.
    pub fn set_receive_limit(&self, limit: Option<ReceiveLimit>) {
        self.state.lock().receive_limit = limit;
    }

    /// How many game servers of a universe are running (the engine emulator keeps it current).
    pub fn set_game_servers(&self, universe_id: u64, servers: u64) {
        self.state.lock().game_servers.insert(universe_id, servers);
    }

    /// True when [`Bus::publish_faulty`] applies faults.
    pub fn has_faults(&self) -> bool {
        self.state.lock().faults.is_some()
    }

    /// What the bus has done so far.
    pub fn stats(&self) -> BusStats {
        self.state.lock().stats
    }

    /// Messages waiting for [`Bus::deliver_due`] (delayed or held for reordering).
    pub fn in_flight(&self) -> usize {
        let state = self.state.lock();
        state.pending.len() + state.held.values().map(Vec::len).sum::<usize>()
    }

    /// Delivers now to every current subscriber; returns how many callbacks ran.
    pub fn publish(&self, universe_id: u64, topic: &str, data: impl Into<String>) -> usize {
        let message = self.message(topic, data.into());
        self.state.lock().stats.published += 1;
        self.deliver(universe_id, &message)
    }

    /// Publishes through the configured faults (plain [`Bus::publish`] when none are set).
    pub fn publish_faulty(&self, universe_id: u64, topic: &str, data: impl Into<String>) {
        self.publish_through_faults(universe_id, self.message(topic, data.into()));
    }

    /// [`Bus::publish_faulty`] for a publish through Open Cloud's HTTP API: subscribers see
    /// [`Message::from_open_cloud`] (the engine emulator's Studio servers ignore it).
    pub fn publish_open_cloud(&self, universe_id: u64, topic: &str, data: impl Into<String>) {
        let mut message = self.message(topic, data.into());
        message.from_open_cloud = true;
        self.publish_through_faults(universe_id, message);
    }

    fn publish_through_faults(&self, universe_id: u64, message: Message) {
        let topic = message.topic.as_str();
        let now = message_ms(&message);
        let topic_key = (universe_id, topic.to_owned());
        let mut copies = 1;
        let mut release_after: Vec<Held> = Vec::new();
        {
            let mut state = self.state.lock();
            state.stats.published += 1;
            let Some((faults, rng)) = state.faults.as_mut() else {
                drop(state);
                self.deliver(universe_id, &message);
                return;
            };
            let faults = faults.clone();
            let dropped = rng.random_bool(faults.drop.clamp(0.0, 1.0));
            let duplicated = rng.random_bool(faults.duplicate.clamp(0.0, 1.0));
            let delayed = rng.random_bool(faults.delay.clamp(0.0, 1.0));
            let delay = if faults.delay_ms.1 > faults.delay_ms.0 {
                rng.random_range(faults.delay_ms.0..=faults.delay_ms.1)
            } else {
                faults.delay_ms.0
            };
            let reordered = rng.random_bool(faults.reorder.clamp(0.0, 1.0));
            if dropped {
                state.stats.dropped += 1;
                return;
            }
            if duplicated {
                state.stats.duplicated += 1;
                copies = 2;
            }
            if reordered {
                state.stats.reordered += 1;
                for _ in 0..copies {
                    state.next_seq += 1;
                    let seq = state.next_seq;
                    state.held.entry(topic_key.clone()).or_default().push(Held {
                        since_ms: now,
                        seq,
                        message: message.clone(),
                    });
                }
                return;
            }
            if delayed && delay > 0 {
                state.stats.delayed += 1;
                for _ in 0..copies {
                    state.next_seq += 1;
                    let seq = state.next_seq;
                    state.pending.insert(
                        (now + delay, seq),
                        Pending {
                            universe_id,
                            message: message.clone(),
                        },
                    );
                }
                return;
            }
            // This message overtakes anything held on its topic; those go right after it.
            if let Some(held) = state.held.remove(&topic_key) {
                release_after = held;
            }
        }
        for _ in 0..copies {
            self.deliver(universe_id, &message);
        }
        for held in release_after {
            self.deliver(universe_id, &held.message);
        }
    }

    /// Delivers delayed messages whose time has come and held messages older than their max hold;
    /// returns how many messages were delivered.
    pub fn deliver_due(&self) -> usize {
        let now = self.clock.now_ms();
        let due: BTreeMap<(i64, u64), Pending> = {
            let mut state = self.state.lock();
            let hold = state
                .faults
                .as_ref()
                .map_or(0, |(f, _)| f.reorder_max_hold_ms);
            // Everything due at or before `now`; the rest stays queued.
            let waiting = state.pending.split_off(&(now.saturating_add(1), 0));
            let mut due = std::mem::replace(&mut state.pending, waiting);
            for ((universe_id, _), held) in state.held.iter_mut() {
                let (old, young): (Vec<Held>, Vec<Held>) =
                    held.drain(..).partition(|h| now - h.since_ms >= hold);
                *held = young;
                for h in old {
                    due.insert(
                        (h.since_ms + hold, h.seq),
                        Pending {
                            universe_id: *universe_id,
                            message: h.message,
                        },
                    );
                }
            }
            state.held.retain(|_, h| !h.is_empty());
            due
        };
        let count = due.len();
        for p in due.into_values() {
            self.deliver(p.universe_id, &p.message);
        }
        count
    }

    fn message(&self, topic: &str, data: String) -> Message {
        Message {
            topic: topic.to_owned(),
            data,
            sent_unix_seconds: self.clock.now_ms() as f64 / 1000.0,
            from_open_cloud: false,
        }
    }

    fn deliver(&self, universe_id: u64, message: &Message) -> usize {
        let now = self.clock.now_ms();
        let callbacks: Vec<Subscriber> = {
            let mut state = self.state.lock();
            let key = (universe_id, message.topic.clone());
            let mut callbacks: Vec<Subscriber> = state
                .subscribers
                .get(&key)
                .map(|subs| subs.iter().map(|(_, cb)| cb.clone()).collect())
                .unwrap_or_default();
            if let Some(limit) = state.receive_limit {
                let allowed = limit.base + limit.per_server * callbacks.len() as u64;
                let servers = state.game_servers.get(&universe_id).copied().unwrap_or(0);
                let game_allowed = limit.game_base + limit.game_per_server * servers;
                let window = now.div_euclid(60_000);
                let slot = state.received.entry(key).or_insert((window, 0));
                if slot.0 != window {
                    *slot = (window, 0);
                }
                let room = allowed.saturating_sub(slot.1) as usize;
                let cut = callbacks.len().saturating_sub(room);
                callbacks.truncate(callbacks.len() - cut);
                slot.1 += callbacks.len() as u64;
                state.stats.over_receive_limit += cut as u64;
                let game = state
                    .game_received
                    .entry(universe_id)
                    .or_insert((window, 0));
                if game.0 != window {
                    *game = (window, 0);
                }
                let room = game_allowed.saturating_sub(game.1) as usize;
                let game_cut = callbacks.len().saturating_sub(room);
                callbacks.truncate(callbacks.len() - game_cut);
                game.1 += callbacks.len() as u64;
                state.stats.over_game_receive_limit += game_cut as u64;
            }
            callbacks
        };
        for cb in &callbacks {
            cb(message);
        }
        self.state.lock().stats.delivered += callbacks.len() as u64;
        callbacks.len()
    }
}

fn message_ms(message: &Message) -> i64 {
    (message.sent_unix_seconds * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::clock::ManualClock;

    fn recorder(
        bus: &Bus,
        universe: u64,
        topic: &str,
    ) -> (SubscriptionId, Arc<Mutex<Vec<Message>>>) {
        let got: Arc<Mutex<Vec<Message>>> = Arc::default();
        let sink = got.clone();
        let id = bus.subscribe(
            universe,
            topic,
            Arc::new(move |m: &Message| sink.lock().push(m.clone())),
        );
        (id, got)
    }

    #[test]
    fn fan_out_to_topic_and_universe_only() {
        let clock = ManualClock::shared(1_700_000_000_500);
        let bus = Bus::new(clock);
        let (_, a) = recorder(&bus, 1, "t");
        let (id_b, b) = recorder(&bus, 1, "t");
        let (_, other_topic) = recorder(&bus, 1, "u");
        let (_, other_universe) = recorder(&bus, 2, "t");
        assert_eq!(bus.publish(1, "t", "hello"), 2);
        assert_eq!(a.lock().len(), 1);
        assert_eq!(b.lock()[0].data, "hello");
        assert_eq!(b.lock()[0].sent_unix_seconds, 1_700_000_000.5);
        assert!(other_topic.lock().is_empty() && other_universe.lock().is_empty());
        assert!(bus.unsubscribe(id_b));
        assert!(!bus.unsubscribe(id_b));
        assert_eq!(bus.publish(1, "t", "again"), 1);
        assert_eq!(b.lock().len(), 1);
        assert_eq!(bus.stats().delivered, 3);
    }

    #[test]
    fn channel_subscribers_receive() {
        let bus = Bus::new(ManualClock::shared(0));
        let (_, mut rx) = bus.subscribe_channel(7, "x");
        bus.publish(7, "x", "m");
        assert_eq!(rx.try_recv().unwrap().data, "m");
    }

    #[test]
    fn callbacks_may_publish_without_deadlock() {
        let bus = Bus::new(ManualClock::shared(0));
        let inner = bus.clone();
        bus.subscribe(
            1,
            "ping",
            Arc::new(move |_m: &Message| {
                inner.publish(1, "pong", "reply");
            }),
        );
        let (_, pongs) = recorder(&bus, 1, "pong");
        bus.publish(1, "ping", "x");
        assert_eq!(pongs.lock().len(), 1);
    }

    #[test]
    fn delays_wait_for_the_clock() {
        let clock = ManualClock::shared(0);
        let bus = Bus::new(clock.clone());
        let (_, got) = recorder(&bus, 1, "t");
        bus.set_faults(Some(MessageFaults {
            delay: 1.0,
            delay_ms: (1_000, 1_000),
            ..MessageFaults::none(1)
        }));
        bus.publish_faulty(1, "t", "late");
        assert!(got.lock().is_empty());
        assert_eq!(bus.in_flight(), 1);
        clock.advance(999);
        assert_eq!(bus.deliver_due(), 0);
        clock.advance(1);
        assert_eq!(bus.deliver_due(), 1);
        assert_eq!(got.lock()[0].data, "late");
        assert_eq!(
            got.lock()[0].sent_unix_seconds,
            0.0,
            "Sent is the publish time"
        );
    }

    #[test]
    fn reorder_lets_the_next_message_overtake() {
        let clock = ManualClock::shared(0);
        let bus = Bus::new(clock.clone());
        let (_, got) = recorder(&bus, 1, "t");
        bus.set_faults(Some(MessageFaults {
            reorder: 1.0,
            ..MessageFaults::none(3)
        }));
        bus.publish_faulty(1, "t", "first");
        bus.set_faults(Some(MessageFaults::none(3)));
        bus.publish_faulty(1, "t", "second");
        let order: Vec<String> = got.lock().iter().map(|m| m.data.clone()).collect();
        assert_eq!(order, vec!["second", "first"]);
    }

    /// One log of `topic:data` across every topic, in delivery order.
    fn shared_log(bus: &Bus, topics: &[&str]) -> Arc<Mutex<Vec<String>>> {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        for topic in topics {
            let sink = log.clone();
            bus.subscribe(
                1,
                *topic,
                Arc::new(move |m: &Message| sink.lock().push(format!("{}:{}", m.topic, m.data))),
            );
        }
        log
    }

    #[test]
    fn held_messages_with_equal_due_times_release_in_publish_order() {
        let topics = ["t5", "t1", "t4", "t0", "t3", "t2", "t6", "t7"];
        let clock = ManualClock::shared(0);
        let bus = Bus::new(clock.clone());
        let log = shared_log(&bus, &topics);
        bus.set_faults(Some(MessageFaults {
            reorder: 1.0,
            reorder_max_hold_ms: 500,
            ..MessageFaults::none(1)
        }));
        for topic in topics {
            bus.publish_faulty(1, topic, "m");
        }
        assert_eq!(bus.in_flight(), topics.len());
        clock.advance(500);
        assert_eq!(bus.deliver_due(), topics.len());
        let expected: Vec<String> = topics.iter().map(|t| format!("{t}:m")).collect();
        assert_eq!(
            *log.lock(),
            expected,
            "same due time: publish order, not map order"
        );
    }

    #[test]
    fn deliver_due_is_deterministic_across_runs_and_topics() {
        let topics = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
        let run = |seed: u64| {
            let clock = ManualClock::shared(1_000_000);
            let bus = Bus::new(clock.clone());
            let log = shared_log(&bus, &topics);
            bus.set_faults(Some(MessageFaults {
                drop: 0.05,
                duplicate: 0.1,
                delay: 0.6,
                // Coarse delays so many messages fall due at the same millisecond.
                delay_ms: (0, 4),
                reorder: 0.3,
                reorder_max_hold_ms: 2,
                seed,
            }));
            for round in 0..60 {
                for topic in topics {
                    bus.publish_faulty(1, topic, format!("{round}"));
                }
                if round % 3 == 0 {
                    clock.advance(1);
                    bus.deliver_due();
                }
            }
            clock.advance(10);
            bus.deliver_due();
            assert_eq!(bus.in_flight(), 0);
            let log = log.lock().clone();
            (log, bus.stats())
        };
        let (a, stats) = run(42);
        let (b, _) = run(42);
        assert!(stats.reordered > 10 && stats.delayed > 10, "{stats:?}");
        assert_eq!(a, b, "same seed, same delivery order");
        let (c, _) = run(43);
        assert_ne!(a, c, "the seed matters");
    }

    #[test]
    fn seeded_faults_are_reproducible_and_roughly_calibrated() {
        let run = |seed: u64| {
            let clock = ManualClock::shared(0);
            let bus = Bus::new(clock.clone());
            let (_, got) = recorder(&bus, 1, "t");
            bus.set_faults(Some(MessageFaults {
                drop: 0.2,
                duplicate: 0.1,
                ..MessageFaults::none(seed)
            }));
            for i in 0..1000 {
                bus.publish_faulty(1, "t", i.to_string());
            }
            let data: Vec<String> = got.lock().iter().map(|m| m.data.clone()).collect();
            (data, bus.stats())
        };
        let (a, stats) = run(9);
        let (b, _) = run(9);
        let (c, _) = run(10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!((150..250).contains(&stats.dropped), "{stats:?}");
        assert!((50..150).contains(&stats.duplicated), "{stats:?}");
        assert_eq!(a.len() as u64, 1000 - stats.dropped + stats.duplicated);
    }

    #[test]
    fn a_topic_receives_at_most_its_per_minute_limit() {
        let clock = ManualClock::shared(0);
        let bus = Bus::new(clock.clone());
        bus.set_receive_limit(Some(ReceiveLimit::ROBLOX));
        let (_a, got_a) = recorder(&bus, 1, "t");
        // One server: 40 + 80 = 120 receipts a minute.
        for i in 0..130 {
            bus.publish(1, "t", format!("{i}"));
        }
        assert_eq!(got_a.lock().len(), 120);
        assert_eq!(bus.stats().over_receive_limit, 10);
        // Another topic has its own limit; the next minute starts afresh.
        let (_b, got_b) = recorder(&bus, 1, "other");
        bus.publish(1, "other", "x");
        assert_eq!(got_b.lock().len(), 1);
        clock.advance(60_000);
        bus.publish(1, "t", "again");
        assert_eq!(got_a.lock().len(), 121);
        // Two servers: 40 + 160 = 200 receipts, i.e. 100 messages each.
        let (_c, got_c) = recorder(&bus, 1, "t");
        for i in 0..150 {
            bus.publish(1, "t", format!("{i}"));
        }
        assert_eq!(got_a.lock().len() - 121 + got_c.lock().len(), 199);
    }

    #[test]
    fn the_whole_game_receives_at_most_its_per_minute_limit() {
        let clock = ManualClock::shared(0);
        let bus = Bus::new(clock.clone());
        bus.set_receive_limit(Some(ReceiveLimit::ROBLOX));
        // One running server: 400 + 200 = 600 receipts a minute for the game, whatever the topic
        // (each topic alone would allow 120).
        bus.set_game_servers(1, 1);
        let topics: Vec<_> = (0..6)
            .map(|i| recorder(&bus, 1, &format!("t{i}")))
            .collect();
        for i in 0..6 {
            for n in 0..110 {
                bus.publish(1, &format!("t{i}"), format!("{n}"));
            }
        }
        let got: usize = topics.iter().map(|(_, g)| g.lock().len()).sum();
        assert_eq!(got, 600);
        assert_eq!(bus.stats().over_game_receive_limit, 60);
        assert_eq!(bus.stats().over_receive_limit, 0);
        // More servers, more room; another universe has its own; the next minute starts afresh.
        bus.set_game_servers(1, 2);
        bus.publish(1, "t0", "x");
        assert_eq!(topics[0].1.lock().len(), 111);
        let (_o, other) = recorder(&bus, 2, "t0");
        bus.publish(2, "t0", "y");
        assert_eq!(other.lock().len(), 1);
        clock.advance(60_000);
        bus.set_game_servers(1, 1);
        bus.publish(1, "t5", "z");
        assert_eq!(topics[5].1.lock().len(), 51);
    }
}
