//! What both provider fakes share: the state one provider holds (its settings, the server's
//! directory, its request window), served on its own port, and the switches a test flips.
//! Each provider module adds only its route and how it answers.

use crate::directory::Directory;
use crate::limit::{RateLimit, Window};
use crate::serve::Served;
use parking_lot::Mutex;
use shared::clock::Clock;
use std::sync::Arc;

/// One provider's state, behind the lock its handlers take.
pub(crate) struct ProviderState<C> {
    /// The provider's settings.
    pub(crate) config: C,
    /// What it knows about the server.
    pub(crate) directory: Directory,
    /// Its request window for the key.
    pub(crate) window: Window,
}

/// The state as the handlers of a provider's router share it.
pub(crate) type Shared<C> = Arc<Mutex<ProviderState<C>>>;

/// A running provider fake (`FakeBloxlink`, `FakeRover`).
pub struct LinkFake<C> {
    inner: Shared<C>,
    served: Served,
}

impl<C> LinkFake<C> {
    /// Serves `route(state)` on a free loopback port; the window of `limit` follows `clock`.
    pub(crate) async fn serve(
        config: C,
        limit: RateLimit,
        clock: Arc<dyn Clock>,
        route: impl FnOnce(Shared<C>) -> axum::Router,
    ) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(ProviderState {
            config,
            directory: Directory::default(),
            window: Window::new(limit, clock),
        }));
        let app = route(inner.clone());
        Ok(Self {
            inner,
            served: Served::start(app).await?,
        })
    }

    /// The base URL to configure (`BLOXLINK_BASE_URL` or `ROVER_BASE_URL`).
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// Adds `member` to the server, without a link.
    pub fn join(&self, member: u64) {
        self.inner.lock().directory.members.insert(member);
    }

    /// Links `member` (joining them) to Roblox user `roblox_id`.
    pub fn link(&self, member: u64, roblox_id: u64) {
        let mut inner = self.inner.lock();
        inner.directory.members.insert(member);
        inner.directory.links.insert(member, roblox_id);
    }

    /// Removes the link of `member` (they stay in the server).
    pub fn unlink(&self, member: u64) {
        self.inner.lock().directory.links.remove(&member);
    }

    /// Makes the fake answer 503 to everything (or recover).
    pub fn set_down(&self, down: bool) {
        self.inner.lock().directory.down = down;
    }

    /// Requests that reached the fake.
    pub fn requests(&self) -> u64 {
        self.inner.lock().directory.requests
    }

    /// Stops serving: the port refuses connections from now on.
    pub async fn stop(&mut self) {
        self.served.stop().await;
    }
}
