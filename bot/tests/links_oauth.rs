//! Roblox OAuth 2.0 end to end over real HTTP: the bot's sign-in link, the Open Cloud emulator's
//! login page, token and user-info endpoints, the bot's callback route, and the verified link in
//! the bot's database (SQLite; the main path also on PostgreSQL). Refusals: forged and replayed
//! state, an expired state, an expired code, a cancelled sign-in, a refused app secret.

mod support;

use bot::links::{LinkSettings, Links, OAuthError, RobloxOAuth, SourceKind, callback};
use bot::service::Db;
use opencloud::emulator::{Emulator, EmulatorConfig, ManualClock, OAuthApp, RunningEmulator, User};
use std::collections::HashMap;
use std::sync::Arc;
use support::pg;

const GUILD: u64 = 900_000_000_000_000_002;
const AMY: u64 = 300_000_000_000_000_021;
const BEN: u64 = 300_000_000_000_000_022;
const CLIENT: &str = "5566778899";
const SECRET: &str = "RBX-bot-oauth-secret";
const T0: i64 = 1_800_000_000_000;

struct H {
    clock: Arc<ManualClock>,
    _emulator: RunningEmulator,
    emulator_url: String,
    db: Db,
    oauth: Arc<RobloxOAuth>,
    links: Links,
    callback_base: String,
    browser: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

async fn start_on(db: Db, dir: Option<tempfile::TempDir>, secret: &str) -> H {
    let clock = ManualClock::shared(T0);
    // The bot's callback listener first: its port is part of the registered redirect URI.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{callback_base}/oauth/roblox/callback");
    let emulator = Emulator::new(
        clock.clone(),
        EmulatorConfig {
            users: vec![User::new(156, "builderman"), User::new(261, "amyplays")],
            oauth_apps: vec![OAuthApp {
                client_id: CLIENT.into(),
                client_secret: SECRET.into(),
                redirect_uris: vec![redirect.clone()],
            }],
            ..EmulatorConfig::default()
        },
    );
    let running = emulator
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let emulator_url = running.base_url();
    let env: HashMap<&str, String> = [
        ("LINK_SOURCES", "oauth,staff".to_owned()),
        ("ROBLOX_OAUTH_CLIENT_ID", CLIENT.to_owned()),
        ("ROBLOX_OAUTH_CLIENT_SECRET", secret.to_owned()),
        ("ROBLOX_OAUTH_REDIRECT_URI", redirect),
        ("ROBLOX_OAUTH_BASE_URL", emulator_url.clone()),
    ]
    .into_iter()
    .collect();
    let get = move |k: &str| env.get(k).cloned();
    let mut errors = Vec::new();
    let settings = LinkSettings::read(&get, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let oauth = Arc::new(
        settings
            .oauth_flow(db.clone(), clock.clone())
            .unwrap()
            .unwrap(),
    );
    let links = settings.build(db.clone(), clock.clone()).unwrap();
    let app = callback::router(oauth.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    H {
        clock,
        _emulator: running,
        emulator_url,
        db,
        oauth,
        links,
        callback_base,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    }
}

async fn start() -> H {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    start_on(Db::open(&url).await.unwrap(), Some(dir), SECRET).await
}

impl H {
    /// The member opens their link and signs in (or cancels) on the emulator's login page;
    /// returns where Roblox sends their browser back to.
    async fn sign_in(&self, link: &str, username: &str, decision: &str) -> String {
        assert!(link.starts_with(&format!("{}/oauth/v1/authorize?", self.emulator_url)));
        let page = self.browser.get(link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let mut form: Vec<(String, String)> = url::Url::parse(link)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        form.push(("username".into(), username.into()));
        form.push(("decision".into(), decision.into()));
        let r = self
            .browser
            .post(format!("{}/oauth/v1/authorize", self.emulator_url))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let back = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with(&self.callback_base), "{back}");
        back
    }

    /// The browser follows the redirect to the bot: the page's status and text.
    async fn arrive(&self, callback_url: &str) -> (u16, String) {
        let r = self.browser.get(callback_url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

async fn verify_and_replay(h: &H) {
    let link = h.oauth.begin(GUILD, AMY).await.unwrap();
    assert_eq!(link.expires_at_ms, T0 + 600_000);
    assert!(
        !format!("{link:?}").contains("state="),
        "the link stays private"
    );
    let back = h.sign_in(&link.url, "amyplays", "approve").await;
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("verified as Roblox user 261"), "{page}");
    let resolved = h.links.resolve(GUILD, AMY).await.unwrap();
    assert_eq!(
        (resolved.roblox_id, resolved.source),
        (261, SourceKind::RobloxOAuth)
    );
    assert_eq!(resolved.source.receipt_phrase(), "verified with Roblox");
    // The same callback again (a replayed state) links nothing more.
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid or was already used"), "{page}");
}

#[tokio::test]
async fn a_member_verifies_with_roblox_and_a_replay_is_refused() {
    verify_and_replay(&start().await).await;
}

#[tokio::test]
async fn the_same_on_postgres() {
    let db = Db::open(&pg::fresh_database_url().await).await.unwrap();
    verify_and_replay(&start_on(db, None, SECRET).await).await;
}

#[tokio::test]
async fn the_state_binds_the_link_to_the_member_who_asked() {
    let h = start().await;
    let amy = h.oauth.begin(GUILD, AMY).await.unwrap();
    let ben = h.oauth.begin(GUILD, BEN).await.unwrap();
    // Ben opens his own link and signs in as builderman: only Ben is linked.
    let back = h.sign_in(&ben.url, "builderman", "approve").await;
    assert_eq!(h.arrive(&back).await.0, 200);
    assert_eq!(h.links.resolve(GUILD, BEN).await.unwrap().roblox_id, 156);
    assert!(h.links.resolve(GUILD, AMY).await.is_err());
    // Amy's link still works for Amy, and replaces nothing of Ben's.
    let back = h.sign_in(&amy.url, "amyplays", "approve").await;
    assert_eq!(h.arrive(&back).await.0, 200);
    assert_eq!(h.links.resolve(GUILD, AMY).await.unwrap().roblox_id, 261);
    assert_eq!(h.links.resolve(GUILD, BEN).await.unwrap().roblox_id, 156);
    // Signing in again replaces the verified link and says what it replaced.
    let again = h.oauth.begin(GUILD, BEN).await.unwrap();
    let back = h.sign_in(&again.url, "amyplays", "approve").await;
    let url = url::Url::parse(&back).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let verified = h
        .oauth
        .complete(
            q.get("code").map(String::as_str),
            q.get("state").map(String::as_str),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (verified.member_id, verified.roblox_id, verified.replaced),
        (BEN, 261, Some(156))
    );
}

#[tokio::test]
async fn a_forged_state_links_nothing() {
    let h = start().await;
    h.oauth.begin(GUILD, AMY).await.unwrap();
    let (status, page) = h
        .arrive(&format!(
            "{}/oauth/roblox/callback?code=anything&state=forged-state",
            h.callback_base
        ))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid or was already used"), "{page}");
    let (status, _) = h
        .arrive(&format!(
            "{}/oauth/roblox/callback?code=anything",
            h.callback_base
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        h.oauth.complete(Some("x"), Some("forged"), None).await,
        Err(OAuthError::UnknownState)
    );
    assert!(h.links.resolve(GUILD, AMY).await.is_err());
}

#[tokio::test]
async fn an_expired_state_is_refused_and_used_up() {
    let h = start().await;
    let link = h.oauth.begin(GUILD, AMY).await.unwrap();
    let back = h.sign_in(&link.url, "amyplays", "approve").await;
    h.clock.advance(600_000);
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 400);
    assert!(page.contains("expired"), "{page}");
    assert!(
        h.arrive(&back)
            .await
            .1
            .contains("not valid or was already used")
    );
    assert!(h.links.resolve(GUILD, AMY).await.is_err());
}

#[tokio::test]
async fn an_expired_code_is_refused_by_roblox() {
    let h = start().await;
    let link = h.oauth.begin(GUILD, AMY).await.unwrap();
    let back = h.sign_in(&link.url, "amyplays", "approve").await;
    // The browser comes back after the code's one minute (the state is still valid).
    h.clock.advance(60_001);
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 400);
    assert!(page.contains("Roblox refused the sign-in code"), "{page}");
    assert!(h.links.resolve(GUILD, AMY).await.is_err());
}

#[tokio::test]
async fn a_cancelled_sign_in_links_nothing() {
    let h = start().await;
    let link = h.oauth.begin(GUILD, AMY).await.unwrap();
    let back = h.sign_in(&link.url, "", "deny").await;
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("not completed on Roblox (access_denied)"),
        "{page}"
    );
    assert!(h.links.resolve(GUILD, AMY).await.is_err());
}

#[tokio::test]
async fn a_refused_app_secret_names_the_settings_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let wrong = "RBX-wrong-secret-value";
    let h = start_on(Db::open(&url).await.unwrap(), Some(dir), wrong).await;
    let link = h.oauth.begin(GUILD, AMY).await.unwrap();
    let back = h.sign_in(&link.url, "amyplays", "approve").await;
    let (status, page) = h.arrive(&back).await;
    assert_eq!(status, 400);
    assert!(page.contains("ROBLOX_OAUTH_CLIENT_SECRET"), "{page}");
    assert!(!page.contains(wrong) && !format!("{:?}", h.oauth).contains(wrong));
    assert!(
        h.db.member_link(GUILD, AMY, SourceKind::RobloxOAuth)
            .await
            .unwrap()
            .is_none()
    );
}
