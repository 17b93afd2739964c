//! A stand-in for a target (MAS or MDM): an HTTP server on 127.0.0.1 that
//! records every delivery it gets, deduplicates on `Idempotency-Key` as a
//! well-behaved target does, and answers as scripted: a status, a
//! `Retry-After`, a delay, or never. The delivery tests, the server's
//! benchmark and `cargo xtask run` (through its `receiver` example) use it.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

/// How the receiver answers one delivery.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, with this body.
    Status(u16, &'static str),
    /// This status with `Retry-After: seconds`.
    RetryAfter(u16, u64),
    /// This status (a 3xx) with `Location: url`.
    Redirect(u16, String),
    /// 200 after this delay.
    Slow(Duration),
    /// No answer, ever.
    Hang,
}

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn key(&self) -> &str {
        self.header("idempotency-key").unwrap_or_default()
    }

    pub fn tracking_id(&self) -> &str {
        self.body["request_tracking_id"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn customer(&self) -> &str {
        self.body["ezpay_id"].as_str().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Shared {
    name: String,
    print: bool,
    script: Mutex<VecDeque<Reply>>,
    /// The reply once the script is used up; 200 if none.
    otherwise: Mutex<Option<Reply>>,
    received: Mutex<Vec<Received>>,
    /// The Idempotency-Keys applied (answered 2xx) once.
    applied: Mutex<HashSet<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running (or stopped) receiver; it stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Receiver {
    /// Starts a receiver on a free port of 127.0.0.1.
    pub fn start(name: &str) -> Self {
        Self::start_on(name, SocketAddr::from(([127, 0, 0, 1], 0)), false)
            .expect("a free port on 127.0.0.1")
    }

    /// Starts a receiver on `addr`, printing one line per delivery if `print`.
    pub fn start_on(name: &str, addr: SocketAddr, print: bool) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            print,
            ..Shared::default()
        });
        let mut receiver = Self {
            addr,
            shared,
            runtime: None,
        };
        receiver.up()?;
        Ok(receiver)
    }

    /// The URL to configure for the target.
    pub fn url(&self) -> String {
        format!(
            "http://{}/{}/contacts",
            self.addr,
            self.shared.name.to_lowercase()
        )
    }

    /// Answers the next deliveries with `replies`, then as before.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).extend(replies);
    }

    /// Answers every delivery after the script with `reply`.
    pub fn otherwise(&self, reply: Reply) {
        *lock(&self.shared.otherwise) = Some(reply);
    }

    /// Every delivery received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// The tracking ids of the deliveries received so far, in order.
    pub fn tracking_ids(&self) -> Vec<String> {
        lock(&self.shared.received)
            .iter()
            .map(|r| r.tracking_id().to_owned())
            .collect()
    }

    /// How many distinct updates were applied (2xx, deduplicated).
    pub fn applied(&self) -> usize {
        lock(&self.shared.applied).len()
    }

    /// Stops listening: connections are refused until [`Receiver::up`].
    pub fn down(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Listens again on the same address.
    pub fn up(&mut self) -> Result<(), String> {
        let router = Router::new()
            .route("/{*path}", post(receive))
            .with_state(Arc::clone(&self.shared));
        let (addr, runtime) = crate::serve::serve(self.addr, router)?;
        self.addr = addr;
        self.runtime = Some(runtime);
        Ok(())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = lock(&shared.script)
        .pop_front()
        .or_else(|| lock(&shared.otherwise).clone())
        .unwrap_or(Reply::Status(200, ""));
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answered = match &reply {
        Reply::Status(status, _) | Reply::RetryAfter(status, _) | Reply::Redirect(status, _) => {
            *status
        }
        Reply::Slow(_) => 200,
        Reply::Hang => 0,
    };
    let received = Received {
        at: Instant::now(),
        headers,
        body,
    };
    if (200..300).contains(&answered) {
        let first = lock(&shared.applied).insert(received.key().to_owned());
        if shared.print {
            println!(
                "{} received {} for customer {}{}",
                shared.name,
                received.key(),
                received.customer(),
                if first {
                    ""
                } else {
                    " (a repeat: not applied again)"
                }
            );
        }
    }
    lock(&shared.received).push(received);
    match reply {
        Reply::Hang => std::future::pending::<Response>().await,
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            StatusCode::OK.into_response()
        }
        Reply::Status(status, text) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), text).into_response()
        }
        Reply::Redirect(status, url) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND),
            [("location", url)],
        )
            .into_response(),
        Reply::RetryAfter(status, seconds) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            [("retry-after", seconds.to_string())],
        )
            .into_response(),
    }
}
