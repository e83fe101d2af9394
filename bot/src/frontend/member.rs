//! Discord members as targets (issue 17): a command that names a member instead of a Roblox
//! player resolves the member's linked account here, through [`Links`], the same for every
//! front end. Every way it can fail is a refusal (nothing moves) that says why: a user who is not
//! a member, a member without a link, a provider that is down or rate-limiting (named, with its
//! wait), two sources that disagree.

use super::args::{MemberRef, Who};
use crate::links::{LinkError, Links, MemberLink, SourceKind};
use crate::service::{Refusal, RobloxUser, Service, ServiceError, Target};

/// Where a front end's members live and how they are resolved.
#[derive(Debug, Clone, Copy)]
pub struct Members<'a> {
    /// The Discord server whose members are named.
    pub guild_id: u64,
    /// Member → Roblox account; `None` when no link source is configured.
    pub links: Option<&'a Links>,
}

/// A command's player, resolved: the Roblox account, and the member it was reached through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The Roblox account.
    pub player: RobloxUser,
    /// The Discord member and where the link came from, when a member was named.
    pub member: Option<MemberLink>,
}

/// The Roblox account of `member`, or the refusal that says why there is not one.
pub async fn member_link(
    members: Option<Members<'_>>,
    member: MemberRef,
) -> Result<MemberLink, ServiceError> {
    if !member.in_server {
        return Err(Refusal::UnknownMember(member.id).into());
    }
    let Some(Members {
        guild_id,
        links: Some(links),
    }) = members
    else {
        return Err(Refusal::LinksNotConfigured.into());
    };
    links
        .resolve(guild_id, member.id)
        .await
        .map_err(link_refusal)
}

/// The player `who` names: a Roblox user as typed, or the member's linked account.
pub async fn resolve_who(
    service: &Service,
    members: Option<Members<'_>>,
    who: &Who,
) -> Result<Resolved, ServiceError> {
    match who {
        Who::Player(target) => Ok(Resolved {
            player: service.resolve(target).await?,
            member: None,
        }),
        Who::Member(m) => {
            let link = member_link(members, *m).await?;
            let player = service.resolve(&Target::Id(link.roblox_id)).await?;
            Ok(Resolved {
                player,
                member: Some(link),
            })
        }
    }
}

/// A link look-up's failure as the refusal the member reads.
pub fn link_refusal(e: LinkError) -> ServiceError {
    let refusal = match e {
        LinkError::NotLinked { member_id, asked } => Refusal::MemberNotLinked {
            member: member_id,
            asked: source_names(&asked),
        },
        LinkError::Conflict {
            member_id,
            first,
            first_id,
            second,
            second_id,
        } => Refusal::LinkConflict {
            member: member_id,
            first: first.to_string(),
            first_id,
            second: second.to_string(),
            second_id,
        },
        // The provider error names the provider and its wait.
        other @ (LinkError::Provider(_) | LinkError::Db) => {
            Refusal::LinksUnavailable(other.to_string())
        }
    };
    refusal.into()
}

fn source_names(kinds: &[SourceKind]) -> String {
    kinds
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
