//! What one run is (seed, library, broken rule) and the replayable trace a failing run leaves.

use serde::{Deserialize, Serialize};

/// The session library a run's servers and bot use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lib {
    /// ProfileStore 1.0.3.
    ProfileStore,
    /// ProfileService 1.4.2.
    ProfileService,
}

impl Lib {
    /// The library of seed `seed` in a campaign: even seeds ProfileStore, odd ProfileService.
    pub fn of_seed(seed: u64) -> Self {
        if seed % 2 == 0 {
            Lib::ProfileStore
        } else {
            Lib::ProfileService
        }
    }

    /// The engine emulator's name for it.
    pub fn engine(self) -> roblox_emu::Library {
        match self {
            Lib::ProfileStore => roblox_emu::Library::ProfileStore,
            Lib::ProfileService => roblox_emu::Library::ProfileService,
        }
    }

    /// The bot's name for it.
    pub fn bot(self) -> bot::service::ProfileLibrary {
        match self {
            Lib::ProfileStore => bot::service::ProfileLibrary::ProfileStore,
            Lib::ProfileService => bot::service::ProfileLibrary::ProfileService,
        }
    }
}

/// A deliberately broken rule: the negative control the invariant checks must catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Broken {
    /// The bot's offline writes go over whatever is stored when they land, not over the entry
    /// they were decided on (compare-and-swap skipped).
    BotSkipsCas,
}

impl Broken {
    /// Parses the command line's name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "bot-skips-cas" => Ok(Broken::BotSkipsCas),
            other => Err(format!(
                "unknown broken rule {other:?} (known: bot-skips-cas)"
            )),
        }
    }

    /// The command line's name.
    pub fn name(self) -> &'static str {
        match self {
            Broken::BotSkipsCas => "bot-skips-cas",
        }
    }
}

/// Everything that decides a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Seed of the schedule, the faults, the universe and the bot's wire.
    pub seed: u64,
    /// Session library.
    pub library: Lib,
    /// Broken rule, if this is a negative control.
    pub broken: Option<Broken>,
}

impl RunSpec {
    /// Seed `seed` of a campaign (library by parity).
    pub fn campaign(seed: u64, broken: Option<Broken>) -> Self {
        Self {
            seed,
            library: Lib::of_seed(seed),
            broken,
        }
    }
}

/// What a failing run leaves behind: enough to run it again (`campaign --replay <file>`) and to
/// read what happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trace {
    /// Format version.
    pub v: u32,
    /// The run.
    pub spec: RunSpec,
    /// What was violated.
    pub violations: Vec<String>,
    /// The bot side's events (commands, outcomes, restarts, API kills), in virtual seconds.
    pub events: Vec<String>,
    /// The universe's trace digest. Informational: the bot's ULIDs are drawn at random and
    /// travel in the messages the engine traces, so two runs of a seed never share it.
    pub digest: String,
}
