//! Reading the universe's ground truth: stored wallets, their session holders, what servers said.

use opencloud::emulator::EntryKey;
use roblox_emu::{Universe, invariant};
use serde_json::Value;

/// Wallet data store name (the bridge's and the bot's default).
pub const DATASTORE: &str = "EconomyWallet";
/// Wallet key prefix.
pub const KEY_PREFIX: &str = "wallet_";
/// Full name of the bridge's RemoteEvent.
pub const REMOTE: &str = "ReplicatedStorage.EconomyBalanceChanged";

/// The stored wallet entry of a user, parsed.
pub fn stored(u: &Universe, user_id: u64) -> Option<Value> {
    let key = EntryKey::scoped(
        u.config().universe_id,
        DATASTORE,
        "global",
        format!("{KEY_PREFIX}{user_id}"),
    );
    let entry = u.backend().store.get(&key)?;
    serde_json::from_str(&entry.value).ok()
}

/// The stored wallet document (`Data`).
pub fn data(u: &Universe, user_id: u64) -> Value {
    stored(u, user_id).map_or(Value::Null, |v| v["Data"].clone())
}

/// The JobId holding a user's wallet session.
pub fn holder(u: &Universe, user_id: u64) -> Option<String> {
    stored(u, user_id).and_then(|v| invariant::session_holder(&v))
}

/// Ring entries of the stored wallet.
pub fn ring(u: &Universe, user_id: u64) -> Vec<Value> {
    data(u, user_id)["ring"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Outbox records of the stored wallet.
pub fn outbox(u: &Universe, user_id: u64) -> Vec<Value> {
    data(u, user_id)["outbox"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `[EconomyBridge]` lines containing `needle`, across servers still alive.
pub fn bridge_lines(u: &Universe, needle: &str) -> Vec<String> {
    (0..u.server_count())
        .filter_map(|s| u.server(s))
        .flat_map(|s| s.output())
        .map(|l| l.text)
        .filter(|t| t.starts_with("[EconomyBridge]") && t.contains(needle))
        .collect()
}

/// RemoteEvent calls to a user about `txn`, across servers still alive.
pub fn remote_fires(u: &Universe, user_id: u64, txn: &str) -> usize {
    (0..u.server_count())
        .filter_map(|s| u.server(s))
        .flat_map(|s| s.remote_calls())
        .filter(|c| c.remote == REMOTE && c.user_id == Some(user_id) && c.args.contains(txn))
        .count()
}
