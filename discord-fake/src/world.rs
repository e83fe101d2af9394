//! The fake's state: the application and its bot user, guilds (roles, channels, members),
//! registered commands, interactions and messages, scripted faults, and what went wrong.

use crate::clock::FakeClock;
use crate::ids::Snowflakes;
use crate::ratelimit::Buckets;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Who the fake's application is.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The bot token the fake accepts (REST `Authorization: Bot …` and gateway IDENTIFY).
    pub token: String,
    /// The application id (also the bot user's id, as for bots made in the developer portal).
    pub application_id: u64,
    /// The bot user's name.
    pub bot_name: String,
    /// Whether the Server Members Intent (GUILD_MEMBERS, privileged) is enabled for the
    /// application in its developer portal: List Guild Members and an IDENTIFY with the intent
    /// need it. Off by default, as for a new application.
    pub members_intent: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token: "ODk2NTQzMjEwOTg3NjU0MzIx.GfAkEd.fake-token-for-tests-only".into(),
            application_id: 896_543_210_987_654_321,
            bot_name: "Economy Bridge".into(),
            members_intent: false,
        }
    }
}

/// A guild member as the test scripts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// User id.
    pub user_id: u64,
    /// Username (also the display name).
    pub name: String,
    /// Role ids (without @everyone, as Discord sends them).
    pub roles: Vec<u64>,
    /// The member's computed permissions in the channel (a bit set).
    pub permissions: u64,
    /// A bot account (its user object says `bot: true`).
    pub bot: bool,
}

/// `ADMINISTRATOR` (`1 << 3`).
pub const ADMINISTRATOR: u64 = 1 << 3;
/// `MANAGE_GUILD` (`1 << 5`).
pub const MANAGE_GUILD: u64 = 1 << 5;

/// A text channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Channel id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Whether the bot may post in it (View Channel + Send Messages + Embed Links).
    pub bot_can_post: bool,
    /// Whether the bot may upload files to it (Attach Files: Discord's default `@everyone`
    /// permissions grant it; a channel may deny it).
    pub bot_can_attach: bool,
}

/// A guild the bot is in.
#[derive(Debug, Clone)]
pub struct Guild {
    /// Guild id (also the @everyone role's id).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Roles: id → name.
    pub roles: BTreeMap<u64, String>,
    /// Text channels by id.
    pub channels: BTreeMap<u64, Channel>,
    /// Members by user id.
    pub members: BTreeMap<u64, Member>,
}

/// Which kind of interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    /// A slash command (type 2).
    Command,
    /// A button press (type 3) on a message.
    Component {
        /// The message the button is on.
        message: u64,
    },
    /// An option being typed (type 4, APPLICATION_COMMAND_AUTOCOMPLETE).
    Autocomplete,
}

/// An interaction the fake sent.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// Interaction id.
    pub id: u64,
    /// Its token (webhook routes).
    pub token: String,
    /// Command or button.
    pub kind: InteractionKind,
    /// Who used it.
    pub user_id: u64,
    /// Where.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// When it was created (fake clock).
    pub created_ms: i64,
    /// The callback type the bot answered with, if it did.
    pub response: Option<u8>,
    /// The original response message (a type 4 / 5 answer), if any.
    pub original: Option<u64>,
    /// Messages created with this token (followups).
    pub followups: Vec<u64>,
    /// The choices an autocomplete interaction was answered with (callback type 8).
    pub choices: Option<Vec<serde_json::Value>>,
}

/// A file on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Attachment id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Content type as uploaded.
    pub content_type: Option<String>,
}

/// A file a member attached to a command's ATTACHMENT option (uploaded by their client before
/// the interaction, served at its URL by the fake's CDN route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Attachment id.
    pub id: u64,
    /// The channel the command was used in (part of the URL, as on Discord's CDN).
    pub channel_id: u64,
    /// File name.
    pub filename: String,
    /// The bytes served.
    pub bytes: Vec<u8>,
    /// The size the attachment object reports (the bytes' length unless a test claims more).
    pub size: u64,
    /// Content type, where known.
    pub content_type: Option<String>,
}

/// A message in a channel.
#[derive(Debug, Clone)]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Channel id.
    pub channel_id: u64,
    /// Guild id.
    pub guild_id: u64,
    /// Text content.
    pub content: String,
    /// Embeds as sent (JSON objects).
    pub embeds: Vec<Value>,
    /// Components as sent (action rows).
    pub components: Vec<Value>,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// Message flags (64 = ephemeral).
    pub flags: u64,
    /// Only this user sees it (ephemeral), or everyone.
    pub visible_to: Option<u64>,
    /// The interaction it answers, if any.
    pub interaction: Option<u64>,
    /// A deferred answer not yet edited ("… is thinking").
    pub loading: bool,
    /// Which mentions in its content may notify: the last `allowed_mentions` sent, else
    /// Discord's default for how it was sent.
    pub allowed_mentions: Value,
    /// Deleted.
    pub deleted: bool,
    /// Created (fake clock).
    pub created_ms: i64,
    /// Last edit (fake clock).
    pub edited_ms: Option<i64>,
}

/// Message flag `EPHEMERAL` (`1 << 6`).
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag `LOADING` (`1 << 7`): a deferred interaction response.
pub const LOADING: u64 = 1 << 7;

/// A failure the next registration requests get (then they succeed again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500.
    ServerError,
    /// 403 / 50001 (e.g. `applications.commands` scope missing).
    MissingAccess,
}

/// One request as the fake saw it (tokens are never recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// The route with ids kept and tokens replaced by `{token}`.
    pub route: String,
    /// The status the fake answered.
    pub status: u16,
}

/// Everything the fake knows.
#[derive(Debug)]
pub struct World {
    /// Identity.
    pub config: FakeConfig,
    /// The clock.
    pub clock: std::sync::Arc<FakeClock>,
    /// Id source.
    pub ids: Snowflakes,
    /// Guilds the bot is in.
    pub guilds: BTreeMap<u64, Guild>,
    /// Global commands (as Discord stores them, with ids).
    pub global_commands: Vec<Value>,
    /// Guild commands.
    pub guild_commands: BTreeMap<u64, Vec<Value>>,
    /// How many bulk overwrites each scope got (`None` = global).
    pub registrations: Vec<Option<u64>>,
    /// Interactions by id.
    pub interactions: HashMap<u64, Interaction>,
    /// Messages by id (creation order).
    pub messages: BTreeMap<u64, Message>,
    /// Failures for the next registration calls.
    pub registration_faults: VecDeque<Fault>,
    /// Rate-limit buckets.
    pub buckets: Buckets,
    /// Every request.
    pub requests: Vec<RequestRecord>,
    /// Payloads the fake produced that serenity's model types refuse, and other bugs of the fake
    /// or misuse by the bot that Discord would not have accepted silently.
    pub problems: Vec<String>,
    /// IDENTIFY attempts (good and bad).
    pub identifies: usize,
    /// RESUME attempts.
    pub resumes: usize,
    /// Users who are in no guild of the bot (id → name): a USER option may still name them.
    pub outsiders: BTreeMap<u64, String>,
    /// Files attached to ATTACHMENT options, by attachment id.
    pub uploads: BTreeMap<u64, Upload>,
    /// Where the fake's REST server listens (`http://127.0.0.1:<port>`): attachment URLs point
    /// at it.
    pub cdn_base: String,
    /// How long an attachment URL is valid after it is handed out (`ex` − `is`, whole seconds;
    /// [`crate::cdn::URL_LIFETIME_S`] unless a test changes it).
    pub url_lifetime_s: i64,
    /// Requests held unanswered until the test releases them: (method, route prefix as
    /// [`RequestRecord::route`] shows it).
    pub holds: Vec<(String, String)>,
    /// How many requests are being held now.
    pub holding: usize,
}

impl World {
    /// An empty world.
    pub fn new(config: FakeConfig, clock: std::sync::Arc<FakeClock>, cdn_base: String) -> Self {
        Self {
            config,
            clock,
            ids: Snowflakes::default(),
            guilds: BTreeMap::new(),
            global_commands: Vec::new(),
            guild_commands: BTreeMap::new(),
            registrations: Vec::new(),
            interactions: HashMap::new(),
            messages: BTreeMap::new(),
            registration_faults: VecDeque::new(),
            buckets: Buckets::default(),
            requests: Vec::new(),
            problems: Vec::new(),
            identifies: 0,
            resumes: 0,
            outsiders: BTreeMap::new(),
            uploads: BTreeMap::new(),
            cdn_base,
            url_lifetime_s: crate::cdn::URL_LIFETIME_S,
            holds: Vec::new(),
            holding: 0,
        }
    }

    /// Whether a request is held now (see [`World::holds`]).
    pub fn holds(&self, method: &str, route: &str) -> bool {
        self.holds
            .iter()
            .any(|(m, prefix)| m == method && route.starts_with(prefix.as_str()))
    }

    /// Now on the fake's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A fresh snowflake.
    pub fn next_id(&self) -> u64 {
        self.ids.next(self.now_ms())
    }

    /// The guild of a channel.
    pub fn guild_of_channel(&self, channel: u64) -> Option<&Guild> {
        self.guilds
            .values()
            .find(|g| g.channels.contains_key(&channel))
    }

    /// The URL a file is served at, signed as of now: the fake's CDN route, shaped like
    /// Discord's `/attachments/{channel}/{attachment}/{filename}?ex=…&is=…&hm=…&`.
    pub fn attachment_url(&self, channel: u64, id: u64, filename: &str) -> String {
        crate::cdn::signed_url(self, channel, id, filename)
    }

    /// The commands a member of `guild` can use: the guild's, then the global ones.
    pub fn command_named(&self, guild: u64, name: &str) -> Option<&Value> {
        let named = |c: &&Value| c.get("name").and_then(Value::as_str) == Some(name);
        self.guild_commands
            .get(&guild)
            .and_then(|v| v.iter().find(named))
            .or_else(|| self.global_commands.iter().find(named))
    }
}
