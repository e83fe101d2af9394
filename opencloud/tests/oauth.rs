//! Roblox OAuth 2.0 in the emulator over real HTTP (docs/platform.md R16): the login page, the
//! redirect with `code` and `state`, the one-minute single-use code, PKCE S256, client
//! authentication, 15-minute access tokens and the user-info claims.

use std::sync::Arc;

use opencloud::emulator::oauth::s256;
use opencloud::emulator::{Emulator, EmulatorConfig, ManualClock, OAuthApp, RunningEmulator, User};
use serde_json::Value;

const CLIENT: &str = "3344556677";
const SECRET: &str = "RBX-oauth-test-secret";
const REDIRECT: &str = "http://127.0.0.1:9/oauth/roblox/callback";
const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF";
const T0: i64 = 1_800_000_000_000;

struct H {
    clock: Arc<ManualClock>,
    _server: RunningEmulator,
    base: String,
    http: reqwest::Client,
}

async fn start() -> H {
    let clock = ManualClock::shared(T0);
    let emulator = Emulator::new(
        clock.clone(),
        EmulatorConfig {
            users: vec![User::new(156, "builderman")],
            oauth_apps: vec![OAuthApp {
                client_id: CLIENT.into(),
                client_secret: SECRET.into(),
                redirect_uris: vec![REDIRECT.into()],
            }],
            ..EmulatorConfig::default()
        },
    );
    let server = emulator
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    H {
        clock,
        base: server.base_url(),
        _server: server,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

fn authorize_params(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT.into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", scope.into()),
        ("response_type", "code".into()),
        ("state", "state-42".into()),
        ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

impl H {
    /// Signs in as `username` on the login form; the redirect's query pairs.
    async fn sign_in(&self, scope: &str, username: &str) -> Vec<(String, String)> {
        let mut form = authorize_params(scope);
        form.push(("username", username.into()));
        form.push(("decision", "approve".into()));
        let r = self
            .http
            .post(format!("{}/oauth/v1/authorize", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        redirect_pairs(&r)
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/oauth/v1/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn redeem(&self, code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ])
        .await
    }

    async fn userinfo(&self, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/oauth/v1/userinfo", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

fn redirect_pairs(r: &reqwest::Response) -> Vec<(String, String)> {
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn the_whole_flow_ends_with_the_users_id_in_sub() {
    let h = start().await;
    let page = h
        .http
        .get(format!("{}/oauth/v1/authorize", h.base))
        .query(&authorize_params("openid profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"username\"") && html.contains("state-42"),
        "{html}"
    );
    let pairs = h.sign_in("openid profile", "BuilderMan").await;
    assert_eq!(get(&pairs, "state"), Some("state-42"));
    let code = get(&pairs, "code").unwrap();
    let (status, tokens) = h.redeem(code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 899);
    assert_eq!(tokens["scope"], "openid profile");
    let (status, claims) = h.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(claims["sub"], "156");
    assert_eq!(claims["preferred_username"], "builderman");
    // Without `profile`, only `sub`.
    let code = h.sign_in("openid", "builderman").await;
    let (_, tokens) = h.redeem(get(&code, "code").unwrap()).await;
    let (_, claims) = h.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(claims, serde_json::json!({"sub": "156"}));
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_within_one_minute() {
    let h = start().await;
    let pairs = h.sign_in("openid", "builderman").await;
    let code = get(&pairs, "code").unwrap();
    assert_eq!(h.redeem(code).await.0, 200);
    let (status, body) = h.redeem(code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let pairs = h.sign_in("openid", "builderman").await;
    h.clock.advance(60_000);
    assert_eq!(
        h.redeem(get(&pairs, "code").unwrap()).await.0,
        200,
        "valid at one minute"
    );
    let pairs = h.sign_in("openid", "builderman").await;
    h.clock.advance(60_001);
    let (status, body) = h.redeem(get(&pairs, "code").unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn pkce_and_client_authentication_are_checked() {
    let h = start().await;
    let code = |p: &Vec<(String, String)>| get(p, "code").unwrap().to_owned();
    let p = h.sign_in("openid", "builderman").await;
    let wrong = "x".repeat(43);
    let (status, body) = h
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code(&p)),
            ("code_verifier", &wrong),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let p = h.sign_in("openid", "builderman").await;
    let (status, body) = h
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code(&p)),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let p = h.sign_in("openid", "builderman").await;
    let (status, body) = h
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code(&p)),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // HTTP Basic carries the credentials as well as the form does.
    let p = h.sign_in("openid", "builderman").await;
    let r = h
        .http
        .post(format!("{}/oauth/v1/token", h.base))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code(&p)),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bad_requests_never_reach_an_unregistered_redirect() {
    let h = start().await;
    for (k, v) in [
        ("client_id", "nope"),
        ("redirect_uri", "https://evil.example/cb"),
    ] {
        let mut params = authorize_params("openid");
        params.retain(|(key, _)| *key != k);
        params.push((k, v.into()));
        let r = h
            .http
            .get(format!("{}/oauth/v1/authorize", h.base))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{k}");
        assert!(r.headers().get("location").is_none());
    }
    // A plain challenge method is refused back to the app; so is a denial.
    let mut params = authorize_params("openid");
    params.retain(|(key, _)| *key != "code_challenge_method");
    params.push(("code_challenge_method", "plain".into()));
    let r = h
        .http
        .get(format!("{}/oauth/v1/authorize", h.base))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(get(&redirect_pairs(&r), "error"), Some("invalid_request"));
    let mut form = authorize_params("openid");
    form.push(("decision", "deny".into()));
    let r = h
        .http
        .post(format!("{}/oauth/v1/authorize", h.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let pairs = redirect_pairs(&r);
    assert_eq!(get(&pairs, "error"), Some("access_denied"));
    assert_eq!(get(&pairs, "state"), Some("state-42"));
    // An unknown username gets the page again, no code.
    let mut form = authorize_params("openid");
    form.push(("username", "nobody".into()));
    let r = h
        .http
        .post(format!("{}/oauth/v1/authorize", h.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("No Roblox user has that username")
    );
}

#[tokio::test]
async fn access_tokens_last_fifteen_minutes_and_need_openid() {
    let h = start().await;
    let p = h.sign_in("openid", "builderman").await;
    let (_, tokens) = h.redeem(get(&p, "code").unwrap()).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    h.clock.advance(15 * 60_000 - 1);
    assert_eq!(h.userinfo(&token).await.0, 200);
    h.clock.advance(1);
    assert_eq!(h.userinfo(&token).await.0, 401);
    assert_eq!(h.userinfo("made-up").await.0, 401);
    let p = h
        .sign_in("universe-messaging-service:publish", "builderman")
        .await;
    let (_, tokens) = h.redeem(get(&p, "code").unwrap()).await;
    assert_eq!(
        h.userinfo(tokens["access_token"].as_str().unwrap()).await.0,
        403
    );
}
