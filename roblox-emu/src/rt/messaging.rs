//! MessagingService over the universe's shared bus: publishes go through the bus's faults, and a
//! subscription queues messages in the server's inbox until the universe delivers them. The
//! per-server limits (`UniverseConfig::messaging_limits`) are checked here; what Roblox raises
//! over them is undocumented, so the messages name the limit.

use std::sync::Arc;

use mlua::{Lua, Value};
use opencloud::emulator::Message;

use super::{Answer, Registry};
use crate::json::{self, Rules};
use crate::server::ServerCtx;

/// Registers `msg_publish` and `msg_subscribe` (both answer the delay the call takes) and
/// `msg_unsubscribe` (a connection's `Disconnect`).
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.answer("msg_publish", publish)?;
    r.answer("msg_subscribe", subscribe)?;
    r.answer("msg_unsubscribe", unsubscribe)
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
    if let Some(l) = c.shared.cfg.messaging_limits {
        let per_minute = l.sent_base + l.sent_per_player * c.players.get();
        if !c.msg_sent.borrow_mut().admit_under(c.now_s(), per_minute) {
            let e = format!(
                "PublishAsync: request was throttled: this server sent {per_minute} messages in the last minute (600 + 240 × players)"
            );
            c.trace("publish-fail", &e);
            return Err(e.into());
        }
    }
    c.trace("publish", &format!("{topic} {text}"));
    c.shared
        .bus
        .publish_faulty(c.shared.cfg.universe_id, &topic, text);
    Ok(vec![Value::Number(
        c.latency(c.shared.cfg.message_latency_s) / 2.0,
    )])
}

/// `SubscribeAsync`: one bus subscription per topic, feeding the server's inbox; every call is one
/// live connection until its `Disconnect`.
fn subscribe(_lua: &Lua, c: &ServerCtx, topic: String) -> Answer {
    check_topic("SubscribeAsync", &topic)?;
    let mut subs = c.subscriptions.borrow_mut();
    if let Some(l) = c.shared.cfg.messaging_limits {
        let players = c.players.get();
        let allowed = l.subscriptions_base + l.subscriptions_per_player * players;
        let live: usize = subs.values().map(|(_, n)| n).sum();
        if live >= allowed {
            let e = format!(
                "SubscribeAsync: this server already holds {live} subscriptions, its limit (20 + 8 × players)"
            );
            c.trace("subscribe-fail", &e);
            return Err(e.into());
        }
        let per_minute = l.subscribe_requests_per_minute;
        if !c
            .msg_subscribes
            .borrow_mut()
            .admit_under(c.now_s(), per_minute)
        {
            let e = format!(
                "SubscribeAsync: request was throttled: {per_minute} subscribe requests in the last minute"
            );
            c.trace("subscribe-fail", &e);
            return Err(e.into());
        }
    }
    if let Some((_, n)) = subs.get_mut(&topic) {
        *n += 1;
    } else {
        let inbox = c.inbox.clone();
        // Open Cloud "can only target live game servers": a Studio server never gets its
        // publishes (other servers' PublishAsync still reaches it).
        let studio = c.shared.cfg.studio;
        let id = c.shared.bus.subscribe(
            c.shared.cfg.universe_id,
            &topic,
            Arc::new(move |m: &Message| {
                if studio && m.from_open_cloud {
                    return;
                }
                if let Ok(mut q) = inbox.lock() {
                    q.push(m.clone());
                }
            }),
        );
        subs.insert(topic.clone(), (id, 1));
    }
    c.trace("subscribe", &topic);
    Ok(vec![Value::Number(
        c.latency(c.shared.cfg.message_latency_s) / 2.0,
    )])
}

/// A connection's `Disconnect`: one live subscription less; the last one of a topic leaves the bus
/// (the server no longer receives, nor counts towards the topic's receive limit).
fn unsubscribe(_lua: &Lua, c: &ServerCtx, topic: String) -> Answer {
    let mut subs = c.subscriptions.borrow_mut();
    if let Some((id, n)) = subs.get_mut(&topic) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            c.shared.bus.unsubscribe(*id);
            subs.remove(&topic);
        }
    }
    c.trace("unsubscribe", &topic);
    Ok(vec![])
}
