//! `/link` (issue 17), the same for every front end: a member's own private Roblox sign-in link
//! (OAuth 2.0 with PKCE, [`RobloxOAuth::begin`]), and staff setting or removing a member's link.
//! Staff links are stored in the bot's link table with who set them and when; the Discord front
//! end also posts each change to the log channel (`bot/README.md`, "Account links").

use super::args::{MemberRef, parse_user};
use super::error::Failure;
use crate::links::{LinkError, Links, RobloxOAuth, SignIn, SourceKind};
use crate::service::{ActorCtx, Refusal, RobloxUser, Service, ServiceError};

/// A staff link set or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    /// The member is now linked to `player` by staff.
    Set {
        /// The member.
        member: u64,
        /// The Roblox account.
        player: RobloxUser,
        /// The Roblox id the staff link named before, if any.
        replaced: Option<u64>,
        /// Whether staff links are one of the configured sources (else the link is stored but
        /// not used until `staff` is added to `LINK_SOURCES`).
        counts: bool,
    },
    /// The member's staff link was removed (`false`: there was none).
    Removed {
        /// The member.
        member: u64,
        /// Whether a link was there.
        existed: bool,
    },
}

/// The member's own private sign-in link; refused when OAuth is not configured.
pub async fn sign_in(
    oauth: Option<&RobloxOAuth>,
    guild_id: u64,
    me: u64,
) -> Result<SignIn, ServiceError> {
    let Some(oauth) = oauth else {
        return Err(Refusal::OAuthNotConfigured.into());
    };
    oauth.begin(guild_id, me).await.map_err(|e| {
        tracing::warn!(error = %e, "sign-in link not created");
        Refusal::LinksUnavailable(e.to_string()).into()
    })
}

/// Staff set `member`'s link to the Roblox user `roblox` (id or username, as typed): the actor
/// is authorised first, the Roblox user must exist, then the link is stored with who set it.
pub async fn set_staff_link(
    service: &Service,
    actor: &ActorCtx,
    links: Option<&Links>,
    guild_id: u64,
    member: MemberRef,
    roblox: &str,
) -> Result<LinkChange, Failure> {
    service
        .config()
        .policy
        .max_for(actor)
        .map_err(ServiceError::from)?;
    if !member.in_server {
        return Err(ServiceError::from(Refusal::UnknownMember(member.id)).into());
    }
    let target = parse_user(roblox)?;
    let links = links.ok_or(ServiceError::from(Refusal::LinksNotConfigured))?;
    let player = service.resolve(&target).await?;
    let replaced = links
        .set_staff_link(guild_id, member.id, player.id, &actor.id)
        .await
        .map_err(stored)?;
    tracing::info!(
        actor = %actor.id,
        member = member.id,
        roblox_id = player.id,
        ?replaced,
        "staff link set"
    );
    Ok(LinkChange::Set {
        member: member.id,
        player,
        replaced,
        counts: links.order().contains(&SourceKind::Staff),
    })
}

/// Staff remove `member`'s staff link (the actor is authorised first).
pub async fn remove_staff_link(
    service: &Service,
    actor: &ActorCtx,
    links: Option<&Links>,
    guild_id: u64,
    member: MemberRef,
) -> Result<LinkChange, Failure> {
    service
        .config()
        .policy
        .max_for(actor)
        .map_err(ServiceError::from)?;
    let links = links.ok_or(ServiceError::from(Refusal::LinksNotConfigured))?;
    let existed = links
        .remove_staff_link(guild_id, member.id)
        .await
        .map_err(stored)?;
    tracing::info!(actor = %actor.id, member = member.id, existed, "staff link removed");
    Ok(LinkChange::Removed {
        member: member.id,
        existed,
    })
}

fn stored(e: LinkError) -> Failure {
    ServiceError::from(Refusal::LinksUnavailable(e.to_string())).into()
}
