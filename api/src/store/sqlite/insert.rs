//! Multi-row INSERTs of audit-log and idempotency-key rows, in power-of-two chunks whose SQL text
//! is built once per size.

use crate::chain::LogRow;
use crate::store::StoreError;
use crate::store::group::KeyRow;
use crate::store::summary::{Counters, add_counters};
use sqlx::sqlite::SqliteConnection;
use std::sync::OnceLock;

// Inserts bind every column of up to `MAX_CHUNK` rows in one multi-row VALUES statement. Unpacking
// a JSON array in SQL cost the single writer about a third of its time; binding is cheap as long
// as the placeholders are anonymous `?`: sqlx looks up each numbered parameter's name, a linear
// scan inside SQLite, which makes `$N` quadratic in a statement's width. Chunks are powers of two
// so a connection caches at most ten statements per table.
pub(super) const MAX_CHUNK: usize = 512;
pub(super) const LOG_COLUMNS: usize = 20;
// SQLite refuses statements with more than 32,766 parameters.
const _: () = assert!(MAX_CHUNK * LOG_COLUMNS <= 32_766);
pub(super) static LOG_INSERT: Insert = Insert::new(
    "INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
     balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, \
     received_at, key_id, prev_hash, row_hash, reverses) VALUES ",
    LOG_COLUMNS,
    "",
);
pub(super) static KEY_INSERT: Insert = Insert::new(
    "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_code, \
     response_body, created_at) VALUES ",
    6,
    "",
);
/// Summary cells (hour, key, seven counters): added to the stored cell on conflict.
pub(super) static ACTOR_SUMMARY_UPSERT: Insert = Insert::new(
    "INSERT INTO totals_by_actor (hour, actor_id, given_hi, given_lo, deducted_hi, deducted_lo, \
     gives, deducts, rejected) VALUES ",
    SUMMARY_COLUMNS,
    "hour, actor_id",
);
pub(super) static USER_SUMMARY_UPSERT: Insert = Insert::new(
    "INSERT INTO totals_by_user (hour, user_id, given_hi, given_lo, deducted_hi, deducted_lo, \
     gives, deducts, rejected) VALUES ",
    SUMMARY_COLUMNS,
    "hour, user_id",
);
const SUMMARY_COLUMNS: usize = 9;

/// A multi-row INSERT: its head up to `VALUES`, its column count, the conflict target of a
/// summary upsert (empty for plain inserts), and its SQL text per chunk size.
pub(super) struct Insert {
    pub(super) head: &'static str,
    columns: usize,
    conflict: &'static str,
    sql: OnceLock<Vec<String>>,
}

impl Insert {
    const fn new(head: &'static str, columns: usize, conflict: &'static str) -> Self {
        Self {
            head,
            columns,
            conflict,
            sql: OnceLock::new(),
        }
    }

    /// The SQL text for `rows` (a power of two up to `MAX_CHUNK`), built once per size.
    pub(super) fn sql(&'static self, rows: usize) -> &'static str {
        let all = self.sql.get_or_init(|| {
            (0..=MAX_CHUNK.trailing_zeros())
                .map(|p| {
                    let mut sql = values_sql(self.head, self.columns, 1 << p);
                    if !self.conflict.is_empty() {
                        let table = self.head.split_whitespace().nth(2).unwrap_or_default();
                        sql.push_str(&format!(
                            " ON CONFLICT ({}) DO UPDATE SET {}",
                            self.conflict,
                            add_counters(table)
                        ));
                    }
                    sql
                })
                .collect()
        });
        all[rows.trailing_zeros() as usize].as_str()
    }
}

/// `head` followed by `rows` tuples of `columns` anonymous placeholders.
pub(super) fn values_sql(head: &str, columns: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; columns].join(","));
    format!("{head}{}", vec![tuple; rows].join(","))
}

/// Splits `len` items into power-of-two chunks of at most `MAX_CHUNK`, largest first.
pub(super) fn chunks(len: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let left = len - at;
        (left > 0).then(|| {
            let size = if left >= MAX_CHUNK {
                MAX_CHUNK
            } else {
                1 << left.ilog2()
            };
            at += size;
            at - size..at
        })
    })
}

/// A query with its SQLite arguments.
type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Inserts `items` in chunks, `bind` adding one item's columns in the statement's order.
pub(super) async fn insert_chunked<T>(
    conn: &mut SqliteConnection,
    insert: &'static Insert,
    items: &[T],
    bind: for<'q> fn(SqliteQuery<'q>, &'q T) -> SqliteQuery<'q>,
) -> Result<(), StoreError> {
    for range in chunks(items.len()) {
        let q = sqlx::query(insert.sql(range.len()));
        items[range]
            .iter()
            .fold(q, bind)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Binds one audit-log row in `LOG_INSERT`'s column order.
pub(super) fn bind_row<'q>(q: SqliteQuery<'q>, r: &'q LogRow) -> SqliteQuery<'q> {
    q.bind(r.seq)
        .bind(&r.txn_id)
        .bind(&r.source)
        .bind(r.user_id)
        .bind(&r.op)
        .bind(r.amount)
        .bind(&r.outcome)
        .bind(&r.reject_reason)
        .bind(r.balance_after)
        .bind(&r.reason)
        .bind(&r.actor_id)
        .bind(&r.actor_name)
        .bind(&r.server_job_id)
        .bind(r.issued_at)
        .bind(r.applied_at)
        .bind(r.received_at)
        .bind(&r.key_id)
        .bind(&r.prev_hash)
        .bind(&r.row_hash)
        .bind(&r.reverses)
}

/// Binds one idempotency-key row in `KEY_INSERT`'s column order.
pub(super) fn bind_key<'q>(q: SqliteQuery<'q>, k: &'q KeyRow) -> SqliteQuery<'q> {
    q.bind(&k.client_id)
        .bind(&k.idem_key)
        .bind(&k.fingerprint)
        .bind(i64::from(k.response.status))
        .bind(&k.response.body)
        .bind(k.created_at)
}

/// Binds one per-actor summary cell in `ACTOR_SUMMARY_UPSERT`'s column order.
pub(super) fn bind_actor_cell<'q>(
    q: SqliteQuery<'q>,
    cell: &'q ((i64, String), Counters),
) -> SqliteQuery<'q> {
    let ((hour, actor), c) = cell;
    c.iter().fold(q.bind(*hour).bind(actor), |q, v| q.bind(*v))
}

/// Binds one per-user summary cell in `USER_SUMMARY_UPSERT`'s column order.
pub(super) fn bind_user_cell<'q>(
    q: SqliteQuery<'q>,
    cell: &'q ((i64, i64), Counters),
) -> SqliteQuery<'q> {
    let ((hour, user), c) = cell;
    c.iter().fold(q.bind(*hour).bind(*user), |q, v| q.bind(*v))
}
