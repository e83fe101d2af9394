//! Metric names and the small helpers that record them (through the `metrics` facade: without an
//! installed recorder they cost nothing). The daemon exports them in Prometheus text at /metrics.
//! Labels are fixed sets (command kind, outcome label, call kind): never ids, names or secrets.

/// Commands handled, by `kind` (give / deduct / balance / audit) and `outcome`.
pub const COMMANDS: &str = "economy_bot_commands_total";
/// Confirmation prompts waiting for a button press.
pub const PENDING_CONFIRMATIONS: &str = "economy_bot_pending_confirmations";
/// Open Cloud calls, by `call` (get / set / publish / users).
pub const OPEN_CLOUD_CALLS: &str = "economy_bot_open_cloud_calls_total";
/// Open Cloud calls that failed, by `call`.
pub const OPEN_CLOUD_ERRORS: &str = "economy_bot_open_cloud_errors_total";
/// Audit records the bot committed that the audit API has not acknowledged (the retry queue).
pub const AUDIT_RETRY_QUEUE: &str = "economy_bot_audit_retry_queue";
/// Txns still pending confirmation.
pub const PENDING_TXNS: &str = "economy_bot_pending_txns";
/// Log-channel posts, by `result` (ok / error).
pub const LOG_POSTS: &str = "economy_bot_log_channel_posts_total";
/// Settled movements waiting for their log-channel post (retries included, dead letters not).
pub const LOG_BACKLOG: &str = "economy_bot_log_backlog";
/// Log-channel dead letters now: movements set aside after too many failed posts.
pub const LOG_DEAD_LETTERS: &str = "economy_bot_log_dead_letters";
/// Movements this process set aside as log-channel dead letters.
pub const LOG_DEAD_LETTERED: &str = "economy_bot_log_dead_letters_total";
/// Seconds the bot waited before connecting to Discord because it restarted too often.
pub const IDENTIFY_PAUSED: &str = "economy_bot_identify_paused_seconds_total";
/// 1 while the Discord gateway is connected.
pub const DISCORD_CONNECTED: &str = "economy_bot_discord_connected";
/// 1 once this start registered the slash commands.
pub const COMMANDS_REGISTERED: &str = "economy_bot_commands_registered";
/// Account-link look-ups, by `source` (bloxlink / rover / oauth / staff) and `result` (cached,
/// linked, not_linked, or the provider's failure: down, rate_limited, key_refused, bad_answer,
/// store).
pub const LINK_LOOKUPS: &str = "economy_bot_link_lookups_total";
/// Members refused because two sources linked them to different Roblox accounts.
pub const LINK_CONFLICTS: &str = "economy_bot_link_conflicts_total";

/// Registers descriptions (shown as `# HELP` lines).
pub fn describe() {
    metrics::describe_counter!(COMMANDS, "Commands handled, by kind and outcome");
    metrics::describe_gauge!(
        PENDING_CONFIRMATIONS,
        "Confirm/Cancel prompts waiting for a press"
    );
    metrics::describe_counter!(OPEN_CLOUD_CALLS, "Open Cloud calls, by call");
    metrics::describe_counter!(OPEN_CLOUD_ERRORS, "Open Cloud calls that failed, by call");
    metrics::describe_gauge!(AUDIT_RETRY_QUEUE, "Audit records awaiting acknowledgement");
    metrics::describe_gauge!(PENDING_TXNS, "Txns not confirmed yet");
    metrics::describe_counter!(LOG_POSTS, "Log channel posts, by result");
    metrics::describe_gauge!(
        LOG_BACKLOG,
        "Settled movements waiting for their log channel post"
    );
    metrics::describe_gauge!(
        LOG_DEAD_LETTERS,
        "Log channel dead letters waiting for an operator (economy-bot log-channel)"
    );
    metrics::describe_counter!(
        LOG_DEAD_LETTERED,
        "Movements set aside as log channel dead letters after too many failed posts"
    );
    metrics::describe_counter!(
        IDENTIFY_PAUSED,
        "Seconds waited before connecting to Discord after too many restarts"
    );
    metrics::describe_gauge!(
        DISCORD_CONNECTED,
        "1 while the Discord gateway is connected"
    );
    metrics::describe_gauge!(
        COMMANDS_REGISTERED,
        "1 once the slash commands are registered"
    );
    metrics::describe_counter!(
        LINK_LOOKUPS,
        "Account-link look-ups, by source and result (cached, linked, not_linked or the failure)"
    );
    metrics::describe_counter!(
        LINK_CONFLICTS,
        "Members refused because two link sources named different Roblox accounts"
    );
}

/// Counts one account-link look-up of `source` and how it ended.
pub fn link_lookup(source: &'static str, result: &'static str) {
    metrics::counter!(LINK_LOOKUPS, "source" => source, "result" => result).increment(1);
}

/// Counts one member refused for conflicting links.
pub fn link_conflict() {
    metrics::counter!(LINK_CONFLICTS).increment(1);
}

/// Counts one command.
pub fn command(kind: &'static str, outcome: &'static str) {
    metrics::counter!(COMMANDS, "kind" => kind, "outcome" => outcome).increment(1);
}

/// A confirmation prompt opened (`+1.0`) or closed (`-1.0`).
pub fn pending_confirmations(delta: f64) {
    metrics::gauge!(PENDING_CONFIRMATIONS).increment(delta);
}

/// Counts one Open Cloud call and whether it failed.
pub fn open_cloud_call(call: &'static str, ok: bool) {
    metrics::counter!(OPEN_CLOUD_CALLS, "call" => call).increment(1);
    if !ok {
        metrics::counter!(OPEN_CLOUD_ERRORS, "call" => call).increment(1);
    }
}

/// Sets the queue gauges read from the database.
pub fn queues(audit_retry: i64, pending_txns: i64) {
    metrics::gauge!(AUDIT_RETRY_QUEUE).set(audit_retry as f64);
    metrics::gauge!(PENDING_TXNS).set(pending_txns as f64);
}

/// Counts the posts of one log-channel delivery pass.
pub fn log_pass(pass: &crate::service::LogPass) {
    metrics::counter!(LOG_POSTS, "result" => "ok").increment(u64::from(pass.posted));
    metrics::counter!(LOG_POSTS, "result" => "error").increment(u64::from(pass.failed));
    metrics::counter!(LOG_DEAD_LETTERED).increment(u64::from(pass.dead_lettered));
}

/// Sets the log-channel gauges read from the database.
pub fn log_queue(backlog: i64, dead_letters: i64) {
    metrics::gauge!(LOG_BACKLOG).set(backlog as f64);
    metrics::gauge!(LOG_DEAD_LETTERS).set(dead_letters as f64);
}

/// Counts a pause before connecting to Discord (restarts too frequent).
pub fn identify_paused(pause: std::time::Duration) {
    metrics::counter!(IDENTIFY_PAUSED).increment(pause.as_secs());
}

/// Sets the Discord gauges (gateway connected, commands registered).
pub fn discord_state(connected: bool, registered: bool) {
    metrics::gauge!(DISCORD_CONNECTED).set(f64::from(u8::from(connected)));
    metrics::gauge!(COMMANDS_REGISTERED).set(f64::from(u8::from(registered)));
}
