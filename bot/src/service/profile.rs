//! The stored shape of a wallet profile (ProfileStore 1.0.3 / ProfileService 1.4.2) and the
//! questions the service asks of it: who holds the session lock, what the wallet says.
//!
//! Both libraries store `{Data, MetaData{ProfileCreateTime, SessionLoadCount, ActiveSession,
//! ForceLoadSession, LastUpdate, MetaTags}, RobloxMetaData, UserIds, GlobalUpdates}`.
//! `ActiveSession` is `{PlaceId, JobId, SessionId}` (ProfileStore) or `{PlaceId, JobId}`
//! (ProfileService); `LastUpdate` is `os.time()` seconds of the holder's last save. A lock whose
//! `LastUpdate` is older than the library's dead-lock time is one the library itself would take
//! over (ProfileStore `ASSUME_DEAD` = 630 s, ProfileService `AssumeDeadSessionLock` = 1800 s).

use serde_json::{Map, Value, json};
use shared::{Wallet, WalletError};

/// Which session-locking library owns the wallet entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileLibrary {
    /// ProfileStore 1.0.3 (the default).
    ProfileStore,
    /// ProfileService 1.4.2.
    ProfileService,
}

impl ProfileLibrary {
    /// Seconds after the last save at which the library treats a session lock as dead.
    pub fn dead_lock_secs(self) -> i64 {
        match self {
            ProfileLibrary::ProfileStore => 630,
            ProfileLibrary::ProfileService => 30 * 60,
        }
    }
}

/// Extra seconds the bot waits beyond the library's dead-lock time (clock skew between hosts).
pub const DEAD_LOCK_MARGIN_SECS: i64 = 120;

/// Who holds the wallet's session lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Nobody: the bot may write with compare-and-swap.
    None,
    /// A live game server holds it: only that server may write; the bot publishes.
    Live {
        /// The holder's `game.JobId`, when readable.
        job_id: Option<String>,
    },
    /// A holder that stopped saving longer ago than the library's dead-lock time.
    Dead {
        /// The holder's `game.JobId`, when readable.
        job_id: Option<String>,
    },
}

/// A stored entry the bot must not touch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not a JSON object, or `Data`/`MetaData` of the wrong type: the library would reset it.
    #[error("the wallet entry is not a profile document")]
    NotAProfile,
    /// `Data` is not a valid wallet document.
    #[error("the wallet document is invalid: {0}")]
    Wallet(String),
}

impl From<WalletError> for ProfileError {
    fn from(e: WalletError) -> Self {
        ProfileError::Wallet(e.to_string())
    }
}

/// A profile document: everything but `Data` is kept exactly as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    root: Map<String, Value>,
}

impl Profile {
    /// Reads a stored profile; `None` (no entry) gives a fresh one.
    pub fn parse(
        value: Option<&Value>,
        library: ProfileLibrary,
        now_ms: i64,
    ) -> Result<Self, ProfileError> {
        let Some(value) = value else {
            return Ok(Self::fresh(library, now_ms));
        };
        let Value::Object(root) = value else {
            return Err(ProfileError::NotAProfile);
        };
        let data_ok = matches!(root.get("Data"), None | Some(Value::Object(_)));
        let meta_ok = matches!(root.get("MetaData"), None | Some(Value::Object(_)));
        // Roblox encodes an empty Lua table as `[]`; accept it where a table is expected.
        let empty_array = |k: &str| matches!(root.get(k), Some(Value::Array(a)) if a.is_empty());
        if !(data_ok || empty_array("Data")) || !(meta_ok || empty_array("MetaData")) {
            return Err(ProfileError::NotAProfile);
        }
        let mut profile = Self { root: root.clone() };
        if !matches!(profile.root.get("MetaData"), Some(Value::Object(_))) {
            // Only GlobalUpdates stored (or nothing): the library would create the profile.
            let fresh = Self::fresh(library, now_ms);
            for (k, v) in fresh.root {
                // Keep whatever is stored (GlobalUpdates, an existing Data); replace MetaData.
                if k == "MetaData" || !profile.root.contains_key(&k) {
                    profile.root.insert(k, v);
                }
            }
        }
        Ok(profile)
    }

    /// A new profile in the library's format with no session and an empty wallet.
    pub fn fresh(library: ProfileLibrary, now_ms: i64) -> Self {
        // Both libraries start GlobalUpdates as {update_index = 0, {}}; the format is shared.
        let _ = library;
        let global_updates = json!([0, []]);
        let value = json!({
            "Data": {},
            "MetaData": {
                "ProfileCreateTime": now_ms / 1000,
                "SessionLoadCount": 0,
                "MetaTags": {},
            },
            "RobloxMetaData": {},
            "UserIds": [],
            "GlobalUpdates": global_updates,
        });
        match value {
            Value::Object(root) => Self { root },
            _ => unreachable!("a JSON object literal"),
        }
    }

    fn meta(&self) -> Option<&Map<String, Value>> {
        self.root.get("MetaData").and_then(Value::as_object)
    }

    /// Who holds the session lock at `now_ms`.
    pub fn session(&self, library: ProfileLibrary, now_ms: i64) -> Session {
        let Some(meta) = self.meta() else {
            return Session::None;
        };
        let Some(Value::Array(active)) = meta.get("ActiveSession") else {
            return Session::None;
        };
        let job_id = active.get(1).and_then(Value::as_str).map(str::to_owned);
        // Without LastUpdate the libraries never assume the lock dead; neither does the bot.
        let last_update = meta.get("LastUpdate").and_then(Value::as_f64);
        match last_update {
            Some(t)
                if now_ms / 1000 - t as i64 > library.dead_lock_secs() + DEAD_LOCK_MARGIN_SECS =>
            {
                Session::Dead { job_id }
            }
            _ => Session::Live { job_id },
        }
    }

    /// Whether the stored entry was saved after `at_ms` (Unix ms) by its holder: `LastUpdate`
    /// is the holder's own `os.time()` at its last save (or session start), the clock its apply
    /// rule judges `expiresAt` by, so a save stamped after `expiresAt` holds every command the
    /// holder applied before it expired, whatever the skew between the bot and that server.
    pub fn saved_after(&self, at_ms: i64) -> bool {
        self.meta()
            .and_then(|m| m.get("LastUpdate"))
            .and_then(Value::as_f64)
            .is_some_and(|t| (t * 1000.0) as i64 > at_ms)
    }

    /// The wallet document (`Data`); an empty `Data` is the empty wallet.
    pub fn wallet(&self) -> Result<Wallet, ProfileError> {
        let wallet: Wallet = match self.root.get("Data") {
            None | Some(Value::Array(_)) => Wallet::default(),
            Some(v) => Wallet::from_stored(v)
                .map_err(|e| ProfileError::Wallet(format!("unreadable: {e}")))?,
        };
        wallet.validate()?;
        Ok(wallet)
    }

    /// Replaces `Data` with `wallet`; nothing else changes.
    pub fn set_wallet(&mut self, wallet: &Wallet) {
        let data = serde_json::to_value(wallet).unwrap_or_else(|_| Value::Object(Map::new()));
        self.root.insert("Data".into(), data);
    }

    /// Clears a dead session lock exactly as the library does when it takes one over
    /// (`ActiveSession` and `ForceLoadSession` set to nil), so the stale holder's next save finds
    /// it no longer owns the profile and writes nothing.
    pub fn release_dead_lock(&mut self) {
        if let Some(Value::Object(meta)) = self.root.get_mut("MetaData") {
            meta.remove("ActiveSession");
            meta.remove("ForceLoadSession");
        }
    }

    /// The document as JSON.
    pub fn to_value(&self) -> Value {
        Value::Object(self.root.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_219_200_000;

    fn stored(active: Value, last_update_s: i64) -> Value {
        json!({
            "Data": {"v": 1, "balance": 5, "ring": [], "watermark": 0, "outbox": [], "future": 1},
            "MetaData": {"ProfileCreateTime": 1, "SessionLoadCount": 3, "ActiveSession": active,
                         "LastUpdate": last_update_s, "MetaTags": []},
            "RobloxMetaData": {"k": "v"}, "UserIds": [7],
            "GlobalUpdates": [0, []]
        })
    }

    #[test]
    fn sessions_are_live_dead_or_absent() {
        let now_s = NOW / 1000;
        let lib = ProfileLibrary::ProfileStore;
        let live = Profile::parse(
            Some(&stored(json!([1, "job-a", "sid"]), now_s - 60)),
            lib,
            NOW,
        )
        .unwrap();
        assert_eq!(
            live.session(lib, NOW),
            Session::Live {
                job_id: Some("job-a".into())
            }
        );
        let old = now_s - 630 - DEAD_LOCK_MARGIN_SECS - 1;
        let dead =
            Profile::parse(Some(&stored(json!([1, "job-a", "sid"]), old)), lib, NOW).unwrap();
        assert_eq!(
            dead.session(lib, NOW),
            Session::Dead {
                job_id: Some("job-a".into())
            }
        );
        // ProfileService waits 30 minutes before calling the same lock dead.
        assert!(matches!(
            dead.session(ProfileLibrary::ProfileService, NOW),
            Session::Live { .. }
        ));
        let mut v = stored(json!([1, "job-a"]), now_s);
        v["MetaData"]
            .as_object_mut()
            .unwrap()
            .remove("ActiveSession");
        let free = Profile::parse(Some(&v), lib, NOW).unwrap();
        assert_eq!(free.session(lib, NOW), Session::None);
    }

    #[test]
    fn writing_the_wallet_keeps_everything_else() {
        let before = stored(json!([1, "job-a", "sid"]), NOW / 1000 - 5_000);
        let mut p = Profile::parse(Some(&before), ProfileLibrary::ProfileStore, NOW).unwrap();
        let mut w = p.wallet().unwrap();
        assert_eq!(w.balance, 5);
        w.balance = 9;
        p.set_wallet(&w);
        p.release_dead_lock();
        let after = p.to_value();
        assert_eq!(after["Data"]["balance"], 9);
        assert_eq!(after["Data"]["future"], 1, "unknown wallet fields survive");
        for k in ["RobloxMetaData", "UserIds", "GlobalUpdates"] {
            assert_eq!(after[k], before[k]);
        }
        assert_eq!(after["MetaData"]["SessionLoadCount"], 3);
        assert_eq!(
            after["MetaData"]["LastUpdate"],
            before["MetaData"]["LastUpdate"]
        );
        assert!(after["MetaData"].get("ActiveSession").is_none());
    }

    #[test]
    fn foreign_documents_are_refused_and_missing_ones_are_created() {
        assert_eq!(
            Profile::parse(Some(&json!(5)), ProfileLibrary::ProfileStore, NOW),
            Err(ProfileError::NotAProfile)
        );
        assert_eq!(
            Profile::parse(
                Some(&json!({"Data": "x"})),
                ProfileLibrary::ProfileStore,
                NOW
            ),
            Err(ProfileError::NotAProfile)
        );
        let fresh = Profile::parse(None, ProfileLibrary::ProfileStore, NOW).unwrap();
        assert_eq!(
            fresh.session(ProfileLibrary::ProfileStore, NOW),
            Session::None
        );
        assert_eq!(fresh.wallet().unwrap(), Wallet::default());
        let only_updates = json!({"GlobalUpdates": [3, [[3, {"x": 1}]]]});
        let p = Profile::parse(Some(&only_updates), ProfileLibrary::ProfileStore, NOW).unwrap();
        assert_eq!(p.to_value()["GlobalUpdates"], only_updates["GlobalUpdates"]);
        assert!(p.to_value()["MetaData"].is_object());
        let bad = json!({"Data": {"balance": -1}, "MetaData": {}});
        assert!(matches!(
            Profile::parse(Some(&bad), ProfileLibrary::ProfileStore, NOW)
                .unwrap()
                .wallet(),
            Err(ProfileError::Wallet(_))
        ));
    }
}
