//! The account-link layer against the Bloxlink and RoVer fakes over real HTTP, with the bot's
//! real database (SQLite; the cache scenario also on PostgreSQL): every source, the ordered
//! fallback, the cache and its refresh, conflicting answers refused, provider down and
//! rate-limited, a refused key, unknown members and members without a link.

mod support;

use bot::links::{LinkError, LinkSettings, Links, ProviderError, SourceKind};
use bot::service::Db;
use link_fakes::{
    BloxlinkConfig, BloxlinkIdField, FakeBloxlink, FakeRover, RateLimit, RoverConfig, RoverShape,
};
use shared::clock::ManualClock;
use std::collections::HashMap;
use std::sync::Arc;
use support::pg;

const GUILD: u64 = 900_000_000_000_000_001;
const AMY: u64 = 300_000_000_000_000_011;
const BEN: u64 = 300_000_000_000_000_012;
const CAL: u64 = 300_000_000_000_000_013;
const STRANGER: u64 = 300_000_000_000_000_099;
const BLOX_KEY: &str = "blox-key-links-test";
const ROVER_KEY: &str = "rover-key-links-test";
const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

struct World {
    db: Db,
    clock: Arc<ManualClock>,
    bloxlink: FakeBloxlink,
    rover: FakeRover,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    (Db::open(&url).await.unwrap(), dir)
}

async fn world_on(db: Db, dir: Option<tempfile::TempDir>, limit: RateLimit) -> World {
    let clock = ManualClock::shared(T0);
    let (bloxlink, rover) =
        support::link_fakes::start(GUILD, BLOX_KEY, ROVER_KEY, limit, clock.clone()).await;
    World {
        db,
        clock,
        bloxlink,
        rover,
        _dir: dir,
    }
}

async fn world() -> World {
    let (db, dir) = sqlite().await;
    world_on(db, Some(dir), RateLimit::GENEROUS).await
}

impl World {
    /// The resolver as the bot builds it from its settings, over `sources`.
    fn links(&self, sources: &str) -> Links {
        self.links_with(sources, &[])
    }

    fn links_with(&self, sources: &str, extra: &[(&str, &str)]) -> Links {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert("LINK_SOURCES".into(), sources.into());
        env.insert("LINK_MAX_AGE_SECONDS".into(), "3600".into());
        env.insert("LINK_NOT_FOUND_MAX_AGE_SECONDS".into(), "60".into());
        if sources.contains("bloxlink") {
            env.insert("BLOXLINK_API_KEY".into(), BLOX_KEY.into());
            env.insert("BLOXLINK_BASE_URL".into(), self.bloxlink.base_url());
        }
        if sources.contains("rover") {
            env.insert("ROVER_API_KEY".into(), ROVER_KEY.into());
            env.insert("ROVER_BASE_URL".into(), self.rover.base_url());
        }
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let get = move |k: &str| env.get(k).cloned();
        let mut errors = Vec::new();
        let settings = LinkSettings::read(&get, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        settings.build(self.db.clone(), self.clock.clone()).unwrap()
    }
}

#[tokio::test]
async fn bloxlink_links_a_member_and_names_itself() {
    let w = world().await;
    w.bloxlink.link(AMY, 156);
    let link = w.links("bloxlink").resolve(GUILD, AMY).await.unwrap();
    assert_eq!((link.roblox_id, link.source), (156, SourceKind::Bloxlink));
    assert_eq!(link.source.receipt_phrase(), "linked via Bloxlink");
    assert_eq!(link.checked_at_ms, T0);
    assert!(link.confirmed_by.is_empty());
}

#[tokio::test]
async fn rover_links_a_member_in_either_answer_shape() {
    let w = world().await;
    w.rover.link(AMY, 261);
    let link = w.links("rover").resolve(GUILD, AMY).await.unwrap();
    assert_eq!((link.roblox_id, link.source), (261, SourceKind::Rover));
    assert_eq!(link.source.receipt_phrase(), "linked via RoVer");

    // The nested shape a published client types, and Bloxlink's SDK spelling, read the same.
    let clock = ManualClock::shared(T0);
    let nested = FakeRover::start(
        RoverConfig {
            api_key: ROVER_KEY.into(),
            guild_id: GUILD,
            limit: RateLimit::GENEROUS,
            rate_limit_headers: false,
            shape: RoverShape::Nested,
        },
        clock.clone(),
    )
    .await
    .unwrap();
    nested.link(BEN, 262);
    let sdk = FakeBloxlink::start(
        BloxlinkConfig {
            api_key: BLOX_KEY.into(),
            guild_id: GUILD,
            limit: RateLimit::GENEROUS,
            retry_after_header: false,
            id_field: BloxlinkIdField::RobloxId,
        },
        clock,
    )
    .await
    .unwrap();
    sdk.link(BEN, 262);
    let links = w.links_with(
        "rover,bloxlink",
        &[
            ("ROVER_BASE_URL", &nested.base_url()),
            ("BLOXLINK_BASE_URL", &sdk.base_url()),
        ],
    );
    let link = links.resolve(GUILD, BEN).await.unwrap();
    assert_eq!((link.roblox_id, link.source), (262, SourceKind::Rover));
    assert_eq!(link.confirmed_by, vec![SourceKind::Bloxlink]);
}

#[tokio::test]
async fn staff_and_oauth_links_are_the_bots_own() {
    let w = world().await;
    let links = w.links("oauth,staff");
    assert_eq!(
        links.set_staff_link(GUILD, AMY, 500, "42").await.unwrap(),
        None
    );
    let link = links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!((link.roblox_id, link.source), (500, SourceKind::Staff));
    assert_eq!(link.source.receipt_phrase(), "set by staff");
    // A verified link comes first in this order; the staff link agrees.
    assert_eq!(links.store_verified(GUILD, AMY, 500).await.unwrap(), None);
    let link = links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!(link.source, SourceKind::RobloxOAuth);
    assert_eq!(link.source.receipt_phrase(), "verified with Roblox");
    assert_eq!(link.confirmed_by, vec![SourceKind::Staff]);
    // Replacing returns what was replaced; removing the staff link leaves the verified one.
    assert_eq!(
        links.set_staff_link(GUILD, BEN, 7, "42").await.unwrap(),
        None
    );
    assert_eq!(
        links.set_staff_link(GUILD, BEN, 8, "43").await.unwrap(),
        Some(7)
    );
    assert!(links.remove_staff_link(GUILD, AMY).await.unwrap());
    assert!(!links.remove_staff_link(GUILD, AMY).await.unwrap());
    assert_eq!(
        links.resolve(GUILD, AMY).await.unwrap().source,
        SourceKind::RobloxOAuth
    );
    // Links are per server.
    assert!(matches!(
        links.resolve(GUILD + 1, BEN).await,
        Err(LinkError::NotLinked { .. })
    ));
}

#[tokio::test]
async fn the_order_decides_the_source_and_unlinked_falls_through() {
    let w = world().await;
    w.bloxlink.join(AMY);
    w.rover.link(AMY, 11);
    w.bloxlink.link(BEN, 12);
    w.rover.link(BEN, 12);
    let links = w.links("bloxlink,rover");
    let amy = links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!((amy.roblox_id, amy.source), (11, SourceKind::Rover));
    let ben = links.resolve(GUILD, BEN).await.unwrap();
    assert_eq!(
        (ben.source, ben.confirmed_by),
        (SourceKind::Bloxlink, vec![SourceKind::Rover])
    );
    let reversed = w.links("rover,bloxlink").resolve(GUILD, BEN).await.unwrap();
    assert_eq!(reversed.source, SourceKind::Rover);
    // Staff links fill in for a member neither provider links.
    let links = w.links("bloxlink,rover,staff");
    links.set_staff_link(GUILD, CAL, 13, "42").await.unwrap();
    let cal = links.resolve(GUILD, CAL).await.unwrap();
    assert_eq!((cal.roblox_id, cal.source), (13, SourceKind::Staff));
}

#[tokio::test]
async fn two_different_answers_are_refused_naming_both() {
    let w = world().await;
    w.bloxlink.link(AMY, 21);
    w.rover.link(AMY, 22);
    let err = w
        .links("bloxlink,rover")
        .resolve(GUILD, AMY)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LinkError::Conflict {
            member_id: AMY,
            first: SourceKind::Bloxlink,
            first_id: 21,
            second: SourceKind::Rover,
            second_id: 22,
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("Bloxlink says 21") && text.contains("RoVer says 22"),
        "{text}"
    );
    assert!(text.contains("nothing moved"), "{text}");
    // A staff link that disagrees with a provider is refused the same way.
    let links = w.links("staff,rover");
    links.set_staff_link(GUILD, AMY, 21, "42").await.unwrap();
    assert!(matches!(
        links.resolve(GUILD, AMY).await,
        Err(LinkError::Conflict {
            first: SourceKind::Staff,
            second: SourceKind::Rover,
            ..
        })
    ));
}

#[tokio::test]
async fn unknown_members_and_members_without_a_link_are_refused() {
    let w = world().await;
    w.bloxlink.join(AMY);
    w.rover.join(AMY);
    let links = w.links("bloxlink,rover,staff");
    for member in [AMY, STRANGER] {
        let err = links.resolve(GUILD, member).await.unwrap_err();
        assert_eq!(
            err,
            LinkError::NotLinked {
                member_id: member,
                asked: vec![SourceKind::Bloxlink, SourceKind::Rover, SourceKind::Staff],
            }
        );
        assert!(
            err.to_string()
                .contains("asked: Bloxlink, RoVer, staff links"),
            "{err}"
        );
    }
}

/// The cache: fresh answers are not asked again, stale ones are refreshed, a removed link is
/// seen after refresh, "no link" is kept for its own shorter age, `refresh` forgets at once.
async fn cache_and_refresh(w: &World) {
    w.bloxlink.link(AMY, 31);
    let links = w.links("bloxlink");
    assert_eq!(links.resolve(GUILD, AMY).await.unwrap().roblox_id, 31);
    assert_eq!(w.bloxlink.requests(), 1);
    w.clock.advance(HOUR - 1);
    let cached = links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!((cached.roblox_id, cached.checked_at_ms), (31, T0));
    assert_eq!(
        w.bloxlink.requests(),
        1,
        "a fresh answer comes from the cache"
    );
    // The member relinks at Bloxlink; the cached answer stands until it is stale.
    w.bloxlink.link(AMY, 32);
    assert_eq!(links.resolve(GUILD, AMY).await.unwrap().roblox_id, 31);
    w.clock.advance(1);
    let fresh = links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!((fresh.roblox_id, fresh.checked_at_ms), (32, T0 + HOUR));
    assert_eq!(w.bloxlink.requests(), 2);
    // Revoked: after the link is stale, the removal is seen.
    w.bloxlink.unlink(AMY);
    w.clock.advance(HOUR);
    assert!(matches!(
        links.resolve(GUILD, AMY).await,
        Err(LinkError::NotLinked { .. })
    ));
    assert_eq!(w.bloxlink.requests(), 3);
    // "No link" is kept 60 s only.
    w.bloxlink.link(AMY, 33);
    w.clock.advance(59_999);
    assert!(links.resolve(GUILD, AMY).await.is_err());
    assert_eq!(w.bloxlink.requests(), 3);
    w.clock.advance(1);
    assert_eq!(links.resolve(GUILD, AMY).await.unwrap().roblox_id, 33);
    assert_eq!(w.bloxlink.requests(), 4);
    // An explicit refresh asks again at once.
    w.bloxlink.link(AMY, 34);
    assert_eq!(links.refresh(GUILD, AMY).await.unwrap().roblox_id, 34);
    assert_eq!(w.bloxlink.requests(), 5);
    // The cache is the database's: a new resolver (a restart) uses it.
    let again = w.links("bloxlink");
    assert_eq!(again.resolve(GUILD, AMY).await.unwrap().roblox_id, 34);
    assert_eq!(w.bloxlink.requests(), 5);
}

#[tokio::test]
async fn the_cache_on_sqlite() {
    cache_and_refresh(&world().await).await;
}

#[tokio::test]
async fn the_cache_on_postgres() {
    let db = Db::open(&pg::fresh_database_url().await).await.unwrap();
    let w = world_on(db, None, RateLimit::GENEROUS).await;
    cache_and_refresh(&w).await;
    // The bot's own links on PostgreSQL too.
    let links = w.links("staff");
    assert_eq!(
        links.set_staff_link(GUILD, BEN, 41, "42").await.unwrap(),
        None
    );
    assert_eq!(
        links.set_staff_link(GUILD, BEN, 42, "42").await.unwrap(),
        Some(41)
    );
    assert_eq!(links.resolve(GUILD, BEN).await.unwrap().roblox_id, 42);
    assert!(links.remove_staff_link(GUILD, BEN).await.unwrap());
}

#[tokio::test]
async fn a_provider_down_stops_the_look_up_naming_it() {
    let mut w = world().await;
    w.bloxlink.link(AMY, 51);
    w.rover.link(AMY, 51);
    w.rover.set_down(true);
    let links = w.links("bloxlink,rover");
    let err = links.resolve(GUILD, AMY).await.unwrap_err();
    assert!(
        matches!(&err, LinkError::Provider(ProviderError::Down { provider: SourceKind::Rover, detail }) if detail == "HTTP 503"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "RoVer is unavailable (HTTP 503); nothing moved"
    );
    // Nothing was cached for the failed source: once it is back, it is asked.
    w.rover.set_down(false);
    assert_eq!(
        links.resolve(GUILD, AMY).await.unwrap().confirmed_by,
        vec![SourceKind::Rover]
    );
    // A closed port is "down" too.
    w.bloxlink.stop().await;
    let err = links.refresh(GUILD, AMY).await.unwrap_err();
    assert!(
        matches!(&err, LinkError::Provider(ProviderError::Down { provider: SourceKind::Bloxlink, detail }) if detail == "cannot connect"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_rate_limited_provider_says_which_and_how_long() {
    let (db, dir) = sqlite().await;
    let limit = RateLimit {
        max: 1,
        window_ms: 10_000,
    };
    let w = world_on(db, Some(dir), limit).await;
    w.bloxlink.link(AMY, 61);
    w.bloxlink.link(BEN, 62);
    w.rover.link(AMY, 61);
    w.rover.link(BEN, 62);
    let links = w.links("bloxlink");
    assert_eq!(links.resolve(GUILD, AMY).await.unwrap().roblox_id, 61);
    w.clock.advance(4_000);
    let err = links.resolve(GUILD, BEN).await.unwrap_err();
    assert_eq!(
        err,
        LinkError::Provider(ProviderError::RateLimited {
            provider: SourceKind::Bloxlink,
            retry_after_ms: Some(6_000),
        })
    );
    assert_eq!(
        err.to_string(),
        "Bloxlink is rate-limiting the bot (try again in 6 s); nothing moved"
    );
    // The cached member is still answered while the provider limits.
    assert_eq!(links.resolve(GUILD, AMY).await.unwrap().roblox_id, 61);
    // RoVer's Discord-style headers carry the wait too.
    let links = w.links("rover");
    links.resolve(GUILD, AMY).await.unwrap();
    let err = links.resolve(GUILD, BEN).await.unwrap_err();
    assert!(
        matches!(err, LinkError::Provider(ProviderError::RateLimited { provider: SourceKind::Rover, retry_after_ms: Some(ms) }) if ms > 0 && ms <= 10_000),
        "{err:?}"
    );
    w.clock.advance(10_000);
    assert_eq!(links.resolve(GUILD, BEN).await.unwrap().roblox_id, 62);
}

#[tokio::test]
async fn a_refused_key_names_the_setting_and_never_the_key() {
    let w = world().await;
    w.bloxlink.link(AMY, 71);
    w.rover.link(AMY, 71);
    let wrong = "blox-key-WRONG-value";
    let links = w.links_with("bloxlink", &[("BLOXLINK_API_KEY", wrong)]);
    let err = links.resolve(GUILD, AMY).await.unwrap_err();
    assert_eq!(
        err,
        LinkError::Provider(ProviderError::KeyRefused {
            provider: SourceKind::Bloxlink,
            setting: "BLOXLINK_API_KEY",
        })
    );
    let shown = format!("{err} {err:?} {links:?}");
    assert!(
        !shown.contains(wrong) && !shown.contains(BLOX_KEY),
        "{shown}"
    );
    // A key for another server is refused the same way.
    let err = w.links("rover").resolve(GUILD + 1, AMY).await.unwrap_err();
    assert!(
        matches!(
            err,
            LinkError::Provider(ProviderError::KeyRefused {
                provider: SourceKind::Rover,
                setting: "ROVER_API_KEY"
            })
        ),
        "{err:?}"
    );
}

/// The value of the counter line with `name` and every one of `labels`, 0 when absent.
fn counter(text: &str, name: &str, labels: &[&str]) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn look_ups_and_conflicts_are_counted_by_source_and_result() {
    use metrics_exporter_prometheus::PrometheusBuilder;
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A recorder of this test's own (the thread's), so other tests' look-ups never count here.
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let w = world().await;
            let links = w.links("bloxlink,rover");
            // Unknown to both: asked, then answered from the cache.
            assert!(links.resolve(GUILD, BEN).await.is_err());
            assert!(links.resolve(GUILD, BEN).await.is_err());
            // Linked by both, to different accounts: refused.
            w.bloxlink.link(AMY, 21);
            w.rover.link(AMY, 22);
            assert!(matches!(
                links.resolve(GUILD, AMY).await,
                Err(LinkError::Conflict { .. })
            ));
            // A provider down on a fresh look-up.
            w.bloxlink.set_down(true);
            assert!(links.refresh(GUILD, AMY).await.is_err());
        })
    });
    let text = handle.render();
    let lookups = "economy_bot_link_lookups_total";
    for (source, result, n) in [
        ("bloxlink", "not_linked", 1),
        ("rover", "not_linked", 1),
        ("bloxlink", "cached", 1),
        ("rover", "cached", 1),
        ("bloxlink", "linked", 1),
        ("rover", "linked", 1),
        ("bloxlink", "down", 1),
    ] {
        let got = counter(
            &text,
            lookups,
            &[
                &format!("source=\"{source}\""),
                &format!("result=\"{result}\""),
            ],
        );
        assert_eq!(got, n, "{source} {result}:\n{text}");
    }
    assert_eq!(
        counter(&text, "economy_bot_link_conflicts_total", &[]),
        1,
        "{text}"
    );
    // Labels are the fixed sets: never a member id or a key.
    assert!(
        !text.contains(&AMY.to_string()) && !text.contains(BLOX_KEY),
        "{text}"
    );
}
