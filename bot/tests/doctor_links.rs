//! `doctor`'s account-link lines against the Bloxlink and RoVer fakes over real HTTP: working
//! keys pass with one harmless look-up each (of the server's own id, which no member has), a
//! wrong key, a key for another server, a provider that is down or rate-limiting, and a missing
//! `DISCORD_GUILD_ID` are each named with a fix; no key is ever printed.

mod support;

use bot::doctor::links;
use bot::doctor::{Check, Status};
use bot::links::LinkSettings;
use link_fakes::{FakeBloxlink, FakeRover, RateLimit};
use shared::clock::ManualClock;
use std::collections::HashMap;

const GUILD: u64 = 900_000_000_000_000_021;
const OTHER_GUILD: u64 = 900_000_000_000_000_022;
const BLOX_KEY: &str = "blox-key-doctor-links-test";
const ROVER_KEY: &str = "rover-key-doctor-links-test";
const OAUTH_SECRET: &str = "oauth-secret-doctor-links-test";

struct Providers {
    bloxlink: FakeBloxlink,
    rover: FakeRover,
}

async fn providers(limit: RateLimit) -> Providers {
    let clock = ManualClock::shared(1_800_000_000_000);
    let (bloxlink, rover) =
        support::link_fakes::start(GUILD, BLOX_KEY, ROVER_KEY, limit, clock).await;
    Providers { bloxlink, rover }
}

impl Providers {
    /// The link settings as the bot reads them, every source listed, with these keys.
    fn settings(&self, blox_key: &str, rover_key: &str) -> LinkSettings {
        let env: HashMap<&str, String> = [
            ("LINK_SOURCES", "bloxlink,rover,oauth,staff".to_owned()),
            ("BLOXLINK_API_KEY", blox_key.to_owned()),
            ("BLOXLINK_BASE_URL", self.bloxlink.base_url()),
            ("ROVER_API_KEY", rover_key.to_owned()),
            ("ROVER_BASE_URL", self.rover.base_url()),
            ("ROBLOX_OAUTH_CLIENT_ID", "4242".to_owned()),
            ("ROBLOX_OAUTH_CLIENT_SECRET", OAUTH_SECRET.to_owned()),
            (
                "ROBLOX_OAUTH_REDIRECT_URI",
                "http://127.0.0.1:9464/oauth/roblox/callback".to_owned(),
            ),
        ]
        .into_iter()
        .collect();
        let get = move |k: &str| env.get(k).cloned();
        let mut errors = Vec::new();
        let settings = LinkSettings::read(&get, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        settings
    }
}

async fn run(settings: &LinkSettings, guild: Option<u64>) -> Vec<Check> {
    let http = reqwest::Client::new();
    let checks = links::check(settings, guild, &http).await;
    let printed: String = checks.iter().map(|c| format!("{c}\n")).collect();
    for secret in [BLOX_KEY, ROVER_KEY, OAUTH_SECRET, "wrong-key-xyz"] {
        assert!(
            !printed.contains(secret),
            "a secret was printed:\n{printed}"
        );
    }
    checks
}

fn status_of<'a>(checks: &'a [Check], name: &str) -> &'a Status {
    &checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no line {name}: {checks:#?}"))
        .status
}

fn problem_text(checks: &[Check], name: &str) -> String {
    match status_of(checks, name) {
        Status::Problem { what, fix } => format!("{what} / {fix}"),
        other => panic!("{name} is not a problem: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_keys_pass_with_one_harmless_look_up_each() {
    let p = providers(RateLimit::GENEROUS).await;
    let checks = run(&p.settings(BLOX_KEY, ROVER_KEY), Some(GUILD)).await;
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "account links: Bloxlink",
            "account links: RoVer",
            "account links: Roblox OAuth",
            "account links: set by staff"
        ],
        "one line per source, in LINK_SOURCES order"
    );
    for c in &checks {
        assert!(matches!(c.status, Status::Ok(_)), "{c}");
    }
    assert!(
        matches!(status_of(&checks, "account links: Bloxlink"), Status::Ok(d) if d.contains(&GUILD.to_string()))
    );
    assert!(
        matches!(status_of(&checks, "account links: Roblox OAuth"), Status::Ok(d) if d.contains("4242"))
    );
    assert_eq!(p.bloxlink.requests(), 1);
    assert_eq!(p.rover.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_another_servers_key_is_named_with_its_setting() {
    let p = providers(RateLimit::GENEROUS).await;
    let checks = run(&p.settings("wrong-key-xyz", ROVER_KEY), Some(GUILD)).await;
    let blox = problem_text(&checks, "account links: Bloxlink");
    assert!(
        blox.contains("refused the bot's API key") && blox.contains("BLOXLINK_API_KEY"),
        "{blox}"
    );
    assert!(matches!(
        status_of(&checks, "account links: RoVer"),
        Status::Ok(_)
    ));
    // The right keys, asked about another Discord server: both providers refuse them.
    let checks = run(&p.settings(BLOX_KEY, ROVER_KEY), Some(OTHER_GUILD)).await;
    for (name, setting) in [
        ("account links: Bloxlink", "BLOXLINK_API_KEY"),
        ("account links: RoVer", "ROVER_API_KEY"),
    ] {
        let text = problem_text(&checks, name);
        assert!(text.contains(setting), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_or_rate_limiting_is_a_problem_and_no_guild_is_skipped() {
    let p = providers(RateLimit {
        max: 1,
        window_ms: 60_000,
    })
    .await;
    p.bloxlink.set_down(true);
    let settings = p.settings(BLOX_KEY, ROVER_KEY);
    let checks = run(&settings, Some(GUILD)).await;
    assert!(
        problem_text(&checks, "account links: Bloxlink").contains("unavailable"),
        "{checks:#?}"
    );
    assert!(matches!(
        status_of(&checks, "account links: RoVer"),
        Status::Ok(_)
    ));
    // RoVer's one request of the window is spent: the next run is rate-limited.
    let checks = run(&settings, Some(GUILD)).await;
    assert!(
        problem_text(&checks, "account links: RoVer").contains("rate-limiting"),
        "{checks:#?}"
    );
    // Without DISCORD_GUILD_ID nothing is asked.
    let asked = p.rover.requests();
    let checks = run(&settings, None).await;
    assert!(
        matches!(status_of(&checks, "account links: RoVer"), Status::Skipped(w) if w.contains("DISCORD_GUILD_ID"))
    );
    assert_eq!(p.rover.requests(), asked);
}
