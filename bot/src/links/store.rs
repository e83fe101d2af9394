//! The link tables of the bot's database (migration 0007): the cache of remote providers'
//! answers and the links the bot holds itself (staff-set, OAuth-verified). Ids of Discord
//! objects are stored as text, as everywhere else in this database.

use super::source::SourceKind;
use crate::service::db::{Db, DbError, on_pool};

/// A provider's answer as cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedAnswer {
    /// The linked Roblox id; `None` when the provider said "no link".
    pub roblox_id: Option<u64>,
    /// When it was fetched (Unix ms).
    pub fetched_at_ms: i64,
}

/// A link the bot holds itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// The Roblox id.
    pub roblox_id: u64,
    /// Who set it (a Discord id; the member themself for an OAuth link).
    pub set_by: String,
    /// When (Unix ms).
    pub set_at_ms: i64,
}

fn to_db(id: u64) -> i64 {
    // Roblox ids are far below 2^63; a larger one would not be a Roblox id.
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn from_db(id: i64, what: &str) -> Result<u64, DbError> {
    u64::try_from(id).map_err(|_| DbError::Corrupt(format!("link of {what}")))
}

impl Db {
    /// The cached answer of `source` about `member_id` in `guild_id`, if any.
    pub async fn cached_link(
        &self,
        guild_id: u64,
        member_id: u64,
        source: SourceKind,
    ) -> Result<Option<CachedAnswer>, DbError> {
        let sql = self.sql(
            "SELECT roblox_id, fetched_at FROM link_cache
             WHERE guild_id = ? AND member_id = ? AND source = ?",
        );
        let row: Option<(Option<i64>, i64)> = on_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(|(id, fetched_at_ms)| {
            Ok(CachedAnswer {
                roblox_id: id.map(|i| from_db(i, &member_id.to_string())).transpose()?,
                fetched_at_ms,
            })
        })
        .transpose()
    }

    /// Records what `source` answered about `member_id` at `now_ms` (replacing the last answer).
    pub async fn cache_link(
        &self,
        guild_id: u64,
        member_id: u64,
        source: SourceKind,
        roblox_id: Option<u64>,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let sql = self.sql(
            "INSERT INTO link_cache (guild_id, member_id, source, roblox_id, fetched_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (guild_id, member_id, source)
             DO UPDATE SET roblox_id = excluded.roblox_id, fetched_at = excluded.fetched_at",
        );
        on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .bind(roblox_id.map(to_db))
                .bind(now_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Drops every cached provider answer about `member_id` (the next look-up asks again).
    /// Returns how many answers were dropped.
    pub async fn forget_cached_links(&self, guild_id: u64, member_id: u64) -> Result<u64, DbError> {
        let sql = self.sql("DELETE FROM link_cache WHERE guild_id = ? AND member_id = ?");
        Ok(on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// The link of `source` (staff or OAuth) the bot holds for `member_id`, if any.
    pub async fn member_link(
        &self,
        guild_id: u64,
        member_id: u64,
        source: SourceKind,
    ) -> Result<Option<StoredLink>, DbError> {
        let sql = self.sql(
            "SELECT roblox_id, set_by, set_at FROM member_links
             WHERE guild_id = ? AND member_id = ? AND source = ?",
        );
        let row: Option<(i64, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(|(id, set_by, set_at_ms)| {
            Ok(StoredLink {
                roblox_id: from_db(id, &member_id.to_string())?,
                set_by,
                set_at_ms,
            })
        })
        .transpose()
    }

    /// Stores (or replaces) the `source` link of `member_id`; returns the Roblox id it replaced.
    pub async fn set_member_link(
        &self,
        guild_id: u64,
        member_id: u64,
        source: SourceKind,
        link: &StoredLink,
    ) -> Result<Option<u64>, DbError> {
        let before_sql = self.sql(
            "SELECT roblox_id FROM member_links WHERE guild_id = ? AND member_id = ? AND source = ?",
        );
        let upsert_sql = self.sql(
            "INSERT INTO member_links (guild_id, member_id, source, roblox_id, set_by, set_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (guild_id, member_id, source)
             DO UPDATE SET roblox_id = excluded.roblox_id, set_by = excluded.set_by,
                           set_at = excluded.set_at",
        );
        let before: Option<i64> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<i64> = sqlx::query_scalar(&before_sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(&upsert_sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .bind(to_db(link.roblox_id))
                .bind(&link.set_by)
                .bind(link.set_at_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            before
        });
        before
            .map(|id| from_db(id, &member_id.to_string()))
            .transpose()
    }

    /// Roblox ids the bot's own links (staff, OAuth) name in `guild_id`, newest first, at most
    /// `limit` (for the `user` option's suggestions).
    pub async fn linked_accounts(&self, guild_id: u64, limit: u32) -> Result<Vec<u64>, DbError> {
        let sql = self.sql(
            "SELECT roblox_id FROM member_links WHERE guild_id = ?
             GROUP BY roblox_id ORDER BY MAX(set_at) DESC LIMIT ?",
        );
        let ids: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(&sql)
                .bind(guild_id.to_string())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(ids
            .into_iter()
            .filter_map(|id| u64::try_from(id).ok())
            .collect())
    }

    /// Removes the `source` link of `member_id`; `false` when there was none.
    pub async fn remove_member_link(
        &self,
        guild_id: u64,
        member_id: u64,
        source: SourceKind,
    ) -> Result<bool, DbError> {
        let sql = self
            .sql("DELETE FROM member_links WHERE guild_id = ? AND member_id = ? AND source = ?");
        let done = on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(guild_id.to_string())
                .bind(member_id.to_string())
                .bind(source.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }
}
