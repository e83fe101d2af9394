//! Wallet store, messaging and users over the `opencloud` HTTP client (Roblox or the emulator).

use super::counting::CallCounter;
use crate::service::{
    BoxFut, Messaging, PortError, RobloxUser, Users, WalletEntry, WalletStore, WalletWrite,
    WriteCondition, WriteError,
};
use opencloud::client::{DataStoreEntry, EntryPath, Error, OpenCloud, SetOptions};
use std::sync::Arc;

const SERVICE: &str = "Roblox Open Cloud";

/// Where wallets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletLocation {
    /// Universe (experience) id.
    pub universe_id: u64,
    /// Data store name (default `EconomyWallet`).
    pub datastore: String,
    /// Key prefix (default `wallet_`).
    pub key_prefix: String,
}

impl WalletLocation {
    /// The entry key of `user_id`'s wallet.
    pub fn key(&self, user_id: u64) -> String {
        format!("{}{user_id}", self.key_prefix)
    }
}

/// The Open Cloud ports over one client.
#[derive(Debug, Clone)]
pub struct OpenCloudPorts {
    client: OpenCloud,
    location: WalletLocation,
    calls: Arc<CallCounter>,
}

impl OpenCloudPorts {
    /// Ports over `client` for wallets at `location`, counting calls into `calls`.
    pub fn new(client: OpenCloud, location: WalletLocation, calls: Arc<CallCounter>) -> Self {
        Self {
            client,
            location,
            calls,
        }
    }

    fn path(&self, user_id: u64) -> EntryPath {
        EntryPath::new(
            self.location.universe_id,
            self.location.datastore.clone(),
            self.location.key(user_id),
        )
    }
}

fn port_error(e: &Error) -> PortError {
    // The client's errors never include the API key; keep only the kind and status.
    let detail = match e {
        Error::Throttled(_, hint) => {
            return PortError::throttled(SERVICE, "throttled (429)", *hint);
        }
        Error::Transport(_) => "cannot be reached".to_owned(),
        Error::OutcomeUnknown { .. } => "the write's outcome is unknown".to_owned(),
        Error::Api(api) => format!("answered HTTP {}", api.status),
        Error::Decode(_) => "sent an unexpected response".to_owned(),
        Error::InvalidInput(_) | Error::InvalidArgument(_) => "refused the request".to_owned(),
        Error::PreconditionFailed { .. } => "precondition failed".to_owned(),
    };
    PortError::new(SERVICE, detail)
}

fn to_wallet_entry(e: &DataStoreEntry) -> Result<WalletEntry, PortError> {
    let value = e
        .json()
        .map_err(|_| PortError::new(SERVICE, "the wallet entry is not JSON"))?;
    Ok(WalletEntry {
        value,
        version: e.version.clone(),
        updated_ms: e.version_created_ms.unwrap_or_default(),
        attributes: e.attributes.clone(),
        user_ids: e.user_ids.clone(),
    })
}

impl WalletStore for OpenCloudPorts {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        Box::pin(async move {
            self.calls.get();
            let result = self.client.get_entry(&self.path(user_id)).await;
            crate::metrics::open_cloud_call("get", result.is_ok());
            match result {
                Ok(Some(e)) => to_wallet_entry(&e).map(Some),
                Ok(None) => Ok(None),
                Err(e) => Err(port_error(&e)),
            }
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
            let (match_version, exclusive_create) = match condition {
                WriteCondition::MatchVersion(v) => (Some(v), false),
                WriteCondition::CreateOnly => (None, true),
            };
            let options = SetOptions {
                attributes: attributes.clone(),
                user_ids: user_ids.clone(),
                match_version,
                exclusive_create,
            };
            let text = value.to_string();
            let result = self
                .client
                .set_entry(&self.path(user_id), &text, &options)
                .await;
            // A 412 is an answer, not a failure.
            let ok = matches!(result, Ok(_) | Err(Error::PreconditionFailed { .. }));
            crate::metrics::open_cloud_call("set", ok);
            match result {
                Ok(v) => Ok(WalletEntry {
                    value,
                    updated_ms: opencloud::timefmt::parse(&v.created_time).unwrap_or_default(),
                    version: v.version,
                    attributes,
                    user_ids,
                }),
                Err(Error::PreconditionFailed { current }) => Err(WriteError::Conflict {
                    current: current.as_deref().map(to_wallet_entry).transpose()?,
                }),
                Err(e) => Err(WriteError::Port(port_error(&e))),
            }
        })
    }
}

impl Messaging for OpenCloudPorts {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.calls.publish();
            let result = self
                .client
                .publish(self.location.universe_id, topic, message)
                .await;
            crate::metrics::open_cloud_call("publish", result.is_ok());
            result.map_err(|e| port_error(&e))
        })
    }
}

impl Users for OpenCloudPorts {
    fn by_id(&self, id: u64) -> BoxFut<'_, Result<Option<RobloxUser>, PortError>> {
        Box::pin(async move {
            self.calls.users();
            let found = self.client.get_user(id).await;
            crate::metrics::open_cloud_call("users", found.is_ok());
            let found = found.map_err(|e| port_error(&e))?;
            Ok(found.map(|u| RobloxUser {
                id,
                name: u.name,
                display_name: u.display_name,
            }))
        })
    }

    fn by_name<'a>(&'a self, name: &'a str) -> BoxFut<'a, Result<Option<RobloxUser>, PortError>> {
        Box::pin(async move {
            self.calls.users();
            let found = self.client.user_ids_by_names(&[name]).await;
            crate::metrics::open_cloud_call("users", found.is_ok());
            let found = found.map_err(|e| port_error(&e))?;
            Ok(found.into_iter().next().map(|m| RobloxUser {
                id: m.id,
                name: m.name,
                display_name: m.display_name,
            }))
        })
    }
}
