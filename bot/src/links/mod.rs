//! Discord member → Roblox account links (issue 17), below the front ends.
//!
//! - [`source`]: the [`LinkSource`] port, a source's [`Answer`], and the typed [`ProviderError`].
//! - [`bloxlink`], [`rover`]: the two remote providers' guild APIs over HTTP.
//! - [`stored`]: the bot's own links (set by staff, verified with Roblox OAuth), read live.
//! - [`http`]: what the remote providers share (timeouts, status → answer, `Retry-After`).
//! - [`store`]: the database tables (provider answer cache, the bot's own links).
//! - [`resolver`]: [`Links`], the ordered look-up with cache, refresh and conflict refusal.
//! - [`error`]: [`LinkError`], why a member could not be resolved (nothing moves).
//! - [`settings`]: [`LinkSettings`] from the environment, and building the sources.
//! - [`oauth`], [`oauth_store`], [`callback`]: Roblox OAuth 2.0 (PKCE): the member's private
//!   sign-in link, the single-use expiring state, the code exchange, user info, the callback page.

pub mod bloxlink;
pub mod callback;
pub mod error;
pub mod http;
pub mod oauth;
pub mod oauth_store;
pub mod resolver;
pub mod rover;
pub mod settings;
pub mod source;
pub mod store;
pub mod stored;

pub use error::LinkError;
pub use oauth::{OAuthError, OAuthSettings, RobloxOAuth, SignIn, Verified};
pub use resolver::{Freshness, Links, MemberLink};
pub use settings::{LinkSettings, ProviderSettings};
pub use source::{Answer, LinkSource, ProviderError, SourceKind};
pub use store::{CachedAnswer, StoredLink};
