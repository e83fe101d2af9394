//! The network between the bot and Open Cloud in virtual time. The bot's Open Cloud adapters make
//! real HTTP calls to the emulator, which answer at once in virtual time; this decorator adds a
//! seeded virtual latency on each side of every call, so the universe moves on while a call is
//! on the wire: a read's answer is already old when the bot decides on it, a write lands a while
//! after the decision (the race of the bot's compare-and-swap with a server starting a session),
//! and a bot killed mid-call has sent what it sent. It also holds the negative control's broken
//! rule ([`Broken::BotSkipsCas`]).

use std::sync::Arc;
use std::time::Duration;

use bot::service::{
    BoxFut, Messaging, PortError, WalletEntry, WalletStore, WalletWrite, WriteCondition, WriteError,
};

use crate::spec::Broken;
use crate::vclock::VirtualTime;

/// Seeded one-way latencies of the bot's Open Cloud calls. Each latency is a function of the
/// seed, the virtual instant, the wallet and the step of the call, not of the order in which
/// concurrent bot tasks happen to reach the wire, so a replay draws the same ones.
pub struct Wire {
    time: VirtualTime,
    seed: u64,
    /// The run's start, Unix ms (latencies hash the time since it: the start follows the wall).
    start_ms: i64,
    /// One-way latency range, seconds.
    range_s: (f64, f64),
}

/// Which leg of which call.
#[derive(Clone, Copy)]
enum Leg {
    ReadOut = 1,
    ReadBack = 2,
    WriteOut = 3,
    WriteBack = 4,
    PublishOut = 5,
    PublishBack = 6,
}

/// splitmix64: a well-mixed 64-bit hash of its input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Wire {
    /// Latencies drawn from `seed` in `range_s`.
    pub fn new(time: VirtualTime, seed: u64, range_s: (f64, f64)) -> Self {
        let start_ms = time.now_ms();
        Self {
            time,
            seed,
            start_ms,
            range_s,
        }
    }

    async fn hop(&self, key: u64, leg: Leg) {
        let now = u64::try_from(self.time.now_ms() - self.start_ms).unwrap_or(0);
        let h = mix(self.seed ^ mix(now ^ mix(key.wrapping_mul(8) + leg as u64)));
        let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
        let s = self.range_s.0 + unit * (self.range_s.1 - self.range_s.0);
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
            self.wire.hop(user_id, Leg::ReadOut).await;
            let r = self.wallets.read(user_id).await;
            self.wire.hop(user_id, Leg::ReadBack).await;
            r
        })
    }

    fn write(&self, write: WalletWrite) -> BoxFut<'_, Result<WalletEntry, WriteError>> {
        Box::pin(async move {
            let user = write.user_id;
            self.wire.hop(user, Leg::WriteOut).await;
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
            self.wire.hop(user, Leg::WriteBack).await;
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
            // Keyed by the message's length: the wallet is inside the signed text.
            let key = message.len() as u64;
            self.wire.hop(key, Leg::PublishOut).await;
            let r = self.messaging.publish(topic, message).await;
            self.wire.hop(key, Leg::PublishBack).await;
            r
        })
    }
}
