//! Fresh random secrets for one sandbox run: the audit API keys (game servers: `write`; bot:
//! `read+write`), the command-signing key and the Open Cloud API key. Never printed: `Debug` is
//! redacted and nothing here implements `Display`.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use shared::KeyRing;

/// Key id the game servers sign audit posts with.
pub const GAME_AUDIT_KEY_ID: &str = "sandbox-game";
/// Key id the bot reads and writes the audit log with.
pub const BOT_AUDIT_KEY_ID: &str = "sandbox-bot";
/// Key id of the command-signing key (bot → game servers).
pub const COMMAND_KEY_ID: &str = "sandbox-cmd";
/// Name of the bot's Open Cloud API key (writes are attributed to it).
pub const OPEN_CLOUD_KEY_NAME: &str = "bot";

/// The secrets of one run.
#[derive(Clone)]
pub struct Secrets {
    game_audit: String,
    bot_audit: String,
    command: String,
    open_cloud: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    StdRng::from_os_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

impl Secrets {
    /// 32 random bytes per secret from the OS generator.
    pub fn generate() -> Self {
        Self {
            game_audit: random_hex(32),
            bot_audit: random_hex(32),
            command: random_hex(32),
            open_cloud: random_hex(24),
        }
    }

    /// The audit API's `API_KEYS` ring: the game servers' write key and the bot's read+write key.
    pub fn api_keys(&self) -> KeyRing {
        self.ring(&format!(
            "{BOT_AUDIT_KEY_ID}:read+write:{},{GAME_AUDIT_KEY_ID}:write:{}",
            self.bot_audit, self.game_audit
        ))
    }

    /// The bot's audit key (read+write), alone in a ring.
    pub fn bot_audit_key(&self) -> KeyRing {
        self.ring(&format!("{BOT_AUDIT_KEY_ID}:read+write:{}", self.bot_audit))
    }

    /// The command-signing ring shared by the bot and the game servers.
    pub fn command_keys(&self) -> KeyRing {
        self.ring(&format!("{COMMAND_KEY_ID}:{}", self.command))
    }

    /// `AUDIT_API_KEY` of a bot using this sandbox (`id:read+write:hex`; a secret).
    pub fn bot_audit_key_spec(&self) -> String {
        format!("{BOT_AUDIT_KEY_ID}:read+write:{}", self.bot_audit)
    }

    /// `COMMAND_KEYS` of a bot using this sandbox (`id:hex`; a secret).
    pub fn command_keys_spec(&self) -> String {
        format!("{COMMAND_KEY_ID}:{}", self.command)
    }

    /// The bot's Open Cloud API key text (for the emulator's key list and the client).
    pub fn open_cloud_key(&self) -> &str {
        &self.open_cloud
    }

    fn ring(&self, spec: &str) -> KeyRing {
        // The specs are built here from fixed ids and 32-byte hex secrets: always valid.
        KeyRing::parse(spec).unwrap_or_else(|_| unreachable!("generated key specs are valid"))
    }

    /// The `ServerStorage.EconomyBridgeSecrets` ModuleScript the bridge reads its settings from.
    pub fn luau_module(&self, settings: &BridgeSettings) -> String {
        bridge_harness::Settings {
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
            audit_key_id: GAME_AUDIT_KEY_ID.to_owned(),
            audit_secret_hex: self.game_audit.clone(),
            command_keys: vec![(COMMAND_KEY_ID.to_owned(), self.command.clone())],
            library: settings.library.clone(),
            data_store_name: Some(settings.datastore.clone()),
            key_prefix: Some(settings.key_prefix.clone()),
            command_topic: Some(settings.command_topic.clone()),
            log_level: Some(settings.log_level.clone()),
        }
        .luau_module()
    }
}

/// The non-secret settings written into the bridge's settings module.
#[derive(Clone, Debug)]
pub struct BridgeSettings {
    /// Audit API base URL (no trailing slash).
    pub api_url: String,
    /// `ProfileStore` or `ProfileService`.
    pub library: String,
    /// Wallet data store name.
    pub datastore: String,
    /// Wallet key prefix.
    pub key_prefix: String,
    /// MessagingService topic for commands.
    pub command_topic: String,
    /// Bridge log level (`debug`, `info`, `warn`, `error`).
    pub log_level: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BridgeSettings {
        BridgeSettings {
            api_url: "http://127.0.0.1:9/".into(),
            library: "ProfileStore".into(),
            datastore: "EconomyWallet".into(),
            key_prefix: "wallet_".into(),
            command_topic: "discord-commands".into(),
            log_level: "info".into(),
        }
    }

    #[test]
    fn every_run_gets_fresh_secrets_that_are_never_printed() {
        let a = Secrets::generate();
        let b = Secrets::generate();
        assert_ne!(a.command, b.command);
        assert_eq!(a.game_audit.len(), 64);
        let shown = format!("{a:?}");
        assert!(!shown.contains(&a.command) && !shown.contains(&a.game_audit));
        assert_eq!(a.api_keys().keys().len(), 2);
        assert_eq!(
            a.command_keys().signing_key().id.as_str(),
            COMMAND_KEY_ID,
            "the bot signs with the key the servers know"
        );
    }

    #[test]
    fn the_secrets_module_carries_the_keys_the_api_and_bot_use() {
        let s = Secrets::generate();
        let module = s.luau_module(&settings());
        assert!(module.starts_with("--!strict"));
        assert!(
            module.contains("apiUrl = \"http://127.0.0.1:9\","),
            "{module}"
        );
        assert!(module.contains(&format!("auditSecret = \"{}\"", s.game_audit)));
        assert!(module.contains(&format!("[\"{COMMAND_KEY_ID}\"] = \"{}\"", s.command)));
        let game = s.api_keys();
        let key = game.get(GAME_AUDIT_KEY_ID).unwrap();
        assert_eq!(hex::encode(key.secret.expose()), s.game_audit);
        assert!(key.allows(shared::Scope::Write) && !key.allows(shared::Scope::Read));
    }
}
