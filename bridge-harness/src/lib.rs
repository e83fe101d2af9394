//! Runs the Luau economy bridge (`bridge/` at the repository root) on the engine emulator
//! (`roblox-emu`). Builds, once for the sandbox and the bridge's tests, what every emulated game
//! server of the bridge runs:
//!
//! - [`place`]: the bridge's Rojo project with a settings module and a session library mounted.
//! - [`settings`]: the settings module (`ServerStorage.EconomyBridgeSecrets`) of one run.
//! - [`game_loop`]: the in-game economy seeded runs put beside the bridge.
//!
//! The bridge's own tests live in this crate's `tests/` (pure modules in a plain Luau VM, the
//! bridge on the emulator with the real audit API, seeded fault runs, the strict type check) and
//! its Luau benchmark in `benches/`.

pub mod game_loop;
pub mod place;
pub mod settings;

pub use game_loop::game_loop;
pub use place::{PlaceError, bridge_place, bridge_present, modules_dir, project, project_dir};
pub use settings::Settings;
