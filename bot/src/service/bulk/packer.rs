//! Packing a payout's publishes into batch envelopes (docs/protocol.md §3.1).
//!
//! Every publish on the commands topic is received by every subscribed game server, and the
//! topic takes (40 + 80 × servers) receipts a minute (docs/platform.md R9): about 80 publishes
//! a minute however many servers run. One message per online player would bound a payout's
//! online half at 80 players a minute; an envelope carries up to 66 of them.
//!
//! Items that are due to publish hand their command to the packer ("park" on it). Items of the
//! same batch and issue time go in the same envelopes, as many as fit 1 KiB; full envelopes go
//! out at once, one after another through the messaging port, whose limiter paces them (while
//! it waits, more items park, so envelopes fill up exactly when publishes are scarce); the last,
//! partly filled one waits for more, at most [`LINGER`], then goes as it is. A pack of one goes
//! out as that player's own command message, which every receiver reads. Each item learns
//! whether the publish that carried it succeeded; confirming it stays the item's own business
//! (the audit log, the wallet entry), as for any command. Parked items do not hold one of the
//! payout's places (`txn/batch.rs`), up to [`max_parked`].

use super::super::ports::{Clock, Messaging, PortError};
use shared::{BatchId, Command, Envelope, Key, MessageError, encode_batch_message};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the packer waits for more items before publishing what it holds.
pub const LINGER: Duration = Duration::from_millis(250);

/// A payout's items issued within this many milliseconds share their `issuedAt` (rounded down
/// to it), so they can share an envelope; their validity window is at most this much shorter.
pub const ISSUE_STEP_MS: i64 = 10_000;

/// Publishes an item may make inside envelopes; later re-publishes send its own command, which
/// a game server that predates envelopes also reads (docs/protocol.md §3.1, rollout).
pub const ENVELOPE_ATTEMPTS: u32 = 2;

/// Most items a payout keeps parked on the packer beyond its concurrency, for commands valid
/// `ttl`: what the topic's ~80 publishes a minute of the smallest full envelopes (66 players,
/// protocol §3.1) publish in half that window, 44 a second. With the default 5 minutes that is
/// 13,200: a payout's online players all wait for their envelope while its offline players'
/// writes go on. (An item whose command expired while parked is not published.)
pub fn max_parked(ttl: Duration) -> usize {
    usize::try_from(ttl.as_secs().saturating_mul(44))
        .unwrap_or(usize::MAX)
        .max(66)
}

/// `now` rounded down to [`ISSUE_STEP_MS`]: a payout item's `issuedAt`.
pub fn item_issued_at(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(ISSUE_STEP_MS)
}

/// Where packed messages go.
#[derive(Clone)]
pub struct Outlet {
    /// The messaging port (paced by its own limiter).
    pub messaging: Arc<dyn Messaging>,
    /// The commands topic.
    pub topic: String,
    /// The command-signing key.
    pub key: Key,
    /// The service clock (the linger).
    pub clock: Arc<dyn Clock>,
}

/// One item waiting to be published.
struct Waiting {
    batch: BatchId,
    cmd: Command,
    /// The item's own signed command message (sent when it travels alone).
    message: String,
    done: oneshot::Sender<Result<(), PortError>>,
}

#[derive(Default)]
struct State {
    queue: Vec<Waiting>,
    /// Whether a flush task is running (it drains the queue until it finds it empty).
    flushing: bool,
}

/// What the packer holds and has published (for tests, logs and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackStats {
    /// Items waiting for the next publish.
    pub queued: usize,
    /// Items in the publish under way.
    pub sending: usize,
    /// Envelopes published (of two players or more).
    pub envelopes: u64,
    /// Players carried in those envelopes.
    pub enveloped_items: u64,
    /// Packs of one published as the player's own command.
    pub singles: u64,
}

/// The packer: a queue of items due to publish and at most one task publishing them.
pub struct Packer {
    outlet: Outlet,
    state: Mutex<State>,
    stats: Mutex<PackStats>,
    /// Told whenever an item parks (the runner may start another).
    parked: tokio::sync::Notify,
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packer")
            .field("topic", &self.outlet.topic)
            .finish_non_exhaustive()
    }
}

impl PackStats {
    /// Items parked on the packer: queued or in the publish under way.
    pub fn parked(&self) -> usize {
        self.queued + self.sending
    }
}

/// A plain-data lock: a panic elsewhere cannot leave it half-written, so poison is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Packer {
    /// A packer publishing through `outlet`.
    pub fn new(outlet: Outlet) -> Arc<Self> {
        Arc::new(Self {
            outlet,
            state: Mutex::new(State::default()),
            stats: Mutex::new(PackStats::default()),
            parked: tokio::sync::Notify::new(),
        })
    }

    /// Resolves after the next item parks on the packer (or at once if one parked since the
    /// last call).
    pub async fn parked_more(&self) {
        self.parked.notified().await;
    }

    /// What it holds now and has published so far.
    pub fn stats(&self) -> PackStats {
        let queued = lock(&self.state).queue.len();
        PackStats {
            queued,
            ..*lock(&self.stats)
        }
    }

    /// Publishes `cmd` (an item of `batch`, signed alone as `message`) in the next envelope of
    /// its batch and issue time; answers once that envelope's publish answered.
    pub async fn publish(
        self: &Arc<Self>,
        batch: &BatchId,
        cmd: &Command,
        message: &str,
    ) -> Result<(), PortError> {
        let (done, answer) = oneshot::channel();
        let start = {
            let mut state = lock(&self.state);
            state.queue.push(Waiting {
                batch: batch.clone(),
                cmd: cmd.clone(),
                message: message.to_owned(),
                done,
            });
            !std::mem::replace(&mut state.flushing, true)
        };
        self.parked.notify_one();
        if start {
            // Its own task: an item that stops waiting (a cancelled payout) never strands the
            // others queued behind it.
            tokio::spawn(self.clone().flush());
        }
        answer
            .await
            .unwrap_or_else(|_| Err(PortError::new("messaging", "the publish was abandoned")))
    }

    /// Publishes what is queued until the queue is empty. Full envelopes go out at once (the
    /// messaging limiter paces them, and items queue meanwhile); a partly filled one waits for
    /// more players, at most [`LINGER`] after the last publish, then goes as it is.
    async fn flush(self: Arc<Self>) {
        let mut lingered = false;
        loop {
            let waiting = {
                let mut state = lock(&self.state);
                if state.queue.is_empty() {
                    state.flushing = false;
                    return;
                }
                std::mem::take(&mut state.queue)
            };
            // A command that expired while parked is not worth a publish: no server applies it.
            let now = self.outlet.clock.now_ms();
            let (waiting, expired): (Vec<_>, Vec<_>) =
                waiting.into_iter().partition(|w| now <= w.cmd.expires_at);
            for w in expired {
                let _ = w.done.send(Err(PortError::new(
                    "messaging",
                    "the command expired before its publish",
                )));
            }
            let packs = self.pack(waiting);
            let any_full = packs.iter().any(|p| p.full);
            if !any_full && !lingered {
                // Nothing full yet: give the others of this moment a chance to join.
                self.requeue(packs.into_iter().flat_map(|p| p.members).collect());
                self.outlet.clock.sleep(LINGER).await;
                lingered = true;
                continue;
            }
            let mut held = Vec::new();
            for pack in packs {
                if pack.full || !any_full {
                    self.send(pack).await;
                } else {
                    // Publishes are scarce: the rest of a busy moment waits to fill up.
                    held.extend(pack.members);
                }
            }
            self.requeue(held);
            lingered = false;
        }
    }

    /// Puts items back at the head of the queue, ahead of those that came since.
    fn requeue(&self, mut items: Vec<Waiting>) {
        if items.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        items.append(&mut state.queue);
        state.queue = items;
    }

    /// Splits the waiting items into packs, in their order: the same envelope header, as many
    /// players as fit 1 KiB (`full` when the next one did not).
    fn pack(&self, waiting: Vec<Waiting>) -> Vec<Pack> {
        let mut groups: Vec<(Envelope, Vec<Waiting>)> = Vec::new();
        for w in waiting {
            match groups.iter_mut().find(|(e, _)| e.carries(&w.cmd)) {
                Some((_, members)) => members.push(w),
                None => {
                    let header = Envelope::from_item(w.batch.clone(), &w.cmd, Vec::new());
                    groups.push((header, vec![w]));
                }
            }
        }
        let mut packs = Vec::new();
        for (header, members) in groups {
            let mut current = Pack::empty(&header);
            for w in members {
                current.envelope.users.push(w.cmd.user_id);
                match encode_batch_message(&current.envelope, &self.outlet.key) {
                    Ok(msg) => {
                        current.message = Some(msg);
                        current.members.push(w);
                    }
                    Err(e) => {
                        current.envelope.users.pop();
                        if matches!(e, MessageError::TooLarge(_)) && !current.members.is_empty() {
                            // Full: close it; this player starts the next one.
                            current.full = true;
                            let mut next = Pack::empty(&header);
                            next.envelope.users.push(w.cmd.user_id);
                            next.message =
                                encode_batch_message(&next.envelope, &self.outlet.key).ok();
                            next.members.push(w);
                            packs.push(std::mem::replace(&mut current, next));
                        } else {
                            // Not packable (cannot happen for a valid command): it travels
                            // alone, as its own command.
                            let mut alone = Pack::empty(&header);
                            alone.members.push(w);
                            packs.push(alone);
                        }
                    }
                }
            }
            if !current.members.is_empty() {
                packs.push(current);
            }
        }
        packs
    }

    /// Publishes one pack and tells its members how it went.
    async fn send(&self, pack: Pack) {
        let (text, single) = match (&pack.message, pack.members.as_slice()) {
            (Some(msg), [_, _, ..]) => (msg.as_str(), false),
            (_, [only]) => (only.message.as_str(), true),
            _ => return,
        };
        lock(&self.stats).sending = pack.members.len();
        let result = self
            .outlet
            .messaging
            .publish(&self.outlet.topic, text)
            .await;
        lock(&self.stats).sending = 0;
        match &result {
            Ok(()) => {
                let mut stats = lock(&self.stats);
                if single {
                    stats.singles += 1;
                } else {
                    stats.envelopes += 1;
                    stats.enveloped_items += pack.members.len() as u64;
                }
                tracing::debug!(batch = %pack.envelope.batch, players = pack.members.len(), "payout publish");
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = %pack.envelope.batch, players = pack.members.len(), "payout publish failed")
            }
        }
        for w in pack.members {
            // An item that stopped waiting has nobody to tell.
            let _ = w.done.send(result.clone());
        }
    }
}

/// Items published together: an envelope (two or more) or one item alone.
struct Pack {
    envelope: Envelope,
    message: Option<String>,
    members: Vec<Waiting>,
    /// Closed because the next player did not fit.
    full: bool,
}

impl Pack {
    fn empty(header: &Envelope) -> Self {
        Self {
            envelope: header.clone(),
            message: None,
            members: Vec::new(),
            full: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ports::BoxFut;
    use shared::clock::ManualClock;
    use shared::keys::{KeyId, KeyRing, Secret};
    use shared::{Actor, Op, decode_message, encode_command_message};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Messaging for Recorder {
        fn publish<'a>(
            &'a self,
            _topic: &'a str,
            message: &'a str,
        ) -> BoxFut<'a, Result<(), PortError>> {
            lock(&self.0).push(message.to_owned());
            Box::pin(async { Ok(()) })
        }
    }

    fn key() -> Key {
        Key::new(
            KeyId::new("k1").unwrap(),
            Secret::from_bytes(vec![9u8; 32]),
            vec![],
        )
    }

    fn item(batch: &BatchId, user: u64, issued_at: i64) -> (Command, String) {
        let cmd = Command {
            v: 1,
            txn: batch.item_txn(user),
            op: Op::Give,
            user_id: user,
            amount: 10,
            reason: "winter event winners".into(),
            actor: Actor {
                id: "42".into(),
                name: "Mod".into(),
            },
            issued_at,
            expires_at: issued_at + 300_000,
            reverses: None,
        };
        let msg = encode_command_message(&cmd, &key()).unwrap();
        (cmd, msg)
    }

    fn packer() -> (Arc<Packer>, Arc<Recorder>) {
        let rec = Arc::new(Recorder::default());
        let packer = Packer::new(Outlet {
            messaging: rec.clone(),
            topic: "t".into(),
            key: key(),
            clock: ManualClock::shared(1_795_219_200_000),
        });
        (packer, rec)
    }

    #[tokio::test]
    async fn items_due_together_share_envelopes_that_fit_one_message() {
        let (packer, rec) = packer();
        let batch = BatchId::from_parts(1_795_219_200_000, 7);
        let items: Vec<_> = (0..150u64)
            .map(|i| item(&batch, 4_000_000_000 + 7 * i, 1_795_219_200_000))
            .collect();
        let results =
            futures::future::join_all(items.iter().map(|(c, m)| packer.publish(&batch, c, m)))
                .await;
        assert!(results.iter().all(Result::is_ok));
        let sent = lock(&rec.0).clone();
        // 66 ten-digit players fit one message with this reason (testdata/batches.json).
        assert_eq!(sent.len(), 3, "150 players in 66 + 66 + 18");
        let ring = KeyRing::new(vec![key()]).unwrap();
        let mut carried = Vec::new();
        for msg in &sent {
            assert!(msg.len() <= 1024);
            carried.extend(decode_message(msg, &ring).unwrap());
        }
        let want: Vec<Command> = items.into_iter().map(|(c, _)| c).collect();
        assert_eq!(carried, want, "every item once, as signed alone");
        let stats = packer.stats();
        assert_eq!(
            (stats.envelopes, stats.enveloped_items, stats.singles),
            (3, 150, 0)
        );
    }

    #[tokio::test]
    async fn a_pack_of_one_is_the_items_own_message_and_issue_times_do_not_mix() {
        let (packer, rec) = packer();
        let batch = BatchId::from_parts(1_795_219_200_000, 7);
        let a = item(&batch, 1001, 1_795_219_200_000);
        let b = item(&batch, 1002, 1_795_219_210_000);
        let other = BatchId::from_parts(1_795_219_200_000, 8);
        let c = item(&other, 1003, 1_795_219_200_000);
        let (ra, rb, rc) = tokio::join!(
            packer.publish(&batch, &a.0, &a.1),
            packer.publish(&batch, &b.0, &b.1),
            packer.publish(&other, &c.0, &c.1),
        );
        assert!(ra.is_ok() && rb.is_ok() && rc.is_ok());
        let mut sent = lock(&rec.0).clone();
        sent.sort();
        let mut want = vec![a.1, b.1, c.1];
        want.sort();
        assert_eq!(
            sent, want,
            "three packs of one, each the item's own command"
        );
        assert_eq!(packer.stats().singles, 3);
    }

    #[tokio::test]
    async fn a_command_that_expired_while_parked_is_not_published() {
        let (packer, rec) = packer();
        let batch = BatchId::from_parts(1_795_219_200_000, 7);
        // Issued long before the packer's clock: expired by the time it would go out.
        let old = item(&batch, 1001, 1_795_218_000_000);
        let fresh = item(&batch, 1002, 1_795_219_200_000);
        let (r_old, r_fresh) = tokio::join!(
            packer.publish(&batch, &old.0, &old.1),
            packer.publish(&batch, &fresh.0, &fresh.1),
        );
        assert!(r_old.is_err(), "an expired command gets no publish");
        assert!(r_fresh.is_ok());
        assert_eq!(
            lock(&rec.0).clone(),
            vec![fresh.1],
            "only the fresh one, alone"
        );
    }

    #[test]
    fn issue_times_round_down_to_the_step() {
        assert_eq!(item_issued_at(1_795_219_209_999), 1_795_219_200_000);
        assert_eq!(item_issued_at(1_795_219_210_000), 1_795_219_210_000);
    }
}
