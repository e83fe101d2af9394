//! Roblox OAuth 2.0 (authorization code with PKCE) as the bot's `/link` needs it: registered apps,
//! authorization codes, access tokens and the user-info claims. The HTTP face is `http::oauth`;
//! every rule cites docs/platform.md R16.
//!
//! Documented (OAuth 2.0 reference and app implementation pages): a code lives **one minute** and
//! can be redeemed **once**; an access token lives **15 minutes** (`expires_in` 899); the token
//! endpoint takes the client's credentials as HTTP Basic or in the form; PKCE uses `S256` and a
//! verifier of 43–128 unreserved characters; `redirect_uri` must be one registered for the app;
//! user info needs the `openid` scope, and `profile` adds names. Undocumented by Roblox, taken
//! from RFC 6749 §5.2 / RFC 6750 §3.1: the token endpoint's error bodies and user info's 401.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// How long an authorization code can be redeemed (documented: one minute).
pub const CODE_LIFETIME_MS: i64 = 60_000;
/// How long an access token is accepted (documented: 15 minutes).
pub const ACCESS_TOKEN_LIFETIME_MS: i64 = 15 * 60_000;
/// `expires_in` of a token answer (the documented examples answer 899).
pub const EXPIRES_IN_SECS: i64 = 899;

/// A registered OAuth 2.0 app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthApp {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Redirect URIs registered for the app (exact match).
    pub redirect_uris: Vec<String>,
}

/// What an authorization request asked for, checked by [`OAuth::check_request`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `scope` (space-separated).
    pub scope: String,
    /// `response_type`.
    pub response_type: String,
    /// `state`, passed back unchanged.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
}

/// Why an authorization request is refused before any redirect (shown on the page: RFC 6749
/// §4.1.2.1 forbids redirecting to an unverified `redirect_uri`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// Unknown `client_id`.
    #[error("unknown client_id")]
    UnknownClient,
    /// `redirect_uri` is not one registered for the app.
    #[error("redirect_uri is not registered for this app")]
    RedirectUri,
    /// Another parameter is wrong (reported to the app through the redirect).
    #[error("{0}")]
    Invalid(&'static str),
}

/// A token-endpoint error (RFC 6749 §5.2): the `error` code, a description, the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    /// HTTP status (400, or 401 for client authentication).
    pub status: u16,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: &'static str,
}

fn token_error(status: u16, error: &'static str, description: &'static str) -> TokenError {
    TokenError {
        status,
        error,
        description,
    }
}

/// An issued token set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// Access token.
    pub access_token: String,
    /// Refresh token (not redeemable here).
    pub refresh_token: String,
    /// Granted scope.
    pub scope: String,
}

/// The user an access token speaks for, with its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    /// Roblox user id.
    pub user_id: u64,
    /// Granted scope.
    pub scope: String,
}

#[derive(Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    user_id: u64,
    scope: String,
    challenge: Option<String>,
    issued_ms: i64,
}

#[derive(Debug)]
struct Access {
    user_id: u64,
    scope: String,
    expires_ms: i64,
}

/// Apps, outstanding codes and live access tokens.
#[derive(Debug)]
pub struct OAuth {
    apps: Mutex<Vec<OAuthApp>>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Access>>,
    rng: Mutex<StdRng>,
}

impl Default for OAuth {
    fn default() -> Self {
        Self {
            apps: Mutex::default(),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            rng: Mutex::new(StdRng::from_os_rng()),
        }
    }
}

/// Whether `verifier` is 43–128 unreserved characters (documented).
pub fn verifier_is_valid(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`: base64url (no padding) of its SHA-256.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OAuth {
    /// Registers (or replaces) an app.
    pub fn register(&self, app: OAuthApp) {
        let mut apps = self.apps.lock();
        apps.retain(|a| a.client_id != app.client_id);
        apps.push(app);
    }

    fn random(&self, prefix: &str) -> String {
        let mut bytes = [0u8; 24];
        self.rng.lock().fill_bytes(&mut bytes);
        format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks an authorization request: app, redirect URI, response type, scope, PKCE method.
    pub fn check_request(&self, r: &AuthorizeRequest) -> Result<(), AuthorizeError> {
        let apps = self.apps.lock();
        let app = apps
            .iter()
            .find(|a| a.client_id == r.client_id)
            .ok_or(AuthorizeError::UnknownClient)?;
        if !app.redirect_uris.contains(&r.redirect_uri) {
            return Err(AuthorizeError::RedirectUri);
        }
        if r.response_type != "code" {
            return Err(AuthorizeError::Invalid("response_type must be code"));
        }
        if r.scope.split(' ').all(|s| s.is_empty()) {
            return Err(AuthorizeError::Invalid("scope is required"));
        }
        match (&r.code_challenge, r.code_challenge_method.as_deref()) {
            (None, None) => Ok(()),
            (Some(c), Some("S256")) if !c.is_empty() => Ok(()),
            _ => Err(AuthorizeError::Invalid(
                "code_challenge needs code_challenge_method S256",
            )),
        }
    }

    /// The user `user_id` approved request `r` at `now_ms`: a fresh code to send to the app.
    pub fn approve(
        &self,
        r: &AuthorizeRequest,
        user_id: u64,
        now_ms: i64,
    ) -> Result<String, AuthorizeError> {
        self.check_request(r)?;
        let code = self.random("code-");
        self.codes.lock().insert(
            code.clone(),
            Grant {
                client_id: r.client_id.clone(),
                redirect_uri: r.redirect_uri.clone(),
                user_id,
                scope: r.scope.clone(),
                challenge: r.code_challenge.clone(),
                issued_ms: now_ms,
            },
        );
        Ok(code)
    }

    /// Redeems an authorization code (`grant_type=authorization_code`): the client authenticated
    /// with `client_id` / `client_secret`, `code`, the PKCE `code_verifier` and, when sent,
    /// `redirect_uri`. A code is gone after its first redemption attempt, good or bad.
    pub fn redeem(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        code_verifier: Option<&str>,
        redirect_uri: Option<&str>,
        now_ms: i64,
    ) -> Result<Tokens, TokenError> {
        let known = self
            .apps
            .lock()
            .iter()
            .any(|a| a.client_id == client_id && a.client_secret == client_secret);
        if !known {
            return Err(token_error(
                401,
                "invalid_client",
                "Client authentication failed.",
            ));
        }
        let grant = self.codes.lock().remove(code).ok_or_else(|| {
            token_error(400, "invalid_grant", "The authorization code is invalid.")
        })?;
        if grant.client_id != client_id {
            return Err(token_error(
                400,
                "invalid_grant",
                "The authorization code was issued to another client.",
            ));
        }
        if now_ms - grant.issued_ms > CODE_LIFETIME_MS {
            return Err(token_error(
                400,
                "invalid_grant",
                "The authorization code has expired.",
            ));
        }
        if redirect_uri.is_some_and(|u| u != grant.redirect_uri) {
            return Err(token_error(
                400,
                "invalid_grant",
                "The redirect_uri does not match the authorization request.",
            ));
        }
        if let Some(challenge) = &grant.challenge {
            let verifier = code_verifier
                .ok_or_else(|| token_error(400, "invalid_request", "code_verifier is required."))?;
            if !verifier_is_valid(verifier) || s256(verifier) != *challenge {
                return Err(token_error(
                    400,
                    "invalid_grant",
                    "The code_verifier does not match the code_challenge.",
                ));
            }
        }
        let tokens = Tokens {
            access_token: self.random("at-"),
            refresh_token: self.random("rt-"),
            scope: grant.scope.clone(),
        };
        self.tokens.lock().insert(
            tokens.access_token.clone(),
            Access {
                user_id: grant.user_id,
                scope: grant.scope,
                expires_ms: now_ms + ACCESS_TOKEN_LIFETIME_MS,
            },
        );
        Ok(tokens)
    }

    /// Whom a live access token speaks for.
    pub fn owner(&self, access_token: &str, now_ms: i64) -> Option<TokenOwner> {
        let tokens = self.tokens.lock();
        let a = tokens.get(access_token)?;
        (now_ms < a.expires_ms).then(|| TokenOwner {
            user_id: a.user_id,
            scope: a.scope.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_and_the_verifier_rules() {
        // Expected value computed independently (Python: base64url(sha256(verifier)), no padding).
        let verifier = "dBjftJeZ4CVP-mJ92JeRpMzUiMwnPpyWGXNSN7C3Gp2";
        assert!(verifier_is_valid(verifier));
        assert_eq!(
            s256(verifier),
            "77nqJC4BaDnLreJFnSlhDPC0Ia8ZPRRy0BT5ZDeWfXk"
        );
        assert!(verifier_is_valid(&"a".repeat(43)));
        assert!(!verifier_is_valid(&"a".repeat(129)));
        assert!(!verifier_is_valid(&format!("{}!", "a".repeat(43))));
    }
}
