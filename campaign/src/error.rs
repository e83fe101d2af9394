//! Why a run could not be carried out (as opposed to a run that violated an invariant).

/// The harness itself failed: a part did not start or the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The audit API process.
    #[error("audit API: {0}")]
    Api(String),
    /// The engine emulator or the Luau place.
    #[error("engine: {0}")]
    Engine(String),
    /// The bot's service, its database or the Open Cloud emulator.
    #[error("bot: {0}")]
    Bot(String),
}

impl From<roblox_emu::EmuError> for HarnessError {
    fn from(e: roblox_emu::EmuError) -> Self {
        HarnessError::Engine(e.to_string())
    }
}
