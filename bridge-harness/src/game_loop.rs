//! The in-game economy a seeded run puts beside the bridge: every few seconds each player with a
//! wallet on the server grants or spends a little, until a virtual stop time, so the run's settle
//! phase finds a quiet economy (the outboxes could never be empty at one instant otherwise).

/// The `GameLoop` Script's source: a pause of `min_wait_s` plus up to `spread_s` seconds between
/// rounds, stopping at `stop_at_unix` (Unix seconds, virtual).
pub fn game_loop(stop_at_unix: i64, min_wait_s: u32, spread_s: u32) -> String {
    format!(
        r#"--!strict
local Players = game:GetService("Players")
local ServerStorage = game:GetService("ServerStorage")
local Bridge = require(ServerStorage:WaitForChild("EconomyBridge"):WaitForChild("Bridge") :: ModuleScript) :: any
local STOP_AT = {stop_at_unix}
while os.time() < STOP_AT do
	task.wait({min_wait_s} + math.random() * {spread_s})
	local api = Bridge.api()
	if api ~= nil then
		for _, player in Players:GetPlayers() do
			if math.random() < 0.5 then
				api.grant(player, math.random(1, 20), "quest")
			else
				api.spend(player, math.random(1, 30), "shop")
			end
		end
	end
end
"#
    )
}
