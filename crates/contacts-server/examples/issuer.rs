//! The development issuer of bearer tokens that `cargo xtask run` starts
//! beside the server: contacts-testkit's `issuer`, with a P-256 key pair
//! generated at start, serving its discovery document, its key set, a token
//! for the development user at `GET /token`, and the demo console's files.
//!
//! `cargo run -p contacts-server --example issuer -- [ADDR] [CONSOLE_DIR]`
//! (default `127.0.0.1:8081` and `static/console`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use contacts_testkit::issuer::{Grant, Issuer};

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .as_deref()
        .unwrap_or("127.0.0.1:8081")
        .parse()
        .map_err(|e| format!("usage: issuer [ADDR] [CONSOLE_DIR]: the address: {e}"))?;
    let console = args
        .next()
        .map_or_else(|| PathBuf::from("static/console"), PathBuf::from);
    let origin = format!("http://{addr}");
    let issuer = Arc::new(Issuer::generate(&origin, Grant::development())?);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("the development issuer cannot listen on {addr}: {e}"))?;
    println!(
        "The development issuer at {origin} (key set {origin}/jwks, a token at {origin}/token) serves the demo console from {}",
        console.display()
    );
    axum::serve(listener, issuer.router(console))
        .await
        .map_err(|e| format!("the development issuer: {e}"))
}
