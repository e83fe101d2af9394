//! Startup of the Rojo project (`bridge/default.project.json`) on the emulator: the boot Script,
//! the settings checks with their warnings (never a secret's value), a missing settings module and
//! a missing library.

use crate::support::*;
use roblox_emu::{Library, Place, Universe, UniverseConfig};

fn run(place: Place) -> Universe {
    let cfg = UniverseConfig {
        http_enabled: true,
        ..UniverseConfig::default()
    };
    let mut u = Universe::new(cfg, place);
    u.start_server().unwrap();
    u.run_for(3.0).unwrap();
    u
}

fn output(u: &Universe) -> Vec<(String, String)> {
    u.server(0)
        .unwrap()
        .output()
        .into_iter()
        .map(|l| (l.level, l.text))
        .collect()
}

fn project() -> Place {
    bridge_harness::project().unwrap()
}

#[test]
fn the_project_loads_with_the_contracted_layout() {
    let place = project();
    let paths: Vec<String> = place.items.iter().map(|i| i.path.join(".")).collect();
    for want in [
        "ServerStorage.EconomyBridge.Bridge",
        "ServerStorage.EconomyBridge.CommandHandler",
        "ServerStorage.EconomyBridge.ProfileStoreSessions",
        "ServerStorage.EconomyBridge.ProfileServiceSessions",
        "ServerScriptService.EconomyBridgeBoot",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} missing: {paths:?}");
    }
    let boot = place
        .items
        .iter()
        .find(|i| i.path.join(".") == "ServerScriptService.EconomyBridgeBoot")
        .unwrap();
    assert_eq!(boot.class, "Script");
}

#[test]
fn without_the_settings_module_the_boot_warns_and_stops() {
    let mut place = project();
    place.library(Library::ProfileStore, None).unwrap();
    let u = run(place);
    let out = output(&u);
    assert!(
        out.iter().any(|(lvl, t)| lvl == "warn"
            && t.contains("not started: ServerStorage.EconomyBridgeSecrets is missing")),
        "{out:?}"
    );
    assert_eq!(u.script_errors(), 0);
}

#[test]
fn bad_settings_name_each_field_and_never_a_secret() {
    let mut place = project();
    place.library(Library::ProfileStore, None).unwrap();
    place.module(
        "ServerStorage.EconomyBridgeSecrets",
        r#"return {
	apiUrl = "http://127.0.0.1:9/",
	auditKeyId = "game",
	auditSecret = "abcdef0123",
	commandKeys = { k1 = "zz-not-hex-SECRETVALUE" },
	logLevel = "loud",
	colour = "blue",
}"#,
    );
    let u = run(place);
    let out = output(&u);
    let warns: Vec<&String> = out
        .iter()
        .filter(|(l, _)| l == "warn")
        .map(|(_, t)| t)
        .collect();
    for needle in [
        "config: apiUrl: must be http:// or https:// followed by a host, without a trailing slash",
        "config: auditSecret: must be hex of at least 32 bytes",
        "config: commandKeys.k1: must be hex of at least 32 bytes",
        "config: logLevel: must be",
        "config: settings: unknown field colour is ignored",
    ] {
        assert!(
            warns.iter().any(|w| w.contains(needle)),
            "{needle}: {warns:?}"
        );
    }
    let all = format!("{out:?}");
    assert!(
        !all.contains("abcdef0123") && !all.contains("SECRETVALUE"),
        "a secret leaked: {all}"
    );
    // The boot Script stops with an error naming the count.
    assert_eq!(u.script_errors(), 1);
    assert!(all.contains("not started: 3 settings problem(s)"), "{all}");
}

#[test]
fn a_missing_library_is_reported() {
    let mut place = project();
    place.module(
        "ServerStorage.EconomyBridgeSecrets",
        secrets_source(Library::ProfileService, &ApiAccess::nowhere()),
    );
    let u = run(place);
    let all = format!("{:?}", output(&u));
    assert!(
        all.contains("not started: library ProfileService missing; expected ServerStorage.Packages.ProfileService"),
        "{all}"
    );
}

#[test]
fn good_settings_start_with_warnings_for_plain_http() {
    let mut place = project();
    place.library(Library::ProfileStore, None).unwrap();
    place.module(
        "ServerStorage.EconomyBridgeSecrets",
        secrets_source(Library::ProfileStore, &ApiAccess::nowhere()),
    );
    let u = run(place);
    let out = output(&u);
    let all = format!("{out:?}");
    assert!(
        all.contains("[EconomyBridge] started: library ProfileStore, store EconomyWallet"),
        "{all}"
    );
    assert!(
        all.contains("listening for commands on topic discord-commands"),
        "{all}"
    );
    assert!(all.contains("config: apiUrl: plain http://"), "{all}");
    // Port 9: below 1024 and not 80/443, blocked for live game servers.
    assert!(
        all.contains("config: apiUrl: port 9 is blocked for game servers"),
        "{all}"
    );
    assert_eq!(u.script_errors(), 0, "{all}");
}

#[test]
fn allowed_ports_get_no_port_warning() {
    for (port, blocked) in [(443, false), (8080, false), (1194, true), (22, true)] {
        let mut place = project();
        place.library(Library::ProfileStore, None).unwrap();
        let access = ApiAccess {
            url: format!("https://127.0.0.1:{port}"),
            ..ApiAccess::nowhere()
        };
        place.module(
            "ServerStorage.EconomyBridgeSecrets",
            secrets_source(Library::ProfileStore, &access),
        );
        let u = run(place);
        let all = format!("{:?}", output(&u));
        assert_eq!(
            all.contains(&format!("apiUrl: port {port} is blocked")),
            blocked,
            "{port}: {all}"
        );
    }
}
