//! Read queries: one user's rows through the bucketed index, and chain pages for verification.

use crate::chain::LogRow;
use crate::store::{COLUMNS, Conditions, ListBind, ListFilter, StoreError, decode_log_row};
use sqlx::sqlite::SqlitePool;

/// The per-user index's bucket size as a shift: `seq >> USER_BUCKET_BITS` is the first key of
/// `audit_log_user_recent` (migrations/sqlite/0002_user_index_by_bucket.sql) and must match it.
pub(crate) const USER_BUCKET_BITS: u32 = 12;

/// The list query for one user's rows, newest first. The user index is keyed by bucket first, so
/// the query walks buckets down from the newest, counting matches through the index, and stops
/// once it has seen `limit` of them; the rows are then read from the buckets walked. A user with
/// no rows costs one index probe per bucket (about 2,500 per ten million rows).
pub(super) fn user_list_sql(filter: &ListFilter) -> (String, Vec<ListBind>) {
    let mut c = Conditions::of(filter);
    let conds = c.clauses.join(" AND ");
    let limit = c.param(ListBind::Int(filter.limit));
    let top = match filter.before_seq {
        Some(before) => format!(" WHERE seq < {}", c.param(ListBind::Int(before))),
        None => String::new(),
    };
    let bits = USER_BUCKET_BITS;
    let sql = format!(
        "WITH RECURSIVE walk(b, found) AS (\
            SELECT (SELECT coalesce(max(seq), 0) FROM audit_log{top}) >> {bits}, 0 \
            UNION ALL \
            SELECT walk.b - 1, walk.found + (SELECT count(*) FROM audit_log \
                WHERE (seq >> {bits}) = walk.b AND {conds}) \
            FROM walk WHERE walk.b > 0 AND walk.found < {limit}) \
         SELECT {COLUMNS} FROM audit_log WHERE (seq >> {bits}) IN (SELECT b FROM walk) \
         AND {conds} ORDER BY seq DESC LIMIT {limit}"
    );
    (sql, c.binds)
}

/// Rows with seq > `after`, ascending (also used by the read-only verifier).
pub(crate) async fn chain_page(
    pool: &SqlitePool,
    after: i64,
    limit: i64,
) -> Result<Vec<LogRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| decode_log_row!(r).map_err(StoreError::from))
        .collect()
}
