//! Negative control: a write that skips the library and changes `Data` while another server holds
//! the session must be reported by the session-lock invariant.

use roblox_emu::scenario::{self, COMMAND_TOPIC};
use roblox_emu::{Library, UniverseConfig};

#[test]
fn a_rogue_update_is_flagged() {
    let mut u =
        scenario::harness_universe(Library::ProfileStore, UniverseConfig::default()).unwrap();
    let a = u.start_server().unwrap();
    let b = u.start_server().unwrap();
    u.player_join(a, 5).unwrap();
    assert!(
        u.run_until(30.0, |u| scenario::holder(u, 5).is_some())
            .unwrap()
    );
    u.publish(COMMAND_TOPIC, &scenario::command(5, "x", 1, true));
    u.run_for(10.0).unwrap();
    assert!(u.violations().is_empty());
    u.run_snippet(
        b,
        "Rogue",
        r#"
        local ds = game:GetService("DataStoreService"):GetDataStore("EconomyWallet")
        ds:UpdateAsync("wallet_5", function(v)
            v.Data.balance += 1000
            return v
        end)
        "#,
    )
    .unwrap();
    u.run_for(5.0).unwrap();
    let v = u.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].detail.contains(u.server(b).unwrap().job_id()), "{v:?}");
    assert_eq!(v[0].key, "EconomyWallet/global/wallet_5");
}
