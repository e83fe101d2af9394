//! Framing and signing of `economy.command` messages published through MessagingService.
//!
//! A message is the text `EB1.<keyId>.<sig>.<body>`: `body` is the command's JSON exactly as
//! sent, `sig` the lower-case hex HMAC-SHA256 over the bytes `EB1.<keyId>.<body>` (the message
//! without its signature field). Receivers verify over the bytes they received, then parse;
//! nothing is ever re-serialised for verification. The body is one command (§2) or a batch
//! envelope carrying several (§3.1).

use crate::batch::Envelope;
use crate::command::{Command, CommandError};
use crate::keys::{Key, KeyRing};
use crate::limits::MAX_MESSAGE_BYTES;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The framing tag and protocol version.
pub const MESSAGE_PREFIX: &str = "EB1";

/// Why a command message cannot be produced or accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The encoded message exceeds Roblox's 1 KiB limit.
    #[error("command message is {0} bytes; Roblox messages hold at most {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// Not `EB1.<keyId>.<sig>.<body>`.
    #[error("not an EB1 command message")]
    Framing,
    /// The key id is not configured here.
    #[error("unknown key id")]
    UnknownKey,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Signed, but the body is not a valid command.
    #[error("malformed command body")]
    Body,
    /// Signed and parsed, but structurally invalid.
    #[error("invalid command: {0}")]
    Invalid(#[from] CommandError),
}

/// HMAC-SHA256 of `data` under `secret`.
pub fn hmac_sha256(secret: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn signed_bytes(key_id: &str, body: &str) -> Vec<u8> {
    format!("{MESSAGE_PREFIX}.{key_id}.{body}").into_bytes()
}

/// Signs `body` with `key` into a message; refuses messages over 1 KiB.
fn sign(body: &str, key: &Key) -> Result<String, MessageError> {
    let kid = key.id.as_str();
    let sig = hex::encode(hmac_sha256(key.secret.expose(), &signed_bytes(kid, body)));
    let msg = format!("{MESSAGE_PREFIX}.{kid}.{sig}.{body}");
    if msg.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge(msg.len()));
    }
    Ok(msg)
}

/// Encodes and signs a command with `key`; refuses messages over 1 KiB.
pub fn encode_command_message(cmd: &Command, key: &Key) -> Result<String, MessageError> {
    cmd.validate()?;
    let body = serde_json::to_string(cmd).map_err(|_| MessageError::Body)?;
    sign(&body, key)
}

/// Encodes and signs a batch envelope (§3.1) with `key`; refuses one over 1 KiB.
pub fn encode_batch_message(envelope: &Envelope, key: &Key) -> Result<String, MessageError> {
    envelope.validate()?;
    let body = serde_json::to_string(envelope).map_err(|_| MessageError::Body)?;
    sign(&body, key)
}

/// Checks the size and framing of `msg` and its signature under `keys`; returns the body.
fn verified_body<'m>(msg: &'m str, keys: &KeyRing) -> Result<&'m str, MessageError> {
    if msg.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge(msg.len()));
    }
    let mut parts = msg.splitn(4, '.');
    let (Some(MESSAGE_PREFIX), Some(kid), Some(sig), Some(body)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MessageError::Framing);
    };
    let sig = match hex::decode(sig) {
        Ok(s) if s.len() == 32 && sig.bytes().all(|b| !b.is_ascii_uppercase()) => s,
        _ => return Err(MessageError::Framing),
    };
    let key = keys.get(kid).ok_or(MessageError::UnknownKey)?;
    let want = hmac_sha256(key.secret.expose(), &signed_bytes(kid, body));
    if !bool::from(want.ct_eq(sig.as_slice())) {
        return Err(MessageError::BadSignature);
    }
    Ok(body)
}

/// The body as a JSON object whose `actor` is an object: serde would also read a struct from a
/// JSON array, and the protocol only has objects.
fn object_body(body: &str) -> Result<serde_json::Map<String, serde_json::Value>, MessageError> {
    match serde_json::from_str(body) {
        Ok(serde_json::Value::Object(map))
            if map.get("actor").is_some_and(serde_json::Value::is_object) =>
        {
            Ok(map)
        }
        _ => Err(MessageError::Body),
    }
}

/// A verified body read as one command.
fn command_body(body: &str) -> Result<Command, MessageError> {
    object_body(body)?;
    typed_command(body)
}

/// A verified body already known to be an object ([`object_body`]) read as one command.
fn typed_command(body: &str) -> Result<Command, MessageError> {
    // The typed parse refuses duplicate and unknown fields.
    let cmd: Command = serde_json::from_str(body).map_err(|_| MessageError::Body)?;
    cmd.validate()?;
    Ok(cmd)
}

/// Verifies a received message against any key of `keys` and returns the command it carries.
/// A batch envelope is refused (`Body`): use [`decode_message`] where envelopes are expected.
pub fn decode_command_message(msg: &str, keys: &KeyRing) -> Result<Command, MessageError> {
    command_body(verified_body(msg, keys)?)
}

/// Verifies a received message against any key of `keys` and returns every command it carries:
/// one for a command body, each player's for a batch envelope (§3.1), in the order sent. A
/// refusal refuses the whole message.
pub fn decode_message(msg: &str, keys: &KeyRing) -> Result<Vec<Command>, MessageError> {
    let body = verified_body(msg, keys)?;
    if !object_body(body)?.contains_key("batch") {
        return typed_command(body).map(|cmd| vec![cmd]);
    }
    // Exactly the envelope's fields (a command's `txn` or `userId` beside them is unknown).
    let envelope: Envelope = serde_json::from_str(body).map_err(|_| MessageError::Body)?;
    envelope.validate()?;
    Ok(envelope.commands())
}
