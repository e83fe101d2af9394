//! The test API: set up guilds, roles, channels and members; type a slash command with options
//! or press a button as a member (refused as Discord's client would refuse it); read what a
//! member sees; wait for a condition while the bot works.

use crate::world::{Channel, Guild, Interaction, InteractionKind, Member, Upload};
use crate::{DiscordFake, Seen, gateway, model};
use serde_json::{Value, json};
use std::time::Duration;

/// Option type SUB_COMMAND.
const SUB_COMMAND: u64 = 1;

/// The largest file a member may attach (the interaction's `attachment_size_limit`: 10 MiB,
/// Discord's default upload limit without boosts); the client refuses a larger one.
pub const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

/// A file a member attaches to an ATTACHMENT option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// File name (kept as typed in the URL: tests use plain names).
    pub filename: String,
    /// The bytes the fake's CDN serves.
    pub bytes: Vec<u8>,
    /// The size the attachment object reports: the bytes' length unless a test claims a larger
    /// file without building one ([`FileUpload::claiming_size`]).
    pub size: Option<u64>,
    /// Content type, where known.
    pub content_type: Option<String>,
}

impl FileUpload {
    /// A file; its content type is Discord's for the extension where the fake knows it.
    pub fn new(filename: &str, bytes: impl Into<Vec<u8>>) -> Self {
        let content_type = match filename
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
        {
            Some(ext) if ext == "csv" => Some("text/csv; charset=utf-8".to_owned()),
            Some(ext) if ext == "txt" => Some("text/plain; charset=utf-8".to_owned()),
            _ => None,
        };
        Self {
            filename: filename.to_owned(),
            bytes: bytes.into(),
            size: None,
            content_type,
        }
    }

    /// Reports `size` in the attachment object (the served bytes stay as given).
    pub fn claiming_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    fn size(&self) -> u64 {
        self.size.unwrap_or(self.bytes.len() as u64)
    }
}

/// An option value as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// STRING (3).
    String(String),
    /// INTEGER (4).
    Integer(i64),
    /// BOOLEAN (5).
    Boolean(bool),
    /// USER (6): a member of the guild.
    User(u64),
    /// ROLE (8): a role of the guild (its id; the guild's id is @everyone).
    Role(u64),
    /// ATTACHMENT (11): a file the member attaches.
    Attachment(FileUpload),
}

impl From<&str> for OptionValue {
    fn from(s: &str) -> Self {
        OptionValue::String(s.to_owned())
    }
}
impl From<i64> for OptionValue {
    fn from(n: i64) -> Self {
        OptionValue::Integer(n)
    }
}
impl From<bool> for OptionValue {
    fn from(b: bool) -> Self {
        OptionValue::Boolean(b)
    }
}

impl OptionValue {
    fn type_id(&self) -> u64 {
        match self {
            OptionValue::String(_) => 3,
            OptionValue::Integer(_) => 4,
            OptionValue::Boolean(_) => 5,
            OptionValue::User(_) => 6,
            OptionValue::Role(_) => 8,
            OptionValue::Attachment(_) => 11,
        }
    }
    /// The option's `value` (an attachment's is its id, given when it is uploaded).
    fn json(&self, attachment_id: Option<u64>) -> Value {
        match self {
            OptionValue::String(s) => json!(s),
            OptionValue::Integer(n) => json!(n),
            OptionValue::Boolean(b) => json!(b),
            OptionValue::User(u) | OptionValue::Role(u) => json!(u.to_string()),
            OptionValue::Attachment(_) => json!(attachment_id.unwrap_or_default().to_string()),
        }
    }
}

/// Why the fake's "client" would not send what a test asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UseError {
    /// No bot is connected to the gateway.
    #[error("no bot is connected to the gateway")]
    NotConnected,
    /// No such guild, channel or member.
    #[error("unknown {0}")]
    Unknown(&'static str),
    /// The command is not registered where the member is.
    #[error("/{0} is not registered in this guild")]
    UnknownCommand(String),
    /// The member lacks the command's `default_member_permissions` (Discord hides it).
    #[error("/{0} is hidden from this member (default_member_permissions)")]
    Hidden(String),
    /// An option Discord's client would not accept.
    #[error("option {0}")]
    BadOption(String),
    /// The message or button is not there for this member.
    #[error("no such button for this member: {0}")]
    NoButton(String),
    /// The wait ran out.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

/// An interaction the fake sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionRef {
    /// Interaction id.
    pub id: u64,
    /// The member who used it.
    pub user: u64,
}

fn check_option(def: &Value, name: &str, v: &OptionValue) -> Result<(), UseError> {
    let bad = |why: String| Err(UseError::BadOption(format!("{name}: {why}")));
    if def.get("type").and_then(Value::as_u64) != Some(v.type_id()) {
        return bad("wrong type".into());
    }
    let num = |k: &str| def.get(k).and_then(Value::as_f64);
    let len = |k: &str| def.get(k).and_then(Value::as_u64);
    match v {
        OptionValue::Integer(n)
            if num("min_value").is_some_and(|m| (*n as f64) < m)
                || num("max_value").is_some_and(|m| (*n as f64) > m) =>
        {
            return bad(format!("{n} is out of range"));
        }
        OptionValue::String(s) => {
            let n = s.chars().count() as u64;
            if n == 0
                || len("min_length").is_some_and(|m| n < m)
                || len("max_length").is_some_and(|m| n > m)
            {
                return bad(format!("{n} characters is out of range"));
            }
        }
        OptionValue::Attachment(f) if f.size() > ATTACHMENT_SIZE_LIMIT => {
            return bad(format!("a {} byte file is over the upload limit", f.size()));
        }
        _ => {}
    }
    Ok(())
}

impl DiscordFake {
    /// Adds a guild the bot is in, with one text channel.
    pub fn add_guild(&self, id: u64, name: &str) {
        self.shared().world.lock().guilds.insert(
            id,
            Guild {
                id,
                name: name.into(),
                roles: Default::default(),
                channels: Default::default(),
                members: Default::default(),
            },
        );
    }

    /// Adds a role to a guild.
    pub fn add_role(&self, guild: u64, id: u64, name: &str) {
        if let Some(g) = self.shared().world.lock().guilds.get_mut(&guild) {
            g.roles.insert(id, name.into());
        }
    }

    /// Adds a text channel; `bot_can_post` = View Channel, Send Messages and Embed Links.
    pub fn add_channel(&self, guild: u64, id: u64, name: &str, bot_can_post: bool) {
        if let Some(g) = self.shared().world.lock().guilds.get_mut(&guild) {
            g.channels.insert(
                id,
                Channel {
                    id,
                    name: name.into(),
                    bot_can_post,
                    bot_can_attach: bot_can_post,
                },
            );
        }
    }

    /// Denies the bot Attach Files in a channel: a channel message with files is refused there
    /// (403 / 50013), one without is not.
    pub fn deny_attach_files(&self, channel: u64) {
        let mut w = self.shared().world.lock();
        for g in w.guilds.values_mut() {
            if let Some(c) = g.channels.get_mut(&channel) {
                c.bot_can_attach = false;
            }
        }
    }

    /// How long the attachment URLs handed out from now on stay valid (24 hours by default, on
    /// the fake's clock; whole seconds). Zero hands out URLs that have already expired, as a URL
    /// read from an old payload would be.
    pub fn set_attachment_url_lifetime(&self, lifetime: std::time::Duration) {
        self.shared().world.lock().url_lifetime_s =
            i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    }

    /// Adds (or replaces) a member of a guild.
    pub fn add_member(&self, guild: u64, member: Member) {
        if let Some(g) = self.shared().world.lock().guilds.get_mut(&guild) {
            g.members.insert(member.user_id, member);
        }
    }

    /// Adds a Discord user who is not a member of any of the bot's guilds (a USER option can
    /// name them; the interaction then resolves them in `users` only, not in `members`).
    pub fn add_outsider(&self, id: u64, name: &str) {
        self.shared().world.lock().outsiders.insert(id, name.into());
    }

    /// The registered commands of a scope (`None` = global), as Discord stores them.
    pub fn commands(&self, guild: Option<u64>) -> Vec<Value> {
        let w = self.shared().world.lock();
        match guild {
            None => w.global_commands.clone(),
            Some(g) => w.guild_commands.get(&g).cloned().unwrap_or_default(),
        }
    }

    /// Bulk overwrites seen so far, by scope (`None` = global).
    pub fn registrations(&self) -> Vec<Option<u64>> {
        self.shared().world.lock().registrations.clone()
    }

    /// Stores commands as a previous run of the bot would have left them.
    pub fn preregister(&self, guild: Option<u64>, commands: &[Value]) {
        let mut w = self.shared().world.lock();
        let stored: Vec<Value> = commands
            .iter()
            .map(|c| model::stored_command(c, w.next_id(), guild, &w))
            .collect();
        match guild {
            None => w.global_commands = stored,
            Some(g) => {
                w.guild_commands.insert(g, stored);
            }
        }
    }

    /// Whether a bot holds an identified gateway session now.
    pub fn connected(&self) -> bool {
        self.shared().gateway.lock().live().is_some()
    }

    /// IDENTIFY and RESUME attempts so far.
    pub fn gateway_counts(&self) -> (usize, usize) {
        let w = self.shared().world.lock();
        (w.identifies, w.resumes)
    }

    /// Asks the connected bot to reconnect (op 7 RECONNECT); it should RESUME.
    pub fn request_reconnect(&self) -> Result<(), UseError> {
        let frame = json!({"op": 7, "s": null, "t": null, "d": null});
        let mut g = self.shared().gateway.lock();
        let s = g.live().ok_or(UseError::NotConnected)?;
        match &s.conn {
            Some((_, tx)) if tx.send(gateway::Outbound::Frame(frame)).is_ok() => Ok(()),
            _ => Err(UseError::NotConnected),
        }
    }

    fn send_event(&self, event: &str, data: Value) -> Result<(), UseError> {
        let shared = self.shared().clone();
        let mut g = shared.gateway.lock();
        let s = g.live().ok_or(UseError::NotConnected)?;
        if gateway::dispatch_on(&shared, s, event, data) {
            Ok(())
        } else {
            Err(UseError::NotConnected)
        }
    }

    /// `user` types `/name` with `options` in `channel` (`"link set"` names a subcommand).
    /// Refused, as Discord's client would, when the command is not registered in that guild,
    /// hidden from the member by its `default_member_permissions`, a command with subcommands is
    /// typed without one (its base is not usable), or an option breaks its registered type,
    /// range or length, or a required one is missing.
    pub fn run_command(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: &[(&str, OptionValue)],
    ) -> Result<InteractionRef, UseError> {
        self.type_command(user, channel, name, options, None)
    }

    /// `user` is typing `/name` with `options` filled so far and `focused` (option, partial
    /// text) being typed: the client sends an autocomplete interaction (type 4) when that option
    /// is registered with `autocomplete: true` (a STRING here). The partial text is not checked
    /// against the option's lengths and required options may still be missing, as in Discord.
    /// The bot's answer (callback type 8) is read with [`DiscordFake::choices`].
    pub fn autocomplete(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: &[(&str, OptionValue)],
        focused: (&str, &str),
    ) -> Result<InteractionRef, UseError> {
        self.type_command(user, channel, name, options, Some(focused))
    }

    /// The choices the bot answered an autocomplete interaction with: (name, value) pairs.
    pub fn choices(&self, to: InteractionRef) -> Option<Vec<(String, Value)>> {
        let w = self.shared().world.lock();
        let choices = w.interactions.get(&to.id)?.choices.clone()?;
        Some(
            choices
                .iter()
                .map(|c| {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                    (
                        name.to_owned(),
                        c.get("value").cloned().unwrap_or(Value::Null),
                    )
                })
                .collect(),
        )
    }

    fn type_command(
        &self,
        user: u64,
        channel: u64,
        name: &str,
        options: &[(&str, OptionValue)],
        focused: Option<(&str, &str)>,
    ) -> Result<InteractionRef, UseError> {
        let (payload, iref) = {
            let mut w = self.shared().world.lock();
            let guild = w
                .guild_of_channel(channel)
                .ok_or(UseError::Unknown("channel"))?
                .clone();
            let member = guild
                .members
                .get(&user)
                .cloned()
                .ok_or(UseError::Unknown("member"))?;
            let mut words = name.split(' ');
            let base = words.next().unwrap_or_default();
            let sub = words.next();
            let command = w
                .command_named(guild.id, base)
                .cloned()
                .ok_or_else(|| UseError::UnknownCommand(name.into()))?;
            let needed = command
                .get("default_member_permissions")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<u64>().ok());
            if let Some(needed) = needed
                && member.permissions & crate::ADMINISTRATOR == 0
                && member.permissions & needed != needed
            {
                return Err(UseError::Hidden(name.into()));
            }
            let top = command
                .get("options")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let subcommands: Vec<&Value> = top
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_u64) == Some(SUB_COMMAND))
                .collect();
            let defs = match sub {
                Some(sub) => {
                    let def = subcommands
                        .iter()
                        .find(|o| o.get("name").and_then(Value::as_str) == Some(sub))
                        .ok_or_else(|| UseError::UnknownCommand(name.into()))?;
                    def.get("options")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                }
                None if !subcommands.is_empty() => {
                    return Err(UseError::BadOption(format!(
                        "/{name} has subcommands: its base command is not usable"
                    )));
                }
                None => top,
            };
            let mut sent = Vec::new();
            let mut users = serde_json::Map::new();
            let mut members = serde_json::Map::new();
            let mut roles = serde_json::Map::new();
            let mut attachments = serde_json::Map::new();
            let mut uploads = Vec::new();
            for (opt, value) in options {
                let def = defs
                    .iter()
                    .find(|d| d.get("name").and_then(Value::as_str) == Some(opt))
                    .ok_or_else(|| UseError::BadOption(format!("{opt}: no such option")))?;
                check_option(def, opt, value)?;
                if let OptionValue::User(u) = value {
                    match (guild.members.get(u), w.outsiders.get(u)) {
                        (Some(m), _) => {
                            let full = model::member(m, crate::clock::START_MS);
                            users.insert(u.to_string(), full["user"].clone());
                            let mut partial = full;
                            if let Some(o) = partial.as_object_mut() {
                                o.remove("user");
                            }
                            members.insert(u.to_string(), partial);
                        }
                        // Not a member: resolved as a user only.
                        (None, Some(name)) => {
                            users.insert(u.to_string(), model::user(*u, name, false));
                        }
                        (None, None) => return Err(UseError::Unknown("user")),
                    }
                }
                if let OptionValue::Role(r) = value {
                    // The client offers only the guild's roles (@everyone has the guild's id).
                    let role = if *r == guild.id {
                        model::role(*r, "@everyone", 0)
                    } else {
                        let (position, name) = guild
                            .roles
                            .iter()
                            .enumerate()
                            .find(|(_, (id, _))| *id == r)
                            .map(|(i, (_, name))| (i + 1, name.as_str()))
                            .ok_or(UseError::Unknown("role"))?;
                        model::role(*r, name, position)
                    };
                    roles.insert(r.to_string(), role);
                }
                let mut attachment_id = None;
                if let OptionValue::Attachment(f) = value {
                    // The client uploads the file first; the option carries its id.
                    let upload = Upload {
                        id: w.next_id(),
                        channel_id: channel,
                        filename: f.filename.clone(),
                        bytes: f.bytes.clone(),
                        size: f.size(),
                        content_type: f.content_type.clone(),
                    };
                    attachment_id = Some(upload.id);
                    attachments.insert(upload.id.to_string(), model::upload(&upload, &w));
                    uploads.push(upload);
                }
                sent.push(json!({"name": opt, "type": value.type_id(), "value": value.json(attachment_id)}));
            }
            if let Some((opt, partial)) = focused {
                let def = defs
                    .iter()
                    .find(|d| d.get("name").and_then(Value::as_str) == Some(opt))
                    .ok_or_else(|| UseError::BadOption(format!("{opt}: no such option")))?;
                let autocompletes = def.get("autocomplete").and_then(Value::as_bool) == Some(true)
                    && def.get("type").and_then(Value::as_u64) == Some(3);
                if !autocompletes {
                    return Err(UseError::BadOption(format!(
                        "{opt}: not registered with autocomplete"
                    )));
                }
                sent.push(json!({"name": opt, "type": 3, "value": partial, "focused": true}));
            } else {
                for d in &defs {
                    let required = d.get("required").and_then(Value::as_bool) == Some(true);
                    let dname = d.get("name").and_then(Value::as_str).unwrap_or("");
                    if required && !options.iter().any(|(o, _)| *o == dname) {
                        return Err(UseError::BadOption(format!("{dname}: required")));
                    }
                }
            }
            let sent = match sub {
                Some(sub) => vec![json!({"name": sub, "type": SUB_COMMAND, "options": sent})],
                None => sent,
            };
            let mut resolved = serde_json::Map::new();
            if !users.is_empty() {
                resolved.insert("users".into(), Value::Object(users));
                resolved.insert("members".into(), Value::Object(members));
            }
            if !roles.is_empty() {
                resolved.insert("roles".into(), Value::Object(roles));
            }
            if !attachments.is_empty() {
                resolved.insert("attachments".into(), Value::Object(attachments));
            }
            let resolved = (!resolved.is_empty()).then_some(Value::Object(resolved));
            for u in uploads {
                w.uploads.insert(u.id, u);
            }
            let kind = match focused {
                Some(_) => InteractionKind::Autocomplete,
                None => InteractionKind::Command,
            };
            let i = self.new_interaction(&mut w, kind, &member, guild.id, channel);
            let payload = model::command_interaction(&i, &member, &command, sent, resolved, &w);
            (payload, InteractionRef { id: i.id, user })
        };
        self.send_event("INTERACTION_CREATE", payload)?;
        Ok(iref)
    }

    fn new_interaction(
        &self,
        w: &mut crate::world::World,
        kind: InteractionKind,
        member: &Member,
        guild: u64,
        channel: u64,
    ) -> Interaction {
        let id = w.next_id();
        let i = Interaction {
            id,
            token: format!("aW50ZXJhY3Rpb24.{id}.{}", w.next_id()),
            kind,
            user_id: member.user_id,
            guild_id: guild,
            channel_id: channel,
            created_ms: w.now_ms(),
            response: None,
            original: None,
            followups: Vec::new(),
            choices: None,
        };
        w.interactions.insert(id, i.clone());
        i
    }

    /// `user` presses the button `custom_id` on `message` (a message they can see, a button
    /// that is there and not disabled).
    pub fn press(
        &self,
        user: u64,
        message: u64,
        custom_id: &str,
    ) -> Result<InteractionRef, UseError> {
        let (payload, iref) = {
            let mut w = self.shared().world.lock();
            let m = w
                .messages
                .get(&message)
                .filter(|m| !m.deleted && m.visible_to.is_none_or(|u| u == user))
                .cloned()
                .ok_or_else(|| UseError::NoButton(custom_id.into()))?;
            let seen = Seen::of(&m);
            if !seen
                .buttons
                .iter()
                .any(|b| b.custom_id == custom_id && !b.disabled)
            {
                return Err(UseError::NoButton(custom_id.into()));
            }
            let member = w
                .guilds
                .get(&m.guild_id)
                .and_then(|g| g.members.get(&user))
                .cloned()
                .ok_or(UseError::Unknown("member"))?;
            let i = self.new_interaction(
                &mut w,
                InteractionKind::Component { message },
                &member,
                m.guild_id,
                m.channel_id,
            );
            let payload =
                model::component_interaction(&i, &member, custom_id, model::message(&m, &w), &w);
            (payload, InteractionRef { id: i.id, user })
        };
        self.send_event("INTERACTION_CREATE", payload)?;
        Ok(iref)
    }

    /// The messages of `channel` that `user` sees, oldest first.
    pub fn seen_by(&self, user: u64, channel: u64) -> Vec<Seen> {
        let w = self.shared().world.lock();
        w.messages
            .values()
            .filter(|m| m.channel_id == channel && !m.deleted)
            .filter(|m| m.visible_to.is_none_or(|u| u == user))
            .map(Seen::of)
            .collect()
    }

    /// The answers to one interaction that its member sees (the original, then followups).
    pub fn replies(&self, to: InteractionRef) -> Vec<Seen> {
        let w = self.shared().world.lock();
        let Some(i) = w.interactions.get(&to.id) else {
            return Vec::new();
        };
        // A button press's original is the pressed message unless the press got its own answer.
        let own = i.original.filter(|id| {
            w.messages
                .get(id)
                .is_some_and(|m| m.interaction == Some(i.id))
        });
        own.into_iter()
            .chain(i.followups.iter().copied())
            .filter_map(|id| w.messages.get(&id))
            .filter(|m| !m.deleted && m.visible_to.is_none_or(|u| u == to.user))
            .map(Seen::of)
            .collect()
    }

    /// The callback type the bot answered an interaction with (4, 5, 6, 7, 8), if any.
    pub fn response_type(&self, to: InteractionRef) -> Option<u8> {
        self.shared()
            .world
            .lock()
            .interactions
            .get(&to.id)?
            .response
    }

    /// Waits until `f` returns something (re-checked on every change the fake sees), at most
    /// `within` of real time (only a bound for a failing test: the condition decides).
    pub async fn wait_until<T>(
        &self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, UseError> {
        let deadline = tokio::time::Instant::now() + within;
        let mut rx = self.shared().notify_rx();
        loop {
            rx.borrow_and_update();
            if let Some(t) = f(self) {
                return Ok(t);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(UseError::Timeout(what.into())),
            }
        }
    }

    /// Waits for the newest answer to `to` that satisfies `f`.
    pub async fn wait_reply(
        &self,
        to: InteractionRef,
        within: Duration,
        mut f: impl FnMut(&Seen) -> bool,
    ) -> Result<Seen, UseError> {
        self.wait_until("a reply", within, |fake| {
            fake.replies(to).into_iter().rev().find(|m| f(m))
        })
        .await
    }
}
