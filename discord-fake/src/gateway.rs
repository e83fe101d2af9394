//! The gateway over `ws://`: HELLO, IDENTIFY (close 4004 on a wrong token), READY and one
//! GUILD_CREATE per guild, heartbeat ACKs, dispatches with sequence numbers, RECONNECT on
//! request and RESUME (missed events replayed, then RESUMED). Every frame is checked against
//! serenity's `GatewayEvent` before it is sent.

use crate::{Shared, check, model};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The heartbeat interval announced in HELLO (Discord's usual value).
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

/// GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT: they must be enabled in the developer
/// portal; the fake's application has only GUILD_MEMBERS, and only when a test turns it on
/// (`FakeConfig::members_intent`).
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);
/// GUILD_MEMBERS (`1 << 1`).
pub const GUILD_MEMBERS: u64 = 1 << 1;

/// What a connection task is told to send.
#[derive(Debug)]
pub enum Outbound {
    /// A JSON frame.
    Frame(Value),
    /// Close with a code and reason, then end.
    Close(u16, &'static str),
}

/// A gateway session (it outlives connections: RESUME picks it up again).
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Last sequence number sent.
    pub seq: u64,
    /// Dispatches sent, for replay on RESUME.
    pub sent: Vec<(u64, Value)>,
    /// The live connection, if any (its number and sender).
    pub conn: Option<(u64, mpsc::UnboundedSender<Outbound>)>,
}

/// The gateway's sessions.
#[derive(Debug, Default)]
pub struct Gateway {
    /// Sessions by creation order.
    pub sessions: Vec<Session>,
    next_conn: u64,
}

impl Gateway {
    /// The session with a live connection (the newest).
    pub fn live(&mut self) -> Option<&mut Session> {
        self.sessions.iter_mut().rev().find(|s| s.conn.is_some())
    }
}

fn check_frame(shared: &Shared, frame: &Value) {
    if let Err(e) = check::gateway(frame) {
        let what = frame.get("t").and_then(Value::as_str).unwrap_or("frame");
        shared
            .world
            .lock()
            .problems
            .push(format!("gateway {what}: serenity cannot read it: {e}"));
    }
}

/// Sends a dispatch (`op` 0) on `session`, numbering and keeping it for RESUME.
pub fn dispatch_on(shared: &Shared, session: &mut Session, event: &str, data: Value) -> bool {
    session.seq += 1;
    let frame = json!({"op": 0, "s": session.seq, "t": event, "d": data});
    check_frame(shared, &frame);
    session.sent.push((session.seq, frame.clone()));
    match &session.conn {
        Some((_, tx)) => tx.send(Outbound::Frame(frame)).is_ok(),
        None => false,
    }
}

/// Accepts connections until the listener's task is aborted.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(connection(stream, shared.clone()));
    }
}

fn op(frame: &Value) -> Option<u64> {
    frame.get("op").and_then(Value::as_u64)
}

fn token_ok(shared: &Shared, given: Option<&str>) -> bool {
    let w = shared.world.lock();
    given
        .map(|t| t.strip_prefix("Bot ").unwrap_or(t))
        .is_some_and(|t| t == w.config.token)
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!(error = %e, "gateway handshake failed");
            return;
        }
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    let conn_no = {
        let mut g = shared.gateway.lock();
        g.next_conn += 1;
        g.next_conn
    };
    let hello =
        json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}});
    check_frame(&shared, &hello);
    if sink.send(Frame::Text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = source.next() => {
                let text = match incoming {
                    Some(Ok(Frame::Text(t))) => t,
                    Some(Ok(Frame::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    let _ = tx.send(Outbound::Close(4002, "Error while decoding payload."));
                    continue;
                };
                on_frame(&shared, &frame, conn_no, &tx);
            }
            out = rx.recv() => match out {
                Some(Outbound::Frame(v)) => {
                    if sink.send(Frame::Text(v.to_string())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    let close = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(Frame::Close(Some(close))).await;
                    break;
                }
                None => break,
            }
        }
    }
    let mut g = shared.gateway.lock();
    for s in &mut g.sessions {
        if s.conn.as_ref().is_some_and(|(n, _)| *n == conn_no) {
            s.conn = None;
        }
    }
    drop(g);
    shared.changed();
}

fn on_frame(
    shared: &Arc<Shared>,
    frame: &Value,
    conn_no: u64,
    tx: &mpsc::UnboundedSender<Outbound>,
) {
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    match op(frame) {
        Some(1) => {
            let ack = json!({"op": 11, "s": null, "t": null, "d": null});
            check_frame(shared, &ack);
            let _ = tx.send(Outbound::Frame(ack));
        }
        Some(2) => identify(shared, &d, conn_no, tx),
        Some(6) => resume(shared, &d, conn_no, tx),
        _ => {}
    }
    shared.changed();
}

fn identify(shared: &Arc<Shared>, d: &Value, conn_no: u64, tx: &mpsc::UnboundedSender<Outbound>) {
    shared.world.lock().identifies += 1;
    if !token_ok(shared, d.get("token").and_then(Value::as_str)) {
        let _ = tx.send(Outbound::Close(4004, "Authentication failed."));
        return;
    }
    let intents = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
    let granted = if shared.world.lock().config.members_intent {
        GUILD_MEMBERS
    } else {
        0
    };
    if intents & PRIVILEGED_INTENTS & !granted != 0 {
        // A privileged intent not enabled in the application's portal settings.
        let _ = tx.send(Outbound::Close(4014, "Disallowed intent(s)."));
        return;
    }
    let (ready, guilds) = {
        let w = shared.world.lock();
        let session_id = format!("fake-session-{}", w.next_id());
        let ready = model::ready(&w, &session_id, &shared.ws_url);
        let guilds: Vec<Value> = w
            .guilds
            .values()
            .map(|g| model::guild_create(g, &w))
            .collect();
        (ready, guilds)
    };
    let session_id = ready
        .get("session_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut g = shared.gateway.lock();
    // One bot process at a time: an older connection is closed as Discord would on a new
    // IDENTIFY with the same shard.
    for s in &mut g.sessions {
        if let Some((_, old)) = s.conn.take() {
            let _ = old.send(Outbound::Close(4009, "Session timed out."));
        }
    }
    g.sessions.push(Session {
        id: session_id,
        seq: 0,
        sent: Vec::new(),
        conn: Some((conn_no, tx.clone())),
    });
    if let Some(s) = g.sessions.last_mut() {
        dispatch_on(shared, s, "READY", ready);
        for guild in guilds {
            dispatch_on(shared, s, "GUILD_CREATE", guild);
        }
    }
}

fn resume(shared: &Arc<Shared>, d: &Value, conn_no: u64, tx: &mpsc::UnboundedSender<Outbound>) {
    shared.world.lock().resumes += 1;
    let wanted = d.get("session_id").and_then(Value::as_str).unwrap_or("");
    let after = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let token_good = token_ok(shared, d.get("token").and_then(Value::as_str));
    let mut g = shared.gateway.lock();
    let Some(s) = g
        .sessions
        .iter_mut()
        .find(|s| s.id == wanted)
        .filter(|_| token_good)
    else {
        let invalid = json!({"op": 9, "s": null, "t": null, "d": false});
        check_frame(shared, &invalid);
        let _ = tx.send(Outbound::Frame(invalid));
        return;
    };
    s.conn = Some((conn_no, tx.clone()));
    for (seq, frame) in &s.sent {
        if *seq > after {
            let _ = tx.send(Outbound::Frame(frame.clone()));
        }
    }
    dispatch_on(shared, s, "RESUMED", json!({}));
}
