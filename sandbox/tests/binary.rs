//! The `sandbox` binary: commands from stdin, and Ctrl-C (SIGINT) shutting everything down
//! cleanly without a panic.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn sandbox() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sandbox"));
    c.args(["--servers", "1", "--players", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Reads stdout lines on a thread; returns the receiver.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(e) => panic!(
                "no line with {needle:?} ({e}); output:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn commands_on_stdin_then_quit() {
    let mut child = sandbox().spawn().expect("sandbox starts");
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, "▸ ready:", &mut seen);
    let mut stdin = child.stdin.take().expect("stdin piped");
    writeln!(stdin, "/give user:frank amount:3 reason:\"from stdin\"").unwrap();
    writeln!(stdin, "/balance user:frank").unwrap();
    writeln!(stdin, "quit").unwrap();
    wait_for(&rx, "stopped cleanly", &mut seen);
    let status = child.wait().expect("exits");
    let all = seen.join("\n");
    assert!(status.success(), "{status}\n{all}");
    assert!(all.contains("✅ Applied: Give 3"), "{all}");
    assert!(all.contains("╭─ Balance"), "{all}");
}

#[test]
fn ctrl_c_shuts_everything_down_cleanly() {
    let mut child = sandbox().spawn().expect("sandbox starts");
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, "▸ ready:", &mut seen);
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    wait_for(&rx, "stopped cleanly", &mut seen);
    let status = child.wait().expect("exits");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).ok();
    }
    assert!(status.success(), "{status}\n{}\n{stderr}", seen.join("\n"));
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The pipe to stdin stays open: shutdown must not wait for a line.
    drop(child.stdin.take());
}

#[test]
fn discord_token_without_staff_roles_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr = refused_before_start(
        sandbox()
            .current_dir(dir.path())
            .env("DISCORD_TOKEN", "not-a-token")
            .env_remove("STAFF_ROLES"),
    );
    assert!(stderr.contains("STAFF_ROLES is missing"), "{stderr}");
    assert!(stderr.contains("DISCORD_TOKEN"), "{stderr}");
    assert!(
        !stderr.contains("not-a-token"),
        "the token is never echoed: {stderr}"
    );
}

#[test]
fn sandbox_settings_in_dot_env_reach_the_flags() {
    // `.env` is read before the flags are parsed, so a SANDBOX_* line there counts like the
    // environment: a bad value is refused by name before anything starts.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".env"), "SANDBOX_CHURN_PER_MINUTE=lots\n").expect("write .env");
    let stderr = refused_before_start(
        Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .current_dir(dir.path())
            .env_remove("SANDBOX_CHURN_PER_MINUTE")
            .env_remove("DISCORD_TOKEN")
            .stdin(Stdio::null()),
    );
    assert!(stderr.contains("'lots'"), "{stderr}");
    assert!(stderr.contains("--churn"), "{stderr}");
}

/// Runs the sandbox, checks it failed before starting anything, and returns its stderr.
fn refused_before_start(cmd: &mut Command) -> String {
    let out = cmd.output().expect("sandbox runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("audit API on"),
        "nothing started: {stdout}"
    );
    stderr
}
