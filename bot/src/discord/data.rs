//! What every slash command can reach ([`Data`]) and poise's context and error types over it.

use super::settings::DiscordSettings;
use super::shutdown::InFlight;
use crate::service::Service;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every command can reach.
pub struct Data {
    /// The service layer.
    pub service: Arc<Service>,
    /// Discord settings.
    pub settings: DiscordSettings,
    /// Admits commands and counts those running (refused and drained on shutdown).
    pub in_flight: InFlight,
    /// Wakes the log-channel poster after a settlement.
    pub log_wake: Arc<Notify>,
    /// Gateway and registration health (`/healthz`).
    pub status: super::status::DiscordStatus,
    /// How long a pending receipt is followed (counted from the command's start).
    pub follow_up: crate::frontend::FollowUp,
    /// How long a payout uses its interaction's token before posting in the channel instead.
    pub token_usable_for: std::time::Duration,
    /// Member → Roblox account links (`/payout role:`), when configured.
    pub links: Option<Arc<crate::links::Links>>,
    /// Roblox OAuth sign-in (`/link me`), when configured.
    pub oauth: Option<Arc<crate::links::RobloxOAuth>>,
    /// The buttons of running commands, and the answer to a press on an ended prompt.
    pub prompts: super::prompts::Prompts,
}

/// The error type of the commands (downcast to [`super::error::CommandError`] in `on_error`).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The poise context.
pub type Context<'a> = poise::Context<'a, Data, Error>;
