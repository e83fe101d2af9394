//! The event trace of a run: every engine-level event (DataStore calls, messages, faults,
//! players, script errors, output) with its virtual time. Its digest identifies a run, so a
//! failing seed can be replayed and checked to take exactly the same path.

use sha2::{Digest, Sha256};

/// Trace of one universe.
#[derive(Debug)]
pub struct Trace {
    keep: bool,
    lines: Vec<String>,
    hasher: Sha256,
    events: u64,
}

impl Trace {
    /// A trace; `keep` stores the lines (the digest is always computed).
    pub fn new(keep: bool) -> Self {
        Self {
            keep,
            lines: Vec::new(),
            hasher: Sha256::new(),
            events: 0,
        }
    }

    /// Records one event at virtual time `t_us` on `server` (or the universe when `None`).
    pub fn record(&mut self, t_us: u64, server: Option<usize>, kind: &str, detail: &str) {
        self.events += 1;
        let who = server.map_or_else(|| "*".to_owned(), |s| s.to_string());
        let line = format!("{:>12.3} {who:>2} {kind} {detail}", t_us as f64 / 1e6);
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        if self.keep {
            self.lines.push(line);
        }
    }

    /// Stored lines (empty unless kept).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Number of events recorded.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Hex SHA-256 over every event so far.
    pub fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}
