//! Roblox OAuth 2.0, the bot's side (docs/platform.md R16): authorization code with PKCE (S256).
//! [`RobloxOAuth::begin`] makes a member's private sign-in link, bound to the member by a random
//! single-use `state` that expires; [`RobloxOAuth::complete`] takes the callback, exchanges the
//! code, reads the Roblox user id (`sub`) from user info and stores a verified link.

use super::http::{self as provider_http, IdPaths};
use super::oauth_store::PendingSignIn;
use super::source::{ProviderError, SourceKind};
use super::store::StoredLink;
use crate::config::SecretString;
use crate::service::db::Db;
use crate::service::ports::Clock;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// Roblox's API host (the OAuth endpoints are under `/oauth/v1/`).
pub const DEFAULT_BASE_URL: &str = "https://apis.roblox.com";
/// The scope asked for: `openid` is what user info needs; no profile data is wanted.
pub const SCOPE: &str = "openid";
/// Where `sub` is in user info.
const SUB: IdPaths = &[&["sub"]];

/// The bot's OAuth 2.0 app.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret (never printed).
    pub client_secret: SecretString,
    /// The redirect URI registered for the app; the bot serves its path.
    pub redirect_uri: url::Url,
    /// Roblox's API base (the emulator's in tests).
    pub base_url: url::Url,
    /// How long a sign-in link works.
    pub state_ttl: Duration,
}

/// A member's private sign-in link.
#[derive(Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The authorization URL to open (carries the state: show it to the member only).
    pub url: String,
    /// When it stops working (Unix ms).
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("url", &"<private>")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// A completed sign-in: the verified link stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The Discord server.
    pub guild_id: u64,
    /// The member.
    pub member_id: u64,
    /// The Roblox account they signed in to.
    pub roblox_id: u64,
    /// The verified link this one replaced, if any.
    pub replaced: Option<u64>,
}

/// Why a sign-in did not end in a verified link. Nothing is linked in any of these cases; no
/// message carries a code, token, verifier or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// No sign-in has this state: forged, or already used.
    #[error("this sign-in link is not valid or was already used; run /link me again")]
    UnknownState,
    /// The sign-in link expired.
    #[error("this sign-in link expired; run /link me again")]
    Expired,
    /// The callback has no `code` (or no `state`).
    #[error("the sign-in answer is incomplete; run /link me again")]
    BadCallback,
    /// Roblox sent the member back with an error (e.g. they cancelled).
    #[error("the sign-in was not completed on Roblox ({0}); nothing was linked")]
    Denied(String),
    /// The token endpoint refused the code (expired, used, or the verifier does not match).
    #[error("Roblox refused the sign-in code (it expired or was already used); run /link me again")]
    CodeRefused,
    /// The token endpoint refused the app's credentials.
    #[error(
        "Roblox refused the bot's OAuth app (check ROBLOX_OAUTH_CLIENT_ID and \
         ROBLOX_OAUTH_CLIENT_SECRET); nothing was linked"
    )]
    ClientRefused,
    /// Roblox is down, rate-limiting, or answered something unreadable.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The bot's database failed.
    #[error("the bot's database is unavailable; nothing was linked")]
    Db,
}

impl From<crate::service::db::DbError> for OAuthError {
    fn from(e: crate::service::db::DbError) -> Self {
        tracing::warn!(error = %e, "oauth state table unavailable");
        OAuthError::Db
    }
}

/// The bot's side of the Roblox OAuth 2.0 flow.
pub struct RobloxOAuth {
    http: reqwest::Client,
    settings: OAuthSettings,
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RobloxOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobloxOAuth")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    StdRng::from_os_rng().fill_bytes(&mut bytes);
    // 32 bytes → 43 unreserved characters: a valid PKCE verifier, and an unguessable state.
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the member is shown of an `error` the callback carried: letters and `_` only.
fn error_code(raw: &str) -> String {
    let code: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    if code.is_empty() {
        "unknown error".into()
    } else {
        code
    }
}

impl RobloxOAuth {
    /// The flow for the app in `settings`, storing states and links in `db`.
    pub fn new(
        http: reqwest::Client,
        settings: OAuthSettings,
        db: Db,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            settings,
            db,
            clock,
        }
    }

    /// The path the callback is served on (the redirect URI's).
    pub fn callback_path(&self) -> &str {
        self.settings.redirect_uri.path()
    }

    fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/oauth/v1/{path}",
            self.settings.base_url.as_str().trim_end_matches('/')
        )
    }

    /// A private sign-in link for `member_id` of `guild_id`, valid for the state's lifetime.
    pub async fn begin(&self, guild_id: u64, member_id: u64) -> Result<SignIn, OAuthError> {
        let now = self.clock.now_ms();
        let state = random_text();
        let verifier = random_text();
        let expires_at_ms = now.saturating_add(shared::clock::millis(self.settings.state_ttl));
        self.db
            .put_oauth_state(
                &state,
                &PendingSignIn {
                    guild_id,
                    member_id,
                    code_verifier: verifier.clone(),
                    expires_at_ms,
                },
                now,
            )
            .await?;
        let mut url = url::Url::parse(&self.endpoint("authorize")).map_err(|_| {
            OAuthError::Provider(ProviderError::BadAnswer {
                provider: SourceKind::RobloxOAuth,
                detail: "ROBLOX_OAUTH_BASE_URL does not make a URL".into(),
            })
        })?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", self.settings.redirect_uri.as_str())
            .append_pair("scope", SCOPE)
            .append_pair("response_type", "code")
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state);
        Ok(SignIn {
            url: url.into(),
            expires_at_ms,
        })
    }

    /// Completes a sign-in from the callback's `code`, `state` and `error` query parameters.
    /// The state is used up first, whatever happens next.
    pub async fn complete(
        &self,
        code: Option<&str>,
        state: Option<&str>,
        error: Option<&str>,
    ) -> Result<Verified, OAuthError> {
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or(OAuthError::BadCallback)?;
        let pending = self
            .db
            .take_oauth_state(state)
            .await?
            .ok_or(OAuthError::UnknownState)?;
        if self.clock.now_ms() >= pending.expires_at_ms {
            return Err(OAuthError::Expired);
        }
        if let Some(e) = error {
            return Err(OAuthError::Denied(error_code(e)));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or(OAuthError::BadCallback)?;
        let access_token = self.exchange(code, &pending.code_verifier).await?;
        let roblox_id = self.user_id(&access_token).await?;
        let link = StoredLink {
            roblox_id,
            set_by: pending.member_id.to_string(),
            set_at_ms: self.clock.now_ms(),
        };
        let replaced = self
            .db
            .set_member_link(
                pending.guild_id,
                pending.member_id,
                SourceKind::RobloxOAuth,
                &link,
            )
            .await?;
        tracing::info!(
            guild_id = pending.guild_id,
            member_id = pending.member_id,
            roblox_id,
            "member verified with Roblox OAuth"
        );
        Ok(Verified {
            guild_id: pending.guild_id,
            member_id: pending.member_id,
            roblox_id,
            replaced,
        })
    }

    /// `POST /oauth/v1/token` with the code and the PKCE verifier; the access token.
    async fn exchange(&self, code: &str, verifier: &str) -> Result<SecretString, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
        ];
        let response = self
            .http
            .post(self.endpoint("token"))
            .form(&form)
            .send()
            .await
            .map_err(|_| down("the token endpoint cannot be reached"))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST => return Err(OAuthError::CodeRefused),
            StatusCode::UNAUTHORIZED => return Err(OAuthError::ClientRefused),
            s => return Err(status_error(s, response.headers())),
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| bad("the token answer is not JSON"))?;
        body.get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::new(t.to_owned()))
            .ok_or_else(|| bad("the token answer has no access_token").into())
    }

    /// `GET /oauth/v1/userinfo`: the Roblox user id in `sub`.
    async fn user_id(&self, access_token: &SecretString) -> Result<u64, OAuthError> {
        let response = self
            .http
            .get(self.endpoint("userinfo"))
            .bearer_auth(access_token.expose())
            .send()
            .await
            .map_err(|_| down("user info cannot be reached"))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(status_error(status, response.headers()));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| bad("the user info answer is not JSON"))?;
        provider_http::roblox_id(&body, SUB)
            .ok_or_else(|| bad("user info has no Roblox user id in sub").into())
    }
}

fn down(detail: &str) -> OAuthError {
    OAuthError::Provider(ProviderError::Down {
        provider: SourceKind::RobloxOAuth,
        detail: detail.into(),
    })
}

fn bad(detail: &str) -> ProviderError {
    ProviderError::BadAnswer {
        provider: SourceKind::RobloxOAuth,
        detail: detail.into(),
    }
}

fn status_error(status: StatusCode, headers: &reqwest::header::HeaderMap) -> OAuthError {
    let provider = SourceKind::RobloxOAuth;
    OAuthError::Provider(if status == StatusCode::TOO_MANY_REQUESTS {
        ProviderError::RateLimited {
            provider,
            retry_after_ms: provider_http::retry_after_ms(headers),
        }
    } else if status.is_server_error() {
        ProviderError::Down {
            provider,
            detail: format!("HTTP {}", status.as_u16()),
        }
    } else {
        ProviderError::BadAnswer {
            provider,
            detail: format!("unexpected HTTP {}", status.as_u16()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_and_error_codes_are_cleaned() {
        // Expected value computed independently (Python: base64url(sha256(verifier)), no padding).
        assert_eq!(
            challenge("dBjftJeZ4CVP-mJ92JeRpMzUiMwnPpyWGXNSN7C3Gp2"),
            "77nqJC4BaDnLreJFnSlhDPC0Ia8ZPRRy0BT5ZDeWfXk"
        );
        let t = random_text();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_text());
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(error_code("<script>x</script>"), "scriptxscript");
        assert_eq!(error_code("!!"), "unknown error");
    }
}
