//! The Bloxlink and RoVer fakes as the link tests start them: one server, one key each, their
//! rate-limit answers with headers, RoVer's flat answer shape.

use link_fakes::{
    BloxlinkConfig, BloxlinkIdField, FakeBloxlink, FakeRover, RateLimit, RoverConfig, RoverShape,
};
use shared::clock::Clock;
use std::sync::Arc;

/// Both fakes for `guild`, accepting `blox_key` and `rover_key`, limited to `limit`, their
/// windows on `clock`.
pub async fn start(
    guild: u64,
    blox_key: &str,
    rover_key: &str,
    limit: RateLimit,
    clock: Arc<dyn Clock>,
) -> (FakeBloxlink, FakeRover) {
    let bloxlink = FakeBloxlink::start(
        BloxlinkConfig {
            api_key: blox_key.into(),
            guild_id: guild,
            limit,
            retry_after_header: true,
            id_field: BloxlinkIdField::default(),
        },
        clock.clone(),
    )
    .await
    .unwrap();
    let rover = FakeRover::start(
        RoverConfig {
            api_key: rover_key.into(),
            guild_id: guild,
            limit,
            rate_limit_headers: true,
            shape: RoverShape::Flat,
        },
        clock,
    )
    .await
    .unwrap();
    (bloxlink, rover)
}
