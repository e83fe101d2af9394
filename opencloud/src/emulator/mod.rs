//! A faithful in-memory Open Cloud (feature `emulator`).
//!
//! - [`store`]: versioned standard data stores with an atomic read-transform-write and a write hook.
//! - [`version`]: Roblox-format version ids.
//! - [`bus`]: MessagingService topics with synchronous fan-out and seeded message faults.
//! - [`experience`]: what game servers and Open Cloud share: concurrent users, the experience-wide
//!   data-store request budgets and per-key byte throughput.
//! - [`auth`], [`budget`], [`faults`], [`users`]: API keys and scopes, Open Cloud's own
//!   per-universe budgets, seeded HTTP faults and latency, emulated users.
//! - [`luau_execution`]: Luau Execution tasks, run through a [`LuauRunner`] the caller installs.
//! - [`oauth`]: Roblox OAuth 2.0 apps, codes and tokens (authorization code + PKCE, user info).
//! - [`server`]: the [`Emulator`] (all of the above) and its axum router over real HTTP.
//!
//! The synchronous core is shared by the HTTP router, the Roblox engine emulator and tests, so game
//! servers and the bot see the same entries and versions.

pub mod auth;
pub mod budget;
pub mod bus;
pub mod experience;
pub mod faults;
mod http;
pub mod luau_execution;
pub mod oauth;
pub mod server;
pub mod store;
pub mod users;
pub mod version;

pub use auth::{ApiKey, ApiKeys};
pub use budget::{BudgetClass, BudgetConfig};
pub use experience::{
    Experience, ExperienceLimits, ExperienceStats, RequestRates, RequestType, ThroughputConfig,
};
pub use faults::{FaultKind, FaultPlan, FaultRule, Latency, Operation};
pub use luau_execution::{
    LuauErrorCode, LuauLog, LuauMessageType, LuauRun, LuauRunner, LuauTaskRequest,
};
pub use oauth::{OAuth, OAuthApp};
pub use server::{Emulator, EmulatorConfig, PreconditionBody, RunningEmulator};
pub use users::User;

pub use bus::{Bus, BusStats, Message, MessageFaults, ReceiveLimit, Subscriber, SubscriptionId};
/// The emulator runs on the workspace's one clock abstraction.
pub use shared::clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use store::{
    DataStoreInfo, Entry, EntryKey, KeyPage, SetCondition, Store, StoreConfig, StoreError,
    Transform, VersionInfo, VersionPage, VersionRetention, WriteEvent, WriteHook, WriteOp, Writer,
};
