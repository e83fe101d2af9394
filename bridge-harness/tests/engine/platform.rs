//! The bridge on platform behaviour that only shows outside a test setup: HTTP off until the
//! experience allows it, response header names in either spelling (undocumented), and Studio,
//! where `game.JobId` is "".

use crate::support::*;
use opencloud::emulator::EntryKey;
use roblox_emu::{HeaderNames, Library, Universe, UniverseConfig};
use shared::Op;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const USER: u64 = 12;

/// Joins `USER` on server 0 and commits one give; answers its txn id.
fn commit_one(u: &mut Universe) -> String {
    u.run_for(2.0).unwrap();
    u.player_join(0, USER).unwrap();
    // Not `has_session`: in Studio the lock holds JobId "", not the server's GUID.
    let started = format!("session started for user {USER}:");
    assert!(
        u.run_until(30.0, |u| !lines(u, 0, &started).is_empty())
            .unwrap(),
        "session: {:?}",
        all_lines(u, "")
    );
    let txn = txn_id(virtual_ms(u), 1);
    u.publish(COMMANDS, &command(u, &txn, USER, Op::Give, 5));
    assert!(
        u.run_until(20.0, |u| ring(u, USER).iter().any(|r| r["id"] == txn))
            .unwrap(),
        "committed"
    );
    txn
}

#[test]
fn with_http_off_the_bridge_says_how_to_turn_it_on_and_keeps_every_record() {
    let mut u = universe_cfg(Library::ProfileStore, 1, &ApiAccess::nowhere(), |cfg| {
        cfg.http_enabled = false;
    });
    assert!(
        !lines(&u, 0, "HttpService requests are disabled").is_empty(),
        "warned at start"
    );
    let txn = commit_one(&mut u);
    u.run_for(10.0).unwrap();
    let said = lines(&u, 0, "HttpService is disabled");
    assert!(!said.is_empty(), "{:?}", lines(&u, 0, "audit"));
    assert!(said[0].contains("Allow HTTP Requests"), "{}", said[0]);
    let kept = outbox(&u, USER);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["txnId"], txn);
    assert_eq!(balance(&u, USER), 5);
}

/// An audit API stand-in that answers every request `503` with `Retry-After: 40` and counts the
/// posts it was sent.
fn unavailable_api() -> (ApiAccess, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let posts = Arc::new(AtomicUsize::new(0));
    let count = posts.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 8192];
            let mut req = Vec::new();
            // Head, then as many body bytes as Content-Length says.
            let body_start = loop {
                let Ok(n) = conn.read(&mut buf) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                req.extend_from_slice(&buf[..n]);
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(body_start) = body_start else {
                continue;
            };
            let head = String::from_utf8_lossy(&req[..body_start]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while req.len() < body_start + len {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            if head.starts_with("post /log/transactions") {
                count.fetch_add(1, Ordering::SeqCst);
            }
            let body =
                r#"{"type":"/problems/unavailable","title":"Service unavailable","status":503}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n\
                 Retry-After: 40\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let access = ApiAccess {
        url,
        ..ApiAccess::nowhere()
    };
    (access, posts)
}

fn honours_retry_after(names: HeaderNames) {
    let (access, posts) = unavailable_api();
    let mut u = universe_cfg(
        Library::ProfileStore,
        1,
        &access,
        |cfg: &mut UniverseConfig| {
            cfg.http_header_names = names;
        },
    );
    commit_one(&mut u);
    let first = posts.clone();
    assert!(
        u.run_until(20.0, move |_| first.load(Ordering::SeqCst) >= 1)
            .unwrap(),
        "the record is posted"
    );
    // Without Retry-After the backoff would retry after 1, 2, 4, 8 and 16 s.
    u.run_for(35.0).unwrap();
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "{names:?}: retried before Retry-After"
    );
    let again = posts.clone();
    assert!(
        u.run_until(30.0, move |_| again.load(Ordering::SeqCst) >= 2)
            .unwrap(),
        "{names:?}: retried once Retry-After passed"
    );
    assert_eq!(outbox(&u, USER).len(), 1, "kept until acknowledged");
}

#[test]
fn retry_after_is_honoured_in_lower_case() {
    honours_retry_after(HeaderNames::Lowercase);
}

#[test]
fn retry_after_is_honoured_when_capitalised() {
    honours_retry_after(HeaderNames::Capitalized);
}

#[test]
fn in_studio_records_carry_a_server_id_the_api_accepts() {
    let api = AuditApi::start();
    let mut u = universe_cfg(Library::ProfileStore, 1, &api.access(), |cfg| {
        cfg.studio = true
    });
    let txn = commit_one(&mut u);
    assert!(
        u.run_until(30.0, |u| outbox(u, USER).is_empty()).unwrap(),
        "the record left the outbox: {:?}",
        lines(&u, 0, "audit")
    );
    let rows = api.rows_of(&txn);
    assert_eq!(rows.len(), 1);
    let job = rows[0].record.server_job_id.clone().unwrap_or_default();
    assert!(job.starts_with("studio-") && job.len() > 20, "{job}");
    // Records of the same server carry the same id.
    let second = txn_id(virtual_ms(&u), 2);
    u.publish(COMMANDS, &command(&u, &second, USER, Op::Deduct, 2));
    assert!(
        u.run_until(30.0, |u| {
            ring(u, USER).iter().any(|r| r["id"] == second) && outbox(u, USER).is_empty()
        })
        .unwrap()
    );
    assert_eq!(
        api.rows_of(&second)[0].record.server_job_id.as_deref(),
        Some(job.as_str())
    );
}

#[test]
fn studio_test_players_get_no_wallet_and_nothing_is_written_for_them() {
    let mut u = universe_cfg(Library::ProfileStore, 1, &ApiAccess::nowhere(), |cfg| {
        cfg.studio = true
    });
    u.run_for(2.0).unwrap();
    u.studio_test_player_join(0, 1).unwrap();
    u.run_for(10.0).unwrap();
    let warned = lines(
        &u,
        0,
        "Player1 has user id -1 (a Studio test player): no wallet",
    );
    assert_eq!(warned.len(), 1, "{:?}", all_lines(&u, ""));
    assert!(lines(&u, 0, "session started for user -1").is_empty());
    // Nothing in the experience's data store for a test account.
    let key = EntryKey::scoped(
        u.config().universe_id,
        "EconomyWallet",
        "global",
        "wallet_-1",
    );
    assert!(u.backend().store.get(&key).is_none());
    // Outside Studio there are no such players.
    let mut live = universe_cfg(Library::ProfileStore, 1, &ApiAccess::nowhere(), |_| {});
    assert!(live.studio_test_player_join(0, 1).is_err());
}
