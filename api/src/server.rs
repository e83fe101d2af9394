//! Running the service: open the store, serve until shutdown, drain, close. Embeddable.

use crate::app::{AppState, InFlight, router};
use crate::config::{Config, Database};
use crate::notify::Notifier;
use crate::store::{PgStore, SqliteStore, Store, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// Accepting connections failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens (and migrates) the configured store.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &config.database {
        Database::Sqlite(url) => Arc::new(
            SqliteStore::connect(
                url,
                config.sqlite_sync,
                config.db_max_connections,
                config.db_acquire_timeout,
            )
            .await?,
        ),
        Database::Postgres(url) => Arc::new(
            PgStore::connect(url, config.db_max_connections, config.db_acquire_timeout).await?,
        ),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Limiter/metrics upkeep every minute; expired idempotency keys purged every
/// `idempotency_purge_interval` (a key older than the TTL may then be reused).
fn spawn_housekeeping(state: &AppState) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let upkeep_every = Duration::from_secs(60);
        let purge_every = state.config.idempotency_purge_interval;
        let mut tick = tokio::time::interval(upkeep_every.min(purge_every));
        let (mut last_upkeep, mut last_purge) = (Instant::now(), Instant::now());
        loop {
            tick.tick().await;
            if last_upkeep.elapsed() >= upkeep_every {
                last_upkeep = Instant::now();
                state.limiters.housekeep();
                state.metrics.run_upkeep();
            }
            if last_purge.elapsed() >= purge_every {
                last_purge = Instant::now();
                let ttl = state.config.idempotency_ttl.as_millis() as i64;
                match state.store.purge_keys(now_ms() - ttl).await {
                    Ok(k) if k > 0 => tracing::info!(purged = k, "expired idempotency keys purged"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
                }
            }
        }
    })
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, releases long-polls,
/// finishes in-flight requests and closes the store.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = open_store(&config).await?;
    serve_with_store(store, config, listener, shutdown).await
}

/// Like [`serve`], with a store opened by the caller.
pub async fn serve_with_store(
    store: Arc<dyn Store>,
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_state(AppState::new(store, config), listener, shutdown).await
}

async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = state.store.clone();
    let checkpoints = state.config.checkpoint.clone();
    let housekeeping = spawn_housekeeping(&state);
    let checkpointer = checkpoints.map(|c| {
        tokio::spawn(crate::checkpoint::run(
            store.clone(),
            c,
            state.checkpoint.clone(),
        ))
    });
    let app = router(state.clone());
    let draining = state.draining.clone();
    let notifier = store.notifier().clone();
    tracing::info!(addr = %listener.local_addr()?, backend = store.backend(), "audit API listening");
    let limits = crate::listen::Limits {
        max_connections: state.config.max_connections,
        header_read_timeout: state.config.header_read_timeout,
    };
    crate::listen::serve_connections(listener, app, limits, async move {
        shutdown.await;
        draining.store(true, Ordering::Relaxed);
        // Long-polls answer now instead of holding the shutdown for up to 30 s.
        notifier.shut_down();
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await;
    housekeeping.abort();
    if let Some(c) = checkpointer {
        c.abort();
    }
    store.close().await;
    tracing::info!("audit API stopped");
    Ok(())
}

/// A server running in the background (tests, the local sandbox).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
    inflight: InFlight,
    notifier: Notifier,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// POSTs this server has taken in and not yet answered (each holds its Idempotency-Key's
    /// in-flight mark): how a test knows a write is waiting on the database, without a sleep.
    pub fn writes_in_flight(&self) -> usize {
        self.inflight.lock().len()
    }

    /// Long-polls (`GET /log/transactions/{id}?wait=`) waiting right now.
    pub fn long_polls_waiting(&self) -> usize {
        self.notifier.waiting()
    }

    /// Graceful shutdown; waits for in-flight requests.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Opens the store, binds `listener` and serves in the background. Errors opening the store
/// are returned here rather than from the task.
pub async fn spawn(config: Config, listener: TcpListener) -> Result<RunningServer, ServeError> {
    let store = open_store(&config).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(store, config);
    let inflight = state.inflight.clone();
    let notifier = state.store.notifier().clone();
    let task = tokio::spawn(serve_state(state, listener, async move {
        let _ = rx.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(tx),
        task,
        inflight,
        notifier,
    })
}

/// Binds 127.0.0.1 on a free port and spawns: the usual way tests and the sandbox embed the API.
pub async fn spawn_for_test(config: Config) -> Result<RunningServer, ServeError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    spawn(config, listener).await
}
