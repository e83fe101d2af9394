//! The network between the bot and Open Cloud in virtual time. The bot's Open Cloud adapters make
//! real HTTP calls to the emulator, which answer at once in virtual time; this decorator adds a
//! seeded virtual latency on each side of every call, so the universe moves on while a call is
//! on the wire: a read's answer is already old when the bot decides on it, a write lands a while
//! after the decision (the race of the bot's compare-and-swap with a server starting a session),
//! and a bot killed mid-call has sent what it sent. It also holds the negative control's broken
//! rule ([`Broken::BotSkipsCas`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bot::service::{
    BoxFut, Messaging, PortError, WalletEntry, WalletStore, WalletWrite, WriteCondition, WriteError,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::Broken;
use crate::vclock::VirtualTime;

/// Seeded one-way latencies of the bot's Open Cloud calls.
pub struct Wire {
    time: VirtualTime,
    rng: Mutex<ChaCha8Rng>,
    /// One-way latency range, seconds.
    range_s: (f64, f64),
}

impl Wire {
    /// Latencies drawn from `seed` in `range_s`.
    pub fn new(time: VirtualTime, seed: u64, range_s: (f64, f64)) -> Self {
        Self {
            time,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            range_s,
        }
    }

    async fn hop(&self) {
        let s = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            rng.random_range(self.range_s.0..=self.range_s.1)
        };
        self.time.sleep(Duration::from_secs_f64(s)).await;
    }
}

/// The bot's wallet store and messaging behind the virtual wire.
pub struct Delayed {
    wallets: Arc<dyn WalletStore>,
    messaging: Arc<dyn Messaging>,
    wire: Wire,
    broken: Option<Broken>,
}

impl Delayed {
    /// Wraps the real adapters.
    pub fn new(
        wallets: Arc<dyn WalletStore>,
        messaging: Arc<dyn Messaging>,
        wire: Wire,
        broken: Option<Broken>,
    ) -> Self {
        Self {
            wallets,
            messaging,
            wire,
            broken,
        }
    }
}

impl WalletStore for Delayed {
    fn read(&self, user_id: u64) -> BoxFut<'_, Result<Option<WalletEntry>, PortError>> {
        Box::pin(async move {
            self.wire.hop().await;
            let r = self.wallets.read(user_id).await;
            self.wire.hop().await;
            r
        })
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            self.wire.hop().await;
            let write = match self.broken {
                // Negative control: the write goes over whatever is stored now, not over the
                // version the decision was taken on (a blind write with a version it just read).
                Some(Broken::BotSkipsCas) => match self.wallets.read(write.user_id).await {
                    Ok(Some(now)) => WalletWrite {
                        condition: WriteCondition::MatchVersion(now.version),
                        ..write
                    },
                    _ => write,
                },
                None => write,
            };
            let r = self.wallets.write(write).await;
            self.wire.hop().await;
            r
        })
    }
}

impl Messaging for Delayed {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        message: &'a str,
    ) -> BoxFut<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.wire.hop().await;
            let r = self.messaging.publish(topic, message).await;
            self.wire.hop().await;
            r
        })
    }
}
