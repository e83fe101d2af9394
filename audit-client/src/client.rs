//! [`AuditClient`]: signs every request with one key (used by the bot, the sandbox and the tests).

use crate::error::ClientError;
use crate::headers::{
    HEADER_IDEMPOTENCY_KEY, HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, IDEMPOTENT_REPLAYED,
    RETRY_AFTER,
};
use crate::params::ListParams;
use crate::post::PostResponse;
use crate::problem::Problem;
use crate::read::{LoggedRecord, Page};
use crate::totals::{Totals, TotalsParams};
use crate::verify::VerifyReport;
use shared::request_signing::{RequestParts, sign_request};
use shared::{AuditRecord, Key, TxnId};
use std::time::Duration;

/// Result of a POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostResult {
    /// 201 or 200.
    pub status: u16,
    /// True when the API replayed a stored response (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// Per-record results.
    pub response: PostResponse,
}

/// Signs every request with one key.
#[derive(Clone, Debug)]
pub struct AuditClient {
    http: reqwest::Client,
    base: String,
    key: Key,
}

/// A prepared signed request (exposed for the load generator and tests that tamper with it).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: String,
    /// Headers to send (signature headers, idempotency key, content type).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The body the client sends: one object for one record, else `{"records": [...]}`.
pub fn post_body(records: &[AuditRecord]) -> Vec<u8> {
    let r = match records {
        [one] => serde_json::to_vec(one),
        many => serde_json::to_vec(&serde_json::json!({ "records": many })),
    };
    r.unwrap_or_default()
}

impl AuditClient {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8080`) signing with `key`.
    pub fn new(base_url: &str, key: Key) -> Self {
        // The server closes a connection idle for its header-read timeout (10 s by default);
        // dropping idle ones sooner avoids reusing a connection the server is closing.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(45))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self::with_http(http, base_url, key)
    }

    /// Same, with a caller-configured HTTP client.
    pub fn with_http(http: reqwest::Client, base_url: &str, key: Key) -> Self {
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// Signs a request at `timestamp` (Unix seconds).
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: &str,
        idempotency_key: Option<&str>,
        body: Vec<u8>,
        timestamp: i64,
    ) -> Result<SignedRequest, ClientError> {
        let parts = RequestParts {
            method,
            path,
            query,
            idempotency_key: idempotency_key.unwrap_or(""),
            body: &body,
        };
        let sig = sign_request(&self.key, timestamp, &parts).map_err(|_| ClientError::Sign)?;
        let mut headers = vec![
            (HEADER_KEY_ID.to_owned(), sig.key_id),
            (HEADER_TIMESTAMP.to_owned(), sig.timestamp),
            (HEADER_SIGNATURE.to_owned(), sig.signature),
        ];
        if let Some(k) = idempotency_key {
            headers.push((HEADER_IDEMPOTENCY_KEY.to_owned(), k.to_owned()));
        }
        if method.eq_ignore_ascii_case("POST") {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        Ok(SignedRequest {
            method: method.parse().map_err(|_| ClientError::Sign)?,
            url,
            headers,
            body,
        })
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: SignedRequest) -> Result<reqwest::Response, ClientError> {
        let mut b = self.http.request(req.method, &req.url);
        for (k, v) in req.headers {
            b = b.header(k, v);
        }
        Ok(b.body(req.body).send().await?)
    }

    async fn error(resp: reqwest::Response) -> ClientError {
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let problem = resp.json::<Problem>().await.ok();
        ClientError::Api {
            status,
            problem,
            retry_after,
        }
    }

    /// Posts raw body bytes with an Idempotency-Key.
    pub async fn post_body(
        &self,
        body: Vec<u8>,
        idempotency_key: &str,
    ) -> Result<PostResult, ClientError> {
        let req = self.sign(
            "POST",
            "/log/transactions",
            "",
            Some(idempotency_key),
            body,
            now_secs(),
        )?;
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        let status = resp.status().as_u16();
        let replayed = resp
            .headers()
            .get(IDEMPOTENT_REPLAYED)
            .is_some_and(|v| v == "true");
        let response = resp
            .json::<PostResponse>()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(PostResult {
            status,
            replayed,
            response,
        })
    }

    /// Posts records (one object for one record, else a batch of up to 100).
    pub async fn post_records(
        &self,
        records: &[AuditRecord],
        idempotency_key: &str,
    ) -> Result<PostResult, ClientError> {
        self.post_body(post_body(records), idempotency_key).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<Option<T>, ClientError> {
        let req = self.sign("GET", path, query, None, Vec::new(), now_secs())?;
        let resp = self.send(req).await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        resp.json::<T>()
            .await
            .map(Some)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// One record; with `wait`, long-polls up to that long (capped at 30 s by the API).
    pub async fn get_txn(
        &self,
        txn_id: &TxnId,
        wait: Option<Duration>,
    ) -> Result<Option<LoggedRecord>, ClientError> {
        let query = wait
            .map(|w| format!("wait={}", w.as_secs()))
            .unwrap_or_default();
        self.get_json(&format!("/log/transactions/{txn_id}"), &query)
            .await
    }

    /// A page of records, newest first.
    pub async fn list(&self, params: &ListParams) -> Result<Page, ClientError> {
        self.get_json("/log/transactions", &params.query())
            .await?
            .ok_or(ClientError::Api {
                status: 404,
                problem: None,
                retry_after: None,
            })
    }

    /// Sums given and deducted per actor or per user over a range (`GET /log/totals`).
    pub async fn totals(&self, params: &TotalsParams) -> Result<Totals, ClientError> {
        self.get_json("/log/totals", &params.query())
            .await?
            .ok_or(ClientError::Api {
                status: 404,
                problem: None,
                retry_after: None,
            })
    }

    /// A page as CSV text (`format=csv`).
    pub async fn list_csv(&self, params: &ListParams) -> Result<String, ClientError> {
        let mut q = params.query();
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str("format=csv");
        let req = self.sign("GET", "/log/transactions", &q, None, Vec::new(), now_secs())?;
        let resp = self.send(req).await?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(resp.text().await?)
    }

    /// Verifies the hash chain server-side.
    pub async fn verify(&self) -> Result<VerifyReport, ClientError> {
        self.get_json("/log/verify", "")
            .await?
            .ok_or(ClientError::Decode("missing report".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::request_signing::{SignatureHeaders, verify_request};
    use shared::{KeyId, KeyRing, Scope, Secret};

    fn key() -> Key {
        Key::new(
            KeyId::new("game").unwrap(),
            Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()),
            vec![Scope::Write],
        )
    }

    fn header<'a>(req: &'a SignedRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_signed_post_verifies_and_carries_its_headers() {
        let client = AuditClient::new("http://127.0.0.1:9/", key());
        let body = br#"{"x":1}"#.to_vec();
        let req = client
            .sign(
                "POST",
                "/log/transactions",
                "",
                Some("k-1"),
                body.clone(),
                1_000,
            )
            .unwrap();
        assert_eq!(req.url, "http://127.0.0.1:9/log/transactions");
        assert_eq!(req.method, reqwest::Method::POST);
        assert_eq!(header(&req, HEADER_IDEMPOTENCY_KEY), Some("k-1"));
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        let sig = SignatureHeaders {
            key_id: header(&req, HEADER_KEY_ID).unwrap().to_owned(),
            timestamp: header(&req, HEADER_TIMESTAMP).unwrap().to_owned(),
            signature: header(&req, HEADER_SIGNATURE).unwrap().to_owned(),
        };
        let parts = RequestParts {
            method: "POST",
            path: "/log/transactions",
            query: "",
            idempotency_key: "k-1",
            body: &body,
        };
        let ring = KeyRing::new(vec![key()]).unwrap();
        assert!(verify_request(&ring, &sig, &parts, 1_000, Scope::Write).is_ok());
        let tampered = RequestParts {
            body: b"{}",
            ..parts
        };
        assert!(verify_request(&ring, &sig, &tampered, 1_000, Scope::Write).is_err());
    }

    #[test]
    fn a_get_has_its_query_and_no_body_headers() {
        let client = AuditClient::new("http://h", key());
        let req = client
            .sign("GET", "/log/transactions", "limit=5", None, Vec::new(), 7)
            .unwrap();
        assert_eq!(req.url, "http://h/log/transactions?limit=5");
        assert_eq!(header(&req, HEADER_IDEMPOTENCY_KEY), None);
        assert_eq!(header(&req, "content-type"), None);
        assert_eq!(header(&req, HEADER_TIMESTAMP), Some("7"));
    }
}
