//! Economy Bridge bot: staff give / deduct / balance / audit with confirmed outcomes.
//!
//! - [`service`]: the framework-free service layer (ports, policy, database, the service core).
//! - [`adapters`]: port implementations (audit API client, system clock, and with feature
//!   `emulator` the in-memory Open Cloud emulator).
//! - [`config`]: settings from the environment / `.env`, one clear line per problem.
//! - [`links`]: Discord member → Roblox account: the `LinkSource` port, its sources (Bloxlink,
//!   RoVer over HTTP; staff and OAuth links in the bot database) and the resolver front ends call.
//! - [`frontend`]: what every front end shares: arguments, flows, the words of every answer.
//! - [`cli`]: the `economy-bot` command line over the same service.
//! - [`discord`]: the poise / serenity front end (slash commands, receipts, log channel).
//! - [`metrics`]: metric names and recording helpers.
//! - [`daemon`]: `economy-bot serve` (Discord + reconciler + health / metrics endpoint).
//! - [`doctor`]: `economy-bot doctor`, checks of a real deployment without moving money.

pub mod adapters;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod discord;
pub mod doctor;
pub mod frontend;
pub mod links;
pub mod metrics;
pub mod service;
