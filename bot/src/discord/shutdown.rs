//! Graceful shutdown, gateway-free: the gate every command passes (refused once shutdown began),
//! the signal open Confirm prompts close on, and the order of the steps, so that it can be tested
//! with paused time and no Discord.
//!
//! Order: stop admitting commands (new ones are told the bot is restarting) and tell open
//! prompts to close (nothing was sent for them); wait for running commands up to a limit; only
//! then close the gateway. Closing the gateway first would strand every open prompt: its button
//! presses arrive over the gateway.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// A command arrived after shutdown began (shown as [`super::error::CommandError::Restarting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bot is restarting")]
pub struct Restarting;

/// Admits commands while the bot runs and counts those running, so shutdown can wait for them.
#[derive(Debug, Clone)]
pub struct InFlight {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// (closing, commands running): one lock, so no command slips in after the drain counted.
    state: Mutex<(bool, usize)>,
    /// Signalled when the last running command ends.
    idle: Notify,
    /// Turns true when shutdown begins.
    closing: watch::Sender<bool>,
}

/// Held while a command runs.
#[derive(Debug)]
pub struct InFlightGuard {
    inner: Arc<Inner>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new((false, 0)),
                idle: Notify::new(),
                closing: watch::channel(false).0,
            }),
        }
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, (bool, usize)> {
        // The lock is never held across a panic-prone call; a poisoned one still holds a
        // consistent pair.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl InFlight {
    /// Admits a command until the guard drops; refused once shutdown began.
    pub fn enter(&self) -> Result<InFlightGuard, Restarting> {
        let mut state = self.inner.state();
        if state.0 {
            return Err(Restarting);
        }
        state.1 += 1;
        Ok(InFlightGuard {
            inner: self.inner.clone(),
        })
    }

    /// Commands running now.
    pub fn count(&self) -> usize {
        self.inner.state().1
    }

    /// Whether shutdown began.
    pub fn is_closing(&self) -> bool {
        self.inner.state().0
    }

    /// Resolves once shutdown begins (open prompts close on it).
    pub fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.closing.subscribe();
        async move {
            // An error means the sender is gone, which cannot happen while `self` lives; a
            // dropped gate never closes.
            if rx.wait_for(|closing| *closing).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Refuses new commands from now on and tells open prompts to close.
    pub fn close(&self) {
        self.inner.state().0 = true;
        self.inner.closing.send_replace(true);
    }

    /// Waits until no command runs, or `limit` passes; returns how many still run.
    pub async fn drained(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.inner.idle.notified();
            let n = self.count();
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.count();
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut state = self.inner.state();
        state.1 -= 1;
        if state.1 == 0 {
            self.inner.idle.notify_waiters();
        }
    }
}

/// Shuts the front end down in order: close the gate (new commands refused, open prompts
/// closed), wait up to `drain_for` for running commands, then `close_gateway`. Returns how many
/// commands were still running when the gateway closed.
pub async fn shut_down<F>(gate: &InFlight, drain_for: Duration, close_gateway: F) -> usize
where
    F: Future<Output = ()>,
{
    gate.close();
    let still = gate.drained(drain_for).await;
    close_gateway.await;
    still
}
