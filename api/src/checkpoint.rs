//! Signed checkpoints of the hash chain (in the style of C2SP's transparency-log checkpoints,
//! <https://c2sp.org/tlog-checkpoint>): the service periodically verifies the rows appended since its last checkpoint, then
//! signs (origin, seq, head hash, time, key id) with Ed25519. Operators keep the checkpoints
//! somewhere the database's owner cannot rewrite (a file shipped elsewhere, a log stream), and
//! `economy-api verify --checkpoints FILE` proves the chain still contains every one of them.
//! A chain recomputed end to end after tampering verifies on its own, but not against a
//! checkpoint taken before the tampering: that is what the chain alone cannot catch.

use crate::chain::{GENESIS, Verifier};
use crate::store::Store;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// The origin line of every checkpoint this service signs.
pub const ORIGIN: &str = "economy-audit";
/// First line of the signed text (versions the format).
const DOMAIN: &str = "economy-audit-checkpoint/v1";

/// A signed statement "the chain had `seq` rows and its head hash was `hash` at `time`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// Which log (always `economy-audit`).
    pub origin: String,
    /// Rows in the chain (the head's seq; 0 for an empty log).
    pub seq: i64,
    /// Hex SHA-256 row hash of the head (32 zero bytes for an empty log).
    pub hash: String,
    /// When it was signed, Unix ms.
    pub time: i64,
    /// Id of the signing key.
    pub key_id: String,
    /// Hex Ed25519 signature over [`Checkpoint::signed_text`].
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes signed: `economy-audit-checkpoint/v1\norigin\nseq\nhash\ntime\nkey_id\n`.
    pub fn signed_text(&self) -> String {
        format!(
            "{DOMAIN}\n{}\n{}\n{}\n{}\n{}\n",
            self.origin, self.seq, self.hash, self.time, self.key_id
        )
    }

    /// This checkpoint as a failure of the verify report, with `problem`.
    pub fn failure(&self, problem: CheckpointProblem) -> crate::model::CheckpointFailure {
        crate::model::CheckpointFailure {
            seq: self.seq,
            time: self.time,
            problem,
        }
    }

    /// Checks the signature with the matching key of `keys`.
    pub fn verify_signature(&self, keys: &PublicKeys) -> Result<(), CheckpointProblem> {
        let key = keys
            .0
            .iter()
            .find(|(id, _)| *id == self.key_id)
            .map(|(_, k)| k)
            .ok_or(CheckpointProblem::UnknownKey)?;
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointProblem::BadSignature)?;
        key.verify_strict(self.signed_text().as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| CheckpointProblem::BadSignature)
    }
}

/// Why a checkpoint does not hold (part of the verify report, so defined in `audit-client`).
pub use audit_client::verify::CheckpointProblem;

/// Problems with checkpoint keys or files; never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A key spec is not `id:64-hex`.
    #[error("checkpoint key must be id:<64 hex characters> (a 32-byte Ed25519 key)")]
    KeyFormat,
    /// A checkpoint file line is not a checkpoint.
    #[error("line {0} of the checkpoint file is not a checkpoint")]
    Line(usize),
}

fn parse_spec(spec: &str) -> Result<(String, [u8; 32]), CheckpointError> {
    let (id, hex_key) = spec
        .trim()
        .split_once(':')
        .ok_or(CheckpointError::KeyFormat)?;
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(CheckpointError::KeyFormat)?;
    if !valid_id {
        return Err(CheckpointError::KeyFormat);
    }
    Ok((id.to_owned(), bytes))
}

/// The service's checkpoint signing key (`API_CHECKPOINT_KEY`). `Debug` never shows the key.
#[derive(Clone)]
pub struct CheckpointSigner {
    key_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// Parses `id:<hex 32-byte Ed25519 secret key>`.
    pub fn parse(spec: &str) -> Result<Self, CheckpointError> {
        let (key_id, seed) = parse_spec(spec)?;
        Ok(Self {
            key_id,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A fresh random key (for `economy-api checkpoint-keygen` and tests).
    pub fn generate(key_id: &str) -> Self {
        use rand::{RngCore as _, SeedableRng as _};
        let mut seed = [0u8; 32];
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut seed);
        Self {
            key_id: key_id.to_owned(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// `id:<hex secret>` (what `API_CHECKPOINT_KEY` takes). Handle as a secret.
    pub fn secret_spec(&self) -> String {
        format!("{}:{}", self.key_id, hex::encode(self.key.to_bytes()))
    }

    /// `id:<hex public key>` (what verifiers take).
    pub fn public_spec(&self) -> String {
        format!(
            "{}:{}",
            self.key_id,
            hex::encode(self.key.verifying_key().to_bytes())
        )
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs the head `(seq, hash)` at `time` (Unix ms).
    pub fn sign(&self, seq: i64, hash: &[u8], time: i64) -> Checkpoint {
        let mut cp = Checkpoint {
            origin: ORIGIN.to_owned(),
            seq,
            hash: hex::encode(hash),
            time,
            key_id: self.key_id.clone(),
            signature: String::new(),
        };
        cp.signature = hex::encode(self.key.sign(cp.signed_text().as_bytes()).to_bytes());
        cp
    }
}

/// Public keys a verifier accepts, by key id (`id:hex,id:hex`; keep retired keys to check old
/// checkpoints).
#[derive(Clone, Debug, Default)]
pub struct PublicKeys(Vec<(String, VerifyingKey)>);

impl PublicKeys {
    /// Parses comma-separated `id:<hex 32-byte Ed25519 public key>` entries.
    pub fn parse(list: &str) -> Result<Self, CheckpointError> {
        let mut keys = Vec::new();
        for spec in list.split(',').filter(|s| !s.trim().is_empty()) {
            let (id, bytes) = parse_spec(spec)?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| CheckpointError::KeyFormat)?;
            keys.push((id, key));
        }
        Ok(Self(keys))
    }

    /// True when no key was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads checkpoints from a file: one JSON checkpoint per line (blank lines ignored).
pub fn read_file(text: &str) -> Result<Vec<Checkpoint>, CheckpointError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|_| CheckpointError::Line(i + 1)))
        .collect()
}

/// Settings of the periodic checkpointer.
#[derive(Clone, Debug)]
pub struct CheckpointConfig {
    /// The signing key.
    pub signer: CheckpointSigner,
    /// How often to verify the new rows and sign a checkpoint (when the head moved).
    pub interval: Duration,
    /// Append every checkpoint as a JSON line here (then fsync), when set.
    pub file: Option<PathBuf>,
}

/// The latest checkpoint, shared with the endpoint.
pub type Latest = Arc<parking_lot::RwLock<Option<Checkpoint>>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn append(path: &PathBuf, cp: &Checkpoint) -> std::io::Result<()> {
    let mut line = serde_json::to_string(cp).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// Runs until aborted: every `interval`, verifies the rows after the last checkpoint (all rows
/// on the first round) and, when the chain verifies and its head moved, signs a checkpoint.
/// A broken chain is never signed: it is logged and counted instead.
pub async fn run(store: Arc<dyn Store>, config: CheckpointConfig, latest: Latest) {
    let mut verifier = Verifier::default();
    let mut signed_seq: Option<i64> = None;
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if verifier.broken().is_some() {
            metrics::counter!("audit_chain_verify_failures_total").increment(1);
            continue;
        }
        if let Err(e) = extend(&*store, &mut verifier).await {
            tracing::warn!(error = %e, "checkpoint: reading the chain failed; retrying next round");
            continue;
        }
        if let Some((seq, problem)) = verifier.broken() {
            metrics::counter!("audit_chain_verify_failures_total").increment(1);
            tracing::error!(
                seq,
                ?problem,
                "checkpoint: hash chain BROKEN; no checkpoint signed"
            );
            continue;
        }
        let seq = verifier.last_seq();
        if signed_seq == Some(seq) {
            continue;
        }
        let hash = if seq == 0 {
            GENESIS.to_vec()
        } else {
            verifier.last_hash().to_vec()
        };
        let cp = config.signer.sign(seq, &hash, now_ms());
        if let Some(path) = &config.file {
            let (path, line) = (path.clone(), cp.clone());
            match tokio::task::spawn_blocking(move || append(&path, &line)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "checkpoint: cannot append to the checkpoint file");
                    continue;
                }
                Err(_) => continue,
            }
        }
        metrics::gauge!("audit_chain_head_seq").set(seq as f64);
        metrics::gauge!("audit_last_checkpoint_unixtime").set(cp.time as f64 / 1000.0);
        tracing::info!(seq, hash = %cp.hash, key_id = %cp.key_id, "checkpoint signed");
        signed_seq = Some(seq);
        *latest.write() = Some(cp);
    }
}

/// Feeds every row after the verifier's position.
async fn extend(store: &dyn Store, v: &mut Verifier) -> Result<(), crate::store::StoreError> {
    const PAGE: i64 = 2000;
    loop {
        let rows = store.chain_page(v.last_seq(), PAGE).await?;
        for row in &rows {
            if !v.push(row) {
                return Ok(());
            }
        }
        if (rows.len() as i64) < PAGE {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field_and_the_key() {
        let signer = CheckpointSigner::generate("cp-1");
        let keys = PublicKeys::parse(&signer.public_spec()).unwrap();
        let cp = signer.sign(42, &[7; 32], 1_700_000_000_000);
        assert_eq!(cp.verify_signature(&keys), Ok(()));
        let tweaks: [fn(&mut Checkpoint); 5] = [
            |c| c.seq += 1,
            |c| c.hash = hex::encode([8u8; 32]),
            |c| c.time += 1,
            |c| c.origin = "other".into(),
            |c| c.signature = "00".repeat(64),
        ];
        for t in tweaks {
            let mut bad = cp.clone();
            t(&mut bad);
            assert_eq!(
                bad.verify_signature(&keys),
                Err(CheckpointProblem::BadSignature)
            );
        }
        let mut other_id = cp.clone();
        other_id.key_id = "cp-2".into();
        assert_eq!(
            other_id.verify_signature(&keys),
            Err(CheckpointProblem::UnknownKey)
        );
        let stranger =
            PublicKeys::parse(&CheckpointSigner::generate("cp-1").public_spec()).unwrap();
        assert_eq!(
            cp.verify_signature(&stranger),
            Err(CheckpointProblem::BadSignature)
        );
        // round trip of the secret spec; Debug hides it
        let again = CheckpointSigner::parse(&signer.secret_spec()).unwrap();
        assert_eq!(again.sign(42, &[7; 32], 1_700_000_000_000), cp);
        let secret_hex = signer.secret_spec().split_once(':').unwrap().1.to_owned();
        assert!(!format!("{signer:?}").contains(&secret_hex));
    }

    #[test]
    fn bad_key_specs_and_lines_are_refused_without_echo() {
        let not_hex = format!("x:{}", "zz".repeat(32));
        let no_id = format!(":{}", "00".repeat(32));
        let bad_id = format!("a b:{}", "00".repeat(32));
        for bad in [
            "",
            "id",
            "id:abcd",
            no_id.as_str(),
            bad_id.as_str(),
            not_hex.as_str(),
        ] {
            let e = CheckpointSigner::parse(bad).unwrap_err();
            assert_eq!(e, CheckpointError::KeyFormat, "{bad}");
        }
        let cp = CheckpointSigner::generate("k").sign(1, &[1; 32], 5);
        let text = format!("{}\n\nnot json\n", serde_json::to_string(&cp).unwrap());
        assert_eq!(read_file(&text), Err(CheckpointError::Line(3)));
        assert_eq!(
            read_file(&serde_json::to_string(&cp).unwrap()).unwrap(),
            vec![cp]
        );
    }
}
