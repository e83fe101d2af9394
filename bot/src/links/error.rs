//! What a member look-up answers when it cannot name one Roblox account.

use super::source::{ProviderError, SourceKind};
use crate::service::db::DbError;

/// Why a member could not be resolved to a Roblox account. Nothing moves in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No source links the member.
    #[error("member {member_id} has no linked Roblox account (asked: {}); nothing moved", names(.asked))]
    NotLinked {
        /// The Discord member.
        member_id: u64,
        /// The sources asked, in order.
        asked: Vec<SourceKind>,
    },
    /// Two sources name different Roblox accounts: refused, never guessed.
    #[error(
        "member {member_id} has two different Roblox accounts: {first} says {first_id}, \
         {second} says {second_id}; fix one of the links first (nothing moved)"
    )]
    Conflict {
        /// The Discord member.
        member_id: u64,
        /// The earlier source in the configured order.
        first: SourceKind,
        /// What it says.
        first_id: u64,
        /// The later source that disagrees.
        second: SourceKind,
        /// What it says.
        second_id: u64,
    },
    /// A source could not answer (down, rate-limited, key refused, unreadable answer).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The bot's database failed.
    #[error("the bot's database is unavailable; nothing moved")]
    Db,
}

impl From<DbError> for LinkError {
    fn from(e: DbError) -> Self {
        tracing::warn!(error = %e, "link cache unavailable");
        LinkError::Db
    }
}

fn names(kinds: &[SourceKind]) -> String {
    kinds
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
