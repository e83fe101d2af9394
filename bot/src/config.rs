//! Settings from the environment (and `.env`): every problem is reported on its own line, and
//! secrets never appear in errors or `Debug` output. bot/README.md lists every setting.

use crate::links::LinkSettings;
use crate::service::{BulkConfig, Policy, ProfileLibrary};
use shared::{KeyRing, Limits};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A secret setting's text: never printed.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret read from the settings.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for handing to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Every problem found in the settings, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

/// The CLI's operator identity (policy applies to it like to any Discord member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliActor {
    /// Discord-style id (digits).
    pub id: String,
    /// Name shown in audit records.
    pub name: String,
    /// Role ids, checked against the allowlist.
    pub roles: Vec<String>,
}

/// All settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bot's own database: `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// Roblox universe id.
    pub universe_id: u64,
    /// Open Cloud API key.
    pub open_cloud_api_key: SecretString,
    /// Open Cloud base URL override (the emulator), if any.
    pub open_cloud_base_url: Option<url::Url>,
    /// Wallet data store name.
    pub wallet_datastore: String,
    /// Wallet key prefix.
    pub wallet_key_prefix: String,
    /// Profile library.
    pub library: ProfileLibrary,
    /// Command topic.
    pub command_topic: String,
    /// Command-signing keys (first signs).
    pub command_keys: KeyRing,
    /// Audit API base URL.
    pub audit_api_url: String,
    /// Audit API key (`read+write`).
    pub audit_api_key: KeyRing,
    /// Limits shared with game servers.
    pub limits: Limits,
    /// Staff policy.
    pub policy: Policy,
    /// Command validity window.
    pub command_ttl: Duration,
    /// Grace after expiresAt.
    pub grace: Duration,
    /// Audit long-poll per round.
    pub long_poll: Duration,
    /// Pause between confirmation rounds.
    pub round_pause: Duration,
    /// Least time between re-publishes.
    pub republish_every: Duration,
    /// How long a command waits before answering "pending".
    pub reply_budget: Duration,
    /// The CLI operator.
    pub cli_actor: CliActor,
    /// Discord member → Roblox account link sources.
    pub links: LinkSettings,
    /// Bulk payouts (`BULK_*`).
    pub bulk: BulkConfig,
}

struct Reader<'a, F: Fn(&str) -> Option<String>> {
    get: &'a F,
    errors: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let v = self.raw(name);
        if v.is_none() {
            self.errors.push(format!("{name} is missing: {what}"));
        }
        v
    }

    fn text(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    fn int(&mut self, name: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> i64 {
        match self.raw(name) {
            None => default,
            Some(v) => match v.replace('_', "").parse::<i64>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    self.errors.push(format!(
                        "{name} must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ));
                    default
                }
            },
        }
    }

    fn flag(&mut self, name: &str, default: bool) -> bool {
        match self.raw(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(_) => {
                self.errors.push(format!("{name} must be true or false"));
                default
            }
        }
    }

    fn secs(&mut self, name: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> Duration {
        Duration::from_secs(self.int(name, default, range).unsigned_abs())
    }
}

/// Parses `STAFF_ROLES` (`role_id:max[,…]`) into role id → maximum amount per command.
pub fn parse_roles(spec: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut map = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (role, max) = part
            .split_once(':')
            .ok_or_else(|| format!("entry {part:?} is not role_id:max_amount"))?;
        if role.is_empty()
            || !role
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_alphabetic())
        {
            return Err(format!("role id {role:?} must be letters or digits"));
        }
        let max: i64 = max
            .replace('_', "")
            .parse()
            .ok()
            .filter(|m| *m >= 1)
            .ok_or_else(|| format!("role {role}: the maximum must be a positive whole number"))?;
        map.insert(role.to_owned(), max);
    }
    if map.is_empty() {
        return Err("no roles given".into());
    }
    Ok(map)
}

impl Config {
    /// Reads the process environment (after `.env` was loaded by the caller).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            get: &get,
            errors: Vec::new(),
        };
        let universe_id = r
            .required("ROBLOX_UNIVERSE_ID", "the Roblox experience's universe id")
            .and_then(|v| match v.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    r.errors
                        .push("ROBLOX_UNIVERSE_ID must be a positive whole number".into());
                    None
                }
            });
        let api_key = r.required("ROBLOX_OPEN_CLOUD_API_KEY", "an Open Cloud API key");
        let base_url =
            r.raw("ROBLOX_OPEN_CLOUD_BASE_URL")
                .and_then(|v| match url::Url::parse(&v) {
                    Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
                    _ => {
                        r.errors
                            .push("ROBLOX_OPEN_CLOUD_BASE_URL must be an http(s) URL".into());
                        None
                    }
                });
        let library = match r
            .text("WALLET_LIBRARY", "profilestore")
            .to_ascii_lowercase()
            .as_str()
        {
            "profilestore" => ProfileLibrary::ProfileStore,
            "profileservice" => ProfileLibrary::ProfileService,
            _ => {
                r.errors
                    .push("WALLET_LIBRARY must be profilestore or profileservice".into());
                ProfileLibrary::ProfileStore
            }
        };
        let command_keys = r
            .required(
                "COMMAND_KEYS",
                "command-signing keys as key_id:hex-secret[,…]",
            )
            .and_then(|spec| match KeyRing::parse(&spec) {
                Ok(k) => Some(k),
                Err(e) => {
                    r.errors.push(format!("COMMAND_KEYS: {e}"));
                    None
                }
            });
        let audit_url = r.required("AUDIT_API_URL", "the audit API's base URL");
        let audit_key = r
            .required(
                "AUDIT_API_KEY",
                "the audit API key as key_id:read+write:hex-secret",
            )
            .and_then(|spec| match KeyRing::parse(&spec) {
                Ok(k) if k.keys().len() == 1 => Some(k),
                Ok(_) => {
                    r.errors
                        .push("AUDIT_API_KEY must hold exactly one key".into());
                    None
                }
                Err(e) => {
                    r.errors.push(format!("AUDIT_API_KEY: {e}"));
                    None
                }
            });
        let max_safe = shared::limits::MAX_SAFE_INTEGER;
        let max_amount = r.int("MAX_AMOUNT", 1_000_000_000, 1..=max_safe);
        let balance_cap = r.int("BALANCE_CAP", max_safe, 1..=max_safe);
        let roles = r
            .required(
                "STAFF_ROLES",
                "allowed Discord role ids with their maximum amount, role_id:max[,…]",
            )
            .and_then(|spec| match parse_roles(&spec) {
                Ok(m) => Some(m),
                Err(e) => {
                    r.errors.push(format!("STAFF_ROLES: {e}"));
                    None
                }
            });
        let daily_cap = r.int("DAILY_CAP", 10_000_000, 1..=max_safe);
        let cooldown = Duration::from_millis(
            r.int("ACTOR_COOLDOWN_MS", 3_000, 0..=3_600_000)
                .unsigned_abs(),
        );
        let confirm_above = r.int("CONFIRM_ABOVE", 100_000, 0..=max_safe);
        let command_ttl = r.secs("COMMAND_TTL_SECONDS", 300, 10..=900);
        let grace = r.secs("CONFIRM_GRACE_SECONDS", 30, 0..=600);
        let long_poll = r.secs("AUDIT_LONG_POLL_SECONDS", 10, 0..=30);
        let round_pause = Duration::from_millis(
            r.int("CONFIRM_ROUND_PAUSE_MS", 500, 0..=60_000)
                .unsigned_abs(),
        );
        let republish_every = r.secs("REPUBLISH_SECONDS", 5, 1..=300);
        let reply_budget = r.secs("REPLY_BUDGET_SECONDS", 20, 1..=840);
        let cli_actor = CliActor {
            id: r.text("CLI_ACTOR_ID", "0"),
            name: r.text("CLI_ACTOR_NAME", "cli"),
            roles: r
                .text("CLI_ACTOR_ROLES", "")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if cli_actor.id.is_empty()
            || cli_actor.id.len() > 20
            || !cli_actor.id.bytes().all(|b| b.is_ascii_digit())
        {
            r.errors.push("CLI_ACTOR_ID must be 1-20 digits".into());
        }
        let limits = Limits::new(max_amount, balance_cap);
        if limits.is_none() {
            r.errors
                .push("MAX_AMOUNT / BALANCE_CAP out of range".into());
        }
        let links = LinkSettings::read(&get, &mut r.errors);
        let bulk = BulkConfig {
            reserved_percent: u8::try_from(r.int("BULK_RESERVED_SHARE", 50, 0..=95)).unwrap_or(50),
            assumed_ccu: r.int("BULK_ASSUMED_CCU", 0, 0..=1_000_000).unsigned_abs(),
            max_items: usize::try_from(r.int("BULK_MAX_PLAYERS", 10_000, 1..=100_000))
                .unwrap_or(10_000),
            concurrency: usize::try_from(r.int("BULK_CONCURRENCY", 64, 1..=4096)).unwrap_or(64),
            envelopes: r.flag("BULK_ENVELOPES", true),
        };
        let database_url = r.text("BOT_DATABASE_URL", "sqlite://economy-bot.db");
        if crate::service::DbKind::of_url(&database_url).is_none() {
            r.errors
                .push("BOT_DATABASE_URL must start with sqlite: or postgres://".into());
        }
        match (
            universe_id,
            api_key,
            command_keys,
            audit_url,
            audit_key,
            roles,
            limits,
        ) {
            (
                Some(universe_id),
                Some(api_key),
                Some(command_keys),
                Some(audit_api_url),
                Some(audit_api_key),
                Some(role_max),
                Some(limits),
            ) if r.errors.is_empty() => Ok(Self {
                database_url,
                universe_id,
                open_cloud_api_key: SecretString(api_key),
                open_cloud_base_url: base_url,
                wallet_datastore: r.text("WALLET_DATASTORE", "EconomyWallet"),
                wallet_key_prefix: r.text("WALLET_KEY_PREFIX", "wallet_"),
                library,
                command_topic: r.text("COMMAND_TOPIC", "discord-commands"),
                command_keys,
                audit_api_url,
                audit_api_key,
                limits,
                policy: Policy {
                    role_max,
                    daily_cap,
                    cooldown,
                    confirm_above,
                },
                command_ttl,
                grace,
                long_poll,
                round_pause,
                republish_every,
                reply_budget,
                cli_actor,
                links,
                bulk,
            }),
            _ => Err(ConfigError(r.errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn lookup(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn valid() -> Vec<(&'static str, String)> {
        vec![
            ("ROBLOX_UNIVERSE_ID", "42".into()),
            ("ROBLOX_OPEN_CLOUD_API_KEY", "oc-secret-value".into()),
            ("COMMAND_KEYS", format!("k1:{HEX}")),
            ("AUDIT_API_URL", "http://127.0.0.1:8080".into()),
            ("AUDIT_API_KEY", format!("bot:read+write:{HEX}")),
            ("STAFF_ROLES", "111:1000,222:50".into()),
        ]
    }

    #[test]
    fn a_complete_environment_parses_with_defaults() {
        let c = Config::from_lookup(lookup(&valid())).unwrap();
        assert_eq!(c.universe_id, 42);
        assert_eq!(c.policy.role_max.get("222"), Some(&50));
        assert_eq!(c.command_topic, "discord-commands");
        assert_eq!(c.library, ProfileLibrary::ProfileStore);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("oc-secret-value") && !shown.contains(HEX),
            "{shown}"
        );
    }

    #[test]
    fn every_problem_gets_its_own_line_without_secrets() {
        let mut env = valid();
        env.retain(|(k, _)| *k != "ROBLOX_UNIVERSE_ID" && *k != "AUDIT_API_URL");
        env.push(("STAFF_ROLES", "111".into()));
        env.push(("COMMAND_TTL_SECONDS", "5000".into()));
        env.push(("AUDIT_API_KEY", format!("bot:read+write:{}", &HEX[..10])));
        let env: Vec<_> = {
            let mut seen = std::collections::HashSet::new();
            env.into_iter()
                .rev()
                .filter(|(k, _)| seen.insert(*k))
                .collect()
        };
        let err = Config::from_lookup(lookup(&env)).unwrap_err();
        let lines = &err.0;
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ROBLOX_UNIVERSE_ID is missing"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("AUDIT_API_URL is missing"))
        );
        assert!(lines.iter().any(|l| l.starts_with("STAFF_ROLES:")));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("COMMAND_TTL_SECONDS must be"))
        );
        assert!(lines.iter().any(|l| l.starts_with("AUDIT_API_KEY:")));
        assert!(!err.to_string().contains(&HEX[..10]));
    }
}
