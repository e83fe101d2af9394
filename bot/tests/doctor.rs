//! `economy-bot doctor` end to end: the real binary over real HTTP against the Open Cloud
//! emulator and the audit API (`api::spawn_for_test`), correctly configured (every line ok,
//! nothing but the doctor's own key written) and misconfigured (a key without write or publish
//! scope, a wrong audit key, the audit API down: named problem lines, non-zero exit); and the
//! doctor in-process with this machine's clock ten minutes off.

mod support;

use bot::config::Config;
use bot::doctor::{self, DiscordInput, Inputs, audit, open_cloud};
use opencloud::emulator::auth::scopes;
use opencloud::emulator::{ApiKey, Emulator, EmulatorConfig, EntryKey, SystemClock};
use shared::clock::{Clock, ManualClock};
use std::process::Command;
use std::sync::Arc;
use support::{AuditApi, COMMAND_KEYS, TOPIC, UNIVERSE};

const OC_KEY: &str = "oc-doctor-test-secret";

struct Env {
    vars: Vec<(String, String)>,
    emulator: Arc<Emulator>,
    _running: opencloud::emulator::RunningEmulator,
    api: AuditApi,
    _dir: tempfile::TempDir,
}

async fn env(oc_scopes: &[&str]) -> Env {
    let emulator = Emulator::new(
        Arc::new(SystemClock),
        EmulatorConfig {
            api_keys: vec![ApiKey::new(
                "bot",
                OC_KEY,
                oc_scopes.iter().copied(),
                Some(vec![UNIVERSE]),
            )],
            ..EmulatorConfig::default()
        },
    );
    let running = emulator
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = AuditApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("ROBLOX_UNIVERSE_ID", UNIVERSE.to_string()),
        ("ROBLOX_OPEN_CLOUD_API_KEY", OC_KEY.into()),
        ("ROBLOX_OPEN_CLOUD_BASE_URL", running.base_url()),
        ("COMMAND_KEYS", COMMAND_KEYS.into()),
        ("COMMAND_TOPIC", TOPIC.into()),
        ("AUDIT_API_URL", api.base.clone()),
        ("AUDIT_API_KEY", api.bot_key_spec()),
        ("STAFF_ROLES", "900:1000000".into()),
        (
            "BOT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bot.db").display()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Env {
        vars,
        emulator,
        _running: running,
        api,
        _dir: dir,
    }
}

impl Env {
    fn set(&mut self, name: &str, value: String) {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value));
    }

    /// Runs `economy-bot doctor` (off the runtime: the servers live on it).
    async fn doctor(&self) -> (bool, String) {
        let vars = self.vars.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_economy-bot"))
                .arg("doctor")
                .env_clear()
                .envs(vars)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // No secret reaches the output, whatever happened.
        let audit_hex = self.api.bot_key_spec();
        let audit_secret = audit_hex.rsplit(':').next().unwrap();
        for secret in [
            OC_KEY,
            audit_secret,
            COMMAND_KEYS.rsplit(':').next().unwrap(),
        ] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "a secret was printed:\n{stdout}\n{stderr}"
            );
        }
        (out.status.success(), stdout)
    }
}

/// The line of check `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.get(9..)
                .is_some_and(|rest| rest.starts_with(&format!("{name}:")))
        })
        .unwrap_or_else(|| panic!("no line for {name}:\n{out}"))
}

fn status(out: &str, name: &str) -> &'static str {
    let l = line(out, name);
    if l.starts_with("ok ") {
        "ok"
    } else if l.starts_with("problem ") {
        "problem"
    } else {
        "skipped"
    }
}

fn probe_key() -> EntryKey {
    EntryKey::new(UNIVERSE, "EconomyWallet", open_cloud::PROBE_KEY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_deployment_passes_every_check_and_writes_only_the_doctors_key() {
    let env = env(&["*"]).await;
    let (_sub, mut topic) = env.emulator.bus.subscribe_channel(UNIVERSE, TOPIC);
    let (ok, out) = env.doctor().await;
    assert!(ok, "{out}");
    for name in [
        audit::REACHABLE,
        audit::CLOCK,
        audit::READ,
        audit::WRITE,
        open_cloud::DS_READ,
        open_cloud::DS_WRITE,
        open_cloud::PUBLISH,
        open_cloud::USERS,
    ] {
        assert_eq!(status(&out, name), "ok", "{out}");
    }
    assert!(
        line(&out, open_cloud::DS_WRITE).contains("created with exclusiveCreate"),
        "{out}"
    );
    assert!(
        line(&out, "Discord").contains("DISCORD_TOKEN is not set"),
        "{out}"
    );
    assert_eq!(status(&out, doctor::canary::TASK), "skipped", "{out}");
    // The one message published is not a command; the one key written is the doctor's own.
    let message = topic.try_recv().unwrap();
    assert_eq!(message.data, open_cloud::PROBE_MESSAGE);
    assert!(
        shared::decode_command_message(
            &message.data,
            &shared::KeyRing::parse(COMMAND_KEYS).unwrap()
        )
        .is_err()
    );
    let keys = env
        .emulator
        .store
        .list_keys(UNIVERSE, "EconomyWallet", None, "", 100, None)
        .unwrap()
        .keys;
    assert_eq!(
        keys,
        vec![("global".to_owned(), open_cloud::PROBE_KEY.to_owned())]
    );
    // Nothing was stored in the audit log (the write check posts an empty batch).
    assert!(env.api.api.rows().await.unwrap().is_empty());

    // A second run updates the same key with matchVersion.
    let (ok, out) = env.doctor().await;
    assert!(ok, "{out}");
    assert!(
        line(&out, open_cloud::DS_WRITE).contains("updated with matchVersion"),
        "{out}"
    );
    assert!(env.emulator.store.get(&probe_key()).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_write_and_publish_scopes_is_named_and_nothing_is_written() {
    let env = env(&[scopes::OBJECTS_READ]).await;
    let (ok, out) = env.doctor().await;
    assert!(!ok, "{out}");
    assert_eq!(status(&out, open_cloud::DS_READ), "ok", "{out}");
    let write = line(&out, open_cloud::DS_WRITE);
    assert!(
        write.starts_with("problem") && write.contains("403") && write.contains("Create Entry"),
        "{out}"
    );
    let publish = line(&out, open_cloud::PUBLISH);
    assert!(
        publish.starts_with("problem") && publish.contains("Messaging Service Publish"),
        "{out}"
    );
    assert_eq!(status(&out, audit::WRITE), "ok", "{out}");
    assert!(env.emulator.store.get(&probe_key()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_audit_key_and_a_wrong_open_cloud_key_are_named() {
    let mut env = env(&["*"]).await;
    env.set(
        "AUDIT_API_KEY",
        format!("bot:read+write:{}", "cd".repeat(32)),
    );
    env.set("ROBLOX_OPEN_CLOUD_API_KEY", "not-the-key".into());
    let (ok, out) = env.doctor().await;
    assert!(!ok, "{out}");
    assert_eq!(status(&out, audit::REACHABLE), "ok", "{out}");
    for name in [audit::READ, audit::WRITE] {
        let l = line(&out, name);
        assert!(
            l.starts_with("problem") && l.contains("401") && l.contains("API_KEYS"),
            "{out}"
        );
    }
    let read = line(&out, open_cloud::DS_READ);
    assert!(read.starts_with("problem") && read.contains("401"), "{out}");
    assert_eq!(status(&out, open_cloud::PUBLISH), "skipped", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_api_that_is_down_is_named_and_its_other_checks_skipped() {
    let mut env = env(&["*"]).await;
    let dead = support::dead_api();
    env.set("AUDIT_API_URL", dead.url());
    let (ok, out) = env.doctor().await;
    assert!(!ok, "{out}");
    let reachable = line(&out, audit::REACHABLE);
    assert!(
        reachable.starts_with("problem") && reachable.contains("AUDIT_API_URL"),
        "{out}"
    );
    for name in [audit::CLOCK, audit::READ, audit::WRITE] {
        assert_eq!(status(&out, name), "skipped", "{out}");
    }
    assert_eq!(status(&out, open_cloud::DS_READ), "ok", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_ten_minutes_off_is_named_as_the_cause_of_refused_signatures() {
    let env = env(&["*"]).await;
    let lookup: std::collections::HashMap<String, String> = env.vars.iter().cloned().collect();
    let config = Config::from_lookup(|k| lookup.get(k).cloned()).unwrap();
    let ahead = ManualClock::shared(SystemClock.now_ms() + 600_000);
    let report = doctor::run(Inputs {
        config: &config,
        discord: &DiscordInput::NotConfigured,
        discord_api: doctor::discord::DISCORD_API,
        canary: None,
        clock: ahead,
    })
    .await;
    assert!(report.has_problems(), "{report}");
    let clock = report.get(audit::CLOCK).unwrap().to_string();
    assert!(
        clock.starts_with("problem")
            && clock.contains("behind this machine")
            && clock.contains("NTP"),
        "{report}"
    );
    let read = report.get(audit::READ).unwrap().to_string();
    assert!(
        read.contains("401") && read.contains("fix the clock first"),
        "{report}"
    );
    // With the clock right, the same deployment passes.
    let report = doctor::run(Inputs {
        config: &config,
        discord: &DiscordInput::NotConfigured,
        discord_api: doctor::discord::DISCORD_API,
        canary: None,
        clock: Arc::new(SystemClock),
    })
    .await;
    assert!(!report.has_problems(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_settings_are_problem_lines_and_nothing_is_called() {
    let mut env = env(&["*"]).await;
    env.vars.retain(|(k, _)| k != "AUDIT_API_URL");
    env.set("ROBLOX_UNIVERSE_ID", "not-a-number".into());
    let (ok, out) = env.doctor().await;
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("problem  configuration: AUDIT_API_URL is missing")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("problem  configuration: ROBLOX_UNIVERSE_ID")),
        "{out}"
    );
    assert_eq!(
        env.emulator
            .requests(opencloud::emulator::Operation::GetEntry),
        0
    );
}
