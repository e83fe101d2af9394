//! Virtual time for the bot: its clock reads the universe's clock (plus a seeded skew) and its
//! waits end when the universe's clock reaches them. The driver steps the universe only while every
//! bot task is parked on such a wait (or finished), so the bot's decisions happen at fixed virtual
//! instants whatever the machine's speed, and nothing the bot does is skipped by a frame.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking::Mutex;
use shared::clock::{Clock, ManualClock, Sleep};
use tokio::sync::Notify;

mod parking {
    //! std's mutex without poisoning: a panicking bot task must not wedge the driver.
    #[derive(Default)]
    pub struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[derive(Default)]
struct State {
    /// Parked waits: id → (virtual deadline ms, waker, fired).
    sleepers: BTreeMap<u64, Sleeper>,
    next_id: u64,
    /// Bot tasks started and not finished.
    tasks: usize,
}

struct Sleeper {
    deadline_ms: i64,
    waker: Option<Waker>,
    fired: bool,
}

/// The shared virtual time of one run: the universe's clock, the bot's parked waits, and the
/// count of bot tasks in flight.
#[derive(Clone)]
pub struct VirtualTime {
    universe: Arc<ManualClock>,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for VirtualTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualTime")
            .field("now_ms", &self.universe.now_ms())
            .finish_non_exhaustive()
    }
}

impl VirtualTime {
    /// Virtual time over the universe's clock.
    pub fn new(universe: Arc<ManualClock>) -> Self {
        Self {
            universe,
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
        }
    }

    /// The universe's now, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.universe.now_ms()
    }

    /// A clock for the bot, `skew_ms` ahead of the servers (negative: behind).
    pub fn bot_clock(&self, skew_ms: i64) -> BotClock {
        BotClock {
            time: self.clone(),
            skew_ms,
        }
    }

    /// Counts a bot task until the returned guard drops (when the task ends or is aborted).
    pub fn task(&self) -> TaskGuard {
        self.state.lock().tasks += 1;
        TaskGuard { time: self.clone() }
    }

    /// Wakes every wait whose deadline has come (call after each frame).
    pub fn fire_due(&self) {
        let now = self.now_ms();
        let mut st = self.state.lock();
        for s in st.sleepers.values_mut() {
            if !s.fired && s.deadline_ms <= now {
                s.fired = true;
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Whether every bot task is parked on a wait that has not come yet (or none runs).
    pub fn quiescent(&self) -> bool {
        let st = self.state.lock();
        let parked = st
            .sleepers
            .values()
            .filter(|s| !s.fired && s.waker.is_some())
            .count();
        parked >= st.tasks
    }

    /// Bot tasks in flight.
    pub fn tasks(&self) -> usize {
        self.state.lock().tasks
    }

    /// Waits until [`VirtualTime::quiescent`] holds.
    pub async fn settle(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.quiescent() {
                return;
            }
            changed.await;
        }
    }

    /// Ends after `d` of virtual time.
    pub fn sleep(&self, d: Duration) -> VirtualSleep {
        let deadline_ms = self.now_ms() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let mut st = self.state.lock();
        st.next_id += 1;
        let id = st.next_id;
        st.sleepers.insert(
            id,
            Sleeper {
                deadline_ms,
                waker: None,
                fired: false,
            },
        );
        VirtualSleep {
            time: self.clone(),
            id,
        }
    }
}

/// Counts one bot task while alive.
pub struct TaskGuard {
    time: VirtualTime,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let mut st = self.time.state.lock();
        st.tasks = st.tasks.saturating_sub(1);
        drop(st);
        self.time.changed.notify_waiters();
    }
}

/// A parked virtual wait.
pub struct VirtualSleep {
    time: VirtualTime,
    id: u64,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.time.state.lock();
        let now = self.time.universe.now_ms();
        let Some(s) = st.sleepers.get_mut(&self.id) else {
            return Poll::Ready(());
        };
        if s.fired || s.deadline_ms <= now {
            st.sleepers.remove(&self.id);
            return Poll::Ready(());
        }
        s.waker = Some(cx.waker().clone());
        drop(st);
        // Parking may make the bot quiescent: the driver re-checks.
        self.time.changed.notify_waiters();
        Poll::Pending
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        self.time.state.lock().sleepers.remove(&self.id);
        self.time.changed.notify_waiters();
    }
}

/// The bot's clock: the universe's time plus a skew; waits are virtual.
#[derive(Clone)]
pub struct BotClock {
    time: VirtualTime,
    skew_ms: i64,
}

impl std::fmt::Debug for BotClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotClock")
            .field("skew_ms", &self.skew_ms)
            .finish()
    }
}

impl Clock for BotClock {
    fn now_ms(&self) -> i64 {
        self.time.now_ms() + self.skew_ms
    }

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(self.time.sleep(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn a_wait_ends_only_when_the_universe_clock_reaches_it() {
        let clock = ManualClock::shared(1_000);
        let time = VirtualTime::new(clock.clone());
        block_on(async {
            let guard = time.task();
            let t = time.clone();
            let waiter = tokio::spawn(async move {
                let _g = guard;
                t.sleep(Duration::from_millis(500)).await;
            });
            time.settle().await;
            assert!(time.quiescent(), "the only task is parked");
            assert_eq!(time.tasks(), 1);
            clock.set(1_400);
            time.fire_due();
            time.settle().await;
            assert_eq!(time.tasks(), 1, "not due yet: still parked");
            clock.set(1_500);
            time.fire_due();
            time.settle().await;
            assert_eq!(time.tasks(), 0, "woken and finished");
            waiter.await.unwrap_or_else(|e| panic!("{e}"));
        });
    }

    #[test]
    fn an_aborted_task_is_no_longer_counted() {
        let clock = ManualClock::shared(0);
        let time = VirtualTime::new(clock);
        block_on(async {
            let guard = time.task();
            let t = time.clone();
            let h = tokio::spawn(async move {
                let _g = guard;
                t.sleep(Duration::from_secs(60)).await;
            });
            time.settle().await;
            h.abort();
            let _ = h.await;
            assert_eq!(time.tasks(), 0);
            assert!(time.state.lock().sleepers.is_empty());
        });
    }
}
