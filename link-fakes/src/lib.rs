//! Faithful stand-ins for the two account-link providers the bot can ask, served over real HTTP
//! on `127.0.0.1:<free port>`; every rule they enforce is listed with its source in
//! docs/platform.md (Part 3, L1–L10) and tested in `tests/provider_rules.rs`.
//!
//! - [`bloxlink`]: Bloxlink's v4 guild API (`discord-to-roblox`).
//! - [`rover`]: RoVer's guild API (`discord-to-roblox`).
//! - [`directory`]: what a provider knows (its server, members, links) and the switches a test
//!   flips (down, request count).
//! - [`limit`]: a fixed-window request limit on the test's clock.
//! - [`provider`]: what both fakes share (state, port, switches); each module above adds only
//!   its route and answers.
//! - [`serve`]: binding, serving and stopping.

pub mod bloxlink;
pub mod directory;
pub mod limit;
pub mod provider;
pub mod rover;
pub mod serve;

pub use bloxlink::{BloxlinkConfig, BloxlinkIdField, FakeBloxlink};
pub use directory::Directory;
pub use limit::RateLimit;
pub use provider::LinkFake;
pub use rover::{FakeRover, RoverConfig, RoverShape};
