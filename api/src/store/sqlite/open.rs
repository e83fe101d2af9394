//! Opening the database: connection settings (WAL, durability, busy timeout), migrations, the read
//! pool, and the writer task on a thread of its own.

use super::writer::writer_loop;
use crate::notify::Notifier;
use crate::store::StoreError;
use crate::store::group::Job;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Durability of a commit (`PRAGMA synchronous` in WAL mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSync {
    /// fsync on every commit: a 2xx survives power loss.
    Full,
    /// fsync at checkpoints only: survives process crashes, may lose the last commits on power loss.
    Normal,
}

/// The SQLite store.
///
/// SQLite has one writer at a time, so writes go to a single writer task (on its own thread, with
/// its own connection) that commits whatever has queued up meanwhile in one `BEGIN IMMEDIATE`
/// transaction (group commit, `group`) with a handful of statements. Answers are sent only after the commit, so a 2xx always means
/// durable (at the configured `synchronous` level).
pub struct SqliteStore {
    pub(super) write: SqlitePool,
    pub(super) read: SqlitePool,
    pub(super) notifier: Notifier,
    pub(super) jobs: mpsc::Sender<Job>,
    pub(super) writer: AbortHandle,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// WAL pages between automatic checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 4_000;

/// Connect options with the durability and concurrency settings every connection needs.
pub fn connect_options(url: &str, sync: SqliteSync) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match sync {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        })
        .busy_timeout(Duration::from_secs(5))
        // Checkpoint every 4,000 WAL pages (16 MiB at 4 KiB) instead of SQLite's 1,000: index
        // pages that many commits dirty are copied back once per checkpoint, so batch loads
        // write less (docs/benchmarks.md).
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
        .foreign_keys(true))
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://path`).
    pub async fn connect(
        url: &str,
        sync: SqliteSync,
        read_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let opts = connect_options(url, sync)?;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(read_connections.max(1))
            .acquire_timeout(acquire_timeout)
            .connect_with(opts.clone().read_only(true))
            .await?;
        let notifier = Notifier::new();
        let (jobs, rx) = mpsc::channel(4096);
        let writer = spawn_writer(writer_loop(opts.clone(), rx, notifier.clone()))?;
        Ok(Self {
            write,
            read,
            notifier,
            jobs,
            writer,
        })
    }
}

/// Runs the writer task on a thread of its own. Every group crosses several awaits between the
/// task and SQLite's worker thread; on the shared runtime each of those waited behind the HTTP
/// tasks parsing the next requests, which left the database idle for milliseconds per group.
fn spawn_writer(
    task: impl Future<Output = ()> + Send + 'static,
) -> Result<AbortHandle, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
    let handle = runtime.spawn(task);
    let abort = handle.abort_handle();
    std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || {
            // Ends when the task returns or is aborted by `close`.
            let _ = runtime.block_on(handle);
        })
        .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
    Ok(abort)
}
