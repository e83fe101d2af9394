//! Users: Open Cloud v2 get user, and username → id through the legacy users web API.

use serde::Deserialize;
use serde_json::json;

use super::OpenCloud;
use super::build_url;
use super::error::Error;
use super::limiter::OpClass;
use super::transport::{Call, Idempotency};
use super::types::{UserInfo, UsernameMatch};

#[derive(Deserialize)]
struct UsernamesReply {
    data: Vec<UsernameMatch>,
}

impl OpenCloud {
    /// `GET /cloud/v2/users/{id}`; `None` if there is no such user.
    pub async fn get_user(&self, user_id: u64) -> Result<Option<UserInfo>, Error> {
        let url = self.url(&["cloud", "v2", "users", &user_id.to_string()], &[]);
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op: "get_user",
                universe_id: 0,
                class: OpClass::Read,
                idempotency: Idempotency::Safe,
                build: |http: &reqwest::Client| http.get(url.clone()).header("x-api-key", key),
            })
            .await?;
        match reply.status {
            200 => serde_json::from_slice(&reply.body)
                .map(Some)
                .map_err(|e| Error::Decode(e.to_string())),
            404 => Ok(None),
            _ => Err(Error::Api(reply.api_error())),
        }
    }

    /// Username → id through `POST {users_base_url}/v1/usernames/users`. This is Roblox's legacy
    /// web API, not Open Cloud: the API key is never sent there. Unknown names are simply absent
    /// from the result; previous usernames also match.
    pub async fn user_ids_by_names(&self, usernames: &[&str]) -> Result<Vec<UsernameMatch>, Error> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let url = build_url(
            &self.inner.config.users_base_url,
            &["v1", "usernames", "users"],
            &[],
        );
        let body = json!({"usernames": usernames, "excludeBannedUsers": true});
        let reply = self
            .execute(Call {
                op: "usernames_to_ids",
                universe_id: 0,
                class: OpClass::Read,
                idempotency: Idempotency::Safe,
                build: |http: &reqwest::Client| http.post(url.clone()).json(&body),
            })
            .await?;
        match reply.status {
            200 => serde_json::from_slice::<UsernamesReply>(&reply.body)
                .map(|r| r.data)
                .map_err(|e| Error::Decode(e.to_string())),
            _ => Err(Error::Api(reply.api_error())),
        }
    }
}
