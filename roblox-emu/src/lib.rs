//! Roblox engine emulator: runs real Luau server scripts (the bridge, ProfileStore,
//! ProfileService) on N emulated game servers over one Open Cloud store and bus, in virtual time,
//! deterministically from a seed, under injected faults.
//!
//! - [`config`]: universe settings, DataStore limits, faults, time mode.
//! - [`universe`]: the frame loop, servers, players, messages, faults, scheduled actions.
//! - [`server`]: one Luau VM per server and the Rust primitives the engine surface uses.
//! - [`place`]: the source tree (Rojo-style directories or built in code).
//! - [`libs`]: locating the third-party Luau libraries fetched at setup.
//! - [`invariant`]: checks on every DataStore write (session lock).
//! - [`scenario`]: seeded session scenarios for ProfileStore / ProfileService.
//! - [`budget`], [`http`], [`json`], [`timefmt`], [`trace`]: engine semantics in Rust.
//!
//! The engine surface itself is Luau in `roblox/engine/*.luau`.

pub mod budget;
pub mod config;
pub mod error;
pub mod http;
pub mod invariant;
pub mod json;
pub mod libs;
pub mod place;
pub mod scenario;
pub mod server;
pub mod timefmt;
pub mod trace;
pub mod universe;

pub use config::{DataStoreLimits, Faults, TimeMode, UniverseConfig};
pub use error::EmuError;
pub use libs::Library;
pub use place::Place;
pub use server::{OutputLine, RemoteCall, Server};
pub use universe::{Action, Backend, Lifecycle, Universe};
