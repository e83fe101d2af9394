//! A walkthrough of protocol v1 on one machine: a staff command is signed and framed as the bot
//! publishes it, verified and applied by the wallet's holder, replayed, tampered with, and the
//! resulting audit record is signed for the audit API. Run: `cargo run -p shared --example walkthrough`.

use shared::keys::{KeyRing, Scope};
use shared::request_signing::{RequestParts, sign_request, verify_request};
use shared::{
    Actor, ApplyOutcome, AuditRecord, Command, Limits, Op, TxnId, Wallet, apply,
    decode_command_message, encode_command_message,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo_secret = "6b".repeat(32); // a demo key; real keys come from configuration
    let command_keys = KeyRing::parse(&format!("cmd-2026:{demo_secret}"))?;
    let api_keys = KeyRing::parse(&format!("game-1:write:{demo_secret}"))?;
    let limits = Limits::default();
    let now = 1_700_000_000_000;

    let cmd = Command {
        v: 1,
        txn: TxnId::from_parts(now as u64, 1),
        op: Op::Give,
        user_id: 123,
        amount: 250,
        reason: "tournament prize".into(),
        actor: Actor {
            id: "123456789012345678".into(),
            name: "Mod".into(),
        },
        issued_at: now,
        expires_at: now + 300_000,
        reverses: None,
    };
    let msg = encode_command_message(&cmd, command_keys.signing_key())?;
    println!("1. bot publishes ({} bytes): {msg}\n", msg.len());

    let mut wallet = Wallet {
        balance: 100,
        ..Wallet::default()
    };
    let received = decode_command_message(&msg, &command_keys)?;
    let outcome = apply(&mut wallet, &received, now + 1_500, &limits);
    println!(
        "2. holder verifies and applies: {outcome:?} (balance {})",
        wallet.balance
    );

    let replay = apply(&mut wallet, &received, now + 9_000, &limits);
    let ApplyOutcome::Duplicate(rec) = &replay else {
        return Err("a replay must be a duplicate".into());
    };
    println!(
        "3. same txn again: duplicate of the recorded {:?}, balance still {}",
        rec.outcome, wallet.balance
    );

    let tampered = msg.replace("\"amount\":250", "\"amount\":999");
    println!(
        "4. tampered message: {}\n",
        decode_command_message(&tampered, &command_keys).unwrap_err()
    );

    let record = AuditRecord::from_command(&cmd, rec, Some("job-7".into()));
    record.validate()?;
    let body = serde_json::to_vec(&record)?;
    let parts = RequestParts {
        method: "POST",
        path: "/log/transactions",
        query: "",
        idempotency_key: cmd.txn.as_str(),
        body: &body,
    };
    let headers = sign_request(api_keys.signing_key(), now / 1000, &parts)?;
    println!(
        "5. audit post headers: X-Key-Id {} X-Timestamp {} X-Signature {}",
        headers.key_id, headers.timestamp, headers.signature
    );
    verify_request(&api_keys, &headers, &parts, now / 1000 + 10, Scope::Write)?;
    println!(
        "   the API verifies it; 400 s later it would be: {}",
        verify_request(&api_keys, &headers, &parts, now / 1000 + 400, Scope::Write).unwrap_err()
    );
    Ok(())
}
