//! PostgreSQL databases for tests (feature `test-support`): a fresh database per test on the
//! server named by `DATABASE_URL_PG`, for every crate's tests.
//!
//! A schema per test in one shared database was not enough: advisory locks and the migration
//! lock belong to a database, so a test holding the log's chain lock stalled every other test's
//! migrations, in every test process at once, and two such tests could deadlock. A database of
//! its own gives each test its own locks, LISTEN channels and migrations.

use sqlx::Connection;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the test databases are made when `DATABASE_URL_PG` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Every test database's name starts with this (the sweep drops only these).
const PREFIX: &str = "eb_test_";
/// A test database older than this is left over by a test that ended without dropping it (a
/// panic, a killed process): a test lasts minutes at most.
const STALE_AFTER_MS: u128 = 30 * 60 * 1000;

static NEXT: AtomicU32 = AtomicU32::new(0);
static SWEPT: AtomicBool = AtomicBool::new(false);

/// Why a test database could not be had (never carries the URL: it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum TestDatabaseError {
    /// The server did not answer or refused the connection.
    #[error("PostgreSQL (DATABASE_URL_PG) is required for this test and could not be reached: {0}")]
    Unreachable(sqlx::Error),
    /// The server refused a statement.
    #[error("PostgreSQL refused to {what}: {source}")]
    Refused {
        /// What was asked.
        what: &'static str,
        /// The server's answer.
        source: sqlx::Error,
    },
}

/// The server to make test databases on: `DATABASE_URL_PG`, else [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL_PG")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its database (the path) replaced by `database`, the query kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_at..]
        .find('/')
        .map_or(base.len(), |i| authority_at + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database made for one test; [`TestDatabase::drop_database`] removes it, and one left
/// behind is dropped by a later test process once stale.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin: String,
}

impl TestDatabase {
    /// Makes a new, empty database.
    pub async fn create() -> Result<Self, TestDatabaseError> {
        let admin = admin_url();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        // The creation time leads the name, so a later sweep can tell stale databases from live
        // ones; the process id and a counter keep names apart.
        let name = format!(
            "{PREFIX}{now_ms}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(TestDatabaseError::Unreachable)?;
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep(&mut conn, now_ms).await;
        }
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .map_err(|source| TestDatabaseError::Refused {
                what: "create a test database",
                source,
            })?;
        let _ = conn.close().await;
        Ok(Self {
            url: with_database(&admin, &name),
            name,
            admin,
        })
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, closing any connection still open to it (best effort: a database
    /// that cannot be dropped now is swept later).
    pub async fn drop_database(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            drop_named(&mut conn, &self.name).await;
            let _ = conn.close().await;
        }
    }
}

/// Drops the test databases older than [`STALE_AFTER_MS`] (once per process: other test
/// processes may be running right now, and their databases are young).
async fn sweep(conn: &mut sqlx::PgConnection, now_ms: u128) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'eb\\_test\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for old in names.iter().filter(|n| is_stale(n, now_ms)) {
        drop_named(conn, old).await;
    }
}

/// Drops one test database, closing its connections (best effort).
async fn drop_named(conn: &mut sqlx::PgConnection, name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let _ = sqlx::raw_sql(&sql).execute(&mut *conn).await;
}

/// Whether an `eb_test_<created ms>_…` database is older than [`STALE_AFTER_MS`].
fn is_stale(name: &str, now_ms: u128) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|ms| ms.parse::<u128>().ok())
        .is_some_and(|ms| now_ms.saturating_sub(ms) > STALE_AFTER_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn only_old_test_databases_are_stale() {
        let now = 10 * STALE_AFTER_MS;
        let old = format!("{PREFIX}{}_1_0", now - STALE_AFTER_MS - 1);
        let young = format!("{PREFIX}{}_1_0", now - 1000);
        assert!(is_stale(&old, now));
        assert!(!is_stale(&young, now));
        assert!(!is_stale("eb_test_notatime", now));
    }
}
