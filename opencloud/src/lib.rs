//! Roblox Open Cloud for Economy Bridge.
//!
//! - [`client`]: the Open Cloud client (retries, budgets, typed errors) used by the bot.
//! - [`limits`]: Roblox's documented size and name limits, checked by client and emulator alike.
//! - [`timefmt`]: the ISO-8601 timestamps Open Cloud uses, to and from Unix milliseconds.
//! - `emulator` (feature `emulator`): an in-memory, versioned Open Cloud — store, messaging bus,
//!   HTTP router and seeded fault injection.

pub mod client;
pub mod limits;
pub mod timefmt;

pub use client::{ApiKey, ClientConfig, EntryPath, Error, OpenCloud, SetOptions};

#[cfg(feature = "emulator")]
pub mod emulator;
