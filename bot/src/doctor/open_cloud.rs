//! The Open Cloud key, by harmless calls with the operator's real settings: read and write on
//! the wallet data store, publish on the command topic, read a user.
//!
//! Write: the doctor writes its own key, [`PROBE_KEY`], in the wallet data store — never a wallet
//! (wallet keys are the prefix followed by a user id's digits). The first run creates it
//! (`exclusiveCreate`, the permission a new player's wallet needs), later runs update it with
//! `matchVersion` (the permission every offline grant needs). A write designed to fail (a stale
//! `matchVersion`) would change nothing, but Roblox does not document whether it checks the
//! precondition before the key's permissions, so its 412 would not prove the permission.
//!
//! Publish: Open Cloud grants messaging per universe, not per topic, so the doctor publishes on
//! the real command topic a text that is not an `EB1` command: every game server's bridge
//! refuses it at the first framing check (logged at info) and nothing else happens.

use super::report::Check;
use opencloud::client::{EntryPath, Error, OpenCloud, SetOptions};

/// `Open Cloud data store read`.
pub const DS_READ: &str = "Open Cloud data store read";
/// `Open Cloud data store write`.
pub const DS_WRITE: &str = "Open Cloud data store write";
/// `Open Cloud messaging publish`.
pub const PUBLISH: &str = "Open Cloud messaging publish";
/// `Open Cloud users read`.
pub const USERS: &str = "Open Cloud users read";

/// The doctor's own key in the wallet data store (letters: never a wallet key).
pub const PROBE_KEY: &str = "economy-doctor";

/// What the doctor publishes: not an `EB1` message, so every bridge drops it unread.
pub const PROBE_MESSAGE: &str = "economy-bot doctor: connectivity check, not a command";

/// A user every Roblox universe can look up (the `Roblox` account); not finding it still
/// proves the key may call the users API.
pub const PROBE_USER: u64 = 1;

/// The operator's settings the checks use.
pub struct OpenCloudTarget<'a> {
    /// A client with the operator's key and base URL.
    pub client: &'a OpenCloud,
    /// `ROBLOX_UNIVERSE_ID`.
    pub universe_id: u64,
    /// `WALLET_DATASTORE`.
    pub datastore: &'a str,
    /// `COMMAND_TOPIC`.
    pub topic: &'a str,
}

/// Why a call failed, in the terms an operator acts on.
enum Failure {
    Unreachable(String),
    KeyRefused,
    Forbidden(String),
    Other(String),
}

fn classify(e: &Error) -> Failure {
    match e {
        Error::Transport(cause) => Failure::Unreachable(cause.clone()),
        Error::Api(api) | Error::Throttled(api, _) if api.status == 401 => Failure::KeyRefused,
        Error::Api(api) if api.status == 403 => Failure::Forbidden(
            api.message
                .clone()
                .unwrap_or_else(|| "permission denied".into()),
        ),
        other => Failure::Other(other.to_string()),
    }
}

const KEY_FIX: &str = "copy ROBLOX_OPEN_CLOUD_API_KEY again from Creator Dashboard → Open Cloud → \
                       API Keys; check the key is enabled, not expired, and accepts this \
                       machine's IP address";

/// Runs the four checks in order; after an unreachable Open Cloud or a refused key the rest are
/// skipped (they would fail the same way).
pub async fn check(target: &OpenCloudTarget<'_>) -> Vec<Check> {
    let path = EntryPath::new(target.universe_id, target.datastore, PROBE_KEY);
    let universe = target.universe_id;
    let store = target.datastore;
    let read = target.client.get_entry(&path).await;
    let current = match read {
        Ok(entry) => entry,
        Err(e) => {
            let (line, fatal) = match classify(&e) {
                Failure::Unreachable(cause) => (
                    Check::problem(
                        DS_READ,
                        format!("Open Cloud is not reachable ({cause})"),
                        "check the network (and ROBLOX_OPEN_CLOUD_BASE_URL if set)",
                    ),
                    Some("Open Cloud is not reachable"),
                ),
                Failure::KeyRefused => (
                    Check::problem(DS_READ, "the API key was refused (401)", KEY_FIX),
                    Some("the API key was refused"),
                ),
                Failure::Forbidden(why) => (
                    Check::problem(
                        DS_READ,
                        format!(
                            "the key may not read data store {store} in universe {universe} (403: {why})"
                        ),
                        format!(
                            "in the key's permissions add universe {universe} with Data Stores \
                             Read Entry on {store} (or on every data store)"
                        ),
                    ),
                    None,
                ),
                Failure::Other(why) => (
                    Check::problem(
                        DS_READ,
                        format!("reading failed: {why}"),
                        "run doctor again; if it persists, check Roblox's status page",
                    ),
                    None,
                ),
            };
            if let Some(why) = fatal {
                return vec![
                    line,
                    Check::skipped(DS_WRITE, why),
                    Check::skipped(PUBLISH, why),
                    Check::skipped(USERS, why),
                ];
            }
            // Without a read the write cannot be conditional on the current version.
            return vec![
                line,
                Check::skipped(DS_WRITE, "needs the read to work first"),
                publish(target).await,
                users(target).await,
            ];
        }
    };
    let mut checks = vec![Check::ok(
        DS_READ,
        format!(
            "read {PROBE_KEY} in data store {store} ({})",
            if current.is_some() {
                "present"
            } else {
                "absent, as on a first run"
            }
        ),
    )];
    checks.push(write(target, &path, current.as_ref()).await);
    checks.push(publish(target).await);
    checks.push(users(target).await);
    checks
}

async fn write(
    target: &OpenCloudTarget<'_>,
    path: &EntryPath,
    current: Option<&opencloud::client::DataStoreEntry>,
) -> Check {
    let (options, how) = match current {
        Some(entry) => (SetOptions::replacing(entry), "updated with matchVersion"),
        None => (SetOptions::create_only(), "created with exclusiveCreate"),
    };
    let value = serde_json::json!({"writtenBy": "economy-bot doctor"}).to_string();
    let store = target.datastore;
    let universe = target.universe_id;
    match target.client.set_entry(path, &value, &options).await {
        Ok(_) => Check::ok(
            DS_WRITE,
            format!("{how} the doctor's own key {PROBE_KEY} in {store} (no wallet touched)"),
        ),
        // Another doctor run wrote in between: the precondition was evaluated, so the write
        // itself was allowed.
        Err(Error::PreconditionFailed { .. }) => Check::ok(
            DS_WRITE,
            format!("{PROBE_KEY} changed meanwhile (412 on a conditional write the key may make)"),
        ),
        Err(e) => match classify(&e) {
            Failure::Forbidden(why) => Check::problem(
                DS_WRITE,
                format!(
                    "the key may not write data store {store} in universe {universe} (403: {why})"
                ),
                format!(
                    "in the key's permissions add Data Stores Create Entry and Update Entry on \
                     {store} for universe {universe} (a first write to a new data store also \
                     needs Create Data Store)"
                ),
            ),
            Failure::KeyRefused => {
                Check::problem(DS_WRITE, "the API key was refused (401)", KEY_FIX)
            }
            Failure::Unreachable(cause) | Failure::Other(cause) => Check::problem(
                DS_WRITE,
                format!("writing failed: {cause}"),
                "run doctor again; if it persists, check Roblox's status page",
            ),
        },
    }
}

async fn publish(target: &OpenCloudTarget<'_>) -> Check {
    let topic = target.topic;
    let universe = target.universe_id;
    match target
        .client
        .publish(target.universe_id, topic, PROBE_MESSAGE)
        .await
    {
        Ok(()) => Check::ok(
            PUBLISH,
            format!("published a non-command text on {topic} (game servers refuse it unread)"),
        ),
        Err(e) => match classify(&e) {
            Failure::Forbidden(why) => Check::problem(
                PUBLISH,
                format!("the key may not publish in universe {universe} (403: {why})"),
                format!(
                    "in the key's permissions add Messaging Service Publish for universe {universe}"
                ),
            ),
            Failure::KeyRefused => {
                Check::problem(PUBLISH, "the API key was refused (401)", KEY_FIX)
            }
            Failure::Unreachable(cause) | Failure::Other(cause) => Check::problem(
                PUBLISH,
                format!("publishing failed: {cause}"),
                "check COMMAND_TOPIC (1-80 characters) and run doctor again",
            ),
        },
    }
}

async fn users(target: &OpenCloudTarget<'_>) -> Check {
    match target.client.get_user(PROBE_USER).await {
        Ok(_) => Check::ok(USERS, "user look-ups answer (public profile fields)"),
        Err(e) => match classify(&e) {
            Failure::KeyRefused => Check::problem(USERS, "the API key was refused (401)", KEY_FIX),
            Failure::Forbidden(why) => Check::problem(
                USERS,
                format!("user look-ups are refused (403: {why})"),
                "public user profiles need no scope; check the key's IP restrictions",
            ),
            Failure::Unreachable(cause) | Failure::Other(cause) => Check::problem(
                USERS,
                format!("the user look-up failed: {cause}"),
                "run doctor again; if it persists, check Roblox's status page",
            ),
        },
    }
}
