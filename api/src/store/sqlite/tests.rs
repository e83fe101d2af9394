use super::insert::{LOG_COLUMNS, LOG_INSERT, MAX_CHUNK, chunks, values_sql};
use super::queries::{USER_BUCKET_BITS, user_list_sql};
use super::{SqliteStore, SqliteSync};
use crate::store::{ListBind, ListFilter, Store, list_sql};
use sqlx::Row as _;
use std::time::Duration;

#[test]
fn chunks_cover_every_item_once_in_cached_sizes() {
    for len in 0..=3 * MAX_CHUNK + 7 {
        let mut next = 0;
        let mut last = usize::MAX;
        for range in chunks(len) {
            assert_eq!(range.start, next, "len {len}: chunks are contiguous");
            let size = range.len();
            assert!(
                size.is_power_of_two() && size <= MAX_CHUNK,
                "len {len}: {size}"
            );
            assert!(size <= last, "len {len}: largest first");
            last = size;
            next = range.end;
        }
        assert_eq!(next, len, "len {len}: every item is covered");
    }
}

#[test]
fn each_chunk_statement_has_one_placeholder_per_value() {
    let mut size = 1;
    while size <= MAX_CHUNK {
        let sql = LOG_INSERT.sql(size);
        assert!(sql.starts_with(LOG_INSERT.head));
        assert_eq!(sql.matches('?').count(), size * LOG_COLUMNS);
        assert_eq!(
            sql.matches('(').count(),
            size + 1,
            "the column list and one tuple per row"
        );
        size *= 2;
    }
    assert_eq!(values_sql("X ", 2, 3), "X (?,?),(?,?),(?,?)");
}

/// A store holding `n` rows written straight into the table: users 100–112 on every row but
/// the sparse user 7 on every 997th, Discord actors on every fifth, appliedAt = seq × 10.
async fn store_with_rows(n: i64) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = SqliteStore::connect(&url, SqliteSync::Normal, 2, Duration::from_secs(5))
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $1) \
         INSERT INTO audit_log (seq, txn_id, source, user_id, op, amount, outcome, \
         balance_after, reason, actor_id, issued_at, applied_at, received_at, key_id, \
         prev_hash, row_hash) SELECT x, 'T' || x, 'game', \
         CASE WHEN x % 997 = 0 THEN 7 ELSE 100 + x % 13 END, 'give', 1, 'applied', 1, 'r', \
         CASE WHEN x % 5 = 0 THEN 'a' || (x % 3) END, x, x * 10, x, 'k', x'00', x'00' FROM c",
    )
    .bind(n)
    .execute(&store.write)
    .await
    .unwrap();
    (dir, store)
}

async fn seqs(store: &SqliteStore, (sql, binds): (String, Vec<ListBind>)) -> Vec<i64> {
    ListBind::query(&sql, binds)
        .fetch_all(&store.read)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect()
}

#[tokio::test]
async fn per_user_listing_uses_the_bucketed_index() {
    let (_dir, store) = store_with_rows(100).await;
    let filter = ListFilter {
        user_id: Some(7),
        before_seq: Some(50),
        limit: 10,
        ..ListFilter::default()
    };
    let (sql, binds) = user_list_sql(&filter);
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let plan: Vec<String> = ListBind::query(&explain, binds)
        .fetch_all(&store.read)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(3))
        .collect();
    let searches = plan
        .iter()
        .filter(|d| {
            d.contains("USING INDEX audit_log_user_recent")
                || d.contains("USING COVERING INDEX audit_log_user_recent")
        })
        .count();
    assert_eq!(
        searches, 2,
        "the walk and the read both search the index: {plan:#?}"
    );
    assert!(
        !plan.iter().any(|d| d.starts_with("SCAN audit_log")),
        "no full scan: {plan:#?}"
    );
    store.close().await;
}

#[tokio::test]
async fn per_user_listing_matches_a_plain_scan() {
    let rows = 5 * (1 << USER_BUCKET_BITS) + 123;
    let (_dir, store) = store_with_rows(rows).await;
    let mut checked = 0;
    for user in [7, 100, 105, 9_999] {
        for actor in [None, Some("a1".to_owned())] {
            for (since, until) in [(None, None), (Some(40_000), None), (Some(10), Some(30_000))] {
                for before_seq in [None, Some(1), Some(4_096), Some(4_097), Some(12_000)] {
                    for limit in [1, 3, 50, 2_000] {
                        let filter = ListFilter {
                            user_id: Some(user),
                            actor: actor.clone(),
                            since,
                            until,
                            before_seq,
                            limit,
                        };
                        let want = seqs(&store, list_sql(&filter)).await;
                        let got = seqs(&store, user_list_sql(&filter)).await;
                        assert_eq!(got, want, "{filter:?}");
                        checked += usize::from(!want.is_empty());
                    }
                }
            }
        }
    }
    assert!(checked > 200, "most filters match rows: {checked}");
    store.close().await;
}
