//! Invariants checked on every DataStore write (the store's write hook), and the built-in
//! session-lock invariant of ProfileStore / ProfileService wallets.

use opencloud::emulator::{WriteEvent, Writer};
use serde_json::Value as Json;

/// A check run on every committed write; `Err` describes the violation.
pub type Invariant = Box<dyn Fn(&WriteEvent) -> Result<(), String> + Send + Sync>;

/// One violated invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// Store time of the write, Unix ms.
    pub at_ms: i64,
    /// Data store, scope and key.
    pub key: String,
    /// What was wrong.
    pub detail: String,
}

fn writer_job(writer: &Writer) -> Option<&str> {
    match writer {
        Writer::GameServer { job_id } => Some(job_id),
        _ => None,
    }
}

/// The JobId holding the profile's session lock (`MetaData.ActiveSession[2]`), if any.
pub fn session_holder(value: &Json) -> Option<String> {
    value
        .get("MetaData")?
        .get("ActiveSession")?
        .get(1)?
        .as_str()
        .map(str::to_owned)
}

/// "Single writer": a profile's `Data` may change only when the writer held the session lock in
/// the value it replaced, or when no session was held (creation, or an offline write by Open
/// Cloud). Values that are not profiles are ignored.
pub fn session_lock(ev: &WriteEvent) -> Result<(), String> {
    let parse = |e: &Option<opencloud::emulator::Entry>| -> Option<Json> {
        e.as_ref().and_then(|e| serde_json::from_str(&e.value).ok())
    };
    let before = parse(&ev.before);
    let after = parse(&ev.after);
    let data = |v: &Option<Json>| v.as_ref().and_then(|v| v.get("Data")).cloned();
    let is_profile = |v: &Option<Json>| v.as_ref().is_some_and(|v| v.get("MetaData").is_some());
    if !is_profile(&before) && !is_profile(&after) {
        return Ok(());
    }
    if data(&before) == data(&after) {
        return Ok(());
    }
    let holder = before.as_ref().and_then(session_holder);
    match (holder, writer_job(&ev.writer)) {
        (None, _) => Ok(()),
        (Some(h), Some(w)) if h == w => Ok(()),
        (Some(h), w) => Err(format!(
            "Data changed by {} while the session was held by {h}",
            w.map_or_else(|| format!("{:?}", ev.writer), |w| format!("server {w}"))
        )),
    }
}
