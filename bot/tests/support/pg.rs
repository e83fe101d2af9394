//! PostgreSQL for tests: a fresh schema per call on `DATABASE_URL_PG`
//! (default `postgres://postgres@127.0.0.1:5432/test`). Unreachable → the test FAILS.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);
static SWEPT: AtomicBool = AtomicBool::new(false);

/// The admin URL.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Creates a uniquely named schema and returns a URL whose connections use it.
pub async fn fresh_schema_url() -> String {
    let admin = admin_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!(
        "bot_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is required for this test (set DATABASE_URL_PG): {e}")
        });
    // Test binaries run one after another, so schemas of other processes are left over from
    // earlier runs: drop them once per process so the test database does not fill up.
    if !SWEPT.swap(true, Ordering::SeqCst) {
        let mine = format!("bot_test_{}_", std::process::id());
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'bot\\_test\\_%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for old in stale.iter().filter(|s| !s.starts_with(&mine)) {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {old} CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options=-c%20search_path%3D{schema}")
}
