//! The `oauth_states` table (migration 0007): Roblox OAuth sign-ins in progress.

use crate::service::db::{Db, DbError, on_pool};

/// A sign-in in progress, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The Discord server.
    pub guild_id: u64,
    /// The member the state is bound to.
    pub member_id: u64,
    /// The PKCE code verifier (secret).
    pub code_verifier: String,
    /// When the state stops working (Unix ms).
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("guild_id", &self.guild_id)
            .field("member_id", &self.member_id)
            .field("code_verifier", &"<redacted>")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

fn id(text: &str) -> Result<u64, DbError> {
    text.parse()
        .map_err(|_| DbError::Corrupt("an OAuth sign-in".into()))
}

impl Db {
    /// Records a sign-in under `state`, and drops those that expired before `now_ms`.
    pub async fn put_oauth_state(
        &self,
        state: &str,
        pending: &PendingSignIn,
        now_ms: i64,
    ) -> Result<(), DbError> {
        let purge = self.sql("DELETE FROM oauth_states WHERE expires_at < ?");
        let insert = self.sql(
            "INSERT INTO oauth_states (state, guild_id, member_id, code_verifier, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        );
        on_pool!(self, pool => {
            sqlx::query(&purge).bind(now_ms).execute(pool).await?;
            sqlx::query(&insert)
                .bind(state)
                .bind(pending.guild_id.to_string())
                .bind(pending.member_id.to_string())
                .bind(&pending.code_verifier)
                .bind(pending.expires_at_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Takes the sign-in stored under `state`: it is deleted in the same statement, so of two
    /// callbacks with one state only one gets it.
    pub async fn take_oauth_state(&self, state: &str) -> Result<Option<PendingSignIn>, DbError> {
        let sql = self.sql(
            "DELETE FROM oauth_states WHERE state = ?
             RETURNING guild_id, member_id, code_verifier, expires_at",
        );
        let row: Option<(String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(state).fetch_optional(pool).await?
        });
        row.map(|(guild, member, code_verifier, expires_at_ms)| {
            Ok(PendingSignIn {
                guild_id: id(&guild)?,
                member_id: id(&member)?,
                code_verifier,
                expires_at_ms,
            })
        })
        .transpose()
    }
}
