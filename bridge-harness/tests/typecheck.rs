//! Type-checks the repository's own Luau under `--!strict` against the emulator's
//! `roblox-emu/types/roblox.d.luau` with Luau's analyzer (crate `luau-analyzer-sys`, old solver):
//! the bridge modules, the boot script, the settings template, the doctor's canary script
//! (`bot/src/doctor`) and the emulator's scenario harness scripts, with
//! `require(script.Parent.X)` resolved between modules so exported types and module values flow
//! across them. Errors and lint warnings fail the test, each reported as
//! `path:line:col: message`. `roblox-emu/engine/*.luau` is left out: it is the emulator's
//! internals, `--!nonstrict` on purpose (dynamic proxies).
//!
//! The analyzer resolves only string requires, so the checker's copy of each file is rewritten
//! without moving any original line or column:
//! - `local X = require(script.Parent.Y)` becomes `local X = require(            "Y"); local X:
//!   X.__Module = X` (padded to the same width, the rebinding appended after the line's end);
//! - the module's last line `return expr` gets `export type __Module = typeof(expr); ` in front
//!   (columns on that line are shifted back when reported).
//!
//! The rebinding is needed because crate 0.1.1 loads Luau's builtin definitions a second time after
//! registering the builtins, which replaces `require`, `table` and a few other globals with plain
//! declarations: the magic that types `require(...)` as the module's value is gone, so every module
//! would be `any`. For the same reason `table.freeze`/`table.clone` are declared again (`TABLE`). Lint
//! warnings inside the inserted text (the rebinding shadows `X`, and is unused when `X` serves only
//! types) are dropped; errors there are kept.

use std::collections::BTreeMap;
use std::path::Path;

use luau_analyzer_sys::NativeAnalyzer;

/// The emulated engine surface, declared for the type checker.
const DEFS: &str = include_str!("../../roblox-emu/types/roblox.d.luau");

/// The repository's folders of strict Luau, from the repository root (the lint script's list
/// minus the emulator's `engine`).
const CHECKED_DIRS: [&str; 5] = [
    "bridge/EconomyBridge",
    "bridge/boot",
    "bridge/templates",
    "bot/src/doctor",
    "roblox-emu/harness",
];

/// `roblox.d.luau` types `require` for Roblox (a ModuleScript); the rewritten requires pass the
/// module's name as a string literal, the only form the analyzer resolves.
const REQUIRE_DECL: &str = "declare function require(module: ModuleScript): any\n";
const REQUIRE_DECL_CHECKED: &str = "declare function require(module: ModuleScript | string): any\n";

/// Luau's `table` library as the analyzer declares it, plus `freeze` and `clone`, which Luau adds
/// in code and the crate's second load of the builtin definitions drops.
const TABLE: &str = r#"
declare table: {
    concat: <V>(t: {V}, sep: string?, i: number?, j: number?) -> string,
    insert: (<V>(t: {V}, value: V) -> ()) & (<V>(t: {V}, pos: number, value: V) -> ()),
    maxn: <V>(t: {V}) -> number,
    remove: <V>(t: {V}, number?) -> V?,
    sort: <V>(t: {V}, comp: ((V, V) -> boolean)?) -> (),
    create: <V>(count: number, value: V?) -> {V},
    find: <V>(haystack: {V}, needle: V, init: number?) -> number?,
    unpack: <V>(list: {V}, i: number?, j: number?) -> ...V,
    pack: <V>(...V) -> { n: number, [number]: V },
    getn: <V>(t: {V}) -> number,
    foreach: <K, V>(t: {[K]: V}, f: (K, V) -> ()) -> (),
    foreachi: <V>({V}, (number, V) -> ()) -> (),
    move: <V>(src: {V}, a: number, b: number, t: number, dst: {V}?) -> {V},
    clear: (table: {}) -> (),
    isfrozen: (t: {}) -> boolean,
    freeze: <T>(t: T) -> T,
    clone: <T>(t: T) -> T,
}
"#;

/// Uses the definitions and the restored `table`: clean only when both loaded (`add_definitions`
/// reports nothing).
const DEFS_PROBE: &str = r#"--!strict
local store: DataStore = game:GetService("DataStoreService"):GetDataStore("S")
local frozen = table.freeze({ store })
local _copy: { DataStore } = table.clone(frozen)
local _n: number = math.max(#frozen, 1)
"#;

/// An analyzer with the definitions loaded, proven by `DEFS_PROBE`.
fn analyzer() -> NativeAnalyzer {
    assert!(
        DEFS.contains(REQUIRE_DECL),
        "roblox.d.luau changed how it declares require"
    );
    let mut a = NativeAnalyzer::new();
    a.add_definitions(&DEFS.replace(REQUIRE_DECL, REQUIRE_DECL_CHECKED));
    a.add_definitions(TABLE);
    let probe = BTreeMap::from([("probe".to_string(), DEFS_PROBE.to_string())]);
    let found = a.check("probe", |n| probe.get(n).cloned(), |_, _| None);
    assert!(found.is_empty(), "definitions do not load: {found:?}");
    a
}

/// A file as the analyzer sees it, and where text was inserted into it.
struct Rewritten {
    source: String,
    /// 0-based line → (0-based column where text was inserted, its length in bytes).
    inserted: BTreeMap<u32, (u32, u32)>,
}

/// The 0-based line and expression of a module's final one-line `return expr`, if it has one.
fn final_return(source: &str) -> Option<(usize, &str)> {
    let (i, line) = source
        .split('\n')
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()?;
    let expr = line.strip_prefix("return ")?.trim_end();
    (!expr.is_empty() && !expr.ends_with('{')).then_some((i, expr))
}

/// Whether `s` is a Luau identifier.
fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Rewrites `local X = require(script.Parent.Y)` lines and the final `return` (see the module doc).
/// `module` is the file's name for the analyzer (`folder/Name`); `sources` maps every module name
/// to its (path, source). Requires it cannot resolve or type are problems.
fn rewrite(
    path: &str,
    module: &str,
    source: &str,
    sources: &BTreeMap<String, (String, String)>,
    problems: &mut Vec<String>,
) -> Rewritten {
    const CALL: &str = "require(script.Parent.";
    let folder = module.rsplit_once('/').map_or("", |(f, _)| f);
    let ret = final_return(source);
    let mut inserted = BTreeMap::new();
    let mut out = Vec::new();
    for (i, line) in source.split('\n').enumerate() {
        let at = i as u32;
        if let Some((_, expr)) = ret.filter(|&(r, _)| r == i) {
            let prefix = format!("export type __Module = typeof({expr}); ");
            inserted.insert(at, (0, prefix.len() as u32));
            out.push(format!("{prefix}{line}"));
            continue;
        }
        if !line.contains(CALL) || line.trim_start().starts_with("--") {
            out.push(line.to_string());
            continue;
        }
        // Only the one form whose value can be typed: `local X = require(script.Parent.Y)`.
        let parsed = line
            .trim_end()
            .strip_prefix("local ")
            .and_then(|rest| rest.split_once(" = "))
            .and_then(|(local, call)| Some((local, call.strip_prefix(CALL)?.strip_suffix(')')?)))
            .filter(|&(local, target)| is_ident(local) && is_ident(target));
        let Some((local, target)) = parsed else {
            problems.push(format!(
                "{path}:{}: write `local Name = require(script.Parent.Module)` on a line of its \
                 own so the checker can resolve it",
                i + 1
            ));
            out.push(line.to_string());
            continue;
        };
        match sources.get(&format!("{folder}/{target}")) {
            None => problems.push(format!(
                "{path}:{}: requires {target}, which is not a module in {folder}/",
                i + 1
            )),
            Some((target_path, target_src)) if final_return(target_src).is_none() => {
                problems.push(format!(
                    "{path}:{}: requires {target}, but {target_path} does not end with a one-line \
                     `return`, so the checker cannot type its value",
                    i + 1
                ));
            }
            Some(_) => {}
        }
        // `script.Parent.Y)` and `            "Y")` are the same width.
        let trimmed = line.trim_end();
        let padded = format!(
            "{}require({}\"{target}\")",
            &trimmed[..trimmed.len() - CALL.len() - target.len() - 1],
            " ".repeat(12)
        );
        let rebind = format!("; local {local}: {local}.__Module = {local}");
        inserted.insert(at, (padded.len() as u32, rebind.len() as u32));
        out.push(format!("{padded}{rebind}"));
    }
    Rewritten {
        source: out.join("\n"),
        inserted,
    }
}

/// Checks every file of `files` (`(path for messages, module name "folder/Name", source)`) together,
/// requires resolved between files of the same folder. Returns one line per problem.
fn check_all(files: &[(String, String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let originals: BTreeMap<String, (String, String)> = files
        .iter()
        .map(|(path, module, src)| (module.clone(), (path.clone(), src.clone())))
        .collect();
    let mut rewritten: BTreeMap<String, Rewritten> = BTreeMap::new();
    for (module, (path, src)) in &originals {
        if !src.starts_with("--!strict") {
            problems.push(format!("{path}: not --!strict"));
        }
        let r = rewrite(path, module, src, &originals, &mut problems);
        rewritten.insert(module.clone(), r);
    }
    let mut a = analyzer();
    for (module, (path, _)) in &originals {
        let found = a.check(
            module,
            |name| rewritten.get(name).map(|r| r.source.clone()),
            |current, required| {
                let folder = current.rsplit_once('/').map_or("", |(f, _)| f);
                Some(format!("{folder}/{required}"))
            },
        );
        let inserted = &rewritten[module].inserted;
        for d in &found {
            let mut col = d.col;
            let mut note = "";
            if let Some(&(at, len)) = inserted.get(&d.line)
                && col >= at
            {
                if col >= at + len {
                    col -= len;
                } else if d.severity != 0
                    || found.iter().any(|o| {
                        o.line == d.line
                            && o.message == d.message
                            && (o.col < at || o.col >= at + len)
                    })
                {
                    // A lint about the rebinding itself, or an error already reported for the
                    // original text of the line.
                    continue;
                } else {
                    col = at;
                    note = " (in the checker's typed module value)";
                }
            }
            let kind = if d.severity == 0 { "" } else { "lint: " };
            problems.push(format!(
                "{path}:{}:{}: {kind}{}{note}",
                d.line + 1,
                col + 1,
                d.message
            ));
        }
    }
    problems
}

#[test]
fn project_luau_is_strict_clean() {
    // This crate lives one level below the repository root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in CHECKED_DIRS {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".luau") && !n.ends_with(".d.luau"))
            .collect();
        names.sort();
        assert!(!names.is_empty(), "no Luau in {dir}");
        for name in names {
            let src = std::fs::read_to_string(root.join(dir).join(&name)).unwrap();
            let module = format!("{dir}/{}", name.strip_suffix(".luau").unwrap());
            files.push((format!("{dir}/{name}"), module, src));
        }
    }
    assert!(files.len() >= 25, "{} files", files.len());
    let problems = check_all(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Checks one in-memory module and returns its problems.
fn check_one(src: &str) -> Vec<String> {
    check_all(&[("planted.luau".into(), "planted/Planted".into(), src.into())])
}

#[test]
fn planted_mistakes_are_reported() {
    let bad = r#"--!strict
local ds = game:GetService("DataStoreService"):GetDataStore("S")
ds:UpdateAsyncc("k", function(v) return v end)
task.wiat(1)
local n: number = game.JobId
game:GetService("Teams")
"#;
    let text = check_one(bad);
    assert!(text.len() >= 4, "{text:?}");
    assert!(text.iter().any(|m| m.contains("UpdateAsyncc")), "{text:?}");
    assert!(text.iter().any(|m| m.contains("wiat")), "{text:?}");
    // Lint warnings count too (`n` is never used).
    assert!(text.iter().any(|m| m.contains("lint: ")), "{text:?}");
    assert!(check_one("--!nonstrict\nreturn nil\n")[0].contains("not --!strict"));
}

/// A module pair checked like the bridge: B misuses A's exported type and A's functions. Each
/// mistake is visible only when `require(script.Parent.A)` resolves to A (unresolved, `A.Account`
/// is an unknown type and `A.deposit` is `any`).
#[test]
fn cross_module_mistakes_are_reported() {
    let a = r#"--!strict
local A = {}
export type Account = { id: string, balance: number }
function A.deposit(account: Account, amount: number): number
	account.balance += amount
	return account.balance
end
return table.freeze(A)
"#;
    let b = r#"--!strict
local A = require(script.Parent.A)
local account: A.Account = { id = "u1", balance = "10" }
A.deposit(account, "5")
local _s: string = A.deposit(account, 5)
A.withdraw(account, 5)
local _m: A.Missing? = nil
return nil
"#;
    let files = [
        ("a.luau".to_string(), "pair/A".to_string(), a.to_string()),
        ("b.luau".to_string(), "pair/B".to_string(), b.to_string()),
    ];
    let text = check_all(&files);
    let at = |prefix: &str, needle: &str| {
        assert!(
            text.iter()
                .any(|m| m.starts_with(prefix) && m.contains(needle)),
            "no `{needle}` at {prefix}: {text:#?}"
        );
    };
    at("b.luau:3:", "balance");
    at(
        "b.luau:4:20:",
        "Expected this to be 'number', but got 'string'",
    );
    at(
        "b.luau:5:",
        "Expected this to be 'string', but got 'number'",
    );
    at("b.luau:6:", "withdraw");
    at("b.luau:7:", "Missing");
    assert!(!text.iter().any(|m| m.starts_with("a.luau")), "{text:#?}");

    // A require of a module that is not there, or whose value cannot be typed, is reported.
    let lone = check_all(&files[1..]);
    assert!(
        lone.iter()
            .any(|m| m.contains("requires A, which is not a module")),
        "{lone:#?}"
    );
    let untyped = [
        (
            "a.luau".to_string(),
            "pair/A".to_string(),
            "--!strict\nreturn {\n}\n".to_string(),
        ),
        files[1].clone(),
    ];
    let untyped = check_all(&untyped);
    assert!(
        untyped
            .iter()
            .any(|m| m.contains("does not end with a one-line `return`")),
        "{untyped:#?}"
    );
}
