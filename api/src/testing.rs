//! Audit APIs for tests and the local sandbox (feature `test-support`): one implementation that
//! every crate's tests share.
//!
//! Two tests running side by side must never reach each other's log. So every server here
//! listens on a port that stays reserved for it while it is stopped ("API down": connections are
//! refused, and no other server can be given the port), and every [`TestApi`] has its own fresh
//! keys and database: a request that reached the wrong server would be refused as unsigned.

use crate::client::{AuditClient, ListParams};
use crate::config::{Config, Database};
use crate::model::LoggedRecord;
use crate::server::{RunningServer, ServeError, spawn};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use shared::{Key, KeyId, KeyRing, Scope, Secret};
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::{TcpListener, TcpSocket};

/// A loopback TCP port held for one server: bound, so no other socket can be given it, but not
/// listening, so connections to it are refused until [`ReservedPort::listen`] opens a listener.
/// The reservation outlives every listener made from it.
#[derive(Debug)]
pub struct ReservedPort {
    _holder: TcpSocket,
    addr: SocketAddr,
}

/// A socket that may share its port with the reservation (`SO_REUSEPORT`, same user). Sockets
/// without that option (every other server's) cannot bind the port while the reservation holds
/// it, and the kernel never hands it out for a `:0` bind.
fn shareable_socket() -> std::io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseport(true)?;
    Ok(socket)
}

impl ReservedPort {
    /// Reserves a free port on 127.0.0.1.
    pub fn new() -> std::io::Result<Self> {
        let holder = shareable_socket()?;
        holder.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let addr = holder.local_addr()?;
        Ok(Self {
            _holder: holder,
            addr,
        })
    }

    /// The reserved address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: a URL nobody answers until a listener is opened.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A listener on the reserved port.
    pub fn listen(&self) -> std::io::Result<TcpListener> {
        let socket = shareable_socket()?;
        // Connections of an earlier listener may linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        socket.listen(1024)
    }
}

/// An audit API on a [`ReservedPort`] that can be stopped (connections refused) and started again
/// on the same port and database.
#[derive(Debug)]
pub struct LocalApi {
    config: Config,
    port: ReservedPort,
    running: Option<RunningServer>,
}

impl LocalApi {
    /// Opens the configured database and serves on a fresh reserved port.
    pub async fn start(config: Config) -> Result<Self, ServeError> {
        let port = ReservedPort::new()?;
        let running = spawn(config.clone(), port.listen()?).await?;
        Ok(Self {
            config,
            port,
            running: Some(running),
        })
    }

    /// The address it serves on (also while stopped: the port stays reserved).
    pub fn addr(&self) -> SocketAddr {
        self.port.addr()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.port.url()
    }

    /// Whether it is serving.
    pub fn is_up(&self) -> bool {
        self.running.is_some()
    }

    /// Graceful shutdown (in-flight requests finish, long-polls are released). The port stays
    /// reserved, so clients see refused connections, never another server.
    pub async fn stop(&mut self) -> Result<(), ServeError> {
        match self.running.take() {
            Some(running) => running.shutdown().await,
            None => Ok(()),
        }
    }

    /// Serves again on the same port and database (nothing to do when it is up).
    pub async fn restart(&mut self) -> Result<(), ServeError> {
        if self.running.is_none() {
            self.running = Some(spawn(self.config.clone(), self.port.listen()?).await?);
        }
        Ok(())
    }
}

/// Fresh random keys of one test API: the bot's (`read+write`), the game servers' (`write`) and
/// an operator's (`read`).
#[derive(Clone, Debug)]
pub struct TestKeys {
    /// Read and write (the bot).
    pub bot: Key,
    /// Write only (game servers).
    pub game: Key,
    /// Read only (operators).
    pub ops: Key,
}

/// A key with 32 random bytes of secret.
pub fn random_key(id: &str, scopes: Vec<Scope>) -> Key {
    let mut secret = [0u8; 32];
    StdRng::from_os_rng().fill_bytes(&mut secret);
    let id = KeyId::new(id).unwrap_or_else(|_| unreachable!("test key ids are fixed and valid"));
    Key::new(id, Secret::from_bytes(secret.to_vec()), scopes)
}

impl TestKeys {
    /// Three keys with ids `bot`, `game` and `ops`, each with its own random secret.
    pub fn generate() -> Self {
        Self {
            bot: random_key("bot", vec![Scope::Read, Scope::Write]),
            game: random_key("game", vec![Scope::Write]),
            ops: random_key("ops", vec![Scope::Read]),
        }
    }

    /// The server's key ring (`API_KEYS`).
    pub fn ring(&self) -> KeyRing {
        KeyRing::new(vec![self.bot.clone(), self.game.clone(), self.ops.clone()])
            .unwrap_or_else(|_| unreachable!("three distinct ids"))
    }

    /// The secret of `key` as the hex a configuration holds.
    pub fn hex(key: &Key) -> String {
        hex::encode(key.secret.expose())
    }
}

/// A temporary audit API for one test: SQLite in its own temp dir (or a database the test
/// provides), fresh keys, a reserved port; stoppable and restartable.
#[derive(Debug)]
pub struct TestApi {
    /// The server.
    pub server: LocalApi,
    /// Its keys.
    pub keys: TestKeys,
    _dir: tempfile::TempDir,
}

/// Why a test API could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestApiError {
    /// No temporary directory.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[from] std::io::Error),
    /// The server did not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl TestApi {
    /// On SQLite in a fresh temp dir.
    pub async fn start() -> Result<Self, TestApiError> {
        Self::start_with(|_| {}).await
    }

    /// On SQLite in a fresh temp dir, with the configuration tweaked first.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Result<Self, TestApiError> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        Self::start_on(Database::Sqlite(url), dir, tweak).await
    }

    /// On `database`; `dir` lives as long as the API.
    pub async fn start_on(
        database: Database,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<Self, TestApiError> {
        let keys = TestKeys::generate();
        let mut config = Config::new(database, keys.ring());
        tweak(&mut config);
        let server = LocalApi::start(config).await?;
        Ok(Self {
            server,
            keys,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A client signing with the bot's key (read+write).
    pub fn bot_client(&self) -> AuditClient {
        AuditClient::new(&self.base_url(), self.keys.bot.clone())
    }

    /// A client signing with the game servers' key (write).
    pub fn game_client(&self) -> AuditClient {
        AuditClient::new(&self.base_url(), self.keys.game.clone())
    }

    /// A client signing with the operators' key (read).
    pub fn ops_client(&self) -> AuditClient {
        AuditClient::new(&self.base_url(), self.keys.ops.clone())
    }

    /// Stops serving (the port stays reserved: connections are refused).
    pub async fn stop(&mut self) -> Result<(), ServeError> {
        self.server.stop().await
    }

    /// Serves again on the same port and database.
    pub async fn restart(&mut self) -> Result<(), ServeError> {
        self.server.restart().await
    }

    /// Every logged row, oldest first (all pages).
    pub async fn rows(&self) -> Result<Vec<LoggedRecord>, crate::client::ClientError> {
        let reader = self.ops_client();
        let mut out = Vec::new();
        let mut params = ListParams {
            limit: Some(500),
            ..ListParams::default()
        };
        loop {
            let page = reader.list(&params).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => params.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn refused(addr: SocketAddr) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused
        )
    }

    #[tokio::test]
    async fn a_reserved_port_refuses_connections_and_cannot_be_taken() {
        let port = ReservedPort::new().unwrap();
        assert!(refused(port.addr()).await);
        // Another server asking for exactly this port is refused it …
        assert!(TcpListener::bind(port.addr()).await.is_err());
        // … and many asking for any port are never given it.
        let others: Vec<TcpListener> = futures::future::join_all(
            (0..200).map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0))),
        )
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
        assert!(
            others
                .iter()
                .all(|l| l.local_addr().unwrap() != port.addr())
        );
        // A listener made from the reservation serves; once it closes, the port refuses again.
        let listener = port.listen().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        tokio::net::TcpStream::connect(port.addr()).await.unwrap();
        accept.await.unwrap().unwrap();
        assert!(refused(port.addr()).await);
        assert!(TcpListener::bind(port.addr()).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_api_keeps_its_port_and_restarts_on_it_with_its_log() {
        let mut api = TestApi::start().await.unwrap();
        let addr = api.server.addr();
        let record: shared::AuditRecord = serde_json::from_value(serde_json::json!({
            "txnId": shared::TxnId::generate().to_string(), "source": "game", "userId": 7,
            "op": "give", "amount": 5, "outcome": "applied", "balanceAfter": 5,
            "reason": "quest", "serverJobId": "job-1",
            "issuedAt": 1_700_000_000_000i64, "appliedAt": 1_700_000_000_001i64,
        }))
        .unwrap();
        let game = api.game_client();
        game.post_records(std::slice::from_ref(&record), "k-1")
            .await
            .unwrap();
        api.stop().await.unwrap();
        assert!(!api.server.is_up());
        assert!(refused(addr).await);
        assert!(
            game.post_records(std::slice::from_ref(&record), "k-2")
                .await
                .is_err()
        );
        api.restart().await.unwrap();
        assert_eq!(api.server.addr(), addr);
        let rows = api.rows().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].record.txn_id, record.txn_id);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_test_apis_refuse_each_others_keys() {
        let (a, b) = (
            TestApi::start().await.unwrap(),
            TestApi::start().await.unwrap(),
        );
        assert_ne!(TestKeys::hex(&a.keys.game), TestKeys::hex(&b.keys.game));
        let stray = AuditClient::new(&b.base_url(), a.keys.ops.clone());
        assert!(stray.list(&ListParams::default()).await.is_err());
        assert!(a.ops_client().list(&ListParams::default()).await.is_ok());
    }
}
