//! Wake-ups for long-polls: the insert itself announces the txn ids it stored.
//!
//! SQLite announces in-process after commit; PostgreSQL announces with NOTIFY inside the
//! inserting transaction (delivered on commit to every replica's LISTEN task), which feeds the
//! same channel. A waiter subscribes before its first lookup, so no insert slips between.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// One announcement.
#[derive(Clone, Debug)]
pub enum Event {
    /// These txn ids were committed.
    Inserted(Arc<[String]>),
    /// Announcements may have been missed (listener reconnected): look again.
    Resync,
}

/// Broadcasts inserts to waiters and carries the shutdown signal that releases them early.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: broadcast::Sender<Event>,
    shutdown: watch::Sender<bool>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The awaited id (or a possible miss) was announced: look it up.
    Announced,
    /// The wait time is up.
    TimedOut,
    /// The server is shutting down.
    ShuttingDown,
}

impl Notifier {
    /// A notifier with room for bursts of announcements.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        let (shutdown, _) = watch::channel(false);
        Self { tx, shutdown }
    }

    /// Announces committed txn ids.
    pub fn inserted(&self, ids: Vec<String>) {
        if !ids.is_empty() {
            // No receivers is fine: nobody is waiting.
            let _ = self.tx.send(Event::Inserted(ids.into()));
        }
    }

    /// Tells waiters to look again (announcements may have been lost).
    pub fn resync(&self) {
        let _ = self.tx.send(Event::Resync);
    }

    /// Releases every waiter (graceful shutdown).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Waiters subscribed right now (long-polls in progress).
    pub fn waiting(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Subscribes; call before the first lookup.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
            shutdown: self.shutdown.subscribe(),
        }
    }
}

/// A waiter's view of the announcements.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Event>,
    shutdown: watch::Receiver<bool>,
}

impl Subscription {
    /// Waits up to `left` for `txn_id` to be announced.
    pub async fn wait_for(&mut self, txn_id: &str, left: Duration) -> Wake {
        let deadline = tokio::time::Instant::now() + left;
        loop {
            if *self.shutdown.borrow() {
                return Wake::ShuttingDown;
            }
            tokio::select! {
                ev = self.rx.recv() => match ev {
                    Ok(Event::Inserted(ids)) if ids.iter().any(|i| i == txn_id) => return Wake::Announced,
                    Ok(Event::Inserted(_)) => {}
                    Ok(Event::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => return Wake::Announced,
                    Err(broadcast::error::RecvError::Closed) => return Wake::ShuttingDown,
                },
                _ = self.shutdown.changed() => return Wake::ShuttingDown,
                _ = tokio::time::sleep_until(deadline) => return Wake::TimedOut,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wakes_only_for_the_awaited_id_and_times_out_otherwise() {
        let n = Notifier::new();
        let mut sub = n.subscribe();
        n.inserted(vec!["A".into()]);
        assert_eq!(
            sub.wait_for("B", Duration::from_secs(5)).await,
            Wake::TimedOut
        );
        let mut sub = n.subscribe();
        let n2 = n.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n2.inserted(vec!["X".into(), "B".into()]);
        });
        assert_eq!(
            sub.wait_for("B", Duration::from_secs(5)).await,
            Wake::Announced
        );
        n.shut_down();
        assert_eq!(
            n.subscribe().wait_for("C", Duration::from_secs(5)).await,
            Wake::ShuttingDown
        );
    }
}
