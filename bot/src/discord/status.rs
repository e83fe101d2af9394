//! What `/healthz` reports about Discord: whether the gateway is connected and whether the
//! commands are registered (with the last registration error, in words, without secrets).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Inner {
    connected: AtomicBool,
    registered: AtomicBool,
    failed_registrations: AtomicU64,
    registration_error: Mutex<Option<String>>,
}

/// The Discord front end's health, shared with the health endpoint.
#[derive(Debug, Clone, Default)]
pub struct DiscordStatus {
    inner: Arc<Inner>,
}

impl DiscordStatus {
    fn error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic elsewhere cannot leave a half-written Option behind: keep using it.
        self.inner
            .registration_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the gateway session is up (READY or RESUMED seen, not lost since).
    pub fn gateway_connected(&self) -> bool {
        self.inner.connected.load(Ordering::SeqCst)
    }

    /// Whether this start's command registration went through.
    pub fn commands_registered(&self) -> bool {
        self.inner.registered.load(Ordering::SeqCst)
    }

    /// Registration attempts that failed since the start.
    pub fn failed_registrations(&self) -> u64 {
        self.inner.failed_registrations.load(Ordering::SeqCst)
    }

    /// What is wrong, one line each; empty when healthy.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.gateway_connected() {
            out.push("discord gateway not connected".to_owned());
        }
        if !self.commands_registered() {
            match self.error().as_deref() {
                Some(e) => out.push(format!("slash commands not registered: {e}")),
                None => out.push("slash commands not registered yet".to_owned()),
            }
        }
        out
    }

    /// Records the gateway going up or down (the Discord front end calls this).
    pub fn set_connected(&self, up: bool) {
        self.inner.connected.store(up, Ordering::SeqCst);
        crate::metrics::discord_state(self.gateway_connected(), self.commands_registered());
    }

    /// Records a registration that went through (the Discord front end calls this).
    pub fn set_registered(&self) {
        self.inner.registered.store(true, Ordering::SeqCst);
        *self.error() = None;
        crate::metrics::discord_state(self.gateway_connected(), true);
    }

    /// Records a failed registration attempt (the Discord front end calls this).
    pub fn set_registration_failed(&self, why: String) {
        self.inner
            .failed_registrations
            .fetch_add(1, Ordering::SeqCst);
        *self.error() = Some(why);
    }
}
