//! The accept loop: one HTTP/1 connection per task, a cap on concurrent connections and a
//! deadline for each request head, with graceful shutdown. `axum::serve` has neither limit, so a
//! client that never finishes its head (slow-loris) could hold a descriptor forever.
//!
//! - A connection beyond `max_connections` is closed at accept (`http_connections_refused_total`).
//! - A request head not complete within `header_read_timeout` closes its connection
//!   (`http_connections_timed_out_total`); an idle keep-alive connection waiting for its next
//!   head is closed after the same time.
//! - A request head hyper cannot parse is answered with a problem document, not hyper's bare
//!   status line (`head_problem`), and counted in `http_requests_malformed_total`.
//! - On shutdown: stop accepting, let each connection finish its in-flight request, wait for all.

use crate::head_problem::ProblemOnParseError;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Connection limits for [`serve_connections`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most connections served at once.
    pub max_connections: usize,
    /// Deadline for a complete request head.
    pub header_read_timeout: Duration,
}

/// Accepts on `listener` and serves `app` until `shutdown` resolves, then drains.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("http_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let app = app.clone();
        let mut close = close_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let conn =
                builder.serve_connection(TokioIo::new(ProblemOnParseError::new(stream)), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = close.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if e.is_timeout() {
                    metrics::counter!("http_connections_timed_out_total").increment(1);
                }
                // Parse errors are counted where their problem answer is written
                // (`head_problem`), before the client can read it.
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    // Every connection task holds a receiver: tell them to finish, then wait until all are gone.
    drop(close_rx);
    let _ = close_tx.send(());
    close_tx.closed().await;
}
