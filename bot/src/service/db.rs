//! The bot's own database: pending confirmations that survive restarts, the per-actor daily cap
//! and cooldown ledger, audit records awaiting acknowledgement and log-channel bookkeeping
//! (`logged`: 0 waiting, 1 posted, 2 dead letter; see migration 0004).
//!
//! Two concrete backends behind one type, chosen by the URL scheme: SQLite (one connection, so
//! reservations are serialised) and PostgreSQL (several bot replicas; reservations of one actor
//! are serialised by a transaction-scoped advisory lock). Each has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`); the SQL text is shared, written with `?`
//! placeholders and numbered for PostgreSQL.

use super::outcome::{Committer, Outcome};
use shared::{AuditRecord, Op, RejectReason, TxnId};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::borrow::Cow;
use std::str::FromStr;

/// Why the database failed; never carries row contents.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened, migrated or queried.
    #[error("bot database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("bot database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row does not decode (edited by hand?).
    #[error("bot database holds an unreadable row for txn {0}")]
    Corrupt(String),
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("BOT_DATABASE_URL must start with sqlite: or postgres://")]
    Scheme,
}

/// A txn row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRow {
    /// The txn id.
    pub txn: TxnId,
    /// Discord actor id.
    pub actor_id: String,
    /// Roblox user id.
    pub user_id: u64,
    /// Give or deduct.
    pub op: Op,
    /// Amount.
    pub amount: i64,
    /// When the bot accepted it (Unix ms).
    pub created_at: i64,
    /// The command's `expiresAt`.
    pub expires_at: i64,
    /// The signed message as first published.
    pub message: String,
    /// Where it stands: `Pending` until settled, then how it settled (never `AlreadyProcessed`).
    pub outcome: Outcome,
    /// Actor display name.
    pub actor_name: String,
    /// When it settled (Unix ms), none while pending.
    pub settled_at: Option<i64>,
    /// The txn this one reverses, when it is a reversal.
    pub reverses: Option<TxnId>,
}

/// What a reservation was refused for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveRefusal {
    /// The actor's previous command was less than the cooldown ago.
    Cooldown {
        /// Milliseconds until the next command is allowed.
        retry_after_ms: i64,
    },
    /// The amount would take the actor past the daily cap.
    DailyCap {
        /// Amount already used in the last 24 h (pending and applied).
        used: i64,
    },
    /// A row already holds this txn id, or (for a reversal) another reversal of its original:
    /// the unique indexes decide between bot replicas racing on one database.
    Taken,
}

/// A new txn to reserve.
#[derive(Debug, Clone)]
pub struct NewTxn<'a> {
    /// Txn id.
    pub txn: &'a TxnId,
    /// Actor id and name.
    pub actor_id: &'a str,
    /// Actor display name.
    pub actor_name: &'a str,
    /// Roblox user.
    pub user_id: u64,
    /// Op.
    pub op: Op,
    /// Amount.
    pub amount: i64,
    /// Now (Unix ms).
    pub now_ms: i64,
    /// The command's expiresAt.
    pub expires_at: i64,
    /// The signed message.
    pub message: &'a str,
    /// The txn this one reverses (unique: one reversal per original).
    pub reverses: Option<&'a TxnId>,
}

/// A failed log-channel post, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFailure<'a> {
    /// Failed posts of this txn so far, this one included.
    pub attempts: u32,
    /// When it may be tried next (Unix ms).
    pub next_at_ms: i64,
    /// What the channel answered (no secrets).
    pub error: &'a str,
    /// Set aside: never tried again until an operator retries it.
    pub dead: bool,
}

/// A settled txn the log channel never accepted, set aside until an operator retries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The txn id.
    pub txn: TxnId,
    /// When it settled (Unix ms).
    pub settled_at_ms: i64,
    /// Failed posts.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The cooldown rule: refused when the actor's last command was less than `cooldown_ms` ago.
/// A cooldown of 0 is off: concurrent reservations may carry clock readings out of order (the
/// later one committed first), which must not count as "too soon".
fn too_soon(last: Option<i64>, now_ms: i64, cooldown_ms: i64) -> Option<ReserveRefusal> {
    let last = last?;
    (cooldown_ms > 0 && now_ms - last < cooldown_ms).then(|| ReserveRefusal::Cooldown {
        retry_after_ms: cooldown_ms - (now_ms - last),
    })
}

/// The daily-cap rule: refused when `amount` on top of what was `used` passes the cap.
fn over_cap(used: i64, amount: i64, daily_cap: i64) -> Option<ReserveRefusal> {
    (used.saturating_add(amount) > daily_cap).then_some(ReserveRefusal::DailyCap { used })
}

/// The bot database.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) backend: Backend,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend (the body is
/// type-checked once per backend; no `sqlx::Any`).
macro_rules! on_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.backend {
            $crate::service::db::Backend::Sqlite($pool) => $body,
            $crate::service::db::Backend::Postgres($pool) => $body,
        }
    };
}
// Other tables' queries (account links) live beside their own module.
pub(crate) use on_pool;

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// `sqlite:`.
    Sqlite,
    /// `postgres://` / `postgresql://`.
    Postgres,
}

impl DbKind {
    /// The backend of `url`, or `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

fn op_str(op: Op) -> &'static str {
    op.as_str()
}

fn parse_reason(s: &str) -> Option<RejectReason> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// A txn's outcome from its stored columns (`state`, `reject_reason`, `balance_after`,
/// `committed_by`); `None` when they do not make one (edited by hand?).
pub(crate) fn stored_outcome(
    state: &str,
    reject_reason: Option<String>,
    balance: Option<i64>,
    committed_by: Option<String>,
) -> Option<Outcome> {
    Some(match state {
        "pending" => Outcome::Pending,
        "applied" => Outcome::Applied {
            balance_after: balance?,
            committed_by: Committer::parse(&committed_by.unwrap_or_default()),
        },
        "rejected" => Outcome::Rejected {
            reason: reject_reason.as_deref().and_then(parse_reason)?,
            balance: balance?,
        },
        "not_delivered" => Outcome::NotDelivered,
        _ => return None,
    })
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `url`: `sqlite://path`,
    /// `sqlite::memory:` or `postgres://…` (add `options=-c search_path=<schema>` to use a schema).
    pub async fn open(url: &str) -> Result<Self, DbError> {
        let backend = match DbKind::of_url(url) {
            Some(DbKind::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::from_secs(5));
                // One connection: every reservation is serialised, so the cap check and the
                // insert cannot interleave between two commands of the same actor.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                Backend::Sqlite(pool)
            }
            Some(DbKind::Postgres) => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(std::time::Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Backend::Postgres(pool)
            }
            None => return Err(DbError::Scheme),
        };
        Ok(Self { backend })
    }

    /// Which backend this is.
    pub fn kind(&self) -> DbKind {
        match self.backend {
            Backend::Sqlite(_) => DbKind::Sqlite,
            Backend::Postgres(_) => DbKind::Postgres,
        }
    }

    /// `sql` with `?` placeholders numbered `$1, $2, …` for PostgreSQL.
    pub(crate) fn sql<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        match self.backend {
            Backend::Sqlite(_) => Cow::Borrowed(sql),
            Backend::Postgres(_) => {
                let mut out = String::with_capacity(sql.len() + 8);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
        }
    }

    /// Closes the pool (waits for in-flight queries).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// Atomically checks the actor's cooldown and daily cap and records the txn as pending.
    /// A reversal is not held to the daily cap and does not count towards it (with its
    /// original it nets to zero); the cooldown applies to it like to any command.
    pub async fn reserve(
        &self,
        t: &NewTxn<'_>,
        cooldown_ms: i64,
        daily_cap: i64,
    ) -> Result<Result<(), ReserveRefusal>, DbError> {
        let last_sql = self.sql("SELECT MAX(created_at) FROM txns WHERE actor_id = ?");
        let used_sql = self.sql(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM txns
             WHERE actor_id = ? AND created_at > ? AND state IN ('pending', 'applied')
               AND reverses IS NULL",
        );
        // Without a conflict target: the txn id and the one-reversal-per-original index both
        // count. A replica that loses the race inserts nothing and learns so from the count.
        let insert_sql = self.sql(
            "INSERT INTO txns (txn_id, actor_id, actor_name, user_id, op, amount, created_at,
                               expires_at, message, state, reverses)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
             ON CONFLICT DO NOTHING",
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Backend::Postgres(_) = self.backend {
                // Serialises reservations of one actor across connections and bot replicas
                // until this transaction ends (released on commit / rollback).
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(t.actor_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let last: Option<i64> = sqlx::query_scalar(&last_sql)
                .bind(t.actor_id)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(refused) = too_soon(last, t.now_ms, cooldown_ms) {
                return Ok(Err(refused));
            }
            let used: i64 = sqlx::query_scalar(&used_sql)
                .bind(t.actor_id)
                .bind(t.now_ms - DAY_MS)
                .fetch_one(&mut *tx)
                .await?;
            if t.reverses.is_none()
                && let Some(refused) = over_cap(used, t.amount, daily_cap)
            {
                return Ok(Err(refused));
            }
            let inserted = sqlx::query(&insert_sql)
                .bind(t.txn.as_str())
                .bind(t.actor_id)
                .bind(t.actor_name)
                .bind(t.user_id as i64)
                .bind(op_str(t.op))
                .bind(t.amount)
                .bind(t.now_ms)
                .bind(t.expires_at)
                .bind(t.message)
                .bind(t.reverses.map(TxnId::as_str))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(if inserted == 0 { Err(ReserveRefusal::Taken) } else { Ok(()) })
        })
    }

    /// What [`Db::reserve`] would answer for `amount` now, read-only and without a lock: lets a
    /// front end refuse before asking the member to confirm. `reserve` still decides.
    pub async fn check_limits(
        &self,
        actor_id: &str,
        amount: i64,
        now_ms: i64,
        cooldown_ms: i64,
        daily_cap: i64,
    ) -> Result<Result<(), ReserveRefusal>, DbError> {
        let last_sql = self.sql("SELECT MAX(created_at) FROM txns WHERE actor_id = ?");
        let used_sql = self.sql(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM txns
             WHERE actor_id = ? AND created_at > ? AND state IN ('pending', 'applied')
               AND reverses IS NULL",
        );
        on_pool!(self, pool => {
            let last: Option<i64> = sqlx::query_scalar(&last_sql)
                .bind(actor_id)
                .fetch_one(pool)
                .await?;
            if let Some(refused) = too_soon(last, now_ms, cooldown_ms) {
                return Ok(Err(refused));
            }
            let used: i64 = sqlx::query_scalar(&used_sql)
                .bind(actor_id)
                .bind(now_ms - DAY_MS)
                .fetch_one(pool)
                .await?;
            Ok(over_cap(used, amount, daily_cap).map_or(Ok(()), Err))
        })
    }

    fn decode<R>(row: &R) -> Result<TxnRow, DbError>
    where
        R: Row,
        for<'r> &'r str: ColumnIndex<R>,
        for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
        for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
        for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
        for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    {
        let id: String = row.try_get("txn_id")?;
        let corrupt = || DbError::Corrupt(id.clone());
        let txn: TxnId = id.parse().map_err(|_| corrupt())?;
        let op = match row.try_get::<String, _>("op")?.as_str() {
            "give" => Op::Give,
            "deduct" => Op::Deduct,
            _ => return Err(corrupt()),
        };
        let outcome = stored_outcome(
            &row.try_get::<String, _>("state")?,
            row.try_get("reject_reason")?,
            row.try_get("balance_after")?,
            row.try_get("committed_by")?,
        )
        .ok_or_else(corrupt)?;
        let user_id: i64 = row.try_get("user_id")?;
        let reverses = match row.try_get::<Option<String>, _>("reverses")? {
            Some(original) => Some(original.parse::<TxnId>().map_err(|_| corrupt())?),
            None => None,
        };
        Ok(TxnRow {
            actor_id: row.try_get("actor_id")?,
            actor_name: row.try_get("actor_name")?,
            user_id: u64::try_from(user_id).map_err(|_| corrupt())?,
            op,
            amount: row.try_get("amount")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            message: row.try_get("message")?,
            settled_at: row.try_get("settled_at")?,
            outcome,
            txn,
            reverses,
        })
    }

    /// The bot's reversal of `original`, if it ever issued one (whatever its outcome).
    pub async fn reversal_of(&self, original: &TxnId) -> Result<Option<TxnRow>, DbError> {
        let sql = self.sql("SELECT * FROM txns WHERE reverses = ?");
        on_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(original.as_str())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(Self::decode).transpose()
        })
    }

    /// The row of `txn`, if the bot knows it.
    pub async fn get(&self, txn: &TxnId) -> Result<Option<TxnRow>, DbError> {
        let sql = self.sql("SELECT * FROM txns WHERE txn_id = ?");
        on_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(txn.as_str())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(Self::decode).transpose()
        })
    }

    /// Every txn still pending, oldest first.
    pub async fn pending(&self) -> Result<Vec<TxnRow>, DbError> {
        let sql = "SELECT * FROM txns WHERE state = 'pending' ORDER BY created_at";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(Self::decode).collect()
        })
    }

    /// Records how a pending txn settled (first settlement wins; a replay's original is what is
    /// stored) and, for a txn the bot committed itself, the audit record to post. Returns the
    /// outcome now stored.
    pub async fn settle(
        &self,
        txn: &TxnId,
        outcome: &Outcome,
        audit_record: Option<&AuditRecord>,
        now_ms: i64,
    ) -> Result<Outcome, DbError> {
        let (name, reason, balance, by) = match outcome.settled() {
            Outcome::Pending => return Ok(Outcome::Pending),
            Outcome::Applied {
                balance_after,
                committed_by,
            } => (
                "applied",
                None,
                Some(*balance_after),
                Some(committed_by.to_string()),
            ),
            Outcome::Rejected { reason, balance } => {
                ("rejected", Some(reason.as_str()), Some(*balance), None)
            }
            Outcome::NotDelivered => ("not_delivered", None, None, None),
            Outcome::AlreadyProcessed { .. } => unreachable!("settled() unwraps replays"),
        };
        let record = audit_record.and_then(|r| serde_json::to_string(r).ok());
        let sql = self.sql(
            "UPDATE txns SET state = ?, reject_reason = ?, balance_after = ?, committed_by = ?,
                             settled_at = ?, audit_record = ?
             WHERE txn_id = ? AND state = 'pending'",
        );
        on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(name)
                .bind(reason)
                .bind(balance)
                .bind(by)
                .bind(now_ms)
                .bind(record)
                .bind(txn.as_str())
                .execute(pool)
                .await?;
        });
        Ok(self
            .get(txn)
            .await?
            .map(|r| r.outcome)
            .unwrap_or(Outcome::Pending))
    }

    /// Roblox ids of the players most recently named by a give / deduct, newest first, at most
    /// `limit` (for the `user` option's suggestions).
    pub async fn recent_targets(&self, limit: u32) -> Result<Vec<u64>, DbError> {
        let sql = self
            .sql("SELECT user_id FROM txns GROUP BY user_id ORDER BY MAX(created_at) DESC LIMIT ?");
        let ids: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(&sql)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(ids
            .into_iter()
            .filter_map(|id| u64::try_from(id).ok())
            .collect())
    }

    /// Records a Discord gateway start at `now_ms`, forgets starts older than a day, and answers
    /// the starts of the last 24 hours (this one included), oldest first.
    pub async fn record_gateway_start(&self, now_ms: i64) -> Result<Vec<i64>, DbError> {
        let day_ago = now_ms - 86_400_000;
        let forget = self.sql("DELETE FROM gateway_starts WHERE at_ms <= ?");
        let insert = self.sql("INSERT INTO gateway_starts (at_ms) VALUES (?)");
        let select = self.sql("SELECT at_ms FROM gateway_starts WHERE at_ms > ? ORDER BY at_ms");
        let starts: Vec<i64> = on_pool!(self, pool => {
            sqlx::query(&forget).bind(day_ago).execute(pool).await?;
            sqlx::query(&insert).bind(now_ms).execute(pool).await?;
            sqlx::query_scalar(&select)
                .bind(day_ago)
                .fetch_all(pool)
                .await?
        });
        Ok(starts)
    }

    /// Marks the audit record of `txn` as acknowledged by the audit API.
    pub async fn mark_audit_acked(&self, txn: &TxnId) -> Result<(), DbError> {
        let sql = self.sql("UPDATE txns SET audit_acked = 1 WHERE txn_id = ?");
        on_pool!(self, pool => {
            sqlx::query(&sql).bind(txn.as_str()).execute(pool).await?;
        });
        Ok(())
    }

    /// Whether the audit API acknowledged `txn`'s record.
    pub async fn audit_acked(&self, txn: &TxnId) -> Result<bool, DbError> {
        let sql = self.sql("SELECT audit_acked FROM txns WHERE txn_id = ?");
        let v: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(&sql)
                .bind(txn.as_str())
                .fetch_optional(pool)
                .await?
        });
        Ok(v == Some(1))
    }

    /// Audit records the bot committed that the API has not acknowledged yet.
    pub async fn unacked_records(&self) -> Result<Vec<AuditRecord>, DbError> {
        let sql = "SELECT txn_id, audit_record FROM txns
                   WHERE audit_record IS NOT NULL AND audit_acked = 0 ORDER BY created_at";
        let rows: Vec<(String, String)> =
            on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(id, text)| serde_json::from_str(&text).map_err(|_| DbError::Corrupt(id)))
            .collect()
    }

    /// How many audit records wait for acknowledgement (the retry queue, for metrics).
    pub async fn unacked_count(&self) -> Result<i64, DbError> {
        let sql = "SELECT CAST(COUNT(*) AS BIGINT) FROM txns
                   WHERE audit_record IS NOT NULL AND audit_acked = 0";
        Ok(on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?))
    }

    /// Settled txns not yet posted to the log channel (waiting or in backoff, not dead
    /// letters), oldest settlement first.
    pub async fn unlogged(&self, limit: u32) -> Result<Vec<TxnRow>, DbError> {
        let sql = self.sql(
            "SELECT * FROM txns WHERE logged = 0 AND state <> 'pending'
             ORDER BY settled_at LIMIT ?",
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(Self::decode).collect()
        })
    }

    /// Settled txns due for a log-channel post at `now_ms` (not posted, not claimed, not in
    /// backoff, not dead letters), oldest settlement first, with their failed attempts so far.
    pub async fn log_due(&self, now_ms: i64, limit: u32) -> Result<Vec<(TxnRow, u32)>, DbError> {
        let sql = self.sql(
            "SELECT * FROM txns WHERE logged = 0 AND state <> 'pending' AND log_next_at <= ?
             ORDER BY settled_at LIMIT ?",
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(&sql)
                .bind(now_ms)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let row = Self::decode(r)?;
                    let attempts: i64 = r.try_get("log_attempts")?;
                    Ok((row, u32::try_from(attempts).unwrap_or(u32::MAX)))
                })
                .collect()
        })
    }

    /// Claims `txn` for one log-channel post until `now_ms + lease_ms` (so bot replicas do not
    /// post it at once); `false` when it is not due (another poster holds it, or it was posted).
    /// A claim that lapses (the process died mid-post) makes the txn due again: at-least-once.
    pub async fn claim_log(
        &self,
        txn: &TxnId,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, DbError> {
        let sql = self.sql(
            "UPDATE txns SET log_next_at = ?
             WHERE txn_id = ? AND logged = 0 AND state <> 'pending' AND log_next_at <= ?",
        );
        let done = on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(now_ms.saturating_add(lease_ms))
                .bind(txn.as_str())
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Marks `txn` posted: Discord accepted its log-channel message.
    pub async fn mark_logged(&self, txn: &TxnId) -> Result<(), DbError> {
        let sql = self.sql("UPDATE txns SET logged = 1, log_error = NULL WHERE txn_id = ?");
        on_pool!(self, pool => {
            sqlx::query(&sql).bind(txn.as_str()).execute(pool).await?;
        });
        Ok(())
    }

    /// Records a failed log-channel post of `txn`: its failed attempts so far, when to try
    /// next, the error, and whether it is now a dead letter (never tried again until retried).
    pub async fn log_failed(&self, txn: &TxnId, failure: &LogFailure<'_>) -> Result<(), DbError> {
        let sql = self.sql(
            "UPDATE txns SET log_attempts = ?, log_next_at = ?, log_error = ?, logged = ?
             WHERE txn_id = ? AND logged = 0",
        );
        on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(i64::from(failure.attempts))
                .bind(failure.next_at_ms)
                .bind(failure.error)
                .bind(if failure.dead { 2_i64 } else { 0 })
                .bind(txn.as_str())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The log channel's dead letters, oldest settlement first.
    pub async fn log_dead_letters(&self) -> Result<Vec<DeadLetter>, DbError> {
        let sql = self.sql(
            "SELECT txn_id, settled_at, log_attempts, log_error FROM txns WHERE logged = 2
             ORDER BY settled_at",
        );
        let rows: Vec<(String, Option<i64>, i64, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, settled_at, attempts, error)| {
                Ok(DeadLetter {
                    txn: id.parse().map_err(|_| DbError::Corrupt(id.clone()))?,
                    settled_at_ms: settled_at.unwrap_or_default(),
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    error: error.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Puts dead letters back in the queue with a fresh attempt count: `txn` only, or all of
    /// them. Returns how many came back (0 when `txn` is not a dead letter).
    pub async fn retry_dead_letters(&self, txn: Option<&TxnId>) -> Result<u64, DbError> {
        let sql = self.sql(
            "UPDATE txns SET logged = 0, log_attempts = 0, log_next_at = 0
             WHERE logged = 2 AND (? OR txn_id = ?)",
        );
        let done = on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(txn.is_none())
                .bind(txn.map(TxnId::as_str).unwrap_or_default())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    /// Log-channel counts for monitoring: (settled txns waiting to be posted, dead letters).
    pub async fn log_counts(&self) -> Result<(i64, i64), DbError> {
        // Two counts over the two partial indexes (the posted rows are never scanned).
        let sql = "SELECT
            CAST((SELECT COUNT(*) FROM txns WHERE logged = 0 AND state <> 'pending') AS BIGINT),
            CAST((SELECT COUNT(*) FROM txns WHERE logged = 2) AS BIGINT)";
        Ok(on_pool!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?))
    }
}
