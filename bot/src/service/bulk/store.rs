//! The batch tables of the bot's database (migration 0008): a batch, its players in the order
//! given, and where each item stands. An issued item's outcome is its txn's row.

use crate::service::db::{Db, DbError, on_pool, stored_outcome};
use crate::service::outcome::Outcome;
use shared::BatchId;
use shared::TxnId;

/// A batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// The batch id.
    pub batch: BatchId,
    /// Discord id of the staff member who started it.
    pub actor_id: String,
    /// Their display name as recorded.
    pub actor_name: String,
    /// What each player gets.
    pub amount: i64,
    /// Why (one reason for every player).
    pub reason: String,
    /// When it was started (Unix ms).
    pub created_at_ms: i64,
    /// When its last item settled or was given up to the reconciler (Unix ms).
    pub finished_at_ms: Option<i64>,
}

/// Where one player's item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Not issued yet (a resumed batch issues it).
    Todo,
    /// Issued: its txn row holds the outcome.
    Issued(Outcome),
    /// Refused before a txn existed (the refusal in words, e.g. the daily cap).
    Refused(String),
}

/// One player's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// Roblox user id.
    pub user_id: u64,
    /// Its derived txn id.
    pub txn: TxnId,
    /// Where it stands.
    pub state: ItemState,
}

fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Db {
    /// Stores a new batch and its players (distinct, in order) in one transaction, every item
    /// to do.
    pub async fn insert_batch(&self, batch: &StoredBatch, user_ids: &[u64]) -> Result<(), DbError> {
        let head = self.sql(
            "INSERT INTO batches (batch_id, actor_id, actor_name, amount, reason, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        );
        let item = self.sql(
            "INSERT INTO batch_items (batch_id, seq, user_id, txn_id, state)
             VALUES (?, ?, ?, ?, 'todo')",
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&head)
                .bind(batch.batch.as_str())
                .bind(&batch.actor_id)
                .bind(&batch.actor_name)
                .bind(batch.amount)
                .bind(&batch.reason)
                .bind(batch.created_at_ms)
                .execute(&mut *tx)
                .await?;
            for (seq, user_id) in user_ids.iter().enumerate() {
                sqlx::query(&item)
                    .bind(batch.batch.as_str())
                    .bind(to_db(seq as u64))
                    .bind(to_db(*user_id))
                    .bind(batch.batch.item_txn(*user_id).as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The batch `id`, if stored.
    pub async fn batch(&self, id: &BatchId) -> Result<Option<StoredBatch>, DbError> {
        let sql = self.sql(
            "SELECT batch_id, actor_id, actor_name, amount, reason, created_at, finished_at
             FROM batches WHERE batch_id = ?",
        );
        type Row = (String, String, String, i64, String, i64, Option<i64>);
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(pool).await?
        });
        Ok(row.map(
            |(_, actor_id, actor_name, amount, reason, created_at_ms, finished_at_ms)| {
                StoredBatch {
                    batch: id.clone(),
                    actor_id,
                    actor_name,
                    amount,
                    reason,
                    created_at_ms,
                    finished_at_ms,
                }
            },
        ))
    }

    /// Batches not finished (oldest first): a restart resumes them.
    pub async fn unfinished_batches(&self) -> Result<Vec<BatchId>, DbError> {
        let sql = "SELECT batch_id FROM batches WHERE finished_at IS NULL ORDER BY created_at";
        let ids: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar(sql).fetch_all(pool).await?
        });
        ids.into_iter()
            .map(|id| id.parse().map_err(|_| DbError::Corrupt(id)))
            .collect()
    }

    /// Every item of `id` in the order the players were given, with its txn's outcome.
    pub async fn batch_items(&self, id: &BatchId) -> Result<Vec<StoredItem>, DbError> {
        let sql = self.sql(
            "SELECT i.user_id, i.txn_id, i.state, i.detail,
                    t.state, t.reject_reason, t.balance_after, t.committed_by
             FROM batch_items i LEFT JOIN txns t ON t.txn_id = i.txn_id
             WHERE i.batch_id = ? ORDER BY i.seq",
        );
        type Row = (
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.as_str()).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(
                |(user_id, txn, item, detail, txn_state, reason, balance, by)| {
                    let corrupt = || DbError::Corrupt(txn.clone());
                    let state = match (item.as_str(), txn_state) {
                        // The row of an issued item, or of one issued just before a crash.
                        (_, Some(s)) => ItemState::Issued(
                            stored_outcome(&s, reason, balance, by).ok_or_else(corrupt)?,
                        ),
                        ("refused", None) => ItemState::Refused(detail.unwrap_or_default()),
                        ("todo", None) => ItemState::Todo,
                        _ => return Err(corrupt()),
                    };
                    Ok(StoredItem {
                        user_id: u64::try_from(user_id).map_err(|_| corrupt())?,
                        txn: txn.parse().map_err(|_| corrupt())?,
                        state,
                    })
                },
            )
            .collect()
    }

    /// Records that an item was refused with `detail` (an issued item needs no mark: its txn
    /// row is what [`Db::batch_items`] reads).
    pub async fn mark_batch_item_refused(
        &self,
        id: &BatchId,
        user_id: u64,
        detail: &str,
    ) -> Result<(), DbError> {
        let sql = self.sql(
            "UPDATE batch_items SET state = 'refused', detail = ? WHERE batch_id = ? AND user_id = ?",
        );
        on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(detail)
                .bind(id.as_str())
                .bind(to_db(user_id))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Marks a batch finished: a restart no longer resumes it.
    pub async fn finish_batch(&self, id: &BatchId, now_ms: i64) -> Result<(), DbError> {
        let sql = self
            .sql("UPDATE batches SET finished_at = ? WHERE batch_id = ? AND finished_at IS NULL");
        on_pool!(self, pool => {
            sqlx::query(&sql).bind(now_ms).bind(id.as_str()).execute(pool).await?;
        });
        Ok(())
    }
}
