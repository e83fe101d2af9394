//! Every press on one of the bot's buttons (`econ:<interaction id>:<what>`) gets exactly one
//! answer, including a press on a button nothing listens to any more.
//!
//! serenity hands every INTERACTION_CREATE both to its collectors and to the event handler, so a
//! fallback in the handler beside collectors could answer a press a collector also answers (or a
//! press could fall between two collectors and get no answer). Instead the event handler is the
//! only receiver, and [`Prompts`] routes each press by the interaction id in its `custom_id`:
//!
//! - a prompt still waiting for a press ([`Listening`]) gets it on its channel and answers it
//!   (Confirm / Cancel, a bystander's refusal, an Older page). A press queued there when the
//!   prompt stops waiting is acknowledged without a change (type 6);
//! - a prompt whose command is still running but no longer waits (Confirm pressed, the money
//!   moving) has its presses acknowledged without a change (type 6): the command's own edits tell
//!   the outcome, and a double click must not draw "ended" over them;
//! - a press on a button of no running command (the prompt timed out, was answered, paging ended,
//!   or the bot restarted, and its own edit of the message failed, e.g. after the interaction's
//!   15-minute token) is answered with callback type 7 UPDATE_MESSAGE through the press's own
//!   fresh token: the buttons are removed and the message says, in plain words, that the prompt
//!   has ended and the press did nothing ([`stale`]). Nothing here can confirm or move money: it
//!   has no service.
//!
//! Who may clear the buttons: only the member who ran the command (the message's
//! `interaction_metadata.user`). Anyone else is refused with the prompt's usual ephemeral answer
//! and the message stays as it is. When Discord gives no interaction metadata, only a press on
//! an ephemeral message clears it (only its member can see it, so only they can press it).

use serenity::all as s;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// The refusal a member gets for pressing someone else's buttons.
pub const NOT_YOURS: &str = "Only the member who ran this command can press these buttons.";

/// What the bot does with a press routed to the registry.
enum Entry {
    /// A prompt waits: the press goes to it.
    Waiting(mpsc::UnboundedSender<s::ComponentInteraction>),
    /// The command runs on but no longer waits for presses.
    Decided,
}

/// The prompts of running commands, by the interaction id their buttons carry.
#[derive(Clone, Default)]
pub struct Prompts {
    live: Arc<Mutex<HashMap<u64, Entry>>>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("live", &self.lock().len())
            .finish()
    }
}

/// The interaction id and the button's name in one of the bot's custom ids
/// (`econ:<id>:<what>`), if it is one.
pub fn parse_custom_id(custom_id: &str) -> Option<(u64, &str)> {
    let rest = custom_id.strip_prefix("econ:")?;
    let (id, what) = rest.split_once(':')?;
    Some((id.parse().ok()?, what))
}

impl Prompts {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        // Nothing panics while the lock is held; a poisoned map is still consistent.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts listening for the buttons of interaction `id`, before the message showing them
    /// is sent (so no press can arrive unrouted). Until the returned value is dropped or
    /// [`Listening::decided`], every press on them is its to answer.
    pub fn listen(&self, id: u64, http: Arc<s::Http>) -> Listening {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(id, Entry::Waiting(tx));
        Listening {
            prompts: self.clone(),
            id,
            rx,
            http,
            decided: false,
        }
    }

    /// Answers a press from the gateway (called by the event handler for every component
    /// interaction). Exactly one answer is sent for each press of an `econ:` button.
    pub async fn route(&self, http: &s::Http, press: s::ComponentInteraction) {
        let Some((id, what)) = parse_custom_id(&press.data.custom_id) else {
            return;
        };
        let what = what.to_owned();
        let press = {
            let live = self.lock();
            match live.get(&id) {
                // The receiver lives as long as the entry is `Waiting` (see `Listening`), so a
                // send fails only in a race with its end; the press is then acknowledged.
                Some(Entry::Waiting(tx)) => match tx.send(press) {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(p)) => Routed::Acknowledge(p),
                },
                Some(Entry::Decided) => Routed::Acknowledge(press),
                None => Routed::Stale(press),
            }
        };
        match press {
            Routed::Acknowledge(p) => acknowledge(http, &p).await,
            Routed::Stale(p) => stale(http, &p, &what).await,
        }
    }
}

enum Routed {
    Acknowledge(s::ComponentInteraction),
    Stale(s::ComponentInteraction),
}

/// Type 6: the press is received, the message stays as it is (or is edited separately).
pub(super) async fn acknowledge(http: &s::Http, press: &s::ComponentInteraction) {
    if let Err(e) = press
        .create_response(http, s::CreateInteractionResponse::Acknowledge)
        .await
    {
        tracing::warn!(error = %e, "could not acknowledge a button press");
    }
}

/// A prompt listening for its buttons' presses. Dropping it (or [`Listening::decided`]) ends the
/// listening; presses queued by then are acknowledged without a change.
pub struct Listening {
    prompts: Prompts,
    id: u64,
    rx: mpsc::UnboundedReceiver<s::ComponentInteraction>,
    http: Arc<s::Http>,
    decided: bool,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("id", &self.id)
            .field("decided", &self.decided)
            .finish()
    }
}

impl Listening {
    /// The next press on these buttons, or `None` when `wait` passes without one.
    pub async fn next(&mut self, wait: Duration) -> Option<s::ComponentInteraction> {
        if self.decided {
            return None;
        }
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The prompt no longer waits, but its command runs on: later presses are acknowledged
    /// without a change until this value is dropped (the command's own edits show the outcome).
    pub fn decided(&mut self) {
        if !self.decided {
            self.decided = true;
            self.prompts.lock().insert(self.id, Entry::Decided);
            self.drain();
        }
    }

    /// Acknowledges the presses that came in after the last one read.
    fn drain(&mut self) {
        self.rx.close();
        let mut queued = Vec::new();
        while let Ok(p) = self.rx.try_recv() {
            queued.push(p);
        }
        if queued.is_empty() {
            return;
        }
        let http = self.http.clone();
        tokio::spawn(async move {
            for p in &queued {
                acknowledge(&http, p).await;
            }
        });
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // The entry goes first: from here on a press is answered as stale, never queued.
        self.prompts.lock().remove(&self.id);
        if !self.decided {
            self.drain();
        }
    }
}

/// How the bot answers a press on a button whose prompt has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleAnswer {
    /// Type 7: remove the buttons and say the prompt ended.
    Clear,
    /// Type 4, ephemeral: the buttons are not the presser's; the message stays.
    Refuse,
}

/// Who may clear an ended prompt: the member who ran the command (`invoker`, from the message's
/// interaction metadata). Without metadata, a press on an ephemeral message is its member's (no
/// one else sees it); on any other message it is refused, so nobody strips another's buttons.
pub fn stale_answer(invoker: Option<u64>, presser: u64, ephemeral: bool) -> StaleAnswer {
    match invoker {
        Some(i) if i == presser => StaleAnswer::Clear,
        Some(_) => StaleAnswer::Refuse,
        None if ephemeral => StaleAnswer::Clear,
        None => StaleAnswer::Refuse,
    }
}

/// The member whose command posted `message`, if Discord says.
fn invoker_of(message: &s::Message) -> Option<u64> {
    let user = match message.interaction_metadata.as_deref()? {
        s::MessageInteractionMetadata::Command(m) => &m.user,
        s::MessageInteractionMetadata::Component(m) => &m.user,
        s::MessageInteractionMetadata::ModalSubmit(m) => &m.user,
        _ => return None,
    };
    Some(user.id.get())
}

/// The words an ended prompt is left with, by the button pressed (`older` is `/audit`'s).
pub fn stale_words(what: &str) -> &'static str {
    match what {
        "older" => {
            "This page is no longer live, so Older does nothing now: run /audit again to see \
             older records."
        }
        _ => {
            "This prompt has ended: this press did nothing and moved no money. Run the command \
             again to go ahead (/audit shows what was done earlier)."
        }
    }
}

/// The type 7 body for an ended prompt: the buttons removed and the words in the content. The
/// embed (the prompt or audit page) and any file stay: a type 7 edits the message, and fields it
/// leaves out (`embeds`, `attachments`) are kept.
pub fn stale_update(what: &str) -> serde_json::Value {
    serde_json::json!({
        "type": 7,
        "data": {
            "content": stale_words(what),
            "components": [],
            "allowed_mentions": {"parse": []},
        }
    })
}

/// Answers a press on someone else's buttons with [`NOT_YOURS`], seen only by the presser; the
/// message stays as it is.
pub(super) async fn refuse(
    http: &s::Http,
    press: &s::ComponentInteraction,
) -> serenity::Result<()> {
    let reply = s::CreateInteractionResponseMessage::new()
        .content(NOT_YOURS)
        .ephemeral(true)
        .allowed_mentions(s::CreateAllowedMentions::new());
    press
        .create_response(http, s::CreateInteractionResponse::Message(reply))
        .await
}

/// Answers a press on a button of an ended prompt (see the module docs).
async fn stale(http: &s::Http, press: &s::ComponentInteraction, what: &str) {
    let ephemeral = press
        .message
        .flags
        .is_some_and(|f| f.contains(s::MessageFlags::EPHEMERAL));
    let answer = stale_answer(invoker_of(&press.message), press.user.id.get(), ephemeral);
    let sent = match answer {
        StaleAnswer::Clear => {
            tracing::info!(
                custom_id = %press.data.custom_id,
                "a button of an ended prompt was pressed; removing the buttons"
            );
            http.create_interaction_response(press.id, &press.token, &stale_update(what), vec![])
                .await
        }
        StaleAnswer::Refuse => refuse(http, press).await,
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not answer a press on an ended prompt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_name_the_interaction_and_the_button() {
        assert_eq!(parse_custom_id("econ:42:ok"), Some((42, "ok")));
        assert_eq!(parse_custom_id("econ:42:older"), Some((42, "older")));
        assert_eq!(parse_custom_id("econ:x:ok"), None);
        assert_eq!(parse_custom_id("other:42:ok"), None);
        assert_eq!(parse_custom_id("econ:42"), None);
    }

    #[test]
    fn only_the_invoker_clears_an_ended_prompt() {
        assert_eq!(stale_answer(Some(1), 1, true), StaleAnswer::Clear);
        assert_eq!(stale_answer(Some(1), 2, true), StaleAnswer::Refuse);
        assert_eq!(stale_answer(Some(1), 2, false), StaleAnswer::Refuse);
        assert_eq!(stale_answer(None, 2, true), StaleAnswer::Clear);
        assert_eq!(stale_answer(None, 2, false), StaleAnswer::Refuse);
    }

    #[test]
    fn the_stale_answer_removes_the_buttons_pings_nobody_and_keeps_embeds_and_files() {
        let body = stale_update("ok");
        assert_eq!(body["type"], 7);
        assert_eq!(body["data"]["components"], serde_json::json!([]));
        assert_eq!(
            body["data"]["allowed_mentions"]["parse"],
            serde_json::json!([])
        );
        assert!(body["data"].get("embeds").is_none());
        assert!(body["data"].get("attachments").is_none());
        assert!(stale_words("ok").contains("moved no money"));
        assert!(stale_words("older").contains("run /audit again"));
    }
}
