//! Every payload the fake sends is read back with the serenity model type the bot reads it into:
//! a payload serenity would drop as malformed is recorded as a problem (`DiscordFake::problems`),
//! so an end-to-end test fails on it instead of hanging on an event the bot never saw.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serenity::all as s;

/// What a REST answer is read into by serenity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET /gateway`.
    Gateway,
    /// `GET /gateway/bot`.
    BotGateway,
    /// `GET /oauth2/applications/@me`.
    Application,
    /// `GET /users/@me`.
    CurrentUser,
    /// A list of application commands.
    Commands,
    /// A message.
    Message,
    /// A page of guild members (List Guild Members) of this guild: serenity adds `guild_id` to
    /// each before reading it as its `Member`.
    Members(u64),
    /// Nothing (204).
    Empty,
}

fn read<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks a REST answer body.
pub fn rest(shape: Shape, body: &Value) -> Result<(), String> {
    match shape {
        Shape::Gateway => read::<s::Gateway>(body),
        Shape::BotGateway => read::<s::BotGateway>(body),
        Shape::Application => read::<s::CurrentApplicationInfo>(body),
        Shape::CurrentUser => read::<s::CurrentUser>(body),
        Shape::Commands => read::<Vec<s::Command>>(body),
        Shape::Message => read::<s::Message>(body),
        Shape::Members(guild) => {
            let mut page = body.clone();
            for m in page.as_array_mut().into_iter().flatten() {
                if let Some(o) = m.as_object_mut() {
                    o.insert("guild_id".into(), guild.into());
                }
            }
            read::<Vec<s::Member>>(&page)
        }
        Shape::Empty => Ok(()),
    }
}

/// Checks a gateway frame (opcode, sequence, event name and data) the way serenity's shard
/// reads it.
pub fn gateway(frame: &Value) -> Result<(), String> {
    let event =
        serde_json::from_value::<s::GatewayEvent>(frame.clone()).map_err(|e| e.to_string())?;
    // serenity turns a known event whose data it cannot read into `Unknown` without a word:
    // the bot would never see it. Read the data with the event's own type to say why.
    if let s::GatewayEvent::Dispatch(_, s::Event::Unknown(u)) = &event {
        let why = match u.kind.as_str() {
            "READY" => read::<s::ReadyEvent>(&u.value),
            "GUILD_CREATE" => read::<s::GuildCreateEvent>(&u.value),
            "INTERACTION_CREATE" => read::<s::InteractionCreateEvent>(&u.value),
            "RESUMED" => read::<s::ResumedEvent>(&u.value),
            _ => Err("an event serenity does not know".to_owned()),
        };
        return Err(format!(
            "{} dropped as Unknown: {}",
            u.kind,
            why.err().unwrap_or_default()
        ));
    }
    Ok(())
}
