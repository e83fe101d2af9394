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

/// Schemas older than this are left over from earlier runs (a test lasts minutes at most).
const STALE_AFTER_MS: u128 = 6 * 60 * 60 * 1000;

/// Creates a uniquely named schema and returns a URL whose connections use it.
pub async fn fresh_schema_url() -> String {
    let admin = admin_url();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // The creation time leads the name, so a later sweep can tell stale schemas from live ones.
    let schema = format!(
        "bot_test_{now_ms}_{}_{}",
        std::process::id(),
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
    // Drop schemas left over by earlier runs, once per process, so the test database does not
    // fill up. Only old ones: other test processes may be running right now (the flake hunt and
    // CI run several at once), and their schemas are young.
    if !SWEPT.swap(true, Ordering::SeqCst) {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'bot\\_test\\_%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for old in names.iter().filter(|n| is_stale(n, now_ms)) {
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

/// Whether a `bot_test_<created ms>_…` schema is older than [`STALE_AFTER_MS`]; names of the
/// older layout (no creation time) are stale.
fn is_stale(name: &str, now_ms: u128) -> bool {
    let created = name
        .strip_prefix("bot_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|ms| ms.parse::<u128>().ok())
        .filter(|ms| *ms > 1_000_000_000_000);
    created.is_none_or(|ms| now_ms.saturating_sub(ms) > STALE_AFTER_MS)
}
