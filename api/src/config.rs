//! Configuration from the environment (and `.env`), with one clear line per bad setting.

use crate::checkpoint::{CheckpointConfig, CheckpointSigner};
use crate::store::SqliteSync;
use shared::KeyRing;
use std::net::SocketAddr;
use std::time::Duration;

/// Every setting the service reads, with its default (`None` = required). Documented in README.
pub const SETTINGS: &[(&str, Option<&str>)] = &[
    ("DATABASE_URL", Some("sqlite://economy-audit.db")),
    ("API_BIND", Some("127.0.0.1:8080")),
    ("API_KEYS", None),
    ("API_SQLITE_SYNCHRONOUS", Some("full")),
    ("API_DB_MAX_CONNECTIONS", Some("8")),
    ("API_DB_ACQUIRE_TIMEOUT_MS", Some("3000")),
    ("API_BODY_LIMIT_BYTES", Some("262144")),
    ("API_REQUEST_TIMEOUT_SECS", Some("10")),
    ("API_HEADER_READ_TIMEOUT_SECS", Some("10")),
    ("API_MAX_CONNECTIONS", Some("1024")),
    ("API_RATE_IP_PER_SEC", Some("500")),
    ("API_RATE_IP_BURST", Some("1000")),
    ("API_RATE_KEY_PER_SEC", Some("200")),
    ("API_RATE_KEY_BURST", Some("400")),
    ("API_IDEMPOTENCY_TTL_HOURS", Some("24")),
    ("API_CHECKPOINT_KEY", Some("")),
    ("API_CHECKPOINT_INTERVAL_SECS", Some("300")),
    ("API_CHECKPOINT_FILE", Some("")),
];

/// Which database the URL selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// `sqlite://path` (or `sqlite::memory:`).
    Sqlite(String),
    /// `postgres://…` / `postgresql://…`.
    Postgres(String),
}

/// Per-client request budget (GCRA: `per_sec` sustained, `burst` at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_sec: u32,
    /// Burst size.
    pub burst: u32,
}

/// The service configuration. `Debug` is safe: the key ring redacts its secrets.
#[derive(Clone, Debug)]
pub struct Config {
    /// Database selection and URL.
    pub database: Database,
    /// Listen address (the binary binds it; embedders pass their own listener).
    pub bind: SocketAddr,
    /// Keys accepted on signed requests, with scopes.
    pub keys: KeyRing,
    /// SQLite commit durability.
    pub sqlite_sync: SqliteSync,
    /// Pool size (PostgreSQL; SQLite read pool).
    pub db_max_connections: u32,
    /// How long a request waits for a pooled connection before 503.
    pub db_acquire_timeout: Duration,
    /// Largest request body, bytes (413 above).
    pub body_limit: usize,
    /// Whole-request timeout (long-polls get their wait on top).
    pub request_timeout: Duration,
    /// How long a connection may take to send a complete request head before it is closed.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones are closed at accept.
    pub max_connections: usize,
    /// Pre-authentication limit per client IP.
    pub rate_ip: RateLimit,
    /// Post-authentication limit per key id.
    pub rate_key: RateLimit,
    /// How long idempotency keys (and their stored responses) are kept.
    pub idempotency_ttl: Duration,
    /// How often expired idempotency keys are purged.
    pub idempotency_purge_interval: Duration,
    /// Signed chain checkpoints (off unless `API_CHECKPOINT_KEY` is set).
    pub checkpoint: Option<CheckpointConfig>,
}

/// Every problem found in the configuration, one line each; never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads the process environment (call `dotenvy::dotenv()` first to honour `.env`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut errs = Vec::new();
        let val = |name: &str| -> Option<String> {
            get(name).filter(|v| !v.trim().is_empty()).or_else(|| {
                SETTINGS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, d)| d.map(str::to_owned))
            })
        };
        let mut num = |name: &str, min: u64, max: u64| -> u64 {
            let raw = val(name).unwrap_or_default();
            match raw.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    errs.push(format!(
                        "{name}: must be a whole number from {min} to {max}"
                    ));
                    min
                }
            }
        };
        let db_max_connections = num("API_DB_MAX_CONNECTIONS", 1, 1000) as u32;
        let acquire_ms = num("API_DB_ACQUIRE_TIMEOUT_MS", 10, 600_000);
        let body_limit = num("API_BODY_LIMIT_BYTES", 1024, 16 * 1024 * 1024) as usize;
        let timeout = num("API_REQUEST_TIMEOUT_SECS", 1, 3600);
        let header_secs = num("API_HEADER_READ_TIMEOUT_SECS", 1, 3600);
        let max_connections = num("API_MAX_CONNECTIONS", 1, 1_000_000) as usize;
        let rate_ip = RateLimit {
            per_sec: num("API_RATE_IP_PER_SEC", 1, 10_000_000) as u32,
            burst: num("API_RATE_IP_BURST", 1, 10_000_000) as u32,
        };
        let rate_key = RateLimit {
            per_sec: num("API_RATE_KEY_PER_SEC", 1, 10_000_000) as u32,
            burst: num("API_RATE_KEY_BURST", 1, 10_000_000) as u32,
        };
        let ttl_h = num("API_IDEMPOTENCY_TTL_HOURS", 1, 24 * 365);
        let checkpoint_secs = num("API_CHECKPOINT_INTERVAL_SECS", 1, 7 * 24 * 3600);
        let checkpoint = match get("API_CHECKPOINT_KEY").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(spec) => match CheckpointSigner::parse(&spec) {
                Ok(signer) => Some(CheckpointConfig {
                    signer,
                    interval: Duration::from_secs(checkpoint_secs),
                    file: get("API_CHECKPOINT_FILE")
                        .filter(|v| !v.trim().is_empty())
                        .map(std::path::PathBuf::from),
                }),
                Err(e) => {
                    errs.push(format!("API_CHECKPOINT_KEY: {e}"));
                    None
                }
            },
        };

        let database = match val("DATABASE_URL").unwrap_or_default() {
            u if u.starts_with("sqlite:") => Some(Database::Sqlite(u)),
            u if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Some(Database::Postgres(u))
            }
            _ => {
                // The URL may hold a password: name the setting, not its value.
                errs.push(
                    "DATABASE_URL: must start with sqlite: or postgres:// (or postgresql://)"
                        .into(),
                );
                None
            }
        };
        let bind = match val("API_BIND").unwrap_or_default().trim().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                errs.push("API_BIND: must be an address:port such as 127.0.0.1:8080".into());
                None
            }
        };
        let keys = match get("API_KEYS").filter(|v| !v.trim().is_empty()) {
            None => {
                errs.push(
                    "API_KEYS: missing; give id:scopes:hex-secret entries separated by commas \
                     (scopes read, write or read+write; secrets of at least 32 bytes)"
                        .into(),
                );
                None
            }
            Some(spec) => match KeyRing::parse(&spec) {
                Ok(ring) => {
                    if let Some(k) = ring.keys().iter().find(|k| k.scopes.is_empty()) {
                        errs.push(format!(
                            "API_KEYS: key {} has no scopes; write id:read+write:secret",
                            k.id
                        ));
                    }
                    Some(ring)
                }
                Err(e) => {
                    errs.push(format!("API_KEYS: {e}"));
                    None
                }
            },
        };
        let sqlite_sync = match val("API_SQLITE_SYNCHRONOUS").as_deref().map(str::trim) {
            Some("full") => SqliteSync::Full,
            Some("normal") => SqliteSync::Normal,
            _ => {
                errs.push("API_SQLITE_SYNCHRONOUS: must be full or normal".into());
                SqliteSync::Full
            }
        };
        match (database, bind, keys) {
            (Some(database), Some(bind), Some(keys)) if errs.is_empty() => Ok(Config {
                database,
                bind,
                keys,
                sqlite_sync,
                db_max_connections,
                db_acquire_timeout: Duration::from_millis(acquire_ms),
                body_limit,
                request_timeout: Duration::from_secs(timeout),
                header_read_timeout: Duration::from_secs(header_secs),
                max_connections,
                rate_ip,
                rate_key,
                idempotency_ttl: Duration::from_secs(ttl_h * 3600),
                idempotency_purge_interval: Duration::from_secs(600),
                checkpoint,
            }),
            _ => Err(ConfigError(errs)),
        }
    }

    /// A configuration for tests and embedding: the given database and keys, defaults elsewhere.
    pub fn new(database: Database, keys: KeyRing) -> Self {
        let mut c = Self::from_lookup(|k| match k {
            "API_KEYS" => Some(
                "placeholder:read:0000000000000000000000000000000000000000000000000000000000000000"
                    .into(),
            ),
            _ => None,
        })
        .unwrap_or_else(|_| unreachable!("defaults are valid"));
        c.database = database;
        c.keys = keys;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_only_keys() {
        let c = cfg(&[("API_KEYS", &format!("game:write:{SECRET}"))]).unwrap();
        assert_eq!(
            c.database,
            Database::Sqlite("sqlite://economy-audit.db".into())
        );
        assert_eq!(c.sqlite_sync, SqliteSync::Full);
        assert_eq!(c.body_limit, 262_144);
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn every_problem_gets_its_own_line_without_secrets() {
        let err = cfg(&[
            ("API_KEYS", "bad:read:abcd"),
            ("API_BIND", "nowhere"),
            ("DATABASE_URL", "mysql://user:hunter2@x/db"),
            ("API_RATE_KEY_PER_SEC", "-3"),
            ("API_SQLITE_SYNCHRONOUS", "off"),
            ("API_CHECKPOINT_KEY", "cp:feedface"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 6, "{err}");
        let text = err.to_string();
        for name in [
            "API_KEYS",
            "API_BIND",
            "DATABASE_URL",
            "API_RATE_KEY_PER_SEC",
            "API_SQLITE_SYNCHRONOUS",
            "API_CHECKPOINT_KEY",
        ] {
            assert!(text.contains(name), "{text}");
        }
        assert!(
            !text.contains("hunter2") && !text.contains("abcd") && !text.contains("feedface"),
            "{text}"
        );
        let missing = cfg(&[]).unwrap_err();
        assert_eq!(missing.0.len(), 1);
        assert!(missing.0[0].starts_with("API_KEYS: missing"));
    }
}
