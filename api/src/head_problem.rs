//! Problem documents for request heads that hyper refuses before the router sees them.
//!
//! hyper answers a request head it cannot parse (a control byte in a header value such as an
//! Idempotency-Key, a malformed request line, a head too large) with a bare status line and no
//! body, then closes the connection. Every other refusal of this API is an
//! `application/problem+json` document, and a client should not need a second error path for
//! these. [`ProblemOnParseError`] wraps a connection's I/O and replaces that automatic answer with
//! a problem document of the same status before it reaches the client.
//!
//! How the automatic answer is recognised: hyper writes it as one response head with no body and
//! no `content-type`, status 400, 414 or 431. Every response the router produces carries a
//! `content-type` (problem documents, JSON, CSV, metrics text), so nothing it sends is rewritten.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::problem::Problem;

/// A connection's I/O that turns hyper's bare parse-error answers into problem documents.
pub struct ProblemOnParseError<S> {
    inner: S,
    /// The replacement answer and how much of it has been written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> ProblemOnParseError<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The problem document hyper's automatic answer with this status line stands for.
fn problem_for(status_line: &[u8]) -> Option<Problem> {
    let (status, slug, title, detail) = match status_line {
        b"HTTP/1.1 400 Bad Request" => (
            400,
            "malformed-request",
            "Malformed request",
            "the request line or a header could not be parsed: header values must be visible \
             ASCII, spaces and tabs (no control characters)",
        ),
        b"HTTP/1.1 414 URI Too Long" => (
            414,
            "uri-too-long",
            "Request target too long",
            "the request target is longer than the server reads",
        ),
        b"HTTP/1.1 431 Request Header Fields Too Large" => (
            431,
            "headers-too-large",
            "Request headers too large",
            "the request head is larger than the server reads",
        ),
        _ => return None,
    };
    Some(Problem {
        kind: format!("/problems/{slug}"),
        title: title.to_owned(),
        status,
        detail: Some(detail.to_owned()),
    })
}

/// The bytes to send instead of `head`, when `head` is hyper's automatic parse-error answer.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    // One complete head and nothing after it: an answer with no body.
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let head = std::str::from_utf8(&head[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let problem = problem_for(status_line.as_bytes())?;
    let has_content_type = lines.any(|l| {
        l.get(..13)
            .is_some_and(|name| name.eq_ignore_ascii_case("content-type:"))
    });
    if has_content_type {
        return None;
    }
    let body = serde_json::to_vec(&problem).ok()?;
    let mut out = Vec::with_capacity(body.len() + 160);
    out.extend_from_slice(status_line.as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: application/problem+json\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    out.extend_from_slice(&body);
    Some(out)
}

impl<S: AsyncWrite + Unpin> ProblemOnParseError<S> {
    /// Writes what is left of a replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = self.pending.as_mut() {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` in place of the inner stream when it is an answer to replace.
    fn intercept(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let replacement = replacement_for(head)?;
        // Counted here, before a byte of the answer leaves: a client that has read the answer
        // (or a test) sees the count already, which it would not if the connection task counted
        // after hyper closed the socket.
        metrics::counter!("http_requests_malformed_total").increment(1);
        self.pending = Some((replacement, 0));
        // The caller's bytes are taken in full; the replacement goes out now or on flush/shutdown.
        Some(match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(head.len())),
        })
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemOnParseError<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemOnParseError<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(answer) = this.intercept(cx, buf) {
            return answer;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && let Some(answer) = this.intercept(cx, only)
        {
            return answer;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_answers_become_problem_documents() {
        for (head, status) in [
            (
                &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n"[..],
                400,
            ),
            (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ndate: x\r\n\r\n",
                431,
            ),
            (b"HTTP/1.1 414 URI Too Long\r\n\r\n", 414),
        ] {
            let out = replacement_for(head).expect("replaced");
            let text = String::from_utf8(out).expect("utf-8");
            let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(
                head.contains("content-type: application/problem+json"),
                "{head}"
            );
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{head}"
            );
            let p: Problem = serde_json::from_str(body).expect("a problem document");
            assert_eq!(p.status, status);
        }
    }

    #[test]
    fn the_routers_answers_pass_unchanged() {
        for head in [
            // A problem document the router wrote: it has a content-type.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n"[..],
            // A head followed by its body in the same write.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            // Another status.
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            // Not a complete head.
            b"HTTP/1.1 400 Bad Request\r\n",
        ] {
            assert_eq!(replacement_for(head), None, "{}", String::from_utf8_lossy(head));
        }
    }
}
