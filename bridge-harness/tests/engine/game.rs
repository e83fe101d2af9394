//! The game-facing API (`Bridge.api()`: getBalance, grant, spend, BalanceChanged) on both
//! libraries with the real audit API: atomic check-and-debit, refusals that change nothing, every
//! movement a txn with one audit row, and heavy in-game spending that leaves Discord replay
//! protection intact (in-game txns never enter the ring nor raise the watermark).

use crate::support::*;
use roblox_emu::{Library, Universe};
use shared::Op;

const USER: u64 = 11;

fn snippet(body: &str) -> String {
    format!(
        r#"--!strict
local ServerStorage = game:GetService("ServerStorage")
local Players = game:GetService("Players")
local Bridge = require(ServerStorage:WaitForChild("EconomyBridge"):WaitForChild("Bridge") :: ModuleScript) :: any
local api = Bridge.api()
local player = Players:GetPlayerByUserId({USER}) :: Player
local function show(tag: string, ok: any, a: any, b: any)
	print("GAME", tag, tostring(ok), tostring(a), tostring(b))
end
{body}
"#
    )
}

fn game_lines(u: &Universe, s: usize, tag: &str) -> Vec<String> {
    u.server(s).map_or_else(Vec::new, |srv| {
        srv.output()
            .into_iter()
            .map(|l| l.text)
            .filter(|t| t.starts_with(&format!("GAME {tag} ")))
            .collect()
    })
}

fn start(lib: Library, api: &AuditApi, seed: u64) -> Universe {
    let mut u = universe(lib, 2, seed, api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(1, USER).unwrap();
    assert!(u.run_until(30.0, |u| has_session(u, 1, USER)).unwrap());
    u
}

fn grant_spend_refusals(lib: Library) {
    let api = AuditApi::start();
    let mut u = start(lib, &api, 41);
    u.run_snippet(
        1,
        "Game",
        &snippet(
            r#"
api.BalanceChanged:Connect(function(_p: Player, balance: number, info: any)
	print("GAME changed", balance, info.source, info.op, info.amount)
end)
show("balance0", api.getBalance(player))
show("grant", api.grant(player, 100, "quest reward"))
show("spend", api.spend(player, 30, "sword"))
show("insufficient", api.spend(player, 71, "castle"))
show("fraction", api.grant(player, 1.5, "x"))
show("zero", api.spend(player, 0, "x"))
show("blank", api.grant(player, 5, "   "))
show("huge", api.grant(player, 1000000001, "x"))
show("balance", api.getBalance(player))
"#,
        ),
    )
    .unwrap();
    u.run_for(0.5).unwrap();
    assert_eq!(
        game_lines(&u, 1, "balance0"),
        vec!["GAME balance0 0 nil nil"]
    );
    let grant = game_lines(&u, 1, "grant");
    assert!(grant[0].starts_with("GAME grant true 100 "), "{grant:?}");
    let spend = game_lines(&u, 1, "spend");
    assert!(spend[0].starts_with("GAME spend true 70 "), "{spend:?}");
    assert_eq!(
        game_lines(&u, 1, "insufficient"),
        vec!["GAME insufficient false insufficient_funds nil"]
    );
    assert_eq!(
        game_lines(&u, 1, "fraction"),
        vec!["GAME fraction false invalid_amount nil"]
    );
    assert_eq!(
        game_lines(&u, 1, "zero"),
        vec!["GAME zero false amount_out_of_range nil"]
    );
    assert_eq!(
        game_lines(&u, 1, "blank"),
        vec!["GAME blank false invalid_reason nil"]
    );
    assert_eq!(
        game_lines(&u, 1, "huge"),
        vec!["GAME huge false amount_out_of_range nil"]
    );
    assert_eq!(
        game_lines(&u, 1, "balance"),
        vec!["GAME balance 70 nil nil"]
    );
    let changed = game_lines(&u, 1, "changed");
    assert_eq!(
        changed,
        vec![
            "GAME changed 100 game give 100",
            "GAME changed 70 game deduct 30"
        ]
    );
    // The other server has no session: the API refuses there.
    u.run_snippet(
        0,
        "Elsewhere",
        &snippet(r#"show("elsewhere", api.getBalance(player), api.grant(player, 5, "x"))"#),
    )
    .unwrap();
    u.run_for(0.5).unwrap();
    assert_eq!(
        game_lines(&u, 0, "elsewhere"),
        vec!["GAME elsewhere nil false no_wallet"]
    );
    assert!(
        u.run_until(60.0, |u| outbox(u, USER).is_empty()
            && balance(u, USER) == 70)
            .unwrap()
    );
    u.run_for(3.0).unwrap();
    assert!(
        ring(&u, USER).is_empty(),
        "in-game txns stay out of the ring"
    );
    let rows = api.rows();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.record.source, shared::Source::Game);
        let txn = r.record.txn_id.as_str();
        assert_eq!(remote_fires(&u, USER, txn), 1, "{txn}");
    }
    assert_clean(&u);
}

fn heavy_spending_keeps_discord_dedupe(lib: Library) {
    let api = AuditApi::start();
    let mut u = start(lib, &api, 42);
    let d = txn_id(virtual_ms(&u), 1);
    let dm = command(&u, &d, USER, Op::Give, 500);
    u.publish(COMMANDS, &dm);
    assert!(u.run_until(30.0, |u| ring(u, USER).len() == 1).unwrap());
    u.run_snippet(
        1,
        "Spender",
        &snippet(
            r#"
local ok = 0
for i = 1, 300 do
	if api.spend(player, 1, "snack " .. i) then
		ok += 1
	end
	if i % 50 == 0 then
		task.wait(0.5)
	end
end
show("spent", ok, api.getBalance(player), nil)
"#,
        ),
    )
    .unwrap();
    assert!(
        u.run_until(30.0, |u| !game_lines(u, 1, "spent").is_empty())
            .unwrap()
    );
    assert_eq!(game_lines(&u, 1, "spent"), vec!["GAME spent 300 200 nil"]);
    // The Discord txn is still remembered: a replay is a duplicate, not a second give.
    u.publish(COMMANDS, &dm);
    assert!(
        u.run_until(120.0, |u| outbox(u, USER).is_empty()
            && balance(u, USER) == 200)
            .unwrap()
    );
    u.run_for(10.0).unwrap();
    assert_eq!(lines(&u, 1, &format!("duplicate txn {d}")).len(), 1);
    let data = data(&u, USER);
    assert_eq!(data["ring"].as_array().map(Vec::len), Some(1));
    assert_eq!(data["watermark"], 0);
    assert_eq!(balance(&u, USER), 200);
    let rows = api.rows();
    assert_eq!(rows.len(), 301, "one row per movement");
    let mut ids: Vec<&str> = rows.iter().map(|r| r.record.txn_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 301);
    assert_clean(&u);
}

#[test]
fn a_full_outbox_refuses_in_game_movements_and_keeps_every_record() {
    // The audit API cannot be reached: records pile up in the wallet's outbox.
    let lib = Library::ProfileStore;
    let secrets = secrets_source(lib, &ApiAccess::nowhere()).replacen(
        "return {\n",
        "return {\n\toutboxLimit = 20,\n",
        1,
    );
    let place = bridge_harness::bridge_place(secrets, lib, None).unwrap();
    let mut u = universe_on(place, 1, |_| {});
    u.run_for(2.0).unwrap();
    u.player_join(0, USER).unwrap();
    assert!(u.run_until(30.0, |u| has_session(u, 0, USER)).unwrap());
    u.run_snippet(
        0,
        "Game",
        &snippet(
            r#"
local granted, refusals = 0, {}
for i = 1, 24 do
	local ok, why = api.grant(player, 1, "kill reward")
	if ok then granted += 1 else table.insert(refusals, why) end
end
show("granted", granted, #refusals, refusals[1])
show("spend", api.spend(player, 1, "potion"))
show("backlog", api.auditBacklog(player))
"#,
        ),
    )
    .unwrap();
    u.run_for(0.5).unwrap();
    assert_eq!(
        game_lines(&u, 0, "granted"),
        vec!["GAME granted 20 4 audit_backlog_full"]
    );
    assert_eq!(
        game_lines(&u, 0, "spend"),
        vec!["GAME spend false audit_backlog_full nil"]
    );
    assert_eq!(game_lines(&u, 0, "backlog"), vec!["GAME backlog 20 20 nil"]);
    let warned = lines(&u, 0, "audit records the audit API has not taken");
    assert_eq!(warned.len(), 1, "one warning a minute: {warned:?}");
    assert!(warned[0].contains("refused until it drains") || warned[0].contains("holds 16 of 20"));
    // Every committed record is saved; the refused movements left no trace.
    assert!(
        u.run_until(30.0, |u| outbox(u, USER).len() == 20
            && balance(u, USER) == 20)
            .unwrap(),
        "stored outbox {} balance {}",
        outbox(&u, USER).len(),
        balance(&u, USER)
    );
}

macro_rules! suite {
    ($m:ident, $lib:expr) => {
        mod $m {
            use super::*;
            #[test]
            fn grant_spend_and_refusals() {
                grant_spend_refusals($lib);
            }
            #[test]
            fn heavy_in_game_spending_keeps_discord_dedupe() {
                heavy_spending_keeps_discord_dedupe($lib);
            }
        }
    };
}

suite!(profile_store, Library::ProfileStore);
suite!(profile_service, Library::ProfileService);
