//! The bridge on the engine emulator, end to end, with the real ProfileStore / ProfileService and
//! the real audit API: start-up and settings (`config`), Discord commands (`commands`), faults
//! (`faults`) and the game-facing API (`game`).

mod commands;
mod config;
mod faults;
mod game;
mod support;
