//! Seeded fault campaigns of the whole system (issue 19): the real bot service over its Open Cloud
//! HTTP adapters and its SQLite database, the real Luau bridge on ProfileStore or ProfileService in
//! the engine emulator, the real audit API in its own process; every fault at once; the
//! invariants of docs/architecture.md checked after every run.
//!
//! - [`spec`]: what decides a run (seed, library, broken rule) and the trace a failing run leaves.
//! - [`schedule`]: the run's plan drawn from its seed (players, servers, commands, kills, skew).
//! - [`vclock`]: the bot's virtual clock, and the lockstep of bot and universe.
//! - [`net`]: virtual latency between the bot and Open Cloud; the negative control's broken rule.
//! - [`api_process`]: the audit API as a process that can be SIGKILLed and started again.
//! - [`run`]: one run: start the parts, play the plan, settle.
//! - [`checks`]: the invariants.
//! - [`view`]: reading stored wallets and what servers said.
//! - [`campaign`]: many seeds, worker processes, traces, the summary.
//! - [`error`]: harness failures.

pub mod api_process;
pub mod campaign;
pub mod checks;
pub mod error;
pub mod net;
pub mod run;
pub mod schedule;
pub mod spec;
pub mod vclock;
pub mod view;

pub use campaign::{CampaignConfig, SeedLine, Summary, run_campaign};
pub use run::{RunOptions, RunReport, run};
pub use spec::{Broken, Lib, RunSpec, Trace};
