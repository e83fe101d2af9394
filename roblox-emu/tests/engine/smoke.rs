//! Quick checks of the engine surface on one server.

use roblox_emu::{Place, Universe, UniverseConfig};

#[test]
fn scripts_run_print_and_wait() {
    let mut place = Place::new();
    place.module(
        "ReplicatedStorage.Shared.Greeting",
        "return { text = 'hi ' .. script.Name }",
    );
    place.script(
        "ServerScriptService.Main",
        r#"
        local g = require(game:GetService("ReplicatedStorage").Shared.Greeting)
        print(g.text, game.JobId ~= "", game.PlaceId)
        local e = task.wait(2)
        print("waited", e >= 2)
        "#,
    );
    let mut u = Universe::new(UniverseConfig::default(), place);
    let s = u.start_server().unwrap();
    u.run_for(3.0).unwrap();
    let out: Vec<String> = u
        .server(s)
        .unwrap()
        .output()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        out,
        vec!["hi Greeting true 2000".to_owned(), "waited true".to_owned()],
        "{out:?}"
    );
}
