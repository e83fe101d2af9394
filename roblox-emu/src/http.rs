//! HttpService's transport: a small blocking HTTP/1.1 client (plain `http://` to local servers,
//! such as the audit API) run on a worker thread per request, and the 500-per-minute limit.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A request as `RequestAsync` received it.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `http://host:port/path?query`.
    pub url: String,
    /// Upper-case method.
    pub method: String,
    /// Header names and values in the caller's order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The response fields `RequestAsync` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub status_message: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body text (lossy UTF-8, as Luau strings would carry it).
    pub body: Vec<u8>,
}

/// Headers game code may not set, as on Roblox.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "content-length",
    "connection",
    "transfer-encoding",
    "roblox-id",
];

/// Checks a request the way Roblox does before sending it; errors are Roblox-style strings.
pub fn validate(req: &HttpRequest) -> Result<(), String> {
    if !req.url.starts_with("http://") {
        return Err(if req.url.starts_with("https://") {
            "HttpError: SslConnectFail (the emulator speaks plain http:// to local servers only)"
                .to_owned()
        } else {
            "HttpError: InvalidUrl".to_owned()
        });
    }
    for (name, _) in &req.headers {
        if FORBIDDEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!("Header \"{name}\" is not allowed!"));
        }
    }
    if !matches!(
        req.method.as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" | "PATCH"
    ) {
        return Err(format!("HttpError: InvalidRequest (method {})", req.method));
    }
    if matches!(req.method.as_str(), "GET" | "HEAD") && !req.body.is_empty() {
        return Err(
            "HttpError: InvalidRequest (GET and HEAD requests cannot have a body)".to_owned(),
        );
    }
    Ok(())
}

fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "HttpError: InvalidUrl".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err("HttpError: InvalidUrl".to_owned());
    }
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_owned()))
}

/// Performs one request synchronously (call it on a worker thread).
pub fn perform(req: &HttpRequest, timeout: Duration) -> Result<HttpResponse, String> {
    let (authority, path) = split_url(&req.url)?;
    let addr = authority
        .to_socket_addrs()
        .map_err(|_| "HttpError: DnsResolve".to_owned())?
        .next()
        .ok_or_else(|| "HttpError: DnsResolve".to_owned())?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|_| "HttpError: ConnectFail".to_owned())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|_| "HttpError: ConnectFail".to_owned())?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Roblox/Linux\r\nConnection: close\r\nContent-Length: {}\r\n",
        req.method,
        path,
        authority,
        req.body.len()
    );
    for (k, v) in &req.headers {
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            return Err("HttpError: InvalidRequest (header contains a line break)".to_owned());
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&req.body))
        .map_err(|_| "HttpError: ConnectFail".to_owned())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            "HttpError: Timedout".to_owned()
        } else {
            "HttpError: NetFail".to_owned()
        }
    })?;
    parse_response(&raw)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses an HTTP/1.1 response (Content-Length, chunked, or read-to-close bodies).
pub fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let bad = || "HttpError: InvalidResponse".to_owned();
    let end = find(raw, b"\r\n\r\n").ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(bad)?;
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next().ok_or_else(bad)?;
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let status_message = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let rest = &raw[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let line_end = find(&rest[pos..], b"\r\n").ok_or_else(bad)? + pos;
            let size_text = std::str::from_utf8(&rest[pos..line_end]).map_err(|_| bad())?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad())?;
            pos = line_end + 2;
            if size == 0 {
                break;
            }
            let chunk = rest.get(pos..pos + size).ok_or_else(bad)?;
            out.extend_from_slice(chunk);
            pos += size + 2;
        }
        out
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..len).ok_or_else(bad)?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        status_message,
        headers,
        body,
    })
}

/// A request running on a worker thread.
#[derive(Debug)]
pub struct InFlight {
    rx: mpsc::Receiver<Result<HttpResponse, String>>,
    result: Option<Result<HttpResponse, String>>,
    /// Virtual time (s) before which the result is not handed to Luau (deterministic mode).
    pub ready_at_s: f64,
}

impl InFlight {
    /// Starts `req` on a new thread.
    pub fn start(req: HttpRequest, ready_at_s: f64) -> Self {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            // The receiver may be gone if the server crashed; nothing to do then.
            let _ = tx.send(perform(&req, Duration::from_secs(30)));
        });
        Self {
            rx,
            result: None,
            ready_at_s,
        }
    }

    /// The result if the thread finished; `block` waits for it.
    pub fn poll(&mut self, block: bool) -> Option<&Result<HttpResponse, String>> {
        if self.result.is_none() {
            let got = if block {
                self.rx.recv().ok()
            } else {
                self.rx.try_recv().ok()
            };
            if let Some(r) = got {
                self.result = Some(r);
            } else if block {
                self.result = Some(Err("HttpError: NetFail".to_owned()));
            }
        }
        self.result.as_ref()
    }
}

/// Sliding one-minute window of request times (Roblox: 500 per minute per server).
#[derive(Debug)]
pub struct RateLimit {
    per_minute: usize,
    times: VecDeque<f64>,
}

impl RateLimit {
    /// A limit of `per_minute` requests.
    pub fn new(per_minute: usize) -> Self {
        Self {
            per_minute,
            times: VecDeque::new(),
        }
    }

    /// Records a request at `now_s`, or refuses it with Roblox's message.
    pub fn admit(&mut self, now_s: f64) -> Result<(), String> {
        if !self.admit_under(now_s, self.per_minute) {
            return Err("Number of requests exceeded limit".to_owned());
        }
        Ok(())
    }

    /// Records an event at `now_s` if fewer than `per_minute` happened in the last minute (for
    /// limits that change with the server's players); false, recording nothing, otherwise.
    pub fn admit_under(&mut self, now_s: f64, per_minute: usize) -> bool {
        while self.times.front().is_some_and(|t| now_s - t >= 60.0) {
            self.times.pop_front();
        }
        if self.times.len() >= per_minute {
            return false;
        }
        self.times.push_back(now_s);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_refuses_the_501st_request_in_a_minute() {
        let mut r = RateLimit::new(500);
        for i in 0..500 {
            r.admit(i as f64 * 0.01).unwrap();
        }
        assert_eq!(
            r.admit(10.0).unwrap_err(),
            "Number of requests exceeded limit"
        );
        r.admit(60.0).unwrap();
    }

    #[test]
    fn parses_chunked_and_sized_bodies() {
        let sized = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi";
        let r = parse_response(sized).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"hi"[..]));
        assert_eq!(r.headers[1], ("x-a".to_owned(), "b".to_owned()));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap().body, b"abcde");
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn refuses_what_roblox_refuses() {
        let mut req = HttpRequest {
            url: "https://example.invalid/".into(),
            method: "GET".into(),
            headers: vec![],
            body: vec![],
        };
        assert!(validate(&req).unwrap_err().contains("SslConnectFail"));
        req.url = "http://127.0.0.1:1/".into();
        req.headers.push(("User-Agent".into(), "x".into()));
        assert!(validate(&req).unwrap_err().contains("not allowed"));
    }
}
