//! Economy Bridge local sandbox: everything on one machine with no Discord or Roblox account.
//!
//! - [`app`]: the whole sandbox as one value (start in order, shut down cleanly).
//! - [`stack`]: the audit API, the Open Cloud emulator over HTTP and the bot's service.
//! - [`world`]: the emulated universe (N game servers running the Luau bridge) on its own thread.
//! - [`population`]: seeded simulated players joining, leaving and hopping.
//! - [`secrets`]: fresh secrets per run and the bridge's settings module.
//! - [`luau_libs`]: fetching ProfileStore / ProfileService on first run.
//! - [`console`]: Discord's commands typed at a prompt, receipts drawn as Discord embeds.
//! - [`demo`]: the acceptance checks end to end with a pass/fail table.

pub mod app;
pub mod console;
pub mod demo;
pub mod luau_libs;
pub mod population;
pub mod secrets;
pub mod stack;
pub mod world;

pub use app::{Options, Sandbox};
pub use demo::{DemoOptions, Report};
