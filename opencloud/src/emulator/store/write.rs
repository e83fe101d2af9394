//! What a write takes: who writes, what a read-transform-write decides, and set preconditions.

/// Who wrote: lets tests check "at most one writer per wallet" on every write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Writer {
    /// An emulated game server.
    GameServer {
        /// The server's `game.JobId`.
        job_id: String,
    },
    /// A caller of the Open Cloud HTTP API.
    OpenCloud {
        /// The name (never the secret) of the API key used.
        api_key_name: String,
    },
    /// Anything else (test setup, operator tooling).
    Other {
        /// A label for logs and assertions.
        name: String,
    },
}

impl Writer {
    /// A game-server writer.
    pub fn game_server(job_id: impl Into<String>) -> Self {
        Writer::GameServer {
            job_id: job_id.into(),
        }
    }

    /// An Open Cloud writer.
    pub fn open_cloud(api_key_name: impl Into<String>) -> Self {
        Writer::OpenCloud {
            api_key_name: api_key_name.into(),
        }
    }

    /// Any other writer.
    pub fn other(name: impl Into<String>) -> Self {
        Writer::Other { name: name.into() }
    }
}

/// What a read-transform-write decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transform {
    /// Write nothing (UpdateAsync returning nil).
    Keep,
    /// Write a new version. Attributes and user ids replace the old ones (pass them back to keep them).
    Write {
        /// JSON text.
        value: String,
        /// JSON object text, or none.
        attributes: Option<String>,
        /// User ids (≤ 4).
        user_ids: Vec<u64>,
    },
    /// Write a tombstone (no-op if the key is absent or already deleted).
    Delete,
}

/// Preconditions of a set (v1 `matchVersion` / `exclusiveCreate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetCondition {
    /// Write only if the live entry has this version.
    pub match_version: Option<String>,
    /// Write only if no live entry exists.
    pub exclusive_create: bool,
}
