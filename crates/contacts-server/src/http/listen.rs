//! The accept loop: HTTP/1.1 connections with header and body read timeouts
//! and a write timeout, so that a slow or silent client (slowloris), or one
//! that sends requests and never reads the answers, holds a connection for a
//! bounded time only, at most `max_connections` of them open at once (more
//! wait in the listen backlog), and a graceful shutdown that finishes the
//! requests in progress within its deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;
use tower_http::timeout::DeadlineBody;

use crate::config::Limits;

/// How long to wait before accepting again after a failed accept (e.g. too
/// many open files), so that the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and waits for the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = http1::Builder::new();
    // Without a timer hyper has no header timeout at all: a client that never
    // finishes its headers would hold its connection forever. The same
    // timeout closes a kept-alive connection that stays idle.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // The whole body must arrive before its deadline, however it trickles in;
    // reading it then fails, and the handler answers 408.
    let body_read_timeout = limits.body_read_timeout;
    let router = router.map_request(move |request: Request<Incoming>| {
        request.map(|body| Body::new(DeadlineBody::new(body_read_timeout, body)))
    });
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        // hyper has no write timeout: an answer the client does not read
        // would wait for the socket for ever, and hold its connection slot.
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        // The peer's address, for the login throttle and the logs.
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = TowerToHyperService::new(service);
        let connection =
            graceful.watch(builder.serve_connection(TokioIo::new(Box::pin(stream)), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            deadline = ?limits.shutdown_timeout,
            "requests still in progress at the shutdown deadline; closing their connections"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    use super::*;
    use crate::config::LoginLimits;

    /// An answer far larger than the sockets' buffers hold.
    const BIG: usize = 32 << 20;

    fn limits(write_timeout: Duration) -> Limits {
        let one = NonZeroU32::MIN;
        Limits {
            header_read_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            write_timeout,
            max_database_bytes: None,
            max_connections: 1,
            shutdown_timeout: Duration::from_secs(1),
            login: LoginLimits {
                per_user: one,
                per_address: one,
                concurrent_checks: 1,
                max_wait: Duration::from_secs(1),
            },
        }
    }

    /// A client that asks for a large answer and never reads it loses its
    /// connection at the write timeout, so the only slot serves the next.
    #[tokio::test]
    async fn a_client_that_never_reads_frees_its_slot_at_the_write_timeout() {
        let router = Router::new()
            .route("/big", get(|| async { vec![b'x'; BIG] }))
            .route("/small", get(|| async { "small" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("an address");
        let limits = limits(Duration::from_millis(300));
        tokio::spawn(async move { serve(listener, router, &limits, std::future::pending()).await });

        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("a small buffer");
        let mut silent = socket.connect(address).await.expect("connects");
        silent
            .write_all(b"GET /big HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("sends");

        let mut next = TcpStream::connect(address).await.expect("connects");
        next.write_all(b"GET /small HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .expect("sends");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), next.read_to_end(&mut answer))
            .await
            .expect("the slot is freed at the write timeout")
            .expect("reads");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("small"), "{answer}");
        drop(silent);
    }
}
