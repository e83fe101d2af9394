//! The [`Service`] struct, its configuration and ports, and the queries that move no money.

use super::super::bulk::budget::ThrottleWatch;
use super::super::bulk::packer::{Outlet, PackStats, Packer};
use super::super::bulk::{BulkConfig, WriteBudget};
use super::super::db::{Db, DbError, TxnRow};
use super::super::names::{MAX_LOOKUPS_PER_ANSWER, NameCache, Names};
use super::super::outcome::{ActorCtx, Outcome, Refusal, ServiceError, Target};
use super::super::policy::Policy;
use super::super::ports::{
    AuditLog, AuditPage, AuditQuery, Clock, Messaging, RobloxUser, Totals, TotalsQuery, Users,
    WalletEntry, WalletStore,
};
use super::super::profile::{Profile, ProfileLibrary, Session};
use shared::{Command, KeyRing, Limits, TxnId, decode_command_message};
use std::sync::Arc;
use std::time::Duration;

/// Timing and protocol settings of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// MessagingService topic for commands.
    pub topic: String,
    /// Which library owns the wallet profiles.
    pub library: ProfileLibrary,
    /// Limits shared with the game servers.
    pub limits: Limits,
    /// Command validity window (expiresAt − issuedAt), ≤ 15 min.
    pub command_ttl: Duration,
    /// Extra wait after expiresAt before "not delivered" is final (clock skew, in-flight saves).
    pub grace: Duration,
    /// Audit API long-poll per confirmation round.
    pub long_poll: Duration,
    /// Pause between confirmation rounds (after the long-poll).
    pub round_pause: Duration,
    /// Least time between two publishes of the same command.
    pub republish_every: Duration,
    /// How long a request waits for confirmation before answering `Pending`.
    pub reply_budget: Duration,
    /// Staff policy.
    pub policy: Policy,
    /// Bulk payouts: the write budget's reserved share, the assumed CCU, the list limit.
    pub bulk: BulkConfig,
}

/// The ports the service runs on.
#[derive(Clone)]
pub struct Ports {
    /// Wallet DataStore.
    pub wallets: Arc<dyn WalletStore>,
    /// MessagingService.
    pub messaging: Arc<dyn Messaging>,
    /// Audit API.
    pub audit: Arc<dyn AuditLog>,
    /// Roblox users.
    pub users: Arc<dyn Users>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A wallet as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    /// The player.
    pub user: RobloxUser,
    /// Balance as of the last save.
    pub balance: i64,
    /// When that save happened (Unix ms), none for a wallet never written.
    pub as_of_ms: Option<i64>,
    /// Whether a game server holds the wallet right now (its in-memory balance may be newer).
    pub in_live_server: bool,
}

/// A wallet as read for a confirmation prompt (the member sees the balance before confirming).
/// The command confirmed on it reuses this read as its first ([`Service::execute_after_read`]),
/// so showing the balance costs no Open Cloud call.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletRead {
    /// Roblox user id.
    pub user_id: u64,
    /// Balance as of the last save.
    pub balance: i64,
    /// Whether a game server held the wallet (its in-memory balance may be newer).
    pub in_live_server: bool,
    /// When the read was made (the service clock's Unix ms).
    pub read_at_ms: i64,
    /// The entry as read.
    pub(super) entry: Option<WalletEntry>,
}

/// How old a [`WalletRead`] may be and still serve as a command's first read: longer than the
/// longest confirmation prompt (600 s). A stale read is safe (every write is compare-and-swap
/// and a refusal decided on it is checked on a fresh read); only its age is bounded.
pub const WALLET_READ_REUSABLE_MS: i64 = 11 * 60 * 1000;

/// A settled movement as posted to the log channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledTxn {
    /// The txn id.
    pub txn: TxnId,
    /// Roblox user id.
    pub user_id: u64,
    /// Give or deduct.
    pub op: shared::Op,
    /// Amount.
    pub amount: i64,
    /// Discord actor id.
    pub actor_id: String,
    /// Actor display name.
    pub actor_name: String,
    /// The reason the actor gave.
    pub reason: String,
    /// How it settled.
    pub outcome: Outcome,
    /// When it settled (Unix ms).
    pub settled_at_ms: i64,
    /// The txn this one reverses, when it is a reversal.
    pub reverses: Option<TxnId>,
}

/// The framework-free service behind the Discord commands and the CLI.
pub struct Service {
    pub(super) ports: Ports,
    pub(super) db: Db,
    pub(super) keys: KeyRing,
    pub(super) config: ServiceConfig,
    pub(super) names: NameCache,
    /// The pace of bulk payouts, shared by every batch this service runs.
    pub(super) budget: Arc<WriteBudget>,
    /// Packs payout items' publishes into batch envelopes.
    pub(super) packer: Arc<Packer>,
}

/// A duration in whole milliseconds (saturating), as the protocol's timestamps count.
pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Service {
    /// A service over `ports`, its database and the command-signing keys (the first signs).
    pub fn new(ports: Ports, db: Db, keys: KeyRing, config: ServiceConfig) -> Self {
        let clock = ports.clock.clone();
        let budget = Arc::new(WriteBudget::new(
            config.bulk.batch_writes_per_minute(),
            clock.now_ms(),
        ));
        // Every 429 the wallet store or messaging sees pauses bulk payouts for its Retry-After.
        let ports = Ports {
            wallets: Arc::new(ThrottleWatch {
                inner: ports.wallets,
                budget: budget.clone(),
                clock: clock.clone(),
            }),
            messaging: Arc::new(ThrottleWatch {
                inner: ports.messaging,
                budget: budget.clone(),
                clock: clock.clone(),
            }),
            ..ports
        };
        let packer = Packer::new(Outlet {
            messaging: ports.messaging.clone(),
            topic: config.topic.clone(),
            key: keys.signing_key().clone(),
            clock,
        });
        Self {
            ports,
            db,
            keys,
            config,
            names: NameCache::default(),
            budget,
            packer,
        }
    }

    /// The bulk payouts' write budget (its rate per minute is what a batch may spend).
    pub fn write_budget(&self) -> &WriteBudget {
        &self.budget
    }

    /// What the packer has published (envelopes, players in them, packs of one).
    pub fn pack_stats(&self) -> PackStats {
        self.packer.stats()
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The bot database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The service's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    /// Resolves a target to a Roblox user (id or username), for showing before money moves.
    pub async fn resolve(&self, target: &Target) -> Result<RobloxUser, ServiceError> {
        let found = match target {
            Target::Id(id) => self.ports.users.by_id(*id).await?,
            Target::Name(name) => self.ports.users.by_name(name).await?,
        };
        found.ok_or_else(|| {
            let shown = match target {
                Target::Id(id) => id.to_string(),
                Target::Name(n) => format!("named {:?}", n.chars().take(40).collect::<String>()),
            };
            Refusal::UnknownUser(shown).into()
        })
    }

    /// Whether `amount` needs an explicit confirmation under the policy.
    pub fn needs_confirmation(&self, amount: i64) -> bool {
        amount > self.config.policy.confirm_above
    }

    pub(super) fn command_of(&self, row: &TxnRow) -> Result<Command, ServiceError> {
        decode_command_message(&row.message, &self.keys)
            .map_err(|_| ServiceError::Db(DbError::Corrupt(row.txn.to_string())))
    }

    /// The outcome stored for `txn` right now (no remote calls), `None` for an unknown txn.
    pub async fn stored_outcome(&self, txn: &TxnId) -> Result<Option<Outcome>, ServiceError> {
        Ok(self.db.get(txn).await?.map(|row| row.outcome.clone()))
    }

    /// Counts for monitoring: (audit records awaiting acknowledgement, txns still pending).
    pub async fn queue_sizes(&self) -> Result<(i64, i64), ServiceError> {
        let unacked = self.db.unacked_count().await?;
        let pending = i64::try_from(self.db.pending().await?.len()).unwrap_or(i64::MAX);
        Ok((unacked, pending))
    }

    /// Settled txns not yet posted to the log channel (oldest first, at most `limit`; dead
    /// letters excluded).
    pub async fn unlogged(&self, limit: u32) -> Result<Vec<SettledTxn>, ServiceError> {
        self.db
            .unlogged(limit)
            .await?
            .into_iter()
            .map(|row| self.settled_txn(row))
            .collect()
    }

    /// A settled row as the log channel shows it (the reason comes from the signed message).
    pub(super) fn settled_txn(&self, row: TxnRow) -> Result<SettledTxn, ServiceError> {
        let reason = self.command_of(&row)?.reason;
        Ok(SettledTxn {
            outcome: row.outcome,
            settled_at_ms: row.settled_at.unwrap_or(row.created_at),
            txn: row.txn,
            user_id: row.user_id,
            op: row.op,
            amount: row.amount,
            actor_id: row.actor_id,
            actor_name: row.actor_name,
            reason,
            reverses: row.reverses,
        })
    }

    /// A player's balance as of the last save, and whether a live server holds the wallet.
    pub async fn balance(
        &self,
        actor: &ActorCtx,
        target: &Target,
    ) -> Result<BalanceView, ServiceError> {
        self.config.policy.max_for(actor)?;
        self.wallet_view(target).await
    }

    /// A player's balance without an actor check: for a member's own linked wallet (reading
    /// it moves nothing); every staff question goes through [`Service::balance`].
    pub async fn wallet_view(&self, target: &Target) -> Result<BalanceView, ServiceError> {
        let user = self.resolve(target).await?;
        let read = self.read_wallet(&user).await?;
        Ok(BalanceView {
            as_of_ms: read.entry.as_ref().map(|e| e.updated_ms),
            user,
            balance: read.balance,
            in_live_server: read.in_live_server,
        })
    }

    /// Reads `user`'s wallet once: the balance and whether a live server holds it, kept for
    /// [`Service::execute_after_read`].
    pub async fn read_wallet(&self, user: &RobloxUser) -> Result<WalletRead, ServiceError> {
        let entry = self.ports.wallets.read(user.id).await?;
        let now = self.ports.clock.now_ms();
        let lib = self.config.library;
        let profile =
            Profile::parse(entry.as_ref().map(|e| &e.value), lib, now).map_err(Refusal::from)?;
        let wallet = profile.wallet().map_err(Refusal::from)?;
        Ok(WalletRead {
            user_id: user.id,
            balance: wallet.balance,
            in_live_server: matches!(profile.session(lib, now), Session::Live { .. }),
            read_at_ms: now,
            entry,
        })
    }

    /// A page of the audit log (newest first) for a user and/or an actor.
    pub async fn audit(
        &self,
        actor: &ActorCtx,
        query: &AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        self.config.policy.max_for(actor)?;
        Ok(self.ports.audit.list(query).await?)
    }

    /// Sums given and deducted per staff member or per player (the audit log's totals).
    pub async fn audit_totals(
        &self,
        actor: &ActorCtx,
        query: &TotalsQuery,
    ) -> Result<Totals, ServiceError> {
        self.config.policy.max_for(actor)?;
        Ok(self.ports.audit.totals(query).await?)
    }

    /// Usernames of `ids` to show next to them, from the cache or the users port (at most
    /// [`MAX_LOOKUPS_PER_ANSWER`] look-ups). Never fails: an id whose look-up fails or finds no
    /// one is simply left out, and the answer shows the id alone.
    pub async fn user_names(&self, ids: Vec<u64>) -> Names {
        let now = self.ports.clock.now_ms();
        let mut names = Names::new();
        let mut lookups = 0;
        for id in ids {
            if names.contains_key(&id) {
                continue;
            }
            if let Some(name) = self.names.get(id, now) {
                names.insert(id, name);
                continue;
            }
            if lookups == MAX_LOOKUPS_PER_ANSWER {
                continue;
            }
            lookups += 1;
            match self.ports.users.by_id(id).await {
                Ok(Some(user)) => {
                    self.names.put(id, user.name.clone(), now);
                    names.insert(id, user.name);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(user_id = id, error = %e, "name look-up failed; showing the id alone")
                }
            }
        }
        names
    }
}
