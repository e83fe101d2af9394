//! Storage failures; clients only ever see a generic 503/500.

/// A storage failure. The text is for logs; clients only ever see a generic 503/500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or was unreachable.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The group transaction this write was part of could not reach the database (nothing stored).
    #[error("group commit failed: {0}")]
    Group(String),
    /// The write failed for another reason (nothing stored).
    #[error("write failed: {0}")]
    Failed(String),
    /// A stored response could not be encoded or decoded.
    #[error("stored response is not valid JSON")]
    Encoding,
    /// A total over the asked range exceeds 2^53 - 1 (JSON-safe integers).
    #[error("a total exceeds 2^53 - 1")]
    TotalsTooLarge,
}

impl StoreError {
    /// True when the database is temporarily unavailable (pool timeout, connection loss, busy).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
                ) || e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "5" || c == "6" || c == "40001" || c == "40P01")
            }
            StoreError::Group(_) => true,
            _ => false,
        }
    }
}
