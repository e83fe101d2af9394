//! The whole sandbox as one value: start everything in order (Luau libraries, audit API, Open
//! Cloud emulator, bot service, game servers), and shut it all down.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use opencloud::emulator::User;
use roblox_emu::Library;

use crate::population::{PopulationConfig, generated_users};
use crate::secrets::BridgeSettings;
use crate::stack::{DATASTORE, KEY_PREFIX, Stack, StackConfig, TOPIC, default_service_config};
use crate::world::{Pace, WorldConfig, WorldHandle};

/// Everything the sandbox can be told.
#[derive(Clone, Debug)]
pub struct Options {
    /// Game servers to start.
    pub servers: usize,
    /// Seed of the universe and the simulated players.
    pub seed: u64,
    /// Where the audit and bot databases go (a temporary directory when `None`).
    pub data_dir: Option<PathBuf>,
    /// Simulated players in the pool (0 = none).
    pub players: usize,
    /// Simulated players online on average.
    pub online: usize,
    /// Joins / leaves / hops per minute.
    pub churn_per_minute: f64,
    /// Frames per virtual second.
    pub fps: u32,
    /// Real-time or paced virtual time.
    pub pace: Pace,
    /// The bridge's log level (`debug`, `info`, `warn`).
    pub bridge_log_level: String,
    /// Universe id.
    pub universe_id: u64,
    /// Staff roles allowed besides the console operator's, role id → maximum per command (the
    /// Discord front end's `STAFF_ROLES`).
    pub extra_roles: std::collections::BTreeMap<String, i64>,
    /// The bot's settings instead of the sandbox's defaults (tests shorten windows and budgets);
    /// `extra_roles` are added to its policy.
    pub service: Option<bot::service::ServiceConfig>,
    /// The game servers' DataStore latency range, seconds (the engine's default when `None`).
    pub datastore_latency_s: Option<(f64, f64)>,
    /// MessagingService delivery latency to the game servers, seconds (default when `None`).
    pub message_latency_s: Option<(f64, f64)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            servers: 7,
            seed: 1,
            data_dir: None,
            players: 24,
            online: 10,
            churn_per_minute: 6.0,
            fps: 30,
            pace: Pace::RealTime,
            bridge_log_level: "info".into(),
            universe_id: 4_242,
            extra_roles: std::collections::BTreeMap::new(),
            service: None,
            datastore_latency_s: None,
            message_latency_s: None,
        }
    }
}

/// Named users for trying commands by hand (never moved by the simulation).
pub const NAMED_USERS: &[(u64, &str)] = &[
    (1001, "alice"),
    (1002, "bob"),
    (1003, "carol"),
    (1004, "dave"),
    (1005, "erin"),
    (1006, "frank"),
    (1007, "grace"),
    (1008, "heidi"),
];

/// First id of the simulated players.
pub const SIMULATED_FIRST_ID: u64 = 2_001;

/// The version number of the sandbox's one place, as Luau Execution sees it.
pub const PLACE_VERSION: u64 = 1;

/// The running sandbox.
pub struct Sandbox {
    /// API, emulator, bot service.
    pub stack: Stack,
    /// The game servers.
    pub world: Arc<WorldHandle>,
    /// Every known user (named and simulated).
    pub users: Vec<(u64, String)>,
    /// The options it started with.
    pub options: Options,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

/// Wall-clock Unix ms.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Sandbox {
    /// Starts everything; `status` gets one line per step.
    pub async fn start(
        options: Options,
        status: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> anyhow::Result<Self> {
        if options.servers == 0 || options.servers > 50 {
            anyhow::bail!("--servers must be 1-50");
        }
        if options.online > options.players {
            anyhow::bail!("--online cannot exceed --players");
        }
        if !bridge_harness::bridge_present() {
            anyhow::bail!(
                "the Luau bridge is missing: {} not found",
                bridge_harness::project_dir()
                    .join("default.project.json")
                    .display()
            );
        }
        let missing = crate::luau_libs::missing(&roblox_emu::libs::default_dir());
        if !missing.is_empty() {
            status(
                "fetching the Luau libraries (ProfileStore 1.0.3, ProfileService 1.4.2) on first run",
            );
            tokio::task::spawn_blocking(|| crate::luau_libs::ensure(None))
                .await
                .context("the library fetch did not finish")??;
        }

        let named: Vec<(u64, String)> = NAMED_USERS
            .iter()
            .map(|(id, name)| (*id, (*name).to_owned()))
            .collect();
        let simulated = generated_users(SIMULATED_FIRST_ID, options.players);
        let users: Vec<(u64, String)> = named.iter().chain(&simulated).cloned().collect();
        let start_unix_ms = wall_ms();
        let stack = Stack::start(
            StackConfig {
                data_dir: options.data_dir.clone(),
                universe_id: options.universe_id,
                start_unix_ms,
                users: users.clone(),
                service: {
                    let mut service = options
                        .service
                        .clone()
                        .unwrap_or_else(default_service_config);
                    service.policy.role_max.extend(options.extra_roles.clone());
                    service
                },
                // The sandbox is held to Roblox's limits (docs/platform.md R7, R8, R9).
                roblox_limits: true,
            },
            &*status,
        )
        .await?;

        let module = stack.secrets.luau_module(&BridgeSettings {
            api_url: stack.api.base_url(),
            library: "ProfileStore".into(),
            datastore: DATASTORE.into(),
            key_prefix: KEY_PREFIX.into(),
            command_topic: TOPIC.into(),
            log_level: options.bridge_log_level.clone(),
        });
        let place = bridge_harness::bridge_place(module, Library::ProfileStore, None)?;
        let population = (options.players > 0).then_some(PopulationConfig {
            users: simulated,
            target_online: options.online,
            events_per_minute: options.churn_per_minute,
            hop_share: 0.4,
            seed: options.seed,
        });
        let progress = status.clone();
        let world_config = WorldConfig {
            servers: options.servers,
            seed: options.seed,
            pace: options.pace,
            fps: options.fps,
            universe_id: options.universe_id,
            start_unix_ms,
            place,
            users: named,
            population,
            datastore_latency_s: options.datastore_latency_s,
            message_latency_s: options.message_latency_s,
        };
        // Open Cloud Luau Execution tasks (the doctor's canary) run on a fresh server of the
        // same place, over the same data stores.
        let universe = crate::world::universe_config(&world_config);
        status(&format!(
            "Luau Execution tasks run in place {} (version {PLACE_VERSION})",
            universe.place_id
        ));
        stack.emulator.set_luau_runner(roblox_emu::TaskRunner::new(
            universe,
            world_config.place.clone(),
            stack.backend.clone(),
            PLACE_VERSION,
        ));
        let world = WorldHandle::start(world_config, stack.backend.clone(), move |line| {
            progress(line)
        })
        .await;
        let world = match world {
            Ok(w) => w,
            Err(e) => {
                let _ = stack.shutdown().await;
                return Err(e.into());
            }
        };
        status(&format!(
            "{} game servers running the Luau bridge on ProfileStore ({})",
            options.servers,
            match options.pace {
                Pace::RealTime => "real time",
                Pace::PacedVirtual => "virtual time paced to the wall clock",
            }
        ));
        Ok(Self {
            stack,
            world: Arc::new(world),
            users,
            options,
        })
    }

    /// Makes a user id known to the Open Cloud users API (a player typed in by hand).
    pub fn know_user(&self, id: u64) {
        if self.stack.emulator.users.by_id(id).is_none() {
            self.stack
                .emulator
                .users
                .add(User::new(id, format!("Player{id}")));
        }
    }

    /// Stops the game servers, then the emulator and the API (graceful), then the bot database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.world.stop().await;
        self.stack.shutdown().await
    }
}
