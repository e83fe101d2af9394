//! The `.d.luau` definitions describe exactly the emulated surface; the project's own Luau
//! (the emulator's harness scripts) type-checks against them under
//! --!strict with luau-analyze, and planted mistakes are caught.

use std::path::{Path, PathBuf};

use luau_analyze::Checker;

const DEFS: &str = include_str!("../types/roblox.d.luau");

fn checker() -> Checker {
    let mut c = Checker::new().unwrap();
    if let Err(e) = c.add_definitions(DEFS) {
        panic!("definitions do not load: {e}");
    }
    c
}

fn luau_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            luau_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "luau")
            && !p.to_string_lossy().ends_with(".d.luau")
        {
            out.push(p);
        }
    }
}

#[test]
fn project_luau_is_strict_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    // The bridge's modules (roblox/bridge/) need `require` resolution, which luau-analyze 0.0.1
    // does not do (single file, reference/luau-emulator.md §8); they are checked by their own
    // suite. Here: the emulator's own scripts.
    luau_files(&root.join("harness"), &mut files);
    assert!(!files.is_empty());
    let mut c = checker();
    let mut problems = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        if !src.starts_with("--!strict") {
            problems.push(format!("{}: not --!strict", f.display()));
            continue;
        }
        let r = c.check(&src).unwrap();
        for d in r.errors() {
            problems.push(format!(
                "{}:{}:{}: {}",
                f.display(),
                d.line + 1,
                d.col + 1,
                d.message
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn planted_mistakes_are_reported() {
    let mut c = checker();
    let bad = r#"--!strict
local ds = game:GetService("DataStoreService"):GetDataStore("S")
ds:UpdateAsyncc("k", function(v) return v end)
task.wiat(1)
local n: number = game.JobId
game:GetService("Teams")
"#;
    let r = c.check(bad).unwrap();
    let text: Vec<String> = r.errors().iter().map(|d| d.message.clone()).collect();
    assert!(text.len() >= 4, "{text:?}");
    assert!(text.iter().any(|m| m.contains("UpdateAsyncc")), "{text:?}");
    assert!(text.iter().any(|m| m.contains("wiat")), "{text:?}");
}
