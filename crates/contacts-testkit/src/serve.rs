//! What the stand-in servers share: a runtime of their own, one worker, that
//! serves a router on 127.0.0.1 until it is dropped.

use std::net::SocketAddr;

use axum::Router;

/// Serves `router` on `addr` (port 0: a free one) from a runtime of its own;
/// the address bound and the runtime, which stops serving when dropped.
pub fn serve(
    addr: SocketAddr,
    router: Router,
) -> Result<(SocketAddr, tokio::runtime::Runtime), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    runtime.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((addr, runtime))
}
