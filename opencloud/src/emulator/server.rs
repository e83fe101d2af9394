//! The emulator as one value: store, bus, keys, budgets, faults and users behind an axum router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::auth::{ApiKey, ApiKeys};
use super::budget::{BudgetConfig, Budgets};
use super::bus::{Bus, MessageFaults};
use super::experience::{Experience, ExperienceLimits};
use super::faults::{FaultPlan, Faults, Operation};
use super::luau_execution::{LuauRunner, LuauTasks};
use super::oauth::{OAuth, OAuthApp};
use super::store::{Store, VersionRetention};
use super::users::{User, UserDirectory};
use shared::clock::Clock;

/// Everything configurable about an emulator.
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Accepted API keys.
    pub api_keys: Vec<ApiKey>,
    /// Open Cloud's own per-universe request budgets (legacy v1, publish, users).
    pub budgets: BudgetConfig,
    /// The limits of the experience shared with game servers: experience-wide data-store request
    /// budgets (v2) and byte throughput per key; off by default ([`ExperienceLimits::roblox`] for
    /// Roblox's). [`Emulator::with_parts`] sets them on the experience it is given.
    pub experience: ExperienceLimits,
    /// HTTP faults and latency.
    pub faults: FaultPlan,
    /// Message faults for HTTP publishes (none = reliable).
    pub message_faults: Option<MessageFaults>,
    /// Known users.
    pub users: Vec<User>,
    /// Version retention of the store [`Emulator::new`] creates (keep-all by default;
    /// [`VersionRetention::roblox`] for Roblox's hourly collapse and 30-day expiry).
    pub retention: VersionRetention,
    /// What a v1 412 carries (Roblox does not document its body).
    pub precondition_body: PreconditionBody,
    /// Registered OAuth 2.0 apps.
    pub oauth_apps: Vec<OAuthApp>,
}

/// The body of a v1 `412` on `matchVersion` / `exclusiveCreate`. Roblox documents the status but
/// not the body, so a client must work with either answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PreconditionBody {
    /// The current entry, as a read would return it (value and `roblox-entry-*` headers).
    #[default]
    Entry,
    /// An error document only, even when the entry exists.
    ErrorOnly,
}

/// A running Open Cloud: share it with `Arc` between the router, the engine emulator and tests.
#[derive(Debug)]
pub struct Emulator {
    /// The data stores.
    pub store: Store,
    /// The messaging bus.
    pub bus: Bus,
    /// The experience limits shared with game servers (request budgets, key throughput, CCU).
    pub experience: Experience,
    /// Known users.
    pub users: UserDirectory,
    /// Luau Execution tasks (run by the runner [`Emulator::set_luau_runner`] installs).
    pub luau: Arc<LuauTasks>,
    /// OAuth 2.0 apps, codes and tokens.
    pub oauth: OAuth,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: ApiKeys,
    pub(crate) budgets: Budgets,
    pub(crate) faults: Faults,
    pub(crate) precondition_body: PreconditionBody,
}

impl Emulator {
    /// A fresh emulator with its own store and bus.
    pub fn new(clock: Arc<dyn Clock>, config: EmulatorConfig) -> Arc<Self> {
        let store = Store::with_retention(clock.clone(), Default::default(), config.retention);
        let bus = Bus::new(clock.clone());
        Self::with_parts(clock, store, bus, Experience::default(), config)
    }

    /// An emulator over an existing store, bus and experience (shared with the engine emulator);
    /// `config.experience` becomes the shared experience's limits.
    pub fn with_parts(
        clock: Arc<dyn Clock>,
        store: Store,
        bus: Bus,
        experience: Experience,
        config: EmulatorConfig,
    ) -> Arc<Self> {
        bus.set_faults(config.message_faults);
        experience.set_limits(config.experience);
        let users = UserDirectory::default();
        for user in config.users {
            users.add(user);
        }
        let oauth = OAuth::default();
        for app in config.oauth_apps {
            oauth.register(app);
        }
        Arc::new(Self {
            store,
            bus,
            experience,
            users,
            luau: Arc::default(),
            oauth,
            clock,
            keys: ApiKeys::new(config.api_keys),
            budgets: Budgets::new(config.budgets),
            faults: Faults::new(config.faults),
            precondition_body: config.precondition_body,
        })
    }

    /// Installs what runs Luau Execution tasks (without one, every place is unknown: 404).
    pub fn set_luau_runner(&self, runner: Arc<dyn LuauRunner>) {
        self.luau.set_runner(runner);
    }

    /// Replaces the HTTP fault plan.
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        self.faults.set_plan(plan);
    }

    /// Requests received for an operation (faulted ones included).
    pub fn requests(&self, op: Operation) -> u64 {
        self.faults.requests(op)
    }

    /// Faults injected on an operation.
    pub fn injected(&self, op: Operation) -> u64 {
        self.faults.injected(op)
    }

    /// The axum router serving every emulated endpoint.
    pub fn router(self: &Arc<Self>) -> Router {
        super::http::router(self.clone())
    }

    /// Serves on `listener` until the task is dropped. When message faults are configured, delayed
    /// messages are delivered every 10 ms (no timer otherwise, so paused-time tests stay exact).
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        let pump = self.bus.has_faults().then(|| {
            let bus = self.bus.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    bus.deliver_due();
                }
            })
        });
        let result = axum::serve(listener, self.router()).await;
        if let Some(pump) = pump {
            pump.abort();
        }
        result
    }

    /// Binds `addr` (use port 0 for any) and serves in a background task.
    pub async fn spawn(self: &Arc<Self>, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let handle = tokio::spawn(self.clone().serve(listener));
        Ok(RunningEmulator { addr, handle })
    }
}

/// A background emulator server; aborted when dropped.
#[derive(Debug)]
pub struct RunningEmulator {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: JoinHandle<std::io::Result<()>>,
}

impl RunningEmulator {
    /// `http://<addr>`, the base URL for every client API.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
