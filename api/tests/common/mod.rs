//! Test harness: a fresh database per test (temp-dir SQLite or a PostgreSQL database of its own),
//! a server on a free port, and signed clients with different scopes.
#![allow(dead_code)]

use api::client::SignedRequest;
use api::test_database::TestDatabase;
use api::testing::TestKeys;
use api::{AuditClient, Config, Database, RunningServer};
use shared::{AuditRecord, TxnId};
use sqlx::Row as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// PostgreSQL: the test's own database (dropped by [`TestDb::drop_database`]).
    pub pg: Option<TestDatabase>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("audit.db").display());
                Self {
                    backend,
                    url,
                    pg: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                // A database of its own: advisory locks and migrations are per database, so
                // tests in one shared database could stall and deadlock each other.
                let pg = TestDatabase::create()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                Self {
                    backend,
                    url: pg.url().to_owned(),
                    pg: Some(pg),
                    _dir: None,
                }
            }
        }
    }

    pub fn database(&self) -> Database {
        match self.backend {
            Backend::Sqlite => Database::Sqlite(self.url.clone()),
            Backend::Postgres => Database::Postgres(self.url.clone()),
        }
    }

    /// Runs raw SQL statements (the test's "operator with database access").
    pub async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await?;
                let r = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                r
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await?;
                let r = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                r
            }
        }
    }

    /// `SELECT count(*)` of a table.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                let n: i64 = sqlx::query(&sql).fetch_one(&pool).await.unwrap().get(0);
                pool.close().await;
                n
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                let n: i64 = sqlx::query(&sql).fetch_one(&pool).await.unwrap().get(0);
                pool.close().await;
                n
            }
        }
    }

    /// Rows in the log and stored idempotency keys.
    pub async fn stored(&self) -> (i64, i64) {
        (
            self.count("audit_log").await,
            self.count("idempotency_keys").await,
        )
    }

    /// Drops the PostgreSQL database (SQLite's directory goes with the value).
    pub async fn drop_database(self) {
        if let Some(pg) = self.pg {
            pg.drop_database().await;
        }
    }
}

pub struct TestApp {
    pub db: TestDb,
    /// This app's own keys (no other test's server accepts them).
    pub keys: TestKeys,
    pub server: RunningServer,
    pub base: String,
    /// read+write
    pub client: AuditClient,
    /// write only
    pub writer: AuditClient,
    /// read only
    pub reader: AuditClient,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(backend).await;
        Self::start_on(db, tweak).await
    }

    pub async fn start_on(db: TestDb, tweak: impl FnOnce(&mut Config)) -> Self {
        let keys = TestKeys::generate();
        let mut config = Config::new(db.database(), keys.ring());
        tweak(&mut config);
        let server = api::spawn_for_test(config).await.unwrap();
        let base = server.base_url();
        Self {
            client: AuditClient::new(&base, keys.bot.clone()),
            writer: AuditClient::new(&base, keys.game.clone()),
            reader: AuditClient::new(&base, keys.ops.clone()),
            keys,
            http: reqwest::Client::new(),
            base,
            server,
            db,
        }
    }

    /// A second server instance on the same database (replicas).
    pub async fn replica(&self) -> RunningServer {
        let config = Config::new(self.db.database(), self.keys.ring());
        api::spawn_for_test(config).await.unwrap()
    }

    /// Signs a POST of `body` with the write key (a fresh idempotency key, now).
    pub fn signed_post(&self, body: Vec<u8>) -> SignedRequest {
        self.writer
            .sign(
                "POST",
                "/log/transactions",
                "",
                Some(&idem()),
                body,
                now_secs(),
            )
            .unwrap()
    }

    /// The server's `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn finish(self) {
        self.server.shutdown().await.unwrap();
        self.db.drop_database().await;
    }
}

/// A valid game record for `user` with a fresh txn id.
pub fn record(user: u64, amount: i64) -> AuditRecord {
    serde_json::from_value(serde_json::json!({
        "txnId": TxnId::generate().to_string(),
        "source": "game",
        "userId": user,
        "op": "give",
        "amount": amount,
        "outcome": "applied",
        "balanceAfter": amount,
        "reason": "quest reward",
        "serverJobId": "job-1",
        "issuedAt": 1_700_000_000_000i64,
        "appliedAt": 1_700_000_000_000i64 + amount,
    }))
    .unwrap()
}

/// A discord record by `actor`.
pub fn discord_record(user: u64, actor: &str, amount: i64) -> AuditRecord {
    serde_json::from_value(serde_json::json!({
        "txnId": TxnId::generate().to_string(),
        "source": "discord",
        "userId": user,
        "op": "give",
        "amount": amount,
        "outcome": "applied",
        "balanceAfter": amount,
        "reason": "staff grant",
        "actorId": actor,
        "actorName": "Mod",
        "issuedAt": 1_700_000_000_000i64,
        "appliedAt": 1_700_000_000_000i64 + amount,
    }))
    .unwrap()
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn idem() -> String {
    ulid::Ulid::new().to_string()
}

/// Generates `mod name { sqlite, postgres }` tests running `body(TestApp)` on each backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Holds the writer lock from outside (SQLite: a write transaction; PostgreSQL: the chain's
/// advisory lock) so a request stays in flight, and returns a closure-free guard to release it.
pub async fn hold_writer(app: &TestApp) -> Box<dyn std::any::Any + Send> {
    match app.db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            let mut conn = pool.acquire().await.unwrap().detach();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgPool::connect(&app.db.url)
                .await
                .unwrap()
                .acquire()
                .await
                .unwrap()
                .detach();
            sqlx::query("SELECT pg_advisory_lock(17731, 1)")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
    }
}

/// Bound for a failing test only: every wait below is for a condition.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits until `server` has taken in `n` POSTs it has not answered yet (each is then waiting on
/// the database), instead of sleeping and hoping they arrived.
pub async fn wait_for_writes_in_flight(server: &RunningServer, n: usize) {
    let deadline = std::time::Instant::now() + WAIT;
    while server.writes_in_flight() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} writes reached the server",
            server.writes_in_flight()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// PostgreSQL: waits until `n` sessions of this test's own database wait for an advisory lock
/// (a write blocked on the chain lock has taken its key's lock first).
pub async fn wait_for_lock_waiters(db: &TestDb, n: i64) {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting >= n {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} of {n} sessions wait for the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    pool.close().await;
}
