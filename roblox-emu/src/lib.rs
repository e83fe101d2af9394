//! Roblox engine emulator: runs real Luau server scripts (the bridge, ProfileStore,
//! ProfileService) on N emulated game servers over one Open Cloud store and bus, in virtual time,
//! deterministically from a seed, under injected faults.
//!
//! - [`config`]: universe settings, DataStore and MessagingService limits, faults, time mode.
//! - [`universe`]: the frame loop, servers, players, messages, faults.
//! - [`action`]: actions scheduled at a virtual time.
//! - [`backend`]: the Open Cloud store, bus, experience limits and clock a universe shares with
//!   the bot.
//! - `shared_state`: what every server of a universe shares (clock, RNG, trace, users, sources).
//! - [`server`]: one Luau VM per server running the engine surface.
//! - `rt`: the synchronous Rust primitives the engine surface is written over, one module per
//!   engine area (time, scripts, codecs, DataStore, messaging, HTTP, players).
//! - [`place`]: the source tree (Rojo-style directories or built in code).
//! - [`libs`]: locating the third-party Luau libraries fetched at setup.
//! - [`luau_task`]: Open Cloud Luau Execution tasks run on a fresh server of the place.
//! - [`invariant`]: checks on every DataStore write (session lock).
//! - [`scenario`]: seeded session scenarios for ProfileStore / ProfileService.
//! - [`budget`], [`http`], [`json`], [`timefmt`], [`trace`]: engine semantics in Rust.
//!
//! The engine surface itself is Luau in `roblox-emu/engine/*.luau`.

pub mod action;
pub mod backend;
pub mod budget;
pub mod config;
pub mod error;
pub mod http;
pub mod invariant;
pub mod json;
pub mod libs;
pub mod luau_task;
pub mod place;
mod rt;
pub mod scenario;
pub mod server;
mod shared_state;
pub mod timefmt;
pub mod trace;
pub mod universe;

pub use action::Action;
pub use backend::Backend;
pub use config::{DataStoreLimits, Faults, HeaderNames, MessagingLimits, TimeMode, UniverseConfig};
pub use error::EmuError;
pub use libs::Library;
pub use luau_task::TaskRunner;
pub use place::Place;
pub use server::{OutputLine, RemoteCall, Server};
pub use universe::{Lifecycle, Universe};
