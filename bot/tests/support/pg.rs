//! PostgreSQL for tests: a database of its own per call, on `DATABASE_URL_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`), made by `api::test_database`. Unreachable → the
//! test FAILS. Left for the sweep, which drops test databases once they are stale.

/// Creates a new database and returns its URL.
pub async fn fresh_database_url() -> String {
    let db = api::test_database::TestDatabase::create()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.url().to_owned()
}
