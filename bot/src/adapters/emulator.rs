//! Ports over the in-memory Open Cloud emulator's store, bus and users (no HTTP), plus a virtual
//! clock: what the service tests and the local sandbox run on.

use super::counting::CallCounter;
use super::open_cloud::WalletLocation;
use crate::service::{
    BoxFut, Clock, Messaging, PortError, RobloxUser, Users, WalletEntry, WalletStore, WalletWrite,
    WriteCondition, WriteError,
};
use opencloud::emulator::{
    Emulator, Entry, EntryKey, ManualClock, SetCondition, StoreError, Writer,
};
use shared::clock::Sleep;
use std::sync::Arc;
use std::time::Duration;

const SERVICE: &str = "Open Cloud emulator";

/// Wallet store, messaging and users over one emulator.
#[derive(Debug, Clone)]
pub struct EmulatorPorts {
    emulator: Arc<Emulator>,
    location: WalletLocation,
    calls: Arc<CallCounter>,
    writer: Writer,
}

impl EmulatorPorts {
    /// Ports over `emulator` for wallets at `location`; writes are attributed to the API key
    /// name `bot`.
    pub fn new(emulator: Arc<Emulator>, location: WalletLocation, calls: Arc<CallCounter>) -> Self {
        Self {
            emulator,
            location,
            calls,
            writer: Writer::open_cloud("bot"),
        }
    }

    /// The store key of `user_id`'s wallet.
    pub fn key(&self, user_id: u64) -> EntryKey {
        EntryKey::new(
            self.location.universe_id,
            self.location.datastore.clone(),
            self.location.key(user_id),
        )
    }
}

fn to_wallet_entry(e: &Entry) -> Result<WalletEntry, PortError> {
    let value = serde_json::from_str(&e.value)
        .map_err(|_| PortError::new(SERVICE, "the wallet entry is not JSON"))?;
    Ok(WalletEntry {
        value,
        version: e.version.clone(),
        updated_ms: e.updated_ms,
        attributes: e.attributes.clone(),
        user_ids: e.user_ids.clone(),
    })
}

impl WalletStore for EmulatorPorts {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        Box::pin(async move {
            self.calls.get();
            self.emulator
                .store
                .get(&self.key(user_id))
                .as_ref()
                .map(to_wallet_entry)
                .transpose()
        })
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            self.calls.set();
            let WalletWrite {
                user_id,
                value,
                attributes,
                user_ids,
                condition,
            } = write;
            let condition = match condition {
                WriteCondition::MatchVersion(v) => SetCondition {
                    match_version: Some(v),
                    exclusive_create: false,
                },
                WriteCondition::CreateOnly => SetCondition {
                    match_version: None,
                    exclusive_create: true,
                },
            };
            let result = self.emulator.store.set(
                &self.key(user_id),
                &self.writer,
                value.to_string(),
                attributes,
                user_ids,
                condition,
            );
            match result {
                Ok(entry) => Ok(to_wallet_entry(&entry)?),
                Err(StoreError::PreconditionFailed { current }) => Err(WriteError::Conflict {
                    current: current.as_ref().map(to_wallet_entry).transpose()?,
                }),
                Err(e) => Err(WriteError::Port(PortError::new(
                    SERVICE,
                    format!("refused the write ({})", e.datastore_error_code()),
                ))),
            }
        })
    }
}

impl Messaging for EmulatorPorts {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.calls.publish();
            opencloud::limits::check_message(message)
                .map_err(|_| PortError::new(SERVICE, "message over 1 KiB"))?;
            // Through the bus's seeded faults, like the emulator's HTTP publish endpoints.
            self.emulator
                .bus
                .publish_faulty(self.location.universe_id, topic, message);
            Ok(())
        })
    }
}

impl Users for EmulatorPorts {
    fn by_id(&self, id: u64) -> BoxFut<'_, Result<Option<RobloxUser>, PortError>> {
        Box::pin(async move {
            self.calls.users();
            Ok(self.emulator.users.by_id(id).map(|u| RobloxUser {
                id: u.id,
                name: u.name,
                display_name: u.display_name,
            }))
        })
    }

    fn by_name<'a>(&'a self, name: &'a str) -> BoxFut<'a, Result<Option<RobloxUser>, PortError>> {
        Box::pin(async move {
            self.calls.users();
            Ok(self
                .emulator
                .users
                .by_name(name)
                .filter(|u| !u.banned)
                .map(|u| RobloxUser {
                    id: u.id,
                    name: u.name,
                    display_name: u.display_name,
                }))
        })
    }
}

/// Virtual time: `sleep` moves the emulator's manual clock forward at once (and delivers
/// messages that became due), so minutes of confirmation run in milliseconds.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    clock: Arc<ManualClock>,
    emulator: Option<Arc<Emulator>>,
}

impl VirtualClock {
    /// A virtual clock over `clock`, delivering due messages of `emulator` after each sleep.
    pub fn new(clock: Arc<ManualClock>, emulator: Option<Arc<Emulator>>) -> Self {
        Self { clock, emulator }
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn sleep(&self, d: Duration) -> Sleep<'_> {
        Box::pin(async move {
            self.clock.advance(shared::clock::millis(d));
            if let Some(e) = &self.emulator {
                e.bus.deliver_due();
            }
            // Let spawned work (audit posts of emulated servers) run.
            tokio::task::yield_now().await;
        })
    }
}
