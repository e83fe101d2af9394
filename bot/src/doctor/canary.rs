//! The live canary: the bridge's self-test run in a real server of a test place through Open
//! Cloud Luau Execution (<https://create.roblox.com/docs/cloud/reference/features/luau-execution>).
//!
//! The task (`canary.luau`) checks the installed bridge's HMAC against the shared vectors
//! (through EncodingService where the engine offers SHA-256) and writes a wallet-shaped
//! document to the doctor's own key with `SetAsync`. The doctor then reads that document over
//! Open Cloud with the bot's own reader (numbers must come back exact), updates it with
//! `matchVersion`, and writes once more with the version it had replaced: a deliberate conflict
//! whose 412 it describes (with or without the current entry; the bot handles both).

use super::report::Check;
use crate::config::{Config, SecretString};
use opencloud::client::{EntryPath, Error, LuauTask, OpenCloud, SetOptions};
use serde::Deserialize;
use shared::clock::Clock;
use shared::limits::MAX_SAFE_INTEGER;
use std::time::Duration;

/// `canary task`.
pub const TASK: &str = "canary task";
/// `canary HMAC`.
pub const HMAC: &str = "canary HMAC";
/// `canary JSON numbers`.
pub const NUMBERS: &str = "canary JSON numbers";
/// `canary 412 shape`.
pub const CONFLICT: &str = "canary 412 shape";

/// The canary's own key in the wallet data store (letters: never a wallet key).
pub const CANARY_KEY: &str = "economy-doctor-canary";

/// The numbers the script stores: 2^53 − 1 as the balance and 10^15 as the watermark.
const BALANCE: i64 = MAX_SAFE_INTEGER;
const WATERMARK: i64 = 1_000_000_000_000_000;

const SCRIPT: &str = include_str!("canary.luau");
const SIGNING_VECTORS: &str = include_str!("../../../testdata/signing.json");
const INPUT_MARKER: &str = "__DOCTOR_INPUT__";

/// What `--canary-place` asks for.
#[derive(Clone, Debug)]
pub struct CanaryOptions {
    /// The test place (of `ROBLOX_UNIVERSE_ID`) whose server runs the task.
    pub place_id: u64,
    /// A place version; the current one when absent.
    pub version: Option<u64>,
    /// `DOCTOR_CANARY_API_KEY`: a key with Luau Execution on the place; the bot's key if absent.
    pub api_key: Option<SecretString>,
    /// Pause between polls of the task.
    pub poll_every: Duration,
    /// How long to wait for the task before giving up.
    pub deadline: Duration,
}

impl CanaryOptions {
    /// Defaults: poll every 2 s (the get quota is 45 a minute), give up after 6 minutes (a task
    /// may run 5).
    pub fn new(place_id: u64, version: Option<u64>, api_key: Option<SecretString>) -> Self {
        Self {
            place_id,
            version,
            api_key,
            poll_every: Duration::from_secs(2),
            deadline: Duration::from_secs(360),
        }
    }
}

#[derive(Deserialize, Default)]
struct HmacReport {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    passed: u32,
    #[serde(default)]
    failed: Vec<String>,
    #[serde(default)]
    engine: bool,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize, Default)]
struct StoreReport {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize, Default)]
struct ScriptReport {
    #[serde(default)]
    hmac: Option<HmacReport>,
    #[serde(default)]
    datastore: Option<StoreReport>,
}

/// The script with its input in place (vectors, store, key), or why it cannot be built.
pub fn script(store: &str) -> Result<String, String> {
    let vectors: serde_json::Value = serde_json::from_str(SIGNING_VECTORS)
        .map_err(|e| format!("the built-in signing vectors do not parse ({e})"))?;
    let input = serde_json::json!({
        "vectors": vectors.get("hmac").cloned().unwrap_or_default(),
        "store": store,
        "key": CANARY_KEY,
    })
    .to_string();
    // The input sits in a Luau long string: its closing bracket must not occur inside.
    if input.contains("]==]") {
        return Err("the data store name cannot be embedded in the canary script".into());
    }
    Ok(SCRIPT.replace(INPUT_MARKER, &input))
}

fn all_skipped(why: &str) -> Vec<Check> {
    [HMAC, NUMBERS, CONFLICT]
        .iter()
        .map(|n| Check::skipped(n, why.to_owned()))
        .collect()
}

/// Runs the canary and returns its lines.
pub async fn run(config: &Config, options: &CanaryOptions, clock: &dyn Clock) -> Vec<Check> {
    let key = options
        .api_key
        .as_ref()
        .unwrap_or(&config.open_cloud_api_key);
    let client = match super::open_cloud_client(config.open_cloud_base_url.as_ref(), key) {
        Ok(c) => c,
        Err(e) => {
            let mut v = vec![Check::problem(
                TASK,
                format!("cannot set up the Open Cloud client ({e})"),
                "check ROBLOX_OPEN_CLOUD_BASE_URL",
            )];
            v.extend(all_skipped("no task ran"));
            return v;
        }
    };
    let script = match script(&config.wallet_datastore) {
        Ok(s) => s,
        Err(why) => {
            let mut v = vec![Check::problem(
                TASK,
                why,
                "use a data store name without \"]==]\"",
            )];
            v.extend(all_skipped("no task ran"));
            return v;
        }
    };
    let universe = config.universe_id;
    let place = options.place_id;
    let started = clock.now_ms();
    let task = match run_task(&client, universe, options, &script, clock).await {
        Ok(t) => t,
        Err(line) => {
            let mut v = vec![line];
            v.extend(all_skipped("the task did not complete"));
            return v;
        }
    };
    let elapsed_s = (clock.now_ms() - started) as f64 / 1000.0;
    let logs = client.luau_task_logs(&task.path).await.unwrap_or_default();
    if task.state != "COMPLETE" {
        let error = task.error.clone().unwrap_or_default();
        let last_log = logs
            .last()
            .map(|l| format!("; last output: {l}"))
            .unwrap_or_default();
        let mut v = vec![Check::problem(
            TASK,
            format!(
                "the task in place {place} ended {} ({}: {}){last_log}",
                task.state, error.code, error.message
            ),
            "check the test place has the bridge installed and publishes (Studio: File → Publish to Roblox)",
        )];
        v.extend(all_skipped("the task did not complete"));
        return v;
    }
    let mut checks = vec![Check::ok(
        TASK,
        format!(
            "task in place {place} completed in {elapsed_s:.1} s ({} log line(s))",
            logs.len()
        ),
    )];
    let report: ScriptReport = task
        .output
        .as_ref()
        .and_then(|o| o.results.first())
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default();
    checks.push(hmac_line(report.hmac));
    match report.datastore {
        Some(StoreReport {
            ok: true, version, ..
        }) => {
            let path = EntryPath::new(universe, &config.wallet_datastore, CANARY_KEY);
            checks.extend(read_back(&client, &path, version.as_deref()).await);
        }
        Some(StoreReport { detail, .. }) => {
            checks.push(Check::problem(
                NUMBERS,
                format!(
                    "SetAsync in the server failed: {}",
                    detail.unwrap_or_else(|| "no detail".into())
                ),
                "check the place may use DataStores (Studio access to API services for a Studio test, published place otherwise)",
            ));
            checks.push(Check::skipped(
                CONFLICT,
                "nothing was written to conflict with",
            ));
        }
        None => {
            checks.push(Check::problem(
                NUMBERS,
                "the task returned no data store report",
                "run doctor again; the script's output is in the task's logs",
            ));
            checks.push(Check::skipped(
                CONFLICT,
                "nothing was written to conflict with",
            ));
        }
    }
    checks
}

/// Creates the task and polls it until it is done, or the line that says why not.
async fn run_task(
    client: &OpenCloud,
    universe: u64,
    options: &CanaryOptions,
    script: &str,
    clock: &dyn Clock,
) -> Result<LuauTask, Check> {
    let place = options.place_id;
    let mut task = client
        .create_luau_task(
            universe,
            place,
            options.version,
            script,
            Some(Duration::from_secs(60)),
        )
        .await
        .map_err(|e| task_problem(&e, universe, place))?;
    let deadline = clock.now_ms() + shared::clock::millis(options.deadline);
    while !task.is_done() {
        if clock.now_ms() >= deadline {
            return Err(Check::problem(
                TASK,
                format!(
                    "the task was still {} after {} s",
                    task.state,
                    options.deadline.as_secs()
                ),
                "run doctor again later (at most ten tasks per place may be pending)",
            ));
        }
        clock.sleep(options.poll_every).await;
        task = client
            .get_luau_task(&task.path)
            .await
            .map_err(|e| task_problem(&e, universe, place))?;
    }
    Ok(task)
}

fn task_problem(e: &Error, universe: u64, place: u64) -> Check {
    match e.status() {
        Some(401) => Check::problem(
            TASK,
            "the API key was refused (401)",
            "check DOCTOR_CANARY_API_KEY (or ROBLOX_OPEN_CLOUD_API_KEY when it is not set)",
        ),
        Some(403) => Check::problem(
            TASK,
            format!("the key may not run Luau in place {place} of universe {universe} (403)"),
            format!(
                "give a key Luau Execution Session write (universe.place.luau-execution-session:write) \
                 on universe {universe} and set it as DOCTOR_CANARY_API_KEY; keep that key out of \
                 the bot's own environment"
            ),
        ),
        Some(404) => Check::problem(
            TASK,
            format!("place {place} (or that version) was not found in universe {universe}"),
            "pass a place of ROBLOX_UNIVERSE_ID to --canary-place",
        ),
        Some(429) => Check::problem(
            TASK,
            "Luau Execution refused the task (429: quota, or ten tasks already pending)",
            "run doctor again in a few minutes",
        ),
        _ => Check::problem(
            TASK,
            format!("creating or polling the task failed: {e}"),
            "run doctor again; if it persists, check Roblox's status page",
        ),
    }
}

fn hmac_line(report: Option<HmacReport>) -> Check {
    match report {
        None => Check::problem(
            HMAC,
            "the task returned no HMAC report",
            "run doctor again; the script's output is in the task's logs",
        ),
        Some(HmacReport {
            detail: Some(detail),
            ..
        }) => Check::problem(
            HMAC,
            detail,
            "install the bridge in the test place (bridge/README.md, Install)",
        ),
        Some(r) if r.ok && r.passed > 0 => Check::ok(
            HMAC,
            format!(
                "{} vector(s) match{}",
                r.passed,
                if r.engine {
                    ", hashed by EncodingService"
                } else {
                    "; the engine offered no SHA-256, pure Luau was used"
                }
            ),
        ),
        Some(r) => Check::problem(
            HMAC,
            format!(
                "{} vector(s) passed, failed: {}",
                r.passed,
                if r.failed.is_empty() {
                    "none ran".to_owned()
                } else {
                    r.failed.join(", ")
                }
            ),
            "reinstall the bridge's modules from this release (Hmac, Sha256, Hex)",
        ),
    }
}

/// The numeral after `"name":` in a JSON text, as written.
fn literal_of<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("\"{name}\""))? + name.len() + 2;
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Reads the script's document over Open Cloud, then makes the deliberate conflict.
async fn read_back(client: &OpenCloud, path: &EntryPath, written: Option<&str>) -> Vec<Check> {
    let entry = match client.get_entry(path).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return vec![
                Check::problem(
                    NUMBERS,
                    format!("{CANARY_KEY} written in the server is not visible over Open Cloud"),
                    "check the place belongs to ROBLOX_UNIVERSE_ID",
                ),
                Check::skipped(CONFLICT, "nothing to conflict with"),
            ];
        }
        Err(e) => {
            return vec![
                Check::problem(
                    NUMBERS,
                    format!("reading {CANARY_KEY} over Open Cloud failed: {e}"),
                    "see the Open Cloud data store read line",
                ),
                Check::skipped(CONFLICT, "nothing to conflict with"),
            ];
        }
    };
    let forms = format!(
        "balance stored as {}, watermark as {}",
        literal_of(&entry.value, "balance").unwrap_or("?"),
        literal_of(&entry.value, "watermark").unwrap_or("?")
    );
    let read = entry
        .json()
        .ok()
        .and_then(|v| shared::Wallet::from_stored(&v).ok());
    let numbers = match read {
        Some(w) if w.balance == BALANCE && w.watermark == WATERMARK => {
            Check::ok(NUMBERS, format!("read back exactly ({forms})"))
        }
        Some(w) => Check::problem(
            NUMBERS,
            format!(
                "read back {} / {} instead of {BALANCE} / {WATERMARK} ({forms})",
                w.balance, w.watermark
            ),
            "report this: the bot would misread wallets at these sizes; keep MAX_AMOUNT and BALANCE_CAP well below",
        ),
        None => Check::problem(
            NUMBERS,
            format!("the bot's wallet reader refused the document ({forms})"),
            "report this: the bot would refuse wallets at these sizes; keep BALANCE_CAP well below",
        ),
    };
    let same = written.is_none_or(|w| w == entry.version);
    let mut checks = vec![numbers];
    checks.push(conflict(client, path, &entry, same).await);
    checks
}

async fn conflict(
    client: &OpenCloud,
    path: &EntryPath,
    entry: &opencloud::client::DataStoreEntry,
    same_version: bool,
) -> Check {
    let value =
        serde_json::json!({"v": 1, "balance": 0, "writtenBy": "economy-bot doctor"}).to_string();
    let stale = SetOptions::replacing(entry);
    let newer = match client.set_entry(path, &value, &stale).await {
        Ok(v) => v.version,
        Err(e) => {
            return Check::problem(
                CONFLICT,
                format!("the update with matchVersion failed: {e}"),
                "see the Open Cloud data store write line",
            );
        }
    };
    // The same precondition again: its version is now stale.
    match client.set_entry(path, &value, &stale).await {
        Err(Error::PreconditionFailed { current: Some(c) }) if c.version == newer => Check::ok(
            CONFLICT,
            format!(
                "412 with the current entry (version {newer}){}",
                if same_version {
                    ""
                } else {
                    "; someone else also wrote the key"
                }
            ),
        ),
        Err(Error::PreconditionFailed { current: Some(c) }) => Check::ok(
            CONFLICT,
            format!(
                "412 with an entry at version {} (another writer)",
                c.version
            ),
        ),
        Err(Error::PreconditionFailed { current: None }) => Check::ok(
            CONFLICT,
            "412 without the current entry: the bot reads the entry again (one call) before deciding",
        ),
        Ok(_) => Check::problem(
            CONFLICT,
            "a write with a stale matchVersion was accepted",
            "do not run the bot against this endpoint: its compare-and-swap protects nothing here",
        ),
        Err(e) => Check::problem(
            CONFLICT,
            format!("the deliberate conflict answered {e} instead of 412"),
            "check ROBLOX_OPEN_CLOUD_BASE_URL points at Open Cloud",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_carries_its_input_and_nothing_can_close_its_string() {
        let s = script("EconomyWallet").unwrap();
        assert!(!s.contains(INPUT_MARKER));
        assert!(s.contains("RFC 4231 test case 7"));
        assert!(s.contains(CANARY_KEY));
        assert!(script("bad]==]name").is_err());
    }

    #[test]
    fn literals_are_read_as_written() {
        let text = r#"{"v":1,"balance": 9.007199254740991e+15,"watermark":1000000000000000}"#;
        assert_eq!(literal_of(text, "balance"), Some("9.007199254740991e+15"));
        assert_eq!(literal_of(text, "watermark"), Some("1000000000000000"));
        assert_eq!(literal_of(text, "ring"), None);
    }
}
