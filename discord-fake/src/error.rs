//! Discord's error answers: an HTTP status and a JSON body `{"message", "code"}` with a code from
//! Discord's JSON error code table (docs/platform.md D6 cites each).

use serde_json::{Value, json};

/// One error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Discord's JSON error code.
    pub code: u32,
    /// Discord's message for the code.
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 401 / 0: no or a wrong bot token.
    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }
    /// 404 / 0: no such route.
    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }
    /// 405 / 0: the route exists, not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(405, 0, "405: Method Not Allowed")
    }
    /// 404 / 10003.
    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    /// 404 / 10008.
    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    /// 404 / 10015: a webhook (interaction token) that does not exist.
    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }
    /// 404 / 10062: the interaction does not exist or its 3 seconds have passed.
    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }
    /// 400 / 40060: the interaction was already acknowledged.
    pub fn already_acknowledged() -> Self {
        Self::new(400, 40060, "Interaction has already been acknowledged.")
    }
    /// 403 / 50001: the bot cannot reach the resource (not in that guild, no scope).
    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }
    /// 403 / 50013: the bot lacks a permission in the channel.
    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }
    /// 400 / 50006.
    pub fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }
    /// 401 / 50027: the interaction token expired (15 minutes) or was invalidated.
    pub fn invalid_webhook_token() -> Self {
        Self::new(401, 50027, "Invalid Webhook Token")
    }
    /// 400 / 50035: the body breaks a documented rule; `why` names it.
    pub fn invalid_form(why: impl Into<String>) -> Self {
        Self::new(400, 50035, format!("Invalid Form Body: {}", why.into()))
    }
    /// 400 / 50109.
    pub fn invalid_json() -> Self {
        Self::new(400, 50109, "The request body contains invalid JSON.")
    }
    /// 500 / 0: a scripted outage.
    pub fn server_error() -> Self {
        Self::new(500, 0, "500: Internal Server Error")
    }

    /// The JSON body Discord sends with it.
    pub fn body(&self) -> Value {
        json!({"message": self.message, "code": self.code})
    }
}
