//! The shutdown order without a gateway (`bot::discord::shutdown`), on paused tokio time: new
//! commands are refused and open Confirm prompts closed at once, running commands finish, and
//! only then does the gateway close (its button presses and interactions stop there).

use bot::discord::confirm::{
    BoxFut, Button, CancelReason, Confirmation, Decision, Incoming, PressSource,
    await_decision_until,
};
use bot::discord::error::CommandError;
use bot::discord::render;
use bot::discord::shutdown::{InFlight, Restarting, shut_down};
use shared::Op;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What happened, and when (seconds after shutdown began).
type Log = Arc<Mutex<Vec<(u64, String)>>>;

fn note(log: &Log, start: Instant, what: impl Into<String>) {
    log.lock()
        .unwrap()
        .push((start.elapsed().as_secs(), what.into()));
}

/// Presses from a channel (the gateway in production).
struct ChannelPresses(mpsc::UnboundedReceiver<(u64, Button)>);

impl PressSource for ChannelPresses {
    type Handle = ();

    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<()>>> {
        Box::pin(async move {
            match tokio::time::timeout(wait, self.0.recv()).await {
                Ok(Some((user, button))) => Some(Incoming {
                    user,
                    button,
                    handle: (),
                }),
                _ => None,
            }
        })
    }

    fn refuse(&mut self, _: ()) -> BoxFut<'_, ()> {
        Box::pin(async {})
    }

    fn accept(&mut self, _: ()) -> BoxFut<'_, ()> {
        Box::pin(async {})
    }
}

const DRAIN_FOR: Duration = bot::discord::DRAIN_FOR;

/// A command holding the gate for `runs` (executing after its Confirm).
fn running_command(gate: &InFlight, runs: Duration, log: &Log, start: Instant) {
    let guard = gate.enter().unwrap();
    let log = log.clone();
    tokio::spawn(async move {
        tokio::time::sleep(runs).await;
        note(&log, start, "command finished");
        drop(guard);
    });
}

/// A command waiting on its Confirm prompt (60 s timeout); notes how the prompt ended.
fn open_prompt(
    gate: &InFlight,
    log: &Log,
    start: Instant,
) -> (
    mpsc::UnboundedSender<(u64, Button)>,
    tokio::task::JoinHandle<Decision>,
) {
    let guard = gate.enter().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let closing = gate.closing();
    let log = log.clone();
    let prompt = tokio::spawn(async move {
        let mut presses = ChannelPresses(rx);
        let machine = Confirmation::new(7, Instant::now() + Duration::from_secs(60));
        let d = await_decision_until(&mut presses, machine, closing).await;
        note(&log, start, format!("prompt closed: {d:?}"));
        drop(guard);
        d
    });
    (tx, prompt)
}

#[tokio::test(start_paused = true)]
async fn prompts_close_and_running_commands_finish_before_the_gateway_closes() {
    let gate = InFlight::default();
    let log: Log = Arc::default();
    let start = Instant::now();
    running_command(&gate, Duration::from_secs(5), &log, start);
    let (_presses, prompt) = open_prompt(&gate, &log, start);
    tokio::task::yield_now().await;
    assert_eq!(gate.count(), 2);

    let closed = {
        let log = log.clone();
        async move { note(&log, start, "gateway closed") }
    };
    let still = shut_down(&gate, DRAIN_FOR, closed).await;

    assert_eq!(still, 0);
    assert_eq!(
        prompt.await.unwrap(),
        Decision::Cancelled(CancelReason::Restarting)
    );
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (0, "prompt closed: Cancelled(Restarting)".to_owned()),
            (5, "command finished".to_owned()),
            (5, "gateway closed".to_owned()),
        ],
        "prompts close at once, the gateway only after the running command"
    );
    // Commands arriving once shutdown began are told so.
    assert!(gate.enter().is_err());
}

#[tokio::test(start_paused = true)]
async fn new_commands_are_refused_during_the_drain_and_the_drain_is_bounded() {
    let gate = InFlight::default();
    let log: Log = Arc::default();
    let start = Instant::now();
    // A command that never finishes in time.
    running_command(&gate, Duration::from_secs(3600), &log, start);
    let refused_during_drain = {
        let gate = gate.clone();
        let log = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if let Err(e) = gate.enter() {
                note(&log, start, CommandError::from(e).to_string());
            }
        })
    };
    let closed = {
        let log = log.clone();
        async move { note(&log, start, "gateway closed") }
    };
    let still = shut_down(&gate, DRAIN_FOR, closed).await;
    refused_during_drain.await.unwrap();
    assert_eq!(
        still, 1,
        "the command still running when the gateway closed"
    );
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (
                10,
                "the bot is restarting: nothing was done; try again in a minute".to_owned()
            ),
            (DRAIN_FOR.as_secs(), "gateway closed".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_decided_prompt_is_not_overturned_by_shutdown() {
    let gate = InFlight::default();
    let log: Log = Arc::default();
    let start = Instant::now();
    let (presses, prompt) = open_prompt(&gate, &log, start);
    presses.send((7, Button::Confirm)).unwrap();
    assert_eq!(prompt.await.unwrap(), Decision::Confirmed);
    let still = shut_down(&gate, DRAIN_FOR, async {}).await;
    assert_eq!((still, start.elapsed()), (0, Duration::ZERO));
}

#[test]
fn a_prompt_closed_by_shutdown_says_nothing_was_sent() {
    let embed = serde_json::to_string(&render::cancelled_embed(
        Op::Give,
        500_000,
        CancelReason::Restarting,
    ))
    .unwrap();
    assert!(
        embed.contains(
            "The bot restarted before this was confirmed: nothing was sent and nothing moved"
        ),
        "{embed}"
    );
    assert!(
        embed.contains("Run the command again in a minute"),
        "{embed}"
    );
    let message = CommandError::from(Restarting).user_message("ref");
    assert_eq!(
        message,
        "The bot is restarting: nothing was done. Try again in a minute."
    );
}
