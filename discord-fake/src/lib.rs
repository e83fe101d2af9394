//! An in-process Discord for tests: REST v10 on plain HTTP and the gateway on `ws://`, both on
//! 127.0.0.1 with ports of their own, faithful to Discord's documented behaviour where the bot
//! depends on it (docs/platform.md D6 lists each rule with its source). The unmodified serenity /
//! poise bot connects to it through serenity's HTTP proxy setting; the gateway address reaches
//! the shard through `GET /gateway`.
//!
//! - [`clock`] — the fake's manual clock (Discord's time rules trip only when a test advances it).
//! - [`ids`] — snowflakes.
//! - [`world`] — the state: application, guilds, members, commands, interactions, messages.
//! - [`model`] — the JSON of Discord's objects the fake sends.
//! - [`check`] — every payload read back with serenity's model types.
//! - [`error`] — Discord's error answers.
//! - [`ratelimit`] — rate-limit headers and 429s.
//! - [`multipart`], [`messages`] — request bodies, message limits, create and edit.
//! - [`interactions`] — callbacks, followups, edits and their time rules.
//! - [`registration`] — command bulk overwrite.
//! - [`members`] — List Guild Members (behind the Server Members Intent).
//! - [`cdn`] — the files members attach to commands, served over HTTP.
//! - [`rest`] — the HTTP routes.
//! - [`gateway`] — the WebSocket gateway.
//! - [`view`] — what a member sees.
//! - [`drive`] — the test API: members, typing commands, pressing buttons, waiting.

#![recursion_limit = "256"]

pub mod cdn;
pub mod check;
pub mod clock;
pub mod drive;
pub mod error;
pub mod gateway;
pub mod ids;
pub mod interactions;
pub mod members;
pub mod messages;
pub mod model;
pub mod multipart;
pub mod ratelimit;
pub mod registration;
pub mod rest;
pub mod view;
pub mod world;

pub use drive::{FileUpload, InteractionRef, OptionValue, UseError};
pub use error::ApiError;
pub use ratelimit::{BucketKind, Limit};
pub use view::{Button, File, Seen};
pub use world::{ADMINISTRATOR, FakeConfig, Fault, MANAGE_GUILD, Member, RequestRecord};

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// State shared by the REST server, the gateway and the test API.
#[derive(Debug)]
pub struct Shared {
    /// Everything the fake knows.
    pub world: Mutex<world::World>,
    /// Gateway sessions. Lock order: `gateway` may be held while `world` is taken briefly
    /// (frame checks), never the other way round.
    pub gateway: Mutex<gateway::Gateway>,
    /// The gateway's address as `GET /gateway` announces it.
    pub ws_url: String,
    notify: watch::Sender<u64>,
}

impl Shared {
    /// Wakes everyone waiting for a change.
    pub fn changed(&self) {
        self.notify.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver woken by [`Shared::changed`].
    pub fn notify_rx(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }
}

/// A running fake Discord. Dropping it stops its servers.
#[derive(Debug)]
pub struct DiscordFake {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    clock: Arc<clock::FakeClock>,
    tasks: Vec<JoinHandle<()>>,
}

impl DiscordFake {
    /// Starts the REST server and the gateway on 127.0.0.1 (ports of their own).
    pub async fn start(config: FakeConfig) -> std::io::Result<Self> {
        let rest_listener = TcpListener::bind("127.0.0.1:0").await?;
        let gateway_listener = TcpListener::bind("127.0.0.1:0").await?;
        let rest_addr = rest_listener.local_addr()?;
        let ws_url = format!("ws://{}", gateway_listener.local_addr()?);
        let clock = Arc::new(clock::FakeClock::default());
        let (notify, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            world: Mutex::new(world::World::new(
                config,
                clock.clone(),
                format!("http://{rest_addr}"),
            )),
            gateway: Mutex::new(gateway::Gateway::default()),
            ws_url,
            notify,
        });
        let app = axum::Router::new()
            .route(
                "/attachments/{channel}/{id}/{filename}",
                axum::routing::get(cdn::serve),
            )
            .fallback(rest::handle)
            .with_state(shared.clone());
        let rest_task = tokio::spawn(async move {
            if let Err(e) = axum::serve(rest_listener, app).await {
                tracing::error!(error = %e, "the fake's REST server stopped");
            }
        });
        let gateway_task = tokio::spawn(gateway::serve(gateway_listener, shared.clone()));
        Ok(Self {
            shared,
            rest_addr,
            clock,
            tasks: vec![rest_task, gateway_task],
        })
    }

    /// The base URL to give serenity as its HTTP proxy (`http://127.0.0.1:<port>`): serenity
    /// puts it in place of `https://discord.com` in every route.
    pub fn rest_base(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The gateway URL (`ws://127.0.0.1:<port>`), as `GET /gateway` announces it.
    pub fn gateway_url(&self) -> String {
        self.shared.ws_url.clone()
    }

    /// The bot token the fake accepts.
    pub fn token(&self) -> String {
        self.shared.world.lock().config.token.clone()
    }

    /// The application (and bot user) id.
    pub fn application_id(&self) -> u64 {
        self.shared.world.lock().config.application_id
    }

    /// The fake's clock.
    pub fn clock(&self) -> Arc<clock::FakeClock> {
        self.clock.clone()
    }

    /// Moves the fake's clock forward (interaction deadlines, rate-limit windows).
    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.shared.changed();
    }

    /// Shared state (for the test API in [`drive`]).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Payloads the fake sent that serenity's model types refuse, and requests the fake
    /// refused as malformed (400 / 50035 / 50109). Empty in a healthy run.
    pub fn problems(&self) -> Vec<String> {
        self.shared.world.lock().problems.clone()
    }

    /// Every REST request so far (method, route without tokens, status).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.world.lock().requests.clone()
    }

    /// Lowers (or raises) the limit of one kind of rate-limit bucket.
    pub fn set_rate_limit(&self, kind: BucketKind, limit: Limit) {
        self.shared.world.lock().buckets.set(kind, limit);
    }

    /// Turns the Server Members Intent on or off in the application's portal settings (off by
    /// default): List Guild Members answers 403 / 50001 while it is off.
    pub fn set_members_intent(&self, enabled: bool) {
        self.shared.world.lock().config.members_intent = enabled;
    }

    /// Holds every `method` request whose route (as [`DiscordFake::requests`] shows it, tokens
    /// as `{token}`) starts with `prefix` unanswered until [`DiscordFake::release`]: a slow
    /// Discord, so a test can act while the bot waits on that request.
    pub fn hold(&self, method: &str, prefix: &str) {
        let mut w = self.shared.world.lock();
        w.holds.push((method.to_owned(), prefix.to_owned()));
    }

    /// Ends every [`DiscordFake::hold`]: the held requests are answered now.
    pub fn release(&self) {
        self.shared.world.lock().holds.clear();
        self.shared.changed();
    }

    /// How many requests are held unanswered now.
    pub fn holding(&self) -> usize {
        self.shared.world.lock().holding
    }

    /// The next registration calls fail like this, in order (then they succeed again).
    pub fn fail_registrations(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.world.lock().registration_faults.extend(faults);
    }

    /// Registration calls fail like this until [`DiscordFake::clear_registration_faults`].
    pub fn fail_registrations_until_cleared(&self, fault: Fault) {
        self.fail_registrations(std::iter::repeat_n(fault, 1_000_000));
    }

    /// Scripted registration failures end now.
    pub fn clear_registration_faults(&self) {
        self.shared.world.lock().registration_faults.clear();
    }
}

impl Drop for DiscordFake {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let mut g = self.shared.gateway.lock();
        for s in &mut g.sessions {
            if let Some((_, tx)) = s.conn.take() {
                let _ = tx.send(gateway::Outbound::Close(1001, "Going away."));
            }
        }
    }
}
