//! The processes the sandbox runs besides the game servers, each on a real local port: the audit
//! API (SQLite), the Open Cloud emulator serving the universe's own store and bus over HTTP, and
//! the bot's service over the Open Cloud HTTP adapters and the audit API client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use api::testing::LocalApi;
use bot::adapters::audit_api::ApiAuditLog;
use bot::adapters::counting::CallCounter;
use bot::adapters::open_cloud::{OpenCloudPorts, WalletLocation};
use bot::service::{ActorCtx, Clock, Db, Policy, Ports, ProfileLibrary, Service, ServiceConfig};
use opencloud::emulator::{
    ApiKey as EmulatorKey, Emulator, EmulatorConfig, EntryKey, ExperienceLimits, ManualClock,
    RunningEmulator, User,
};
use roblox_emu::Backend;
use shared::clock::Sleep;
use shared::{Limits, Wallet};

use crate::secrets::{OPEN_CLOUD_KEY_NAME, Secrets};

/// Wallet data store name (the bridge's and the bot's default).
pub const DATASTORE: &str = "EconomyWallet";
/// Wallet key prefix.
pub const KEY_PREFIX: &str = "wallet_";
/// MessagingService topic of commands.
pub const TOPIC: &str = "discord-commands";
/// Discord-style role id the console operator holds.
pub const STAFF_ROLE: &str = "900000000000000001";

/// The console operator, as the bot's policy sees it.
pub fn console_actor() -> ActorCtx {
    ActorCtx {
        id: "100000000000000001".into(),
        name: "console".into(),
        roles: vec![STAFF_ROLE.into()],
    }
}

/// What the stack needs to start.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// Where the audit and bot databases live (a temporary directory when `None`).
    pub data_dir: Option<PathBuf>,
    /// Universe id.
    pub universe_id: u64,
    /// Virtual Unix ms the shared clock starts at.
    pub start_unix_ms: i64,
    /// Users the Open Cloud users API knows (id, username).
    pub users: Vec<(u64, String)>,
    /// The bot's timing and policy.
    pub service: ServiceConfig,
    /// Roblox's experience limits shared by the game servers and Open Cloud (data-store request
    /// budgets growing with players, per-key throughput); off only for tests that say why.
    pub roblox_limits: bool,
}

/// The bot's service settings for the sandbox: the production defaults (bot/README.md) with one
/// staff role for the console operator and no cooldown (one operator types commands by hand).
pub fn default_service_config() -> ServiceConfig {
    ServiceConfig {
        topic: TOPIC.into(),
        library: ProfileLibrary::ProfileStore,
        limits: Limits::default(),
        command_ttl: Duration::from_secs(300),
        grace: Duration::from_secs(30),
        long_poll: Duration::from_secs(10),
        round_pause: Duration::from_millis(500),
        republish_every: Duration::from_secs(5),
        reply_budget: Duration::from_secs(20),
        policy: Policy {
            role_max: [(STAFF_ROLE.to_owned(), 1_000_000)].into(),
            daily_cap: 10_000_000,
            cooldown: Duration::ZERO,
            confirm_above: 100_000,
        },
        bulk: bot::service::BulkConfig::default(),
    }
}

/// The bot's clock reads the universe's clock (virtual time, equal to the wall clock in real-time
/// mode) so the commands it signs and the servers that check them agree on "now"; waits are real.
#[derive(Debug, Clone)]
pub struct UniverseClock(pub Arc<ManualClock>);

impl Clock for UniverseClock {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Everything but the game servers.
pub struct Stack {
    /// This run's secrets.
    pub secrets: Secrets,
    /// The store, bus and clock the game servers share with the emulator.
    pub backend: Backend,
    /// The Open Cloud emulator (same store and bus as `backend`).
    pub emulator: Arc<Emulator>,
    emulator_server: Option<RunningEmulator>,
    /// The audit API, stoppable and restartable on its reserved port and database (the demo takes
    /// it down to show that no audit row is lost).
    pub api: LocalApi,
    /// The bot's service.
    pub service: Arc<Service>,
    /// The ports the service runs on (tests build a second service on them: a restarted bot, or
    /// one whose store is wrapped to inject a fault).
    pub ports: Ports,
    /// The bot's SQLite database file.
    pub bot_db: PathBuf,
    /// Open Cloud calls the bot's ports made (data store reads, writes, publishes, user look-ups).
    pub calls: Arc<CallCounter>,
    /// A read+write audit client for checks (the bot's key).
    pub audit_client: api::AuditClient,
    /// An Open Cloud client with the bot's key, pointed at the emulator.
    pub open_cloud: opencloud::client::OpenCloud,
    /// Where the databases are.
    pub data_dir: PathBuf,
    /// Universe id.
    pub universe_id: u64,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("api", &self.api.base_url())
            .field("emulator", &self.emulator_url())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

impl Stack {
    /// Starts the audit API, the Open Cloud emulator and the bot's service. `status` gets a line
    /// per step.
    pub async fn start(config: StackConfig, status: &dyn Fn(&str)) -> anyhow::Result<Self> {
        let (data_dir, temp) = match &config.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the data directory {}", dir.display())
                })?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("economy-sandbox-")
                    .tempdir()
                    .context("cannot create a temporary data directory")?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let secrets = Secrets::generate();

        let audit_db = data_dir.join("audit.db");
        let api_config = api::Config::new(
            api::Database::Sqlite(sqlite_url(&audit_db)),
            secrets.api_keys(),
        );
        let api = LocalApi::start(api_config)
            .await
            .context("the audit API did not start")?;
        status(&format!(
            "audit API on {} (SQLite {})",
            api.base_url(),
            audit_db.display()
        ));

        let backend = Backend::new(config.start_unix_ms);
        let clock: Arc<dyn opencloud::emulator::Clock> = backend.clock.clone();
        let emulator = Emulator::with_parts(
            clock,
            backend.store.clone(),
            backend.bus.clone(),
            backend.experience.clone(),
            EmulatorConfig {
                experience: if config.roblox_limits {
                    ExperienceLimits::roblox()
                } else {
                    ExperienceLimits::unlimited()
                },
                api_keys: vec![EmulatorKey::full_access_on(
                    OPEN_CLOUD_KEY_NAME,
                    secrets.open_cloud_key(),
                    vec![config.universe_id],
                )],
                users: config
                    .users
                    .iter()
                    .map(|(id, name)| User::new(*id, name.clone()))
                    .collect(),
                ..EmulatorConfig::default()
            },
        );
        let emulator_server = emulator
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("the Open Cloud emulator did not start")?;
        status(&format!(
            "Open Cloud emulator on {} (the game servers' own data stores and messaging)",
            emulator_server.base_url()
        ));

        let oc_config = opencloud::client::ClientConfig::new(opencloud::client::ApiKey::new(
            secrets.open_cloud_key(),
        ))
        .with_base_url(
            url::Url::parse(&emulator_server.base_url()).context("emulator URL does not parse")?,
        );
        let client = opencloud::client::OpenCloud::new(oc_config)
            .context("cannot set up the Open Cloud client")?;
        let calls = Arc::new(CallCounter::default());
        let open_cloud = Arc::new(OpenCloudPorts::new(
            client.clone(),
            WalletLocation {
                universe_id: config.universe_id,
                datastore: DATASTORE.into(),
                key_prefix: KEY_PREFIX.into(),
            },
            calls.clone(),
        ));
        let audit_client = api::AuditClient::new(
            &api.base_url(),
            secrets.bot_audit_key().signing_key().clone(),
        );
        let ports = Ports {
            wallets: open_cloud.clone(),
            messaging: open_cloud.clone(),
            audit: Arc::new(ApiAuditLog::new(audit_client.clone())),
            users: open_cloud,
            clock: Arc::new(UniverseClock(backend.clock.clone())),
        };
        let bot_db = data_dir.join("bot.db");
        let db = Db::open(&sqlite_url(&bot_db))
            .await
            .context("cannot open the bot database")?;
        let service = Arc::new(Service::new(
            ports.clone(),
            db,
            secrets.command_keys(),
            config.service,
        ));
        status(&format!(
            "bot service ready (Open Cloud over HTTP, audit API client; SQLite {})",
            bot_db.display()
        ));
        Ok(Self {
            secrets,
            backend,
            emulator,
            emulator_server: Some(emulator_server),
            api,
            service,
            ports,
            bot_db: bot_db.clone(),
            calls,
            audit_client,
            open_cloud: client,
            data_dir,
            universe_id: config.universe_id,
            _temp: temp,
        })
    }

    /// The settings (`name`, `value`) an `economy-bot` process needs to work against this
    /// sandbox, as its environment would hold them (secrets included: never print them).
    pub fn bot_settings(&self) -> Vec<(String, String)> {
        [
            ("ROBLOX_UNIVERSE_ID", self.universe_id.to_string()),
            (
                "ROBLOX_OPEN_CLOUD_API_KEY",
                self.secrets.open_cloud_key().to_owned(),
            ),
            (
                "ROBLOX_OPEN_CLOUD_BASE_URL",
                self.emulator_url().unwrap_or_default(),
            ),
            ("WALLET_DATASTORE", DATASTORE.to_owned()),
            ("WALLET_KEY_PREFIX", KEY_PREFIX.to_owned()),
            ("COMMAND_TOPIC", TOPIC.to_owned()),
            ("COMMAND_KEYS", self.secrets.command_keys_spec()),
            ("AUDIT_API_URL", self.api.base_url()),
            ("AUDIT_API_KEY", self.secrets.bot_audit_key_spec()),
            ("STAFF_ROLES", format!("{STAFF_ROLE}:1000000")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The emulator's base URL.
    pub fn emulator_url(&self) -> Option<String> {
        self.emulator_server.as_ref().map(RunningEmulator::base_url)
    }

    /// The wallet entry key of a user.
    pub fn wallet_key(&self, user: u64) -> EntryKey {
        EntryKey::new(self.universe_id, DATASTORE, format!("{KEY_PREFIX}{user}"))
    }

    /// The stored profile document of a user's wallet (straight from the shared store).
    pub fn stored_profile(&self, user: u64) -> Option<serde_json::Value> {
        self.backend
            .store
            .get(&self.wallet_key(user))
            .and_then(|e| serde_json::from_str(&e.value).ok())
    }

    /// The stored wallet (`Data`) of a user, if it parses.
    pub fn stored_wallet(&self, user: u64) -> Option<Wallet> {
        let doc = self.stored_profile(user)?;
        serde_json::from_value(doc.get("Data")?.clone()).ok()
    }

    /// The JobId holding the user's wallet session, if any.
    pub fn session_holder(&self, user: u64) -> Option<String> {
        self.stored_profile(user)
            .as_ref()
            .and_then(roblox_emu::invariant::session_holder)
    }

    /// Stops the emulator and the API, closes the bot database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        // Dropping the running emulator aborts its task (it holds no state of its own).
        self.emulator_server.take();
        let api = self.api.stop().await;
        self.service.db().close().await;
        api.context("the audit API did not shut down cleanly")
    }
}
