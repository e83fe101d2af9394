//! A small signed client for the audit API (used by the bot, the sandbox and the tests).

use crate::model::{LoggedRecord, Page, PostResponse, VerifyReport};
use crate::problem::Problem;
use shared::request_signing::{
    HEADER_IDEMPOTENCY_KEY, HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, RequestParts,
    sign_request,
};
use shared::{AuditRecord, Key, TxnId};
use std::time::Duration;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport failure (connection refused, timeout, …).
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The API answered with an error document.
    #[error("audit API answered {status}: {}", .problem.as_ref().map(|p| p.title.as_str()).unwrap_or("(no problem document)"))]
    Api {
        /// HTTP status.
        status: u16,
        /// The problem document, when the body was one.
        problem: Option<Problem>,
        /// Retry-After seconds, when given.
        retry_after: Option<u64>,
    },
    /// The response body did not decode.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// A request could not be signed (bad query).
    #[error("request could not be signed")]
    Sign,
}

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

/// Filters for [`AuditClient::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Only this Roblox user.
    pub user_id: Option<u64>,
    /// Only this Discord actor id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Page size (capped at 500 by the API).
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The query string (values are digits or API-issued cursors; encoded anyway).
    pub fn query(&self) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut q = Vec::new();
        if let Some(v) = self.user_id {
            q.push(format!("userId={v}"));
        }
        if let Some(v) = &self.actor {
            q.push(format!("actor={}", enc(v)));
        }
        if let Some(v) = self.since {
            q.push(format!("since={v}"));
        }
        if let Some(v) = self.until {
            q.push(format!("until={v}"));
        }
        if let Some(v) = self.limit {
            q.push(format!("limit={v}"));
        }
        if let Some(v) = &self.cursor {
            q.push(format!("cursor={}", enc(v)));
        }
        q.join("&")
    }
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(45))
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
            .get("retry-after")
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
            .get("idempotent-replayed")
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
