//! `economy-bot doctor` against the sandbox's emulated universe and audit API: with the
//! sandbox's own settings every check passes, the live canary included (Luau Execution runs the
//! bridge's self-test on a fresh server of the place: HMAC over the shared vectors through
//! EncodingService, a wallet-shaped document written by SetAsync and read back exactly over
//! Open Cloud, the 412 of a deliberate conflict); then misconfigured: a key without Luau
//! Execution and write scopes, a wrong audit key, this machine's clock ten minutes ahead, and the
//! audit API down, each named by its line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bot::config::Config;
use bot::doctor::canary::{self, CanaryOptions};
use bot::doctor::{self, DiscordInput, Inputs, Report, audit, open_cloud};
use opencloud::emulator::auth::scopes;
use opencloud::emulator::{
    ApiKey, Clock, Emulator, EmulatorConfig, ExperienceLimits, ManualClock, SystemClock,
};
use sandbox::world::Pace;
use sandbox::{Options, Sandbox};

const SCOPED_KEY: &str = "doctor-read-only-key";

fn config(settings: &[(String, String)]) -> Config {
    let map: HashMap<String, String> = settings.iter().cloned().collect();
    Config::from_lookup(|k| map.get(k).cloned()).expect("the sandbox's settings are valid")
}

fn set(settings: &mut Vec<(String, String)>, name: &str, value: String) {
    settings.retain(|(k, _)| k != name);
    settings.push((name.to_owned(), value));
}

async fn run(config: &Config, canary: bool, clock: Arc<dyn Clock>) -> Report {
    let place = roblox_emu::UniverseConfig::default().place_id;
    doctor::run(Inputs {
        config,
        discord: &DiscordInput::NotConfigured,
        discord_api: doctor::discord::DISCORD_API,
        canary: canary.then(|| CanaryOptions {
            poll_every: Duration::from_millis(50),
            deadline: Duration::from_secs(120),
            ..CanaryOptions::new(place, None, None)
        }),
        clock,
    })
    .await
}

fn line(report: &Report, name: &str) -> String {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no {name} line in:\n{report}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_the_sandbox_and_names_each_misconfiguration() {
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| println!("▸ {l}"));
    let mut sb = Sandbox::start(
        Options {
            servers: 1,
            players: 0,
            online: 0,
            pace: Pace::RealTime,
            ..Options::default()
        },
        status,
    )
    .await
    .expect("sandbox starts");
    let settings = sb.stack.bot_settings();
    let good = config(&settings);

    // Correct settings: every line ok (Discord and nothing else skipped).
    let report = run(&good, true, Arc::new(SystemClock)).await;
    println!("{report}");
    assert!(!report.has_problems(), "{report}");
    for name in [
        audit::REACHABLE,
        audit::CLOCK,
        audit::READ,
        audit::WRITE,
        open_cloud::DS_READ,
        open_cloud::DS_WRITE,
        open_cloud::PUBLISH,
        open_cloud::USERS,
        canary::TASK,
        canary::HMAC,
        canary::NUMBERS,
        canary::CONFLICT,
    ] {
        assert!(line(&report, name).starts_with("ok "), "{report}");
    }
    assert!(
        line(&report, canary::HMAC).contains("7 vector(s) match, hashed by EncodingService"),
        "{report}"
    );
    assert!(
        line(&report, canary::NUMBERS).contains("read back exactly"),
        "{report}"
    );
    assert!(
        line(&report, canary::CONFLICT).contains("412 with the current entry"),
        "{report}"
    );
    // The canary's document is where the task wrote it, and no wallet was written.
    let canary_doc = sb
        .stack
        .emulator
        .store
        .get(&opencloud::emulator::EntryKey::new(
            sb.stack.universe_id,
            sandbox::stack::DATASTORE,
            canary::CANARY_KEY,
        ))
        .expect("the canary's key exists");
    assert!(canary_doc.value.contains("economy-bot doctor"));
    let keys = sb
        .stack
        .emulator
        .store
        .list_keys(
            sb.stack.universe_id,
            sandbox::stack::DATASTORE,
            None,
            "",
            100,
            None,
        )
        .unwrap()
        .keys;
    assert!(
        keys.iter()
            .all(|(_, k)| !k.starts_with(sandbox::stack::KEY_PREFIX)),
        "{keys:?}"
    );
    // The game server refused the doctor's message as a non-command and nothing else happened.
    let mut refused = false;
    for _ in 0..200 {
        refused = sb
            .world
            .log_since(0)
            .iter()
            .any(|l| l.text.contains("command refused (framing)"));
        if refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "{:?}", sb.world.log_since(0));
    let snap = sb.world.snapshot().await.unwrap();
    assert_eq!(snap.servers[0].script_errors, 0);
    assert!(snap.violations.is_empty(), "{:?}", snap.violations);

    // An Open Cloud key without Luau Execution or write scopes, on the same universe.
    let universe_clock: Arc<dyn Clock> = sb.stack.backend.clock.clone();
    let scoped = Emulator::with_parts(
        universe_clock,
        sb.stack.backend.store.clone(),
        sb.stack.backend.bus.clone(),
        sb.stack.backend.experience.clone(),
        EmulatorConfig {
            // The same experience as the sandbox's, so the same (Roblox) limits.
            experience: ExperienceLimits::roblox(),
            api_keys: vec![ApiKey::new(
                "read-only",
                SCOPED_KEY,
                [scopes::OBJECTS_READ, scopes::PUBLISH],
                Some(vec![sb.stack.universe_id]),
            )],
            ..EmulatorConfig::default()
        },
    );
    let scoped_server = scoped
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut misconfigured = settings.clone();
    set(
        &mut misconfigured,
        "ROBLOX_OPEN_CLOUD_API_KEY",
        SCOPED_KEY.into(),
    );
    set(
        &mut misconfigured,
        "ROBLOX_OPEN_CLOUD_BASE_URL",
        scoped_server.base_url(),
    );
    let report = run(&config(&misconfigured), true, Arc::new(SystemClock)).await;
    assert!(report.has_problems());
    assert!(
        line(&report, open_cloud::DS_WRITE).starts_with("problem"),
        "{report}"
    );
    let task = line(&report, canary::TASK);
    assert!(
        task.starts_with("problem")
            && task.contains("403")
            && task.contains("luau-execution-session:write"),
        "{report}"
    );
    assert!(
        line(&report, canary::HMAC).starts_with("skipped"),
        "{report}"
    );
    assert!(
        line(&report, open_cloud::PUBLISH).starts_with("ok "),
        "{report}"
    );

    // A wrong audit key.
    let mut wrong_key = settings.clone();
    set(
        &mut wrong_key,
        "AUDIT_API_KEY",
        format!("sandbox-bot:read+write:{}", "ef".repeat(32)),
    );
    let report = run(&config(&wrong_key), false, Arc::new(SystemClock)).await;
    for name in [audit::READ, audit::WRITE] {
        let l = line(&report, name);
        assert!(l.starts_with("problem") && l.contains("401"), "{report}");
    }
    assert!(
        line(&report, audit::REACHABLE).starts_with("ok "),
        "{report}"
    );

    // This machine's clock ten minutes ahead.
    let ahead: Arc<dyn Clock> = ManualClock::shared(SystemClock.now_ms() + 600_000);
    let report = run(&good, false, ahead).await;
    let clock = line(&report, audit::CLOCK);
    assert!(
        clock.starts_with("problem") && clock.contains("behind this machine"),
        "{report}"
    );
    assert!(
        line(&report, audit::READ).contains("fix the clock first"),
        "{report}"
    );

    // The audit API down.
    sb.stack.api.stop().await.unwrap();
    let report = run(&good, false, Arc::new(SystemClock)).await;
    let reachable = line(&report, audit::REACHABLE);
    assert!(
        reachable.starts_with("problem") && reachable.contains("start the audit API"),
        "{report}"
    );
    assert!(
        line(&report, audit::READ).starts_with("skipped"),
        "{report}"
    );
    assert!(
        line(&report, open_cloud::DS_READ).starts_with("ok "),
        "{report}"
    );

    sb.shutdown().await.unwrap();
}
