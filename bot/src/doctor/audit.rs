//! The audit API: reachable and ready, its clock against ours, and the bot's key accepted for a
//! signed read and a signed write. The write is an empty batch, which the API refuses after the
//! signature and scope checks and before storing anything, so nothing is ever recorded.

use super::clock_skew::{self, SKEW_PROBLEM_MS};
use super::report::Check;
use super::shown_url;
use audit_client::AuditClient;
use shared::Key;
use shared::clock::Clock;
use shared::limits::REQUEST_SKEW_SECONDS;

/// `audit API reachable`.
pub const REACHABLE: &str = "audit API reachable";
/// `audit API clock`.
pub const CLOCK: &str = "audit API clock";
/// `audit API read key`.
pub const READ: &str = "audit API read key";
/// `audit API write key`.
pub const WRITE: &str = "audit API write key";

/// Where the API is and the key the bot signs with.
pub struct AuditTarget<'a> {
    /// `AUDIT_API_URL`.
    pub base_url: &'a str,
    /// The signing key of `AUDIT_API_KEY`.
    pub key: &'a Key,
}

/// Runs the four checks.
pub async fn check(
    target: &AuditTarget<'_>,
    clock: &dyn Clock,
    http: &reqwest::Client,
) -> Vec<Check> {
    let base = target.base_url.trim_end_matches('/');
    let shown = shown_url(base);
    let sent = clock.now_ms();
    let ready = http.get(format!("{base}/readyz")).send().await;
    let received = clock.now_ms();
    let response = match ready {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "did not answer in time"
            } else {
                "refused or dropped the connection"
            };
            let skip = "the audit API is not reachable";
            return vec![
                Check::problem(
                    REACHABLE,
                    format!("{shown} {why}"),
                    "start the audit API (economy-api) or set AUDIT_API_URL to its address",
                ),
                Check::skipped(CLOCK, skip),
                Check::skipped(READ, skip),
                Check::skipped(WRITE, skip),
            ];
        }
    };
    let mut checks = Vec::new();
    let status = response.status().as_u16();
    checks.push(match status {
        200 => Check::ok(
            REACHABLE,
            format!("{shown} is ready ({} ms)", received - sent),
        ),
        503 => Check::problem(
            REACHABLE,
            format!("{shown} answers but is not ready (database unreachable or shutting down)"),
            "check the API's DATABASE_URL and its log",
        ),
        404 => Check::problem(
            REACHABLE,
            format!("{shown} answered 404 for /readyz: this is not the audit API's base URL"),
            "set AUDIT_API_URL to the API's base URL (without /log/…)",
        ),
        s => Check::problem(
            REACHABLE,
            format!("{shown} answered {s} for /readyz"),
            "check AUDIT_API_URL and what answers there (a proxy?)",
        ),
    });
    let server_ms = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(clock_skew::parse_http_date);
    let skew = server_ms.map(|s| clock_skew::skew_ms(sent, received, s));
    checks.push(match skew {
        None => Check::skipped(CLOCK, "the API sent no Date header"),
        Some(ms) if ms.abs() > SKEW_PROBLEM_MS => Check::problem(
            CLOCK,
            format!("the audit API's clock is {}", clock_skew::describe(ms)),
            "synchronise this machine's and the API host's clocks (NTP): game servers refuse \
             commands issued more than 60 s in their future, the API refuses signatures more \
             than 300 s off",
        ),
        Some(ms) => Check::ok(CLOCK, clock_skew::describe(ms)),
    });
    // Signatures carry our time: past the API's window every signature fails, whatever the key.
    let clock_breaks_signatures = skew.is_some_and(|ms| ms.abs() > REQUEST_SKEW_SECONDS * 1000);
    let client = AuditClient::with_http(http.clone(), base, target.key.clone());
    let key_id = target.key.id.as_str();
    let now_s = clock.now_ms().div_euclid(1000);
    checks.push(
        match signed(&client, "GET", "limit=1", None, Vec::new(), now_s).await {
            Err(e) => Check::problem(READ, e, "check the network path to the audit API"),
            Ok((200, _)) => Check::ok(
                READ,
                format!("a signed read with key {key_id} was accepted"),
            ),
            Ok((status, kind)) => {
                key_problem(READ, status, &kind, key_id, "read", clock_breaks_signatures)
            }
        },
    );
    let idempotency = format!("doctor-{}", shared::TxnId::generate());
    checks.push(
        match signed(
            &client,
            "POST",
            "",
            Some(&idempotency),
            br#"{"records":[]}"#.to_vec(),
            now_s,
        )
        .await
        {
            Err(e) => Check::problem(WRITE, e, "check the network path to the audit API"),
            Ok((400, kind)) if kind.ends_with("invalid-body") => Check::ok(
                WRITE,
                format!(
                    "a signed write with key {key_id} passed the signature and scope checks \
                     (an empty batch: nothing stored)"
                ),
            ),
            Ok((status, kind)) => key_problem(
                WRITE,
                status,
                &kind,
                key_id,
                "write",
                clock_breaks_signatures,
            ),
        },
    );
    checks
}

/// Sends one signed request to `/log/transactions`; the status and the problem type, or why it
/// could not be sent.
async fn signed(
    client: &AuditClient,
    method: &str,
    query: &str,
    idempotency: Option<&str>,
    body: Vec<u8>,
    now_s: i64,
) -> Result<(u16, String), String> {
    let request = client
        .sign(method, "/log/transactions", query, idempotency, body, now_s)
        .map_err(|e| format!("the request could not be signed ({e})"))?;
    let response = client
        .send(request)
        .await
        .map_err(|_| "the request failed on the way (connection lost or timed out)".to_owned())?;
    let status = response.status().as_u16();
    let kind = response
        .json::<audit_client::Problem>()
        .await
        .map(|p| p.kind)
        .unwrap_or_default();
    Ok((status, kind))
}

fn key_problem(
    name: &'static str,
    status: u16,
    kind: &str,
    key_id: &str,
    scope: &str,
    clock_breaks_signatures: bool,
) -> Check {
    match status {
        401 if clock_breaks_signatures => Check::problem(
            name,
            format!(
                "the API refused the signature of key {key_id} (401); the clocks differ by more \
                 than {REQUEST_SKEW_SECONDS} s, which alone makes every signature fail"
            ),
            "fix the clock first (see the clock line), then run doctor again",
        ),
        401 => Check::problem(
            name,
            format!("the API refused the signature of key {key_id} (401)"),
            "AUDIT_API_KEY must hold the same key id and secret as an entry of the API's API_KEYS",
        ),
        403 => Check::problem(
            name,
            format!("key {key_id} lacks the {scope} scope (403)"),
            format!("give key {key_id} read+write in the API's API_KEYS"),
        ),
        429 => Check::problem(
            name,
            "the API rate-limited the request (429)",
            "run doctor again in a minute; if it persists, check the API's rate limits",
        ),
        s => Check::problem(
            name,
            format!(
                "unexpected answer {s}{}",
                if kind.is_empty() {
                    String::new()
                } else {
                    format!(" ({kind})")
                }
            ),
            "check that AUDIT_API_URL points at the audit API and its version matches the bot's",
        ),
    }
}
