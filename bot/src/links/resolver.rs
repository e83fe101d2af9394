//! [`Links`]: a Discord member → one Roblox account, from the configured sources in order.
//!
//! Every configured source is asked (remote answers come from the cache while fresh), so two
//! sources that disagree are always seen: the member is then refused, never guessed. The first
//! source in order that links the member is the one a receipt names; the others that agree are
//! listed. A source with no link falls through to the next. A source that cannot answer (down,
//! rate-limited, key refused) stops the look-up with an error naming it: without its answer a
//! disagreement could be missed.

use super::error::LinkError;
use super::source::{Answer, LinkSource, ProviderError, SourceKind};
use super::store::StoredLink;
use crate::service::db::Db;
use crate::service::ports::Clock;
use std::sync::Arc;
use std::time::Duration;

/// How long cached provider answers are used before they are asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// A cached link older than this is refreshed.
    pub linked: Duration,
    /// A cached "no link" older than this is asked again (members link themselves at any time).
    pub not_linked: Duration,
}

/// One member's Roblox account, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLink {
    /// The Discord member.
    pub member_id: u64,
    /// The Roblox user id.
    pub roblox_id: u64,
    /// The first source in the configured order that links the member (what a receipt names).
    pub source: SourceKind,
    /// Later sources that link the member to the same account.
    pub confirmed_by: Vec<SourceKind>,
    /// When the oldest answer used was obtained (Unix ms): a cached provider answer's fetch time.
    pub checked_at_ms: i64,
}

/// The account-link layer the front ends call.
pub struct Links {
    sources: Vec<Arc<dyn LinkSource>>,
    db: Db,
    clock: Arc<dyn Clock>,
    freshness: Freshness,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("sources", &self.order())
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

impl Links {
    /// A resolver over `sources` in the given order, caching in `db`.
    pub fn new(
        sources: Vec<Arc<dyn LinkSource>>,
        db: Db,
        clock: Arc<dyn Clock>,
        freshness: Freshness,
    ) -> Self {
        Self {
            sources,
            db,
            clock,
            freshness,
        }
    }

    /// The configured sources, in order.
    pub fn order(&self) -> Vec<SourceKind> {
        self.sources.iter().map(|s| s.kind()).collect()
    }

    /// The Roblox account of `member_id` in `guild_id`, or why there is not exactly one.
    pub async fn resolve(&self, guild_id: u64, member_id: u64) -> Result<MemberLink, LinkError> {
        let mut found: Option<MemberLink> = None;
        for source in &self.sources {
            let kind = source.kind();
            let (answer, at_ms) = self.ask(source.as_ref(), guild_id, member_id).await?;
            let Some(roblox_id) = answer.roblox_id() else {
                continue;
            };
            match &mut found {
                None => {
                    found = Some(MemberLink {
                        member_id,
                        roblox_id,
                        source: kind,
                        confirmed_by: Vec::new(),
                        checked_at_ms: at_ms,
                    })
                }
                Some(link) if link.roblox_id == roblox_id => {
                    link.confirmed_by.push(kind);
                    link.checked_at_ms = link.checked_at_ms.min(at_ms);
                }
                Some(link) => {
                    crate::metrics::link_conflict();
                    tracing::info!(
                        member_id,
                        first = link.source.as_str(),
                        second = kind.as_str(),
                        "conflicting account links refused"
                    );
                    return Err(LinkError::Conflict {
                        member_id,
                        first: link.source,
                        first_id: link.roblox_id,
                        second: kind,
                        second_id: roblox_id,
                    });
                }
            }
        }
        found.ok_or_else(|| LinkError::NotLinked {
            member_id,
            asked: self.order(),
        })
    }

    /// Forgets every cached provider answer about the member, then resolves afresh.
    pub async fn refresh(&self, guild_id: u64, member_id: u64) -> Result<MemberLink, LinkError> {
        self.db.forget_cached_links(guild_id, member_id).await?;
        self.resolve(guild_id, member_id).await
    }

    /// Records a staff-set link (`staff_id` is who set it); returns the Roblox id it replaced.
    /// Staff links count only when `staff` is one of the configured sources.
    pub async fn set_staff_link(
        &self,
        guild_id: u64,
        member_id: u64,
        roblox_id: u64,
        staff_id: &str,
    ) -> Result<Option<u64>, LinkError> {
        self.store(guild_id, member_id, SourceKind::Staff, roblox_id, staff_id)
            .await
    }

    /// Removes the staff-set link of the member; `false` when there was none.
    pub async fn remove_staff_link(
        &self,
        guild_id: u64,
        member_id: u64,
    ) -> Result<bool, LinkError> {
        Ok(self
            .db
            .remove_member_link(guild_id, member_id, SourceKind::Staff)
            .await?)
    }

    /// Records a link the member proved with Roblox OAuth 2.0 (the OAuth callback calls this);
    /// returns the Roblox id it replaced.
    pub async fn store_verified(
        &self,
        guild_id: u64,
        member_id: u64,
        roblox_id: u64,
    ) -> Result<Option<u64>, LinkError> {
        let by = member_id.to_string();
        self.store(guild_id, member_id, SourceKind::RobloxOAuth, roblox_id, &by)
            .await
    }

    async fn store(
        &self,
        guild_id: u64,
        member_id: u64,
        kind: SourceKind,
        roblox_id: u64,
        set_by: &str,
    ) -> Result<Option<u64>, LinkError> {
        let link = StoredLink {
            roblox_id,
            set_by: set_by.to_owned(),
            set_at_ms: self.clock.now_ms(),
        };
        Ok(self
            .db
            .set_member_link(guild_id, member_id, kind, &link)
            .await?)
    }

    /// One source's answer and when it was obtained: remote answers from the cache while fresh,
    /// else asked and cached; the bot's own links read live.
    async fn ask(
        &self,
        source: &dyn LinkSource,
        guild_id: u64,
        member_id: u64,
    ) -> Result<(Answer, i64), LinkError> {
        let kind = source.kind();
        let now = self.clock.now_ms();
        if !kind.is_remote() {
            return Ok((
                counted(kind, source.lookup(guild_id, member_id).await)?,
                now,
            ));
        }
        if let Some(cached) = self.db.cached_link(guild_id, member_id, kind).await? {
            let max_age = match cached.roblox_id {
                Some(_) => self.freshness.linked,
                None => self.freshness.not_linked,
            };
            if now.saturating_sub(cached.fetched_at_ms) < shared::clock::millis(max_age) {
                let answer = match cached.roblox_id {
                    Some(roblox_id) => Answer::Linked { roblox_id },
                    None => Answer::NotLinked,
                };
                crate::metrics::link_lookup(kind.as_str(), "cached");
                return Ok((answer, cached.fetched_at_ms));
            }
        }
        let answer = counted(kind, source.lookup(guild_id, member_id).await)?;
        self.db
            .cache_link(guild_id, member_id, kind, answer.roblox_id(), now)
            .await?;
        Ok((answer, now))
    }
}

/// Counts a source's answer (or its failure) in the look-up metric, and passes it on.
fn counted(
    kind: SourceKind,
    answer: Result<Answer, ProviderError>,
) -> Result<Answer, ProviderError> {
    let result = match &answer {
        Ok(Answer::Linked { .. }) => "linked",
        Ok(Answer::NotLinked) => "not_linked",
        Err(ProviderError::Down { .. }) => "down",
        Err(ProviderError::RateLimited { .. }) => "rate_limited",
        Err(ProviderError::KeyRefused { .. }) => "key_refused",
        Err(ProviderError::BadAnswer { .. }) => "bad_answer",
        Err(ProviderError::Store { .. }) => "store",
    };
    crate::metrics::link_lookup(kind.as_str(), result);
    answer
}
