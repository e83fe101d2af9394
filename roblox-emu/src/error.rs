//! Errors of the emulator's Rust API.

use thiserror::Error;

/// What can go wrong building or driving a universe.
#[derive(Debug, Error)]
pub enum EmuError {
    /// The Luau VM reported an error in engine code (kept as text so the error is `Send`).
    #[error("Luau: {0}")]
    Lua(String),
    /// The engine surface misbehaved.
    #[error("engine: {0}")]
    Engine(String),
    /// A source tree could not be read.
    #[error("source tree {path}: {reason}")]
    Source {
        /// The file or directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// A third-party Luau library is missing.
    #[error(
        "{library} not found at {path}: run tools/fetch-luau-libs.sh (or set ECONOMY_LUAU_LIBS to the directory it fills)"
    )]
    MissingLibrary {
        /// Library name.
        library: String,
        /// Where it was looked for.
        path: String,
    },
    /// No server with that index, or it is not running.
    #[error("server {0} is not running")]
    NoServer(usize),
}

impl From<mlua::Error> for EmuError {
    fn from(e: mlua::Error) -> Self {
        EmuError::Lua(e.to_string())
    }
}
