//! One front-end layer for Discord, the CLI and the sandbox console: a command's arguments,
//! validation, flow and the words of every answer live here once; each front end only reads
//! its input and draws what comes back.
//!
//! - [`args`]: raw option values in, checked arguments out (or an option error in words).
//! - [`dates`]: `/audit`'s `since` / `until` formats (UTC) and range rules.
//! - [`flow`]: the command flows (give / deduct / reverse with confirm and follow-up, balance,
//!   audit).
//! - `payout_words`: the `/payout` answers' words and CSV (re-exported by [`words`]).
//! - `audit_words`: the `/audit` answers' words (re-exported by [`words`]).
//! - [`link`]: `/link`: a member's private Roblox sign-in link; staff set / remove a link.
//! - [`member`]: a Discord member named as the player, resolved through their account link.
//! - [`payout`]: `/payout` (players from a role or a list, preview, confirm, progress, report).
//! - [`suggest`]: suggestions for the `user` option (recent targets, linked accounts).
//! - [`words`]: every answer as a [`words::Card`] of plain words, per-front-end [`words::Dialect`].
//! - [`error`]: the one mapping from option and service errors to the member's message.

pub mod args;
mod audit_words;
pub mod dates;
pub mod error;
pub mod flow;
pub mod link;
pub mod member;
pub mod payout;
mod payout_words;
pub mod suggest;
pub mod words;

pub use args::{
    AuditArgs, AuditInput, BalanceArgs, MemberRef, MoveArgs, MoveInput, OptionError, PageLimits,
    PayoutArgs, PayoutInput, PayoutPlayers, ReverseArgs, ReverseInput, Who,
};
pub use error::Failure;
pub use flow::{CancelReason, Confirm, Decision, FollowUp, MoveResult, Prompt};
pub use member::{Members, Resolved};
pub use words::{Card, Dialect, Field, PlainText, Tone};
