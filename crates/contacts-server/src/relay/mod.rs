//! The relay: a task per configured target that claims due deliveries
//! through the [`Store`], sends them, and records what became of each.
//!
//! At least once: a delivery is marked delivered only after a 2xx, so a crash
//! between the send and the record sends it again (same `Idempotency-Key`)
//! once its claim's lease runs out. In order: the store hands out only the
//! head of each (customer, target) queue, and the next one only after the
//! head is delivered or discarded. A target without a URL is held: no task
//! claims its deliveries, which wait, counted by `/healthz`.

mod backoff;
mod send;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, Url};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{DeliverySettings, RelaySettings, Target};
use crate::store::{Attempted, ClaimRequest, ClaimedDelivery, Store, StoreError};

/// How often an idle relay looks for work it was not told about: deliveries
/// an operator retried, or whose claim expired.
const POLL: Duration = Duration::from_secs(1);

/// A claim lasts the target's timeout and this much more, for recording the
/// answer; after it, the delivery may be claimed (and sent) again.
const LEASE_SLACK: Duration = Duration::from_secs(5);

/// The shortest sleep of the loop, so that a delivery due "now" but not yet
/// claimable never makes it spin.
const MIN_SLEEP: Duration = Duration::from_millis(5);

/// Builds the HTTP client the relay tasks share.
pub fn client() -> Result<Client, String> {
    // The crypto of rustls: ring, installed once for the process (a second
    // installation fails harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("contacts-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Starts one task per configured target on the current runtime; they stop
/// when `stop` changes, after the attempts in flight.
pub fn spawn(
    store: &Arc<dyn Store>,
    delivery: &DeliverySettings,
    queued: &watch::Sender<()>,
    stop: &watch::Receiver<bool>,
) -> Result<JoinSet<()>, String> {
    let client = client()?;
    let owner: Arc<str> = format!(
        "relay-{}-{:08x}",
        std::process::id(),
        backoff::random() as u32
    )
    .into();
    let mut tasks = JoinSet::new();
    for target in &delivery.targets {
        let Some(url) = target.url.clone() else {
            tracing::warn!(
                target = target.name,
                "no url configured: its deliveries are held"
            );
            continue;
        };
        tracing::info!(target = target.name, %url, "relay started");
        let relay = TargetRelay {
            store: Arc::clone(store),
            client: client.clone(),
            owner: Arc::clone(&owner),
            target: target.clone(),
            url,
            settings: delivery.relay.clone(),
        };
        tasks.spawn(Arc::new(relay).run(queued.subscribe(), stop.clone()));
    }
    Ok(tasks)
}

/// The relay of one target.
#[derive(Debug)]
struct TargetRelay {
    store: Arc<dyn Store>,
    client: Client,
    owner: Arc<str>,
    target: Target,
    url: Url,
    settings: RelaySettings,
}

impl TargetRelay {
    async fn run(
        self: Arc<Self>,
        mut queued: watch::Receiver<()>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut in_flight = JoinSet::new();
        let mut finished = Vec::new();
        while !*stop.borrow() {
            queued.mark_unchanged();
            // The attempts that ended are recorded together: one commit.
            while let Some(attempt) = in_flight.try_join_next() {
                finished.extend(attempt.ok());
            }
            self.record(std::mem::take(&mut finished)).await;
            let free = self.settings.concurrency.saturating_sub(in_flight.len());
            let mut wake = Instant::now() + POLL;
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        let full = claimed.len() == free;
                        for delivery in claimed {
                            in_flight.spawn(Arc::clone(&self).attempt(delivery));
                        }
                        // Where every free slot was filled, more may be due:
                        // look again when an attempt ends. Otherwise sleep
                        // until the next one is due.
                        if !full {
                            match self.next_due().await {
                                Ok(Some(due)) => wake = wake.min(instant_of(due)),
                                Ok(None) => {}
                                Err(error) => {
                                    tracing::error!(%error, target = self.target.name, "cannot read the outbox")
                                }
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, target = self.target.name, "cannot claim deliveries");
                    }
                }
            }
            let wake = wake.max(Instant::now() + MIN_SLEEP);
            tokio::select! {
                Some(attempt) = in_flight.join_next(), if !in_flight.is_empty() => finished.extend(attempt.ok()),
                Ok(()) = queued.changed() => {}
                () = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed() => {}
            }
        }
        // The attempts in flight end within the target's timeout.
        while let Some(attempt) = in_flight.join_next().await {
            finished.extend(attempt.ok());
        }
        self.record(finished).await;
    }

    /// Records what attempts came to. A failed record leaves their claims to
    /// expire: the deliveries are sent again, which at-least-once allows.
    async fn record(&self, finished: Vec<(i64, Attempted)>) {
        if finished.is_empty() {
            return;
        }
        if let Err(error) = self.store.record(Arc::clone(&self.owner), finished).await {
            tracing::error!(%error, target = self.target.name, "cannot record delivery attempts");
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.store
            .claim_due(ClaimRequest {
                owner: Arc::clone(&self.owner),
                targets: vec![self.target.name],
                now: SystemTime::now(),
                limit,
                lease: self.target.timeout + LEASE_SLACK,
            })
            .await
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        self.store.next_due(vec![self.target.name]).await
    }

    /// One attempt: the send, and what it came to.
    async fn attempt(self: Arc<Self>, delivery: ClaimedDelivery) -> (i64, Attempted) {
        let name = self.target.name;
        let answer = send::post(&self.client, &self.target, &self.url, &delivery).await;
        let attempted = send::judge(&self.settings, &delivery, answer, SystemTime::now());
        let attempt = delivery.attempts.saturating_add(1);
        let tracking_id = delivery.tracking_id.as_str();
        metrics::counter!("contacts_delivery_attempts_total", "target" => name).increment(1);
        let result = match &attempted {
            Attempted::Delivered { status } => {
                tracing::info!(target = name, tracking_id, attempt, status, "delivered");
                "delivered"
            }
            Attempted::Retry { at, error, .. } => {
                let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                tracing::warn!(target = name, tracking_id, attempt, %error, wait_ms = wait.as_millis(), "delivery failed; retrying");
                "retried"
            }
            Attempted::Dead { error, .. } => {
                tracing::error!(target = name, tracking_id, attempt, %error, "delivery dead; see `contacts-server deliveries list --state dead`");
                "dead"
            }
        };
        metrics::counter!("contacts_deliveries_total", "target" => name, "result" => result)
            .increment(1);
        (delivery.id, attempted)
    }
}

/// The monotonic instant of a wall-clock time (now, if it is past).
fn instant_of(time: SystemTime) -> Instant {
    Instant::now() + time.duration_since(SystemTime::now()).unwrap_or_default()
}
