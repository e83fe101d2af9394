//! The real bot (`bot::discord::run_with`, unmodified serenity / poise) against the Discord fake,
//! over the real service on the emulated universe of `support` (Open Cloud emulator, audit API
//! on SQLite, the bot's SQLite database, stand-in game servers). Waits are bounded by real time
//! only to fail a broken test: every wait is for a condition, never for a duration.

use crate::support::{AuditApi, World, service_config};
use bot::config::SecretString;
use bot::discord::{DiscordSettings, DiscordStatus, Endpoint, RunOptions};
use bot::frontend::FollowUp;
use bot::links::{LinkSettings, Links, RobloxOAuth};
use bot::service::{Service, ServiceConfig};
use discord_fake::{
    DiscordFake, FakeConfig, InteractionRef, MANAGE_GUILD, Member, OptionValue, Seen,
};
use link_fakes::{FakeBloxlink, FakeRover, RateLimit};
use shared::clock::ManualClock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const GUILD: u64 = 800_000_000_000_000_001;
pub const CHANNEL: u64 = 800_000_000_000_000_002;
pub const LOGS: u64 = 800_000_000_000_000_003;
/// `STAFF_ROLES` of `support::policy()`: 900 may move 1,000,000, 901 may move 50.
pub const STAFF: u64 = 900;
pub const JUNIOR: u64 = 901;
pub const MOD: u64 = 800_000_000_000_000_010;
pub const JUNIOR_MOD: u64 = 800_000_000_000_000_011;
/// Has Manage Server (sees the commands) but no staff role.
pub const OUTSIDER: u64 = 800_000_000_000_000_012;
pub const BYSTANDER: u64 = 800_000_000_000_000_013;
/// A member with no role and no permission (sees only the commands open to everyone).
pub const PLAYER_MEMBER: u64 = 800_000_000_000_000_014;
/// A second plain member.
pub const OTHER_MEMBER: u64 = 800_000_000_000_000_015;
const BLOX_KEY: &str = "blox-key-e2e";
const ROVER_KEY: &str = "rover-key-e2e";
/// Bound for a failing test only.
pub const WAIT: Duration = Duration::from_secs(20);

/// How one test's bot is set up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub config: ServiceConfig,
    pub confirm_timeout: Duration,
    pub guild_id: Option<u64>,
    pub log_channel: Option<u64>,
    pub follow_up: FollowUp,
    /// How long a payout uses its interaction token (`RunOptions::token_usable_for`).
    pub token_usable_for: Duration,
    /// `LINK_SOURCES` when members are resolved through account links (`None`: no links).
    pub link_sources: Option<&'static str>,
    /// The Bloxlink and RoVer fakes' rate limit.
    pub link_limit: RateLimit,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            config: service_config(),
            confirm_timeout: Duration::from_secs(60),
            guild_id: Some(GUILD),
            log_channel: Some(LOGS),
            follow_up: FollowUp::DISCORD,
            token_usable_for: bot::discord::reply::TOKEN_USABLE_FOR,
            link_sources: None,
            link_limit: RateLimit::GENEROUS,
        }
    }
}

/// The account links of one test: the resolver the bot uses and the providers' fakes.
pub struct LinkWorld {
    pub links: Arc<Links>,
    /// The sign-in flow, when `oauth` is among the sources.
    pub oauth: Option<Arc<RobloxOAuth>>,
    pub bloxlink: FakeBloxlink,
    pub rover: FakeRover,
}

/// A running bot, its Discord and its universe.
pub struct E2e {
    pub fake: DiscordFake,
    pub world: World,
    pub api: AuditApi,
    pub service: Arc<Service>,
    pub status: DiscordStatus,
    /// Present when `Setup::link_sources` is set.
    pub links: Option<LinkWorld>,
    setup: Setup,
    /// Set by [`E2e::expect_calls_after_the_token`].
    late_calls_expected: bool,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

pub fn member(user_id: u64, name: &str, roles: Vec<u64>, permissions: u64) -> Member {
    Member {
        user_id,
        name: name.into(),
        roles,
        permissions,
        bot: false,
    }
}

/// A fake Discord with the test guild, its channels, roles and members.
pub async fn discord() -> DiscordFake {
    let fake = DiscordFake::start(FakeConfig::default()).await.unwrap();
    fake.add_guild(GUILD, "Economy test");
    fake.add_role(GUILD, STAFF, "Staff");
    fake.add_role(GUILD, JUNIOR, "Junior staff");
    fake.add_channel(GUILD, CHANNEL, "staff", true);
    fake.add_channel(GUILD, LOGS, "economy-log", true);
    fake.add_member(GUILD, member(MOD, "Mod", vec![STAFF], MANAGE_GUILD));
    fake.add_member(
        GUILD,
        member(JUNIOR_MOD, "Junior", vec![JUNIOR], MANAGE_GUILD),
    );
    fake.add_member(GUILD, member(OUTSIDER, "Outsider", vec![], MANAGE_GUILD));
    fake.add_member(GUILD, member(BYSTANDER, "Bystander", vec![], 0));
    fake.add_member(GUILD, member(PLAYER_MEMBER, "Player", vec![], 0));
    fake.add_member(GUILD, member(OTHER_MEMBER, "Other", vec![], 0));
    fake
}

impl E2e {
    /// Starts everything and waits until the bot is connected and its commands registered.
    pub async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    /// Like [`E2e::start`] with another setup.
    pub async fn start_with(setup: Setup) -> Self {
        let e = Self::launch(discord().await, World::new(), setup).await;
        e.ready().await;
        e
    }

    /// Starts the bot against `fake` without waiting for anything.
    pub async fn launch(fake: DiscordFake, world: World, setup: Setup) -> Self {
        let api = AuditApi::start().await;
        let service = Arc::new(world.service(&api, setup.config.clone()).await);
        let links = match setup.link_sources {
            Some(sources) => Some(link_world(&service, sources, setup.link_limit).await),
            None => None,
        };
        let mut e = Self {
            fake,
            world,
            api,
            service,
            status: DiscordStatus::default(),
            links,
            setup,
            late_calls_expected: false,
            stop: None,
            task: None,
        };
        e.run_bot();
        e
    }

    fn run_bot(&mut self) {
        let settings = DiscordSettings {
            token: SecretString::new(self.fake.token()),
            guild_id: self.setup.guild_id,
            log_channel_id: self.setup.log_channel,
            confirm_timeout: self.setup.confirm_timeout,
            reconcile_every: Duration::from_secs(3600),
            log_max_attempts: 10,
        };
        self.status = DiscordStatus::default();
        let options = RunOptions {
            endpoint: Endpoint::local(&self.fake.rest_base()).unwrap(),
            status: self.status.clone(),
            registration_retry: Duration::from_millis(20),
            registration_retry_max: Duration::from_millis(200),
            follow_up: self.setup.follow_up,
            token_usable_for: self.setup.token_usable_for,
            links: self.links.as_ref().map(|l| l.links.clone()),
            oauth: self.links.as_ref().and_then(|l| l.oauth.clone()),
        };
        let (tx, rx) = oneshot::channel();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(bot::discord::run_with(
            self.service.clone(),
            settings,
            options,
            async move {
                let _ = rx.await;
            },
        )));
    }

    /// Waits until `f` holds for the bot's Discord status (polled: the status changes inside the
    /// bot, not in the fake).
    pub async fn wait_status<T>(
        &self,
        what: &str,
        mut f: impl FnMut(&DiscordStatus) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(t) = f(&self.status) {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.status.problems()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the gateway is connected and the commands are registered.
    pub async fn ready(&self) {
        self.wait_status("the bot to connect and register", |s| {
            (s.gateway_connected() && s.commands_registered()).then_some(())
        })
        .await;
    }

    /// `user` types `/name` with `options` in the staff channel.
    pub fn run(&self, user: u64, name: &str, options: &[(&str, OptionValue)]) -> InteractionRef {
        self.fake
            .run_command(user, CHANNEL, name, options)
            .unwrap_or_else(|e| panic!("/{name}: {e}"))
    }

    /// Waits for an answer to `ix` whose text (separators removed) contains `needle`.
    pub async fn reply_containing(&self, ix: InteractionRef, needle: &str) -> Seen {
        match self
            .fake
            .wait_reply(ix, WAIT, |m| plain(&m.text()).contains(needle))
            .await
        {
            Ok(m) => m,
            Err(e) => panic!(
                "{e}: no reply containing {needle:?}; replies: {:#?}; problems: {:?}; requests: {:#?}",
                self.fake
                    .replies(ix)
                    .iter()
                    .map(Seen::text)
                    .collect::<Vec<_>>(),
                self.fake.problems(),
                self.fake.requests()
            ),
        }
    }

    /// `user` presses the button labelled `label` on `message` the way a member does: if the
    /// press is not answered (the bot may still be setting up its listener: a press can reach it
    /// before its own HTTP call that showed the button has returned), they press again. Only the
    /// number of presses depends on timing, never the outcome. Returns the answered press.
    pub async fn press(&self, user: u64, message: &Seen, label: &str) -> InteractionRef {
        let id = message
            .button(label)
            .unwrap_or_else(|| panic!("no {label} button on {message:?}"))
            .custom_id
            .clone();
        let mut presses = Vec::new();
        for _ in 0..40 {
            // Once the bot has answered and removed the button, pressing fails: keep waiting
            // for the answer to an earlier press.
            if let Ok(press) = self.fake.press(user, message.id, &id) {
                presses.push(press);
            }
            let answered = self
                .fake
                .wait_until("a press to be answered", Duration::from_millis(500), |f| {
                    presses
                        .iter()
                        .find(|p| f.response_type(**p).is_some())
                        .copied()
                })
                .await;
            if let Ok(press) = answered {
                return press;
            }
        }
        panic!(
            "{label} was never answered; requests: {:#?}",
            self.fake.requests()
        );
    }

    /// Waits for the log channel to hold `n` posts.
    pub async fn log_posts(&self, n: usize) -> Vec<Seen> {
        self.fake
            .wait_until("log channel posts", WAIT, |f| {
                let posts = f.seen_by(BYSTANDER, LOGS);
                (posts.len() >= n).then_some(posts)
            })
            .await
            .unwrap()
    }

    /// Stops the bot (as on SIGTERM) and waits for `run_with` to return.
    pub async fn stop_bot(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("the bot stops")
                .expect("the bot task does not panic"),
            None => Ok(()),
        }
    }

    /// Starts the bot again on the same database, universe and Discord.
    pub async fn restart_bot(&mut self) {
        self.run_bot();
        self.ready().await;
    }

    /// The test moves the fake's clock past a command's 15-minute token while the bot, whose
    /// clock stands still, still edits through it: those webhook calls are refused (401), as
    /// they would be on Discord, and [`E2e::finish`] allows them (on webhook routes only).
    pub fn expect_calls_after_the_token(&mut self) {
        self.late_calls_expected = true;
    }

    /// Ends the test: the bot stops cleanly, serenity read every payload the fake sent, and
    /// the fake refused nothing as malformed.
    pub async fn finish(mut self) {
        self.stop_bot().await.expect("the bot stops cleanly");
        let problems = self.fake.problems();
        assert!(problems.is_empty(), "payload problems: {problems:#?}");
        let malformed: Vec<_> = self
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.status == 400)
            .collect();
        assert!(malformed.is_empty(), "Discord would refuse: {malformed:#?}");
        // 401 on an interaction's webhook: a reply or edit after its 15-minute token. A test
        // that jumps the fake's clock past the token while the bot still uses it (its own clock
        // did not move) may expect those, and only on webhooks: never on a press's callback.
        let late: Vec<_> = self
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.status == 401)
            .filter(|r| !(self.late_calls_expected && r.route.starts_with("/webhooks/")))
            .collect();
        assert!(late.is_empty(), "calls after the token expired: {late:#?}");
        // Names and reasons typed by staff must never ping anyone. The one ping the bot means is
        // its own leading mention of the member a message is for (a payout's summary posted in
        // the channel once the interaction token is spent), and only that member may be notified.
        let own_ping = |m: &Seen| {
            m.mentionable_users().is_some_and(|users| {
                users.len() == 1 && m.content.starts_with(&format!("<@{}>", users[0]))
            })
        };
        for member in [MOD, JUNIOR_MOD, OUTSIDER, BYSTANDER] {
            for channel in [CHANNEL, LOGS] {
                for m in self.fake.seen_by(member, channel) {
                    assert!(
                        m.mentions_nobody() || own_ping(&m),
                        "a message may ping: {m:#?}"
                    );
                }
            }
        }
        self.world.assert_single_writer();
    }
}

/// The resolver over `sources` as the bot builds it from its settings (on the service's database
/// and clock), with the Bloxlink and RoVer fakes (their own keys and ports).
async fn link_world(service: &Service, sources: &str, limit: RateLimit) -> LinkWorld {
    // The fakes' rate-limit windows stand still: a limit reached stays reached.
    let clock = ManualClock::shared(1_800_000_000_000);
    let (bloxlink, rover) =
        crate::support::link_fakes::start(GUILD, BLOX_KEY, ROVER_KEY, limit, clock).await;
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("LINK_SOURCES".into(), sources.into());
    // A key for a source LINK_SOURCES does not list is refused at start.
    if sources.contains("bloxlink") {
        env.insert("BLOXLINK_API_KEY".into(), BLOX_KEY.into());
        env.insert("BLOXLINK_BASE_URL".into(), bloxlink.base_url());
    }
    if sources.contains("rover") {
        env.insert("ROVER_API_KEY".into(), ROVER_KEY.into());
        env.insert("ROVER_BASE_URL".into(), rover.base_url());
    }
    if sources.contains("oauth") {
        // Only the sign-in link is made here (no call to Roblox): a closed loopback port will do.
        env.insert("ROBLOX_OAUTH_CLIENT_ID".into(), "e2e-client".into());
        env.insert("ROBLOX_OAUTH_CLIENT_SECRET".into(), "e2e-secret".into());
        env.insert(
            "ROBLOX_OAUTH_REDIRECT_URI".into(),
            "http://127.0.0.1:9/oauth/callback".into(),
        );
        env.insert("ROBLOX_OAUTH_BASE_URL".into(), "http://127.0.0.1:9".into());
    }
    let get = move |k: &str| env.get(k).cloned();
    let mut errors = Vec::new();
    let settings = LinkSettings::read(&get, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let links = settings
        .build(service.db().clone(), service.clock().clone())
        .unwrap();
    let oauth = settings
        .oauth_flow(service.db().clone(), service.clock().clone())
        .unwrap();
    LinkWorld {
        links: Arc::new(links),
        oauth: oauth.map(Arc::new),
        bloxlink,
        rover,
    }
}

/// Text with thousands separators removed (the wording may group digits).
pub fn plain(s: &str) -> String {
    s.replace([',', '\u{202f}', '\u{a0}'], "")
}
