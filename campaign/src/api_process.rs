//! The audit API as its own process, so a run can kill it the way an operating system does
//! (SIGKILL: no graceful drain, no flush beyond what SQLite already committed) and start it again
//! on the same port and database. The process is this crate's own binary in its `serve-api` mode
//! ([`serve_api_main`]), configured from the environment exactly like `economy-api`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use api::testing::{ReservedPort, TestKeys};
use api::{AuditClient, LoggedRecord};

use crate::error::HarnessError;

/// The command-line word that makes the campaign binary serve the audit API.
pub const SERVE_API: &str = "serve-api";

/// One audit API process (SQLite in the run's directory, fresh keys, a reserved port).
pub struct ApiProcess {
    exe: PathBuf,
    port: ReservedPort,
    database_url: String,
    /// Its keys: `bot` (read+write), `game` (write), `ops` (read).
    pub keys: TestKeys,
    child: Option<Child>,
    /// Times it was killed.
    pub kills: u32,
}

impl std::fmt::Debug for ApiProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiProcess")
            .field("url", &self.port.url())
            .field("up", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

fn spec(keys: &TestKeys) -> String {
    format!(
        "bot:read+write:{},game:write:{},ops:read:{}",
        TestKeys::hex(&keys.bot),
        TestKeys::hex(&keys.game),
        TestKeys::hex(&keys.ops)
    )
}

impl ApiProcess {
    /// Starts `exe serve-api` on a fresh port with its database at `db`.
    pub fn start(exe: PathBuf, db: PathBuf) -> Result<Self, HarnessError> {
        let port = ReservedPort::new().map_err(|e| HarnessError::Api(e.to_string()))?;
        let mut me = Self {
            exe,
            port,
            database_url: format!("sqlite://{}", db.display()),
            keys: TestKeys::generate(),
            child: None,
            kills: 0,
        };
        me.spawn()?;
        Ok(me)
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        let mut child = Command::new(&self.exe)
            .arg(SERVE_API)
            .env("DATABASE_URL", &self.database_url)
            .env("API_KEYS", spec(&self.keys))
            .env("API_BIND", self.port.addr().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| HarnessError::Api(format!("cannot start {}: {e}", self.exe.display())))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HarnessError::Api(format!(
                "the audit API process did not start (said {:?})",
                line.trim()
            )));
        }
        self.child = Some(child);
        Ok(())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.port.url()
    }

    /// Whether it runs.
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, then waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
        }
    }

    /// Starts it again on the same port and database (nothing when it runs).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.child.is_none() {
            self.spawn()?;
        }
        Ok(())
    }

    /// A client with the bot's key.
    pub fn bot_client(&self) -> AuditClient {
        AuditClient::new(&self.url(), self.keys.bot.clone())
    }

    /// A client with the operators' read key.
    pub fn ops_client(&self) -> AuditClient {
        AuditClient::new(&self.url(), self.keys.ops.clone())
    }

    /// Every logged row, oldest first.
    pub async fn rows(&self) -> Result<Vec<LoggedRecord>, HarnessError> {
        let reader = self.ops_client();
        let mut out = Vec::new();
        let mut params = api::ListParams {
            limit: Some(500),
            ..api::ListParams::default()
        };
        loop {
            let page = reader
                .list(&params)
                .await
                .map_err(|e| HarnessError::Api(e.to_string()))?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => params.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `serve-api` mode: `economy-api`'s settings from the environment, a listener sharing the
/// reserved port (`SO_REUSEPORT`, same user), "ready" on stdout once it accepts connections, then
/// serves until killed.
pub fn serve_api_main() -> Result<(), HarnessError> {
    let config = api::Config::from_env().map_err(|e| HarnessError::Api(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| HarnessError::Api(e.to_string()))?;
    rt.block_on(async move {
        let socket =
            tokio::net::TcpSocket::new_v4().map_err(|e| HarnessError::Api(e.to_string()))?;
        socket
            .set_reuseport(true)
            .and_then(|()| socket.set_reuseaddr(true))
            .and_then(|()| socket.bind(config.bind))
            .map_err(|e| HarnessError::Api(format!("cannot bind {}: {e}", config.bind)))?;
        let listener = socket
            .listen(1024)
            .map_err(|e| HarnessError::Api(e.to_string()))?;
        let store = api::open_store(&config)
            .await
            .map_err(|e| HarnessError::Api(e.to_string()))?;
        println!("ready");
        api::server::serve_with_store(store, config, listener, std::future::pending())
            .await
            .map_err(|e| HarnessError::Api(e.to_string()))
    })
}
