//! Messaging publish (v2 `:publishMessage` by default, v1 topics endpoint on request).

use serde_json::json;

use super::OpenCloud;
use super::config::MessagingApi;
use super::error::Error;
use super::limiter::OpClass;
use super::transport::{Call, Idempotency};
use crate::limits;

impl OpenCloud {
    /// Publishes `message` on `topic` with the configured API. Checks Roblox's 1 KiB / 80-character
    /// limits first. Retried on 5xx like a read: messaging may duplicate anyway, so receivers must
    /// de-duplicate (Economy Bridge commands carry a txn id).
    pub async fn publish(&self, universe_id: u64, topic: &str, message: &str) -> Result<(), Error> {
        match self.inner.config.messaging_api {
            MessagingApi::V2 => self.publish_v2(universe_id, topic, message).await,
            MessagingApi::V1 => self.publish_v1(universe_id, topic, message).await,
        }
    }

    /// `POST /cloud/v2/universes/{u}:publishMessage`.
    pub async fn publish_v2(
        &self,
        universe_id: u64,
        topic: &str,
        message: &str,
    ) -> Result<(), Error> {
        limits::check_topic(topic)?;
        limits::check_message(message)?;
        let url = self.url(
            &[
                "cloud",
                "v2",
                "universes",
                &format!("{universe_id}:publishMessage"),
            ],
            &[],
        );
        let body = json!({"topic": topic, "message": message});
        self.publish_call("publish_v2", universe_id, url, body)
            .await
    }

    /// `POST /messaging-service/v1/universes/{u}/topics/{topic}` (topic percent-encoded).
    pub async fn publish_v1(
        &self,
        universe_id: u64,
        topic: &str,
        message: &str,
    ) -> Result<(), Error> {
        limits::check_topic(topic)?;
        limits::check_message(message)?;
        let url = self.url(
            &[
                "messaging-service",
                "v1",
                "universes",
                &universe_id.to_string(),
                "topics",
                topic,
            ],
            &[],
        );
        self.publish_call("publish_v1", universe_id, url, json!({"message": message}))
            .await
    }

    async fn publish_call(
        &self,
        op: &'static str,
        universe_id: u64,
        url: url::Url,
        body: serde_json::Value,
    ) -> Result<(), Error> {
        let key = self.inner.config.api_key.expose();
        let reply = self
            .execute(Call {
                op,
                universe_id,
                class: OpClass::Publish,
                idempotency: Idempotency::Safe,
                build: |http: &reqwest::Client| {
                    http.post(url.clone()).header("x-api-key", key).json(&body)
                },
            })
            .await?;
        match reply.status {
            200..=299 => Ok(()),
            _ => Err(Error::Api(reply.api_error())),
        }
    }
}
