//! The bridge on the engine emulator, end to end, with the real ProfileStore / ProfileService and
//! the real audit API: start-up and settings (`config`), Discord commands (`commands`), batch
//! envelopes naming several players (`batches`), faults (`faults`), the game-facing API
//! (`game`), reversals (`reversals`) and platform rules that only show outside a test setup
//! (`platform`).

mod batches;
mod commands;
mod config;
mod faults;
mod game;
mod platform;
mod reversals;
mod support;
