//! Serving a router on a fresh loopback port until stopped.

use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A router being served.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// After [`Served::stop`]: the port, bound but not listening, so connections are refused
    /// and no other test's server can take it over.
    reserved: Option<tokio::net::TcpSocket>,
}

impl Served {
    /// Serves `app` on `127.0.0.1:0` (a port no other test holds).
    pub async fn start(app: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            stop: Some(tx),
            task: Some(task),
            reserved: None,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving; later connections to the port are refused.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        // Graceful: idle keep-alive connections are closed too, so a pooled client connection
        // cannot reach the stopped fake.
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // Bound without listening: the kernel refuses connections, and the port stays ours.
        self.reserved = tokio::net::TcpSocket::new_v4()
            .and_then(|socket| {
                socket.set_reuseaddr(true)?;
                socket.bind(self.addr)?;
                Ok(socket)
            })
            .ok();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
