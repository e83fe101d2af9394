//! MessagingService over the universe's shared bus: publishes go through the bus's faults, and a
//! subscription queues messages in the server's inbox until the universe delivers them.

use std::sync::Arc;

use mlua::{Lua, Value};
use opencloud::emulator::Message;

use super::{Answer, Registry};
use crate::json::{self, Rules};
use crate::server::ServerCtx;

/// Registers `msg_publish` and `msg_subscribe`; both answer the delay the call takes.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.answer("msg_publish", publish)?;
    r.answer("msg_subscribe", subscribe)
}

/// Topic names Roblox accepts.
fn check_topic(call: &str, topic: &str) -> Result<(), String> {
    if topic.is_empty() || topic.len() > 80 {
        return Err(format!("{call}: topic must be 1 to 80 characters"));
    }
    Ok(())
}

/// `PublishAsync`: JSON text of at most 1 KiB; refused while a zombie's messaging is cut.
fn publish(_lua: &Lua, c: &ServerCtx, (topic, data): (String, Value)) -> Answer {
    check_topic("PublishAsync", &topic)?;
    let text = json::encode(&data, Rules::DataStore)?;
    if text.len() > 1024 {
        return Err(format!(
            "PublishAsync: message size {} exceeds the 1kB limit",
            text.len()
        )
        .into());
    }
    if c.messaging_cut.get() && c.cut_off() {
        return Err("PublishAsync: request failed (HttpError: ConnectFail)"
            .to_owned()
            .into());
    }
    c.trace("publish", &format!("{topic} {text}"));
    c.shared
        .bus
        .publish_faulty(c.shared.cfg.universe_id, &topic, text);
    Ok(vec![Value::Number(
        c.latency(c.shared.cfg.message_latency_s) / 2.0,
    )])
}

/// `SubscribeAsync`: one bus subscription per topic, feeding the server's inbox.
fn subscribe(_lua: &Lua, c: &ServerCtx, topic: String) -> Answer {
    check_topic("SubscribeAsync", &topic)?;
    let mut subs = c.subscriptions.borrow_mut();
    if !subs.contains_key(&topic) {
        let inbox = c.inbox.clone();
        let id = c.shared.bus.subscribe(
            c.shared.cfg.universe_id,
            &topic,
            Arc::new(move |m: &Message| {
                if let Ok(mut q) = inbox.lock() {
                    q.push(m.clone());
                }
            }),
        );
        subs.insert(topic.clone(), id);
    }
    c.trace("subscribe", &topic);
    Ok(vec![Value::Number(
        c.latency(c.shared.cfg.message_latency_s) / 2.0,
    )])
}
