//! The two sources the bot holds itself, read live from its database: links set by staff and
//! links a member verified with Roblox OAuth 2.0.

use super::source::{Answer, LinkSource, ProviderError, SourceKind};
use crate::service::db::Db;
use crate::service::ports::BoxFut;

/// A source over the bot's own `member_links` table.
#[derive(Debug, Clone)]
pub struct StoredSource {
    kind: SourceKind,
    db: Db,
}

impl StoredSource {
    /// Links set by staff.
    pub fn staff(db: Db) -> Self {
        Self {
            kind: SourceKind::Staff,
            db,
        }
    }

    /// Links verified with Roblox OAuth 2.0.
    pub fn roblox_oauth(db: Db) -> Self {
        Self {
            kind: SourceKind::RobloxOAuth,
            db,
        }
    }
}

impl LinkSource for StoredSource {
    fn kind(&self) -> SourceKind {
        self.kind
    }

    fn lookup(&self, guild_id: u64, member_id: u64) -> BoxFut<'_, Result<Answer, ProviderError>> {
        Box::pin(async move {
            match self.db.member_link(guild_id, member_id, self.kind).await {
                Ok(Some(link)) => Ok(Answer::Linked {
                    roblox_id: link.roblox_id,
                }),
                Ok(None) => Ok(Answer::NotLinked),
                Err(e) => {
                    tracing::warn!(error = %e, source = self.kind.as_str(), "link table read failed");
                    Err(ProviderError::Store {
                        provider: self.kind,
                    })
                }
            }
        })
    }
}
