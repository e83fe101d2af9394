//! The Confirm / Cancel step for large amounts, as a state machine plus a driver generic over
//! where button presses come from (the gateway in production, a channel in tests).
//!
//! Rules: only the invoking member's presses count (others are answered and ignored); no press
//! before the deadline cancels; shutdown cancels an open prompt; nothing is executed unless
//! Confirm was pressed in time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;

/// A confirmation button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// Go ahead.
    Confirm,
    /// Do not.
    Cancel,
}

pub use crate::frontend::flow::{CancelReason, Decision};

/// What a single press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The press came from someone else: ignored, still waiting.
    NotInvoker,
    /// Decided (this press or an earlier one / the deadline decided).
    Decided(Decision),
}

/// A pending confirmation.
#[derive(Debug, Clone)]
pub struct Confirmation {
    invoker: u64,
    deadline: Instant,
    decided: Option<Decision>,
}

impl Confirmation {
    /// Waits for `invoker` until `deadline`.
    pub fn new(invoker: u64, deadline: Instant) -> Self {
        Self {
            invoker,
            deadline,
            decided: None,
        }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The decision, once taken.
    pub fn decision(&self) -> Option<Decision> {
        self.decided
    }

    /// A press by `user` at `now`. The first decision is final.
    pub fn press(&mut self, user: u64, button: Button, now: Instant) -> Step {
        if let Some(d) = self.expire(now) {
            return Step::Decided(d);
        }
        if user != self.invoker {
            return Step::NotInvoker;
        }
        let d = match button {
            Button::Confirm => Decision::Confirmed,
            Button::Cancel => Decision::Cancelled(CancelReason::ByInvoker),
        };
        self.decided = Some(d);
        Step::Decided(d)
    }

    /// Shutdown closes the prompt: cancelled, unless already decided (the first decision is
    /// final).
    pub fn close(&mut self) -> Decision {
        *self
            .decided
            .get_or_insert(Decision::Cancelled(CancelReason::Restarting))
    }

    /// Cancels when the deadline has passed; returns the decision if one is taken.
    pub fn expire(&mut self, now: Instant) -> Option<Decision> {
        if self.decided.is_none() && now >= self.deadline {
            self.decided = Some(Decision::Cancelled(CancelReason::TimedOut));
        }
        self.decided
    }
}

/// The two button ids of one invocation (`<prefix>:ok` / `<prefix>:no`, ≤ 100 characters).
pub fn custom_ids(prefix: u64) -> (String, String) {
    (format!("econ:{prefix}:ok"), format!("econ:{prefix}:no"))
}

/// Which button of invocation `prefix` a custom id names, if any.
pub fn button_of(prefix: u64, custom_id: &str) -> Option<Button> {
    let (ok, no) = custom_ids(prefix);
    if custom_id == ok {
        Some(Button::Confirm)
    } else if custom_id == no {
        Some(Button::Cancel)
    } else {
        None
    }
}

/// A boxed future (object-safe sources).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One press as delivered by a source.
#[derive(Debug)]
pub struct Incoming<H> {
    /// Who pressed.
    pub user: u64,
    /// Which button.
    pub button: Button,
    /// The source's handle to answer the press with.
    pub handle: H,
}

/// Where presses come from, and how they are answered.
pub trait PressSource: Send {
    /// Handle to answer one press.
    type Handle: Send;
    /// The next press, or `None` when `wait` passes without one.
    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<Self::Handle>>>;
    /// Tells a member who is not the invoker that the buttons are not theirs.
    fn refuse(&mut self, handle: Self::Handle) -> BoxFut<'_, ()>;
    /// Acknowledges the press that decided.
    fn accept(&mut self, handle: Self::Handle) -> BoxFut<'_, ()>;
}

/// Waits for the invoker's decision, answering every press on the way.
pub async fn await_decision<S: PressSource>(source: &mut S, machine: Confirmation) -> Decision {
    await_decision_until(source, machine, std::future::pending()).await
}

/// Like [`await_decision`], but when `closing` resolves first (the bot is shutting down) the
/// prompt is cancelled at once as [`CancelReason::Restarting`]: its presses arrive over the
/// gateway, which is about to close.
pub async fn await_decision_until<S: PressSource>(
    source: &mut S,
    mut machine: Confirmation,
    closing: impl Future<Output = ()>,
) -> Decision {
    let mut closing = std::pin::pin!(closing);
    loop {
        let now = Instant::now();
        if let Some(d) = machine.expire(now) {
            return d;
        }
        let wait = machine.deadline().saturating_duration_since(now);
        let next = tokio::select! {
            biased;
            () = &mut closing => return machine.close(),
            press = source.next(wait) => press,
        };
        let Some(press) = next else {
            // No press in time, or the source is gone (no press can come any more): the
            // deadline decides, never a default "yes".
            tokio::select! {
                biased;
                () = &mut closing => return machine.close(),
                () = tokio::time::sleep_until(machine.deadline()) => {}
            }
            continue;
        };
        match machine.press(press.user, press.button, Instant::now()) {
            Step::NotInvoker => source.refuse(press.handle).await,
            Step::Decided(d) => {
                source.accept(press.handle).await;
                return d;
            }
        }
    }
}

/// Runs `action` only if the invoker confirms in time; otherwise returns why not.
pub async fn confirm_then<S, F, Fut, T>(
    source: &mut S,
    machine: Confirmation,
    action: F,
) -> Result<T, CancelReason>
where
    S: PressSource,
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    match await_decision(source, machine).await {
        Decision::Confirmed => Ok(action().await),
        Decision::Cancelled(why) => Err(why),
    }
}
