//! The registered slash commands, checked offline: the JSON poise sends to Discord is compared
//! with a committed snapshot (`snapshots/discord_commands.json`; regenerate with
//! `UPDATE_SNAPSHOTS=1` and review the diff), and every name, description, option and range is
//! checked against Discord's rules (application-commands.mdx).

#[path = "support/snapshot.rs"]
mod snapshot;

use serde_json::Value;

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/discord_commands.json"
);
/// Discord's INTEGER option range.
const MAX_SAFE: i64 = 9_007_199_254_740_991;
/// `MANAGE_GUILD` permission bit.
const MANAGE_GUILD: u64 = 1 << 5;

fn registered() -> Value {
    let cmds: Vec<Value> = bot::discord::commands()
        .iter()
        .map(|c| {
            let create = c
                .create_as_slash_command()
                .unwrap_or_else(|| panic!("{} is not a slash command", c.name));
            serde_json::to_value(create).unwrap()
        })
        .collect();
    Value::Array(cmds)
}

#[test]
fn registered_commands_match_the_snapshot() {
    snapshot::assert_matches(SNAPSHOT, &registered(), "registered commands");
}

fn is_valid_name(name: &str) -> bool {
    // CHAT_INPUT names: 1-32 characters from [-_ letters digits], lower case where a case exists.
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || c.is_alphanumeric())
        && name.to_lowercase() == name
}

fn text_len(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn check_options(cmd: &str, options: &[Value], total: &mut usize) {
    assert!(options.len() <= 25, "{cmd}: more than 25 options");
    let mut seen_optional = false;
    let mut names = std::collections::HashSet::new();
    for o in options {
        let name = o["name"].as_str().unwrap();
        assert!(is_valid_name(name), "{cmd}: option name {name:?}");
        assert!(names.insert(name), "{cmd}: duplicate option {name}");
        let desc = text_len(&o["description"]);
        assert!(
            (1..=100).contains(&desc),
            "{cmd}.{name}: description length {desc}"
        );
        *total += name.chars().count() + desc;
        let required = o["required"].as_bool().unwrap_or(false);
        assert!(
            !(required && seen_optional),
            "{cmd}.{name}: required options must come first"
        );
        seen_optional |= !required;
        let kind = o["type"].as_u64().unwrap();
        match kind {
            // STRING: lengths within 0-6000 / 1-6000.
            3 => {
                if let Some(min) = o["min_length"].as_u64() {
                    assert!(min <= 6000, "{cmd}.{name}: min_length");
                }
                if let Some(max) = o["max_length"].as_u64() {
                    assert!((1..=6000).contains(&max), "{cmd}.{name}: max_length");
                }
            }
            // INTEGER: bounds within ±2^53-1 and min <= max.
            4 => {
                let min = o["min_value"].as_f64().unwrap_or(-(MAX_SAFE as f64));
                let max = o["max_value"].as_f64().unwrap_or(MAX_SAFE as f64);
                assert!(
                    min >= -(MAX_SAFE as f64) && max <= MAX_SAFE as f64 && min <= max,
                    "{cmd}.{name}: range"
                );
            }
            // BOOLEAN, USER, ROLE, ATTACHMENT: no ranges to check.
            5 | 6 | 8 | 11 => {}
            other => panic!("{cmd}.{name}: unexpected option type {other}"),
        }
        let choices = o["choices"].as_array().map_or(0, Vec::len);
        assert!(choices <= 25, "{cmd}.{name}: too many choices");
    }
}

#[test]
fn every_command_obeys_discords_rules() {
    let cmds = registered();
    let cmds = cmds.as_array().unwrap();
    assert!(cmds.len() <= 100);
    let mut names = std::collections::HashSet::new();
    for c in cmds {
        let name = c["name"].as_str().unwrap();
        assert!(is_valid_name(name), "command name {name:?}");
        assert!(names.insert(name.to_owned()), "duplicate command {name}");
        let desc = text_len(&c["description"]);
        assert!(
            (1..=100).contains(&desc),
            "{name}: description length {desc}"
        );
        // Staff only: hidden from members without Manage Server (UX; the role allowlist is
        // the enforcement), never in DMs. `/balance` (a member's own) and `/link` (a member's
        // own sign-in) are open to every member; their staff parts check the allowlist.
        if name == "balance" || name == "link" {
            assert!(
                c["default_member_permissions"].is_null(),
                "{name}: open to every member"
            );
        } else {
            let perms: u64 = c["default_member_permissions"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no default_member_permissions"))
                .parse()
                .unwrap();
            assert_eq!(perms, MANAGE_GUILD, "{name}: default_member_permissions");
        }
        // Installable in guilds only (GUILD_INSTALL = 0): never run from a user install in
        // another guild, whatever the application's installation settings.
        assert_eq!(
            c["integration_types"],
            serde_json::json!([0]),
            "{name}: integration_types"
        );
        assert_eq!(
            c["contexts"],
            serde_json::json!([0]),
            "{name}: must be guild-only"
        );
        let mut total = name.chars().count() + desc;
        let options = c["options"].as_array().cloned().unwrap_or_default();
        // SUB_COMMAND (1): each is checked like a command's own options.
        let (subs, plain): (Vec<Value>, Vec<Value>) = options
            .into_iter()
            .partition(|o| o["type"].as_u64() == Some(1));
        assert!(
            subs.is_empty() || plain.is_empty(),
            "{name}: subcommands and options do not mix"
        );
        check_options(name, &plain, &mut total);
        for sub in &subs {
            let sub_name = format!("{name} {}", sub["name"].as_str().unwrap());
            assert!(is_valid_name(sub["name"].as_str().unwrap()), "{sub_name}");
            total += text_len(&sub["name"]) + text_len(&sub["description"]);
            let sub_options = sub["options"].as_array().cloned().unwrap_or_default();
            check_options(&sub_name, &sub_options, &mut total);
        }
        assert!(total <= 8000, "{name}: {total} characters > 8000");
    }
    let expected: std::collections::HashSet<String> = [
        "give", "deduct", "reverse", "payout", "balance", "audit", "link", "help",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
}

#[test]
fn reverse_takes_a_required_txn_and_reason() {
    let cmds = registered();
    let c = cmds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "reverse")
        .unwrap();
    let opts = c["options"].as_array().unwrap();
    let shape: Vec<(&str, u64, bool)> = opts
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["type"].as_u64().unwrap(),
                o["required"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(shape, vec![("txn", 3, true), ("reason", 3, true)]);
    assert_eq!(opts[0]["min_length"].as_u64(), Some(26));
    assert_eq!(opts[0]["max_length"].as_u64(), Some(26));
    assert_eq!(opts[1]["max_length"].as_u64(), Some(200));
    assert_eq!(
        c["default_member_permissions"], "32",
        "staff only, like give"
    );
}

#[test]
fn give_and_deduct_take_amount_reason_then_a_user_or_a_member_and_an_optional_txn() {
    let cmds = registered();
    for name in ["give", "deduct"] {
        let c = cmds
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let opts = c["options"].as_array().unwrap();
        let shape: Vec<(String, u64, bool)> = opts
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap().to_owned(),
                    o["type"].as_u64().unwrap(),
                    o["required"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("amount".to_owned(), 4, true),
                ("reason".to_owned(), 3, true),
                ("user".to_owned(), 3, false),
                ("member".to_owned(), 6, false),
                ("txn".to_owned(), 3, false),
            ],
            "{name}"
        );
        assert_eq!(
            opts[0]["min_value"].as_f64(),
            Some(1.0),
            "{name}: amount ≥ 1"
        );
        assert_eq!(
            opts[1]["max_length"].as_u64(),
            Some(200),
            "{name}: reason ≤ 200"
        );
        assert_eq!(
            opts[4]["min_length"].as_u64(),
            Some(26),
            "{name}: txn is a ULID"
        );
    }
}
